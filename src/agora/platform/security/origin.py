"""Where the RPC being served comes from: the client's address and user agent, as the gateway
reports them (`x-agora-client-ip`, `x-agora-user-agent`), else the gRPC peer. Bound by the
security interceptor for audit entries and sessions."""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

CLIENT_IP_HEADER = "x-agora-client-ip"
USER_AGENT_HEADER = "x-agora-user-agent"
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


def origin_of(metadata: Iterable[tuple[str, str | bytes]], peer: str | None) -> Origin:
    """The origin a call's metadata reports, the peer's address standing in for a missing IP."""
    client_ip = ""
    user_agent = ""
    for key, value in metadata:
        if not isinstance(value, str):
            continue
        if key == CLIENT_IP_HEADER and _CLIENT_IP.fullmatch(value):
            client_ip = value
        elif key == USER_AGENT_HEADER:
            user_agent = value[:MAX_USER_AGENT]
    if not client_ip and peer:
        match = _PEER.fullmatch(peer)
        if match:
            client_ip = match.group("host").strip("[]")
    return Origin(client_ip, user_agent)
