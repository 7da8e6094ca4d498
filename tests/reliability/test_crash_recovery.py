"""Killed servers and workers lose no job, leases fence out stale workers, and no job runs forever."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import grpc
import psutil
import pytest
from ragnarok.v1 import ragnarok_pb2 as pb
from ragnarok.v1 import ragnarok_pb2_grpc as pb_grpc

from server.store import JobStatus, NewJob, SqliteJobStore, StaleLease
from tests.reliability.support import (
    SHORT_LEASE_ENV,
    events_after_queued,
    forkserver_process,
    pause_outside_transaction,
    wait_attempt,
    wait_for_worker,
    wait_gone,
    wait_progress,
)
from tests.support.jobs import submit, wait_for_status, wait_terminal

NO_HTTP = ["--no-http"]


def _new_job(brief: str = "A short test commercial for a coffee shop", request_id: str | None = None) -> NewJob:
    return NewJob(brief=brief, industry="technology", duration_seconds=15, platform="youtube_1080p", style=None,
                  voice_style=None, metadata_json="", seed=None, request_id=request_id)


def _assert_monotonic(events: list[pb.JobEvent]) -> None:
    progress = [event.progress for event in events]
    assert progress == sorted(progress), progress


# Store level


def test_stale_lease_cannot_write_after_requeue(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "jobs.sqlite3")
    store.initialize()
    job, _ = store.create_job(_new_job(), max_queued=10)
    old = store.claim_next("worker-a", lease_seconds=0.001)
    assert old is not None
    store.report_progress(old, "voice", 40.0)
    threading.Event().wait(0.01)

    outcomes = store.requeue_expired(max_attempts=3)
    assert [(item.job_id, item.attempt) for item in outcomes] == [(job.job_id, 2)]
    new = store.claim_next("worker-b", lease_seconds=30)
    assert new is not None
    assert new.attempt == 2
    store.report_progress(new, "voice", 45.0)
    before = store.get_job(job.job_id)

    for write in (
        lambda: store.report_progress(old, "render", 90.0, "late step"),
        lambda: store.add_warning(old, "render", "late warning"),
        lambda: store.complete(old, {"artifacts": {}}, ()),
        lambda: store.fail(old, "render", "late failure"),
        lambda: store.heartbeat(old, 30),
        lambda: store.release(old, "late release", max_attempts=3),
    ):
        with pytest.raises(StaleLease):
            write()
    assert store.get_job(job.job_id) == before
    assert before.status is JobStatus.RUNNING
    assert before.attempt == 2
    assert before.progress == 45.0

    done = store.complete(new, {"artifacts": {}}, ())
    assert done.status is JobStatus.COMPLETED


def test_claims_from_many_threads_run_each_job_once(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "jobs.sqlite3")
    store.initialize()
    created = {store.create_job(_new_job(), max_queued=100)[0].job_id for _ in range(20)}
    claimed: list[str] = []
    lock = threading.Lock()

    def claim_all(worker: str) -> None:
        while (lease := store.claim_next(worker, lease_seconds=30)) is not None:
            with lock:
                claimed.append(lease.job_id)

    threads = [threading.Thread(target=claim_all, args=(f"worker-{index}",)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(created)


# Real processes


async def test_killed_worker_is_rerun_and_completes(server_factory) -> None:
    handle = server_factory(extra_args=NO_HTTP, env=SHORT_LEASE_ENV)
    async with grpc.aio.insecure_channel(handle.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        job = await submit(stub, "#slow")
        await wait_progress(stub, job.job_id, 40.0)
        worker = await wait_for_worker(handle.pid)
        worker.send_signal(signal.SIGKILL)

        final = await wait_terminal(stub, job.job_id)
        assert final.status == pb.JOB_STATUS_COMPLETED, final.error
        assert final.attempt == 2
        events = await events_after_queued(stub, job.job_id)
        requeued = [event for event in events if event.type == pb.JOB_EVENT_TYPE_REQUEUED]
        assert len(requeued) == 1
        assert "exited with code -9" in requeued[0].message
        _assert_monotonic(events)


async def test_killed_worker_past_max_attempts_fails_as_lost(server_factory) -> None:
    handle = server_factory(extra_args=NO_HTTP, env={**SHORT_LEASE_ENV, "RAGNAROK_MAX_ATTEMPTS": "1"})
    async with grpc.aio.insecure_channel(handle.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        job = await submit(stub, "#hang")
        await wait_progress(stub, job.job_id, 40.0)
        (await wait_for_worker(handle.pid)).send_signal(signal.SIGKILL)

        final = await wait_terminal(stub, job.job_id)
        assert final.status == pb.JOB_STATUS_FAILED
        assert final.attempt == 1
        assert final.error.startswith("worker lost: ")
        assert "gave up after 1 attempts" in final.error


async def test_killed_forkserver_job_reruns_in_new_one(server_factory) -> None:
    handle = server_factory(extra_args=NO_HTTP, env=SHORT_LEASE_ENV)
    async with grpc.aio.insecure_channel(handle.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        job = await submit(stub, "#slow")
        await wait_progress(stub, job.job_id, 20.0)
        old_worker = await wait_for_worker(handle.pid)
        old_forkserver = forkserver_process(handle.pid)
        assert old_forkserver is not None
        old_forkserver.send_signal(signal.SIGKILL)

        # The worker outlives its forkserver; the supervisor stops it before the rerun.
        await wait_gone(old_worker)
        final = await wait_terminal(stub, job.job_id)
        events = await events_after_queued(stub, job.job_id)
        new_forkserver = forkserver_process(handle.pid)
    assert final.status == pb.JOB_STATUS_COMPLETED, final.error
    assert final.attempt == 2
    requeued = [event for event in events if event.type == pb.JOB_EVENT_TYPE_REQUEUED]
    assert len(requeued) == 1
    assert "exited with code 255" in requeued[0].message
    _assert_monotonic(events)
    assert new_forkserver is not None
    assert new_forkserver.pid != old_forkserver.pid


async def test_killed_server_worker_stops_and_job_reruns(server_factory, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = server_factory(data_dir=data_dir, extra_args=NO_HTTP, env=SHORT_LEASE_ENV)
    async with grpc.aio.insecure_channel(first.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        job = await submit(stub, "#hang")
        await wait_progress(stub, job.job_id, 40.0)
        orphan = await wait_for_worker(first.pid)
    forkserver = forkserver_process(first.pid)
    assert forkserver is not None
    # The worker's parent is the forkserver, so its parent pid does not change when the server dies.
    assert orphan.ppid() == forkserver.pid
    first.stop(signal.SIGKILL)
    # The orphaned worker notices its server is gone and stops by itself, even while hanging,
    # and the forkserver exits once its last worker has.
    await wait_gone(orphan)
    await wait_gone(forkserver)

    second = server_factory(data_dir=data_dir, extra_args=NO_HTTP,
                            env={**SHORT_LEASE_ENV, "RAGNAROK_STAGE_TIMEOUT_SECONDS": "2"})
    async with grpc.aio.insecure_channel(second.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        rerun = await wait_attempt(stub, job.job_id, 2)
        final = await wait_terminal(stub, job.job_id)
        events = await events_after_queued(stub, job.job_id)
    assert rerun.attempt == 2
    requeued = [event for event in events if event.type == pb.JOB_EVENT_TYPE_REQUEUED]
    assert len(requeued) == 1
    assert "stopped renewing the lease" in requeued[0].message
    # The #hang double hangs again in attempt 2, so the stage limit ends it: the job never runs forever.
    assert final.status == pb.JOB_STATUS_FAILED
    assert final.attempt == 2
    assert "render failed: the stage timed out" in final.error


async def test_killed_server_past_max_attempts_fails_as_lost(server_factory, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {**SHORT_LEASE_ENV, "RAGNAROK_MAX_ATTEMPTS": "1"}
    first = server_factory(data_dir=data_dir, extra_args=NO_HTTP, env=env)
    async with grpc.aio.insecure_channel(first.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        job = await submit(stub, "#slow")
        await wait_progress(stub, job.job_id, 40.0)
    first.stop(signal.SIGKILL)

    second = server_factory(data_dir=data_dir, extra_args=NO_HTTP, env=env)
    async with grpc.aio.insecure_channel(second.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        final = await wait_terminal(stub, job.job_id)
    assert final.status == pb.JOB_STATUS_FAILED
    assert final.attempt == 1
    assert final.error == "worker lost: its worker stopped renewing the lease; gave up after 1 attempts"


async def test_reaper_requeues_expired_lease_while_serving(server_factory, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    handle = server_factory(data_dir=data_dir, extra_args=[*NO_HTTP, "--workers", "1"], env=SHORT_LEASE_ENV)
    async with grpc.aio.insecure_channel(handle.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        # A hanging job occupies the only worker slot, so nothing local claims the planted job.
        blocker = await submit(stub, "#hang")
        await wait_for_status(stub, blocker.job_id, [pb.JOB_STATUS_RUNNING])

        store = SqliteJobStore(data_dir / "ragnarok.sqlite3")
        planted, _ = store.create_job(_new_job(), max_queued=100)
        ghost = store.claim_next("ghost-host:1:0", lease_seconds=0.5)
        assert ghost is not None
        assert ghost.job_id == planted.job_id

        requeued = await wait_for_status(stub, planted.job_id, [pb.JOB_STATUS_PENDING])
        assert requeued.attempt == 2
        await stub.CancelJob(pb.CancelJobRequest(job_id=blocker.job_id))
        final = await wait_terminal(stub, planted.job_id)
    assert final.status == pb.JOB_STATUS_COMPLETED, final.error
    assert final.attempt == 2
    with pytest.raises(StaleLease):
        store.report_progress(ghost, "render", 90.0)


async def test_long_job_keeps_its_lease_and_first_attempt(server_factory) -> None:
    # The #slow double runs about four seconds, well past the one-second lease.
    handle = server_factory(extra_args=NO_HTTP, env={"RAGNAROK_LEASE_SECONDS": "1", "RAGNAROK_HEARTBEAT_SECONDS": "0.2"})
    async with grpc.aio.insecure_channel(handle.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        job = await submit(stub, "#slow")
        final = await wait_terminal(stub, job.job_id)
        events = await events_after_queued(stub, job.job_id)
    assert final.status == pb.JOB_STATUS_COMPLETED, final.error
    assert final.attempt == 1
    types = [event.type for event in events]
    assert types.count(pb.JOB_EVENT_TYPE_STARTED) == 1
    assert pb.JOB_EVENT_TYPE_REQUEUED not in types
    _assert_monotonic(events)


async def test_paused_worker_loses_lease_and_job_reruns(server_factory) -> None:
    handle = server_factory(extra_args=NO_HTTP, env=SHORT_LEASE_ENV)
    async with grpc.aio.insecure_channel(handle.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        job = await submit(stub, "#slow")
        await wait_progress(stub, job.job_id, 20.0)
        paused = await wait_for_worker(handle.pid)
        await pause_outside_transaction([paused], handle.data_dir / "ragnarok.sqlite3")
        try:
            final = await wait_terminal(stub, job.job_id)
        finally:
            if psutil.pid_exists(paused.pid):
                paused.send_signal(signal.SIGCONT)
        events = await events_after_queued(stub, job.job_id)
    assert final.status == pb.JOB_STATUS_COMPLETED, final.error
    assert final.attempt == 2
    requeued = [event for event in events if event.type == pb.JOB_EVENT_TYPE_REQUEUED]
    assert len(requeued) == 1
    assert "stopped renewing the lease" in requeued[0].message
    _assert_monotonic(events)
    await wait_gone(paused)


async def test_paused_host_resumes_and_its_writes_are_rejected(server_factory, tmp_path: Path) -> None:
    """A whole host (server and worker) pauses past its lease; another server reruns the job."""
    data_dir = tmp_path / "data"
    first = server_factory(data_dir=data_dir, extra_args=NO_HTTP, env=SHORT_LEASE_ENV)
    async with grpc.aio.insecure_channel(first.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        job = await submit(stub, "#slow")
        paused_at = await wait_progress(stub, job.job_id, 20.0)
        old_worker = await wait_for_worker(first.pid)
    server_process = psutil.Process(first.pid)
    await pause_outside_transaction([old_worker, server_process], data_dir / "ragnarok.sqlite3")
    try:
        second = server_factory(data_dir=data_dir, extra_args=NO_HTTP, env=SHORT_LEASE_ENV)
        async with grpc.aio.insecure_channel(second.grpc_target) as channel:
            stub = pb_grpc.RagnarokServiceStub(channel)
            rerun = await wait_attempt(stub, job.job_id, 2)
            assert rerun.attempt == 2
    finally:
        server_process.send_signal(signal.SIGCONT)
        old_worker.send_signal(signal.SIGCONT)

    # The resumed worker finds its lease gone, writes nothing and exits on its own.
    await wait_gone(old_worker)
    async with grpc.aio.insecure_channel(second.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        final = await wait_terminal(stub, job.job_id)
        events = await events_after_queued(stub, job.job_id)
    assert final.status == pb.JOB_STATUS_COMPLETED, final.error
    assert final.attempt == 2
    assert f"Job {job.job_id}: lease no longer held" in first.log()
    assert "attempt 1 stopped without writing" in first.log()
    requeue_index = next(index for index, event in enumerate(events) if event.type == pb.JOB_EVENT_TYPE_REQUEUED)
    after_requeue = events[requeue_index + 1:]
    assert [event.type for event in after_requeue].count(pb.JOB_EVENT_TYPE_STARTED) == 1
    # Attempt 2 reports each step once; a write from the old attempt would repeat one.
    messages = [event.message for event in after_requeue if event.message.endswith("step 3")]
    assert len(messages) == len(set(messages))
    assert events[requeue_index].progress >= paused_at.progress
    _assert_monotonic(events)
    # The first server is still alive and serving after it resumed.
    async with grpc.aio.insecure_channel(first.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        assert (await stub.GetJob(pb.GetJobRequest(job_id=job.job_id))).job.attempt == 2
