"""Jobs move from pending to a terminal state, and every view of that agrees."""

from __future__ import annotations

import asyncio
import json
import subprocess

import grpc
import pytest
from ragnarok.v1 import ragnarok_pb2 as pb

from tests.support.jobs import TERMINAL, submit, wait_terminal, watch_all


async def test_job_is_pending_with_zero_progress_after_generate(stub) -> None:
    job = await submit(stub, "#slow")
    fetched = (await stub.GetJob(pb.GetJobRequest(job_id=job.job_id))).job
    for seen in (job, fetched):
        assert seen.status in (pb.JOB_STATUS_PENDING, pb.JOB_STATUS_RUNNING)
        assert seen.attempt == 1
    assert job.status == pb.JOB_STATUS_PENDING
    assert job.progress == 0
    assert job.last_sequence == 1
    assert job.create_time.ToMicroseconds() > 0
    await stub.CancelJob(pb.CancelJobRequest(job_id=job.job_id))


async def test_job_completes_with_result(stub, server) -> None:
    job = await submit(stub, style="cyberpunk", metadata_json='{"campaign": "spring", "n": 1.50}')
    done = await wait_terminal(stub, job.job_id)
    assert done.status == pb.JOB_STATUS_COMPLETED, done.error
    assert done.progress == 100
    assert done.error == ""
    assert done.stage == ""
    assert done.metadata_json == '{"campaign": "spring", "n": 1.50}'
    result = done.result
    assert set(result.artifact_sizes) == {
        "ARTIFACT_VIDEO", "ARTIFACT_THUMBNAIL", "ARTIFACT_CAPTIONS_SRT", "ARTIFACT_CAPTIONS_VTT"}
    assert result.style == "cyberpunk"
    assert result.palette[0] == "#00ffff"
    assert [scene.narration for scene in result.storyboard] == ["Hello"]
    assert set(result.stage_seconds) == {"script", "voice", "render"}
    assert result.generation_time_seconds > 0
    assert result.details["width"] == 160

    video = server.data_dir / "jobs" / done.job_id / "output" / "commercial.mp4"
    assert result.artifact_sizes["ARTIFACT_VIDEO"] == video.stat().st_size
    probe = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(video)],
        check=True, capture_output=True, text=True).stdout)
    assert sorted(stream["codec_type"] for stream in probe["streams"]) == ["audio", "video"]


async def test_stage_error_fails_job_naming_stage(stub) -> None:
    job = await submit(stub, "#fail")
    done = await wait_terminal(stub, job.job_id)
    assert done.status == pb.JOB_STATUS_FAILED
    assert done.error == "voice failed: the voice engine stopped; try again later"
    assert done.stage == "voice"
    assert done.progress < 100
    assert not done.HasField("result")


async def test_unexpected_exception_fails_job_naming_stage(stub, server) -> None:
    job = await submit(stub, "#crash")
    done = await wait_terminal(stub, job.job_id)
    assert done.status == pb.JOB_STATUS_FAILED
    assert done.error == "render failed: RuntimeError: frame 12 could not be drawn"
    assert done.stage == "render"
    assert "Traceback" in server.log()


async def test_warnings_reach_job_and_events(stub) -> None:
    job = await submit(stub, "#warn")
    messages = await watch_all(stub, job.job_id, after_sequence=1)
    warnings = [item.event for item in messages if item.event.type == pb.JOB_EVENT_TYPE_WARNING]
    assert [(event.stage, event.message) for event in warnings] == [("voice", "fell back to the offline voice")]
    assert list(messages[-1].job.warnings) == ["fell back to the offline voice"]


async def test_watch_progress_is_monotonic_and_ends_terminal(stub) -> None:
    job = await submit(stub)
    messages = await watch_all(stub, job.job_id)
    assert messages[0].event.type == pb.JOB_EVENT_TYPE_SNAPSHOT
    assert messages[0].event.sequence == messages[0].job.last_sequence
    events = [item.event for item in messages[1:]]
    sequences = [event.sequence for event in events]
    assert sequences == list(range(sequences[0], sequences[0] + len(sequences)))
    progress = [item.job.progress for item in messages]
    assert progress == sorted(progress)
    assert all(0 <= value <= 100 for value in progress)
    for item in messages:
        if item.job.progress == 100:
            assert item.job.status == pb.JOB_STATUS_COMPLETED
            assert item.job.HasField("result")
        else:
            assert not item.job.HasField("result")
    assert events[-1].type == pb.JOB_EVENT_TYPE_COMPLETED
    assert messages[-1].job.status == pb.JOB_STATUS_COMPLETED
    stages = [event.stage for event in events if event.type == pb.JOB_EVENT_TYPE_STAGE_STARTED]
    assert stages == ["script", "voice", "render"]


async def test_polled_progress_is_monotonic(stub) -> None:
    job = await submit(stub, "#slow")
    seen: list[pb.Job] = []
    while not seen or seen[-1].status not in TERMINAL:
        seen.append((await stub.GetJob(pb.GetJobRequest(job_id=job.job_id))).job)
        await asyncio.sleep(0.02)
    progress = [item.progress for item in seen]
    assert progress == sorted(progress)
    assert len(set(progress)) > 3, "polling saw too few progress steps to be meaningful"
    for item in seen:
        assert (item.progress == 100) == (item.status == pb.JOB_STATUS_COMPLETED)
    updates = [item.update_time.ToMicroseconds() for item in seen]
    assert updates == sorted(updates)


async def test_watch_resume_replays_missed_events(stub) -> None:
    job = await submit(stub)
    full = await watch_all(stub, job.job_id, after_sequence=0)
    await wait_terminal(stub, job.job_id)
    complete_log = await watch_all(stub, job.job_id, after_sequence=1)
    middle = complete_log[3].event.sequence
    resumed = await watch_all(stub, job.job_id, after_sequence=middle)
    assert resumed[0].event.type == pb.JOB_EVENT_TYPE_SNAPSHOT
    replayed = [item.event.sequence for item in resumed[1:]]
    expected = [item.event.sequence for item in complete_log[1:] if item.event.sequence > middle]
    assert replayed == expected
    assert resumed[-1].event.type == pb.JOB_EVENT_TYPE_COMPLETED
    assert full[-1].event.sequence == complete_log[-1].event.sequence


async def test_replayed_events_carry_job_state_of_their_time(stub) -> None:
    job = await submit(stub)
    await wait_terminal(stub, job.job_id)
    messages = await watch_all(stub, job.job_id, after_sequence=1)
    for item in messages[1:]:
        assert item.job.last_sequence == item.event.sequence
        assert item.job.progress == item.event.progress
    assert messages[1].job.status == pb.JOB_STATUS_RUNNING
    assert not messages[-2].job.HasField("result")
    assert messages[-1].job.HasField("result")


async def test_several_watchers_see_same_events(stub) -> None:
    job = await submit(stub, "#slow")
    streams = await asyncio.gather(*(watch_all(stub, job.job_id, after_sequence=1) for _ in range(4)))
    logs = [[(item.event.sequence, item.event.type) for item in stream[1:]] for stream in streams]
    assert all(log == logs[0] for log in logs)
    assert logs[0][-1][1] == pb.JOB_EVENT_TYPE_COMPLETED


async def test_watch_finished_job_sends_snapshot_and_terminal(stub) -> None:
    job = await submit(stub, "#fail")
    await wait_terminal(stub, job.job_id)
    messages = await watch_all(stub, job.job_id)
    assert [item.event.type for item in messages] == [pb.JOB_EVENT_TYPE_SNAPSHOT, pb.JOB_EVENT_TYPE_FAILED]
    assert messages[1].event.message == "voice failed: the voice engine stopped; try again later"
    assert messages[0].job.status == messages[1].job.status == pb.JOB_STATUS_FAILED


async def test_list_jobs_pages_newest_first(stub) -> None:
    submitted = [await submit(stub, "#fail") for _ in range(5)]
    for job in submitted:
        await wait_terminal(stub, job.job_id)
    seen: list[str] = []
    token = ""
    total = None
    while True:
        page = await stub.ListJobs(pb.ListJobsRequest(page_size=2, page_token=token, status=pb.JOB_STATUS_FAILED))
        assert len(page.jobs) <= 2
        assert all(job.status == pb.JOB_STATUS_FAILED for job in page.jobs)
        total = page.total_size if total is None else total
        seen.extend(job.job_id for job in page.jobs)
        token = page.next_page_token
        if not token:
            break
        assert "job_" not in token
    assert len(seen) == len(set(seen)) == total
    ids = [job.job_id for job in reversed(submitted)]
    assert [job_id for job_id in seen if job_id in ids] == ids


async def test_page_token_bound_to_status_filter(stub) -> None:
    for _ in range(3):
        await submit(stub, "#fail")
    page = await stub.ListJobs(pb.ListJobsRequest(page_size=1))
    assert page.next_page_token
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListJobs(pb.ListJobsRequest(page_size=1, page_token=page.next_page_token,
                                               status=pb.JOB_STATUS_COMPLETED))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
