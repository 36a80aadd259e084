"""Where the RPC being served comes from: the client's address and user agent.

The gateway reports them (`x-agora-client-ip`, `x-agora-user-agent`) next to a proof that it is
the gateway: its own short-lived service token (`service:gateway`) in `x-agora-gateway`, since
`authorization` carries the user's token. Services believe the reported origin only with a
valid proof; from any other caller the gRPC peer's address stands and no user agent is known, so
a direct caller cannot write someone else's address into audit entries or lockout keys. Bound
by the security interceptor for audit entries and sessions.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

CLIENT_IP_HEADER = "x-agora-client-ip"
USER_AGENT_HEADER = "x-agora-user-agent"
GATEWAY_PROOF_HEADER = "x-agora-gateway"
GATEWAY_SUBJECT = "service:gateway"
MAX_USER_AGENT = 512
_CLIENT_IP = re.compile(r"[0-9A-Fa-f:.]{2,45}")
_PEER = re.compile(r"ipv[46]:(?P<host>\[?[0-9A-Fa-f:.]+\]?):\d+")


@dataclass(frozen=True)
class Origin:
    """The client behind a call (empty fields when unknown)."""

    client_ip: str = ""
    user_agent: str = ""


UNKNOWN = Origin()

_current: contextvars.ContextVar[Origin] = contextvars.ContextVar("agora_origin", default=UNKNOWN)


def current_origin() -> Origin:
    """The origin of the RPC being served (UNKNOWN outside a call)."""
    return _current.get()


@contextmanager
def coming_from(origin: Origin) -> Iterator[Origin]:
    """Make `origin` the current one for the block."""
    token = _current.set(origin)
    try:
        yield origin
    finally:
        _current.reset(token)


def gateway_proof(metadata: Iterable[tuple[str, str | bytes]]) -> str:
    """The gateway's service token a call carries ("" when none, or more than one)."""
    found = [v for k, v in metadata if k == GATEWAY_PROOF_HEADER and isinstance(v, str)]
    return found[0] if len(found) == 1 else ""


def peer_address(peer: str | None) -> str:
    """The IP address of a gRPC peer (`ipv4:10.0.0.2:5123` -> `10.0.0.2`; "" when unknown)."""
    match = _PEER.fullmatch(peer or "")
    return match.group("host").strip("[]") if match else ""


def origin_of(
    metadata: Iterable[tuple[str, str | bytes]], peer: str | None, *, from_gateway: bool
) -> Origin:
    """The origin of a call: what the metadata reports when the gateway sent it (a verified
    proof), the peer's address standing in for a missing IP; else the peer's address alone."""
    if not from_gateway:
        return Origin(peer_address(peer), "")
    client_ip = ""
    user_agent = ""
    for key, value in metadata:
        if not isinstance(value, str):
            continue
        if key == CLIENT_IP_HEADER and _CLIENT_IP.fullmatch(value):
            client_ip = value
        elif key == USER_AGENT_HEADER:
            user_agent = value[:MAX_USER_AGENT]
    return Origin(client_ip or peer_address(peer), user_agent)
