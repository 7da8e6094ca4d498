"""The service side: gRPC latency under 50 concurrent clients, and REST gateway throughput.

Both run against a real server with the pipeline double (tests.support.pipeline_double), so
renders do not dominate. The HTTP load comes from a small keep-alive HTTP/1.1 client written
on asyncio streams, which costs far less CPU per request than a general client library; the
same client measures the gateway and a bare FastAPI endpoint on uvicorn in the same run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
from ragnarok.v1 import ragnarok_pb2 as pb
from ragnarok.v1 import ragnarok_pb2_grpc as pb_grpc

from bench.cases import SEED_BRIEF
from bench.procs import TreeSampler
from tests.support.servers import PIPELINE_DOUBLE_ENTRY, REPO_ROOT, running_server

logger = logging.getLogger(__name__)

JOB_PATH = "/api/nexus/ragnarok/jobs/{job_id}"
READY_TIMEOUT_SECONDS = 30.0


def percentile(values: list[float], share: float) -> float:
    """Return the `share` (0..1) quantile of `values` by linear interpolation."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = share * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _latency_summary(seconds: list[float]) -> dict[str, float]:
    return {
        "count": len(seconds),
        "p50_ms": round(percentile(seconds, 0.50) * 1000, 2),
        "p99_ms": round(percentile(seconds, 0.99) * 1000, 2),
        "max_ms": round(max(seconds) * 1000, 2),
        "mean_ms": round(statistics.fmean(seconds) * 1000, 2),
    }


# ---------------------------------------------------------------- gRPC latency


async def _grpc_client(
    target: str, start: asyncio.Event, generates: int, gets: int, generate_seconds: list[float], get_seconds: list[float]
) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        await channel.channel_ready()
        stub = pb_grpc.RagnarokServiceStub(channel)
        await start.wait()
        for _ in range(generates):
            began = time.perf_counter()
            reply = await stub.Generate(pb.GenerateRequest(brief=SEED_BRIEF, duration_seconds=30), timeout=60)
            generate_seconds.append(time.perf_counter() - began)
            request = pb.GetJobRequest(job_id=reply.job.job_id)
            for _ in range(gets):
                began = time.perf_counter()
                await stub.GetJob(request, timeout=60)
                get_seconds.append(time.perf_counter() - began)


async def _grpc_load(target: str, clients: int, generates: int, gets: int) -> dict[str, object]:
    generate_seconds: list[float] = []
    get_seconds: list[float] = []
    start = asyncio.Event()
    tasks = [
        asyncio.create_task(_grpc_client(target, start, generates, gets, generate_seconds, get_seconds)) for _ in range(clients)
    ]
    await asyncio.sleep(0.5)  # every channel connected before the clock starts
    began = time.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    return {
        "clients": clients,
        "seconds": round(elapsed, 3),
        "requests_per_second": round((len(generate_seconds) + len(get_seconds)) / elapsed, 1),
        "generate": _latency_summary(generate_seconds),
        "get_job": _latency_summary(get_seconds),
    }


def bench_grpc_latency(workdir: Path, clients: int, generates: int, gets: int) -> dict[str, object]:
    """Measure Generate and GetJob latency with `clients` concurrent channels against a fresh server."""
    env = {"RAGNAROK_PIPELINE_ENTRY": PIPELINE_DOUBLE_ENTRY, "RAGNAROK_MAX_QUEUED_JOBS": str(clients * generates + 10)}
    with running_server(workdir / "grpc-data", env=env, extra_args=["--no-http"]) as server:
        sampler = TreeSampler(server.pid).start()
        result = asyncio.run(_grpc_load(server.grpc_target, clients, generates, gets))
        usage = sampler.stop()
    result["server_cpu_seconds"] = usage.cpu_seconds
    return result


# ---------------------------------------------------------------- HTTP throughput


async def _http_worker(host: str, port: int, request: bytes, count: int, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for _ in range(count):
            began = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12]
            if status != b"200":
                raise RuntimeError(f"GET returned {head[:200]!r}")
            length = None
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length is None:
                raise RuntimeError(f"response without content-length: {head[:300]!r}")
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - began)
    finally:
        writer.close()
        await writer.wait_closed()


async def _http_load(base: tuple[str, int], path: str, requests: int, concurrency: int) -> dict[str, float]:
    host, port = base
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/json\r\n\r\n".encode()
    latencies: list[float] = []
    share = [requests // concurrency + (1 if index < requests % concurrency else 0) for index in range(concurrency)]
    began = time.perf_counter()
    await asyncio.gather(*(_http_worker(host, port, request, count, latencies) for count in share))
    elapsed = time.perf_counter() - began
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 3),
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
    }


def _wait_file(path: Path, process: subprocess.Popen[bytes]) -> dict[str, int]:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while not path.exists():
        if process.poll() is not None:
            raise RuntimeError(f"bare FastAPI app exited with code {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"bare FastAPI app not ready after {READY_TIMEOUT_SECONDS} s")
        time.sleep(0.05)
    data: dict[str, int] = json.loads(path.read_text())
    return data


def _completed_job(target: str) -> str:
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        job = stub.Generate(pb.GenerateRequest(brief=SEED_BRIEF, duration_seconds=30), timeout=30).job
        deadline = time.monotonic() + 120
        while job.status != pb.JOB_STATUS_COMPLETED:
            if time.monotonic() > deadline or job.status in (pb.JOB_STATUS_FAILED, pb.JOB_STATUS_CANCELLED):
                raise RuntimeError(f"pipeline double job ended {pb.JobStatus.Name(job.status)}: {job.error}")
            time.sleep(0.05)
            job = stub.GetJob(pb.GetJobRequest(job_id=job.job_id), timeout=30).job
        return str(job.job_id)


def bench_gateway(workdir: Path, requests: int, concurrency: int, rounds: int) -> dict[str, object]:
    """Compare GET /jobs/{id} on the gateway with a bare FastAPI endpoint serving the same body."""
    env = {"RAGNAROK_PIPELINE_ENTRY": PIPELINE_DOUBLE_ENTRY}
    with running_server(workdir / "http-data", env=env) as server:
        if server.http_base_url is None:
            raise RuntimeError("the server started without its REST gateway")
        job_id = _completed_job(server.grpc_target)
        path = JOB_PATH.format(job_id=job_id)
        gateway_port = int(server.http_base_url.rsplit(":", 1)[1])
        body = asyncio.run(_fetch_body(("127.0.0.1", gateway_port), path))
        body_file = workdir / "job-body.json"
        body_file.write_bytes(body)
        ready = workdir / "bare.ready.json"
        bare = subprocess.Popen(
            [sys.executable, "-m", "bench.bare_app", "--body-file", str(body_file), "--ready-file", str(ready)], cwd=REPO_ROOT
        )
        try:
            bare_port = _wait_file(ready, bare)["port"]
            gateway_runs: list[dict[str, float]] = []
            bare_runs: list[dict[str, float]] = []
            for _ in range(rounds):
                bare_runs.append(asyncio.run(_http_load(("127.0.0.1", bare_port), path, requests, concurrency)))
                gateway_runs.append(asyncio.run(_http_load(("127.0.0.1", gateway_port), path, requests, concurrency)))
        finally:
            bare.terminate()
            bare.wait(10)
    best_gateway = max(run["requests_per_second"] for run in gateway_runs)
    best_bare = max(run["requests_per_second"] for run in bare_runs)
    return {
        "path": JOB_PATH,
        "body_bytes": len(body),
        "concurrency": concurrency,
        "gateway": gateway_runs,
        "bare_fastapi": bare_runs,
        "gateway_over_bare": round(best_gateway / best_bare, 3),
    }


async def _fetch_body(base: tuple[str, int], path: str) -> bytes:
    host, port = base
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"gateway GET {path} returned {head[:200]!r}")
    return body
