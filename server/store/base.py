"""The job store's interface and the records it returns.

The store is the only source of truth about jobs. It enforces every rule about how
a job may change itself: terminal states are final, progress never goes down, and
only the current lease holder may write. So several server processes can share
one store.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

JOB_ID_PATTERN = re.compile(r"^job_[0-9a-f]{12}$")

# Progress the pipeline may report; 100 is reserved for a completed job.
MAX_RUNNING_PROGRESS = 99.0


class JobStatus(str, enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})


class EventType(str, enum.Enum):
    QUEUED = "queued"
    STARTED = "started"
    STAGE_STARTED = "stage_started"
    PROGRESS = "progress"
    WARNING = "warning"
    REQUEUED = "requeued"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class NewJob:
    """A validated generation request, ready to store."""

    brief: str
    industry: str
    duration_seconds: int
    platform: str
    style: str | None
    voice_style: str | None
    metadata_json: str
    seed: int | None
    request_id: str | None = None
    # SHA-256 of the normalised request, compared when a request_id repeats.
    request_hash: str = ""
    # SHA-256 of the API key that submitted the job, or "" without authentication.
    owner_key_hash: str = ""


@dataclass(frozen=True)
class JobRecord:
    """One job as stored. Times are microseconds since the Unix epoch, UTC."""

    job_id: str
    status: JobStatus
    brief: str
    industry: str
    duration_seconds: int
    platform: str
    style: str | None
    voice_style: str | None
    metadata_json: str
    seed: int | None
    progress: float
    stage: str
    attempt: int
    error: str
    warnings: tuple[str, ...]
    # The result as stored by complete(); None until the job completes.
    result: dict[str, Any] | None
    created_us: int
    updated_us: int
    started_us: int | None
    last_sequence: int
    request_id: str | None
    owner_key_hash: str
    lease_owner: str | None
    lease_expires_us: int | None


@dataclass(frozen=True)
class EventRecord:
    """One entry of a job's event log, with the job's status and progress right after it."""

    job_id: str
    sequence: int
    type: EventType
    stage: str
    progress: float
    message: str
    status: JobStatus
    created_us: int


@dataclass(frozen=True)
class Lease:
    """A worker's claim on a running job. Writes that carry a stale token are rejected."""

    job_id: str
    token: str
    owner: str
    attempt: int
    expires_us: int


@dataclass(frozen=True)
class JobPage:
    jobs: tuple[JobRecord, ...]
    next_page_token: str
    total_size: int


@dataclass(frozen=True)
class CancelOutcome:
    """The job after cancel(), and the lease it had if it was running, so its worker can be stopped."""

    job: JobRecord
    stopped_lease: Lease | None = None


@dataclass(frozen=True)
class RequeueOutcome:
    job_id: str
    status: JobStatus
    attempt: int
    reason: str = field(default="")


class StoreError(Exception):
    """Base class of the store's domain errors."""


class JobNotFound(StoreError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"Job not found: {job_id}")
        self.job_id = job_id


class InvalidTransition(StoreError):
    """The job's status does not allow the requested change, for example cancelling a completed job."""

    def __init__(self, job_id: str, status: JobStatus, message: str) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.status = status


class StaleLease(StoreError):
    """The write carried a lease token that no longer holds the job (cancelled, requeued or finished)."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"Lease on job {job_id} is no longer held")
        self.job_id = job_id


class QueueFull(StoreError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The queue is full ({limit} pending jobs); retry after some jobs finish")
        self.limit = limit


class RequestIdConflict(StoreError):
    """A request_id was reused with a different request."""

    def __init__(self, request_id: str, job_id: str) -> None:
        super().__init__(
            f"request_id {request_id!r} was already used for job {job_id} with a different request; "
            "use a new request_id for a new request"
        )
        self.request_id = request_id
        self.job_id = job_id


class InvalidPageToken(StoreError):
    pass


class JobStore(Protocol):
    """Durable storage of jobs and their event logs, safe to share between processes."""

    def initialize(self) -> None:
        """Create the schema if it does not exist yet."""

    def create_job(self, new_job: NewJob, max_queued: int) -> tuple[JobRecord, bool]:
        """Store a PENDING job and its QUEUED event; return (job, created).

        With a request_id that was seen before, return the first job and created=False.
        Raises QueueFull, RequestIdConflict.
        """

    def get_job(self, job_id: str) -> JobRecord:
        """Raises JobNotFound."""

    def list_jobs(self, status: JobStatus | None, page_size: int, page_token: str) -> JobPage:
        """Return jobs newest first. Raises InvalidPageToken."""

    def count_jobs(self, status: JobStatus | None = None) -> int: ...

    def events_after(self, job_id: str, after_sequence: int, limit: int = 500) -> list[EventRecord]: ...

    def claim_next(self, worker_id: str, lease_seconds: float) -> Lease | None:
        """Move the oldest PENDING job to RUNNING under a new lease, or return None."""

    def heartbeat(self, lease: Lease, lease_seconds: float) -> Lease:
        """Extend a lease. Raises StaleLease."""

    def report_progress(self, lease: Lease, stage: str, percent: float, message: str = "") -> EventRecord | None:
        """Record a progress step, as a STAGE_STARTED event when the stage changes. Raises StaleLease.

        Returns None when the step was too small to add an event.
        """

    def add_warning(self, lease: Lease, stage: str, message: str) -> EventRecord: ...

    def complete(self, lease: Lease, result: dict[str, Any], warnings: tuple[str, ...]) -> JobRecord: ...

    def fail(self, lease: Lease, stage: str, error: str) -> JobRecord: ...

    def cancel(self, job_id: str) -> CancelOutcome:
        """Cancel a pending or running job. Raises JobNotFound, InvalidTransition."""

    def release(self, lease: Lease, reason: str, max_attempts: int | None) -> RequeueOutcome:
        """Give a running job back to the queue with attempt+1.

        With max_attempts set and reached, fail it with the reason instead.
        """

    def requeue_expired(self, max_attempts: int) -> list[RequeueOutcome]:
        """Requeue (or fail with "worker lost") every running job whose lease expired."""
