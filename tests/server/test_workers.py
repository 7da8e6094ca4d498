"""Job workers are forked from a forkserver that starts with the server and preloads the worker's modules."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import grpc
import psutil
import pytest
from ragnarok.v1 import ragnarok_pb2 as pb
from ragnarok.v1 import ragnarok_pb2_grpc as pb_grpc

from server.worker_process import preload_modules, server_is_alive
from tests.reliability.support import forkserver_process, wait_for_worker
from tests.support.jobs import submit, wait_terminal
from tests.support.pipeline_double import PID_FILE
from tests.support.servers import PIPELINE_DOUBLE_ENTRY, REPO_ROOT

NO_HTTP = ["--no-http"]


def _loads_grpc(process: psutil.Process) -> bool:
    """Whether grpcio's native module is mapped into `process`."""
    maps = Path(f"/proc/{process.pid}/maps").read_text()
    return "cygrpc" in maps


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (PIPELINE_DOUBLE_ENTRY,
         ["server.worker_process", "pipeline.models", "pipeline.errors", "tests.support.pipeline_double"]),
        ("pipeline.run:run_job", ["server.worker_process", "pipeline.models", "pipeline.errors", "pipeline.run"]),
        ("pipeline.models:JobRequest", ["server.worker_process", "pipeline.models", "pipeline.errors"]),
    ],
)
def test_preload_modules_adds_entry_module(entry: str, expected: list[str]) -> None:
    assert preload_modules(entry) == expected


def test_server_is_alive_outside_worker() -> None:
    # The pytest process was not started by multiprocessing, so it has no parent sentinel.
    assert server_is_alive()


async def test_forkserver_runs_before_first_job(server_factory) -> None:
    handle = server_factory(extra_args=NO_HTTP)

    forkserver = forkserver_process(handle.pid)
    assert forkserver is not None, handle.log()[-2000:]
    command = " ".join(forkserver.cmdline())
    for module in preload_modules(PIPELINE_DOUBLE_ENTRY):
        assert repr(module) in command
    assert forkserver.children() == []
    assert not _loads_grpc(forkserver)
    assert "Worker forkserver started with preloaded modules" in handle.log()


async def test_worker_is_forked_from_forkserver(server_factory) -> None:
    handle = server_factory(extra_args=NO_HTTP)
    forkserver = forkserver_process(handle.pid)
    assert forkserver is not None
    async with grpc.aio.insecure_channel(handle.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        job = await submit(stub, "#hang")
        worker = await wait_for_worker(handle.pid)
        pid_file = handle.data_dir / "jobs" / job.job_id / PID_FILE
        while not pid_file.exists():
            assert worker.is_running()
            await asyncio.sleep(0.05)

        assert int(pid_file.read_text()) == worker.pid
        assert worker.ppid() == forkserver.pid
        # The worker leads its own process group, so a cancel reaches the tools it runs.
        assert os.getpgid(worker.pid) == worker.pid
        assert not _loads_grpc(worker)

        await stub.CancelJob(pb.CancelJobRequest(job_id=job.job_id))
        final = await wait_terminal(stub, job.job_id)
        assert final.status == pb.JOB_STATUS_CANCELLED
        follower = await wait_terminal(stub, (await submit(stub)).job_id)
    assert follower.status == pb.JOB_STATUS_COMPLETED, follower.error
    # One forkserver serves every job of the server.
    assert forkserver_process(handle.pid) == forkserver


async def test_entry_raising_at_import_fails_jobs(server_factory, tmp_path: Path) -> None:
    # The forkserver dies preloading this module, because it only tolerates ImportError.
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "broken_entry.py").write_text('raise RuntimeError("broken at import")\n')
    env = {
        "RAGNAROK_PIPELINE_ENTRY": "broken_entry:run_job",
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "protos"), str(modules)]),
    }
    handle = server_factory(extra_args=NO_HTTP, env=env)
    async with grpc.aio.insecure_channel(handle.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        first = await wait_terminal(stub, (await submit(stub)).job_id)
        second = await wait_terminal(stub, (await submit(stub)).job_id)

    for final in (first, second):
        assert final.status == pb.JOB_STATUS_FAILED
        assert final.attempt == 1
        assert final.error == "start failed: RuntimeError: broken at import"
    assert handle.log().count("Restarting it without preloaded modules") == 1
