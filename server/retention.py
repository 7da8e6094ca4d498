"""The retention sweep: delete finished jobs and their files after a set age, and log disk use."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from server.settings import Settings
from server.store import SqliteJobStore
from server.store.sqlite import now_us

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepReport:
    """The jobs and directories one sweep removed, and the disk use measured afterwards."""

    deleted_jobs: tuple[str, ...]
    orphan_dirs: tuple[str, ...]
    job_files_bytes: int
    free_bytes: int


def directory_bytes(root: Path) -> int:
    """Sum the sizes of the regular files under `root`, skipping files that vanish while it walks."""
    total = 0
    for directory, _, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(directory, name)).st_size
            except OSError:
                continue
    return total


def sweep(settings: Settings, store: SqliteJobStore, busy: Collection[str] = (), now: int | None = None) -> SweepReport:
    """Delete jobs that finished longer ago than the retention settings, then their files.

    Directories under jobs_dir that belong to no stored job (left by a deleted job or
    a crash between steps) are removed too, except those in `busy`, the jobs this
    process is running. Files are removed with ignore_errors, so a file that cannot be
    deleted stays until a later sweep.
    """
    current = now_us() if now is None else now
    deleted = store.delete_finished(
        finished_before_us=current - int(settings.job_retention_seconds * 1_000_000),
        request_ids_before_us=current - int(settings.request_id_retention_seconds * 1_000_000),
    )
    jobs_dir = settings.jobs_dir
    for job_id in deleted:
        shutil.rmtree(jobs_dir / job_id, ignore_errors=True)

    orphans: list[str] = []
    if jobs_dir.is_dir():
        known = store.job_ids()
        for entry in jobs_dir.iterdir():
            if entry.name in known or entry.name in busy:
                continue
            orphans.append(entry.name)
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)

    used = directory_bytes(jobs_dir) if jobs_dir.is_dir() else 0
    try:
        free = shutil.disk_usage(jobs_dir if jobs_dir.is_dir() else settings.data_dir).free
    except OSError:
        free = -1
    if deleted or orphans:
        logger.info("Retention sweep deleted %d finished jobs and %d orphaned directories", len(deleted), len(orphans))
    logger.info("Disk use: job files %d bytes in %s, %d bytes free", used, jobs_dir, free)
    return SweepReport(tuple(deleted), tuple(orphans), used, free)
