"""Generate's request_id (HTTP Idempotency-Key) returns one job per request, for at least 24 hours."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import grpc
import httpx
import pytest
from ragnarok.v1 import ragnarok_pb2 as pb
from ragnarok.v1 import ragnarok_pb2_grpc as pb_grpc

from server.retention import sweep
from server.settings import SettingsError, load_settings
from server.store import NewJob, SqliteJobStore
from server.store.sqlite import now_us
from tests.reliability.support import bad_fields
from tests.support.jobs import brief, wait_terminal

API = "/api/nexus/ragnarok"
DAY_US = 24 * 3600 * 1_000_000


def _request(request_id: str, text: str = brief()) -> pb.GenerateRequest:
    return pb.GenerateRequest(brief=text, duration_seconds=15, request_id=request_id)


async def test_repeated_request_id_returns_same_job(stub) -> None:
    first = (await stub.Generate(_request("order-1001"))).job
    again = (await stub.Generate(_request("order-1001"))).job
    assert again.job_id == first.job_id
    assert again.create_time == first.create_time


async def test_request_id_with_other_body_names_request_id(stub) -> None:
    await stub.Generate(_request("order-1002"))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Generate(_request("order-1002", brief("#warn")))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_fields(caught.value) == ["request_id"]
    assert "order-1002" in caught.value.details()


def test_idempotency_key_over_http(server) -> None:
    body = {"brief": brief(), "duration_seconds": 15}
    with httpx.Client(base_url=server.http_base_url, timeout=30) as client:
        first = client.post(f"{API}/generate", json=body, headers={"Idempotency-Key": "http-order-7"})
        again = client.post(f"{API}/generate", json=body, headers={"Idempotency-Key": "http-order-7"})
        other = client.post(f"{API}/generate", json={**body, "brief": brief("#warn")},
                            headers={"Idempotency-Key": "http-order-7"})
    assert first.status_code == 200
    assert again.status_code == 200
    assert again.json()["job_id"] == first.json()["job_id"]
    assert other.status_code == 422
    detail = other.json()["detail"]
    assert [item["loc"] for item in detail] == [["header", "idempotency-key"]]
    assert "http-order-7" in detail[0]["msg"]
    assert detail[0]["type"] == "value_error"


async def test_concurrent_duplicates_create_one_job(server_factory) -> None:
    handle = server_factory(extra_args=["--no-http"])
    async with grpc.aio.insecure_channel(handle.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        replies = await asyncio.gather(*(stub.Generate(_request("burst-42")) for _ in range(20)))
        listed = await stub.ListJobs(pb.ListJobsRequest(page_size=100))
    assert len({reply.job.job_id for reply in replies}) == 1
    assert listed.total_size == 1


async def test_sweep_keeps_request_id_jobs_while_deleting_others(server_factory) -> None:
    env = {"RAGNAROK_JOB_RETENTION_SECONDS": "0.5", "RAGNAROK_RETENTION_SWEEP_SECONDS": "0.2"}
    handle = server_factory(extra_args=["--no-http"], env=env)
    async with grpc.aio.insecure_channel(handle.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        keyed = (await stub.Generate(_request("kept-for-a-day"))).job
        plain = (await stub.Generate(pb.GenerateRequest(brief=brief(), duration_seconds=15))).job
        await wait_terminal(stub, keyed.job_id)
        await wait_terminal(stub, plain.job_id)

        deadline = time.monotonic() + 30
        while True:
            try:
                await stub.GetJob(pb.GetJobRequest(job_id=plain.job_id))
            except grpc.aio.AioRpcError as error:
                assert error.code() == grpc.StatusCode.NOT_FOUND
                break
            assert time.monotonic() < deadline, "the retention sweep never deleted the finished job"
            await asyncio.sleep(0.1)
        replay = (await stub.Generate(_request("kept-for-a-day"))).job
    assert replay.job_id == keyed.job_id
    assert replay.status == pb.JOB_STATUS_COMPLETED
    # The sweep deletes the job's rows first and its directory right after, so wait for the files too.
    plain_dir = handle.data_dir / "jobs" / plain.job_id
    while plain_dir.exists():
        assert time.monotonic() < deadline, "the retention sweep never deleted the finished job's files"
        await asyncio.sleep(0.1)
    assert (handle.data_dir / "jobs" / keyed.job_id).is_dir()


def test_request_id_job_deleted_after_a_day(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", job_retention_seconds=1.0)
    store = SqliteJobStore(settings.database_path)
    store.initialize()
    new = NewJob(brief=brief(), industry="technology", duration_seconds=15, platform="youtube_1080p",
                 style=None, voice_style=None, metadata_json="", seed=None, request_id="day-old", request_hash="h")
    job, _ = store.create_job(new, max_queued=10)
    store.cancel(job.job_id)

    hour_later = sweep(settings, store, now=now_us() + 3600 * 1_000_000)
    assert hour_later.deleted_jobs == ()
    day_later = sweep(settings, store, now=now_us() + DAY_US + 1_000_000)
    assert day_later.deleted_jobs == (job.job_id,)
    reused, created = store.create_job(new, max_queued=10)
    assert created
    assert reused.job_id != job.job_id


def test_request_id_retention_below_a_day_is_rejected() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(request_id_retention_seconds=3600)
    assert "request_id_retention_seconds" in str(caught.value)
