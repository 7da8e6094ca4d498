"""The worker supervisor: claims pending jobs and runs each in its own worker process.

The supervisor runs on a thread of the server process, never on the event loop.
Each worker renews its own lease (see worker_process.LeaseKeeper), so a worker
that is paused or wedged loses its job once the lease expires. The supervisor
stops a worker whose job was cancelled, ran out of time or went to another
attempt, requeues jobs whose worker was lost in any process sharing the store,
and runs the retention sweep. When the server stops, it hands running jobs back
to the queue.

Workers are forked from multiprocessing's forkserver, a fresh interpreter that the
supervisor starts with the server. The forkserver has already imported the worker
and pipeline modules, so a job skips those imports, and it inherits none of the
server's gRPC threads.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import multiprocessing
import multiprocessing.forkserver
import multiprocessing.process
import os
import shutil
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from server.retention import sweep
from server.settings import Settings
from server.store import JobNotFound, JobRecord, JobStatus, Lease, SqliteJobStore, StaleLease
from server.worker_process import WorkerSpec, preload_modules, run_worker

logger = logging.getLogger(__name__)

# How often the supervisor looks for new jobs, cancellations and expired leases.
POLL_SECONDS = 0.1
# Time a worker gets to exit after SIGTERM before it is killed.
TERMINATE_GRACE_SECONDS = 0.5
# Time a worker gets to exit on its own after it stored the job's outcome.
EXIT_AFTER_OUTCOME_SECONDS = 5.0
# Tries at forking one worker, each after restarting a forkserver that exited.
FORK_TRIES = 5
# Wait before the second try, doubled before each later one (0.1 + 0.2 + 0.4 + 0.8 s at most).
FORK_RETRY_SECONDS = 0.1


@dataclass
class _RunningJob:
    lease: Lease
    # Kept until the worker has exited: dropping it closes the pipe through which the
    # worker learns that its server is alive (worker_process.server_is_alive).
    process: multiprocessing.process.BaseProcess
    workdir: Path
    started_at: float
    stage: str = ""
    stage_started_at: float = 0.0
    finished_at: float | None = None
    stopped: bool = field(default=False)


def _signal_group(process: multiprocessing.process.BaseProcess, sig: signal.Signals) -> None:
    """Signal the worker's process group, or only the worker while it has not formed its group yet."""
    assert process.pid is not None
    try:
        if os.getpgid(process.pid) == process.pid:
            os.killpg(process.pid, sig)
            return
    except ProcessLookupError:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, sig)


def job_workdir(settings: Settings, job_id: str) -> Path:
    return settings.jobs_dir / job_id


class Supervisor:
    """Runs up to settings.max_concurrent_jobs jobs at once, each in a process forked by the forkserver."""

    def __init__(self, settings: Settings, store: SqliteJobStore) -> None:
        self._settings = settings
        self._store = store
        self._context = multiprocessing.get_context("forkserver")
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._running: dict[str, _RunningJob] = {}
        # Workers whose attempt is over (outcome stored, or lease lost) but whose process
        # has not exited yet; they no longer count against max_concurrent_jobs.
        self._retiring: list[_RunningJob] = []
        self._next_sweep = 0.0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._start_forkserver()
        self._thread = threading.Thread(target=self._run, name="ragnarok-supervisor", daemon=True)
        self._thread.start()
        logger.info("Supervisor %s started: up to %d concurrent jobs", self.worker_id, self._settings.max_concurrent_jobs)

    def _start_forkserver(self) -> None:
        """Start the forkserver now, so it imports the worker's modules before the first job arrives.

        The forkserver is one per server process. If it already runs (a second Supervisor
        in the same process), it keeps the modules it preloaded first, and a worker imports
        a different pipeline entry's module itself when its job starts.
        """
        modules = preload_modules(self._settings.pipeline_entry)
        self._context.set_forkserver_preload(modules)
        multiprocessing.forkserver.ensure_running()
        logger.info("Worker forkserver started with preloaded modules %s", ", ".join(modules))

    def wake(self) -> None:
        """Make the supervisor look at the store now, for example right after a cancel."""
        self._wake.set()

    def stop(self) -> None:
        """Stop every worker, hand its job back to the queue and end the supervisor thread."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()

    def worker_pids(self) -> dict[str, int | None]:
        return {job_id: running.process.pid for job_id, running in list(self._running.items())}

    # The supervisor thread

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._tick()
            except Exception:  # noqa: BLE001 - the supervisor must outlive a failed round
                logger.exception("Supervisor round failed; retrying")
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
        self._release_all()

    def _tick(self) -> None:
        # The reaper: runs on the first round after start-up and on every round after it.
        for outcome in self._store.requeue_expired(self._settings.max_attempts):
            logger.warning("Job %s: lease expired; now %s (attempt %d)", outcome.job_id, outcome.status.value, outcome.attempt)
        for job_id in list(self._running):
            self._check(self._running[job_id])
        self._reap_retiring()
        if time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + self._settings.retention_sweep_seconds
            sweep(self._settings, self._store, busy=set(self._running))
        while len(self._running) < self._settings.max_concurrent_jobs and not self._stopping.is_set():
            lease = self._store.claim_next(self.worker_id, self._settings.lease_seconds)
            if lease is None:
                break
            self._launch(lease)

    def _launch(self, lease: Lease) -> None:
        job = self._store.get_job(lease.job_id)
        workdir = job_workdir(self._settings, lease.job_id)
        # An earlier attempt of this job still exiting here must not write into the new attempt's files.
        # NOTE: a stale attempt in another server process sharing this data directory is not
        # stopped here. Its store writes are rejected, but files it writes before its next
        # store call land in this attempt's directory.
        for old in [item for item in self._retiring if item.lease.job_id == lease.job_id]:
            self._stop_process(old)
            self._retiring.remove(old)
        try:
            # A new attempt starts from an empty directory: nothing from a lost attempt leaks in.
            shutil.rmtree(workdir, ignore_errors=True)
            workdir.mkdir(parents=True)
            process = self._start_worker(lease, job, workdir)
        except OSError as error:
            self._fail_launch(lease, error)
            return
        self._running[lease.job_id] = _RunningJob(
            lease=lease, process=process, workdir=workdir, started_at=time.monotonic(), stage=job.stage,
            stage_started_at=time.monotonic(),
        )
        logger.info("Job %s: attempt %d started in worker process %s", lease.job_id, lease.attempt, process.pid)

    def _fail_launch(self, lease: Lease, error: OSError) -> None:
        logger.error("Job %s: could not start its worker: %s", lease.job_id, error)
        reason = ("the server ran out of disk space" if error.errno in (errno.ENOSPC, errno.EDQUOT)
                  else "the server could not prepare the job")
        try:
            self._store.fail(lease, "start", f"start failed: {reason}; submit the job again later")
        except StaleLease:
            pass

    def _start_worker(self, lease: Lease, job: JobRecord, workdir: Path) -> multiprocessing.process.BaseProcess:
        spec = WorkerSpec(
            database_path=self._settings.database_path.resolve(),
            workdir=workdir.resolve(),
            lease=lease,
            pipeline_entry=self._settings.pipeline_entry,
            request={
                "brief": job.brief,
                "industry": job.industry,
                "duration_seconds": job.duration_seconds,
                "platform": job.platform,
                "style": job.style,
                "voice_style": job.voice_style,
                "seed": job.seed,
            },
            pipeline_config=self._settings.pipeline,
            started_us=job.started_us or job.created_us,
            log_level=logging.getLogger().getEffectiveLevel(),
            lease_seconds=self._settings.lease_seconds,
            heartbeat_seconds=self._settings.heartbeat_seconds,
        )
        return self._fork_worker(spec)

    def _fork_worker(self, spec: WorkerSpec) -> multiprocessing.process.BaseProcess:
        """Start a worker process for `spec`, restarting the forkserver if it has exited."""
        job_id = spec.lease.job_id
        failure: Exception | None = None
        for attempt in range(FORK_TRIES):
            if attempt:
                # multiprocessing restarts a forkserver only once it has reaped the old one. Until
                # then a request is refused at once, so give the old one time to exit.
                time.sleep(FORK_RETRY_SECONDS * 2 ** (attempt - 1))
            process = self._context.Process(target=run_worker, args=(spec,), name=f"ragnarok-worker-{job_id}")
            try:
                process.start()
                return process
            except (EOFError, ConnectionError) as error:
                # The forkserver exited before it forked the worker, or while it was being handed
                # the request (refused, reset or broken pipe). A preloaded module that raises
                # anything but ImportError at import does that, and would do it again in every restart,
                # so the restarted forkserver preloads nothing. The worker then imports the pipeline
                # itself, and an import error fails the job with its message.
                failure = error
                logger.warning("Job %s: the worker forkserver exited before starting the worker (%s: %s). "
                               "Restarting it without preloaded modules, so workers start slower",
                               job_id, type(error).__name__, str(error) or "no message")
                self._context.set_forkserver_preload([])
        raise OSError(f"the worker forkserver exited {FORK_TRIES} times before starting a worker: {failure}")

    def _check(self, running: _RunningJob) -> None:
        job_id = running.lease.job_id
        try:
            job = self._store.get_job(job_id)
        except JobNotFound:
            self._stop_process(running)
            del self._running[job_id]
            return
        now = time.monotonic()

        if job.status is JobStatus.CANCELLED:
            self._stop_process(running)
            shutil.rmtree(running.workdir, ignore_errors=True)
            del self._running[job_id]
            logger.info("Job %s cancelled: worker stopped and its files removed", job_id)
            return

        if not running.process.is_alive():
            running.process.join()
            del self._running[job_id]
            if job.status is JobStatus.RUNNING:
                # When the forkserver dies, multiprocessing reports its workers as exited with
                # code 255 although they still run, so stop the group before the job moves on.
                self._stop_process(running)
                self._worker_lost(running, f"its worker process exited with code {running.process.exitcode}")
            return

        if job.status is not JobStatus.RUNNING or job.attempt != running.lease.attempt:
            # The worker stored the outcome, or its lease expired and the job went back to the
            # queue or to another attempt. Either way it should exit by itself; it gets a grace
            # period and is stopped after that.
            if job.status is not JobStatus.COMPLETED and job.status is not JobStatus.FAILED:
                logger.warning("Job %s: attempt %d lost its lease (job now %s, attempt %d)", job_id,
                               running.lease.attempt, job.status.value, job.attempt)
            running.finished_at = now
            del self._running[job_id]
            self._retiring.append(running)
            return

        if job.stage != running.stage:
            running.stage = job.stage
            running.stage_started_at = now
        if now - running.started_at > self._settings.job_timeout_seconds:
            self._time_out(running, f"job timed out after {self._settings.job_timeout_seconds:g} seconds "
                           f"(RAGNAROK_JOB_TIMEOUT_SECONDS) while in stage {job.stage or 'start'}")
            return
        if now - running.stage_started_at > self._settings.stage_timeout_seconds:
            stage = job.stage or "start"
            self._time_out(running, f"{stage} failed: the stage timed out after "
                           f"{self._settings.stage_timeout_seconds:g} seconds (RAGNAROK_STAGE_TIMEOUT_SECONDS)")
            return

    def _reap_retiring(self) -> None:
        now = time.monotonic()
        for running in list(self._retiring):
            if not running.process.is_alive():
                running.process.join()
                self._retiring.remove(running)
            elif running.finished_at is not None and now - running.finished_at > EXIT_AFTER_OUTCOME_SECONDS:
                logger.warning("Job %s: worker %s of attempt %d did not exit; stopping it", running.lease.job_id,
                               running.process.pid, running.lease.attempt)
                self._stop_process(running)
                self._retiring.remove(running)

    def _time_out(self, running: _RunningJob, error: str) -> None:
        job_id = running.lease.job_id
        self._stop_process(running)
        del self._running[job_id]
        try:
            self._store.fail(running.lease, running.stage or "start", error)
            logger.warning("Job %s failed: %s", job_id, error)
        except StaleLease:
            logger.info("Job %s finished before its timeout was recorded", job_id)

    def _worker_lost(self, running: _RunningJob, reason: str) -> None:
        job_id = running.lease.job_id
        try:
            outcome = self._store.release(running.lease, reason, self._settings.max_attempts)
        except StaleLease:
            return
        logger.warning("Job %s: %s; now %s (attempt %d)", job_id, reason, outcome.status.value, outcome.attempt)

    @staticmethod
    def _stop_process(running: _RunningJob) -> None:
        process = running.process
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if not process.is_alive():
                break
            _signal_group(process, sig)
            process.join(TERMINATE_GRACE_SECONDS)
        if process.pid is not None:
            # Reach the tools the worker started even after the worker itself exited.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        running.stopped = True

    def _release_all(self) -> None:
        for running in self._retiring:
            self._stop_process(running)
        self._retiring.clear()
        for job_id, running in list(self._running.items()):
            self._stop_process(running)
            try:
                self._store.release(running.lease, "the server shut down", max_attempts=None)
                logger.info("Job %s handed back to the queue at shutdown", job_id)
            except StaleLease:
                pass
            del self._running[job_id]
