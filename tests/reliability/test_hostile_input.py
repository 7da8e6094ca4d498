"""Hostile input over gRPC and HTTP gets a field-level 4xx or INVALID_ARGUMENT, and the server keeps serving."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from ragnarok.v1 import ragnarok_pb2 as pb
from ragnarok.v1 import ragnarok_pb2_grpc as pb_grpc

from tests.reliability.support import bad_fields
from tests.support.jobs import brief, submit, wait_terminal
from tests.support.servers import ServerHandle

API = "/api/nexus/ragnarok"
FIVE_MIB = 5 * 1024 * 1024
PATH_LIKE = ["/etc/passwd", "../../x", "..\\..\\windows\\win.ini", "%2e%2e%2fetc%2fpasswd", "file:///etc/shadow"]


def _raw_http(base_url: str, request_line_path: str) -> tuple[int, bytes]:
    """Send a GET with the path exactly as given (no client-side normalisation); return status and body."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(f"GET {request_line_path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


async def _assert_serving(handle: ServerHandle) -> None:
    async with grpc.aio.insecure_channel(handle.grpc_target) as channel:
        health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        stub = pb_grpc.RagnarokServiceStub(channel)
        assert (await submit(stub)).status == pb.JOB_STATUS_PENDING
    with httpx.Client(base_url=handle.http_base_url, timeout=30) as client:
        assert client.get(f"{API}/jobs", params={"limit": 1}).status_code == 200


# gRPC


async def test_five_mib_brief_is_invalid_argument_naming_brief(server, stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Generate(pb.GenerateRequest(brief="x" * FIVE_MIB))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_fields(caught.value) == ["brief"]
    assert "at most 2000 characters" in caught.value.details()
    await _assert_serving(server)


async def test_message_over_receive_limit_is_resource_exhausted(server, stub) -> None:
    # Above the server's 16 MiB receive limit gRPC itself rejects the message before any
    # handler runs, so the answer names no field.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Generate(pb.GenerateRequest(brief="x" * (17 * 1024 * 1024)))
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in caught.value.details()
    await _assert_serving(server)


@pytest.mark.parametrize(("field", "value"), [
    ("brief", "A coffee shop ad\x00 with a NUL byte"),
    ("industry", "tech\x07bell"),
    ("style", "\x1b[31mred"),
    ("voice_style", "calm\x7f"),
    ("brief", "A coffee shop ad \u0085 with a C1 control"),
])
async def test_control_characters_are_rejected(stub, field: str, value: str) -> None:
    fields = {"brief": brief(), field: value}
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Generate(pb.GenerateRequest(duration_seconds=15, **fields))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_fields(caught.value) == [field]
    assert "control character" in caught.value.details()


def _string_field(number: int, data: bytes) -> bytes:
    return bytes([number << 3 | 2, len(data)]) + data


@pytest.mark.parametrize("field", ["brief", "industry", "platform", "style", "voice_style", "metadata_json",
                                   "request_id"])
async def test_invalid_utf8_names_the_field(server, grpc_channel, field: str) -> None:
    number = pb.GenerateRequest.DESCRIPTOR.fields_by_name[field].number
    valid_brief = b"" if field == "brief" else _string_field(1, brief().encode())
    message = valid_brief + _string_field(number, b"caf\xc3 \xff\xfe latte")
    generate = grpc_channel.unary_unary("/ragnarok.v1.RagnarokService/Generate")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await generate(message)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_fields(caught.value) == [field]
    assert "not valid UTF-8" in caught.value.details()


async def test_corrupt_messages_are_invalid_argument(server, grpc_channel) -> None:
    get_job = grpc_channel.unary_unary("/ragnarok.v1.RagnarokService/GetJob")
    watch_job = grpc_channel.unary_stream("/ragnarok.v1.RagnarokService/WatchJob")
    for method, message, field in (
        (get_job, _string_field(1, b"job_\xff"), "job_id"),
        (get_job, b"\x0a\xff\xff\xff\xff", "request"),
        (get_job, b"\x0f", "request"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await method(message)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert bad_fields(caught.value) == [field]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in watch_job(_string_field(1, b"\xc0\xaf")):
            pass
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_fields(caught.value) == ["job_id"]
    await _assert_serving(server)


@pytest.mark.parametrize("metadata_json", [
    json.dumps({"blob": "x" * 20_000}),
    "[" * 10_000 + "]" * 10_000,
    '{"a": ' * 10_000 + "1" + "}" * 10_000,
    '{"a": 1',
    '"just a string"',
])
async def test_bad_metadata_names_metadata_json(stub, metadata_json: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Generate(pb.GenerateRequest(brief=brief(), duration_seconds=15, metadata_json=metadata_json))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_fields(caught.value) == ["metadata_json"]


async def test_path_like_values_are_plain_text(server, stub, tmp_path: Path) -> None:
    metadata = json.dumps({"file": "/etc/passwd", "dir": "../../x"})
    job = await submit(stub, "/etc/passwd ../../x", industry="../../x", style="/etc/passwd",
                       voice_style="..\\..\\windows\\win.ini", metadata_json=metadata)
    final = await wait_terminal(stub, job.job_id)
    assert final.status == pb.JOB_STATUS_COMPLETED, final.error
    assert final.industry == "../../x"
    assert final.style == "/etc/passwd"
    assert final.voice_style == "..\\..\\windows\\win.ini"
    assert json.loads(final.metadata_json) == json.loads(metadata)
    # The job wrote only inside its own directory; nothing named after the values appeared.
    data_dir = server.data_dir
    assert sorted(path.name for path in data_dir.iterdir() if not path.name.startswith("ragnarok.sqlite3")) == ["jobs"]
    assert not (data_dir.parent / "x").exists()
    assert not (data_dir / "x").exists()

    for field in ("platform", "request_id"):
        for value in PATH_LIKE:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.Generate(pb.GenerateRequest(brief=brief(), duration_seconds=15, **{field: value}))
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert bad_fields(caught.value) == [field]
    for value in PATH_LIKE:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetJob(pb.GetJobRequest(job_id=value))
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert bad_fields(caught.value) == ["job_id"]


# HTTP


def _post_generate(server: ServerHandle, content: bytes | str, **headers: str) -> httpx.Response:
    with httpx.Client(base_url=server.http_base_url, timeout=60) as client:
        return client.post(f"{API}/generate", content=content, headers={"content-type": "application/json", **headers})


def _single_location(response: httpx.Response) -> list[str | int]:
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert len(detail) == 1, detail
    assert set(detail[0]) == {"loc", "msg", "type"}
    return list(detail[0]["loc"])


async def test_http_five_mib_brief_is_413(server) -> None:
    response = _post_generate(server, json.dumps({"brief": "x" * FIVE_MIB}))
    assert response.status_code == 413
    assert set(response.json()) == {"detail"}
    assert "Request body too large" in response.json()["detail"]
    await _assert_serving(server)


@pytest.mark.parametrize(("content", "location"), [
    (b'{"brief": "A coffee \xff\xfe shop advert"}', ["body"]),
    ("[" * 10_000 + "]" * 10_000, ["body"]),
    ('{"brief": "A coffee shop advert", "metadata": ' + '{"a": ' * 10_000 + "1" + "}" * 10_001, ["body"]),
    ('{"brief": "A coffee shop advert", "metadata": ' + '{"a": ' * 300 + "1" + "}" * 301, ["body", "metadata"]),
    (json.dumps({"brief": "A coffee shop advert", "metadata": {"blob": "x" * 500_000}}), ["body", "metadata"]),
    (json.dumps({"brief": "A coffee shop \u0000 advert"}), ["body", "brief"]),
    (json.dumps({"brief": 12345}), ["body", "brief"]),
    (json.dumps({"brief": "A coffee shop advert", "duration_seconds": "thirty"}), ["body", "duration_seconds"]),
    (json.dumps({"brief": "A coffee shop advert", "metadata": ["not", "an", "object"]}), ["body", "metadata"]),
    (json.dumps({"brief": "A coffee shop advert", "platform": "../../etc/passwd"}), ["body", "platform"]),
])
async def test_http_hostile_bodies_are_422_naming_location(server, content: bytes | str, location: list) -> None:
    assert _single_location(_post_generate(server, content)) == location
    await _assert_serving(server)


def test_http_path_like_idempotency_key_is_422(server) -> None:
    response = _post_generate(server, json.dumps({"brief": brief()}), **{"Idempotency-Key": "../../x"})
    assert _single_location(response) == ["header", "idempotency-key"]


def test_http_unknown_fields_are_ignored(server) -> None:
    # The service this one replaces ignored unknown members, and its clients may send them.
    response = _post_generate(server, json.dumps({"brief": brief(), "duration_seconds": 15, "admin": True,
                                                  "__proto__": {"x": 1}}))
    assert response.status_code == 200, response.text
    assert "admin" not in response.json()


async def test_download_traversal_never_leaves_job_directory(server, stub) -> None:
    done = await wait_terminal(stub, (await submit(stub)).job_id)
    secret = server.data_dir / "secret.txt"
    secret.write_text("top secret outside any job")
    job_id = done.job_id
    attempts = [
        f"{API}/jobs/{job_id}/../../../../etc/passwd",
        f"{API}/jobs/{job_id}/%2e%2e/%2e%2e/secret.txt",
        f"{API}/jobs/{job_id}/%2e%2e%2f%2e%2e%2fsecret.txt",
        f"{API}/jobs/{job_id}/..%2f..%2fsecret.txt",
        f"{API}/jobs/{job_id}/%252e%252e%252fsecret.txt",
        f"{API}/jobs/{job_id}/video%2f..%2f..%2f..%2fsecret.txt",
        f"{API}/jobs/{job_id}/video/../../../secret.txt",
        f"{API}/jobs/%2e%2e/video",
        f"{API}/jobs/..%2f{job_id}/video",
        f"{API}/jobs/job_%2e%2e%2f%2e%2e%2f/video",
        f"{API}/jobs/{job_id}%00/video",
        f"{API}/jobs/{job_id}/ragnarok.sqlite3",
        f"{API}/jobs/{job_id}/output/commercial.mp4",
    ]
    try:
        for path in attempts:
            status, body = _raw_http(server.http_base_url, path)
            assert status in (400, 404, 422), (path, status)
            assert b"top secret" not in body, path
            assert b"root:" not in body, path
            assert b"SQLite format" not in body, path
    finally:
        secret.unlink()
    status, body = _raw_http(server.http_base_url, f"{API}/jobs/{job_id}/video")
    assert status == 200
    assert len(body) == done.result.artifact_sizes["ARTIFACT_VIDEO"]
    await _assert_serving(server)
