"""The one place that turns gRPC errors and validation failures into HTTP responses.

Every error body is {"detail": ...}: a string, or for HTTP 422 a list of
{"loc", "msg", "type"} items in FastAPI's shape. The gRPC status mapping:

    INVALID_ARGUMENT     422, one item per google.rpc.BadRequest field violation
    NOT_FOUND            404
    FAILED_PRECONDITION  400
    RESOURCE_EXHAUSTED   429 with Retry-After
    UNAUTHENTICATED      401 with WWW-Authenticate
    PERMISSION_DENIED    403
    UNAVAILABLE          503
    DEADLINE_EXCEEDED    504
    anything else        502
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from gateway.responses import JsonResponse

logger = logging.getLogger(__name__)

Loc = tuple[str | int, ...]

# Seconds a client should wait after RESOURCE_EXHAUSTED when the server sends no RetryInfo.
DEFAULT_RETRY_AFTER_SECONDS = 5

# FastAPI `loc` of each Generate request field in the HTTP request.
GENERATE_FIELDS: Mapping[str, Loc] = {
    "brief": ("body", "brief"),
    "industry": ("body", "industry"),
    "duration_seconds": ("body", "duration_seconds"),
    "platform": ("body", "platform"),
    "style": ("body", "style"),
    "voice_style": ("body", "voice_style"),
    "metadata_json": ("body", "metadata"),
    "seed": ("body", "seed"),
    "request_id": ("header", "idempotency-key"),
}

# How HTTP clients name the Generate request fields that are not body fields. The
# job service's messages use the gRPC field name, which an HTTP client never sends.
GENERATE_FIELD_LABELS: Mapping[str, str] = {
    "request_id": "Idempotency-Key",
}


class ApiError(Exception):
    """An HTTP error response: status code, {"detail": detail} body and extra headers."""

    def __init__(self, status_code: int, detail: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.headers = dict(headers or {})


def job_not_found(job_id: str) -> ApiError:
    return ApiError(404, f"Job not found: {job_id}")


@dataclass(frozen=True)
class RpcErrorContext:
    """Details of one call, used to word its HTTP errors.

    `field_locations` maps a BadRequest field name to its FastAPI `loc`;
    unknown fields go under `default_location`. `field_labels` maps a field
    name to the name an HTTP client uses for it, such as a header, and replaces
    that field name in the violation's message.
    """

    job_id: str | None = None
    field_locations: Mapping[str, Loc] = field(default_factory=dict)
    default_location: Loc = ("body",)
    field_labels: Mapping[str, str] = field(default_factory=dict)


def status_details(error: grpc.aio.AioRpcError) -> status_pb2.Status | None:
    """Return the google.rpc.Status carried in the error's trailing metadata, if any."""
    for key, value in error.trailing_metadata() or ():
        if key == rpc_status.GRPC_DETAILS_METADATA_KEY and isinstance(value, bytes):
            try:
                return status_pb2.Status.FromString(value)
            except Exception:  # noqa: BLE001 - malformed details are ignored, the status code still applies
                logger.warning("Ignoring unreadable %s trailer", rpc_status.GRPC_DETAILS_METADATA_KEY)
                return None
    return None


def _unpack(status: status_pb2.Status | None, message_type: type[Any]) -> Any | None:
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(message_type.DESCRIPTOR):
            unpacked = message_type()
            detail.Unpack(unpacked)
            return unpacked
    return None


def error_info_metadata(error: grpc.aio.AioRpcError) -> dict[str, str]:
    """Return the metadata of the error's google.rpc.ErrorInfo detail, or {} without one."""
    info = _unpack(status_details(error), error_details_pb2.ErrorInfo)
    return dict(info.metadata) if info is not None else {}


def _error_reason(error: grpc.aio.AioRpcError) -> str:
    info = _unpack(status_details(error), error_details_pb2.ErrorInfo)
    return info.reason if info is not None else ""


def validation_items(error: grpc.aio.AioRpcError, context: RpcErrorContext) -> list[dict[str, Any]]:
    """Translate INVALID_ARGUMENT into FastAPI's 422 items, one per field violation."""
    bad_request = _unpack(status_details(error), error_details_pb2.BadRequest)
    if bad_request is None or not bad_request.field_violations:
        return [{"loc": list(context.default_location), "msg": error.details() or "Invalid request",
                 "type": "value_error"}]
    items = []
    for violation in bad_request.field_violations:
        loc = context.field_locations.get(violation.field, (*context.default_location, violation.field))
        items.append({
            "loc": list(loc),
            "msg": _relabel(violation.description, violation.field, context.field_labels),
            "type": violation.reason.lower() if violation.reason else "value_error",
        })
    return items


def _relabel(message: str, field_name: str, labels: Mapping[str, str]) -> str:
    """Replace the gRPC field name in `message` with the name the HTTP client uses, if it has another."""
    label = labels.get(field_name)
    if label is None:
        return message
    return re.sub(rf"\b{re.escape(field_name)}\b", label, message)


def _retry_after_seconds(error: grpc.aio.AioRpcError) -> int:
    retry_info = _unpack(status_details(error), error_details_pb2.RetryInfo)
    if retry_info is None or not retry_info.HasField("retry_delay"):
        return DEFAULT_RETRY_AFTER_SECONDS
    delay = retry_info.retry_delay
    return max(1, math.ceil(int(delay.seconds) + int(delay.nanos) / 1e9))


def api_error_from_rpc(error: grpc.aio.AioRpcError, context: RpcErrorContext) -> ApiError:
    """Map a failed gRPC call to the HTTP error the client receives."""
    code = error.code()
    message = error.details() or ""
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return ApiError(422, validation_items(error, context))
    if code == grpc.StatusCode.NOT_FOUND:
        if context.job_id and _error_reason(error) != "ARTIFACT_NOT_FOUND":
            return job_not_found(context.job_id)
        return ApiError(404, message or "Not found")
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        return ApiError(400, message)
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return ApiError(429, message or "Too many requests; retry later",
                        {"Retry-After": str(_retry_after_seconds(error))})
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return ApiError(401, message or "Authentication required",
                        {"WWW-Authenticate": 'Bearer realm="ragnarok"'})
    if code == grpc.StatusCode.PERMISSION_DENIED:
        return ApiError(403, message or "Permission denied")
    if code == grpc.StatusCode.UNAVAILABLE:
        logger.warning("Job service unavailable: %s", message)
        return ApiError(503, "Job service unavailable; retry shortly")
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        logger.warning("Job service call timed out: %s", message)
        return ApiError(504, "Job service timed out; retry shortly")
    logger.error("Job service call failed with %s: %s", code.name, message)
    return ApiError(502, f"Job service failed ({code.name}): {message}" if message else
                    f"Job service failed ({code.name})")


def _validation_item(error: Mapping[str, Any]) -> dict[str, Any]:
    # FastAPI also sends "input" and "ctx"; the contract's shape is loc, msg and type only,
    # and echoing "input" would send an oversized brief straight back.
    return {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}


def validation_error_response(errors: Sequence[Mapping[str, Any]]) -> JsonResponse:
    return JsonResponse({"detail": [_validation_item(error) for error in errors]}, status_code=422)


async def _handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JsonResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return validation_error_response(exc.errors())


def _unparsable_body_items(exc: StarletteHTTPException) -> list[dict[str, Any]] | None:
    """Name the cause when FastAPI's JSON parsing of the body failed with something other than bad syntax.

    FastAPI turns a JSONDecodeError into a 422 itself, but responds to any other parse
    failure (invalid UTF-8, nesting too deep for the parser) with a bare 400.
    """
    cause = exc.__cause__
    if exc.status_code != 400 or cause is None:
        return None
    if isinstance(cause, UnicodeDecodeError):
        message = (f"the request body is not valid UTF-8 (invalid byte at offset {cause.start}); "
                   "send the JSON encoded as UTF-8")
    elif isinstance(cause, RecursionError):
        message = ("the request body nests JSON arrays or objects too deeply to parse; "
                   "metadata may nest at most 8 levels")
    else:
        return None
    return [{"loc": ["body"], "msg": message, "type": "json_invalid"}]


async def _handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    unparsable = _unparsable_body_items(exc)
    if unparsable is not None:
        return JsonResponse({"detail": unparsable}, status_code=422)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return JsonResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that render every error as {"detail": ...}."""
    app.add_exception_handler(ApiError, _handle_api_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)
