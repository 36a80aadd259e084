"""Browser sessions in cookies around auth's token methods (docs/adr/0007, "Edge").

A browser logs in with `"useCookies": true` in the JSON body of Login, VerifyLoginTotp or
FinishOidcLogin (Refresh too): the gateway then moves the answer's tokens into HttpOnly cookies
(`agora_access`, `agora_refresh`), sets a script-readable `agora_csrf` for the double-submit
check, and leaves the tokens out of the body. A Refresh without a token in the body uses the
`agora_refresh` cookie; ConfirmTotp of a cookie session renews its cookies; Logout and
LogoutEverywhere clear them. What happens around each method is the table
`SESSION_METHODS`, keyed by full method name: no hand-written route.
"""

from __future__ import annotations

import hmac
import secrets
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
REFRESH_COOKIE_PATH = "/v1/auth"
REFRESH_COOKIE_MAX_AGE_S = 30 * 24 * 3600
_ATTRIBUTES = "Secure; SameSite=Lax"
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


def csrf_matches(caller: Caller) -> bool:
    """The double-submit check: `X-CSRF-Token` equals the `agora_csrf` cookie."""
    expected = caller.cookies.get(CSRF_COOKIE, "")
    sent = caller.csrf_header
    if not expected or not sent:
        return False
    return hmac.compare_digest(sent.encode("latin-1"), expected.encode("latin-1"))


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


def session_cookies(tokens: Any) -> list[tuple[bytes, bytes]]:
    """`Set-Cookie` headers for new tokens: access, refresh and a fresh CSRF value."""
    csrf = secrets.token_urlsafe(32)
    max_age = max(0, int(tokens.expires_in))
    return [
        _set_cookie(f"{ACCESS_COOKIE}={tokens.access_token}; Path=/; Max-Age={max_age}; HttpOnly"),
        _set_cookie(
            f"{REFRESH_COOKIE}={tokens.refresh_token}; Path={REFRESH_COOKIE_PATH}; "
            f"Max-Age={REFRESH_COOKIE_MAX_AGE_S}; HttpOnly"
        ),
        _set_cookie(f"{CSRF_COOKIE}={csrf}; Path=/; Max-Age={REFRESH_COOKIE_MAX_AGE_S}"),
    ]


def _set_cookie(text: str) -> tuple[bytes, bytes]:
    return (b"set-cookie", f"{text}; {_ATTRIBUTES}".encode("latin-1"))


CLEARED_COOKIES: tuple[tuple[bytes, bytes], ...] = (
    _set_cookie(f'{ACCESS_COOKIE}=""; Path=/; Max-Age=0; HttpOnly'),
    _set_cookie(f'{REFRESH_COOKIE}=""; Path={REFRESH_COOKIE_PATH}; Max-Age=0; HttpOnly'),
    _set_cookie(f'{CSRF_COOKIE}=""; Path=/; Max-Age=0'),
)
