"""Domain errors and the one place that maps them to gRPC status codes with rich details."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from server.store import (
    InvalidPageToken,
    InvalidTransition,
    JobNotFound,
    QueueFull,
    RequestIdConflict,
    StoreError,
)
from server.validation import FieldViolation, ValidationFailed

logger = logging.getLogger(__name__)

ERROR_DOMAIN = "ragnarok.v1"


class ServiceError(Exception):
    """An error with a status code and a message a caller can act on."""

    def __init__(self, code: grpc.StatusCode, message: str, reason: str, metadata: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.metadata = metadata or {}


class QueueFullRetryLater(ServiceError):
    """RESOURCE_EXHAUSTED for a full queue, with a google.rpc.RetryInfo saying when to try again."""

    def __init__(self, limit: int, retry_after_seconds: float) -> None:
        super().__init__(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"The queue is full ({limit} pending jobs); retry in {retry_after_seconds:g} seconds",
            "QUEUE_FULL", {"limit": str(limit)},
        )
        self.retry_after_seconds = retry_after_seconds


class ArtifactNotFound(ServiceError):
    def __init__(self, job_id: str, artifact: str, why: str) -> None:
        super().__init__(
            grpc.StatusCode.NOT_FOUND, f"Artifact {artifact} not found for job {job_id}: {why}",
            "ARTIFACT_NOT_FOUND", {"jobId": job_id, "artifact": artifact},
        )


def _pack(message: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def _bad_request_status(violations: Sequence[FieldViolation]) -> grpc.Status:
    bad_request = error_details_pb2.BadRequest(field_violations=[
        error_details_pb2.BadRequest.FieldViolation(
            field=item.field, description=item.description, reason=item.reason
        )
        for item in violations
    ])
    fields = ", ".join(dict.fromkeys(item.field for item in violations))
    info = error_details_pb2.ErrorInfo(reason="INVALID_FIELDS", domain=ERROR_DOMAIN, metadata={"fields": fields})
    message = "Invalid request: " + "; ".join(item.description for item in violations)
    status = status_pb2.Status(
        code=code_pb2.INVALID_ARGUMENT, message=message, details=[_pack(bad_request), _pack(info)]
    )
    return rpc_status.to_status(status)


def _simple_status(
    code: grpc.StatusCode, message: str, reason: str, metadata: dict[str, str], extra: Sequence[Message] = ()
) -> grpc.Status:
    info = error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN, metadata=metadata)
    status = status_pb2.Status(
        code=code.value[0], message=message, details=[_pack(info), *(_pack(item) for item in extra)]
    )
    return rpc_status.to_status(status)


def to_grpc_status(error: BaseException) -> grpc.Status:
    """Map any exception raised by a handler to the status the caller receives."""
    if isinstance(error, ValidationFailed):
        return _bad_request_status(error.violations)
    if isinstance(error, QueueFullRetryLater):
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(error.retry_after_seconds * 1e9))
        return _simple_status(error.code, error.message, error.reason, error.metadata,
                              extra=(error_details_pb2.RetryInfo(retry_delay=delay),))
    if isinstance(error, ServiceError):
        return _simple_status(error.code, error.message, error.reason, error.metadata)
    if isinstance(error, JobNotFound):
        return _simple_status(grpc.StatusCode.NOT_FOUND, str(error), "JOB_NOT_FOUND", {"jobId": error.job_id})
    if isinstance(error, InvalidTransition):
        return _simple_status(
            grpc.StatusCode.FAILED_PRECONDITION, str(error), "INVALID_JOB_STATUS",
            {"jobId": error.job_id, "status": error.status.value},
        )
    if isinstance(error, QueueFull):
        return _simple_status(grpc.StatusCode.RESOURCE_EXHAUSTED, str(error), "QUEUE_FULL", {"limit": str(error.limit)})
    if isinstance(error, RequestIdConflict):
        return _bad_request_status([FieldViolation("request_id", str(error), "value_error")])
    if isinstance(error, InvalidPageToken):
        return _bad_request_status([FieldViolation("page_token", str(error), "value_error")])
    if isinstance(error, StoreError):
        logger.error("Unmapped store error: %s", error)
    return _simple_status(grpc.StatusCode.INTERNAL, "Internal server error; the server log has the details",
                          "INTERNAL", {})
