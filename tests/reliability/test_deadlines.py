"""Stage and job time limits end a stuck job, name the stage and stop its worker process."""

from __future__ import annotations

import grpc
import psutil
from ragnarok.v1 import ragnarok_pb2 as pb
from ragnarok.v1 import ragnarok_pb2_grpc as pb_grpc

from tests.reliability.support import events_after_queued, wait_for_worker, wait_gone
from tests.support.jobs import submit, wait_for_status, wait_terminal

# The supervisor checks limits every 0.1 s and stops a worker within about a second;
# a loaded CI machine gets the rest of this margin.
LIMIT_MARGIN_SECONDS = 3.0


def _seconds(timestamp) -> float:
    return timestamp.seconds + timestamp.nanos / 1e9


async def test_hanging_stage_fails_job_within_stage_limit(server_factory) -> None:
    handle = server_factory(extra_args=["--no-http"], env={"RAGNAROK_STAGE_TIMEOUT_SECONDS": "2"})
    async with grpc.aio.insecure_channel(handle.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        job = await submit(stub, "#hang")
        await wait_for_status(stub, job.job_id, [pb.JOB_STATUS_RUNNING])
        worker = await wait_for_worker(handle.pid)
        final = await wait_terminal(stub, job.job_id)
        events = await events_after_queued(stub, job.job_id)
        await wait_gone(worker)
        follower = await wait_terminal(stub, (await submit(stub)).job_id)

    assert final.status == pb.JOB_STATUS_FAILED
    assert final.stage == "render"
    assert final.error.startswith("render failed: the stage timed out after 2 seconds")
    render_started = next(event for event in events
                          if event.type == pb.JOB_EVENT_TYPE_STAGE_STARTED and event.stage == "render")
    failed = events[-1]
    assert failed.type == pb.JOB_EVENT_TYPE_FAILED
    elapsed = _seconds(failed.create_time) - _seconds(render_started.create_time)
    assert 2.0 <= elapsed <= 2.0 + LIMIT_MARGIN_SECONDS
    assert not psutil.pid_exists(worker.pid) or worker.status() == psutil.STATUS_ZOMBIE
    assert follower.status == pb.JOB_STATUS_COMPLETED


async def test_job_over_time_limit_fails_naming_stage(server_factory) -> None:
    # The #slow double reports a step every 0.4 s, so no stage is ever idle for long,
    # but the whole job takes about four seconds.
    handle = server_factory(extra_args=["--no-http"], env={"RAGNAROK_JOB_TIMEOUT_SECONDS": "2"})
    async with grpc.aio.insecure_channel(handle.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        job = await submit(stub, "#slow")
        await wait_for_status(stub, job.job_id, [pb.JOB_STATUS_RUNNING])
        worker = await wait_for_worker(handle.pid)
        final = await wait_terminal(stub, job.job_id)
        events = await events_after_queued(stub, job.job_id)
        await wait_gone(worker)

    assert final.status == pb.JOB_STATUS_FAILED
    assert final.error.startswith("job timed out after 2 seconds")
    assert final.stage in ("script", "voice", "render")
    assert f"while in stage {final.stage}" in final.error
    started = next(event for event in events if event.type == pb.JOB_EVENT_TYPE_STARTED)
    elapsed = _seconds(events[-1].create_time) - _seconds(started.create_time)
    assert 2.0 <= elapsed <= 2.0 + LIMIT_MARGIN_SECONDS
