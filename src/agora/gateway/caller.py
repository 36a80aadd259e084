"""Who is calling at the edge: client address, user agent and credentials of one request.

Read in one pass over the raw ASGI headers. The client IP is the socket peer, or, when the peer
is a trusted reverse proxy (`AGORA_GATEWAY_TRUSTED_PROXIES`), the nearest address in
`X-Forwarded-For` that is not itself a trusted proxy. Credentials are a bearer token from
`Authorization`, else the `__Host-agora_access` cookie a browser session holds (docs/adr/0007).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from starlette.types import Scope

from agora.platform.errors import DomainError
from agora.platform.security.origin import GATEWAY_PROOF_HEADER
from agora.platform.security.tokens import TokenVerifier

# `__Host-`: the browser accepts these only with Secure, Path=/ and no Domain, so a sibling
# subdomain (or a plain-http page) can never plant or overwrite them.
COOKIE_PREFIX = "__Host-agora_"
ACCESS_COOKIE = COOKIE_PREFIX + "access"
REFRESH_COOKIE = COOKIE_PREFIX + "refresh"
CSRF_COOKIE = COOKIE_PREFIX + "csrf"
BEARER_PREFIX = "Bearer "
MAX_USER_AGENT = 512
UNKNOWN_CLIENT = "unknown"
# Methods a cross-site form or script can trigger that change something: CSRF-checked.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Where the edge keeps a request's id in the ASGI scope.
REQUEST_ID_SCOPE_KEY = "agora.request_id"
# gRPC metadata every backend call carries (docs/adr/0007).
REQUEST_ID_KEY = "x-request-id"
AUTHORIZATION_KEY = "authorization"
CLIENT_IP_KEY = "x-agora-client-ip"
USER_AGENT_KEY = "x-agora-user-agent"


@dataclass(slots=True)
class Caller:
    """What the edge knows of one request's sender."""

    client_ip: str
    user_agent: str
    # `Bearer <token>` as sent, or made from the access cookie; empty when there is none.
    authorization: str
    # The credential came from a cookie the browser attaches by itself: needs the CSRF check.
    by_cookie: bool
    cookies: dict[str, str]
    csrf_header: str

    @property
    def token(self) -> str:
        """The bearer token alone (empty when the credential is not a bearer token)."""
        if self.authorization[:7].lower() == "bearer ":
            return self.authorization[7:].strip()
        return ""


class CallerReader:
    """Reads a `Caller` from an ASGI scope; proxies are parsed once, here."""

    def __init__(self, trusted_proxies: Sequence[str] = ()) -> None:
        self._proxies: tuple[IPv4Network | IPv6Network, ...] = tuple(
            ip_network(entry, strict=False) for entry in trusted_proxies
        )

    def read(self, scope: Scope) -> Caller:
        authorization = user_agent = csrf = ""
        cookie_headers: list[bytes] = []
        forwarded: list[bytes] = []
        for key, value in scope["headers"]:
            if key == b"authorization":
                authorization = value.decode("latin-1")
            elif key == b"cookie":
                cookie_headers.append(value)
            elif key == b"user-agent":
                user_agent = value.decode("latin-1")
            elif key == b"x-forwarded-for":
                forwarded.append(value)
            elif key == b"x-csrf-token":
                csrf = value.decode("latin-1")
        peer = scope.get("client")
        client_ip = peer[0] if peer else UNKNOWN_CLIENT
        if forwarded and self._proxies:
            client_ip = self._forwarded_client(client_ip, forwarded)
        cookies = _agora_cookies(cookie_headers) if cookie_headers else {}
        by_cookie = False
        if not authorization and ACCESS_COOKIE in cookies:
            authorization = BEARER_PREFIX + cookies[ACCESS_COOKIE]
            by_cookie = True
        return Caller(
            client_ip=client_ip,
            user_agent=metadata_text(user_agent, MAX_USER_AGENT),
            authorization=authorization,
            by_cookie=by_cookie,
            cookies=cookies,
            csrf_header=csrf,
        )

    def is_trusted_proxy(self, address: str) -> bool:
        try:
            parsed = ip_address(address)
        except ValueError:
            return False
        if parsed.version == 6 and parsed.ipv4_mapped is not None:
            parsed = parsed.ipv4_mapped
        return any(parsed in network for network in self._proxies)

    def _forwarded_client(self, peer: str, forwarded: list[bytes]) -> str:
        if not self.is_trusted_proxy(peer):
            return peer
        hops = [hop.strip() for value in forwarded for hop in value.decode("latin-1").split(",")]
        client = peer
        # Right to left: each hop was appended by the (trusted) proxy after it.
        for hop in reversed(hops):
            try:
                ip_address(hop)
            except ValueError:
                break
            client = hop
            if not self.is_trusted_proxy(hop):
                break
        return client


def _agora_cookies(headers: list[bytes]) -> dict[str, str]:
    found: dict[str, str] = {}
    for header in headers:
        for pair in header.decode("latin-1").split(";"):
            name, sep, value = pair.partition("=")
            name = name.strip()
            if sep and name.startswith(COOKIE_PREFIX):
                found[name] = value.strip().strip('"')
    return found


def metadata_text(text: str, limit: int) -> str:
    """`text` as a gRPC metadata value: printable ASCII, at most `limit` characters."""
    text = text[:limit]
    if text.isascii() and text.isprintable():
        return text
    return "".join(c if " " <= c <= "~" else "?" for c in text)


def is_metadata_safe(text: str) -> bool:
    """True when `text` can travel as a gRPC metadata value unchanged."""
    return text.isascii() and text.isprintable()


def backend_metadata(
    caller: Caller, request_id: str, gateway_proof: str | None
) -> tuple[tuple[str, str], ...]:
    """What a backend call on behalf of `caller` carries: the request id, the caller's address,
    user agent and credentials, and the gateway's proof that it reports them (a unary call
    and a bridged stream alike)."""
    metadata: tuple[tuple[str, str], ...] = (
        (REQUEST_ID_KEY, request_id),
        (CLIENT_IP_KEY, caller.client_ip),
        (USER_AGENT_KEY, caller.user_agent),
    )
    if caller.authorization:
        metadata += ((AUTHORIZATION_KEY, caller.authorization),)
    if gateway_proof is not None:
        metadata += ((GATEWAY_PROOF_HEADER, gateway_proof),)
    return metadata


def token_digest(token: str) -> str:
    """A stable, non-reversible key for a token (per-user limits before verification)."""
    return "t:" + hashlib.sha256(token.encode("latin-1")).hexdigest()


async def user_of_token(token: str, verifier: TokenVerifier | None) -> str:
    """Whose token this is, for per-user limits: the verified subject, else a digest (the
    backend refuses a bad token; the digest still counts its repeated use)."""
    if verifier is not None:
        try:
            return (await verifier.verify(token)).subject
        except DomainError:  # invalid, expired, or no keys yet (auth unreachable)
            pass
    return token_digest(token)
