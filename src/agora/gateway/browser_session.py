"""Browser sessions in cookies around auth's token methods (docs/adr/0007, "Edge").

A browser logs in with `"useCookies": true` in the JSON body of Login, VerifyLoginTotp or
FinishOidcLogin (Refresh too): the gateway then moves the answer's tokens into HttpOnly cookies
(`__Host-agora_access`, `__Host-agora_refresh`), sets a script-readable `__Host-agora_csrf` for
the CSRF check, and leaves the tokens out of the body. A Refresh without a token in the body
uses the refresh cookie; ConfirmTotp of a cookie session renews its cookies; Logout and
LogoutEverywhere clear them. What happens around each method is the table `SESSION_METHODS`,
keyed by full method name: no hand-written route.

The CSRF token is bound to the session (`CsrfTokens`): an HMAC of the session id under a key
only the gateway holds. A cookie-authenticated change must send it in `X-CSRF-Token`, equal to
the CSRF cookie *and* to the HMAC of the session its credential names, so a token taken from
another session (the attacker's own, planted in a victim's browser) is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

from agora.gateway.caller import ACCESS_COOKIE, CSRF_COOKIE, REFRESH_COOKIE, Caller
from agora.gateway.transcoding import Route, RouteError
from agora.platform.errors import InvalidArgument

USE_COOKIES_FIELD = "useCookies"
REFRESH_COOKIE_MAX_AGE_S = 30 * 24 * 3600
# `__Host-` cookies must be Secure with Path=/ and no Domain. Browsers treat http://127.0.0.1
# and http://localhost as secure, so development over plain http keeps working.
_ATTRIBUTES = "Path=/; Secure; SameSite=Lax"
_CSRF_CONTEXT = b"agora-gateway-csrf-v1:"
# The refresh cookie is `<session id>.<refresh token>`: the CSRF check of a Refresh needs the
# session, and the refresh token itself is opaque (neither part contains a dot).
_REFRESH_SEPARATOR = "."
_TOKEN_FIELDS = ("accessToken", "refreshToken")
_TOKENS_MESSAGE_FIELDS = frozenset({"access_token", "refresh_token", "expires_in"})


@dataclass(frozen=True)
class SessionRule:
    """What the gateway does around one auth method for browser sessions."""

    # The answer carries tokens (at `tokens_field`, or is the Tokens message when empty).
    issues: bool = False
    tokens_field: str = ""
    # The request body may say `"useCookies": true`.
    opt_in: bool = False
    # A request without `refresh_token` takes it from the refresh cookie.
    refresh_from_cookie: bool = False
    # A caller authenticated by the access cookie gets its new tokens as cookies again.
    follows_cookie_session: bool = False
    # The cookies are removed (after success, or when the session is unknown anyway).
    clears: bool = False


_AUTH = "agora.auth.v1.AuthService."
SESSION_METHODS: dict[str, SessionRule] = {
    f"{_AUTH}Login": SessionRule(issues=True, tokens_field="tokens", opt_in=True),
    f"{_AUTH}VerifyLoginTotp": SessionRule(issues=True, tokens_field="tokens", opt_in=True),
    f"{_AUTH}FinishOidcLogin": SessionRule(issues=True, tokens_field="tokens", opt_in=True),
    f"{_AUTH}Refresh": SessionRule(issues=True, opt_in=True, refresh_from_cookie=True),
    f"{_AUTH}ConfirmTotp": SessionRule(
        issues=True, tokens_field="tokens", follows_cookie_session=True
    ),
    f"{_AUTH}Logout": SessionRule(clears=True),
    f"{_AUTH}LogoutEverywhere": SessionRule(clears=True),
}


def session_rules(routes: Iterable[Route]) -> dict[Route, SessionRule]:
    """The rule of each route whose method is in the table; checked against the messages, so a
    renamed field fails at startup rather than at a login."""
    found: dict[Route, SessionRule] = {}
    for route in routes:
        rule = SESSION_METHODS.get(route.method.full_name)
        if rule is None:
            continue
        request_fields = route.method.input_type.fields_by_name
        if rule.refresh_from_cookie and "refresh_token" not in request_fields:
            raise RouteError(f"{route.method.full_name}: no refresh_token field to fill")
        if rule.issues and not _holds_tokens(route.method.output_type, rule.tokens_field):
            raise RouteError(f"{route.method.full_name}: the answer holds no tokens")
        found[route] = rule
    return found


def _holds_tokens(answer: Descriptor, tokens_field: str) -> bool:
    holder: Descriptor | None = answer
    if tokens_field:
        field = answer.fields_by_name.get(tokens_field)
        holder = field.message_type if field is not None else None
    return holder is not None and set(holder.fields_by_name) >= _TOKENS_MESSAGE_FIELDS


def take_use_cookies(body: bytes) -> tuple[bytes, bool]:
    """The body without its `useCookies` member, and that member's value.

    A body that is not a JSON object is returned as is (the transcoder reports it).
    """
    if USE_COOKIES_FIELD.encode() not in body:
        return body, False
    try:
        document: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body, False
    if not isinstance(document, dict) or USE_COOKIES_FIELD not in document:
        return body, False
    flag = document.pop(USE_COOKIES_FIELD)
    if not isinstance(flag, bool):
        raise InvalidArgument.for_field(USE_COOKIES_FIELD, "expected true or false")
    return orjson.dumps(document), flag


class CsrfTokens:
    """CSRF tokens bound to a session: HMAC-SHA256 of its id under the gateway's key.

    Every worker and replica must hold the same key (`worker_app` derives it from the
    deployment's service key); without the key, no one can make the token of a session.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the CSRF key needs at least 32 bytes")
        self._key = key

    def for_session(self, session_id: str) -> str:
        """The CSRF token of the session `session_id`."""
        digest = hmac.new(self._key, _CSRF_CONTEXT + session_id.encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()

    def matches(self, caller: Caller, session_id: str) -> bool:
        """`X-CSRF-Token` equals the CSRF cookie (double submit) and the session's token."""
        sent = caller.csrf_header
        cookie = caller.cookies.get(CSRF_COOKIE, "")
        if not session_id or not sent or not cookie:
            return False
        sent_bytes = sent.encode("latin-1")
        expected = self.for_session(session_id).encode("latin-1")
        return hmac.compare_digest(sent_bytes, cookie.encode("latin-1")) and hmac.compare_digest(
            sent_bytes, expected
        )


def session_of_access_token(token: str) -> str:
    """The `sid` claim of an access token, read without verifying it.

    Enough for the CSRF check: it only asks which session the cookie names. The backend verifies
    the token itself, so a forged token naming another session fails there.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return ""
    payload = parts[1]
    try:
        claims: Any = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:  # bad base64 (binascii.Error) or bad JSON (orjson.JSONDecodeError)
        return ""
    sid = claims.get("sid") if isinstance(claims, dict) else None
    return sid if isinstance(sid, str) else ""


def refresh_cookie_parts(value: str) -> tuple[str, str]:
    """The session id and the refresh token of a refresh cookie (empty strings when malformed)."""
    session_id, separator, token = value.partition(_REFRESH_SEPARATOR)
    if not separator or not session_id or not token:
        return "", ""
    return session_id, token


def tokens_of(answer: Message, rule: SessionRule) -> Message | None:
    """The Tokens message of an answer, when it holds an access token."""
    tokens = getattr(answer, rule.tokens_field) if rule.tokens_field else answer
    return tokens if getattr(tokens, "access_token", "") else None


def without_tokens(document: dict[str, Any], rule: SessionRule) -> dict[str, Any]:
    """The JSON answer with the access and refresh tokens left out (they went to cookies)."""
    holder = document.get(rule.tokens_field) if rule.tokens_field else document
    if isinstance(holder, dict):
        for name in _TOKEN_FIELDS:
            holder.pop(name, None)
    return document


def session_cookies(tokens: Any, csrf: CsrfTokens) -> list[tuple[bytes, bytes]]:
    """`Set-Cookie` headers for new tokens: access, refresh and the session's CSRF token."""
    session_id = session_of_access_token(tokens.access_token)
    max_age = max(0, int(tokens.expires_in))
    refresh = f"{session_id}{_REFRESH_SEPARATOR}{tokens.refresh_token}"
    return [
        _set_cookie(f"{ACCESS_COOKIE}={tokens.access_token}; Max-Age={max_age}; HttpOnly"),
        _set_cookie(f"{REFRESH_COOKIE}={refresh}; Max-Age={REFRESH_COOKIE_MAX_AGE_S}; HttpOnly"),
        _set_cookie(
            f"{CSRF_COOKIE}={csrf.for_session(session_id)}; Max-Age={REFRESH_COOKIE_MAX_AGE_S}"
        ),
    ]


def _set_cookie(text: str) -> tuple[bytes, bytes]:
    return (b"set-cookie", f"{text}; {_ATTRIBUTES}".encode("latin-1"))


CLEARED_COOKIES: tuple[tuple[bytes, bytes], ...] = (
    _set_cookie(f'{ACCESS_COOKIE}=""; Max-Age=0; HttpOnly'),
    _set_cookie(f'{REFRESH_COOKIE}=""; Max-Age=0; HttpOnly'),
    _set_cookie(f'{CSRF_COOKIE}=""; Max-Age=0'),
)
