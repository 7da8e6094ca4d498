"""Helpers for tests that submit and follow jobs over gRPC."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

import grpc
from ragnarok.v1 import ragnarok_pb2 as pb
from ragnarok.v1 import ragnarok_pb2_grpc as pb_grpc

TERMINAL = frozenset({pb.JOB_STATUS_COMPLETED, pb.JOB_STATUS_FAILED, pb.JOB_STATUS_CANCELLED})
TERMINAL_EVENTS = frozenset({pb.JOB_EVENT_TYPE_COMPLETED, pb.JOB_EVENT_TYPE_FAILED, pb.JOB_EVENT_TYPE_CANCELLED})
# Generous bound on how long a pipeline-double job may take on a loaded CI machine.
JOB_WAIT_SECONDS = 60.0


def brief(*markers: str) -> str:
    """A valid brief carrying pipeline-double markers such as "#slow"."""
    return "A short test commercial for a coffee shop " + " ".join(markers)


async def submit(stub: pb_grpc.RagnarokServiceStub, *markers: str, **fields: object) -> pb.Job:
    request = pb.GenerateRequest(brief=brief(*markers), duration_seconds=15, **fields)  # type: ignore[arg-type]
    return (await stub.Generate(request)).job


async def wait_for_status(
    stub: pb_grpc.RagnarokServiceStub, job_id: str, statuses: Iterable[int], timeout: float = JOB_WAIT_SECONDS
) -> pb.Job:
    expected = frozenset(statuses)
    deadline = time.monotonic() + timeout
    while True:
        job = (await stub.GetJob(pb.GetJobRequest(job_id=job_id))).job
        if job.status in expected:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {pb.JobStatus.Name(job.status)} after {timeout} s")
        await asyncio.sleep(0.05)


async def wait_terminal(stub: pb_grpc.RagnarokServiceStub, job_id: str, timeout: float = JOB_WAIT_SECONDS) -> pb.Job:
    return await wait_for_status(stub, job_id, TERMINAL, timeout)


async def watch_all(
    stub: pb_grpc.RagnarokServiceStub, job_id: str, after_sequence: int = 0, timeout: float = JOB_WAIT_SECONDS
) -> list[pb.WatchJobResponse]:
    """Read a WatchJob stream to its end."""
    call = stub.WatchJob(pb.WatchJobRequest(job_id=job_id, after_sequence=after_sequence), timeout=timeout)
    return [message async for message in call]


def status_code(error: grpc.aio.AioRpcError) -> grpc.StatusCode:
    return error.code()
