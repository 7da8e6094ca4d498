"""CancelJob stops pending and running jobs and refuses finished ones."""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import psutil
import pytest
from ragnarok.v1 import ragnarok_pb2 as pb
from ragnarok.v1 import ragnarok_pb2_grpc as pb_grpc

from tests.support.jobs import submit, wait_for_status, wait_terminal, watch_all
from tests.support.pipeline_double import PID_FILE

# The API promises a running job is stopped and its files removed within two seconds.
CANCEL_LIMIT_SECONDS = 2.0


def _wait_for_file(path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


async def _hanging_job(stub: pb_grpc.RagnarokServiceStub, jobs_dir: Path) -> tuple[pb.Job, int]:
    job = await submit(stub, "#hang")
    pid_file = jobs_dir / job.job_id / PID_FILE
    _wait_for_file(pid_file)
    return job, int(pid_file.read_text())


async def test_cancel_running_job_stops_worker_and_removes_files(stub, server) -> None:
    job, worker_pid = await _hanging_job(stub, server.data_dir / "jobs")
    workdir = server.data_dir / "jobs" / job.job_id
    assert psutil.pid_exists(worker_pid)

    cancelled = (await stub.CancelJob(pb.CancelJobRequest(job_id=job.job_id))).job
    cancelled_at = time.monotonic()
    assert cancelled.status == pb.JOB_STATUS_CANCELLED

    while psutil.pid_exists(worker_pid) and psutil.Process(worker_pid).status() != psutil.STATUS_ZOMBIE or workdir.exists():
        assert time.monotonic() - cancelled_at < CANCEL_LIMIT_SECONDS, (
            f"worker alive: {psutil.pid_exists(worker_pid)}, files left: {workdir.exists()}")
        time.sleep(0.02)

    final = await wait_terminal(stub, job.job_id)
    assert final.status == pb.JOB_STATUS_CANCELLED
    assert final.progress < 100
    messages = await watch_all(stub, job.job_id)
    assert messages[-1].event.type == pb.JOB_EVENT_TYPE_CANCELLED


async def test_cancel_pending_job_is_immediate(server_factory, tmp_path) -> None:
    handle = server_factory(extra_args=["--workers", "1", "--no-http"])
    async with grpc.aio.insecure_channel(handle.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        blocker, _ = await _hanging_job(stub, handle.data_dir / "jobs")
        queued = await submit(stub)
        cancelled = (await stub.CancelJob(pb.CancelJobRequest(job_id=queued.job_id))).job
        assert cancelled.status == pb.JOB_STATUS_CANCELLED
        assert cancelled.progress == 0
        again = (await stub.CancelJob(pb.CancelJobRequest(job_id=queued.job_id))).job
        assert again == cancelled
        await stub.CancelJob(pb.CancelJobRequest(job_id=blocker.job_id))
        # The worker slot is free again and the cancelled job never runs.
        follower = await submit(stub)
        assert (await wait_terminal(stub, follower.job_id)).status == pb.JOB_STATUS_COMPLETED
        assert (await stub.GetJob(pb.GetJobRequest(job_id=queued.job_id))).job.status == pb.JOB_STATUS_CANCELLED
        assert not (handle.data_dir / "jobs" / queued.job_id).exists()


@pytest.mark.parametrize(("marker", "status"), [("", "completed"), ("#fail", "failed")])
async def test_cancel_finished_job_is_failed_precondition(stub, marker: str, status: str) -> None:
    job = await submit(stub, marker)
    await wait_terminal(stub, job.job_id)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CancelJob(pb.CancelJobRequest(job_id=job.job_id))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert caught.value.details() == f"Cannot cancel job in {status} status"


async def test_cancel_is_seen_by_watcher(stub, server) -> None:
    job, _ = await _hanging_job(stub, server.data_dir / "jobs")
    call = stub.WatchJob(pb.WatchJobRequest(job_id=job.job_id))
    snapshot = await call.read()
    assert snapshot.job.status == pb.JOB_STATUS_RUNNING
    await stub.CancelJob(pb.CancelJobRequest(job_id=job.job_id))
    rest = []
    while (message := await call.read()) is not grpc.aio.EOF:
        rest.append(message)
    assert rest[-1].event.type == pb.JOB_EVENT_TYPE_CANCELLED
    assert rest[-1].job.status == pb.JOB_STATUS_CANCELLED
    assert await call.code() == grpc.StatusCode.OK
