"""Generate and the id-taking RPCs reject bad input with INVALID_ARGUMENT and BadRequest details."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from ragnarok.v1 import ragnarok_pb2 as pb

VALID = {"brief": "A bold commercial for a neighbourhood coffee shop", "duration_seconds": 30}


def _request(**changes: object) -> pb.GenerateRequest:
    fields = {**VALID, **changes}
    return pb.GenerateRequest(**{key: value for key, value in fields.items() if value is not None})  # type: ignore[arg-type]


async def _violations(call: object) -> list[error_details_pb2.BadRequest.FieldViolation]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(caught.value)
    assert status is not None, "INVALID_ARGUMENT carried no google.rpc.Status details"
    violations = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            violations.extend(bad_request.field_violations)
    assert violations, "no BadRequest field violations in the status details"
    return violations


async def drain_call(call: object) -> None:
    """Read a streaming call to its end, so a stream's error surfaces like a unary call's."""
    async for _ in call:  # type: ignore[attr-defined]
        pass


GENERATE_CASES = [
    ("brief", {"brief": None}, "missing"),
    ("brief", {"brief": "   \n  "}, "missing"),
    ("brief", {"brief": "too short"}, "string_too_short"),
    ("brief", {"brief": "x" * 2001}, "string_too_long"),
    ("brief", {"brief": "x" * (5 * 1024 * 1024)}, "string_too_long"),
    ("brief", {"brief": "A coffee shop commercial\x00 with a NUL"}, "string_pattern_mismatch"),
    ("industry", {"industry": "i" * 65}, "string_too_long"),
    ("industry", {"industry": "coffee\x07"}, "string_pattern_mismatch"),
    ("duration_seconds", {"duration_seconds": 14}, "greater_than_equal"),
    ("duration_seconds", {"duration_seconds": -5}, "greater_than_equal"),
    ("duration_seconds", {"duration_seconds": 121}, "less_than_equal"),
    ("platform", {"platform": "vhs"}, "literal_error"),
    ("style", {"style": "s" * 65}, "string_too_long"),
    ("voice_style", {"voice_style": "v" * 65}, "string_too_long"),
    ("metadata_json", {"metadata_json": "{not json"}, "json_invalid"),
    ("metadata_json", {"metadata_json": "[1, 2]"}, "dict_type"),
    ("metadata_json", {"metadata_json": '{"a": "' + "x" * 16384 + '"}'}, "string_too_long"),
    ("metadata_json", {"metadata_json": '{"a":' * 9 + "1" + "}" * 9}, "value_error"),
    ("request_id", {"request_id": "has spaces"}, "string_pattern_mismatch"),
    ("request_id", {"request_id": "r" * 129}, "string_too_long"),
]


@pytest.mark.parametrize(("field", "changes", "reason"), GENERATE_CASES)
async def test_generate_rejects_bad_field(stub, field: str, changes: dict[str, object], reason: str) -> None:
    violations = await _violations(stub.Generate(_request(**changes)))
    assert [item.field for item in violations] == [field]
    assert violations[0].reason == reason
    assert field in violations[0].description


async def test_generate_reports_every_bad_field(stub) -> None:
    violations = await _violations(stub.Generate(_request(brief="short", duration_seconds=500, platform="vhs")))
    assert {item.field for item in violations} == {"brief", "duration_seconds", "platform"}


@pytest.mark.parametrize(
    "changes",
    [
        {"duration_seconds": 15},
        {"duration_seconds": 120},
        {"brief": "x" * 10},
        {"brief": "x" * 2000},
        {"platform": "tiktok", "style": "cyberpunk", "voice_style": "warm", "industry": "fitness"},
        {"metadata_json": '{"a":' * 8 + "1" + "}" * 8},
        {"seed": 4294967295},
    ],
)
async def test_generate_accepts_boundary_values(stub, changes: dict[str, object]) -> None:
    job = (await stub.Generate(_request(**changes))).job
    assert job.status == pb.JOB_STATUS_PENDING
    assert job.job_id.startswith("job_")


async def test_generate_applies_defaults(stub) -> None:
    job = (await stub.Generate(pb.GenerateRequest(brief="  A commercial for a bakery  "))).job
    assert job.brief == "A commercial for a bakery"
    assert job.industry == "technology"
    assert job.platform == "youtube_1080p"
    assert job.duration_seconds == 30
    assert not job.HasField("style")
    assert not job.HasField("voice_style")


@pytest.mark.parametrize(
    ("job_id", "reason"),
    [("", "missing"), ("job_123", "string_pattern_mismatch"), ("job_ABCDEF123456", "string_pattern_mismatch"),
     ("../../etc/passwd", "string_pattern_mismatch")],
)
@pytest.mark.parametrize("method", ["GetJob", "CancelJob", "WatchJob", "ReadArtifact"])
async def test_malformed_job_id_is_invalid_argument(stub, method: str, job_id: str, reason: str) -> None:
    request_type = getattr(pb, f"{method}Request")
    extra = {"artifact": pb.ARTIFACT_VIDEO} if method == "ReadArtifact" else {}
    call = getattr(stub, method)(request_type(job_id=job_id, **extra))
    streaming = method in ("WatchJob", "ReadArtifact")
    violations = await _violations(drain_call(call) if streaming else call)
    assert [(item.field, item.reason) for item in violations] == [("job_id", reason)]


@pytest.mark.parametrize("method", ["GetJob", "CancelJob"])
async def test_unknown_job_is_not_found(stub, method: str) -> None:
    request_type = getattr(pb, f"{method}Request")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await getattr(stub, method)(request_type(job_id="job_000000000000"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert caught.value.details() == "Job not found: job_000000000000"


async def test_watch_unknown_job_is_not_found(stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in stub.WatchJob(pb.WatchJobRequest(job_id="job_000000000000")):
            pass
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert caught.value.details() == "Job not found: job_000000000000"


async def test_list_jobs_rejects_negative_page_size(stub) -> None:
    violations = await _violations(stub.ListJobs(pb.ListJobsRequest(page_size=-1)))
    assert [(item.field, item.reason) for item in violations] == [("page_size", "greater_than_equal")]


async def test_list_jobs_rejects_forged_page_token(stub) -> None:
    violations = await _violations(stub.ListJobs(pb.ListJobsRequest(page_token="eyJjIjogMX0")))
    assert [item.field for item in violations] == ["page_token"]


async def test_request_id_reused_with_other_request_is_rejected(stub) -> None:
    first = (await stub.Generate(_request(request_id="order-123"))).job
    again = (await stub.Generate(_request(request_id="order-123"))).job
    assert again.job_id == first.job_id
    violations = await _violations(stub.Generate(_request(request_id="order-123", duration_seconds=60)))
    assert [item.field for item in violations] == ["request_id"]
