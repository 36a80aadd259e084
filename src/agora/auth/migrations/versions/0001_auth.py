"""Auth: users, roles, sessions and refresh tokens, one-time tokens, TOTP and recovery codes,
MFA challenges, login failure counters, signing keys, OIDC logins and identities, the
append-only audit log; the outbox and inbox; idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

from agora.platform.bus.schema import create_bus_tables, drop_bus_tables
from agora.platform.idempotency import create_idempotency_table, drop_idempotency_table

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

TABLES = """
CREATE TABLE users (
    id uuid PRIMARY KEY,
    email text NOT NULL UNIQUE CHECK (email = lower(email)),
    name text NOT NULL DEFAULT '',
    -- argon2id (PHC string); NULL for accounts created by an OIDC sign-in.
    password_hash text,
    email_verified_at timestamptz,
    -- Base32 TOTP secret; a KMS would wrap it in production. `pending` until ConfirmTotp.
    totp_secret text,
    totp_pending_secret text,
    totp_enabled_at timestamptz,
    totp_last_step bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_users_created ON users (created_at, id);

CREATE TABLE roles (
    name text PRIMARY KEY,
    description text NOT NULL DEFAULT '',
    permissions text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE user_roles (
    user_id uuid NOT NULL REFERENCES users (id),
    role text NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, role)
);

CREATE TABLE sessions (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id),
    amr text[] NOT NULL,
    user_agent text NOT NULL DEFAULT '',
    client_ip text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    revoked_reason text
);
CREATE INDEX ix_sessions_user ON sessions (user_id, created_at DESC) WHERE revoked_at IS NULL;

-- One family per session: every refresh uses one row up and adds the next.
CREATE TABLE refresh_tokens (
    token_hash bytea PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES sessions (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
CREATE INDEX ix_refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE one_time_tokens (
    token_hash bytea PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id),
    purpose text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
CREATE INDEX ix_one_time_tokens_user ON one_time_tokens (user_id, purpose);

CREATE TABLE recovery_codes (
    user_id uuid NOT NULL REFERENCES users (id),
    code_hash bytea NOT NULL,
    used_at timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE mfa_challenges (
    token_hash bytea PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id),
    amr text[] NOT NULL,
    user_agent text NOT NULL DEFAULT '',
    client_ip text NOT NULL DEFAULT '',
    attempts integer NOT NULL DEFAULT 0,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);

CREATE TABLE login_failures (
    key text PRIMARY KEY,
    failures integer NOT NULL,
    last_failure_at timestamptz NOT NULL
);

-- Ed25519 key pairs. The private key is PKCS8 PEM; a KMS would wrap it in production.
CREATE TABLE signing_keys (
    kid text PRIMARY KEY,
    private_pem text NOT NULL,
    public_jwk jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Signs from then until a newer key activates; published from creation.
    activates_at timestamptz NOT NULL,
    -- Set once a successor is scheduled: past its own last token's expiry.
    published_until timestamptz
);
CREATE UNIQUE INDEX ux_signing_keys_newest ON signing_keys ((true)) WHERE published_until IS NULL;

CREATE TABLE oidc_logins (
    state text PRIMARY KEY,
    provider text NOT NULL,
    nonce text NOT NULL,
    code_verifier text NOT NULL,
    redirect_uri text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);

CREATE TABLE oidc_identities (
    provider text NOT NULL,
    subject text NOT NULL,
    user_id uuid NOT NULL REFERENCES users (id),
    email text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, subject)
);

CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id uuid NOT NULL UNIQUE,
    service text NOT NULL,
    action text NOT NULL,
    actor_subject text NOT NULL DEFAULT '',
    actor_kind text NOT NULL DEFAULT '',
    target_type text NOT NULL DEFAULT '',
    target_id text NOT NULL DEFAULT '',
    outcome text NOT NULL DEFAULT '',
    client_ip text NOT NULL DEFAULT '',
    user_agent text NOT NULL DEFAULT '',
    before_json text NOT NULL DEFAULT '',
    after_json text NOT NULL DEFAULT '',
    detail text NOT NULL DEFAULT '',
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_audit_log_recent ON audit_log (occurred_at DESC, id DESC);
CREATE INDEX ix_audit_log_actor ON audit_log (actor_subject, occurred_at DESC, id DESC);
CREATE INDEX ix_audit_log_action ON audit_log (action text_pattern_ops);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only()
"""

DROPPED = (
    "audit_log",
    "oidc_identities",
    "oidc_logins",
    "signing_keys",
    "login_failures",
    "mfa_challenges",
    "recovery_codes",
    "one_time_tokens",
    "refresh_tokens",
    "sessions",
    "user_roles",
    "roles",
    "users",
)


def upgrade() -> None:
    # Statements one by one: the trigger function's body holds semicolons.
    for statement in _statements(TABLES):
        op.execute(statement)
    create_bus_tables()
    create_idempotency_table(scoped=False)


def downgrade() -> None:
    drop_idempotency_table()
    drop_bus_tables()
    for table in DROPPED:
        op.execute(f"DROP TABLE {table}")
    op.execute("DROP FUNCTION audit_log_is_append_only()")


def _statements(script: str) -> list[str]:
    """Split on `;` at line ends outside `$$` bodies."""
    statements: list[str] = []
    current: list[str] = []
    in_body = False
    for line in script.splitlines():
        current.append(line)
        if line.count("$$") % 2:
            in_body = not in_body
        if not in_body and line.rstrip().endswith(";"):
            statements.append("\n".join(current))
            current = []
    if "\n".join(current).strip():
        statements.append("\n".join(current))
    return [s for s in statements if s.strip()]
