"""Soak: open WatchJob, read the snapshot and cancel the call, 1,000 times; print the server's growth.

    .venv/bin/python bench/soak_watch_cancel.py [--cycles 1000]

Starts its own `ragnarok serve` (with the test pipeline double) in a temporary
directory, keeps one job hanging so every watch stays live, and measures the
server's resident memory and open file descriptors before and after the cycles.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "protos")]

import grpc  # noqa: E402
from ragnarok.v1 import ragnarok_pb2 as pb  # noqa: E402
from ragnarok.v1 import ragnarok_pb2_grpc as pb_grpc  # noqa: E402

from tests.reliability.soak import soak_watch_cancel  # noqa: E402
from tests.support.jobs import submit, wait_for_status  # noqa: E402
from tests.support.servers import running_server  # noqa: E402


async def run(cycles: int) -> int:
    with tempfile.TemporaryDirectory() as scratch, running_server(Path(scratch) / "data", extra_args=["--no-http"]) as handle:
        async with grpc.aio.insecure_channel(handle.grpc_target) as channel:
            stub = pb_grpc.RagnarokServiceStub(channel)
            job = await submit(stub, "#hang")
            await wait_for_status(stub, job.job_id, [pb.JOB_STATUS_RUNNING])
            result = await soak_watch_cancel(handle.grpc_target, handle.pid, job.job_id, cycles)
            await stub.CancelJob(pb.CancelJobRequest(job_id=job.job_id))
    print(result.summary("watch-cancel"))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=1000, help="watch-then-cancel cycles (default 1000)")
    return asyncio.run(run(parser.parse_args().cycles))


if __name__ == "__main__":
    sys.exit(main())
