"""Translation from the gRPC messages to the contract's JSON shapes.

The contract fixes snake_case keys, lowercase statuses, explicit nulls and
timestamps such as "2025-12-19T07:02:10.320956" (UTC, microseconds, no offset),
so the gateway builds each object by hand instead of using the protobuf JSON mapping.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson
from google.protobuf import json_format, timestamp_pb2

from gateway.rawjson import minify_json
from gateway.urls import UrlBuilder
from ragnarok.v1 import ragnarok_pb2

logger = logging.getLogger(__name__)

_STATUS_PREFIX = "JOB_STATUS_"
_EVENT_PREFIX = "JOB_EVENT_TYPE_"


@dataclass(frozen=True)
class Download:
    """A file of a completed job as the gateway serves it."""

    artifact: ragnarok_pb2.Artifact
    media_type: str
    extension: str


# URL name under /jobs/{job_id}/ -> the artifact behind it. Nothing else is served.
DOWNLOADS: dict[str, Download] = {
    "video": Download(ragnarok_pb2.ARTIFACT_VIDEO, "video/mp4", ".mp4"),
    "thumbnail": Download(ragnarok_pb2.ARTIFACT_THUMBNAIL, "image/jpeg", ".jpg"),
    "captions.srt": Download(ragnarok_pb2.ARTIFACT_CAPTIONS_SRT, "application/x-subrip", ".srt"),
    "captions.vtt": Download(ragnarok_pb2.ARTIFACT_CAPTIONS_VTT, "text/vtt; charset=utf-8", ".vtt"),
}

STATUS_NAMES: dict[int, str] = {
    value.number: value.name.removeprefix(_STATUS_PREFIX).lower()
    for value in ragnarok_pb2.JobStatus.DESCRIPTOR.values
    if value.number != ragnarok_pb2.JOB_STATUS_UNSPECIFIED
}
STATUS_VALUES: dict[str, int] = {name: number for number, name in STATUS_NAMES.items()}


def status_name(status: int) -> str:
    """Return the contract's lowercase name for a JobStatus value ("unspecified" for unknown values)."""
    return STATUS_NAMES.get(status, "unspecified")


def event_type_name(event_type: int) -> str:
    """Return the lowercase name of a JobEventType value, for example "stage_started"."""
    try:
        name = ragnarok_pb2.JobEventType.Name(event_type)
    except ValueError:
        return "unspecified"
    return str(name).removeprefix(_EVENT_PREFIX).lower()


def format_timestamp(timestamp: timestamp_pb2.Timestamp) -> str:
    """Format a Timestamp as UTC ISO 8601 with microseconds and no offset."""
    return format_datetime(timestamp.ToDatetime(tzinfo=timezone.utc))


def format_datetime(moment: datetime) -> str:
    """Format an aware datetime as UTC ISO 8601 with microseconds and no offset."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")


def format_progress(progress: float) -> int | float:
    """Return whole percentages as ints, so a new job shows "progress": 0 as the original did."""
    rounded = round(progress, 2)
    return int(rounded) if rounded.is_integer() else rounded


def metadata_fragment(metadata_json: str, job_id: str) -> orjson.Fragment | None:
    """Return the caller's metadata as JSON text to embed unchanged, or None when there is none."""
    if not metadata_json.strip():
        return None
    try:
        orjson.loads(metadata_json)
    except orjson.JSONDecodeError:
        logger.warning("Job %s has metadata that is not valid JSON; returning null", job_id)
        return None
    return orjson.Fragment(minify_json(metadata_json))


def _whole_numbers_as_ints(value: Any) -> Any:
    # google.protobuf.Struct stores every number as a double; show 1920 rather than 1920.0.
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers_as_ints(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers_as_ints(item) for item in value]
    return value


def scene_to_json(scene: ragnarok_pb2.Scene) -> dict[str, Any]:
    return {
        "index": scene.index,
        "start_seconds": scene.start_seconds,
        "duration_seconds": scene.duration_seconds,
        "narration": scene.narration,
        "on_screen_text": scene.on_screen_text,
        "visual_direction": scene.visual_direction,
        "transition": scene.transition,
    }


def result_to_json(job: ragnarok_pb2.Job, urls: UrlBuilder) -> dict[str, Any]:
    """Build a completed job's result: the original's keys first, then the additions."""
    result = job.result
    sizes = result.artifact_sizes

    def url_if_present(name: str) -> str | None:
        artifact_key = ragnarok_pb2.Artifact.Name(DOWNLOADS[name].artifact)
        return urls.download(job.job_id, name) if artifact_key in sizes else None

    return {
        "video_url": url_if_present("video"),
        "thumbnail_url": url_if_present("thumbnail"),
        "script": result.script,
        "duration_seconds": result.duration_seconds,
        "cost_usd": result.cost_usd,
        "generation_time_seconds": result.generation_time_seconds,
        "metadata": metadata_fragment(job.metadata_json, job.job_id),
        "storyboard": [scene_to_json(scene) for scene in result.storyboard],
        "captions": {"srt_url": url_if_present("captions.srt"), "vtt_url": url_if_present("captions.vtt")},
        "palette": list(result.palette),
        "style": result.style,
        "voice": result.voice,
        "stage_seconds": dict(result.stage_seconds),
        "warnings": list(job.warnings),
        "details": _whole_numbers_as_ints(json_format.MessageToDict(result.details)),
    }


def job_to_json(job: ragnarok_pb2.Job, urls: UrlBuilder) -> dict[str, Any]:
    """Build the contract's job object; every key is present, unset values are null."""
    completed = job.status == ragnarok_pb2.JOB_STATUS_COMPLETED and job.HasField("result")
    return {
        "job_id": job.job_id,
        "status": status_name(job.status),
        "created_at": format_timestamp(job.create_time),
        "updated_at": format_timestamp(job.update_time),
        "progress": format_progress(job.progress),
        "brief": job.brief,
        "result": result_to_json(job, urls) if completed else None,
        "error": job.error or None,
    }


def event_line(response: ragnarok_pb2.WatchJobResponse, urls: UrlBuilder) -> dict[str, Any]:
    """Build one event line of the events stream from a WatchJob message."""
    event = response.event
    return {
        "sequence": event.sequence,
        "type": event_type_name(event.type),
        "stage": event.stage or None,
        "progress": format_progress(event.progress),
        "message": event.message or None,
        "time": format_timestamp(event.create_time),
        "job": job_to_json(response.job, urls),
        "status_code": None,
    }


def heartbeat_line(last_sequence: int, now: datetime) -> dict[str, Any]:
    """Build a keep-alive line; `sequence` is the last event's, so a client can resume from it."""
    return {
        "sequence": last_sequence,
        "type": "heartbeat",
        "stage": None,
        "progress": None,
        "message": None,
        "time": format_datetime(now),
        "job": None,
        "status_code": None,
    }


def error_line(last_sequence: int, now: datetime, status_code: int, detail: str) -> dict[str, Any]:
    """Build the line that ends a stream which broke off; resume with after_sequence=`last_sequence`."""
    return {
        "sequence": last_sequence,
        "type": "error",
        "stage": None,
        "progress": None,
        "message": detail,
        "time": format_datetime(now),
        "job": None,
        "status_code": status_code,
    }
