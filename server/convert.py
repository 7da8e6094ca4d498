"""Conversions between the store's records and the ragnarok.v1 protobuf messages."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from google.protobuf import struct_pb2, timestamp_pb2
from ragnarok.v1 import ragnarok_pb2 as pb

from server.store import EventRecord, EventType, JobRecord, JobStatus

STATUS_TO_PROTO: dict[JobStatus, pb.JobStatus] = {
    JobStatus.PENDING: pb.JOB_STATUS_PENDING,
    JobStatus.RUNNING: pb.JOB_STATUS_RUNNING,
    JobStatus.COMPLETED: pb.JOB_STATUS_COMPLETED,
    JobStatus.FAILED: pb.JOB_STATUS_FAILED,
    JobStatus.CANCELLED: pb.JOB_STATUS_CANCELLED,
}
PROTO_TO_STATUS = {value: key for key, value in STATUS_TO_PROTO.items()}

EVENT_TYPE_TO_PROTO: dict[EventType, pb.JobEventType] = {
    EventType.QUEUED: pb.JOB_EVENT_TYPE_QUEUED,
    EventType.STARTED: pb.JOB_EVENT_TYPE_STARTED,
    EventType.STAGE_STARTED: pb.JOB_EVENT_TYPE_STAGE_STARTED,
    EventType.PROGRESS: pb.JOB_EVENT_TYPE_PROGRESS,
    EventType.WARNING: pb.JOB_EVENT_TYPE_WARNING,
    EventType.REQUEUED: pb.JOB_EVENT_TYPE_REQUEUED,
    EventType.COMPLETED: pb.JOB_EVENT_TYPE_COMPLETED,
    EventType.FAILED: pb.JOB_EVENT_TYPE_FAILED,
    EventType.CANCELLED: pb.JOB_EVENT_TYPE_CANCELLED,
}

# Files a completed job may expose through ReadArtifact, with their MIME types.
ARTIFACT_CONTENT_TYPES: dict[str, str] = {
    "ARTIFACT_VIDEO": "video/mp4",
    "ARTIFACT_THUMBNAIL": "image/jpeg",
    "ARTIFACT_CAPTIONS_SRT": "application/x-subrip",
    "ARTIFACT_CAPTIONS_VTT": "text/vtt",
}


def timestamp(microseconds: int) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=microseconds // 1_000_000, nanos=(microseconds % 1_000_000) * 1000)


def _result_to_proto(result: dict[str, Any]) -> pb.JobResult:
    artifacts: dict[str, dict[str, Any]] = result.get("artifacts") or {}
    details = struct_pb2.Struct()
    details.update(result.get("details") or {})
    return pb.JobResult(
        artifact_sizes={name: int(entry["size"]) for name, entry in artifacts.items()},
        script=str(result.get("script", "")),
        duration_seconds=float(result.get("duration_seconds", 0.0)),
        cost_usd=float(result.get("cost_usd", 0.0)),
        generation_time_seconds=float(result.get("generation_time_seconds", 0.0)),
        storyboard=[
            pb.Scene(
                index=scene["index"],
                start_seconds=scene["start_seconds"],
                duration_seconds=scene["duration_seconds"],
                narration=scene["narration"],
                on_screen_text=scene["on_screen_text"],
                visual_direction=scene["visual_direction"],
                transition=scene["transition"],
            )
            for scene in result.get("storyboard") or []
        ],
        palette=list(result.get("palette") or []),
        style=str(result.get("style", "")),
        voice=str(result.get("voice", "")),
        stage_seconds=dict(result.get("stage_seconds") or {}),
        details=details,
    )


def job_to_proto(job: JobRecord) -> pb.Job:
    message = pb.Job(
        job_id=job.job_id,
        status=STATUS_TO_PROTO[job.status],
        create_time=timestamp(job.created_us),
        update_time=timestamp(job.updated_us),
        progress=job.progress,
        brief=job.brief,
        industry=job.industry,
        duration_seconds=job.duration_seconds,
        platform=job.platform,
        metadata_json=job.metadata_json,
        stage=job.stage,
        attempt=job.attempt,
        error=job.error if job.status is JobStatus.FAILED else "",
        warnings=list(job.warnings),
        last_sequence=job.last_sequence,
    )
    if job.style is not None:
        message.style = job.style
    if job.voice_style is not None:
        message.voice_style = job.voice_style
    if job.status is JobStatus.COMPLETED and job.result is not None:
        message.result.CopyFrom(_result_to_proto(job.result))
    return message


def event_to_proto(event: EventRecord) -> pb.JobEvent:
    return pb.JobEvent(
        sequence=event.sequence,
        type=EVENT_TYPE_TO_PROTO[event.type],
        stage=event.stage,
        progress=event.progress,
        message=event.message,
        create_time=timestamp(event.created_us),
    )


def job_after_event(job: JobRecord, event: EventRecord) -> JobRecord:
    """Rebuild the job as it was right after `event` from the current job and the event.

    Status, progress, stage and sequence come from the event. The result and the error
    appear only with the terminal event that set them.
    """
    terminal_reached = event.sequence >= job.last_sequence and job.status.is_terminal
    return replace(
        job,
        status=event.status,
        progress=event.progress,
        stage=event.stage if event.status is not JobStatus.COMPLETED else "",
        last_sequence=event.sequence,
        updated_us=event.created_us,
        error=job.error if terminal_reached else "",
        result=job.result if terminal_reached else None,
    )
