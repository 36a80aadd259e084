"""Channels to other services: balanced, retried, every call under a deadline.

`ServiceChannels` keeps one `grpc.aio.Channel` per target service. The channel's target lists
every live address the resolver knows (`ipv4:10.0.0.5:8711,10.0.0.6:8711`), and gRPC core
balances calls over them with its `round_robin` policy. A service config on the channel gives
every method a default timeout and a retry policy for UNAVAILABLE: Agora's mutations all carry
idempotency keys, so every method may be retried.

`channel(service)` is synchronous and cheap (it compares the resolver's current addresses with
the channel's); when the set of addresses changes, a new channel is built and the old one is
closed after a grace period that lets its calls in flight finish.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import grpc

from agora.platform.errors import Unavailable
from agora.platform.rpc.interceptors import RequestIdChannel
from agora.platform.rpc.server import MAX_MESSAGE_BYTES

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_MAX_ATTEMPTS = 4
DEFAULT_CLOSE_GRACE_S = 5.0

CHANNEL_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.enable_retries", 1),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    # Reconnect to a restarted instance quickly rather than after gRPC's 1 s..120 s backoff.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2_000),
)

StubT = TypeVar("StubT")


class AddressSource(Protocol):
    """Where channels learn a service's addresses (`Resolver` is one)."""

    def addresses(self, service: str) -> list[str]: ...


def retry_policy(max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> dict[str, Any]:
    """gRPC's retry policy: UNAVAILABLE only, exponential backoff from 50 ms up to 1 s."""
    return {
        "maxAttempts": max_attempts,
        "initialBackoff": "0.05s",
        "maxBackoff": "1s",
        "backoffMultiplier": 2,
        "retryableStatusCodes": ["UNAVAILABLE"],
    }


def service_config(
    timeout_s: float = DEFAULT_TIMEOUT_S,
    timeouts: Mapping[str, float | None] | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> dict[str, Any]:
    """The channel's service config: round robin, a timeout and retries for every method.

    `timeouts` overrides the default per service (`agora.support.v1.SupportService`) or per
    method (`agora.support.v1.SupportService/Chat`); None means no default timeout (long
    streams). The caller's own timeout still applies; gRPC uses the sooner of the two.
    """
    retry = retry_policy(max_attempts)
    method_configs: list[dict[str, Any]] = [
        {"name": [{}], "timeout": _duration(timeout_s), "retryPolicy": retry}
    ]
    for name, timeout in (timeouts or {}).items():
        service, _, method = name.partition("/")
        selector = {"service": service, "method": method} if method else {"service": service}
        config: dict[str, Any] = {"name": [selector], "retryPolicy": retry}
        if timeout is not None:
            config["timeout"] = _duration(timeout)
        method_configs.append(config)
    return {
        "loadBalancingConfig": [{"round_robin": {}}],
        "methodConfig": method_configs,
        # Stop retrying while most calls fail, so an outage does not multiply the load.
        "retryThrottling": {"maxTokens": 100, "tokenRatio": 0.1},
    }


def _duration(seconds: float) -> str:
    return f"{seconds:.3f}s"


def channel_target(addresses: Sequence[str]) -> str:
    """A gRPC target balancing over `addresses` (`host:port`, IPv6 as `[::1]:port`).

    IP literals go into one `ipv4:`/`ipv6:` target; a single host name becomes a `dns:///`
    target (on Kubernetes, a headless service resolves to every pod); several host names are
    resolved here, once per change of the address set.
    """
    if not addresses:
        raise ValueError("no address to connect to")
    families = {_family(address) for address in addresses}
    if families == {4}:
        return "ipv4:" + ",".join(addresses)
    if families == {6}:
        return "ipv6:" + ",".join(addresses)
    if len(addresses) == 1:
        return f"dns:///{addresses[0]}"
    resolved = sorted({ip for address in addresses for ip in _resolve_ipv4(address)})
    return "ipv4:" + ",".join(resolved) if resolved else f"dns:///{addresses[0]}"


def _family(address: str) -> int | None:
    host = address.rpartition(":")[0].strip("[]")
    try:
        return ipaddress.ip_address(host).version
    except ValueError:
        return None


def _resolve_ipv4(address: str) -> list[str]:
    host, _, port = address.rpartition(":")
    if _family(address) == 4:
        return [address]
    try:
        infos = socket.getaddrinfo(host, int(port), socket.AF_INET, socket.SOCK_STREAM)
    except (OSError, ValueError):
        return []
    return [f"{info[4][0]}:{port}" for info in infos]


@dataclass
class _ServiceChannel:
    addresses: tuple[str, ...]
    channel: grpc.aio.Channel
    # The same connection without this service's own token (`caller_stub`).
    caller_channel: grpc.aio.Channel
    stubs: dict[Any, Any] = field(default_factory=dict)
    caller_stubs: dict[Any, Any] = field(default_factory=dict)


class ServiceChannels:
    """One balanced, retrying channel per service, following the resolver's addresses.

    `channel(service)` and `stub(service, StubClass)` are synchronous (call them from the event
    loop); they raise `Unavailable` when no address of the service is known.
    """

    def __init__(
        self,
        resolver: AddressSource,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        timeouts: Mapping[str, float | None] | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        close_grace_s: float = DEFAULT_CLOSE_GRACE_S,
        propagate_request_id: bool = True,
        options: Sequence[tuple[str, Any]] = (),
        authorization: Callable[[], str] | None = None,
    ) -> None:
        """`authorization`, when given, supplies the `authorization` metadata of every call
        that sets none (a service's own `Bearer <service token>`)."""
        self._resolver = resolver
        self._close_grace_s = close_grace_s
        config = json.dumps(service_config(timeout_s, timeouts, max_attempts))
        self._options = [*CHANNEL_OPTIONS, ("grpc.service_config", config), *options]
        self._propagate_request_id = propagate_request_id
        self._authorization = authorization
        self._channels: dict[str, _ServiceChannel] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def channel(self, service: str) -> grpc.aio.Channel:
        """The channel to `service`, rebuilt when its set of addresses changed."""
        return self._current(service).channel

    def stub(self, service: str, stub_type: Callable[[grpc.aio.Channel], StubT]) -> StubT:
        """A stub of `stub_type` on the current channel to `service` (cached per channel)."""
        current = self._current(service)
        stub = current.stubs.get(stub_type)
        if stub is None:
            stub = current.stubs[stub_type] = stub_type(current.channel)
        return stub

    def caller_stub(self, service: str, stub_type: Callable[[grpc.aio.Channel], StubT]) -> StubT:
        """A stub whose calls carry only the credentials each call sets, never this service's
        own token: for calls made with an end user's rights (the support assistant acting for
        a customer), where a call without a token must reach the service as anonymous."""
        current = self._current(service)
        stub = current.caller_stubs.get(stub_type)
        if stub is None:
            stub = current.caller_stubs[stub_type] = stub_type(current.caller_channel)
        return stub

    def _current(self, service: str) -> _ServiceChannel:
        addresses = tuple(sorted(self._resolver.addresses(service)))
        current = self._channels.get(service)
        if current is not None and current.addresses == addresses:
            return current
        if not addresses:
            raise Unavailable(f"no known address of service {service!r}")
        raw = grpc.aio.insecure_channel(channel_target(addresses), options=self._options)
        channel = raw
        if self._propagate_request_id or self._authorization is not None:
            channel = RequestIdChannel(raw, self._authorization)
        caller_channel = RequestIdChannel(raw) if self._propagate_request_id else raw
        self._channels[service] = _ServiceChannel(addresses, channel, caller_channel)
        if current is not None:
            self._close_later(current.channel)
        return self._channels[service]

    def _close_later(self, channel: grpc.aio.Channel) -> None:
        task = asyncio.get_running_loop().create_task(channel.close(self._close_grace_s))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        """Close every channel, cancelling calls still in flight."""
        channels = [current.channel for current in self._channels.values()]
        self._channels.clear()
        await asyncio.gather(*(channel.close() for channel in channels))
        await asyncio.gather(*self._closing, return_exceptions=True)
