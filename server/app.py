"""Build, start and stop the gRPC server with its job store and worker supervisor."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from ragnarok.v1 import ragnarok_pb2 as pb

from server.auth import ApiKeyInterceptor
from server.service import RagnarokServicer
from server.settings import Settings
from server.store import SqliteJobStore
from server.wire import tolerant_deserializer
from server.workers import Supervisor

logger = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["RagnarokService"].full_name
# Large enough for an oversized brief to reach validation and get a field-level error.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
# Time in-flight unary calls get to finish during a graceful shutdown.
SHUTDOWN_GRACE_SECONDS = 5.0

SERVER_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    # Two servers must never silently share one port.
    ("grpc.so_reuseport", 0),
    # Ping idle connections so dead watchers are noticed within about a minute.
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
]


@dataclass
class RagnarokServer:
    """A configured server; `port` is the bound gRPC port (useful with grpc_port=0)."""

    server: grpc.aio.Server
    port: int
    settings: Settings
    store: SqliteJobStore
    servicer: RagnarokServicer
    health: health.aio.HealthServicer
    supervisor: Supervisor | None

    @property
    def target(self) -> str:
        return f"{self.settings.grpc_host}:{self.port}"

    async def start(self) -> None:
        await self.server.start()
        if self.supervisor is not None:
            self.supervisor.start()
        for name in ("", SERVICE_NAME):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        logger.info("gRPC server listening on %s", self.target)

    async def begin_shutdown(self) -> None:
        """Turn health NOT_SERVING and end every watch stream cleanly; safe to call twice."""
        if self.servicer.shutting_down:
            return
        logger.info("Shutting down: health NOT_SERVING, ending watch streams")
        await self.health.enter_graceful_shutdown()
        self.servicer.begin_shutdown()

    async def stop(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Shut down in order: health NOT_SERVING, watchers ended, workers handed back, then the server."""
        await self.begin_shutdown()
        if self.supervisor is not None:
            await asyncio.to_thread(self.supervisor.stop)
        await self.server.stop(grace)
        logger.info("gRPC server stopped")


def add_servicer(servicer: RagnarokServicer, server: grpc.aio.Server) -> None:
    """Register the servicer like the generated add_RagnarokServiceServicer_to_server does.

    The request deserializers differ: a request that does not parse reaches the
    handler as an UndecodableRequest and gets INVALID_ARGUMENT naming the field,
    where grpcio alone would return a bare INTERNAL.
    """
    service = pb.DESCRIPTOR.services_by_name["RagnarokService"]
    handlers: dict[str, grpc.RpcMethodHandler] = {}
    for method in service.methods:
        request_type = getattr(pb, method.input_type.name)
        response_type = getattr(pb, method.output_type.name)
        make_handler = (grpc.unary_stream_rpc_method_handler if method.server_streaming
                        else grpc.unary_unary_rpc_method_handler)
        handlers[method.name] = make_handler(
            getattr(servicer, method.name),
            request_deserializer=tolerant_deserializer(request_type),
            response_serializer=response_type.SerializeToString,
        )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service.full_name, handlers),))
    server.add_registered_method_handlers(service.full_name, handlers)


def create_server(settings: Settings, *, run_workers: bool = True) -> RagnarokServer:
    """Create the store, the servicers and the bound (not yet started) gRPC server.

    Call inside a running event loop. With run_workers=False no jobs are run here,
    which suits a server that only serves RPCs while other processes render.
    """
    settings.jobs_dir.mkdir(parents=True, exist_ok=True)
    store = SqliteJobStore(settings.database_path)
    store.initialize()
    supervisor = Supervisor(settings, store) if run_workers else None

    interceptors = [ApiKeyInterceptor(settings.api_keys)] if settings.api_keys else []
    server = grpc.aio.server(
        interceptors=interceptors, options=SERVER_OPTIONS, maximum_concurrent_rpcs=settings.max_concurrent_rpcs,
    )
    servicer = RagnarokServicer(settings, store, on_change=supervisor.wake if supervisor else lambda: None)
    add_servicer(servicer, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
        server,
    )
    port = server.add_insecure_port(f"{settings.grpc_host}:{settings.grpc_port}")
    return RagnarokServer(
        server=server, port=port, settings=settings, store=store, servicer=servicer,
        health=health_servicer, supervisor=supervisor,
    )
