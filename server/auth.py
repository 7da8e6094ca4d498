"""API-key authentication for every RPC except health checking and reflection."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc

from server.service import API_KEY_HEADER

logger = logging.getLogger(__name__)

PUBLIC_SERVICE_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


def _presented_key(metadata: Sequence[tuple[str, Any]]) -> str | None:
    for key, value in metadata:
        if key == API_KEY_HEADER:
            return str(value)
        if key == "authorization" and str(value).lower().startswith("bearer "):
            return str(value)[7:].strip()
    return None


class ApiKeyInterceptor(grpc.aio.ServerInterceptor):
    """Reject calls without one of the configured keys in x-api-key or "authorization: Bearer"."""

    def __init__(self, api_keys: Sequence[str]) -> None:
        self._keys = tuple(key.encode() for key in api_keys)

    def _accepts(self, presented: str | None) -> bool:
        if presented is None:
            return False
        candidate = presented.encode()
        # Compare against every key so the time taken does not reveal which one matched.
        return any([hmac.compare_digest(candidate, key) for key in self._keys])

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        method = handler_call_details.method
        if method.startswith(PUBLIC_SERVICE_PREFIXES):
            return await continuation(handler_call_details)
        presented = _presented_key(handler_call_details.invocation_metadata or ())
        if self._accepts(presented):
            return await continuation(handler_call_details)
        message = (
            "Missing API key: send it in the x-api-key metadata or as 'authorization: Bearer <key>'"
            if presented is None else "Invalid API key"
        )
        logger.warning("Rejected %s: %s", method, message)
        handler = await continuation(handler_call_details)
        return _abort_handler(handler, message)


def _abort_handler(handler: grpc.RpcMethodHandler | None, message: str) -> grpc.RpcMethodHandler:
    async def abort_unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    async def abort_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
        yield  # pragma: no cover - makes this an async generator, matching server-streaming methods

    if handler is not None and handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(
            abort_stream, handler.request_deserializer, handler.response_serializer)
    return grpc.unary_unary_rpc_method_handler(
        abort_unary,
        handler.request_deserializer if handler else None,
        handler.response_serializer if handler else None,
    )
