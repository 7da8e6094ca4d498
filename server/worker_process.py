"""Code that runs inside a job's worker process (started with the "spawn" method).

The worker writes progress, warnings and the outcome straight to the job store
under its lease token, so a worker whose lease was taken away (cancelled, timed
out, requeued) can no longer change the job.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from server.store import Lease, SqliteJobStore, StaleLease
from server.store.sqlite import now_us

logger = logging.getLogger(__name__)

# Same-stage reports without a message closer together than this are dropped, so a
# stage that reports every frame does not turn into one database write per frame.
MIN_REPORT_INTERVAL_SECONDS = 0.1
# The stage named in errors raised before the pipeline reports its first stage.
STARTING_STAGE = "start"


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker process needs; it must pickle, because "spawn" sends it to a new interpreter."""

    database_path: Path
    workdir: Path
    lease: Lease
    pipeline_entry: str
    request: dict[str, Any]
    pipeline_config: Any
    # When the first attempt at the job started, microseconds since the epoch.
    started_us: int
    parent_pid: int
    log_level: int = logging.INFO


class StoreReporter:
    """JobReporter that records each report in the job store under the worker's lease."""

    def __init__(self, store: SqliteJobStore, lease: Lease, parent_pid: int) -> None:
        self._store = store
        self._lease = lease
        self._parent_pid = parent_pid
        self._last_report = 0.0
        self.stage = STARTING_STAGE

    def _check_parent(self) -> None:
        # A worker whose server died stops at its next report instead of running on unsupervised.
        if os.getppid() != self._parent_pid:
            raise StaleLease(self._lease.job_id)

    def progress(self, stage: str, percent: float, message: str = "") -> None:
        self._check_parent()
        now = time.monotonic()
        if stage == self.stage and not message and now - self._last_report < MIN_REPORT_INTERVAL_SECONDS:
            return
        self._last_report = now
        self.stage = stage
        self._store.report_progress(self._lease, stage, percent, message)

    def warning(self, stage: str, message: str) -> None:
        self._check_parent()
        logger.warning("Job %s: %s: %s", self._lease.job_id, stage, message)
        self._store.add_warning(self._lease, stage, message)


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


def _failure_message(error: BaseException, stage: str) -> tuple[str, str]:
    from pipeline.errors import StageError

    if isinstance(error, StageError):
        return error.stage, str(error)
    detail = str(error) or "no message"
    return stage, f"{stage} failed: {type(error).__name__}: {detail}"


def run_worker(spec: WorkerSpec) -> None:
    """Run one attempt at one job and store its outcome; the target of the worker process."""
    logging.basicConfig(
        level=spec.log_level, stream=sys.stderr,
        format=f"%(asctime)s %(levelname)s worker[{spec.lease.job_id}] %(name)s: %(message)s",
    )
    # Lead a process group of our own, so stopping the job also stops the tools it runs (ffmpeg).
    os.setpgid(0, 0)
    store = SqliteJobStore(spec.database_path)
    reporter = StoreReporter(store, spec.lease, spec.parent_pid)
    job_id = spec.lease.job_id
    try:
        from pipeline.models import JobRequest

        entry = load_entry(spec.pipeline_entry)
        request = JobRequest(**spec.request)
        logger.info("Job %s: attempt %d started with %s", job_id, spec.lease.attempt, spec.pipeline_entry)
        output = entry(request, spec.workdir, spec.pipeline_config, reporter)
        result = build_result(output, spec.workdir, spec.started_us)
        store.complete(spec.lease, result, tuple(output.warnings))
        logger.info("Job %s completed", job_id)
    except StaleLease:
        logger.info("Job %s: lease no longer held (cancelled, timed out or requeued); stopping", job_id)
    except Exception as error:  # noqa: BLE001 - every pipeline failure must end the job as failed
        stage, message = _failure_message(error, reporter.stage)
        if type(error).__name__ == "StageError":
            logger.warning("Job %s failed: %s", job_id, message)
        else:
            logger.exception("Job %s failed in stage %s", job_id, stage)
        try:
            store.fail(spec.lease, stage, message)
        except StaleLease:
            logger.info("Job %s: lease no longer held; failure not recorded", job_id)

