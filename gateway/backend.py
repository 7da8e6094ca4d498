"""The gateway's gRPC client: settings, the one channel to the job service, and call metadata."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from fastapi import Request

from gateway.errors import RpcErrorContext, api_error_from_rpc
from gateway.tracing import TRACE_HEADER, current_trace_id
from ragnarok.v1 import ragnarok_pb2_grpc

logger = logging.getLogger(__name__)

Reply = TypeVar("Reply")

# Client headers forwarded to the job service as gRPC metadata when passthrough is on.
FORWARDED_AUTH_HEADERS = ("authorization", "x-api-key")


@dataclass(frozen=True)
class GatewaySettings:
    """How the gateway reaches the job service and serves its routes.

    grpc_target: address of the job service, for example "127.0.0.1:50051".
    api_key_passthrough: forward the client's Authorization and X-API-Key headers
        to the job service, which checks them.
    rpc_timeout_seconds: deadline of each unary call; streams have none.
    heartbeat_seconds: maximum gap between lines of an events stream.
    trust_forwarded_headers: build download URLs from X-Forwarded-Proto and
        X-Forwarded-Host; turn on only behind a proxy that sets both.
    max_body_bytes: largest request body accepted; larger ones get 413.
    """

    grpc_target: str
    api_key_passthrough: bool = True
    rpc_timeout_seconds: float = 10.0
    heartbeat_seconds: float = 15.0
    trust_forwarded_headers: bool = False
    max_body_bytes: int = 1024 * 1024

    def __post_init__(self) -> None:
        if not self.grpc_target.strip():
            raise ValueError("grpc_target is empty; pass the job service address, for example '127.0.0.1:50051'")
        for name in ("rpc_timeout_seconds", "heartbeat_seconds"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{name} must be above 0, got {value!r}")
        if self.max_body_bytes < 1024:
            raise ValueError(f"max_body_bytes must be at least 1024, got {self.max_body_bytes!r}")


@dataclass
class Backend:
    """One grpc.aio channel to the job service, opened and closed by the app's lifespan.

    `open_watches` contains the WatchJob calls of the event streams now being served,
    so shutdown can cancel them and tests can check that a disconnect ended its call.
    """

    settings: GatewaySettings
    channel: grpc.aio.Channel | None = None
    stub: ragnarok_pb2_grpc.RagnarokServiceStub | None = None
    open_watches: set[grpc.aio.Call] = field(default_factory=set)

    async def open(self) -> None:
        self.channel = grpc.aio.insecure_channel(self.settings.grpc_target)
        self.stub = ragnarok_pb2_grpc.RagnarokServiceStub(self.channel)  # type: ignore[no-untyped-call]
        logger.info("Gateway connected to the job service at %s", self.settings.grpc_target)

    async def close(self) -> None:
        for call in list(self.open_watches):
            call.cancel()
        if self.channel is not None:
            await self.channel.close(grace=1.0)
            logger.info("Gateway closed its channel to %s", self.settings.grpc_target)
        self.channel = None
        self.stub = None

    def require_stub(self) -> ragnarok_pb2_grpc.RagnarokServiceStub:
        if self.stub is None:
            raise RuntimeError(
                "The gateway's gRPC channel is not open: its lifespan did not run. "
                "Serve the app with uvicorn, or enter app.router.lifespan_context(app) first."
            )
        return self.stub

    def call_metadata(self, request: Request) -> tuple[tuple[str, str], ...]:
        """Build the gRPC metadata for a call made on behalf of `request`."""
        metadata: list[tuple[str, str]] = []
        trace_id = current_trace_id()
        if trace_id is not None:
            metadata.append((TRACE_HEADER, trace_id))
        if self.settings.api_key_passthrough:
            for name in FORWARDED_AUTH_HEADERS:
                value = request.headers.get(name)
                # gRPC accepts only printable ASCII in text metadata; anything else cannot be a valid key.
                if value and value.isascii() and value.isprintable():
                    metadata.append((name, value))
        return tuple(metadata)

    async def unary(
        self,
        method: Callable[..., Awaitable[Reply]],
        message: Any,
        request: Request,
        context: RpcErrorContext,
    ) -> Reply:
        """Call a unary RPC with the configured deadline; a failure raises the mapped ApiError."""
        try:
            return await method(
                message, timeout=self.settings.rpc_timeout_seconds, metadata=self.call_metadata(request)
            )
        except grpc.aio.AioRpcError as error:
            raise api_error_from_rpc(error, context) from None


def backend_of(request: Request) -> Backend:
    backend = request.app.state.backend
    assert isinstance(backend, Backend)
    return backend

