"""The server's request check: every unary request meets its fields' rules before the handler.

Runs innermost (after the authorization check, so an unknown caller learns nothing about the
rules before being refused); its InvalidArgument is mapped to a gRPC status by the outer
`ServerInterceptor` like any domain error.
"""

from __future__ import annotations

import inspect
from typing import Any, cast

import grpc

from agora.platform.rpc.interceptors import Behaviour, Continuation
from agora.platform.validation import RequestValidator


class RequestValidationInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Checks each unary request with a `RequestValidator` (docs/adr/0008)."""

    def __init__(self, validator: RequestValidator | None = None) -> None:
        self._validator = validator or RequestValidator()
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return cast(grpc.RpcMethodHandler, None)
        method = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self._wrap(handler)
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    def _wrap(self, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        h = cast(Any, handler)
        # Streaming requests arrive as iterators: only unary requests are checked whole.
        for kind in ("unary_unary", "unary_stream"):
            behaviour = getattr(h, kind)
            if behaviour is not None:
                return cast(grpc.RpcMethodHandler, h._replace(**{kind: self._checked(behaviour)}))
        return handler

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
