"""Repeated watch-and-cancel and submit-and-cancel cycles leave the server's memory and files flat."""

from __future__ import annotations

import grpc
from ragnarok.v1 import ragnarok_pb2 as pb
from ragnarok.v1 import ragnarok_pb2_grpc as pb_grpc

from tests.reliability.soak import soak_submit_cancel, soak_watch_cancel
from tests.support.jobs import submit, wait_for_status

CYCLES = 100
# 100 cycles measured +0.4 MiB or less on a 2-core development VM. The bound leaves room
# for allocator noise, but a leak of 50 KiB or more per cycle exceeds it.
MAX_RSS_GROWTH_BYTES = 4 * 1024 * 1024
MAX_FD_GROWTH = 2


async def test_watch_cancel_cycles_do_not_leak(server_factory) -> None:
    handle = server_factory(extra_args=["--no-http", "--log-level", "DEBUG"])
    async with grpc.aio.insecure_channel(handle.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        job = await submit(stub, "#hang")
        await wait_for_status(stub, job.job_id, [pb.JOB_STATUS_RUNNING])

        result = await soak_watch_cancel(handle.grpc_target, handle.pid, job.job_id, CYCLES)

        still_running = (await stub.GetJob(pb.GetJobRequest(job_id=job.job_id))).job
        await stub.CancelJob(pb.CancelJobRequest(job_id=job.job_id))
    print(result.summary("watch-cancel"))
    assert result.fd_growth <= MAX_FD_GROWTH, result.summary("watch-cancel")
    assert result.rss_growth_bytes <= MAX_RSS_GROWTH_BYTES, result.summary("watch-cancel")
    log = handle.log()
    opened = log.count(f"Watcher of job {job.job_id} connected")
    assert opened >= CYCLES
    assert log.count(f"Watcher of job {job.job_id} closed") == opened
    # Closing watches never touches the job.
    assert still_running.status == pb.JOB_STATUS_RUNNING
    assert still_running.attempt == 1


async def test_submit_cancel_cycles_do_not_leak(server_factory) -> None:
    handle = server_factory(extra_args=["--no-http"])
    result = await soak_submit_cancel(handle.grpc_target, handle.pid, CYCLES)
    print(result.summary("submit-cancel"))
    assert result.fd_growth <= MAX_FD_GROWTH, result.summary("submit-cancel")
    assert result.rss_growth_bytes <= MAX_RSS_GROWTH_BYTES, result.summary("submit-cancel")
    # Every cancelled job's directory is gone, and no worker process is left behind.
    assert not any((handle.data_dir / "jobs").iterdir())
