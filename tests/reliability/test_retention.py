"""Old jobs and files are swept away, disk use is logged, and a full disk fails one job, not the server."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from ragnarok.v1 import ragnarok_pb2 as pb
from ragnarok.v1 import ragnarok_pb2_grpc as pb_grpc

from tests.reliability.fault_pipeline import PARTIAL_FRAMES
from tests.reliability.support import can_mount_tmpfs, server_on_small_disk
from tests.support.jobs import submit, wait_for_status, wait_terminal

SWEEP_ENV = {"RAGNAROK_JOB_RETENTION_SECONDS": "1", "RAGNAROK_RETENTION_SWEEP_SECONDS": "0.2"}
DISK_FULL_ERROR = "render failed: the server ran out of disk space while writing the job's files"


async def _wait_not_found(stub: pb_grpc.RagnarokServiceStub, job_id: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            await stub.GetJob(pb.GetJobRequest(job_id=job_id))
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.NOT_FOUND
            return
        assert time.monotonic() < deadline, f"job {job_id} was never swept"
        await asyncio.sleep(0.1)


async def _assert_still_serving(stub: pb_grpc.RagnarokServiceStub, channel: grpc.aio.Channel) -> None:
    health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    follower = await wait_terminal(stub, (await submit(stub)).job_id)
    assert follower.status == pb.JOB_STATUS_COMPLETED, follower.error


async def test_sweep_deletes_old_finished_jobs_and_files(server_factory) -> None:
    handle = server_factory(extra_args=["--no-http", "--workers", "2"], env=SWEEP_ENV)
    jobs_dir = handle.data_dir / "jobs"
    async with grpc.aio.insecure_channel(handle.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        done = await wait_terminal(stub, (await submit(stub)).job_id)
        running = await submit(stub, "#hang")
        await wait_for_status(stub, running.job_id, [pb.JOB_STATUS_RUNNING])
        assert (jobs_dir / done.job_id / "output" / "commercial.mp4").is_file()
        orphan = jobs_dir / "job_0123456789ab"
        orphan.mkdir()
        (orphan / "left-behind.bin").write_bytes(b"\0" * 1024)

        await _wait_not_found(stub, done.job_id)
        while orphan.exists():
            await asyncio.sleep(0.1)
        # A running job is never swept, however old.
        await asyncio.sleep(1.5)
        still = (await stub.GetJob(pb.GetJobRequest(job_id=running.job_id))).job
        listed = await stub.ListJobs(pb.ListJobsRequest())
        await stub.CancelJob(pb.CancelJobRequest(job_id=running.job_id))
    assert not (jobs_dir / done.job_id).exists()
    assert still.status == pb.JOB_STATUS_RUNNING
    assert (jobs_dir / running.job_id).is_dir()
    assert done.job_id not in {job.job_id for job in listed.jobs}
    log = handle.log()
    assert "Retention sweep deleted 1 finished jobs" in log
    assert "Disk use: job files " in log


async def test_injected_enospc_fails_job_cleanly(server_factory) -> None:
    """Runs everywhere: the fault pipeline raises ENOSPC from a real file write in the render stage."""
    env = {"RAGNAROK_PIPELINE_ENTRY": "tests.reliability.fault_pipeline:run_job"}
    handle = server_factory(extra_args=["--no-http"], env=env)
    async with grpc.aio.insecure_channel(handle.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        job = await submit(stub, "#enospc")
        final = await wait_terminal(stub, job.job_id)
        assert final.status == pb.JOB_STATUS_FAILED
        assert final.stage == "render"
        assert final.error.startswith(DISK_FULL_ERROR)
        assert not (handle.data_dir / "jobs" / job.job_id / PARTIAL_FRAMES).exists()
        await _assert_still_serving(stub, channel)


@pytest.mark.skipif(not can_mount_tmpfs(), reason="this machine cannot mount a tmpfs in a user namespace")
async def test_full_disk_fails_job_cleanly(tmp_path: Path) -> None:
    """The job files live on a 1 MiB tmpfs; the #big double writes about 2.3 MiB of video."""
    with server_on_small_disk(tmp_path / "data", "1m") as handle:
        async with grpc.aio.insecure_channel(handle.grpc_target) as channel:
            stub = pb_grpc.RagnarokServiceStub(channel)
            job = await submit(stub, "#big")
            final = await wait_terminal(stub, job.job_id)
            assert final.status == pb.JOB_STATUS_FAILED
            assert final.error.startswith(DISK_FULL_ERROR), final.error
            # The partial files were removed, so the next job has room again.
            await _assert_still_serving(stub, channel)
