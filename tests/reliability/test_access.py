"""With API keys, every RPC and REST route needs one, and a job is visible only to the key that made it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from ragnarok.v1 import ragnarok_pb2 as pb
from ragnarok.v1 import ragnarok_pb2_grpc as pb_grpc

import server.auth
from server.auth import ApiKeyInterceptor
from server.settings import SettingsError, load_settings
from tests.support.jobs import brief
from tests.support.servers import REPO_ROOT, server_env

API = "/api/nexus/ragnarok"
OWNER = (("authorization", "Bearer alpha-key"),)
STRANGER = (("authorization", "Bearer beta-key"),)
FROM_ENV = (("x-api-key", "gamma-key"),)


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory):
    from tests.support.servers import running_server

    root = tmp_path_factory.mktemp("keyed")
    keys_file = root / "keys.txt"
    keys_file.write_text("# one key a line\nalpha-key\n\nbeta-key\n")
    env = {"RAGNAROK_API_KEYS_FILE": str(keys_file), "RAGNAROK_API_KEYS": "gamma-key"}
    with running_server(root / "data", env=env) as handle:
        yield handle


@pytest.fixture(scope="module")
def owned_job(keyed) -> pb.Job:
    with grpc.insecure_channel(keyed.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        job = stub.Generate(pb.GenerateRequest(brief=brief(), duration_seconds=15), metadata=OWNER).job
        while job.status not in (pb.JOB_STATUS_COMPLETED, pb.JOB_STATUS_FAILED):
            job = stub.GetJob(pb.GetJobRequest(job_id=job.job_id), metadata=OWNER, timeout=10).job
        assert job.status == pb.JOB_STATUS_COMPLETED, job.error
        return job


def _calls(stub: pb_grpc.RagnarokServiceStub, job_id: str):
    """One call of every RPC, each returning an awaitable that raises or completes."""

    async def read_stream(call) -> None:
        async for _ in call:
            pass

    return {
        "Generate": lambda metadata: stub.Generate(pb.GenerateRequest(brief=brief()), metadata=metadata),
        "GetJob": lambda metadata: stub.GetJob(pb.GetJobRequest(job_id=job_id), metadata=metadata),
        "ListJobs": lambda metadata: stub.ListJobs(pb.ListJobsRequest(), metadata=metadata),
        "CancelJob": lambda metadata: stub.CancelJob(pb.CancelJobRequest(job_id=job_id), metadata=metadata),
        "WatchJob": lambda metadata: read_stream(stub.WatchJob(pb.WatchJobRequest(job_id=job_id), metadata=metadata)),
        "ReadArtifact": lambda metadata: read_stream(stub.ReadArtifact(
            pb.ReadArtifactRequest(job_id=job_id, artifact=pb.ARTIFACT_VIDEO), metadata=metadata)),
    }


@pytest.mark.parametrize("metadata", [(), (("authorization", "Bearer wrong"),), (("x-api-key", "ALPHA-KEY"),),
                                      (("authorization", "alpha-key"),)])
async def test_every_rpc_needs_a_valid_key(keyed, owned_job, metadata) -> None:
    async with grpc.aio.insecure_channel(keyed.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        for name, call in _calls(stub, owned_job.job_id).items():
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await call(metadata)
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED, name
        health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert health.status == health_pb2.HealthCheckResponse.SERVING


async def test_other_key_sees_no_trace_of_job(keyed, owned_job) -> None:
    unknown = "job_000000000000"
    async with grpc.aio.insecure_channel(keyed.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        for name, call in _calls(stub, owned_job.job_id).items():
            if name in ("Generate", "ListJobs"):
                continue
            with pytest.raises(grpc.aio.AioRpcError) as hidden:
                await call(STRANGER)
            with pytest.raises(grpc.aio.AioRpcError) as missing:
                await _calls(stub, unknown)[name](STRANGER)
            assert hidden.value.code() == grpc.StatusCode.NOT_FOUND, name
            # The answer for someone else's job matches the one for a job that never existed.
            assert hidden.value.details().replace(owned_job.job_id, unknown) == missing.value.details(), name
        listed = await stub.ListJobs(pb.ListJobsRequest(), metadata=STRANGER)
        assert owned_job.job_id not in {job.job_id for job in listed.jobs}
        own = await stub.ListJobs(pb.ListJobsRequest(), metadata=OWNER)
        assert owned_job.job_id in {job.job_id for job in own.jobs}
        assert (await stub.GetJob(pb.GetJobRequest(job_id=owned_job.job_id), metadata=OWNER)).job == owned_job
        # A key from the environment works alongside the keys from the file, with its own jobs.
        env_job = (await stub.Generate(pb.GenerateRequest(brief=brief(), duration_seconds=15), metadata=FROM_ENV)).job
        assert (await stub.GetJob(pb.GetJobRequest(job_id=env_job.job_id), metadata=FROM_ENV)).job.job_id == env_job.job_id
        await stub.CancelJob(pb.CancelJobRequest(job_id=env_job.job_id), metadata=FROM_ENV)


async def test_same_request_id_under_two_keys_makes_two_jobs(keyed) -> None:
    async with grpc.aio.insecure_channel(keyed.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        request = pb.GenerateRequest(brief=brief(), duration_seconds=15, request_id="shared-id")
        mine = (await stub.Generate(request, metadata=OWNER)).job
        theirs = (await stub.Generate(request, metadata=STRANGER)).job
        assert mine.job_id != theirs.job_id
        for job, metadata in ((mine, OWNER), (theirs, STRANGER)):
            await wait_terminal_with(stub, job.job_id, metadata)


async def wait_terminal_with(stub, job_id: str, metadata) -> pb.Job:
    deadline = time.monotonic() + 60
    while True:
        job = (await stub.GetJob(pb.GetJobRequest(job_id=job_id), metadata=metadata)).job
        if job.status in (pb.JOB_STATUS_COMPLETED, pb.JOB_STATUS_FAILED, pb.JOB_STATUS_CANCELLED):
            return job
        assert time.monotonic() < deadline, f"job {job_id} did not finish"
        await asyncio.sleep(0.05)


def test_rest_routes_need_key_and_hide_other_jobs(keyed, owned_job) -> None:
    job_id = owned_job.job_id
    routes = [
        ("POST", f"{API}/generate", {"brief": brief(), "duration_seconds": 15}),
        ("GET", f"{API}/jobs/{job_id}", None),
        ("GET", f"{API}/jobs", None),
        ("GET", f"{API}/jobs/{job_id}/events", None),
        ("GET", f"{API}/jobs/{job_id}/video", None),
        ("GET", f"{API}/jobs/{job_id}/captions.srt", None),
        ("DELETE", f"{API}/jobs/{job_id}", None),
    ]
    with httpx.Client(base_url=keyed.http_base_url, timeout=30) as client:
        for method, path, body in routes:
            for headers in ({}, {"Authorization": "Bearer wrong"}):
                response = client.request(method, path, json=body, headers=headers)
                assert response.status_code == 401, (method, path, response.text)
                assert response.headers["www-authenticate"].startswith("Bearer")

        owner = {"Authorization": "Bearer alpha-key"}
        stranger = {"X-API-Key": "beta-key"}
        assert client.get(f"{API}/jobs/{job_id}", headers=owner).json()["status"] == "completed"
        video = client.get(f"{API}/jobs/{job_id}/video", headers=owner)
        assert video.status_code == 200
        assert len(video.content) == owned_job.result.artifact_sizes["ARTIFACT_VIDEO"]
        for path in (f"{API}/jobs/{job_id}", f"{API}/jobs/{job_id}/video", f"{API}/jobs/{job_id}/events"):
            response = client.get(path, headers=stranger)
            assert response.status_code == 404, (path, response.text)
            assert response.json() == {"detail": f"Job not found: {job_id}"}
        cancel = client.delete(f"{API}/jobs/{job_id}", headers=stranger)
        assert cancel.status_code == 404
        listed = client.get(f"{API}/jobs", headers=stranger).json()
        assert job_id not in {job["job_id"] for job in listed["jobs"]}


def test_keys_are_compared_in_constant_time(monkeypatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = server.auth.hmac.compare_digest

    def recording(first: bytes, second: bytes) -> bool:
        compared.append((first, second))
        return real(first, second)

    monkeypatch.setattr(server.auth.hmac, "compare_digest", recording)
    interceptor = ApiKeyInterceptor(["first-key", "second-key"])
    assert interceptor._accepts("first-key")
    assert not interceptor._accepts("first-kez")
    # Every configured key is compared every time, whether or not an earlier one matched.
    assert [pair[1] for pair in compared] == [b"first-key", b"second-key"] * 2


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3"])
def test_exposed_address_without_keys_is_rejected(host: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(grpc_host=host).check_exposure()
    assert "--allow-insecure-no-auth" in str(caught.value)
    load_settings(grpc_host=host, api_keys="k1").check_exposure()
    load_settings(grpc_host=host, allow_insecure_no_auth=True).check_exposure()


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.5"])
def test_loopback_address_needs_no_keys(host: str) -> None:
    load_settings(grpc_host=host).check_exposure()


def test_serve_on_all_interfaces_without_keys_exits_before_binding(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = server_env()
    env.pop("RAGNAROK_API_KEYS", None)
    env.pop("RAGNAROK_API_KEYS_FILE", None)
    result = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--host", "0.0.0.0", "--grpc-port", "0", "--http-port", "0",
         "--data-dir", str(data_dir)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2
    assert "Refusing to listen on '0.0.0.0' without API keys" in result.stderr
    assert "--allow-insecure-no-auth" in result.stderr
    # Nothing was set up: the check runs before the store is created or any port is bound.
    assert not (data_dir / "ragnarok.sqlite3").exists()
    assert "listening" not in result.stderr


def test_unreadable_keys_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(api_keys_file=tmp_path / "missing.txt")
    assert "RAGNAROK_API_KEYS_FILE" in str(caught.value)
    empty = tmp_path / "empty.txt"
    empty.write_text("# no keys yet\n\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(api_keys_file=empty)
    assert "contains no keys" in str(caught.value)
