"""Trace ids: one per HTTP request, returned as x-trace-id, logged and forwarded to the server.

A trace id reads "nxs_<unix seconds>_<8 lowercase hex digits>". A request that already
carries an x-trace-id of exactly that form keeps it, so a caller can follow one id
through its own logs and ours; any other incoming value is replaced.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from contextvars import ContextVar

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

TRACE_HEADER = "x-trace-id"
TRACE_ID_PATTERN = re.compile(r"^nxs_[0-9]{1,12}_[0-9a-f]{8}$")

_current_trace_id: ContextVar[str | None] = ContextVar("ragnarok_trace_id", default=None)


def new_trace_id() -> str:
    """Create a trace id from the current time and 32 random bits."""
    return f"nxs_{int(time.time())}_{secrets.token_hex(4)}"


def current_trace_id() -> str | None:
    """Return the trace id of the request being handled, or None outside a request."""
    return _current_trace_id.get()


class TraceIdFilter(logging.Filter):
    """Set `record.trace_id` on every record, "-" outside a request.

    Attach it to a handler at the entry point, then use %(trace_id)s in the format.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.trace_id = _current_trace_id.get() or "-"
        return True


class TraceMiddleware:
    """Give each HTTP request a trace id, add it to the response and log one access line.

    Install it outermost, so every response carries the header: CORS preflights,
    unknown routes and errors included.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        incoming = Headers(scope=scope).get(TRACE_HEADER, "")
        trace_id = incoming if TRACE_ID_PATTERN.match(incoming) else new_trace_id()
        scope.setdefault("state", {})["trace_id"] = trace_id
        token = _current_trace_id.set(trace_id)
        started = time.perf_counter()
        status_code = 500

        async def send_with_trace_id(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                headers = MutableHeaders(scope=message)
                headers[TRACE_HEADER] = trace_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_trace_id)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            logger.info(
                "%s %s -> %d in %.1f ms trace_id=%s",
                scope["method"], scope["path"], status_code, elapsed_ms, trace_id,
            )
            _current_trace_id.reset(token)
