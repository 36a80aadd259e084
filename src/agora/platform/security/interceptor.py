"""The server interceptor that enforces every method's `(agora.options.v1.rule)` (docs/adr/0007).

For each call it reads the `authorization: Bearer <jwt>` metadata and the method's rule:

- `public`: no token needed; a token that is sent must still be valid;
- `permission`: a valid token whose permissions include it;
- neither: any valid token.

A refusal is raised as `Unauthenticated` (TOKEN_MISSING, TOKEN_INVALID, TOKEN_EXPIRED) or
`PermissionDenied` (PERMISSION_MISSING with the permission in metadata), which the platform's
own interceptor (outside this one) turns into the gRPC status with its details. The handler runs
with the verified principal as `current_principal()` and the client's origin as
`current_origin()`: the origin the gateway reports when the call carries the gateway's valid
service token in `x-agora-gateway`, else the peer's address (see `origin`). Tokens are never
logged.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Protocol

import grpc
import structlog

from agora.platform.errors import TOKEN_MISSING, PermissionDenied, Unauthenticated
from agora.platform.rpc.interceptors import Behaviour, MethodWrapper, behaviour_of, with_behaviour
from agora.platform.security.origin import (
    GATEWAY_SUBJECT,
    Origin,
    coming_from,
    gateway_proof,
    origin_of,
)
from agora.platform.security.permissions import Rule, rule_of
from agora.platform.security.principal import ANONYMOUS, Principal, acting_as
from agora.platform.security.tokens import SERVICE_TOKEN_TYPE, invalid, token_type

AUTHORIZATION = "authorization"
_BEARER = "bearer "

log = structlog.get_logger("agora.security")


class Verifier(Protocol):
    async def verify(self, token: str) -> Principal: ...


def bearer_token(metadata: Any) -> str | None:
    """The token of the call's `authorization: Bearer <token>` (None when there is none).

    Any other form (another scheme, an empty token, the header twice) is TOKEN_INVALID.
    """
    found: str | None = None
    for key, value in metadata or ():
        if key != AUTHORIZATION:
            continue
        if found is not None:
            raise invalid("more than one authorization header")
        if not isinstance(value, str) or not value[: len(_BEARER)].lower() == _BEARER:
            raise invalid("the authorization header must be 'Bearer <token>'")
        found = value[len(_BEARER) :].strip()
        if not found:
            raise invalid("the bearer token is empty")
    return found


class AuthorizationInterceptor(MethodWrapper):
    """Checks each call against its method's rule and runs the handler as the caller."""

    def __init__(self, verifier: Verifier, *, rules: Callable[[str], Rule] = rule_of) -> None:
        super().__init__()
        self._verifier = verifier
        self._rules = rules

    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        kind, behaviour = behaviour_of(handler)
        return with_behaviour(handler, kind, self._guarded(method, self._rules(method), behaviour))

    async def authorize(
        self, method: str, rule: Rule, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Principal:
        """The caller of this call, allowed by `rule`; else the refusal is raised."""
        metadata = context.invocation_metadata()
        try:
            token = bearer_token(metadata)
            if token is None:
                if rule.public:
                    return ANONYMOUS
                raise Unauthenticated("this call needs a bearer token", reason=TOKEN_MISSING)
            principal = await self._verifier.verify(token)
            if rule.permission and not principal.can(rule.permission):
                raise PermissionDenied.missing(rule.permission)
        except (Unauthenticated, PermissionDenied) as refusal:
            log.info("rpc_refused", method=method, reason=refusal.reason, detail=refusal.message)
            raise
        return principal

    async def origin(self, context: grpc.aio.ServicerContext[Any, Any]) -> Origin:
        """Where the call comes from: the reported origin only under a valid gateway proof."""
        metadata = context.invocation_metadata() or ()
        proof = gateway_proof(metadata)
        from_gateway = False
        # Only a service token can be the proof: anything else never reaches the user-key source.
        if proof and token_type(proof) == SERVICE_TOKEN_TYPE:
            try:
                from_gateway = (await self._verifier.verify(proof)).subject == GATEWAY_SUBJECT
            except Unauthenticated as refusal:
                log.info("gateway_proof_refused", reason=refusal.reason, detail=refusal.message)
        return origin_of(metadata, context.peer(), from_gateway=from_gateway)

    def _guarded(self, method: str, rule: Rule, behaviour: Behaviour) -> Behaviour:
        authorize = self.authorize
        origin_of_call = self.origin
        if inspect.isasyncgenfunction(behaviour):

            async def generate(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
                principal = await authorize(method, rule, context)
                origin = await origin_of_call(context)
                with acting_as(principal), coming_from(origin):
                    async for response in behaviour(request, context):
                        yield response

            return generate

        async def run(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            principal = await authorize(method, rule, context)
            origin = await origin_of_call(context)
            with acting_as(principal), coming_from(origin):
                return await behaviour(request, context)

        return run
