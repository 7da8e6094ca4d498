"""Code that runs inside a job's worker process, forked from multiprocessing's forkserver.

The worker writes progress, warnings and the outcome straight to the job store
under its lease token, so a worker whose lease was taken away (cancelled, timed
out, requeued) can no longer change the job. The worker also renews its own
lease from a thread: a worker that is paused or wedged stops renewing, its lease
expires and the job is requeued, and when it resumes it finds its lease gone
and stops. The same thread stops the worker when its server process has died.

The forkserver imports this module and the pipeline entry's module once (see
preload_modules), so a new worker starts without paying for those imports.
"""

from __future__ import annotations

import errno
import importlib
import json
import logging
import multiprocessing
import os
import shutil
import signal
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

from server.store import Lease, SqliteJobStore, StaleLease
from server.store.sqlite import now_us

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Same-stage reports without a message closer together than this are dropped, so a
# stage that reports every frame does not turn into one database write per frame.
MIN_REPORT_INTERVAL_SECONDS = 0.1
# The stage named in errors raised before the pipeline reports its first stage.
STARTING_STAGE = "start"
# A failure with less free space than this on the job's disk is reported as a full disk.
DISK_FULL_FREE_BYTES = 1024 * 1024
# Sent by the lease thread to the worker's main thread when the lease is gone.
LEASE_LOST_SIGNAL = signal.SIGUSR1
# Modules every worker imports, whatever the pipeline entry.
WORKER_MODULES = ("server.worker_process", "pipeline.models", "pipeline.errors")


class LeaseLost(StaleLease):
    """Raised in the worker's main thread when its lease thread found the lease gone."""


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker process needs. It must pickle, because the server sends it to the worker through a pipe."""

    database_path: Path
    workdir: Path
    lease: Lease
    pipeline_entry: str
    request: dict[str, Any]
    pipeline_config: Any
    # When the first attempt at the job started, microseconds since the epoch.
    started_us: int
    log_level: int = logging.INFO
    # How long each renewal extends the lease, and how often the worker renews it.
    lease_seconds: float = 30.0
    heartbeat_seconds: float = 5.0


def server_is_alive() -> bool:
    """Return whether the server process that started this worker still runs.

    os.getppid() cannot tell, because the worker's parent is the forkserver, and in
    CPython 3.11 the forkserver outlives a killed server for as long as any worker it
    forked runs (each worker keeps the forkserver's "alive" pipe open). multiprocessing
    gives the worker a parent sentinel instead: a pipe whose write end only the server
    has open, so it turns readable once the server exits or drops the worker's Process
    object. Outside a multiprocessing child (run_worker called directly) this returns True.
    """
    parent = multiprocessing.parent_process()
    return parent is None or parent.is_alive()


class LeaseKeeper:
    """Renews the worker's lease from a daemon thread until the job ends or the lease is lost.

    The store rejects a renewal when the job was cancelled, timed out or requeued to
    another attempt. In that case, or when the server process that started the worker
    is gone (see server_is_alive), the keeper sends LEASE_LOST_SIGNAL to the main
    thread. Its handler raises LeaseLost, so even a pipeline stage that never reports
    progress stops.

    NOTE: a worker paused inside a store write transaction keeps SQLite's write lock,
    which blocks every other writer (the reaper included) until it resumes or dies.
    Leases cannot cover that case. Only stopping the process releases the lock.
    """

    def __init__(self, store: SqliteJobStore, spec: WorkerSpec) -> None:
        self._store = store
        self._spec = spec
        self._lease = spec.lease
        self._done = threading.Event()
        # Held around each renewal and around the attempt's final write, so the keeper never
        # mistakes the lease that the worker's own complete() or fail() released for a lost one.
        self._lock = threading.Lock()
        self.lost_reason = ""
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()

    def final_write(self, write: Callable[[], T]) -> T:
        """Run the attempt's last store write (complete or fail), then stop renewing."""
        with self._lock:
            result = write()
            self._done.set()
            return result

    def _run(self) -> None:
        while not self._done.wait(self._spec.heartbeat_seconds):
            with self._lock:
                if self._done.is_set() or not self._renew():
                    return

    def _renew(self) -> bool:
        """Renew the lease once; return False once the lease is lost."""
        job_id = self._lease.job_id
        if not server_is_alive():
            self._lose("its server process exited")
            return False
        try:
            self._lease = self._store.heartbeat(self._lease, self._spec.lease_seconds)
        except StaleLease:
            self._lose("the job was cancelled, timed out or given to another attempt")
            return False
        except sqlite3.Error as error:
            # A locked or briefly unwritable database: the lease still has time, so retry next beat.
            logger.warning("Job %s: lease renewal failed (%s); retrying", job_id, error)
        return True

    def _lose(self, reason: str) -> None:
        if self._done.is_set():
            return
        self.lost_reason = reason
        logger.warning("Job %s: attempt %d lost its lease: %s; stopping", self._lease.job_id,
                       self._lease.attempt, reason)
        os.kill(os.getpid(), LEASE_LOST_SIGNAL)


class StoreReporter:
    """JobReporter that records each report in the job store under the worker's lease."""

    def __init__(self, store: SqliteJobStore, lease: Lease) -> None:
        self._store = store
        self._lease = lease
        self._last_report = 0.0
        self.stage = STARTING_STAGE

    def _check_server(self) -> None:
        # A worker whose server died stops at its next report instead of running on unsupervised.
        if not server_is_alive():
            raise StaleLease(self._lease.job_id)

    def progress(self, stage: str, percent: float, message: str = "") -> None:
        self._check_server()
        now = time.monotonic()
        if stage == self.stage and not message and now - self._last_report < MIN_REPORT_INTERVAL_SECONDS:
            return
        self._last_report = now
        self.stage = stage
        self._store.report_progress(self._lease, stage, percent, message)

    def warning(self, stage: str, message: str) -> None:
        self._check_server()
        logger.warning("Job %s: %s: %s", self._lease.job_id, stage, message)
        self._store.add_warning(self._lease, stage, message)


def preload_modules(pipeline_entry: str) -> list[str]:
    """Return the modules a worker for `pipeline_entry` ("module:function") imports before its job starts."""
    entry_module = pipeline_entry.partition(":")[0]
    return list(dict.fromkeys([*WORKER_MODULES, entry_module]))


def load_entry(dotted: str) -> Callable[..., Any]:
    """Import "module:function" and return the function."""
    module_name, _, function_name = dotted.partition(":")
    module = importlib.import_module(module_name)
    entry = getattr(module, function_name)
    if not callable(entry):
        raise TypeError(f"{dotted} is not callable")
    return entry  # type: ignore[no-any-return]


def _relative_file(path: Path, workdir: Path, name: str) -> dict[str, Any] | None:
    resolved = (workdir / path).resolve() if not path.is_absolute() else path.resolve()
    root = workdir.resolve()
    if not resolved.is_relative_to(root):
        raise ValueError(f"the pipeline returned {name} {str(path)!r}, which lies outside the job directory")
    if not resolved.is_file():
        return None
    return {"path": resolved.relative_to(root).as_posix(), "size": resolved.stat().st_size}


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def build_result(output: Any, workdir: Path, started_us: int) -> dict[str, Any]:
    """Turn a pipeline.models.JobOutput into the JSON result stored with the job."""
    artifacts: dict[str, dict[str, Any]] = {}
    for name, path in (
        ("ARTIFACT_VIDEO", output.video_path),
        ("ARTIFACT_THUMBNAIL", output.thumbnail_path),
        ("ARTIFACT_CAPTIONS_SRT", output.srt_path),
        ("ARTIFACT_CAPTIONS_VTT", output.vtt_path),
    ):
        entry = _relative_file(Path(path), workdir, name)
        if entry is not None:
            artifacts[name] = entry
    if "ARTIFACT_VIDEO" not in artifacts:
        raise ValueError(f"the pipeline reported the video {str(output.video_path)!r}, but no such file exists")
    scenes = [
        {
            "index": scene.index,
            "start_seconds": scene.start,
            "duration_seconds": scene.duration,
            "narration": scene.narration,
            "on_screen_text": scene.on_screen_text,
            "visual_direction": scene.visual_direction,
            "transition": scene.transition,
            "kind": scene.kind,
        }
        for scene in output.storyboard.scenes
    ]
    return {
        "artifacts": artifacts,
        "script": output.script,
        "duration_seconds": float(output.duration_seconds),
        "cost_usd": float(output.cost_usd),
        "generation_time_seconds": (now_us() - started_us) / 1_000_000,
        "storyboard": scenes,
        "palette": output.palette.as_list(),
        "style": output.style,
        "voice": output.voice,
        "stage_seconds": {str(key): float(value) for key, value in output.stage_seconds.items()},
        "warnings": list(output.warnings),
        "details": _json_safe(dict(output.details)),
    }


def _exception_chain(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def disk_is_full(error: BaseException, workdir: Path) -> bool:
    """Return whether `error` came from a full disk: ENOSPC in its chain, or almost no space left."""
    for item in _exception_chain(error):
        if isinstance(item, OSError) and item.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "No space left on device" in str(item) or "database or disk is full" in str(item):
            return True
    try:
        return shutil.disk_usage(workdir).free < DISK_FULL_FREE_BYTES
    except OSError:
        return False


def _failure_message(error: BaseException, stage: str, disk_full: bool) -> tuple[str, str]:
    from pipeline.errors import StageError

    if isinstance(error, StageError):
        stage = error.stage
    if disk_full:
        return stage, (
            f"{stage} failed: the server ran out of disk space while writing the job's files; "
            "the partial files were removed, so submit the job again once an operator frees space"
        )
    if isinstance(error, StageError):
        return stage, str(error)
    detail = str(error) or "no message"
    return stage, f"{stage} failed: {type(error).__name__}: {detail}"


def _remove_partial_files(workdir: Path) -> None:
    for child in workdir.iterdir() if workdir.is_dir() else ():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _raise_lease_lost(signum: int, frame: Any) -> None:
    raise LeaseLost("")


def _stop_own_children() -> None:
    """Stop the tools (ffmpeg) this worker started; they share its process group."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        os.killpg(0, signal.SIGTERM)
    except OSError:
        pass


def run_worker(spec: WorkerSpec) -> None:
    """Run one attempt at one job and store its outcome; the target of the worker process."""
    logging.basicConfig(
        level=spec.log_level, stream=sys.stderr,
        format=f"%(asctime)s %(levelname)s worker[{spec.lease.job_id}] %(name)s: %(message)s",
    )
    # Lead a process group of our own, so stopping the job also stops the tools it runs (ffmpeg).
    os.setpgid(0, 0)
    store = SqliteJobStore(spec.database_path)
    reporter = StoreReporter(store, spec.lease)
    keeper = LeaseKeeper(store, spec)
    signal.signal(LEASE_LOST_SIGNAL, _raise_lease_lost)
    keeper.start()
    job_id = spec.lease.job_id
    try:
        _run_attempt(spec, store, reporter, keeper)
    except StaleLease:
        logger.info("Job %s: lease no longer held (cancelled, timed out or requeued); attempt %d stopped "
                    "without writing", job_id, spec.lease.attempt)
        _stop_own_children()
    finally:
        keeper.stop()
        # A late signal from the lease thread must not interrupt the interpreter's exit.
        signal.signal(LEASE_LOST_SIGNAL, signal.SIG_IGN)


def _run_attempt(spec: WorkerSpec, store: SqliteJobStore, reporter: StoreReporter, keeper: LeaseKeeper) -> None:
    job_id = spec.lease.job_id
    try:
        from pipeline.models import JobRequest

        entry = load_entry(spec.pipeline_entry)
        request = JobRequest(**spec.request)
        logger.info("Job %s: attempt %d started with %s", job_id, spec.lease.attempt, spec.pipeline_entry)
        output = entry(request, spec.workdir, spec.pipeline_config, reporter)
        result = build_result(output, spec.workdir, spec.started_us)
        keeper.final_write(lambda: store.complete(spec.lease, result, tuple(output.warnings)))
        logger.info("Job %s completed", job_id)
    except StaleLease:
        raise
    except Exception as error:  # noqa: BLE001 - every pipeline failure must end the job as failed
        disk_full = disk_is_full(error, spec.workdir)
        stage, message = _failure_message(error, reporter.stage, disk_full)
        if type(error).__name__ == "StageError":
            logger.warning("Job %s failed: %s", job_id, message)
        else:
            logger.exception("Job %s failed in stage %s", job_id, stage)
        if disk_full:
            _remove_partial_files(spec.workdir)
        try:
            keeper.final_write(lambda: store.fail(spec.lease, stage, message))
        except StaleLease:
            logger.info("Job %s: lease no longer held; failure not recorded", job_id)

