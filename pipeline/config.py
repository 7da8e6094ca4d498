"""Settings that change how the pipeline renders and which providers it calls."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PipelineConfig(BaseModel):
    """Pipeline settings; the defaults run fully offline."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # x264 speed preset; nothing faster than veryfast, to keep quality.
    x264_preset: str = Field(default="veryfast", pattern="^(veryfast|faster|fast|medium|slow)$")
    # x264 constant-quality factor: lower is better quality and larger files.
    x264_crf: int = Field(default=23, ge=0, le=23)
