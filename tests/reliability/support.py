"""Helpers for the reliability tests: worker processes, server resources and a tmpfs-backed server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sqlite3
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from pathlib import Path

import grpc
import psutil
from google.rpc import error_details_pb2, status_pb2
from ragnarok.v1 import ragnarok_pb2 as pb
from ragnarok.v1 import ragnarok_pb2_grpc as pb_grpc

from tests.support.servers import REPO_ROOT, ServerHandle, ServerStartError, _wait_serving, server_env

# Generous bound for a process to appear or go away on a loaded CI machine.
PROCESS_WAIT_SECONDS = 20.0
# Lease settings that make lost workers visible within seconds.
SHORT_LEASE_ENV = {"RAGNAROK_LEASE_SECONDS": "1.5", "RAGNAROK_HEARTBEAT_SECONDS": "0.3"}


def forkserver_process(server_pid: int) -> psutil.Process | None:
    """The multiprocessing forkserver a server started to fork its job workers, if it runs."""
    for child in psutil.Process(server_pid).children():
        with contextlib.suppress(psutil.Error):
            if "multiprocessing.forkserver" in " ".join(child.cmdline()):
                return child
    return None


def worker_processes(server_pid: int) -> list[psutil.Process]:
    """The job worker processes a server started: the live children of its forkserver."""
    forkserver = forkserver_process(server_pid)
    if forkserver is None:
        return []
    workers = []
    for child in forkserver.children():
        with contextlib.suppress(psutil.Error):
            if child.status() != psutil.STATUS_ZOMBIE:
                workers.append(child)
    return workers


async def wait_for_worker(server_pid: int, timeout: float = PROCESS_WAIT_SECONDS) -> psutil.Process:
    deadline = time.monotonic() + timeout
    while True:
        workers = worker_processes(server_pid)
        if workers:
            return workers[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"server {server_pid} started no worker process in {timeout} s")
        await asyncio.sleep(0.05)


async def wait_gone(process: psutil.Process, timeout: float = PROCESS_WAIT_SECONDS) -> None:
    """Wait until `process` has exited (or is a zombie not yet reaped)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"process {process.pid} still running after {timeout} s")
        await asyncio.sleep(0.05)


async def wait_progress(
    stub: pb_grpc.RagnarokServiceStub, job_id: str, at_least: float, timeout: float = 60.0
) -> pb.Job:
    deadline = time.monotonic() + timeout
    while True:
        job = (await stub.GetJob(pb.GetJobRequest(job_id=job_id))).job
        if job.status == pb.JOB_STATUS_RUNNING and job.progress >= at_least:
            return job
        if job.status not in (pb.JOB_STATUS_PENDING, pb.JOB_STATUS_RUNNING) or time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} never reached {at_least}% while running: {job}")
        await asyncio.sleep(0.02)


def open_fds(pid: int) -> int:
    return psutil.Process(pid).num_fds()


def rss_bytes(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss)


async def events_after_queued(stub: pb_grpc.RagnarokServiceStub, job_id: str) -> list[pb.JobEvent]:
    """A job's event log from sequence 2 on (sequence 1 is always QUEUED), read to its terminal event."""
    call = stub.WatchJob(pb.WatchJobRequest(job_id=job_id, after_sequence=1), timeout=60)
    return [reply.event async for reply in call][1:]


def can_mount_tmpfs() -> bool:
    """Whether this machine lets an unprivileged user namespace mount a tmpfs (`unshare -rm`)."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True, check=False,
    )
    return probe.returncode == 0


@contextlib.contextmanager
def server_on_small_disk(
    data_dir: Path, size: str, *, extra_args: Sequence[str] = (), env: Mapping[str, str] | None = None,
) -> Iterator[ServerHandle]:
    """Run `ragnarok serve` in a private mount namespace whose data_dir/jobs is a tmpfs of `size`.

    The database stays on the ordinary disk, so only the job files run out of space.
    Stopped with SIGTERM when the block ends.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    jobs_dir = data_dir / "jobs"
    jobs_dir.mkdir(exist_ok=True)
    ready_file = data_dir.parent / f"{data_dir.name}.ready.json"
    log_path = data_dir.parent / f"{data_dir.name}.server.log"
    serve = [
        sys.executable, "-m", "server", "serve", "--grpc-port", "0", "--http-port", "0", "--no-http",
        "--data-dir", str(data_dir), "--ready-file", str(ready_file), *extra_args,
    ]
    script = f'mount -t tmpfs -o size={size} tmpfs "$1" && shift && exec "$@"'
    command = ["unshare", "-rm", "sh", "-c", script, "sh", str(jobs_dir), *serve]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=server_env(env), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not ready_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise ServerStartError(f"server on tmpfs did not start:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.05)
        ready = json.loads(ready_file.read_text())
        target = f"127.0.0.1:{ready['grpc_port']}"
        _wait_serving(target, deadline)
        yield ServerHandle(grpc_target=target, http_base_url=None, data_dir=data_dir, pid=ready["pid"],
                           process=process, log_path=log_path)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def wait_attempt(stub: pb_grpc.RagnarokServiceStub, job_id: str, attempt: int, timeout: float = 60.0) -> pb.Job:
    """Wait until the job reaches `attempt` (or ends); return it."""
    deadline = time.monotonic() + timeout
    while True:
        job = (await stub.GetJob(pb.GetJobRequest(job_id=job_id))).job
        if job.attempt >= attempt or job.status in (pb.JOB_STATUS_COMPLETED, pb.JOB_STATUS_FAILED,
                                                    pb.JOB_STATUS_CANCELLED):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still on attempt {job.attempt} after {timeout} s")
        await asyncio.sleep(0.02)


def _write_lock_free(database: Path) -> bool:
    connection = sqlite3.connect(database, timeout=0.2, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        connection.close()


async def pause_outside_transaction(processes: Sequence[psutil.Process], database: Path) -> None:
    """SIGSTOP `processes` at a moment none of them holds the database's write lock.

    A process stopped inside a write transaction would block every writer until it
    resumes, which is a different fault from the lost worker these tests stage.
    """
    for _ in range(50):
        for process in processes:
            process.send_signal(signal.SIGSTOP)
        if _write_lock_free(database):
            return
        for process in reversed(processes):
            process.send_signal(signal.SIGCONT)
        await asyncio.sleep(0.05)
    raise AssertionError("could not pause the processes outside a write transaction")


def error_details(error: grpc.aio.AioRpcError) -> list[Any]:
    """Unpack the google.rpc.Status details (BadRequest, ErrorInfo, RetryInfo) a failed call carried."""
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            unpacked = []
            for detail in status.details:
                for message_type in (error_details_pb2.BadRequest, error_details_pb2.ErrorInfo,
                                     error_details_pb2.RetryInfo):
                    if detail.Is(message_type.DESCRIPTOR):
                        message = message_type()
                        detail.Unpack(message)
                        unpacked.append(message)
            return unpacked
    return []


def bad_fields(error: grpc.aio.AioRpcError) -> list[str]:
    """The field names of the BadRequest detail of an INVALID_ARGUMENT error."""
    for detail in error_details(error):
        if isinstance(detail, error_details_pb2.BadRequest):
            return [violation.field for violation in detail.field_violations]
    return []
