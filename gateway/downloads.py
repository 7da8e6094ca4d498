"""Downloads of a completed job's files, streamed from the job service's ReadArtifact RPC.

Each file has two routes: /jobs/{job_id}/<name> with the names video,
thumbnail, captions.srt and captions.vtt, and /jobs/{job_id}/artifacts/{artifact},
the route the proto's google.api.http option gives ReadArtifact. Both call
serve_download. No path from the request ever reaches the job service: the
artifact is picked from a fixed table, and the job id must match
^job_[0-9a-f]{12}$ first.

Range support follows RFC 9110 for a single byte range. "bytes=a-b", "bytes=a-"
and "bytes=-n" get 206 with Content-Range. A range that starts past the end gets
416 with "Content-Range: bytes */<size>". A header with several ranges, another
unit or bad syntax is ignored and the whole file is sent, as RFC 9110 allows.
If-Range with a different ETag also sends the whole file.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

import grpc
from fastapi import APIRouter, Path, Request
from starlette.responses import Response, StreamingResponse

from gateway.backend import Backend, backend_of
from gateway.errors import ApiError, RpcErrorContext, api_error_from_rpc
from gateway.responses import JsonResponse
from gateway.routes import NOT_FOUND, SERVICE_ERRORS
from gateway.schemas import ErrorOut, ValidationErrorOut
from gateway.translate import DOWNLOADS, Download, status_name
from gateway.urls import API_PREFIX, checked_job_id
from ragnarok.v1 import ragnarok_pb2

logger = logging.getLogger(__name__)

_RANGE_PATTERN = re.compile(r"^bytes=([0-9]*)-([0-9]*)$")
_ARTIFACT_PREFIX = "ARTIFACT_"

router = APIRouter(prefix=API_PREFIX, tags=["downloads"])


@dataclass(frozen=True)
class ByteRange:
    """Inclusive byte range of a file."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class RangeNotSatisfiable(Exception):
    """The Range header names no byte of the file."""


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """Return the single byte range that `header` requests, or None to send the whole file.

    Raises RangeNotSatisfiable when the range starts past the end of the file.
    """
    if header is None:
        return None
    match = _RANGE_PATTERN.match(header.replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable
    return ByteRange(start, min(end, size - 1))


def _etag(job_id: str, name: str, size: int) -> str:
    # A completed job's files never change, so id, name and size identify the content.
    return f'"{job_id}-{name}-{size}"'


async def _artifact_size(backend: Backend, request: Request, job_id: str, name: str) -> int:
    reply = await backend.unary(
        backend.require_stub().GetJob, ragnarok_pb2.GetJobRequest(job_id=job_id), request,
        RpcErrorContext(job_id=job_id),
    )
    job = reply.job
    artifact_key = ragnarok_pb2.Artifact.Name(DOWNLOADS[name].artifact)
    if job.status != ragnarok_pb2.JOB_STATUS_COMPLETED:
        raise ApiError(404, f"File not found: {name} of job {job_id}, which is {status_name(job.status)}; "
                       "files exist once the job completes")
    if artifact_key not in job.result.artifact_sizes:
        raise ApiError(404, f"File not found: job {job_id} produced no {name}")
    return int(job.result.artifact_sizes[artifact_key])


async def _open_stream(
    backend: Backend, request: Request, job_id: str, download: Download, byte_range: ByteRange
) -> AsyncIterator[bytes]:
    """Start ReadArtifact and wait for its first chunk, so a failure still becomes a clean error response."""
    call = backend.require_stub().ReadArtifact(
        ragnarok_pb2.ReadArtifactRequest(
            job_id=job_id, artifact=download.artifact, offset=byte_range.start, limit=byte_range.length,
        ),
        metadata=backend.call_metadata(request),
    )
    try:
        first = await call.read()
    except grpc.aio.AioRpcError as error:
        raise api_error_from_rpc(error, RpcErrorContext(job_id=job_id)) from None
    if first is grpc.aio.EOF:
        raise ApiError(502, f"Job service sent no data for the {ragnarok_pb2.Artifact.Name(download.artifact)} "
                       f"of job {job_id}")

    async def chunks() -> AsyncIterator[bytes]:
        sent = 0
        try:
            message = first
            while message is not grpc.aio.EOF:
                sent += len(message.data)
                yield message.data
                message = await call.read()
        finally:
            call.cancel()
        if sent != byte_range.length:
            # The headers already promised Content-Length, so only a broken connection can signal the truncation.
            raise RuntimeError(f"ReadArtifact for job {job_id} sent {sent} bytes, expected {byte_range.length}")

    return chunks()


async def serve_download(request: Request, job_id: str, name: str) -> Response:
    """Serve GET or HEAD for one of a job's files, with single-range support."""
    checked_job_id(job_id)
    backend = backend_of(request)
    download = DOWNLOADS[name]
    size = await _artifact_size(backend, request, job_id, name)
    etag = _etag(job_id, name, size)
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Cache-Control": "private, max-age=3600",
        "Content-Disposition": f'inline; filename="{job_id}{download.extension}"',
    }

    range_header = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range != etag:
        range_header = None
    try:
        byte_range = parse_range(range_header, size)
    except RangeNotSatisfiable:
        return JsonResponse(
            {"detail": f"Range not satisfiable: {range_header!r} starts past the end of the {size}-byte file"},
            status_code=416,
            headers={**headers, "Content-Range": f"bytes */{size}"},
        )

    status_code = 200
    if byte_range is None:
        byte_range = ByteRange(0, size - 1)
    else:
        status_code = 206
        headers["Content-Range"] = f"bytes {byte_range.start}-{byte_range.end}/{size}"
    headers["Content-Length"] = str(byte_range.length)

    if request.method == "HEAD" or byte_range.length == 0:
        return Response(status_code=status_code, headers=headers, media_type=download.media_type)
    body = await _open_stream(backend, request, job_id, download, byte_range)
    return StreamingResponse(body, status_code=status_code, headers=headers, media_type=download.media_type)


def _add_download_route(name: str, download: Download, summary: str) -> None:
    async def endpoint(job_id: str, request: Request) -> Response:
        return await serve_download(request, job_id, name)

    media_type = download.media_type.split(";")[0]
    description = (
        f"Streams the {media_type} file of a completed job. Supports a single byte range "
        "(Range: bytes=start-end, start- or -suffix) with 206 and Content-Range; a range past the "
        "end gets 416. HEAD returns the same headers without the body."
    )
    responses: dict[int | str, dict[str, Any]] = {
        200: {"content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
              "description": "The whole file."},
        206: {"description": "The requested byte range."},
        416: {"model": ErrorOut,
              "description": "The range starts past the end of the file; Content-Range gives the size."},
        **NOT_FOUND,
        **SERVICE_ERRORS,
    }
    operation = name.replace(".", "_")
    for method in ("GET", "HEAD"):
        router.add_api_route(
            f"/jobs/{{job_id}}/{name}",
            endpoint,
            methods=[method],
            name=f"download_{operation}",
            operation_id=f"{method.lower()}_{operation}",
            summary=summary if method == "GET" else f"{summary}: headers only",
            description=description,
            response_class=Response,
            responses=responses,
        )


_add_download_route("video", DOWNLOADS["video"], "Download the video (MP4)")
_add_download_route("thumbnail", DOWNLOADS["thumbnail"], "Download the thumbnail (JPEG)")
_add_download_route("captions.srt", DOWNLOADS["captions.srt"], "Download the captions (SubRip)")
_add_download_route("captions.vtt", DOWNLOADS["captions.vtt"], "Download the captions (WebVTT)")


def _artifact_names() -> dict[str, str]:
    """Map each accepted {artifact} value to its name in DOWNLOADS.

    Accepted are the Artifact enum's value names, as gRPC-JSON transcoding reads
    an enum path parameter ("ARTIFACT_CAPTIONS_SRT"), their lowercase form
    without the prefix ("captions_srt"), and the download route's name
    ("captions.srt"). Names are case-sensitive. Numeric values such as "1",
    which the proto3 JSON mapping also accepts for enums, are rejected.
    """
    enum_names = {ragnarok_pb2.Artifact.Name(download.artifact): name for name, download in DOWNLOADS.items()}
    short_names = {enum_name.removeprefix(_ARTIFACT_PREFIX).lower(): name for enum_name, name in enum_names.items()}
    route_names = {name: name for name in DOWNLOADS}
    return {**enum_names, **short_names, **route_names}


ARTIFACT_NAMES: dict[str, str] = _artifact_names()


def invalid_artifact(artifact: str) -> ApiError:
    """Build the 422 for an {artifact} value that names no file, listing the accepted values."""
    return ApiError(422, [{
        "loc": ["path", "artifact"],
        "msg": f"Invalid artifact {artifact!r}. Use one of {', '.join(ARTIFACT_NAMES)}",
        "type": "enum",
    }])


def _add_artifact_route() -> None:
    async def endpoint(
        job_id: str,
        artifact: Annotated[str, Path(
            description="The file: an Artifact enum name such as ARTIFACT_VIDEO, its short form such as "
            "video or captions_srt, or a download route's name such as captions.srt.",
            json_schema_extra={"enum": list(ARTIFACT_NAMES)},
        )],
        request: Request,
    ) -> Response:
        name = ARTIFACT_NAMES.get(artifact)
        if name is None:
            raise invalid_artifact(artifact)
        return await serve_download(request, job_id, name)

    description = (
        "The ReadArtifact RPC's REST route: serves the same files as the video, thumbnail, "
        "captions.srt and captions.vtt routes, with the same headers, byte ranges (206 and 416) and errors. "
        "HEAD returns the same headers without the body."
    )
    responses: dict[int | str, dict[str, Any]] = {
        200: {"content": {download.media_type.split(";")[0]: {"schema": {"type": "string", "format": "binary"}}
                          for download in DOWNLOADS.values()},
              "description": "The whole file."},
        206: {"description": "The requested byte range."},
        416: {"model": ErrorOut,
              "description": "The range starts past the end of the file; Content-Range gives the size."},
        422: {"model": ValidationErrorOut,
              "description": "Unknown artifact name; the message lists the accepted names."},
        **NOT_FOUND,
        **SERVICE_ERRORS,
    }
    summary = "Download a file of a completed job by artifact name"
    for method in ("GET", "HEAD"):
        router.add_api_route(
            "/jobs/{job_id}/artifacts/{artifact}",
            endpoint,
            methods=[method],
            name="read_artifact",
            operation_id=f"{method.lower()}_artifact",
            summary=summary if method == "GET" else f"{summary}: headers only",
            description=description,
            response_class=Response,
            responses=responses,
        )


_add_artifact_route()
