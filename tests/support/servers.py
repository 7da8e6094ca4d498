"""Start a real `ragnarok serve` process for tests and stop it afterwards.

    with running_server(tmp_path / "data") as handle:
        channel = grpc.aio.insecure_channel(handle.grpc_target)

The server binds free ports (port 0), reports them through --ready-file, and is
only handed out once its health check returns SERVING. By default it runs the
pipeline double from tests/support/pipeline_double.py; pass
env={"RAGNAROK_PIPELINE_ENTRY": "pipeline.run:run_job"} for the real pipeline.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

REPO_ROOT = Path(__file__).resolve().parents[2]
PIPELINE_DOUBLE_ENTRY = "tests.support.pipeline_double:run_job"
STARTUP_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 30.0


class ServerStartError(RuntimeError):
    pass


@dataclass
class ServerHandle:
    """A running `ragnarok serve` subprocess."""

    grpc_target: str
    # None when the server runs without the REST gateway (--no-http, or no gateway.app yet).
    http_base_url: str | None
    data_dir: Path
    pid: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = STOP_TIMEOUT_SECONDS) -> int:
        """Send `sig` and wait for the process to exit; return its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"server {self.pid} ignored {sig.name} for {timeout} s:\n{self.log()[-4000:]}")
        return self.process.returncode


def _wait_serving(target: str, deadline: float) -> None:
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise ServerStartError(f"health check of {target} never answered SERVING")
            time.sleep(0.05)


def server_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment the server subprocess runs with: the repository importable, the pipeline double chosen."""
    env = dict(os.environ)
    paths = [str(REPO_ROOT), str(REPO_ROOT / "protos")]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.setdefault("RAGNAROK_PIPELINE_ENTRY", PIPELINE_DOUBLE_ENTRY)
    env.update(extra or {})
    return env


@contextlib.contextmanager
def running_server(
    data_dir: Path,
    *,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    startup_timeout: float = STARTUP_TIMEOUT_SECONDS,
) -> Iterator[ServerHandle]:
    """Start `python -m server serve` on free ports with `data_dir`; stop it (SIGTERM, then SIGKILL) on exit."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    ready_file = data_dir.parent / f"{data_dir.name}.ready-{time.monotonic_ns()}.json"
    log_path = data_dir.parent / f"{data_dir.name}.server-{time.monotonic_ns()}.log"
    command = [
        sys.executable, "-m", "server", "serve",
        "--grpc-port", "0", "--http-port", "0",
        "--data-dir", str(data_dir), "--ready-file", str(ready_file),
        *extra_args,
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=server_env(env), stdout=log, stderr=subprocess.STDOUT)
    handle: ServerHandle | None = None
    try:
        deadline = time.monotonic() + startup_timeout
        while not ready_file.exists():
            if process.poll() is not None:
                raise ServerStartError(
                    f"server exited with code {process.returncode} during start-up:\n{log_path.read_text()[-4000:]}"
                )
            if time.monotonic() > deadline:
                raise ServerStartError(f"server not ready after {startup_timeout} s:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.05)
        ready = json.loads(ready_file.read_text())
        grpc_target = f"127.0.0.1:{ready['grpc_port']}"
        _wait_serving(grpc_target, deadline)
        http_port = ready.get("http_port")
        handle = ServerHandle(
            grpc_target=grpc_target,
            http_base_url=f"http://127.0.0.1:{http_port}" if http_port else None,
            data_dir=data_dir,
            pid=process.pid,
            process=process,
            log_path=log_path,
        )
        yield handle
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
