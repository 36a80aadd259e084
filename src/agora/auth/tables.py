"""Auth's tables, declared once: `store.py` builds its statements from them, and
`tests/integration/auth/test_schema.py` checks that the hand-written migrations produce exactly
this. (The outbox, inbox and idempotency tables are the platform's.)"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

SCHEMA = "auth"

metadata = sa.MetaData(schema=SCHEMA)


def _now() -> sa.TextClause:
    return sa.text("now()")


def _blank() -> sa.TextClause:
    return sa.text("''")


def _stamp(name: str, *, default_now: bool = False, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=nullable and not default_now,
        server_default=_now() if default_now else None,
    )


def _text(name: str) -> sa.Column[str]:
    """A text column that is never NULL, blank by default."""
    return sa.Column(name, sa.Text, nullable=False, server_default=_blank())


users = sa.Table(
    "users",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("email", sa.Text, nullable=False, unique=True),
    _text("name"),
    # argon2id (PHC string); NULL for accounts created by an OIDC sign-in.
    sa.Column("password_hash", sa.Text),
    _stamp("email_verified_at"),
    # Sealed (`secrets_at_rest`); `pending` until ConfirmTotp.
    sa.Column("totp_secret", sa.Text),
    sa.Column("totp_pending_secret", sa.Text),
    _stamp("totp_enabled_at"),
    sa.Column("totp_last_step", sa.BigInteger),
    # Set by staff (LockUser): no login, no refresh until unlocked.
    _stamp("locked_at"),
    _text("locked_reason"),
    _stamp("created_at", default_now=True),
    _stamp("updated_at", default_now=True),
    sa.Index("ix_users_created", "created_at", "id"),
)

roles = sa.Table(
    "roles",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    _text("description"),
    sa.Column("permissions", ARRAY(sa.Text), nullable=False),
    _stamp("created_at", default_now=True),
)

user_roles = sa.Table(
    "user_roles",
    metadata,
    sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey(users.c.id), primary_key=True),
    sa.Column("role", sa.Text, primary_key=True),
    _stamp("granted_at", default_now=True),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey(users.c.id), nullable=False),
    sa.Column("amr", ARRAY(sa.Text), nullable=False),
    _text("user_agent"),
    _text("client_ip"),
    _stamp("created_at", default_now=True),
    _stamp("last_seen_at", default_now=True),
    _stamp("revoked_at"),
    sa.Column("revoked_reason", sa.Text),
)
sa.Index(
    "ix_sessions_user",
    sessions.c.user_id,
    sessions.c.created_at.desc(),
    postgresql_where=sessions.c.revoked_at.is_(None),
)
sa.Index(
    "ix_sessions_revoked_at",
    sessions.c.revoked_at,
    postgresql_where=sessions.c.revoked_at.is_not(None),
)

# One family per session: every refresh uses one row up and adds the next.
refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("token_hash", sa.LargeBinary, primary_key=True),
    sa.Column("session_id", UUID(as_uuid=True), sa.ForeignKey(sessions.c.id), nullable=False),
    _stamp("created_at", default_now=True),
    _stamp("expires_at", nullable=False),
    _stamp("used_at"),
    sa.Index("ix_refresh_tokens_session", "session_id"),
)

one_time_tokens = sa.Table(
    "one_time_tokens",
    metadata,
    sa.Column("token_hash", sa.LargeBinary, primary_key=True),
    sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey(users.c.id), nullable=False),
    sa.Column("purpose", sa.Text, nullable=False),
    _stamp("created_at", default_now=True),
    _stamp("expires_at", nullable=False),
    _stamp("used_at"),
    sa.Index("ix_one_time_tokens_user", "user_id", "purpose"),
)

recovery_codes = sa.Table(
    "recovery_codes",
    metadata,
    sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey(users.c.id), primary_key=True),
    sa.Column("code_hash", sa.LargeBinary, primary_key=True),
    _stamp("used_at"),
)

mfa_challenges = sa.Table(
    "mfa_challenges",
    metadata,
    sa.Column("token_hash", sa.LargeBinary, primary_key=True),
    sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey(users.c.id), nullable=False),
    sa.Column("amr", ARRAY(sa.Text), nullable=False),
    _text("user_agent"),
    _text("client_ip"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
    _stamp("expires_at", nullable=False),
    _stamp("used_at"),
)

login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    _stamp("last_failure_at", nullable=False),
)

# Ed25519 key pairs; the private key (PKCS8 PEM) is sealed (`keys.py`).
signing_keys = sa.Table(
    "signing_keys",
    metadata,
    sa.Column("kid", sa.Text, primary_key=True),
    sa.Column("private_pem", sa.Text, nullable=False),
    sa.Column("public_jwk", JSONB, nullable=False),
    _stamp("created_at", default_now=True),
    # Signs from then until a newer key activates; published from creation.
    _stamp("activates_at", nullable=False),
    # Set once a successor is scheduled: past its own last token's expiry.
    _stamp("published_until"),
    # At most one key without an end of publication: the newest.
    sa.Index(
        "ux_signing_keys_newest",
        sa.text("(true)"),
        unique=True,
        postgresql_where=sa.text("published_until IS NULL"),
    ),
)

oidc_logins = sa.Table(
    "oidc_logins",
    metadata,
    sa.Column("state", sa.Text, primary_key=True),
    sa.Column("provider", sa.Text, nullable=False),
    sa.Column("nonce", sa.Text, nullable=False),
    sa.Column("code_verifier", sa.Text, nullable=False),
    sa.Column("redirect_uri", sa.Text, nullable=False),
    _stamp("created_at", default_now=True),
    _stamp("expires_at", nullable=False),
    _stamp("used_at"),
)

oidc_identities = sa.Table(
    "oidc_identities",
    metadata,
    sa.Column("provider", sa.Text, primary_key=True),
    sa.Column("subject", sa.Text, primary_key=True),
    sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey(users.c.id), nullable=False),
    _text("email"),
    _stamp("created_at", default_now=True),
)

# Append-only (a trigger refuses UPDATE, DELETE and TRUNCATE: migration 0001).
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
    sa.Column("service", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    _text("actor_subject"),
    _text("actor_kind"),
    _text("target_type"),
    _text("target_id"),
    _text("outcome"),
    _text("client_ip"),
    _text("user_agent"),
    _text("before_json"),
    _text("after_json"),
    _text("detail"),
    _stamp("occurred_at", nullable=False),
    _stamp("recorded_at", default_now=True),
)
sa.Index("ix_audit_log_recent", audit_log.c.occurred_at.desc(), audit_log.c.id.desc())
sa.Index(
    "ix_audit_log_actor",
    audit_log.c.actor_subject,
    audit_log.c.occurred_at.desc(),
    audit_log.c.id.desc(),
)
sa.Index("ix_audit_log_action", audit_log.c.action, postgresql_ops={"action": "text_pattern_ops"})
sa.Index(
    "ix_audit_log_target",
    audit_log.c.target_type,
    audit_log.c.target_id,
    audit_log.c.occurred_at.desc(),
    audit_log.c.id.desc(),
)
