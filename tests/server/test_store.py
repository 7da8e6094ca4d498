"""The SQLite job store enforces the job rules itself, for any number of writers."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from server.store import (
    EventType,
    InvalidPageToken,
    InvalidTransition,
    JobNotFound,
    JobStatus,
    NewJob,
    QueueFull,
    RequestIdConflict,
    SqliteJobStore,
    StaleLease,
)
from server.validation import JOB_ID_PATTERN


def _new_job(**changes: object) -> NewJob:
    fields: dict[str, object] = dict(
        brief="A commercial for a bakery", industry="food", duration_seconds=30, platform="youtube_1080p",
        style=None, voice_style=None, metadata_json="", seed=None,
    )
    fields.update(changes)
    return NewJob(**fields)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> SqliteJobStore:
    store = SqliteJobStore(tmp_path / "jobs.sqlite3")
    store.initialize()
    return store


def test_create_stores_pending_job_with_queued_event(store) -> None:
    job, created = store.create_job(_new_job(), max_queued=10)
    assert created
    assert JOB_ID_PATTERN.match(job.job_id)
    assert (job.status, job.progress, job.attempt, job.last_sequence) == (JobStatus.PENDING, 0, 1, 1)
    events = store.events_after(job.job_id, 0)
    assert [(event.sequence, event.type) for event in events] == [(1, EventType.QUEUED)]
    assert store.get_job(job.job_id) == job


def test_wal_mode_is_on(store) -> None:
    import sqlite3

    with sqlite3.connect(store.path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_queue_limit(store) -> None:
    store.create_job(_new_job(), max_queued=2)
    store.create_job(_new_job(), max_queued=2)
    with pytest.raises(QueueFull):
        store.create_job(_new_job(), max_queued=2)


def test_request_id_returns_first_job(store) -> None:
    first, _ = store.create_job(_new_job(request_id="k1", request_hash="h1"), max_queued=10)
    again, created = store.create_job(_new_job(request_id="k1", request_hash="h1"), max_queued=10)
    assert (again.job_id, created) == (first.job_id, False)
    with pytest.raises(RequestIdConflict):
        store.create_job(_new_job(request_id="k1", request_hash="h2"), max_queued=10)
    other_owner, created = store.create_job(
        _new_job(request_id="k1", request_hash="h2", owner_key_hash="other"), max_queued=10)
    assert created and other_owner.job_id != first.job_id


def test_claim_gives_each_job_to_one_worker(store) -> None:
    jobs = [store.create_job(_new_job(), max_queued=100)[0] for _ in range(20)]
    claimed: list[str] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while (lease := store.claim_next(name, 30)) is not None:
            with lock:
                claimed.append(lease.job_id)

    threads = [threading.Thread(target=worker, args=(f"w{index}",)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(job.job_id for job in jobs)


def test_claim_takes_oldest_first(store) -> None:
    first, _ = store.create_job(_new_job(), max_queued=10)
    store.create_job(_new_job(), max_queued=10)
    lease = store.claim_next("w", 30)
    assert lease is not None and lease.job_id == first.job_id


def test_progress_never_decreases_and_stays_below_100(store) -> None:
    job, _ = store.create_job(_new_job(), max_queued=10)
    lease = store.claim_next("w", 30)
    assert lease is not None
    store.report_progress(lease, "script", 40)
    store.report_progress(lease, "voice", 20)
    assert store.get_job(job.job_id).progress == 40
    store.report_progress(lease, "render", 100)
    assert store.get_job(job.job_id).progress == 99
    store.report_progress(lease, "render", float("nan"))
    assert store.get_job(job.job_id).progress == 99
    progress = [event.progress for event in store.events_after(job.job_id, 0)]
    assert progress == sorted(progress)


def test_stage_change_emits_stage_started(store) -> None:
    job, _ = store.create_job(_new_job(), max_queued=10)
    lease = store.claim_next("w", 30)
    assert lease is not None
    store.report_progress(lease, "script", 1)
    store.report_progress(lease, "script", 5)
    store.report_progress(lease, "script", 5.1)
    store.report_progress(lease, "voice", 30)
    types = [(event.type, event.stage) for event in store.events_after(job.job_id, 2)]
    assert types == [(EventType.STAGE_STARTED, "script"), (EventType.PROGRESS, "script"),
                     (EventType.STAGE_STARTED, "voice")]
    assert store.get_job(job.job_id).progress == 30


def test_overlapping_stages_start_once_per_attempt(store) -> None:
    job, _ = store.create_job(_new_job(), max_queued=10)
    lease = store.claim_next("w", 30)
    assert lease is not None
    store.report_progress(lease, "voice", 20)
    store.report_progress(lease, "music", 20, "music started")
    store.report_progress(lease, "voice", 25)
    store.report_progress(lease, "music", 25, "music done")

    started = [event.stage for event in store.events_after(job.job_id, 0) if event.type == EventType.STAGE_STARTED]
    assert started == ["voice", "music"]
    assert store.get_job(job.job_id).stage == "music"

    # A new attempt starts its stages again.
    store.release(lease, "worker lost", max_attempts=3)
    second = store.claim_next("w", 30)
    assert second is not None
    store.report_progress(second, "voice", 30)
    last = store.events_after(job.job_id, 0)[-1]
    assert (last.type, last.stage) == (EventType.STAGE_STARTED, "voice")


def test_terminal_states_never_change(store) -> None:
    job, _ = store.create_job(_new_job(), max_queued=10)
    lease = store.claim_next("w", 30)
    assert lease is not None
    done = store.complete(lease, {"artifacts": {}}, ())
    assert (done.status, done.progress) == (JobStatus.COMPLETED, 100)
    with pytest.raises(StaleLease):
        store.fail(lease, "render", "late failure")
    with pytest.raises(StaleLease):
        store.report_progress(lease, "render", 50)
    with pytest.raises(InvalidTransition, match="Cannot cancel job in completed status"):
        store.cancel(job.job_id)
    assert store.requeue_expired(max_attempts=3) == []
    assert store.get_job(job.job_id) == done


def test_cancel_fences_out_running_worker(store) -> None:
    job, _ = store.create_job(_new_job(), max_queued=10)
    lease = store.claim_next("w", 30)
    assert lease is not None
    outcome = store.cancel(job.job_id)
    assert outcome.job.status is JobStatus.CANCELLED
    assert outcome.stopped_lease is not None and outcome.stopped_lease.token == lease.token
    for write in (
        lambda: store.report_progress(lease, "voice", 50),
        lambda: store.complete(lease, {}, ()),
        lambda: store.heartbeat(lease, 30),
    ):
        with pytest.raises(StaleLease):
            write()
    assert store.cancel(job.job_id).job == outcome.job


def test_expired_lease_is_requeued_then_failed(store) -> None:
    job, _ = store.create_job(_new_job(), max_queued=10)
    first = store.claim_next("w1", 0.001)
    assert first is not None
    store.report_progress(first, "voice", 40)
    time.sleep(0.01)
    [outcome] = store.requeue_expired(max_attempts=2)
    assert (outcome.status, outcome.attempt) == (JobStatus.PENDING, 2)
    with pytest.raises(StaleLease):
        store.report_progress(first, "voice", 60)
    second = store.claim_next("w2", 0.001)
    assert second is not None and second.attempt == 2
    assert store.get_job(job.job_id).progress == 40
    time.sleep(0.01)
    [outcome] = store.requeue_expired(max_attempts=2)
    assert outcome.status is JobStatus.FAILED
    failed = store.get_job(job.job_id)
    assert failed.error.startswith("worker lost: ")
    assert failed.status is JobStatus.FAILED


def test_heartbeat_keeps_lease(store) -> None:
    store.create_job(_new_job(), max_queued=10)
    lease = store.claim_next("w", 0.05)
    assert lease is not None
    for _ in range(5):
        time.sleep(0.02)
        lease = store.heartbeat(lease, 0.05)
    assert store.requeue_expired(max_attempts=1) == []


def test_list_pages_are_signed_and_complete(store) -> None:
    ids = [store.create_job(_new_job(), max_queued=100)[0].job_id for _ in range(7)]
    seen: list[str] = []
    token = ""
    while True:
        page = store.list_jobs(None, 3, token)
        assert page.total_size == 7
        seen.extend(job.job_id for job in page.jobs)
        token = page.next_page_token
        if not token:
            break
    assert seen == list(reversed(ids))
    first_page = store.list_jobs(None, 3, "")
    tampered = first_page.next_page_token[:-2] + ("AA" if first_page.next_page_token[-2:] != "AA" else "BB")
    with pytest.raises(InvalidPageToken):
        store.list_jobs(None, 3, tampered)
    with pytest.raises(InvalidPageToken):
        store.list_jobs(JobStatus.PENDING, 3, first_page.next_page_token)


def test_unknown_job(store) -> None:
    with pytest.raises(JobNotFound, match="Job not found: job_000000000000"):
        store.get_job("job_000000000000")
    with pytest.raises(JobNotFound):
        store.cancel("job_000000000000")


def test_two_store_objects_share_state(store) -> None:
    other = SqliteJobStore(store.path)
    job, _ = store.create_job(_new_job(), max_queued=10)
    lease = other.claim_next("elsewhere", 30)
    assert lease is not None and lease.job_id == job.job_id
    assert store.get_job(job.job_id).status is JobStatus.RUNNING
