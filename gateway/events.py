"""GET /jobs/{job_id}/events: the WatchJob stream as newline-delimited JSON, or as SSE on request.

Each job event becomes one line, written to the socket as soon as the job
service sends it (see gateway.schemas.EventLine for the keys). A heartbeat line
goes out whenever no event came for `heartbeat_seconds`. A stream that breaks
off ends with exactly one "error" line. The response is never compressed: the
gateway's GZip middleware excludes application/x-ndjson and text/event-stream.

When the client disconnects, the gateway receives http.disconnect at once,
because it listens for it while the stream runs, and cancels its WatchJob call. The job
itself keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from typing import Annotated, Any

import grpc
from fastapi import APIRouter, Header, Query, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from gateway.backend import Backend, backend_of
from gateway.errors import ApiError, RpcErrorContext, api_error_from_rpc
from gateway.responses import dump_json
from gateway.routes import NOT_FOUND, SERVICE_ERRORS
from gateway.schemas import EventLine
from gateway.translate import error_line, event_line, heartbeat_line
from gateway.urls import API_PREFIX, UrlBuilder, checked_job_id, url_builder
from ragnarok.v1 import ragnarok_pb2

logger = logging.getLogger(__name__)

NDJSON_MEDIA_TYPE = "application/x-ndjson"
SSE_MEDIA_TYPE = "text/event-stream"

router = APIRouter(prefix=API_PREFIX, tags=["events"])

LineFormatter = Callable[[dict[str, Any]], bytes]


def ndjson_frame(line: dict[str, Any]) -> bytes:
    return dump_json(line) + b"\n"


# Line types that are not job events. Their SSE frames carry no id, so they never
# repeat the id of the event before them.
UNNUMBERED_LINE_TYPES = frozenset({"snapshot", "heartbeat", "error"})

# Job statuses after which WatchJob replays the terminal event even to a watcher already past it.
TERMINAL_STATUSES = frozenset({
    ragnarok_pb2.JOB_STATUS_COMPLETED, ragnarok_pb2.JOB_STATUS_FAILED, ragnarok_pb2.JOB_STATUS_CANCELLED,
})


def sse_frame(line: dict[str, Any]) -> bytes:
    """Frame one line as a server-sent event; only job events carry an id.

    A frame without an id leaves the EventSource's Last-Event-ID unchanged, so a
    reconnect resumes after the last job event the client received.
    """
    data = dump_json(line)
    if line["type"] in UNNUMBERED_LINE_TYPES:
        return b"event: %s\ndata: %s\n\n" % (line["type"].encode(), data)
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (line["sequence"], line["type"].encode(), data)


def wants_sse(accept: str) -> bool:
    """Return True when the Accept header lists text/event-stream and not NDJSON."""
    media_types = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return SSE_MEDIA_TYPE in media_types and NDJSON_MEDIA_TYPE not in media_types


def _detail_text(error: ApiError) -> str:
    if isinstance(error.detail, list):
        return "; ".join(str(item.get("msg", item)) for item in error.detail)
    return str(error.detail)


def replay_start(first: ragnarok_pb2.WatchJobResponse, after_sequence: int) -> int:
    """Return the sequence after which WatchJob sends events, given its snapshot and the requested resume point.

    WatchJob numbers its snapshot with the job's last sequence, which is ahead of
    the events it replays on resume. It replays from `after_sequence`, or with 0
    from the snapshot on, and always resends a finished job's terminal event.
    """
    start = after_sequence or first.event.sequence
    if first.job.status in TERMINAL_STATUSES:
        start = min(start, first.event.sequence - 1)
    return max(start, 0)


async def event_lines(
    call: Any,
    first: ragnarok_pb2.WatchJobResponse,
    urls: UrlBuilder,
    heartbeat_seconds: float,
    context: RpcErrorContext,
    after_sequence: int = 0,
) -> AsyncIterator[dict[str, Any]]:
    """Yield the lines of one events stream: the snapshot, later events, heartbeats, at most one error.

    The snapshot line carries the sequence the replay starts after, so sequences
    in the stream never decrease, and heartbeat and error lines name the last
    event actually sent.
    """
    last_sequence = replay_start(first, after_sequence)
    yield {**event_line(first, urls), "sequence": last_sequence}
    # One read stays pending across heartbeats; asyncio.wait never cancels it.
    read: asyncio.Future[Any] = asyncio.ensure_future(call.read())
    try:
        while True:
            done, _ = await asyncio.wait({read}, timeout=heartbeat_seconds)
            if not done:
                yield heartbeat_line(last_sequence, datetime.now(timezone.utc))
                continue
            try:
                message = read.result()
            except grpc.aio.AioRpcError as error:
                api_error = api_error_from_rpc(error, context)
                logger.warning("Event stream of job %s broke off: %s", context.job_id, api_error.detail)
                yield error_line(last_sequence, datetime.now(timezone.utc), api_error.status_code,
                                 _detail_text(api_error))
                return
            if message is grpc.aio.EOF:
                return
            yield event_line(message, urls)
            last_sequence = message.event.sequence
            read = asyncio.ensure_future(call.read())
    except Exception:
        logger.exception("Event stream of job %s failed", context.job_id)
        yield error_line(last_sequence, datetime.now(timezone.utc), 500,
                         "Internal error in the gateway; resume with after_sequence")
    finally:
        read.cancel()
        call.cancel()


class EventStreamResponse(Response):
    """Streams lines while listening for the client's disconnect, then runs `on_close` exactly once.

    Under ASGI spec 2.4, Starlette's StreamingResponse notices a disconnect only
    on its next write. With the default 15 s heartbeat, that could keep a
    WatchJob call open for 15 s after the client left.
    """

    def __init__(
        self,
        lines: AsyncIterator[dict[str, Any]],
        *,
        formatter: LineFormatter,
        media_type: str,
        on_close: Callable[[], None],
    ) -> None:
        self.lines = lines
        self.formatter = formatter
        self.on_close = on_close
        self.status_code = 200
        self.media_type = media_type
        self.background = None
        self.init_headers({"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sender = asyncio.ensure_future(self._send_lines(send))
        listener = asyncio.ensure_future(self._wait_for_disconnect(receive))
        try:
            await asyncio.wait({sender, listener}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sender.cancel()
            listener.cancel()
            await asyncio.gather(sender, listener, return_exceptions=True)
            self.on_close()
        if listener.done() and not listener.cancelled() and listener.exception() is None:
            logger.info("Client left the event stream; WatchJob call cancelled")
        elif sender.done() and not sender.cancelled() and sender.exception() is not None:
            logger.error("Sending the event stream failed", exc_info=sender.exception())

    async def _send_lines(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        async with contextlib.aclosing(self.lines) as lines:  # type: ignore[type-var]
            async for line in lines:
                await send({"type": "http.response.body", "body": self.formatter(line), "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    @staticmethod
    async def _wait_for_disconnect(receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass


def _resume_sequence(after_sequence: int | None, last_event_id: str | None) -> int:
    if after_sequence is not None:
        return after_sequence
    if last_event_id is not None and last_event_id.strip().isdigit():
        return int(last_event_id.strip())
    return 0


def _close_watch(backend: Backend, call: Any) -> Callable[[], None]:
    def close() -> None:
        call.cancel()
        backend.open_watches.discard(call)

    return close


class NdjsonResponse(Response):
    """Documents the events route's media type in /openapi.json."""

    media_type = NDJSON_MEDIA_TYPE


def _as_json_errors(responses: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """Document error bodies as application/json, which they are.

    Without an explicit content entry FastAPI lists a response model under the
    route's own media type, here application/x-ndjson.
    """
    error_schema = {"schema": {"$ref": "#/components/schemas/ErrorOut"}}
    return {code: {**entry, "content": {"application/json": error_schema}} for code, entry in responses.items()}


@router.get(
    "/jobs/{job_id}/events",
    response_class=NdjsonResponse,
    response_model=None,
    summary="Follow a job's progress live",
    description=(
        "Streams the job's events as newline-delimited JSON (`application/x-ndjson`), one EventLine "
        "object per line, flushed as each event happens: first a `snapshot` of the job, then every "
        "stage change, progress step and warning, then a terminal `completed`, `failed` or `cancelled` "
        "line, after which the stream ends. The snapshot's `sequence` is the one the following events "
        "come after, so sequences never decrease. A `heartbeat` line is sent after every 15 seconds "
        "(the gateway's heartbeat_seconds setting) without an event. If the stream breaks off, its last line has type `error`; reconnect with "
        "`after_sequence` set to the last `sequence` received and nothing is missed. "
        "With `Accept: text/event-stream` the same objects are sent as server-sent events "
        "(`event` = type; job events carry `id` = sequence, snapshot, heartbeat and error frames carry "
        "no id), and `Last-Event-ID` resumes. The response is never "
        "compressed. Closing the connection never cancels the job."
    ),
    responses={
        200: {"model": EventLine, "description": "One EventLine per line.",
              "content": {SSE_MEDIA_TYPE: {"schema": {"type": "string"}}}},
        **_as_json_errors({**NOT_FOUND, **SERVICE_ERRORS}),
    },
)
async def watch_job_events(
    job_id: str,
    request: Request,
    after_sequence: Annotated[
        int | None, Query(ge=0, description="Replay the events after this sequence before live ones.")
    ] = None,
    last_event_id: Annotated[
        str | None, Header(description="SSE resume point; after_sequence takes precedence.")
    ] = None,
) -> Response:
    checked_job_id(job_id)
    backend = backend_of(request)
    context = RpcErrorContext(
        job_id=job_id, field_locations={"after_sequence": ("query", "after_sequence")}, default_location=("query",),
    )
    resume_sequence = _resume_sequence(after_sequence, last_event_id)
    call = backend.require_stub().WatchJob(
        ragnarok_pb2.WatchJobRequest(job_id=job_id, after_sequence=resume_sequence),
        metadata=backend.call_metadata(request),
    )
    backend.open_watches.add(call)
    close = _close_watch(backend, call)
    try:
        # Wait for the snapshot, so an unknown job still gets a plain 404 response.
        first = await call.read()
    except grpc.aio.AioRpcError as error:
        close()
        raise api_error_from_rpc(error, context) from None
    except BaseException:
        close()
        raise
    if first is grpc.aio.EOF:
        close()
        raise ApiError(502, f"Job service ended the event stream of job {job_id} before its snapshot")

    settings = backend.settings
    urls = url_builder(request, trust_forwarded_headers=settings.trust_forwarded_headers)
    sse = wants_sse(request.headers.get("accept", ""))
    lines = event_lines(call, first, urls, settings.heartbeat_seconds, context, resume_sequence)
    return EventStreamResponse(
        lines,
        formatter=sse_frame if sse else ndjson_frame,
        media_type=SSE_MEDIA_TYPE if sse else NDJSON_MEDIA_TYPE,
        on_close=close,
    )
