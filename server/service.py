"""The grpc.aio servicer of ragnarok.v1.RagnarokService: thin handlers over the job store."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc
from ragnarok.v1 import ragnarok_pb2 as pb
from ragnarok.v1 import ragnarok_pb2_grpc as pb_grpc

from server.convert import (
    ARTIFACT_CONTENT_TYPES,
    PROTO_TO_STATUS,
    event_to_proto,
    job_after_event,
    job_to_proto,
    timestamp,
)
from server.errors import ArtifactNotFound, QueueFullRetryLater, ServiceError, to_grpc_status
from server.settings import Settings
from server.store import EventType, JobStatus, NewJob, QueueFull, SqliteJobStore, StoreError
from server.tracing import bind_trace_id, reset_trace_id
from server.watch_hub import WatchHub
from server.validation import (
    FieldViolation,
    ValidationFailed,
    check_job_id,
    resolve_page_size,
    validate_generate,
)
from server.wire import UndecodableRequest

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1024 * 1024
# How often a watcher looks for new events in the store.
WATCH_POLL_SECONDS = 0.1
WATCH_BATCH = 200
TERMINAL_EVENTS = frozenset({EventType.COMPLETED, EventType.FAILED, EventType.CANCELLED})
API_KEY_HEADER = "x-api-key"

Request = TypeVar("Request")
Response = TypeVar("Response")


def _log_unexpected(error: Exception, method: str) -> None:
    if not isinstance(error, ServiceError | ValidationFailed | StoreError):
        logger.error("%s failed unexpectedly", method, exc_info=error)


def unary_rpc(
    handler: Callable[[Any, Request, grpc.aio.ServicerContext], Awaitable[Response]],
) -> Callable[[Any, Request, grpc.aio.ServicerContext], Awaitable[Response]]:
    """Turn every exception a unary handler raises into a status through errors.to_grpc_status."""

    @functools.wraps(handler)
    async def wrapper(self: Any, request: Request, context: grpc.aio.ServicerContext) -> Response:
        trace_token = bind_trace_id(context)
        try:
            if isinstance(request, UndecodableRequest):
                raise ValidationFailed(request.violations)
            return await handler(self, request, context)
        except Exception as error:  # noqa: BLE001 - mapped to a status below
            if isinstance(error, grpc.aio.AbortError):
                raise
            _log_unexpected(error, handler.__name__)
            status = to_grpc_status(error)
        finally:
            reset_trace_id(trace_token)
        await context.abort(status.code, status.details, status.trailing_metadata)
        raise AssertionError("context.abort returned")

    return wrapper


def stream_rpc(
    handler: Callable[[Any, Request, grpc.aio.ServicerContext], AsyncIterator[Response]],
) -> Callable[[Any, Request, grpc.aio.ServicerContext], AsyncIterator[Response]]:
    """Map a streaming handler's exceptions to a status, and close it as soon as the stream ends."""

    @functools.wraps(handler)
    async def wrapper(self: Any, request: Request, context: grpc.aio.ServicerContext) -> AsyncIterator[Response]:
        if isinstance(request, UndecodableRequest):
            status = to_grpc_status(ValidationFailed(request.violations))
            await context.abort(status.code, status.details, status.trailing_metadata)
        # Each streaming call runs in its own task, so the trace id set here stays with this call.
        bind_trace_id(context)
        stream = handler(self, request, context)
        try:
            async for message in stream:
                yield message
            return
        except Exception as error:  # noqa: BLE001 - mapped to a status below
            if isinstance(error, grpc.aio.AbortError):
                raise
            _log_unexpected(error, handler.__name__)
            status = to_grpc_status(error)
        finally:
            # Runs on client cancellation too (CancelledError), so the handler frees its
            # resources at once instead of when the generator is garbage-collected.
            await stream.aclose()  # type: ignore[attr-defined]
        await context.abort(status.code, status.details, status.trailing_metadata)

    return wrapper


def caller_key_hash(context: grpc.aio.ServicerContext) -> str:
    """SHA-256 of the caller's API key, or "" when the call carries none."""
    for key, value in context.invocation_metadata() or ():
        if key == API_KEY_HEADER or (key == "authorization" and str(value).lower().startswith("bearer ")):
            token = str(value)[7:] if key == "authorization" else str(value)
            return hashlib.sha256(token.strip().encode()).hexdigest()
    return ""


class RagnarokServicer(pb_grpc.RagnarokServiceServicer):
    """Handlers for ragnarok.v1.RagnarokService; all state lives in the store."""

    def __init__(self, settings: Settings, store: SqliteJobStore, on_change: Callable[[], None]) -> None:
        self._settings = settings
        self._store = store
        # Called after a job was queued or cancelled, so the local supervisor acts at once.
        self._on_change = on_change
        self._shutting_down = False
        self._hub = WatchHub(store, WATCH_POLL_SECONDS)
        self.active_watchers = 0

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def begin_shutdown(self) -> None:
        """End every WatchJob stream cleanly; clients resume with after_sequence elsewhere or later."""
        self._shutting_down = True
        self._hub.close()

    def _owner(self, context: grpc.aio.ServicerContext) -> str | None:
        """Return the key hash whose jobs this caller may see, or None (every job) when authentication is off."""
        return caller_key_hash(context) if self._settings.api_keys else None

    @unary_rpc
    async def Generate(self, request: pb.GenerateRequest, context: grpc.aio.ServicerContext) -> pb.GenerateResponse:
        fields = validate_generate(
            brief=request.brief,
            industry=request.industry,
            duration_seconds=request.duration_seconds,
            platform=request.platform,
            style=request.style if request.HasField("style") else None,
            voice_style=request.voice_style if request.HasField("voice_style") else None,
            metadata_json=request.metadata_json,
            request_id=request.request_id,
            seed=request.seed if request.HasField("seed") else None,
        )
        # NewJob is the validated request plus what only the server knows: the hash for
        # request_id replays and the caller's key.
        new_job = NewJob(
            **dataclasses.asdict(fields),
            request_hash=fields.request_hash(),
            owner_key_hash=caller_key_hash(context),
        )
        try:
            job, created = await asyncio.to_thread(self._store.create_job, new_job, self._settings.max_queued_jobs)
        except QueueFull as error:
            logger.warning("Generate rejected: the queue is full (%d pending jobs)", error.limit)
            raise QueueFullRetryLater(error.limit, self._settings.queue_full_retry_seconds) from None
        if created:
            logger.info("Job %s queued (%s, %d s)", job.job_id, job.platform, job.duration_seconds)
            self._on_change()
        return pb.GenerateResponse(job=job_to_proto(job))

    @unary_rpc
    async def GetJob(self, request: pb.GetJobRequest, context: grpc.aio.ServicerContext) -> pb.GetJobResponse:
        job = await asyncio.to_thread(self._store.get_job, check_job_id(request.job_id), self._owner(context))
        return pb.GetJobResponse(job=job_to_proto(job))

    @unary_rpc
    async def ListJobs(self, request: pb.ListJobsRequest, context: grpc.aio.ServicerContext) -> pb.ListJobsResponse:
        page_size = resolve_page_size(request.page_size)
        status: JobStatus | None = None
        if request.status != pb.JOB_STATUS_UNSPECIFIED:
            if request.status not in PROTO_TO_STATUS:
                raise ValidationFailed([FieldViolation(
                    "status", f"status {request.status} is not a JobStatus value; use one of "
                    + ", ".join(name for name in pb.JobStatus.keys()), "enum")])
            status = PROTO_TO_STATUS[request.status]
        page = await asyncio.to_thread(
            self._store.list_jobs, status, page_size, request.page_token, self._owner(context))
        return pb.ListJobsResponse(
            jobs=[job_to_proto(job) for job in page.jobs],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    @unary_rpc
    async def CancelJob(self, request: pb.CancelJobRequest, context: grpc.aio.ServicerContext) -> pb.CancelJobResponse:
        outcome = await asyncio.to_thread(self._store.cancel, check_job_id(request.job_id), self._owner(context))
        if outcome.stopped_lease is not None:
            logger.info("Job %s cancelled while running; stopping its worker", outcome.job.job_id)
            self._on_change()
        return pb.CancelJobResponse(job=job_to_proto(outcome.job))

    @stream_rpc
    async def WatchJob(
        self, request: pb.WatchJobRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.WatchJobResponse]:
        job_id = check_job_id(request.job_id)
        if request.after_sequence < 0:
            raise ValidationFailed([FieldViolation(
                "after_sequence", f"after_sequence must be 0 or more, got {request.after_sequence}; pass the last "
                "sequence you received, or 0", "greater_than_equal")])
        owner = self._owner(context)
        job = await asyncio.to_thread(self._store.get_job, job_id, owner)
        self.active_watchers += 1
        logger.debug("Watcher of job %s connected after sequence %d", job_id, request.after_sequence)
        try:
            snapshot = pb.JobEvent(
                sequence=job.last_sequence, type=pb.JOB_EVENT_TYPE_SNAPSHOT, stage=job.stage,
                progress=job.progress, create_time=timestamp(job.updated_us),
            )
            yield pb.WatchJobResponse(event=snapshot, job=job_to_proto(job))
            cursor = request.after_sequence or job.last_sequence
            if job.status.is_terminal:
                # A finished job's stream always ends with its terminal event.
                cursor = min(cursor, job.last_sequence - 1)
            while True:
                job, events = await asyncio.to_thread(
                    self._store.get_job_and_events, job_id, cursor, WATCH_BATCH, owner)
                for event in events:
                    cursor = event.sequence
                    yield pb.WatchJobResponse(event=event_to_proto(event), job=job_to_proto(job_after_event(job, event)))
                    if event.type in TERMINAL_EVENTS:
                        return
                if len(events) == WATCH_BATCH:
                    continue
                if await self._hub.wait_beyond(job_id, cursor):
                    continue
                logger.info("Ending watch of job %s at sequence %d: server shutting down", job_id, cursor)
                return
        finally:
            self.active_watchers -= 1
            logger.debug("Watcher of job %s closed", job_id)

    @stream_rpc
    async def ReadArtifact(
        self, request: pb.ReadArtifactRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.ReadArtifactResponse]:
        job_id = check_job_id(request.job_id)
        violations = []
        name = pb.Artifact.Name(request.artifact) if request.artifact in pb.Artifact.values() else ""
        if name not in ARTIFACT_CONTENT_TYPES:
            violations.append(FieldViolation(
                "artifact", f"artifact {name or request.artifact!r} is not a file a job produces; use one of "
                + ", ".join(ARTIFACT_CONTENT_TYPES), "enum"))
        for field in ("offset", "limit"):
            if getattr(request, field) < 0:
                violations.append(FieldViolation(
                    field, f"{field} must be 0 or more, got {getattr(request, field)}", "greater_than_equal"))
        if violations:
            raise ValidationFailed(violations)

        path = await asyncio.to_thread(self._artifact_path, job_id, name, self._owner(context))
        with await asyncio.to_thread(path.open, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            if request.offset > size:
                raise ServiceError(
                    grpc.StatusCode.OUT_OF_RANGE,
                    f"offset {request.offset} is past the end of {name} of job {job_id} ({size} bytes)",
                    "OFFSET_OUT_OF_RANGE", {"jobId": job_id, "artifact": name, "size": str(size)},
                )
            end = size if request.limit == 0 else min(size, request.offset + request.limit)
            position = request.offset
            await asyncio.to_thread(file.seek, position)
            content_type = ARTIFACT_CONTENT_TYPES[name]
            while True:
                data = await asyncio.to_thread(file.read, min(CHUNK_BYTES, end - position))
                yield pb.ReadArtifactResponse(data=data, offset=position, total_size=size, content_type=content_type)
                position += len(data)
                if position >= end or not data:
                    return

    def _artifact_path(self, job_id: str, name: str, owner: str | None) -> Path:
        """Resolve one of a completed job's artifacts to a file inside its job directory."""
        job = self._store.get_job(job_id, owner)
        if job.status is not JobStatus.COMPLETED or job.result is None:
            raise ArtifactNotFound(job_id, name, f"the job is {job.status.value}; artifacts exist once it completes")
        entry = (job.result.get("artifacts") or {}).get(name)
        if entry is None:
            raise ArtifactNotFound(job_id, name, "the job did not produce this file")
        root = (self._settings.jobs_dir / job_id).resolve()
        path = (root / str(entry["path"])).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise ArtifactNotFound(job_id, name, "the file is no longer on the server")
        return path
