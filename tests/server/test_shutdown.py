"""Jobs, events and results survive restarts; SIGTERM shuts down without losing work."""

from __future__ import annotations

import asyncio
import signal

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from ragnarok.v1 import ragnarok_pb2 as pb
from ragnarok.v1 import ragnarok_pb2_grpc as pb_grpc

from tests.support.jobs import submit, wait_for_status, wait_terminal, watch_all


async def test_jobs_and_events_survive_restart(server_factory, tmp_path) -> None:
    data_dir = tmp_path / "data"
    first = server_factory(data_dir=data_dir, extra_args=["--no-http"])
    async with grpc.aio.insecure_channel(first.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        completed = await wait_terminal(stub, (await submit(stub)).job_id)
        failed = await wait_terminal(stub, (await submit(stub, "#fail")).job_id)
        log_before = await watch_all(stub, completed.job_id, after_sequence=0)
    assert first.stop() == 0

    second = server_factory(data_dir=data_dir, extra_args=["--no-http"])
    async with grpc.aio.insecure_channel(second.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        assert (await stub.GetJob(pb.GetJobRequest(job_id=completed.job_id))).job == completed
        assert (await stub.GetJob(pb.GetJobRequest(job_id=failed.job_id))).job == failed
        replay = await watch_all(stub, completed.job_id, after_sequence=0)
        assert [item.event for item in replay] == [item.event for item in log_before]
        full_log = await watch_all(stub, completed.job_id, after_sequence=1)
        assert [item.event.sequence for item in full_log[1:]] == list(range(2, completed.last_sequence + 1))
        chunks = [chunk async for chunk in stub.ReadArtifact(
            pb.ReadArtifactRequest(job_id=completed.job_id, artifact=pb.ARTIFACT_VIDEO))]
        assert sum(len(chunk.data) for chunk in chunks) == completed.result.artifact_sizes["ARTIFACT_VIDEO"]
        listed = await stub.ListJobs(pb.ListJobsRequest())
        assert {completed.job_id, failed.job_id} <= {job.job_id for job in listed.jobs}


async def test_sigterm_ends_watchers_cleanly_and_requeues_running_job(server_factory, tmp_path) -> None:
    data_dir = tmp_path / "data"
    first = server_factory(data_dir=data_dir, extra_args=["--no-http"])
    async with grpc.aio.insecure_channel(first.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        health = health_pb2_grpc.HealthStub(channel)
        job = await submit(stub, "#slow")
        await wait_for_status(stub, job.job_id, [pb.JOB_STATUS_RUNNING])

        health_watch = health.Watch(health_pb2.HealthCheckRequest(service="ragnarok.v1.RagnarokService"))
        assert (await health_watch.read()).status == health_pb2.HealthCheckResponse.SERVING
        watch = stub.WatchJob(pb.WatchJobRequest(job_id=job.job_id))
        seen = [await watch.read()]
        first.process.send_signal(signal.SIGTERM)

        while (message := await watch.read()) is not grpc.aio.EOF:
            seen.append(message)
        assert await watch.code() == grpc.StatusCode.OK
        assert seen[-1].event.type not in (pb.JOB_EVENT_TYPE_COMPLETED, pb.JOB_EVENT_TYPE_FAILED)
        health_states = []
        try:
            while (update := await health_watch.read()) is not grpc.aio.EOF:
                health_states.append(update.status)
        except grpc.aio.AioRpcError:
            pass
        assert health_pb2.HealthCheckResponse.NOT_SERVING in health_states
    assert first.process.wait(30) == 0
    last_seen = max(item.event.sequence for item in seen)

    second = server_factory(data_dir=data_dir, extra_args=["--no-http"])
    async with grpc.aio.insecure_channel(second.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        resumed = await watch_all(stub, job.job_id, after_sequence=last_seen)
        events = [item.event for item in resumed[1:]]
        assert [event.sequence for event in events] == list(range(last_seen + 1, last_seen + 1 + len(events)))
        types = [event.type for event in events]
        assert pb.JOB_EVENT_TYPE_REQUEUED in types
        assert types[-1] == pb.JOB_EVENT_TYPE_COMPLETED
        final = resumed[-1].job
        assert final.status == pb.JOB_STATUS_COMPLETED
        assert final.attempt == 2
        progress = [item.job.progress for item in seen[1:] + resumed[1:]]
        assert progress == sorted(progress)


async def test_killed_server_job_is_rerun_after_lease_expires(server_factory, tmp_path) -> None:
    data_dir = tmp_path / "data"
    env = {"RAGNAROK_LEASE_SECONDS": "2", "RAGNAROK_HEARTBEAT_SECONDS": "0.3"}
    first = server_factory(data_dir=data_dir, extra_args=["--no-http"], env=env)
    async with grpc.aio.insecure_channel(first.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        job = await submit(stub, "#slow")
        await wait_for_status(stub, job.job_id, [pb.JOB_STATUS_RUNNING])
        await asyncio.sleep(0.5)
    first.stop(signal.SIGKILL)

    second = server_factory(data_dir=data_dir, extra_args=["--no-http"], env=env)
    async with grpc.aio.insecure_channel(second.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        final = await wait_terminal(stub, job.job_id)
        assert final.status == pb.JOB_STATUS_COMPLETED, final.error
        assert final.attempt == 2
        log = await watch_all(stub, job.job_id, after_sequence=1)
        requeued = [item.event for item in log if item.event.type == pb.JOB_EVENT_TYPE_REQUEUED]
        assert len(requeued) == 1
        assert "lease" in requeued[0].message
        progress = [item.event.progress for item in log[1:]]
        assert progress == sorted(progress)


async def test_lost_worker_is_retried_then_fails(server_factory) -> None:
    handle = server_factory(extra_args=["--no-http"], env={"RAGNAROK_MAX_ATTEMPTS": "2"})
    async with grpc.aio.insecure_channel(handle.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        job = await submit(stub, "#exit")
        final = await wait_terminal(stub, job.job_id)
        assert final.status == pb.JOB_STATUS_FAILED
        assert final.attempt == 2
        assert final.error.startswith("worker lost: ")
        assert "exited with code 3" in final.error
        log = await watch_all(stub, job.job_id, after_sequence=1)
        types = [item.event.type for item in log[1:]]
        assert types.count(pb.JOB_EVENT_TYPE_STARTED) == 2
        assert types.count(pb.JOB_EVENT_TYPE_REQUEUED) == 1


async def test_stage_timeout_fails_job_and_stops_worker(server_factory) -> None:
    handle = server_factory(extra_args=["--no-http"], env={"RAGNAROK_STAGE_TIMEOUT_SECONDS": "1"})
    async with grpc.aio.insecure_channel(handle.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        job = await submit(stub, "#hang")
        final = await wait_terminal(stub, job.job_id)
        assert final.status == pb.JOB_STATUS_FAILED
        assert final.stage == "render"
        assert final.error.startswith("render failed: the stage timed out after 1 seconds")
        follower = await wait_terminal(stub, (await submit(stub)).job_id)
        assert follower.status == pb.JOB_STATUS_COMPLETED
