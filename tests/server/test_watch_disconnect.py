"""A watcher that goes away frees its server-side handler and never affects the job."""

from __future__ import annotations

import time

import grpc
from ragnarok.v1 import ragnarok_pb2 as pb
from ragnarok.v1 import ragnarok_pb2_grpc as pb_grpc

from tests.support.jobs import submit, wait_terminal

# A disconnected watcher's handler must end within about a second.
HANDLER_EXIT_LIMIT_SECONDS = 1.5


async def test_cancelled_watch_frees_handler_and_job_completes(server_factory) -> None:
    handle = server_factory(extra_args=["--no-http", "--log-level", "DEBUG"])
    async with grpc.aio.insecure_channel(handle.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        job = await submit(stub, "#slow")
        for _ in range(20):
            call = stub.WatchJob(pb.WatchJobRequest(job_id=job.job_id))
            assert (await call.read()).event.type == pb.JOB_EVENT_TYPE_SNAPSHOT
            call.cancel()
        closed_at = time.monotonic()
        marker = f"Watcher of job {job.job_id} closed"
        while handle.log().count(marker) < 20:
            assert time.monotonic() - closed_at < HANDLER_EXIT_LIMIT_SECONDS, (
                f"only {handle.log().count(marker)} of 20 watch handlers ended")
            time.sleep(0.05)
        final = await wait_terminal(stub, job.job_id)
    assert final.status == pb.JOB_STATUS_COMPLETED
    assert final.attempt == 1
