"""The rules of accounts and access: emails and passwords, roles and their permissions, login
lockout, TOTP steps, recovery codes, one-time tokens and MFA challenges, refresh-token rotation,
what a login yields, the claims of an access token, signing-key schedules; and the records the
store loads and saves. Pure: no I/O, no database, no gRPC.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import hmac
import math
import re
import secrets
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from agora.platform.errors import (
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
)
from agora.platform.kernel.checks import raise_if_any, require_text, text_violations

ISSUER = "agora"
AUDIENCE = "agora"
ACCESS_TOKEN_TYPE = "at+jwt"

# Reasons of refusals clients act on (ErrorInfo.reason).
INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
EMAIL_NOT_VERIFIED = "EMAIL_NOT_VERIFIED"
MFA_TOKEN_INVALID = "MFA_TOKEN_INVALID"
MFA_CODE_INVALID = "MFA_CODE_INVALID"
REFRESH_TOKEN_INVALID = "REFRESH_TOKEN_INVALID"
REFRESH_TOKEN_REUSED = "REFRESH_TOKEN_REUSED"
OIDC_STATE_INVALID = "OIDC_STATE_INVALID"
ACCOUNT_LOCKED = "ACCOUNT_LOCKED"

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Refusal:
    """A refusal that is recorded first (a counted failure, a revoked session): the call commits
    its transaction, then fails with `error`; `ended_sessions` are announced as revoked."""

    error: DomainError
    ended_sessions: Sequence[str] = ()


# --- emails and passwords ----------------------------------------------------------------

MAX_EMAIL_LENGTH = 254
MIN_PASSWORD_LENGTH = 12
# argon2 hashes any length, but an unbounded input is a cheap way to burn CPU.
MAX_PASSWORD_LENGTH = 256
MAX_NAME_LENGTH = 200
MAX_ROLE_DESCRIPTION_LENGTH = 500
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


def normalize_email(raw: str, path: str = "email") -> str:
    """The email as stored and compared: trimmed, lowercased; INVALID_ARGUMENT if malformed."""
    email = unicodedata.normalize("NFKC", raw).strip().lower()
    if not email:
        raise InvalidArgument.for_field(path, "required")
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(email):
        raise InvalidArgument.for_field(path, "not an email address")
    return email


def password_violations(password: str, email: str, path: str = "password") -> list[FieldViolation]:
    """NIST SP 800-63B rules: long enough, bounded, not the email; no composition rules."""
    length = len(password)
    if length < MIN_PASSWORD_LENGTH:
        return [FieldViolation(path, f"at least {MIN_PASSWORD_LENGTH} characters")]
    if length > MAX_PASSWORD_LENGTH:
        return [FieldViolation(path, f"at most {MAX_PASSWORD_LENGTH} characters")]
    if not password.strip():
        return [FieldViolation(path, "must not be only spaces")]
    lowered = password.lower()
    if email and (lowered == email or lowered == email.partition("@")[0]):
        return [FieldViolation(path, "must not be the email address")]
    return []


def validate_password(password: str, email: str, path: str = "password") -> str:
    """The password, or INVALID_ARGUMENT naming what is wrong with it."""
    raise_if_any(password_violations(password, email, path))
    return password


def validate_name(name: str) -> str:
    """The display name with its whitespace collapsed: bounded, NUL-free, may be empty."""
    return require_text(" ".join(name.split()), "name", max_len=MAX_NAME_LENGTH, required=False)


# --- secrets: opaque tokens and their digests ---------------------------------------------


def new_opaque_token() -> str:
    """32 random bytes, urlsafe base64 without padding (refresh, mail and challenge tokens)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


def token_digest(token: str) -> bytes:
    """What is stored of an opaque token: its SHA-256 (the token has 256 bits of entropy)."""
    return hashlib.sha256(token.encode()).digest()


# --- roles and permissions ----------------------------------------------------------------

CUSTOMER = "customer"
SUPPORT = "support"
STAFF = "staff"
ADMIN = "admin"
BUILTIN_ROLES: tuple[str, ...] = (CUSTOMER, SUPPORT, STAFF, ADMIN)
DEFAULT_2FA_ROLES: tuple[str, ...] = (SUPPORT, STAFF, ADMIN)

# Built-in roles are patterns over the permission registry (every `permission` declared in a
# proto rule), so a permission added to an RPC reaches the right roles without a migration.
# Customers get the permissions scoped to their own things (`orders:read:own`).
BUILTIN_ROLE_PATTERNS: Mapping[str, tuple[str, ...]] = {
    CUSTOMER: ("*:own",),
    SUPPORT: (
        "orders:*read*",
        "payments:*read*",
        "catalog:*read*",
        "auth:users:read",
        "support:*",
        "admin:users:read",
    ),
    # Staff run the shop and its people, but a 2FA reset (`auth:totp:reset`) stays with
    # admins: staff request one and an admin approves it (admin's two-person rule).
    STAFF: (
        "catalog:*",
        "orders:*",
        "payments:*",
        "support:*",
        "auth:users:read",
        "audit:read",
        "admin:analytics:*",
        "admin:content:*",
        "admin:users:read",
        "admin:audit:*",
        # Crypto refunds: staff already refund through payments; they read the instructions
        # and record the transactions they sent (recording moves no money: the chain checks it).
        "chain:refunds:*",
        "admin:reports:*",
    ),
    ADMIN: ("*",),
}
BUILTIN_ROLE_DESCRIPTIONS: Mapping[str, str] = {
    CUSTOMER: "a shopper: their own orders and carts",
    SUPPORT: "reads orders, invoices and customers; answers the support chat queue",
    STAFF: "runs the shop: catalog, orders, payments, content; reads analytics, users, audit",
    ADMIN: "every permission",
}
_ROLE_NAME = re.compile(r"[a-z][a-z0-9_-]{1,39}")


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    permissions: frozenset[str]
    builtin: bool


def builtin_role(name: str, registry: Collection[str]) -> Role:
    """A built-in role with its permissions expanded from the registry."""
    patterns = BUILTIN_ROLE_PATTERNS[name]
    granted = frozenset(p for p in registry if any(fnmatch.fnmatchcase(p, g) for g in patterns))
    return Role(name, BUILTIN_ROLE_DESCRIPTIONS[name], granted, builtin=True)


def builtin_roles(registry: Collection[str]) -> dict[str, Role]:
    return {name: builtin_role(name, registry) for name in BUILTIN_ROLES}


def validate_new_role(
    name: str, description: str, permissions: Iterable[str], registry: Collection[str]
) -> Role:
    """A custom role: a fresh, well-formed name and only permissions of the registry."""
    violations: list[FieldViolation] = []
    if not _ROLE_NAME.fullmatch(name):
        violations.append(
            FieldViolation("name", "2-40 of a-z, 0-9, '-', '_', starting with a letter")
        )
    elif name in BUILTIN_ROLES:
        violations.append(FieldViolation("name", f"{name!r} is a built-in role"))
    wanted = sorted(set(permissions))
    if not wanted:
        violations.append(FieldViolation("permissions", "at least one permission"))
    for index, permission in enumerate(wanted):
        if permission not in registry:
            violations.append(
                FieldViolation(f"permissions[{index}]", f"unknown permission {permission!r}")
            )
    violations += text_violations(description, "description", max_len=MAX_ROLE_DESCRIPTION_LENGTH)
    raise_if_any(violations)
    return Role(name, description.strip(), frozenset(wanted), builtin=False)


@dataclass(frozen=True)
class Grant:
    """What a session's token carries: role names and their permissions, flattened."""

    roles: tuple[str, ...]
    permissions: tuple[str, ...]
    withheld_roles: tuple[str, ...] = ()


def session_grant(
    user_roles: Iterable[str],
    roles: Mapping[str, Role],
    *,
    amr: Sequence[str],
    require_2fa_roles: Collection[str],
) -> Grant:
    """The roles (and permissions) a session may use: roles that require 2FA only when the
    session proved a second factor (`otp` in its methods); unknown roles grant nothing."""
    second_factor = "otp" in amr
    kept: list[str] = []
    withheld: list[str] = []
    for name in sorted(set(user_roles)):
        if name not in roles:
            continue
        if name in require_2fa_roles and not second_factor:
            withheld.append(name)
        else:
            kept.append(name)
    permissions = sorted({p for name in kept for p in roles[name].permissions})
    return Grant(tuple(kept), tuple(permissions), tuple(withheld))


# --- staff managing accounts --------------------------------------------------------------

MAX_LOCK_REASON_LENGTH = 500
MAX_QUERY_WORDS = 8


class UserStatus(Enum):
    ACTIVE = "active"
    LOCKED = "locked"


@dataclass(frozen=True)
class UserFilter:
    """Which accounts a staff search lists: every condition given must hold."""

    email_prefix: str = ""
    # Each found in the email or the name, case-insensitive.
    words: tuple[str, ...] = ()
    role: str = ""
    status: UserStatus | None = None


def user_filter(email_prefix: str, query: str, role: str, status: UserStatus | None) -> UserFilter:
    """A search's conditions, lowercased and bounded (at most MAX_QUERY_WORDS words)."""
    words = tuple(dict.fromkeys(word.lower() for word in query.split()))
    if len(words) > MAX_QUERY_WORDS:
        raise InvalidArgument.for_field("query", f"at most {MAX_QUERY_WORDS} words")
    return UserFilter(email_prefix.strip().lower(), words, role.strip(), status)


def validate_lock_reason(reason: str) -> str:
    """Why staff lock an account, whitespace collapsed: bounded, NUL-free, may be empty."""
    return require_text(
        " ".join(reason.split()), "reason", max_len=MAX_LOCK_REASON_LENGTH, required=False
    )


def account_locked() -> FailedPrecondition:
    """The refusal of a locked account (reason ACCOUNT_LOCKED)."""
    locked = FailedPrecondition("this account is locked: contact the shop's support")
    locked.reason = ACCOUNT_LOCKED
    return locked


def ensure_may_sign_in(user: UserRecord) -> None:
    """FAILED_PRECONDITION (ACCOUNT_LOCKED) for an account locked by staff. Asked only once
    the first factor is proved, so a lock reveals nothing to whoever guesses passwords."""
    if user.locked:
        raise account_locked()


def ensure_may_manage(
    caller_subject: str,
    caller_permissions: Collection[str],
    target_id: str,
    target_permissions: Collection[str],
) -> None:
    """Staff act on other accounts holding no permission the staff member lacks: locking,
    logging out or resetting an administrator is for administrators; and nobody locks or
    resets their own account by mistake."""
    if caller_subject == target_id:
        raise FailedPrecondition("staff cannot do this to their own account")
    ensure_may_grant(caller_permissions, target_permissions, "an account with")


def ensure_may_grant(
    caller_permissions: Collection[str], granted: Collection[str], what: str = "a role with"
) -> None:
    """A caller hands out (or takes away) only permissions they hold themselves: otherwise a
    holder of `auth:users:write` could make anyone, themselves included, an administrator."""
    beyond = sorted(set(granted) - set(caller_permissions))
    if beyond:
        raise PermissionDenied(
            f"{what} permissions you do not hold ({', '.join(beyond[:3])}"
            f"{', …' if len(beyond) > 3 else ''}) is managed by someone who holds them"
        )


# --- what a correct password leads to -----------------------------------------------------


class LoginNext(Enum):
    """The step after a correct password (or a completed OIDC flow)."""

    TOKENS = "tokens"
    MFA_CHALLENGE = "mfa_challenge"
    # Tokens without the 2FA roles' permissions, and the client is told to enroll.
    ENROLL_MFA = "enroll_mfa"


def next_login_step(
    user_roles: Iterable[str], *, totp_enabled: bool, require_2fa_roles: Collection[str]
) -> LoginNext:
    """Accounts with TOTP always answer a challenge; accounts whose role requires 2FA and that
    have none yet get a restricted session and must enroll; everyone else gets tokens."""
    if totp_enabled:
        return LoginNext.MFA_CHALLENGE
    if any(role in require_2fa_roles for role in user_roles):
        return LoginNext.ENROLL_MFA
    return LoginNext.TOKENS


# --- login lockout ------------------------------------------------------------------------


@dataclass(frozen=True)
class LockoutPolicy:
    """Failures allowed before any delay, then a delay doubling per failure up to a ceiling."""

    free_attempts: int = 5
    base_delay_s: float = 1.0
    max_delay_s: float = 900.0

    def delay_s(self, failures: int) -> float:
        """Seconds the counter stays locked after its `failures`-th consecutive failure."""
        over = failures - self.free_attempts
        if over < 0:
            return 0.0
        return float(min(self.max_delay_s, self.base_delay_s * 2.0 ** min(over, 62)))


@dataclass(frozen=True)
class FailureCount:
    """Consecutive failed logins counted under one key (an account, or an account and an IP)."""

    failures: int
    last_failure_at: datetime

    def locked_for_s(self, policy: LockoutPolicy, now: datetime) -> float:
        """Seconds until the next attempt is allowed (0: allowed now)."""
        until = self.last_failure_at + timedelta(seconds=policy.delay_s(self.failures))
        return max(0.0, (until - now).total_seconds())


def account_key(email: str) -> str:
    """The lockout counter of an account; keyed by email so unknown ones behave alike."""
    return f"account:{email}"


def account_ip_key(email: str, client_ip: str) -> str:
    return f"account-ip:{email}|{client_ip or '-'}"


def second_factor_key(user_id: str) -> str:
    """The counter of failed second-factor checks of an account: every TOTP and recovery code
    checked anywhere (login, turning TOTP on or off, new recovery codes) counts on it, across
    login challenges, so a fresh password login buys no new guesses."""
    return f"second-factor:{user_id}"


def ensure_not_locked(
    counts: Iterable[tuple[FailureCount, LockoutPolicy]],
    now: datetime,
    *,
    what: str = "failed logins",
) -> None:
    """RESOURCE_EXHAUSTED with the longest remaining wait when any counter is locked."""
    wait = max((count.locked_for_s(policy, now) for count, policy in counts), default=0.0)
    if wait > 0:
        seconds = math.ceil(wait)
        raise ResourceExhausted(
            f"too many {what}: try again later",
            retry_after_s=seconds,
            metadata={"retry_after_s": str(seconds)},
        )


# --- TOTP ---------------------------------------------------------------------------------

TOTP_PERIOD_S = 30
TOTP_DIGITS = 6
TOTP_WINDOW = 1
_TOTP_CODE = re.compile(r"\d{6}")


def totp_step(at: datetime, period_s: int = TOTP_PERIOD_S) -> int:
    """The RFC 6238 time step containing `at`."""
    return int(at.timestamp()) // period_s


def candidate_steps(at: datetime, window: int = TOTP_WINDOW) -> list[int]:
    """Steps whose code is accepted at `at`: the current one and `window` on each side, the
    current first (clocks are usually right)."""
    now = totp_step(at)
    return [now, *(s for d in range(1, window + 1) for s in (now - d, now + d))]


def accept_totp_step(matched_step: int | None, last_used_step: int | None) -> int:
    """The step a code matched, if it is newer than the last one used (replay protection)."""
    if matched_step is None:
        raise InvalidArgument.for_field("code", "wrong code")
    if last_used_step is not None and matched_step <= last_used_step:
        raise InvalidArgument.for_field("code", "this code was already used: wait for the next")
    return matched_step


def clean_totp_code(code: str) -> str:
    """The code without spaces, or INVALID_ARGUMENT when it is not 6 digits."""
    cleaned = "".join(code.split())
    if not _TOTP_CODE.fullmatch(cleaned):
        raise InvalidArgument.for_field("code", "6 digits")
    return cleaned


def codes_equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


# --- recovery codes -----------------------------------------------------------------------

RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
_RECOVERY_GROUPS = 4
_RECOVERY_GROUP_LENGTH = 4


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """`count` codes like `k7mq-2xpa-9vte-4hnc` (16 symbols of 31: ~79 bits each)."""
    return [
        "-".join(
            "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_GROUP_LENGTH))
            for _ in range(_RECOVERY_GROUPS)
        )
        for _ in range(count)
    ]


def normalize_recovery_code(code: str) -> str:
    """Case, spaces and dashes do not matter when a code is typed back."""
    return "".join(c for c in code.lower() if c.isalnum())


def recovery_code_digest(code: str) -> bytes:
    """Stored form of a recovery code; its ~79 random bits make a plain SHA-256 sufficient."""
    return hashlib.sha256(normalize_recovery_code(code).encode()).digest()


# --- one-time tokens (email verification, password reset, MFA challenge) ------------------


class TokenPurpose(Enum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"


@dataclass(frozen=True)
class OneTimeToken:
    user_id: str
    purpose: TokenPurpose
    expires_at: datetime
    used_at: datetime | None


def check_one_time_token(
    token: OneTimeToken | None, purpose: TokenPurpose, now: datetime
) -> OneTimeToken:
    """The token if it may be used now: known, for this purpose, unused and unexpired.

    Every refusal reads the same, so a guesser learns nothing about which tokens exist."""
    if (
        token is None
        or token.purpose is not purpose
        or token.used_at is not None
        or token.expires_at <= now
    ):
        raise FailedPrecondition("the link is invalid or has expired: ask for a new one")
    return token


# --- refresh-token rotation ---------------------------------------------------------------


@dataclass(frozen=True)
class RefreshTokenState:
    session_id: str
    user_id: str
    expires_at: datetime
    used_at: datetime | None
    session_revoked: bool


class RefreshVerdict(Enum):
    ROTATE = "rotate"
    # A used token came back: whoever holds the family may be a thief; end the session.
    REUSED = "reused"
    REJECTED = "rejected"


def judge_refresh(token: RefreshTokenState | None, now: datetime) -> RefreshVerdict:
    """What presenting this refresh token leads to."""
    if token is None or token.session_revoked:
        return RefreshVerdict.REJECTED
    if token.used_at is not None:
        return RefreshVerdict.REUSED
    if token.expires_at <= now:
        return RefreshVerdict.REJECTED
    return RefreshVerdict.ROTATE


# --- access-token claims ------------------------------------------------------------------


def access_claims(
    *,
    user_id: str,
    session_id: str,
    grant: Grant,
    amr: Sequence[str],
    now: datetime,
    ttl_s: int,
    jti: str,
) -> dict[str, object]:
    """The claims of an access token exactly as ADR 0007 lists them."""
    issued = int(now.timestamp())
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": user_id,
        "sid": session_id,
        "roles": list(grant.roles),
        "perms": sorted(grant.permissions),
        "amr": list(amr),
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_s,
        "jti": jti,
    }


# --- signing keys -------------------------------------------------------------------------

# Verifiers allow 30 s of clock leeway (ADR 0007): an old key stays published past its last
# token by twice that. (A new key is published before it signs: `key_activation_delay_s`.)
VERIFIER_LEEWAY_S = 30


@dataclass(frozen=True)
class SigningKeySlot:
    """When a key signs (from `activates_at` until a newer key does) and until when it is
    published (None: until a successor is scheduled)."""

    kid: str
    created_at: datetime
    activates_at: datetime
    published_until: datetime | None


def signing_key(keys: Iterable[SigningKeySlot], now: datetime) -> SigningKeySlot | None:
    """The key that signs at `now`: the newest of those already active."""
    active = [key for key in keys if key.activates_at <= now]
    return max(active, key=lambda key: key.created_at, default=None)


def published_keys(keys: Iterable[SigningKeySlot], now: datetime) -> list[SigningKeySlot]:
    """Keys a verifier needs at `now` (a scheduled one included), newest first."""
    live = [k for k in keys if k.published_until is None or k.published_until > now]
    return sorted(live, key=lambda key: key.created_at, reverse=True)


def retired_key_published_until(retired_at: datetime, access_ttl_s: int) -> datetime:
    """A key replaced at `retired_at` signed its last token then: publish it until that token
    has expired for every verifier."""
    return retired_at + timedelta(seconds=access_ttl_s + 2 * VERIFIER_LEEWAY_S)


def successor_schedule(
    now: datetime, *, activation_delay_s: float, access_ttl_s: int, predecessor_signs: bool = True
) -> tuple[datetime, datetime]:
    """(when a key added at `now` starts signing, until when its predecessor stays published).

    The delay lets verifiers learn the key while its predecessor still signs; with no key
    signing yet there is nothing to wait for, and waiting would leave logins with no key."""
    delay = activation_delay_s if predecessor_signs else 0.0
    activates_at = now + timedelta(seconds=delay)
    return activates_at, retired_key_published_until(activates_at, access_ttl_s)


def scheduled_key(keys: Iterable[SigningKeySlot], now: datetime) -> SigningKeySlot | None:
    """The earliest key scheduled to sign after `now` and not yet retired, if any."""
    scheduled = [k for k in keys if k.activates_at > now and k.published_until is None]
    return min(scheduled, key=lambda key: key.activates_at, default=None)


# --- records: what the store loads and saves -----------------------------------------------


@dataclass(frozen=True)
class UserRecord:
    id: str
    email: str
    name: str
    password_hash: str | None
    email_verified: bool
    totp_secret: str | None
    totp_pending_secret: str | None
    totp_last_step: int | None
    created_at: datetime
    roles: tuple[str, ...]
    locked_at: datetime | None = None
    locked_reason: str = ""

    @property
    def totp_enabled(self) -> bool:
        return self.totp_secret is not None

    @property
    def locked(self) -> bool:
        return self.locked_at is not None


@dataclass(frozen=True)
class UserPage:
    users: list[UserRecord]
    # Keyset position of the next page (None: this is the last).
    next_after: tuple[datetime, str] | None


@dataclass(frozen=True)
class SessionRecord:
    id: str
    user_id: str
    amr: tuple[str, ...]
    user_agent: str
    client_ip: str
    created_at: datetime
    last_seen_at: datetime
    revoked: bool


@dataclass(frozen=True)
class MfaChallenge:
    """A login waiting for its second factor (the password, or OIDC, was right)."""

    user_id: str
    amr: tuple[str, ...]
    user_agent: str
    client_ip: str
    attempts: int
    expires_at: datetime
    used: bool


def check_mfa_challenge(
    challenge: MfaChallenge | None, now: datetime, *, max_attempts: int
) -> MfaChallenge:
    """The challenge if its login may still be completed: known, unused, unexpired, with
    attempts left."""
    if (
        challenge is None
        or challenge.used
        or challenge.expires_at <= now
        or challenge.attempts >= max_attempts
    ):
        raise Unauthenticated("this login has expired: log in again", reason=MFA_TOKEN_INVALID)
    return challenge


def with_second_factor(amr: Sequence[str]) -> list[str]:
    """A session's methods once it has proved a second factor."""
    return list(amr) if "otp" in amr else [*amr, "otp"]


@dataclass(frozen=True)
class OidcLogin:
    """What a started OIDC sign-in keeps until the provider redirects back."""

    provider: str
    nonce: str
    code_verifier: str
    redirect_uri: str


# What an audit entry carries alike as an event, a stored record and an RPC's view.
AUDIT_ENTRY_FIELDS = (
    "action",
    "actor_subject",
    "actor_kind",
    "target_type",
    "target_id",
    "outcome",
    "client_ip",
    "user_agent",
    "before_json",
    "after_json",
    "detail",
)


@dataclass(frozen=True)
class AuditRecord:
    """One entry of the audit log, as any service recorded it."""

    event_id: str
    service: str
    action: str
    actor_subject: str
    actor_kind: str
    target_type: str
    target_id: str
    outcome: str
    client_ip: str
    user_agent: str
    before_json: str
    after_json: str
    detail: str
    occurred_at: datetime


@dataclass(frozen=True)
class StoredAuditEntry:
    id: int
    entry: AuditRecord


@dataclass(frozen=True)
class AuditQuery:
    limit: int
    actor_subject: str = ""
    action_prefix: str = ""
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None
    # Keyset position: entries strictly older than (occurred_at, id).
    before: tuple[datetime, int] | None = None
    target_type: str = ""
    target_id: str = ""


def audit_target(target_type: str, target_id: str) -> tuple[str, str]:
    """An audit query's target: an id means nothing without the kind of resource it names."""
    if target_id and not target_type:
        raise InvalidArgument.for_field("targetType", "required with targetId")
    return target_type.strip(), target_id.strip()
