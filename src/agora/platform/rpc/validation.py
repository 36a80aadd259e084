"""The server's request check: every unary request meets its fields' rules before the handler.

Runs innermost (after the authorization check, so an unknown caller learns nothing about the
rules before being refused); its InvalidArgument is mapped to a gRPC status by the outer
`ServerInterceptor` like any domain error.
"""

from __future__ import annotations

import inspect
from typing import Any

import grpc

from agora.platform.rpc.interceptors import (
    UNARY_REQUEST_KINDS,
    Behaviour,
    MethodWrapper,
    behaviour_of,
    with_behaviour,
)
from agora.platform.validation import RequestValidator


class RequestValidationInterceptor(MethodWrapper):
    """Checks each unary request with a `RequestValidator` (docs/adr/0008)."""

    def __init__(self, validator: RequestValidator | None = None) -> None:
        super().__init__()
        self._validator = validator or RequestValidator()

    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        kind, behaviour = behaviour_of(handler)
        # Streaming requests arrive as iterators: only unary requests are checked whole.
        if kind not in UNARY_REQUEST_KINDS:
            return handler
        return with_behaviour(handler, kind, self._checked(behaviour))

    def _checked(self, behaviour: Behaviour) -> Behaviour:
        check = self._validator.check
        if inspect.isasyncgenfunction(behaviour):

            async def generate(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
                check(request)
                async for response in behaviour(request, context):
                    yield response

            return generate

        async def run(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            check(request)
            return await behaviour(request, context)

        return run
