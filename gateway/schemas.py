"""Pydantic models of the REST contract: the request body it validates and the shapes it documents.

Responses are built as plain dictionaries by gateway.translate; the response
models here feed /openapi.json and must stay in step with those dictionaries
(the gateway tests compare them).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

Platform = Literal[
    "youtube_1080p", "youtube_4k", "tiktok", "shorts", "reels", "instagram", "instagram_portrait", "linkedin",
]
JobStatusName = Literal["pending", "running", "completed", "failed", "cancelled"]

EXAMPLE_BRIEF = (
    "Create a 30-second commercial for Barrios A2I, an AI automation company. Target audience: "
    "B2B SaaS founders and marketing directors. Highlight how AI automation gives startups "
    "enterprise-grade infrastructure. Tone: bold, innovative, cyberpunk aesthetic with cosmic "
    "cyan and neon amber colors."
)


def _reject_bool(value: object) -> object:
    # Pydantic's lax mode reads true as 1; a boolean is never a meaningful count here.
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


StrictishInt = Annotated[int, BeforeValidator(_reject_bool)]


class GenerateBody(BaseModel):
    """Body of POST /generate.

    Unknown fields are ignored, as the original service ignored them, so existing
    clients that send extra keys keep working. Types follow pydantic's lax mode
    like the original FastAPI service: a numeric string such as "30" or a whole
    float such as 30.0 is accepted for an integer, and anything else of the wrong
    JSON type (a number for brief, a string for metadata, true for an integer)
    is a 422 naming the field.
    """

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [{
                "brief": EXAMPLE_BRIEF,
                "industry": "technology",
                "duration_seconds": 30,
                "platform": "youtube_1080p",
                "style": "cyberpunk",
                "voice_style": "professional",
            }],
        },
    )

    brief: str = Field(
        min_length=10, max_length=2000,
        description="What the commercial is about: product, audience, benefits, tone, colours. "
        "10 to 2000 characters, also after trimming whitespace.",
    )
    industry: str = Field(default="technology", description="Industry that steers wording and imagery.")
    duration_seconds: StrictishInt = Field(default=30, ge=15, le=120, description="Video length in seconds.")
    platform: Platform = Field(default="youtube_1080p", description="Output preset.")
    style: str | None = Field(
        default=None,
        description="Visual style: cyberpunk, minimal, corporate, playful, luxury or cinematic. "
        "An unknown style falls back to a default, noted in the result's warnings.",
    )
    voice_style: str | None = Field(default=None, description="Voice style, for example professional.")
    metadata: dict[str, Any] | None = Field(
        default=None,
        description="A JSON object stored with the job and returned in the result exactly as sent. "
        "At most 16 KiB and 8 levels of nesting.",
    )
    seed: StrictishInt | None = Field(
        default=None, ge=0, le=2**32 - 1,
        description="Seed for every random choice; the same request and seed give the same video.",
    )


class SceneOut(BaseModel):
    """One shot of the storyboard."""

    index: int
    start_seconds: float
    duration_seconds: float
    narration: str
    on_screen_text: str
    visual_direction: str
    transition: str


class CaptionsOut(BaseModel):
    """Absolute URLs of the caption files."""

    srt_url: str | None
    vtt_url: str | None


class JobResultOut(BaseModel):
    """What a completed job produced. URLs are absolute and served by this gateway."""

    video_url: str | None
    thumbnail_url: str | None
    script: str
    duration_seconds: float = Field(description="Measured duration of the finished video.")
    cost_usd: float
    generation_time_seconds: float
    metadata: dict[str, Any] | None = Field(description="The request's metadata, exactly as sent.")
    storyboard: list[SceneOut]
    captions: CaptionsOut
    palette: list[str] = Field(description='Colours used, as "#rrggbb", primary first.')
    style: str = Field(description="Visual style used after fallbacks.")
    voice: str = Field(description='Voice used, for example "piper:en_US-joe-medium".')
    stage_seconds: dict[str, float]
    warnings: list[str]
    details: dict[str, Any] = Field(description="Output facts: size, frame rate, codecs, loudness, providers.")


class JobOut(BaseModel):
    """A job as the original service returned it. Every key is always present."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "job_id": "job_8db62df5d9f5",
        "status": "pending",
        "created_at": "2025-12-19T07:02:10.320956",
        "updated_at": "2025-12-19T07:02:10.320956",
        "progress": 0,
        "brief": EXAMPLE_BRIEF,
        "result": None,
        "error": None,
    }]})

    job_id: str = Field(pattern=r"^job_[0-9a-f]{12}$")
    status: JobStatusName
    created_at: str = Field(description="UTC, ISO 8601 with microseconds and no offset.")
    updated_at: str = Field(description="UTC, ISO 8601 with microseconds and no offset.")
    progress: float = Field(ge=0, le=100, description="0 to 100, never decreasing.")
    brief: str
    result: JobResultOut | None = Field(description="Null until the job completes.")
    error: str | None = Field(description="Null, or what went wrong when the job failed.")


class JobListOut(BaseModel):
    """A page of jobs, newest first."""

    jobs: list[JobOut]
    total: int = Field(description="Number of jobs matching the filter, across all pages.")


class CancelOut(BaseModel):
    """Confirmation of a cancelled job."""

    message: str = Field(examples=["Job job_8db62df5d9f5 cancelled"])
    job_id: str


class ErrorOut(BaseModel):
    """Every non-validation error."""

    detail: str


class ValidationErrorItem(BaseModel):
    """One invalid field."""

    loc: list[str | int] = Field(examples=[["body", "brief"]])
    msg: str
    type: str


class ValidationErrorOut(BaseModel):
    """HTTP 422: every invalid field, found by the gateway or by the job service."""

    detail: list[ValidationErrorItem]


class EventLine(BaseModel):
    """One line of GET /jobs/{job_id}/events. Every key is always present."""

    sequence: int = Field(description="Sequence of the event. On a snapshot line, the sequence the following events "
                          "come after; on heartbeat and error lines, the last one sent.")
    type: str = Field(
        description="snapshot, queued, started, stage_started, progress, warning, requeued, completed, "
        "failed or cancelled for job events; heartbeat for keep-alive lines; error for the last line of "
        "a stream that broke off.",
        examples=["stage_started"],
    )
    stage: str | None
    progress: float | None
    message: str | None
    time: str = Field(description="When the event was recorded (UTC), or when the line was sent.")
    job: JobOut | None = Field(description="The job after the event; null on heartbeat and error lines.")
    status_code: int | None = Field(description="On error lines, the HTTP status the error maps to.")
