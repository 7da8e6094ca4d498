"""Repeated open-watch-then-cancel and submit-then-cancel cycles, with the server's RSS and open files.

Shared by the leak tests (about 100 cycles) and bench/soak_*.py (1,000 cycles).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import grpc
import psutil
from ragnarok.v1 import ragnarok_pb2 as pb
from ragnarok.v1 import ragnarok_pb2_grpc as pb_grpc

BRIEF = "A short test commercial for a coffee shop"


@dataclass(frozen=True)
class Usage:
    """Resident memory and open file descriptors of one process."""

    rss_bytes: int
    open_fds: int

    @classmethod
    def of(cls, pid: int) -> Usage:
        process = psutil.Process(pid)
        return cls(int(process.memory_info().rss), process.num_fds())


@dataclass(frozen=True)
class SoakResult:
    cycles: int
    before: Usage
    after: Usage
    seconds: float

    @property
    def rss_growth_bytes(self) -> int:
        return self.after.rss_bytes - self.before.rss_bytes

    @property
    def fd_growth(self) -> int:
        return self.after.open_fds - self.before.open_fds

    def summary(self, name: str) -> str:
        return (
            f"{name}: {self.cycles} cycles in {self.seconds:.1f} s; RSS {self.before.rss_bytes / 2**20:.1f} -> "
            f"{self.after.rss_bytes / 2**20:.1f} MiB ({self.rss_growth_bytes / 2**20:+.2f} MiB), open fds "
            f"{self.before.open_fds} -> {self.after.open_fds} ({self.fd_growth:+d})"
        )


async def watch_cancel_cycles(stub: pb_grpc.RagnarokServiceStub, job_id: str, cycles: int) -> None:
    """Open WatchJob on `job_id`, read the snapshot, cancel the call; `cycles` times."""
    for _ in range(cycles):
        call = stub.WatchJob(pb.WatchJobRequest(job_id=job_id))
        reply = await call.read()
        if reply is grpc.aio.EOF or reply.event.type != pb.JOB_EVENT_TYPE_SNAPSHOT:
            raise AssertionError(f"expected a snapshot, got {reply!r}")
        call.cancel()


async def submit_cancel_cycles(stub: pb_grpc.RagnarokServiceStub, cycles: int) -> list[str]:
    """Submit a job and cancel it at once, `cycles` times; return the job ids."""
    job_ids = []
    for _ in range(cycles):
        job = (await stub.Generate(pb.GenerateRequest(brief=BRIEF, duration_seconds=15))).job
        await stub.CancelJob(pb.CancelJobRequest(job_id=job.job_id))
        job_ids.append(job.job_id)
    return job_ids


async def settle(seconds: float = 1.0) -> None:
    """Give the server time to close finished calls and reap cancelled workers before measuring it."""
    await asyncio.sleep(seconds)


async def soak_watch_cancel(target: str, server_pid: int, job_id: str, cycles: int, warmup: int = 20) -> SoakResult:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        await watch_cancel_cycles(stub, job_id, warmup)
        await settle()
        before = Usage.of(server_pid)
        started = time.monotonic()
        await watch_cancel_cycles(stub, job_id, cycles)
        seconds = time.monotonic() - started
        await settle()
        return SoakResult(cycles, before, Usage.of(server_pid), seconds)


async def soak_submit_cancel(target: str, server_pid: int, cycles: int, warmup: int = 20) -> SoakResult:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        await submit_cancel_cycles(stub, warmup)
        await settle(2.0)
        before = Usage.of(server_pid)
        started = time.monotonic()
        job_ids = await submit_cancel_cycles(stub, cycles)
        seconds = time.monotonic() - started
        await settle(2.0)
        for job_id in job_ids:
            job = (await stub.GetJob(pb.GetJobRequest(job_id=job_id))).job
            if job.status != pb.JOB_STATUS_CANCELLED:
                raise AssertionError(f"job {job_id} is {pb.JobStatus.Name(job.status)}, expected CANCELLED")
        return SoakResult(cycles, before, Usage.of(server_pid), seconds)
