"""Values passed between pipeline stages.

Every stage takes some of these and returns new ones; none is edited in place.
Times are in seconds from the start of the video, colours are "#rrggbb".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal, Protocol

# Called by a stage as it works: (stage name, fraction of that stage done from
# 0.0 to 1.0, short message). The job runner turns it into overall progress.
ProgressCallback = Callable[[str, float, str], None]


def silent_progress(stage: str, fraction: float, message: str) -> None:
    """Ignore a progress report; the default for stages run outside a job."""


@dataclass(frozen=True)
class JobRequest:
    """A validated generation request, as the worker receives it."""

    brief: str
    industry: str = "technology"
    duration_seconds: int = 30
    platform: str = "youtube_1080p"
    style: str | None = None
    voice_style: str | None = None
    seed: int | None = None


@dataclass(frozen=True)
class Palette:
    """Colours of one commercial, chosen from the brief and the style."""

    primary: str
    secondary: str
    accent: str
    background: str
    text: str
    # Colour names found in the brief, in order, for example ("cosmic cyan", "neon amber").
    named: tuple[str, ...] = ()

    def as_list(self) -> list[str]:
        return [self.primary, self.secondary, self.accent, self.background, self.text]


@dataclass(frozen=True)
class BriefAnalysis:
    """What the brief says, plus the style, voice and industry resolved from the request."""

    brand: str
    product: str
    audience: str
    benefits: tuple[str, ...]
    tone: str
    call_to_action: str
    palette: Palette
    industry: str
    style: str
    voice_style: str
    # BCP 47 primary language of the brief: "en", "zh", "ja", "ko", ...
    language: str = "en"
    # One sentence per default that replaced an unknown or missing value.
    fallbacks: tuple[str, ...] = ()


ScriptSection = Literal["hook", "problem", "solution", "proof", "cta"]


@dataclass(frozen=True)
class ScriptLine:
    """One voiceover sentence: the text shown in captions and the text spoken."""

    section: ScriptSection
    # As written; captions show exactly this.
    text: str
    # What the voice reads: numbers, prices and abbreviations expanded, emoji removed.
    spoken: str


@dataclass(frozen=True)
class Script:
    """The voiceover script in ad order."""

    lines: tuple[ScriptLine, ...]
    # Speaking rate the length was planned for, in words per minute.
    words_per_minute: float
    # Language the lines are written in: "en", "zh", "ja", "ko".
    language: str = "en"
    # One sentence per compromise the writer made, such as English copy for an unsupported language.
    fallbacks: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return " ".join(line.text for line in self.lines)


@dataclass(frozen=True)
class WordTiming:
    """When one written word is spoken."""

    text: str
    start: float
    end: float


@dataclass(frozen=True)
class LineTiming:
    """When one script line is spoken, with its words."""

    index: int
    start: float
    end: float
    words: tuple[WordTiming, ...]


@dataclass(frozen=True)
class Voiceover:
    """A synthesized voiceover and the timing of each script line in it."""

    path: Path
    duration: float
    sample_rate: int
    # Engine and voice, for example "piper:en_US-joe-medium" or "espeak-ng:en-us".
    voice: str
    lines: tuple[LineTiming, ...]


Transition = Literal["cut", "crossfade", "wipe", "slide", "zoom", "glitch"]


@dataclass(frozen=True)
class Scene:
    """One shot: what is said, shown and how it moves into the next shot."""

    index: int
    start: float
    duration: float
    narration: str
    on_screen_text: str
    visual_direction: str
    transition: Transition = "crossfade"
    # "end_card" for the closing brand and call-to-action card.
    kind: Literal["scene", "end_card"] = "scene"


@dataclass(frozen=True)
class Storyboard:
    """Scenes covering the whole video without gaps, each longer than zero."""

    scenes: tuple[Scene, ...]


@dataclass(frozen=True)
class CaptionCue:
    """One caption on screen: its time span and its lines, already wrapped to fit."""

    start: float
    end: float
    text: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class CaptionLayout:
    """How captions are drawn: font, size and the box they must stay inside, in pixels."""

    font_path: Path
    font_size: int
    # Left, top, width, height of the caption area inside the platform's safe area.
    box: tuple[int, int, int, int]
    line_spacing: float = 1.25
    # Face index inside a font collection (.ttc); 0 for a single-face file.
    font_index: int = 0


@dataclass(frozen=True)
class PlatformPreset:
    """Output format for one target platform."""

    name: str
    width: int
    height: int
    fps: int
    # Fractions of the frame to keep clear on each side: top, right, bottom, left.
    safe_margins: tuple[float, float, float, float]
    crf: int = 23
    audio_bitrate: str = "192k"


@dataclass(frozen=True)
class RenderSpec:
    """Everything the visual renderer needs to draw every frame of one commercial."""

    preset: PlatformPreset
    duration: float
    style: str
    palette: Palette
    storyboard: Storyboard
    cues: tuple[CaptionCue, ...]
    caption_layout: CaptionLayout
    brand: str
    call_to_action: str
    seed: int
    # Optional still images per scene index (generated by an image model), animated by the renderer.
    scene_images: dict[int, Path] = field(default_factory=dict)


class JobReporter(Protocol):
    """Receives a job's live progress from the pipeline; the worker stores each report."""

    def progress(self, stage: str, percent: float, message: str = "") -> None:
        """Record that `stage` is running and the job as a whole is `percent` (0 to 100) done."""

    def warning(self, stage: str, message: str) -> None:
        """Record a degradation that does not fail the job, such as a provider fallback."""


@dataclass(frozen=True)
class JobOutput:
    """What a finished pipeline run produced; every path lies inside the job's working directory."""

    video_path: Path
    thumbnail_path: Path
    srt_path: Path
    vtt_path: Path
    script: str
    duration_seconds: float
    cost_usd: float
    storyboard: Storyboard
    palette: Palette
    style: str
    voice: str
    # Seconds each stage took, by stage name.
    stage_seconds: dict[str, float]
    warnings: tuple[str, ...] = ()
    # Output facts for the result: width, height, fps, codecs, loudness, providers, fallbacks.
    details: dict[str, object] = field(default_factory=dict)
