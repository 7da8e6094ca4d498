"""SQLite implementation of the job store.

Every method opens its own connection, so the store can be used from any thread
and from several processes at once. WAL mode lets readers run while one writer
commits. Every write runs in a BEGIN IMMEDIATE transaction and checks the job's
current status, and the lease token for worker writes, in SQL before changing it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import logging
import math
import secrets
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from server.store.base import (
    MAX_RUNNING_PROGRESS,
    CancelOutcome,
    EventRecord,
    EventType,
    InvalidPageToken,
    InvalidTransition,
    JobNotFound,
    JobPage,
    JobRecord,
    JobStatus,
    Lease,
    NewJob,
    QueueFull,
    RequeueOutcome,
    RequestIdConflict,
    StaleLease,
)

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 15_000
# A progress report within the same stage that moves less than this and carries no
# message updates the job row but adds no event, so a chatty stage cannot flood the log.
MIN_PROGRESS_EVENT_STEP = 0.5

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    brief TEXT NOT NULL,
    industry TEXT NOT NULL,
    duration_seconds INTEGER NOT NULL,
    platform TEXT NOT NULL,
    style TEXT,
    voice_style TEXT,
    metadata_json TEXT NOT NULL DEFAULT '',
    seed INTEGER,
    progress REAL NOT NULL DEFAULT 0,
    stage TEXT NOT NULL DEFAULT '',
    attempt INTEGER NOT NULL DEFAULT 1,
    error TEXT NOT NULL DEFAULT '',
    warnings_json TEXT NOT NULL DEFAULT '[]',
    result_json TEXT,
    created_us INTEGER NOT NULL,
    updated_us INTEGER NOT NULL,
    started_us INTEGER,
    last_sequence INTEGER NOT NULL DEFAULT 0,
    request_id TEXT,
    request_hash TEXT NOT NULL DEFAULT '',
    owner_key_hash TEXT NOT NULL DEFAULT '',
    lease_owner TEXT,
    lease_token TEXT,
    lease_expires_us INTEGER,
    CHECK (progress >= 0 AND progress <= 100),
    CHECK (progress < 100 OR (status = 'completed' AND result_json IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS jobs_by_created ON jobs (created_us DESC, id DESC);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, created_us);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_by_request_id
    ON jobs (owner_key_hash, request_id) WHERE request_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs (owner_key_hash, created_us DESC);
CREATE TABLE IF NOT EXISTS events (
    job_id TEXT NOT NULL REFERENCES jobs (id),
    sequence INTEGER NOT NULL,
    type TEXT NOT NULL,
    stage TEXT NOT NULL DEFAULT '',
    progress REAL NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    PRIMARY KEY (job_id, sequence)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


def now_us() -> int:
    return time.time_ns() // 1000


def new_job_id() -> str:
    return "job_" + secrets.token_hex(6)


def _row_to_job(row: sqlite3.Row) -> JobRecord:
    return JobRecord(
        job_id=row["id"],
        status=JobStatus(row["status"]),
        brief=row["brief"],
        industry=row["industry"],
        duration_seconds=row["duration_seconds"],
        platform=row["platform"],
        style=row["style"],
        voice_style=row["voice_style"],
        metadata_json=row["metadata_json"],
        seed=row["seed"],
        progress=row["progress"],
        stage=row["stage"],
        attempt=row["attempt"],
        error=row["error"],
        warnings=tuple(json.loads(row["warnings_json"])),
        result=json.loads(row["result_json"]) if row["result_json"] else None,
        created_us=row["created_us"],
        updated_us=row["updated_us"],
        started_us=row["started_us"],
        last_sequence=row["last_sequence"],
        request_id=row["request_id"],
        owner_key_hash=row["owner_key_hash"],
        lease_owner=row["lease_owner"],
        lease_expires_us=row["lease_expires_us"],
    )


def _row_to_event(row: sqlite3.Row) -> EventRecord:
    return EventRecord(
        job_id=row["job_id"],
        sequence=row["sequence"],
        type=EventType(row["type"]),
        stage=row["stage"],
        progress=row["progress"],
        message=row["message"],
        status=JobStatus(row["status"]),
        created_us=row["created_us"],
    )


class SqliteJobStore:
    """JobStore on one SQLite database file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    # Connections and transactions

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        connection.row_factory = sqlite3.Row
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA synchronous = NORMAL")
        return connection

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        connection = self._connect()
        try:
            connection.execute("BEGIN")
            yield connection
            connection.execute("COMMIT")
        finally:
            connection.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        connection = self._connect()
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        finally:
            connection.close()

    def initialize(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = self._connect()
        try:
            # WAL is a property of the database file, so setting it once covers every connection.
            connection.execute("PRAGMA journal_mode = WAL")
            connection.executescript(_SCHEMA)
            connection.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('page_token_key', ?)",
                (secrets.token_hex(32),),
            )
        finally:
            connection.close()

    # Helpers used inside a transaction

    @staticmethod
    def _fetch_row(connection: sqlite3.Connection, job_id: str, owner: str | None = None) -> sqlite3.Row:
        """Read a job's row; a job owned by another key is reported as not found, never as forbidden."""
        row = connection.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None or (owner is not None and not hmac.compare_digest(row["owner_key_hash"], owner)):
            raise JobNotFound(job_id)
        assert isinstance(row, sqlite3.Row)
        return row

    @classmethod
    def _fetch_job(cls, connection: sqlite3.Connection, job_id: str, owner: str | None = None) -> JobRecord:
        return _row_to_job(cls._fetch_row(connection, job_id, owner))

    @staticmethod
    def _fetch_leased(connection: sqlite3.Connection, lease: Lease) -> sqlite3.Row:
        row = connection.execute(
            "SELECT * FROM jobs WHERE id = ? AND status = 'running' AND lease_token = ?",
            (lease.job_id, lease.token),
        ).fetchone()
        if row is None:
            raise StaleLease(lease.job_id)
        assert isinstance(row, sqlite3.Row)
        return row

    @staticmethod
    def _append_event(
        connection: sqlite3.Connection,
        job_id: str,
        event_type: EventType,
        *,
        stage: str,
        progress: float,
        message: str,
        status: JobStatus,
        now: int,
    ) -> EventRecord:
        row = connection.execute(
            "UPDATE jobs SET last_sequence = last_sequence + 1 WHERE id = ? RETURNING last_sequence",
            (job_id,),
        ).fetchone()
        sequence = int(row[0])
        connection.execute(
            "INSERT INTO events (job_id, sequence, type, stage, progress, message, status, created_us)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (job_id, sequence, event_type.value, stage, progress, message, status.value, now),
        )
        return EventRecord(job_id, sequence, event_type, stage, progress, message, status, now)

    def _page_token_key(self, connection: sqlite3.Connection) -> bytes:
        row = connection.execute("SELECT value FROM meta WHERE key = 'page_token_key'").fetchone()
        return bytes.fromhex(row[0])

    # Jobs

    def create_job(self, new_job: NewJob, max_queued: int) -> tuple[JobRecord, bool]:
        now = now_us()
        with self._write() as connection:
            if new_job.request_id is not None:
                row = connection.execute(
                    "SELECT * FROM jobs WHERE request_id = ? AND owner_key_hash = ?",
                    (new_job.request_id, new_job.owner_key_hash),
                ).fetchone()
                if row is not None:
                    if row["request_hash"] != new_job.request_hash:
                        raise RequestIdConflict(new_job.request_id, row["id"])
                    return _row_to_job(row), False
            pending = connection.execute("SELECT COUNT(*) FROM jobs WHERE status = 'pending'").fetchone()[0]
            if pending >= max_queued:
                raise QueueFull(max_queued)
            job_id = new_job_id()
            while connection.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone():
                job_id = new_job_id()
            connection.execute(
                "INSERT INTO jobs (id, status, brief, industry, duration_seconds, platform, style,"
                " voice_style, metadata_json, seed, created_us, updated_us, request_id, request_hash,"
                " owner_key_hash) VALUES (?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    new_job.brief,
                    new_job.industry,
                    new_job.duration_seconds,
                    new_job.platform,
                    new_job.style,
                    new_job.voice_style,
                    new_job.metadata_json,
                    new_job.seed,
                    now,
                    now,
                    new_job.request_id,
                    new_job.request_hash,
                    new_job.owner_key_hash,
                ),
            )
            self._append_event(
                connection, job_id, EventType.QUEUED, stage="", progress=0.0, message="",
                status=JobStatus.PENDING, now=now,
            )
            return self._fetch_job(connection, job_id), True

    def get_job(self, job_id: str, owner: str | None = None) -> JobRecord:
        with self._read() as connection:
            return self._fetch_job(connection, job_id, owner)

    def get_job_and_events(
        self, job_id: str, after_sequence: int, limit: int = 500, owner: str | None = None
    ) -> tuple[JobRecord, list[EventRecord]]:
        """Read a job and its events after `after_sequence` in one consistent snapshot."""
        with self._read() as connection:
            job = self._fetch_job(connection, job_id, owner)
            rows = connection.execute(
                "SELECT * FROM events WHERE job_id = ? AND sequence > ? ORDER BY sequence LIMIT ?",
                (job_id, after_sequence, limit),
            ).fetchall()
            return job, [_row_to_event(row) for row in rows]

    def _encode_page_token(self, key: bytes, status: JobStatus | None, created_us: int, job_id: str) -> str:
        payload = json.dumps([status.value if status else "", created_us, job_id], separators=(",", ":")).encode()
        signature = hmac.new(key, payload, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(signature + payload).decode().rstrip("=")

    def _decode_page_token(self, key: bytes, status: JobStatus | None, token: str) -> tuple[int, str]:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            signature, payload = raw[:16], raw[16:]
            if not hmac.compare_digest(signature, hmac.new(key, payload, hashlib.sha256).digest()[:16]):
                raise ValueError("signature mismatch")
            token_status, created_us, job_id = json.loads(payload)
        except (ValueError, TypeError) as error:
            raise InvalidPageToken("page_token is not a token this server issued; omit it to start from the first page") from error
        if token_status != (status.value if status else ""):
            raise InvalidPageToken(
                "page_token was issued for a different status filter; repeat the request with the same "
                "status or omit page_token"
            )
        return int(created_us), str(job_id)

    def list_jobs(self, status: JobStatus | None, page_size: int, page_token: str, owner: str | None = None) -> JobPage:
        with self._read() as connection:
            key = self._page_token_key(connection)
            conditions: list[str] = []
            parameters: list[Any] = []
            if owner is not None:
                conditions.append("owner_key_hash = ?")
                parameters.append(owner)
            if status is not None:
                conditions.append("status = ?")
                parameters.append(status.value)
            total = connection.execute(
                "SELECT COUNT(*) FROM jobs" + (" WHERE " + " AND ".join(conditions) if conditions else ""),
                parameters,
            ).fetchone()[0]
            if page_token:
                created_us, job_id = self._decode_page_token(key, status, page_token)
                conditions.append("(created_us < ? OR (created_us = ? AND id < ?))")
                parameters.extend([created_us, created_us, job_id])
            where = " WHERE " + " AND ".join(conditions) if conditions else ""
            rows = connection.execute(
                f"SELECT * FROM jobs{where} ORDER BY created_us DESC, id DESC LIMIT ?",
                [*parameters, page_size + 1],
            ).fetchall()
        jobs = tuple(_row_to_job(row) for row in rows[:page_size])
        next_token = ""
        if len(rows) > page_size and jobs:
            next_token = self._encode_page_token(key, status, jobs[-1].created_us, jobs[-1].job_id)
        return JobPage(jobs=jobs, next_page_token=next_token, total_size=total)

    def count_jobs(self, status: JobStatus | None = None) -> int:
        with self._read() as connection:
            if status is None:
                return int(connection.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])
            return int(connection.execute("SELECT COUNT(*) FROM jobs WHERE status = ?", (status.value,)).fetchone()[0])

    def events_after(self, job_id: str, after_sequence: int, limit: int = 500) -> list[EventRecord]:
        return self.get_job_and_events(job_id, after_sequence, limit)[1]

    def last_sequences(self, job_ids: list[str]) -> dict[str, int]:
        """Return each existing job's latest event sequence; one cheap query for every watched job."""
        if not job_ids:
            return {}
        with self._read() as connection:
            placeholders = ",".join("?" * len(job_ids))
            rows = connection.execute(
                f"SELECT id, last_sequence FROM jobs WHERE id IN ({placeholders})", job_ids
            ).fetchall()
        return {row["id"]: int(row["last_sequence"]) for row in rows}

    # Leases and worker writes

    def claim_next(self, worker_id: str, lease_seconds: float) -> Lease | None:
        now = now_us()
        token = secrets.token_hex(16)
        expires = now + int(lease_seconds * 1_000_000)
        with self._write() as connection:
            row = connection.execute(
                "SELECT id FROM jobs WHERE status = 'pending' ORDER BY created_us, id LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            job_id = row["id"]
            updated = connection.execute(
                "UPDATE jobs SET status = 'running', lease_owner = ?, lease_token = ?, lease_expires_us = ?,"
                " started_us = COALESCE(started_us, ?), updated_us = ?, error = ''"
                " WHERE id = ? AND status = 'pending' RETURNING attempt, progress, stage",
                (worker_id, token, expires, now, now, job_id),
            ).fetchone()
            self._append_event(
                connection, job_id, EventType.STARTED, stage=updated["stage"], progress=updated["progress"],
                message=f"attempt {updated['attempt']} started", status=JobStatus.RUNNING, now=now,
            )
            return Lease(job_id=job_id, token=token, owner=worker_id, attempt=updated["attempt"], expires_us=expires)

    def heartbeat(self, lease: Lease, lease_seconds: float) -> Lease:
        expires = now_us() + int(lease_seconds * 1_000_000)
        with self._write() as connection:
            updated = connection.execute(
                "UPDATE jobs SET lease_expires_us = ? WHERE id = ? AND status = 'running' AND lease_token = ?",
                (expires, lease.job_id, lease.token),
            ).rowcount
            if updated != 1:
                raise StaleLease(lease.job_id)
        return Lease(lease.job_id, lease.token, lease.owner, lease.attempt, expires)

    def report_progress(self, lease: Lease, stage: str, percent: float, message: str = "") -> EventRecord | None:
        """Record a progress step; return its event, or None when the step was too small to log."""
        now = now_us()
        with self._write() as connection:
            row = self._fetch_leased(connection, lease)
            requested = percent if math.isfinite(percent) else 0.0
            progress = max(row["progress"], min(max(requested, 0.0), MAX_RUNNING_PROGRESS))
            # Stages can overlap (music is synthesized while the voice speaks), so a report may
            # return to a stage already under way: only a stage's first report in this attempt
            # is a STAGE_STARTED event.
            stage_changed = stage != row["stage"] and not self._stage_started_in_attempt(
                connection, lease.job_id, stage)
            connection.execute(
                "UPDATE jobs SET progress = ?, stage = ?, updated_us = ? WHERE id = ?",
                (progress, stage, now, lease.job_id),
            )
            if not stage_changed and not message and progress - row["progress"] < MIN_PROGRESS_EVENT_STEP:
                return None
            return self._append_event(
                connection, lease.job_id, EventType.STAGE_STARTED if stage_changed else EventType.PROGRESS,
                stage=stage, progress=progress, message=message, status=JobStatus.RUNNING, now=now,
            )

    @staticmethod
    def _stage_started_in_attempt(connection: sqlite3.Connection, job_id: str, stage: str) -> bool:
        found = connection.execute(
            "SELECT 1 FROM events WHERE job_id = ? AND type = ? AND stage = ? AND sequence > "
            "(SELECT COALESCE(MAX(sequence), 0) FROM events WHERE job_id = ? AND type = ?) LIMIT 1",
            (job_id, EventType.STAGE_STARTED.value, stage, job_id, EventType.STARTED.value),
        ).fetchone()
        return found is not None

    def add_warning(self, lease: Lease, stage: str, message: str) -> EventRecord:
        now = now_us()
        with self._write() as connection:
            row = self._fetch_leased(connection, lease)
            warnings = json.loads(row["warnings_json"])
            if message not in warnings:
                warnings.append(message)
            connection.execute(
                "UPDATE jobs SET warnings_json = ?, updated_us = ? WHERE id = ?",
                (json.dumps(warnings), now, lease.job_id),
            )
            return self._append_event(
                connection, lease.job_id, EventType.WARNING, stage=stage, progress=row["progress"],
                message=message, status=JobStatus.RUNNING, now=now,
            )

    def complete(self, lease: Lease, result: dict[str, Any], warnings: tuple[str, ...]) -> JobRecord:
        now = now_us()
        with self._write() as connection:
            row = self._fetch_leased(connection, lease)
            merged = json.loads(row["warnings_json"])
            merged.extend(warning for warning in warnings if warning not in merged)
            connection.execute(
                "UPDATE jobs SET status = 'completed', progress = 100, stage = '', result_json = ?,"
                " warnings_json = ?, updated_us = ?, lease_owner = NULL, lease_token = NULL,"
                " lease_expires_us = NULL WHERE id = ?",
                (json.dumps(result), json.dumps(merged), now, lease.job_id),
            )
            self._append_event(
                connection, lease.job_id, EventType.COMPLETED, stage="", progress=100.0, message="",
                status=JobStatus.COMPLETED, now=now,
            )
            return self._fetch_job(connection, lease.job_id)

    def fail(self, lease: Lease, stage: str, error: str) -> JobRecord:
        now = now_us()
        with self._write() as connection:
            row = self._fetch_leased(connection, lease)
            self._finish_failed(connection, lease.job_id, stage, error, row["progress"], now)
            return self._fetch_job(connection, lease.job_id)

    def _finish_failed(
        self, connection: sqlite3.Connection, job_id: str, stage: str, error: str, progress: float, now: int
    ) -> None:
        connection.execute(
            "UPDATE jobs SET status = 'failed', stage = ?, error = ?, updated_us = ?, lease_owner = NULL,"
            " lease_token = NULL, lease_expires_us = NULL WHERE id = ?",
            (stage, error, now, job_id),
        )
        self._append_event(
            connection, job_id, EventType.FAILED, stage=stage, progress=progress, message=error,
            status=JobStatus.FAILED, now=now,
        )

    def cancel(self, job_id: str, owner: str | None = None) -> CancelOutcome:
        now = now_us()
        with self._write() as connection:
            row = self._fetch_row(connection, job_id, owner)
            status = JobStatus(row["status"])
            if status is JobStatus.CANCELLED:
                return CancelOutcome(job=_row_to_job(row))
            if status in (JobStatus.COMPLETED, JobStatus.FAILED):
                raise InvalidTransition(job_id, status, f"Cannot cancel job in {status.value} status")
            stopped = None
            if status is JobStatus.RUNNING:
                stopped = Lease(job_id, row["lease_token"], row["lease_owner"], row["attempt"], row["lease_expires_us"])
            connection.execute(
                "UPDATE jobs SET status = 'cancelled', updated_us = ?, lease_owner = NULL, lease_token = NULL,"
                " lease_expires_us = NULL WHERE id = ? AND status = ?",
                (now, job_id, status.value),
            )
            self._append_event(
                connection, job_id, EventType.CANCELLED, stage=row["stage"], progress=row["progress"],
                message="cancelled by request", status=JobStatus.CANCELLED, now=now,
            )
            return CancelOutcome(job=self._fetch_job(connection, job_id), stopped_lease=stopped)

    def _requeue_row(
        self, connection: sqlite3.Connection, row: sqlite3.Row, reason: str, max_attempts: int | None, now: int
    ) -> RequeueOutcome:
        job_id = row["id"]
        attempt = row["attempt"]
        if max_attempts is not None and attempt >= max_attempts:
            error = f"worker lost: {reason}; gave up after {attempt} attempts"
            self._finish_failed(connection, job_id, row["stage"], error, row["progress"], now)
            return RequeueOutcome(job_id, JobStatus.FAILED, attempt, error)
        connection.execute(
            "UPDATE jobs SET status = 'pending', attempt = attempt + 1, updated_us = ?, lease_owner = NULL,"
            " lease_token = NULL, lease_expires_us = NULL WHERE id = ?",
            (now, job_id),
        )
        self._append_event(
            connection, job_id, EventType.REQUEUED, stage=row["stage"], progress=row["progress"],
            message=f"{reason}; queued for attempt {attempt + 1}", status=JobStatus.PENDING, now=now,
        )
        return RequeueOutcome(job_id, JobStatus.PENDING, attempt + 1, reason)

    def release(self, lease: Lease, reason: str, max_attempts: int | None) -> RequeueOutcome:
        now = now_us()
        with self._write() as connection:
            row = self._fetch_leased(connection, lease)
            return self._requeue_row(connection, row, reason, max_attempts, now)

    def requeue_expired(self, max_attempts: int) -> list[RequeueOutcome]:
        now = now_us()
        with self._write() as connection:
            rows = connection.execute(
                "SELECT * FROM jobs WHERE status = 'running' AND lease_expires_us < ?", (now,)
            ).fetchall()
            return [
                self._requeue_row(connection, row, "its worker stopped renewing the lease", max_attempts, now)
                for row in rows
            ]

    # Retention

    def delete_finished(self, finished_before_us: int, request_ids_before_us: int, limit: int = 500) -> list[str]:
        """Delete up to `limit` finished jobs last changed before `finished_before_us`, with their events.

        A job that carries a request_id is kept until `request_ids_before_us` too, so a
        repeated request finds its job for the whole idempotency window. Returns the ids
        deleted, so the caller can remove their files.
        """
        with self._write() as connection:
            rows = connection.execute(
                "SELECT id FROM jobs WHERE status IN ('completed', 'failed', 'cancelled') AND updated_us < ?"
                " AND (request_id IS NULL OR updated_us < ?) ORDER BY updated_us LIMIT ?",
                (finished_before_us, request_ids_before_us, limit),
            ).fetchall()
            job_ids = [row["id"] for row in rows]
            for job_id in job_ids:
                connection.execute("DELETE FROM events WHERE job_id = ?", (job_id,))
                connection.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
        return job_ids

    def job_ids(self) -> set[str]:
        with self._read() as connection:
            return {row[0] for row in connection.execute("SELECT id FROM jobs")}
