"""Calls to auth and orders with the staff member's own credentials, and nothing more.

Each call carries the `authorization` the staff member sent (and the gateway's report of where
they are, with its proof, so auth's audit entries name their address). The stubs come from
`ServiceChannels.caller_stub`, which never adds admin's own token: auth and orders check the
staff member's permissions, so admin can never do more than the person asking could do by
calling those services themselves. A failed call is re-raised as the callee's domain error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc

from agora._proto.agora.auth.v1 import auth_pb2 as apb
from agora._proto.agora.auth.v1.auth_pb2_grpc import AuthServiceStub
from agora._proto.agora.orders.v1 import orders_pb2 as opb
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub
from agora.platform.rpc.client import ServiceChannels
from agora.platform.rpc.status import raise_for_rpc_error
from agora.platform.security.origin import (
    CLIENT_IP_HEADER,
    GATEWAY_PROOF_HEADER,
    USER_AGENT_HEADER,
)

ResponseT = TypeVar("ResponseT")
_FORWARDED = frozenset({"authorization", CLIENT_IP_HEADER, USER_AGENT_HEADER, GATEWAY_PROOF_HEADER})


@dataclass(frozen=True)
class StaffCredentials:
    """What the staff member's call carried that the called services must see."""

    metadata: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, context: Any) -> StaffCredentials:
        received = context.invocation_metadata() or ()
        return cls(tuple((k, str(v)) for k, v in received if k in _FORWARDED))


class StaffCalls:
    """Auth's and orders' RPCs, made as the staff member."""

    def __init__(self, channels: ServiceChannels, timeout_s: float) -> None:
        self._channels = channels
        self._timeout_s = timeout_s

    @property
    def auth(self) -> AuthServiceStub:
        return self._channels.caller_stub("auth", AuthServiceStub)

    @property
    def orders(self) -> OrdersServiceStub:
        return self._channels.caller_stub("orders", OrdersServiceStub)

    async def call(
        self,
        method: Callable[..., Awaitable[ResponseT]],
        request: Any,
        credentials: StaffCredentials,
    ) -> ResponseT:
        """`method(request)` as the staff member, under the deadline; failures re-raised."""
        try:
            return await method(request, metadata=credentials.metadata, timeout=self._timeout_s)
        except grpc.RpcError as failed:
            raise_for_rpc_error(failed)

    async def user(self, user_id: str, credentials: StaffCredentials) -> apb.UserDetails:
        return await self.call(self.auth.GetUser, apb.GetUserRequest(user_id=user_id), credentials)

    async def latest_orders(
        self, customer_id: str, count: int, credentials: StaffCredentials
    ) -> opb.ListOrdersResponse:
        request = opb.ListOrdersRequest(customer_id=customer_id, page_size=count)
        return await self.call(self.orders.ListOrders, request, credentials)

    async def audit_entries(
        self, request: apb.ListAuditEntriesRequest, credentials: StaffCredentials
    ) -> apb.ListAuditEntriesResponse:
        return await self.call(self.auth.ListAuditEntries, request, credentials)

    async def reset_totp(
        self, user_id: str, idempotency_key: str, credentials: StaffCredentials
    ) -> apb.User:
        request = apb.ResetUserTotpRequest(idempotency_key=idempotency_key, user_id=user_id)
        return await self.call(self.auth.ResetUserTotp, request, credentials)
