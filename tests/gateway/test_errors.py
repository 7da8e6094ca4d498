"""gRPC status to HTTP mapping: real servers for the codes they produce, a table for the rest."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from gateway.errors import GENERATE_FIELDS, RpcErrorContext, api_error_from_rpc
from tests.gateway.conftest import GatewayFactory, GatewayHandle
from tests.gateway.helpers import API, UNKNOWN_JOB_ID, completed_job, submit, wait_for_status
from tests.support.servers import ServerHandle

API_KEY = "test-key-0123456789"
OTHER_API_KEY = "other-key-9876543210"
MISSING_KEY = "Missing API key: send it in the x-api-key metadata or as 'authorization: Bearer <key>'"


def _rpc_error(code: grpc.StatusCode, message: str, *details: Any) -> grpc.aio.AioRpcError:
    trailing: tuple[tuple[str, str | bytes], ...] = ()
    if details:
        packed = []
        for detail in details:
            item = any_pb2.Any()
            item.Pack(detail)
            packed.append(item)
        status = status_pb2.Status(code=code.value[0], message=message, details=packed)
        trailing = (("grpc-status-details-bin", status.SerializeToString()),)
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(*trailing), details=message)


@pytest.mark.parametrize(
    ("error", "status_code", "detail", "headers"),
    [
        pytest.param(_rpc_error(grpc.StatusCode.NOT_FOUND, "no such job"), 404, f"Job not found: {UNKNOWN_JOB_ID}",
                     {}, id="not-found"),
        pytest.param(_rpc_error(grpc.StatusCode.FAILED_PRECONDITION, "job is done"), 400, "job is done", {},
                     id="failed-precondition"),
        pytest.param(_rpc_error(grpc.StatusCode.RESOURCE_EXHAUSTED, "queue full"), 429, "queue full",
                     {"Retry-After": "5"}, id="resource-exhausted"),
        pytest.param(_rpc_error(grpc.StatusCode.RESOURCE_EXHAUSTED, "queue full",
                                error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=2, nanos=1))),
                     429, "queue full", {"Retry-After": "3"}, id="resource-exhausted-retry-info"),
        pytest.param(_rpc_error(grpc.StatusCode.UNAUTHENTICATED, "Invalid API key"), 401, "Invalid API key",
                     {"WWW-Authenticate": 'Bearer realm="ragnarok"'}, id="unauthenticated"),
        pytest.param(_rpc_error(grpc.StatusCode.PERMISSION_DENIED, "not yours"), 403, "not yours", {},
                     id="permission-denied"),
        pytest.param(_rpc_error(grpc.StatusCode.UNAVAILABLE, "connection refused"), 503,
                     "Job service unavailable; retry shortly", {}, id="unavailable"),
        pytest.param(_rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline"), 504,
                     "Job service timed out; retry shortly", {}, id="deadline-exceeded"),
        pytest.param(_rpc_error(grpc.StatusCode.INTERNAL, "boom"), 502, "Job service failed (INTERNAL): boom", {},
                     id="internal"),
        pytest.param(_rpc_error(grpc.StatusCode.UNKNOWN, ""), 502, "Job service failed (UNKNOWN)", {}, id="unknown"),
        pytest.param(_rpc_error(grpc.StatusCode.INVALID_ARGUMENT, "bad request"), 422,
                     [{"loc": ["body"], "msg": "bad request", "type": "value_error"}], {},
                     id="invalid-argument-without-details"),
        pytest.param(_rpc_error(grpc.StatusCode.INVALID_ARGUMENT, "bad request", error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field="metadata_json", description="too deep",
                                                            reason="value_error"),
                error_details_pb2.BadRequest.FieldViolation(field="colour", description="unknown", reason=""),
            ])), 422,
            [{"loc": ["body", "metadata"], "msg": "too deep", "type": "value_error"},
             {"loc": ["body", "colour"], "msg": "unknown", "type": "value_error"}], {},
            id="invalid-argument-with-violations"),
    ],
)
def test_rpc_error_maps_to_http(error: grpc.aio.AioRpcError, status_code: int, detail: Any,
                                headers: dict[str, str]) -> None:
    mapped = api_error_from_rpc(error, RpcErrorContext(job_id=UNKNOWN_JOB_ID, field_locations=GENERATE_FIELDS))

    assert mapped.status_code == status_code
    assert mapped.detail == detail
    assert mapped.headers == headers


def test_unreachable_service_returns_503(gateway_factory: GatewayFactory) -> None:
    # Port 9 (discard) is not served on the test machine's loopback.
    gateway = gateway_factory("127.0.0.1:9")
    with gateway.client() as client:
        response = client.get(f"{API}/jobs/{UNKNOWN_JOB_ID}")

    assert response.status_code == 503
    assert response.json() == {"detail": "Job service unavailable; retry shortly"}


def test_slow_service_returns_504(server: ServerHandle, gateway_factory: GatewayFactory) -> None:
    gateway = gateway_factory(server.grpc_target, rpc_timeout_seconds=1e-6)
    with gateway.client() as client:
        response = client.get(f"{API}/jobs/{UNKNOWN_JOB_ID}")

    assert response.status_code == 504
    assert response.json() == {"detail": "Job service timed out; retry shortly"}


def test_full_queue_returns_429(server_factory: Any, gateway_factory: GatewayFactory) -> None:
    limited: ServerHandle = server_factory(extra_args=["--workers", "1"], env={"RAGNAROK_MAX_QUEUED_JOBS": "1"})
    gateway = gateway_factory(limited.grpc_target)
    with gateway.client() as client:
        running = submit(client, "An ad that never finishes #hang")
        wait_for_status(client, running["job_id"], {"running"})
        submit(client, "An ad that waits in the queue")

        response = client.post(f"{API}/generate", json={"brief": "One ad too many for the queue"})

    assert response.status_code == 429
    assert response.headers["retry-after"] == "5"
    assert response.json()["detail"]


class TestApiKeys:
    @pytest.fixture
    def secured(self, server_factory: Any) -> ServerHandle:
        handle: ServerHandle = server_factory(env={"RAGNAROK_API_KEYS": f"{API_KEY},{OTHER_API_KEY}"})
        return handle

    @pytest.fixture
    def gateway(self, secured: ServerHandle, gateway_factory: GatewayFactory) -> GatewayHandle:
        return gateway_factory(secured.grpc_target)

    def test_missing_key_returns_401(self, gateway: GatewayHandle) -> None:
        with gateway.client() as client:
            response = client.get(f"{API}/jobs")

        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer realm="ragnarok"'
        assert response.json() == {"detail": MISSING_KEY}

    def test_wrong_key_returns_401(self, gateway: GatewayHandle) -> None:
        with gateway.client() as client:
            response = client.get(f"{API}/jobs", headers={"Authorization": "Bearer wrong"})

        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid API key"}

    @pytest.mark.parametrize("headers", [{"Authorization": f"Bearer {API_KEY}"}, {"X-API-Key": API_KEY}])
    def test_forwarded_key_is_accepted(self, gateway: GatewayHandle, headers: dict[str, str]) -> None:
        with gateway.client(headers=headers) as client:
            created = client.post(f"{API}/generate", json={"brief": "A short ad for a locksmith"})
            listed = client.get(f"{API}/jobs")

        assert created.status_code == 200, created.text
        assert listed.status_code == 200, listed.text

    def test_key_is_not_forwarded_without_passthrough(
        self, secured: ServerHandle, gateway_factory: GatewayFactory
    ) -> None:
        gateway = gateway_factory(secured.grpc_target, api_key_passthrough=False)
        with gateway.client() as client:
            response = client.get(f"{API}/jobs", headers={"Authorization": f"Bearer {API_KEY}"})

        assert response.status_code == 401

    def test_event_stream_needs_key(self, gateway: GatewayHandle) -> None:
        with gateway.client() as client:
            response = client.get(f"{API}/jobs/{UNKNOWN_JOB_ID}/events")

        assert response.status_code == 401
        assert response.json() == {"detail": MISSING_KEY}

    @pytest.mark.parametrize("path", ["video", "artifacts/ARTIFACT_VIDEO", "artifacts/video"])
    def test_download_is_visible_only_to_owner(self, gateway: GatewayHandle, path: str) -> None:
        with gateway.client(headers={"X-API-Key": API_KEY}) as owner:
            job = completed_job(owner)
            url = f"{API}/jobs/{job['job_id']}/{path}"
            owned = owner.get(url)
        with gateway.client(headers={"X-API-Key": OTHER_API_KEY}) as other:
            foreign = other.get(url)
        with gateway.client() as anonymous:
            missing = anonymous.get(url)

        assert owned.status_code == 200, owned.text
        assert owned.headers["content-type"] == "video/mp4"
        assert owned.content[4:8] == b"ftyp"
        assert foreign.status_code == 404
        assert foreign.json() == {"detail": f"Job not found: {job['job_id']}"}
        assert missing.status_code == 401
        assert missing.json() == {"detail": MISSING_KEY}


def test_invalid_argument_code_constant_matches_grpc() -> None:
    assert grpc.StatusCode.INVALID_ARGUMENT.value[0] == code_pb2.INVALID_ARGUMENT
