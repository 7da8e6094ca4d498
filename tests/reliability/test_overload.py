"""A bounded queue under bursts: clear RESOURCE_EXHAUSTED with RetryInfo, no lost job, many watchers."""

from __future__ import annotations

import asyncio

import grpc
import httpx
import pytest
from google.rpc import error_details_pb2
from ragnarok.v1 import ragnarok_pb2 as pb
from ragnarok.v1 import ragnarok_pb2_grpc as pb_grpc

from tests.reliability.support import error_details, events_after_queued
from tests.support.jobs import TERMINAL_EVENTS, brief, submit, wait_for_status, wait_terminal

API = "/api/nexus/ragnarok"
RETRY_SECONDS = 7


@pytest.fixture
def small_queue(server_factory):
    env = {"RAGNAROK_MAX_QUEUED_JOBS": "3", "RAGNAROK_QUEUE_FULL_RETRY_SECONDS": str(RETRY_SECONDS)}
    return server_factory(extra_args=["--workers", "1"], env=env)


async def test_full_queue_is_resource_exhausted_with_retry_info(small_queue) -> None:
    async with grpc.aio.insecure_channel(small_queue.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        blocker = await submit(stub, "#hang")
        await wait_for_status(stub, blocker.job_id, [pb.JOB_STATUS_RUNNING])
        queued = [await submit(stub) for _ in range(3)]

        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await submit(stub)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        retry = [item for item in error_details(caught.value) if isinstance(item, error_details_pb2.RetryInfo)]
        assert len(retry) == 1
        assert retry[0].retry_delay.seconds == RETRY_SECONDS
        assert "queue is full" in caught.value.details()

        with httpx.Client(base_url=small_queue.http_base_url, timeout=30) as client:
            response = client.post(f"{API}/generate", json={"brief": brief(), "duration_seconds": 15})
        assert response.status_code == 429
        assert response.headers["retry-after"] == str(RETRY_SECONDS)
        assert "queue is full" in response.json()["detail"]

        for job in [blocker, *queued]:
            await stub.CancelJob(pb.CancelJobRequest(job_id=job.job_id))
        # A freed queue accepts work again.
        assert (await submit(stub)).status == pb.JOB_STATUS_PENDING


async def test_burst_of_submissions_is_accepted_or_rejected(server_factory) -> None:
    handle = server_factory(extra_args=["--no-http", "--workers", "2"], env={"RAGNAROK_MAX_QUEUED_JOBS": "15"})
    async with grpc.aio.insecure_channel(handle.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        outcomes = await asyncio.gather(*(submit(stub) for _ in range(200)), return_exceptions=True)
        accepted = [item for item in outcomes if isinstance(item, pb.Job)]
        rejected = [item for item in outcomes if not isinstance(item, pb.Job)]
        assert all(isinstance(item, grpc.aio.AioRpcError) for item in rejected), rejected[:3]
        assert {item.code() for item in rejected} <= {grpc.StatusCode.RESOURCE_EXHAUSTED}
        assert 15 <= len(accepted) < 200
        assert len({job.job_id for job in accepted}) == len(accepted)

        # Cancel every other accepted job; the rest must complete.
        cancelled = set()
        for job in accepted[1::2]:
            try:
                await stub.CancelJob(pb.CancelJobRequest(job_id=job.job_id))
                cancelled.add(job.job_id)
            except grpc.aio.AioRpcError as error:
                assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        finals = [await wait_terminal(stub, job.job_id, timeout=120) for job in accepted]
        listed = await stub.ListJobs(pb.ListJobsRequest(page_size=100))
    for final in finals:
        expected = {pb.JOB_STATUS_CANCELLED} if final.job_id in cancelled else {pb.JOB_STATUS_COMPLETED}
        assert final.status in expected, (final.job_id, final.status, final.error)
    assert listed.total_size == len(accepted)


async def test_two_hundred_watchers_each_see_every_event(server_factory) -> None:
    handle = server_factory(extra_args=["--no-http"])
    async with grpc.aio.insecure_channel(handle.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        job = await submit(stub, "#hang")
        await wait_for_status(stub, job.job_id, [pb.JOB_STATUS_RUNNING])
        calls = [stub.WatchJob(pb.WatchJobRequest(job_id=job.job_id, after_sequence=1)) for _ in range(200)]
        # Every stream is open at once: each has its snapshot before the job ends.
        snapshots = await asyncio.gather(*(call.read() for call in calls))
        assert all(item.event.type == pb.JOB_EVENT_TYPE_SNAPSHOT for item in snapshots)

        await stub.CancelJob(pb.CancelJobRequest(job_id=job.job_id))

        async def rest(call: grpc.aio.UnaryStreamCall) -> list[pb.JobEvent]:
            events = []
            while (reply := await call.read()) is not grpc.aio.EOF:
                events.append(reply.event)
            return events

        streams = await asyncio.gather(*(rest(call) for call in calls))
        codes = await asyncio.gather(*(call.code() for call in calls))
        log = await events_after_queued(stub, job.job_id)
    assert log[-1].type == pb.JOB_EVENT_TYPE_CANCELLED
    assert set(codes) == {grpc.StatusCode.OK}
    for events in streams:
        assert events == log
        assert events[-1].type in TERMINAL_EVENTS
