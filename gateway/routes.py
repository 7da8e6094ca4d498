"""JSON routes of the contract: generate, get, list and cancel, each a translation to one RPC."""

from __future__ import annotations

import logging
from typing import Annotated, Any, cast

import grpc
import orjson
from fastapi import APIRouter, Header, Query, Request
from starlette.responses import Response

from gateway.backend import backend_of
from gateway.errors import (
    GENERATE_FIELD_LABELS,
    GENERATE_FIELDS,
    ApiError,
    RpcErrorContext,
    api_error_from_rpc,
    error_info_metadata,
)
from gateway.rawjson import member_text, minify_json
from gateway.responses import JsonResponse
from gateway.schemas import (
    CancelOut,
    ErrorOut,
    GenerateBody,
    JobListOut,
    JobOut,
    ValidationErrorOut,
)
from gateway.translate import STATUS_VALUES, job_to_json, status_name
from gateway.urls import API_PREFIX, checked_job_id, url_builder
from ragnarok.v1 import ragnarok_pb2

logger = logging.getLogger(__name__)

LIST_LIMIT_DEFAULT = 20
LIST_LIMIT_MAX = 100

# Errors any route can return because the job service could not serve it.
SERVICE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "The job service requires an API key (Authorization: Bearer <key>)."},
    403: {"model": ErrorOut, "description": "The API key may not do this."},
    429: {"model": ErrorOut, "description": "The queue is full; retry after Retry-After seconds."},
    502: {"model": ErrorOut, "description": "The job service failed unexpectedly."},
    503: {"model": ErrorOut, "description": "The job service is unreachable."},
    504: {"model": ErrorOut, "description": "The job service timed out."},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": 'No such job: {"detail": "Job not found: <job_id>"}.'},
}
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"model": ValidationErrorOut, "description": "Invalid fields, named in loc."},
}

router = APIRouter(prefix=API_PREFIX, tags=["jobs"])


def _urls(request: Request) -> Any:
    return url_builder(request, trust_forwarded_headers=backend_of(request).settings.trust_forwarded_headers)


def _metadata_json(body: GenerateBody, raw_body: bytes) -> str:
    """Return the metadata member exactly as the client wrote it, minus whitespace between tokens.

    Falls back to re-serialising the parsed value if the raw text cannot be found
    (for example a body in UTF-16). Standard JSON only: NaN and Infinity, which
    Python's parser accepts, are rejected with a 422.
    """
    if body.metadata is None:
        return ""
    try:
        text = member_text(raw_body.decode("utf-8"), "metadata")
    except ValueError:
        text = None
    if text is None:
        return orjson.dumps(body.metadata).decode()
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ApiError(422, [{
            "loc": ["body", "metadata"],
            "msg": "metadata must be standard JSON; NaN and Infinity are not allowed, send them as strings or null",
            "type": "json_invalid",
        }]) from None
    return minify_json(text)


@router.post(
    "/generate",
    response_model=JobOut,
    summary="Queue a new commercial generation job",
    description=(
        "Validates the brief, stores a job in the `pending` state and returns it. Poll "
        "`GET /jobs/{job_id}` or follow `GET /jobs/{job_id}/events` for progress. With an "
        "`Idempotency-Key` header, repeating the same request returns the job first created for it; "
        "the same key with a different body is a 422 on the header."
    ),
    responses={**INVALID, 413: {"model": ErrorOut, "description": "The request body is too large."},
               **SERVICE_ERRORS},
)
async def generate(
    body: GenerateBody,
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(description="Optional key, 1 to 128 characters of letters, digits and . _ : -, kept 24 hours."),
    ] = None,
) -> Response:
    backend = backend_of(request)
    message = ragnarok_pb2.GenerateRequest(
        brief=body.brief,
        industry=body.industry,
        duration_seconds=body.duration_seconds,
        platform=body.platform,
        metadata_json=_metadata_json(body, await request.body()),
        request_id=idempotency_key or "",
    )
    if body.style is not None:
        message.style = body.style
    if body.voice_style is not None:
        message.voice_style = body.voice_style
    if body.seed is not None:
        message.seed = body.seed

    reply = await backend.unary(
        backend.require_stub().Generate, message, request,
        RpcErrorContext(field_locations=GENERATE_FIELDS, field_labels=GENERATE_FIELD_LABELS),
    )
    logger.info("Queued job %s (%s, %d s)", reply.job.job_id, body.platform, body.duration_seconds)
    return JsonResponse(job_to_json(reply.job, _urls(request)))


@router.get(
    "/jobs/{job_id}",
    response_model=JobOut,
    summary="Get one job",
    responses={**NOT_FOUND, **SERVICE_ERRORS},
)
async def get_job(job_id: str, request: Request) -> Response:
    checked_job_id(job_id)
    backend = backend_of(request)
    reply = await backend.unary(
        backend.require_stub().GetJob, ragnarok_pb2.GetJobRequest(job_id=job_id), request,
        RpcErrorContext(job_id=job_id),
    )
    return JsonResponse(job_to_json(reply.job, _urls(request)))


@router.get(
    "/jobs",
    response_model=JobListOut,
    summary="List recent jobs, newest first",
    description=f"`total` counts every job that matches `status`; `jobs` contains the newest `limit` of them "
    f"(default {LIST_LIMIT_DEFAULT}, 1 to {LIST_LIMIT_MAX}).",
    responses={
        400: {"model": ErrorOut, "description": 'Unknown status: {"detail": "Invalid status: <value>"}.'},
        **INVALID, **SERVICE_ERRORS,
    },
)
async def list_jobs(
    request: Request,
    status: Annotated[
        str | None,
        Query(description="Only jobs in this status: pending, running, completed, failed or cancelled. "
              "Empty or absent means every status."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=LIST_LIMIT_MAX, description="Maximum number of jobs to return.")] = LIST_LIMIT_DEFAULT,
) -> Response:
    status_filter = 0
    if status:
        if status not in STATUS_VALUES:
            raise ApiError(400, f"Invalid status: {status}")
        status_filter = STATUS_VALUES[status]

    backend = backend_of(request)
    reply = await backend.unary(
        backend.require_stub().ListJobs,
        ragnarok_pb2.ListJobsRequest(page_size=limit, status=cast(ragnarok_pb2.JobStatus, status_filter)),
        request,
        RpcErrorContext(field_locations={"page_size": ("query", "limit"), "status": ("query", "status")},
                        default_location=("query",)),
    )
    urls = _urls(request)
    return JsonResponse({"jobs": [job_to_json(job, urls) for job in reply.jobs], "total": reply.total_size})


@router.delete(
    "/jobs/{job_id}",
    response_model=CancelOut,
    summary="Cancel a job",
    description=(
        "A pending job is cancelled at once; a running job stops within about two seconds and its "
        "partial files are removed. Cancelling a cancelled job succeeds again."
    ),
    responses={
        400: {"model": ErrorOut,
              "description": 'The job already finished: {"detail": "Cannot cancel job in <status> status"}.'},
        **NOT_FOUND, **SERVICE_ERRORS,
    },
)
async def cancel_job(job_id: str, request: Request) -> Response:
    checked_job_id(job_id)
    backend = backend_of(request)
    context = RpcErrorContext(job_id=job_id)
    try:
        await backend.require_stub().CancelJob(
            ragnarok_pb2.CancelJobRequest(job_id=job_id),
            timeout=backend.settings.rpc_timeout_seconds,
            metadata=backend.call_metadata(request),
        )
    except grpc.aio.AioRpcError as error:
        if error.code() != grpc.StatusCode.FAILED_PRECONDITION:
            raise api_error_from_rpc(error, context) from None
        status = error_info_metadata(error).get("status", "").lower()
        if status not in STATUS_VALUES:
            status = await _job_status(job_id, request)
        raise ApiError(400, f"Cannot cancel job in {status} status") from None

    logger.info("Cancelled job %s", job_id)
    return JsonResponse({"message": f"Job {job_id} cancelled", "job_id": job_id})


async def _job_status(job_id: str, request: Request) -> str:
    backend = backend_of(request)
    reply = await backend.unary(
        backend.require_stub().GetJob, ragnarok_pb2.GetJobRequest(job_id=job_id), request,
        RpcErrorContext(job_id=job_id),
    )
    return status_name(reply.job.status)
