"""The REST gateway application: routes, middleware and the lifespan that owns the gRPC channel."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

from gateway import downloads, events, routes
from gateway.backend import Backend, GatewaySettings
from gateway.errors import install_error_handlers
from gateway.middleware import AnyOriginCorsMiddleware, BodySizeLimitMiddleware, UnhandledErrorMiddleware
from gateway.responses import JsonResponse
from gateway.tracing import TRACE_HEADER, TraceMiddleware

logger = logging.getLogger(__name__)

# Streams must reach the client as they are written, and compressed downloads would
# break Content-Length and byte ranges, so GZip only ever applies to JSON.
NEVER_COMPRESSED = (
    *DEFAULT_EXCLUDED_CONTENT_TYPES,
    events.NDJSON_MEDIA_TYPE,
    events.SSE_MEDIA_TYPE,
    "application/x-subrip",
    "text/vtt",
)

DESCRIPTION = """\
Turns a marketing brief into a finished video commercial (MP4).

Queue a job with `POST /api/nexus/ragnarok/generate`, then poll `GET /api/nexus/ragnarok/jobs/{job_id}`
or follow `GET /api/nexus/ragnarok/jobs/{job_id}/events` until it is `completed`; the result links to
the video, thumbnail and captions on this server.

Every response carries an `x-trace-id` header (`nxs_<unix seconds>_<8 hex digits>`) that also appears
in the server logs. Errors have the body `{"detail": "..."}`, and validation errors (HTTP 422)
`{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}`.
"""


def create_app(
    grpc_target: str,
    *,
    api_key_passthrough: bool = True,
    rpc_timeout_seconds: float = 10.0,
    heartbeat_seconds: float = 15.0,
    trust_forwarded_headers: bool = False,
    max_body_bytes: int = 1024 * 1024,
) -> FastAPI:
    """Build the gateway for the job service at `grpc_target`; see GatewaySettings for each option.

    The gRPC channel opens when the app's lifespan starts and closes when it ends,
    so serve the app with an ASGI server that runs lifespans (uvicorn does).
    """
    settings = GatewaySettings(
        grpc_target=grpc_target,
        api_key_passthrough=api_key_passthrough,
        rpc_timeout_seconds=rpc_timeout_seconds,
        heartbeat_seconds=heartbeat_seconds,
        trust_forwarded_headers=trust_forwarded_headers,
        max_body_bytes=max_body_bytes,
    )
    backend = Backend(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await backend.open()
        try:
            yield
        finally:
            await backend.close()

    app = FastAPI(
        title="RAGNAROK",
        summary="Video commercial generation",
        description=DESCRIPTION,
        version="1.0.0",
        lifespan=lifespan,
        default_response_class=JsonResponse,
    )
    app.state.backend = backend
    app.state.settings = settings

    app.include_router(routes.router)
    app.include_router(events.router)
    app.include_router(downloads.router)
    install_error_handlers(app)

    # Starlette runs the middleware added last first: trace ids wrap everything,
    # CORS wraps the error responses, the body limit and GZip sit next to the routes.
    app.add_middleware(GZipMiddleware, minimum_size=1024, exclude_content_types=NEVER_COMPRESSED)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_middleware(
        AnyOriginCorsMiddleware,
        allow_origins=["*"],
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=[TRACE_HEADER, "Content-Range", "Content-Length", "Accept-Ranges", "Retry-After"],
    )
    app.add_middleware(TraceMiddleware)
    return app
