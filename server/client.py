"""`ragnarok generate`: submit a brief over gRPC and follow the job with a progress bar."""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import grpc
from ragnarok.v1 import ragnarok_pb2 as pb
from ragnarok.v1 import ragnarok_pb2_grpc as pb_grpc

logger = logging.getLogger(__name__)

# A broken watch stream is resumed for this long before the command gives up.
RESUME_WINDOW_SECONDS = 120.0
RETRYABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN})
TERMINAL_STATUSES = frozenset({pb.JOB_STATUS_COMPLETED, pb.JOB_STATUS_FAILED, pb.JOB_STATUS_CANCELLED})


class GenerateError(Exception):
    """A failure the command reports in one line before exiting non-zero."""


def _rpc_error_text(error: grpc.RpcError) -> str:
    code = error.code()
    details = error.details()
    return f"{code.name}: {details}"


def _build_request(args: argparse.Namespace) -> pb.GenerateRequest:
    request = pb.GenerateRequest(
        brief=args.brief,
        industry=args.industry or "",
        duration_seconds=args.duration or 0,
        platform=args.platform or "",
        metadata_json=args.metadata or "",
        request_id=args.request_id or "",
    )
    if args.style is not None:
        request.style = args.style
    if args.voice_style is not None:
        request.voice_style = args.voice_style
    if args.seed is not None:
        if not 0 <= args.seed <= 0xFFFFFFFF:
            raise GenerateError(f"--seed must be between 0 and 4294967295, got {args.seed}")
        request.seed = args.seed
    return request


def _server_address(args: argparse.Namespace) -> str:
    if args.server:
        return str(args.server)
    return f"127.0.0.1:{os.environ.get('RAGNAROK_GRPC_PORT', '50051')}"


def _watch(stub: pb_grpc.RagnarokServiceStub, job_id: str, metadata: list[tuple[str, str]]) -> pb.Job:
    """Follow the job to its end, resuming the stream after breaks; return the final job."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    last_sequence = 0
    broken_since: float | None = None
    with Progress(
        TextColumn("[bold]{task.fields[stage]:<10}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(), TextColumn("{task.fields[status]}"),
    ) as progress:
        bar = progress.add_task(job_id, total=100, stage="queued", status="pending")
        while True:
            try:
                for message in stub.WatchJob(
                    pb.WatchJobRequest(job_id=job_id, after_sequence=last_sequence), metadata=metadata
                ):
                    broken_since = None
                    job: pb.Job = message.job
                    if message.event.type != pb.JOB_EVENT_TYPE_SNAPSHOT or last_sequence == 0:
                        last_sequence = max(last_sequence, message.event.sequence)
                    if message.event.type == pb.JOB_EVENT_TYPE_WARNING:
                        progress.console.print(f"[yellow]warning[/yellow] {message.event.stage}: {message.event.message}")
                    status = pb.JobStatus.Name(job.status).removeprefix("JOB_STATUS_").lower()
                    progress.update(bar, completed=job.progress, stage=job.stage or status, status=status)
                    if job.status in TERMINAL_STATUSES:
                        return job
                # The server ended the stream without a terminal event (it is shutting down).
                logger.debug("Watch stream ended at sequence %d; resuming", last_sequence)
            except grpc.RpcError as error:
                if error.code() not in RETRYABLE_CODES:
                    raise GenerateError(f"watching {job_id} failed: {_rpc_error_text(error)}") from None
            broken_since = broken_since or time.monotonic()
            if time.monotonic() - broken_since > RESUME_WINDOW_SECONDS:
                raise GenerateError(
                    f"lost the connection to the server while watching {job_id} and could not resume within "
                    f"{RESUME_WINDOW_SECONDS:.0f} s; the job may still finish: check it later"
                )
            progress.update(bar, status="reconnecting")
            time.sleep(1.0)


def _gateway_video_url(gateway_url: str, job_id: str, api_key: str | None) -> str | None:
    import httpx

    headers = {"x-api-key": api_key} if api_key else {}
    try:
        response = httpx.get(f"{gateway_url.rstrip('/')}/api/nexus/ragnarok/jobs/{job_id}", headers=headers, timeout=10)
        response.raise_for_status()
        result: dict[str, Any] = response.json().get("result") or {}
    except (httpx.HTTPError, ValueError) as error:
        logger.warning("Could not read the job from the gateway at %s: %s", gateway_url, error)
        return None
    url = result.get("video_url")
    return str(url) if url else None


def _print_outcome(job: pb.Job, args: argparse.Namespace) -> int:
    if job.status == pb.JOB_STATUS_FAILED:
        raise GenerateError(f"job {job.job_id} failed: {job.error}")
    if job.status == pb.JOB_STATUS_CANCELLED:
        raise GenerateError(f"job {job.job_id} was cancelled")
    print(f"Job {job.job_id} completed: {job.result.duration_seconds:.1f} s video, "
          f"generated in {job.result.generation_time_seconds:.1f} s")
    for warning in job.warnings:
        print(f"warning: {warning}")
    data_dir = args.data_dir or Path(os.environ.get("RAGNAROK_DATA_DIR", "./data"))
    job_dir = (data_dir / "jobs" / job.job_id).resolve()
    if job_dir.is_dir():
        print(f"Job directory: {job_dir}")
        video_size = job.result.artifact_sizes.get("ARTIFACT_VIDEO")
        for video in sorted(job_dir.rglob("*.mp4")):
            # The job directory also holds intermediate files; the finished video has the recorded size.
            if video.stat().st_size == video_size:
                print(f"MP4: {video}")
    if args.gateway_url:
        url = _gateway_video_url(args.gateway_url, job.job_id, args.api_key)
        if url:
            print(f"Video URL: {url}")
    return 0


def run_generate(args: argparse.Namespace) -> int:
    """Submit the brief; with --wait follow the job and print where its MP4 is."""
    request = _build_request(args)
    metadata = [("x-api-key", args.api_key)] if args.api_key else []
    address = _server_address(args)
    with grpc.insecure_channel(address) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        try:
            job = stub.Generate(request, metadata=metadata, timeout=30).job
        except grpc.RpcError as error:
            raise GenerateError(f"submitting to {address} failed: {_rpc_error_text(error)}") from None
        print(f"Job {job.job_id} queued")
        if not args.wait:
            print(json.dumps({"job_id": job.job_id, "status": "pending"}))
            return 0
        final = _watch(stub, job.job_id, metadata)
    return _print_outcome(final, args)
