"""Whole jobs through a real server: Generate to completed over loopback gRPC, with memory and CPU.

Each case starts its own `python -m server serve` with the real pipeline, so the tree sampled
(server, its forkserver, the job workers forked from it, ffmpeg) holds nothing but that case's work.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
from ragnarok.v1 import ragnarok_pb2 as pb
from ragnarok.v1 import ragnarok_pb2_grpc as pb_grpc

from bench.cases import Case
from bench.procs import TreeSampler, TreeUsage
from tests.support.servers import running_server

logger = logging.getLogger(__name__)

REAL_PIPELINE = "pipeline.run:run_job"
POLL_SECONDS = 0.05
JOB_TIMEOUT_SECONDS = 900.0
TERMINAL = frozenset({pb.JOB_STATUS_COMPLETED, pb.JOB_STATUS_FAILED, pb.JOB_STATUS_CANCELLED})


@dataclass(frozen=True)
class JobRun:
    """One job as a client saw it."""

    job_id: str
    seconds: float
    video_seconds: float
    stage_seconds: dict[str, float]


@dataclass(frozen=True)
class JobBenchResult:
    case: str
    video_seconds: float
    jobs: tuple[JobRun, ...]
    # From the first Generate to the last job completed.
    makespan_seconds: float
    usage: TreeUsage

    def as_dict(self) -> dict[str, object]:
        return {
            "case": self.case,
            "video_seconds": self.video_seconds,
            "jobs": [
                {"job_id": job.job_id, "seconds": round(job.seconds, 3), "video_seconds": job.video_seconds, "stage_seconds": job.stage_seconds}
                for job in self.jobs
            ],
            "makespan_seconds": round(self.makespan_seconds, 3),
            "job_over_video": round(self.makespan_seconds / self.video_seconds, 3),
            "peak_rss_mib": round(self.usage.peak_rss_bytes / 2**20, 1),
            "cpu_seconds": self.usage.cpu_seconds,
            "peak_processes": self.usage.peak_processes,
        }


def _request(case: Case, seed: int | None) -> pb.GenerateRequest:
    request = pb.GenerateRequest(
        brief=case.brief, industry=case.industry, duration_seconds=case.duration_seconds, platform=case.platform
    )
    request.style = case.style
    request.voice_style = case.voice_style
    if seed is not None:
        request.seed = seed
    return request


def _follow(stub: pb_grpc.RagnarokServiceStub, request: pb.GenerateRequest, runs: list[JobRun], errors: list[str]) -> None:
    """Submit one job and poll it until it ends; append its run or an error."""
    started = time.perf_counter()
    job = stub.Generate(request, timeout=30).job
    deadline = started + JOB_TIMEOUT_SECONDS
    while job.status not in TERMINAL:
        if time.perf_counter() > deadline:
            errors.append(f"job {job.job_id} did not finish within {JOB_TIMEOUT_SECONDS} s")
            return
        time.sleep(POLL_SECONDS)
        job = stub.GetJob(pb.GetJobRequest(job_id=job.job_id), timeout=30).job
    elapsed = time.perf_counter() - started
    if job.status != pb.JOB_STATUS_COMPLETED:
        errors.append(f"job {job.job_id} ended {pb.JobStatus.Name(job.status)}: {job.error}")
        return
    runs.append(JobRun(job.job_id, elapsed, job.result.duration_seconds, dict(job.result.stage_seconds)))


def bench_job(case: Case, workdir: Path) -> JobBenchResult:
    """Run `case.parallel` copies of the case at once through a fresh server; measure time, memory and CPU."""
    env = {"RAGNAROK_PIPELINE_ENTRY": REAL_PIPELINE, "RAGNAROK_MAX_CONCURRENT_JOBS": str(max(1, case.parallel))}
    with running_server(workdir / "data", env=env) as server:
        with grpc.insecure_channel(server.grpc_target) as channel:
            stub = pb_grpc.RagnarokServiceStub(channel)
            sampler = TreeSampler(server.pid).start()
            runs: list[JobRun] = []
            errors: list[str] = []
            # Different seeds give the parallel jobs different pictures, as two customers' jobs would be.
            seeds = [case.seed] if case.parallel == 1 else [(case.seed or 0) + index + 1 for index in range(case.parallel)]
            threads = [
                threading.Thread(target=_follow, args=(stub, _request(case, seed), runs, errors), name=f"job-{index}")
                for index, seed in enumerate(seeds)
            ]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            makespan = time.perf_counter() - started
            usage = sampler.stop()
        if errors:
            raise RuntimeError(f"{case.name}: " + "; ".join(errors) + f"\nserver log tail:\n{server.log()[-3000:]}")
    return JobBenchResult(case.name, float(case.duration_seconds), tuple(runs), makespan, usage)
