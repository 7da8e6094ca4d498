"""Checks a finished commercial against the delivery spec by probing and decoding the file itself."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.errors import StageError
from pipeline.media import analyse_video, probe
from pipeline.models import PlatformPreset

logger = logging.getLogger(__name__)

_STAGE = "quality_check"
TARGET_LUFS = -14.0
LOUDNESS_TOLERANCE_LU = 1.0
MAX_TRUE_PEAK_DBTP = -1.0
MAX_BLACK_SECONDS = 1.0
MAX_FROZEN_SECONDS = 2.0


@dataclass(frozen=True)
class QualityReport:
    """Measured facts about the finished file; every one passed its check."""

    duration: float
    video_duration: float
    audio_duration: float
    width: int
    height: int
    fps: float
    video_codec: str
    pix_fmt: str
    sample_aspect_ratio: str
    audio_codec: str
    audio_channels: int
    audio_sample_rate: int
    integrated_lufs: float
    true_peak_dbtp: float
    loudness_range_lu: float
    black_spans: tuple[tuple[float, float], ...]
    frozen_spans: tuple[tuple[float, float], ...]

    def as_details(self) -> dict[str, object]:
        """Return the report as plain values for a job result's details."""
        details = asdict(self)
        details["black_spans"] = [list(span) for span in self.black_spans]
        details["frozen_spans"] = [list(span) for span in self.frozen_spans]
        return details


def check_output(video_path: Path, preset: PlatformPreset, *, duration: float) -> QualityReport:
    """Probe `video_path` and raise StageError("quality_check", ...) listing every check that failed.

    Checks: duration and stream lengths within one frame, H.264 yuv420p and AAC streams, size,
    frame rate and square pixels. Loudness must be -14 +/- 1 LUFS with true peak at most -1 dBTP.
    No black stretch may last over 1 s and no frozen stretch over 2 s.
    """
    if not video_path.is_file():
        raise StageError(_STAGE, f"output file {str(video_path)!r} was not written")
    info = probe(video_path, stage=_STAGE)
    frame = 1.0 / preset.fps
    failures: list[str] = []
    video = info.video
    audio = info.audio
    if video is None:
        raise StageError(_STAGE, f"{video_path.name!r} has no video stream; expected H.264 video")
    if audio is None:
        failures.append("audio stream missing; expected an AAC stream")

    _expect(failures, abs(info.duration - duration) <= frame + 1e-6, f"duration is {info.duration:.3f} s, expected {duration:.3f} s +/- {frame:.3f} s")
    _expect(failures, video.codec == "h264", f"video codec is {video.codec!r}, expected 'h264'")
    _expect(failures, video.pix_fmt == "yuv420p", f"pixel format is {video.pix_fmt!r}, expected 'yuv420p'")
    _expect(
        failures,
        (video.width, video.height) == (preset.width, preset.height),
        f"resolution is {video.width}x{video.height}, expected {preset.width}x{preset.height}",
    )
    _expect(failures, abs(video.fps - preset.fps) < 0.01, f"frame rate is {video.fps:.3f} fps, expected {preset.fps}")
    _expect(
        failures,
        video.sample_aspect_ratio in ("1:1", "0:1", "N/A"),
        f"sample aspect ratio is {video.sample_aspect_ratio}, expected 1:1",
    )
    if audio is not None:
        _expect(failures, audio.codec == "aac", f"audio codec is {audio.codec!r}, expected 'aac'")
        _expect(
            failures,
            abs(audio.duration - video.duration) <= frame + 1e-6,
            f"audio stream is {audio.duration:.3f} s and video stream {video.duration:.3f} s, expected equal within {frame:.3f} s",
        )

    analysis = analyse_video(
        video_path,
        duration=info.duration,
        black_min_seconds=MAX_BLACK_SECONDS,
        freeze_min_seconds=MAX_FROZEN_SECONDS,
        with_audio=audio is not None,
        stage=_STAGE,
    )
    loudness = analysis.loudness
    if loudness is not None:
        _expect(
            failures,
            abs(loudness.integrated_lufs - TARGET_LUFS) <= LOUDNESS_TOLERANCE_LU,
            f"integrated loudness is {loudness.integrated_lufs:.1f} LUFS, expected {TARGET_LUFS:.0f} +/- {LOUDNESS_TOLERANCE_LU:.0f} LU",
        )
        _expect(
            failures,
            loudness.true_peak_dbtp <= MAX_TRUE_PEAK_DBTP,
            f"true peak is {loudness.true_peak_dbtp:.1f} dBTP, expected at most {MAX_TRUE_PEAK_DBTP:.0f} dBTP",
        )
    for start, end in analysis.black:
        failures.append(f"video is black from {start:.2f} s to {end:.2f} s, expected no black stretch over {MAX_BLACK_SECONDS:.0f} s")
    for start, end in analysis.frozen:
        failures.append(f"video is frozen from {start:.2f} s to {end:.2f} s, expected no frozen stretch over {MAX_FROZEN_SECONDS:.0f} s")

    if failures:
        logger.warning("quality check of %s failed: %s", video_path, "; ".join(failures))
        raise StageError(_STAGE, "; ".join(failures))
    report = QualityReport(
        duration=info.duration,
        video_duration=video.duration,
        audio_duration=audio.duration if audio else 0.0,
        width=video.width,
        height=video.height,
        fps=video.fps,
        video_codec=video.codec,
        pix_fmt=video.pix_fmt,
        sample_aspect_ratio=video.sample_aspect_ratio,
        audio_codec=audio.codec if audio else "",
        audio_channels=audio.channels if audio else 0,
        audio_sample_rate=audio.sample_rate if audio else 0,
        integrated_lufs=loudness.integrated_lufs if loudness else float("nan"),
        true_peak_dbtp=loudness.true_peak_dbtp if loudness else float("nan"),
        loudness_range_lu=loudness.loudness_range_lu if loudness else float("nan"),
        black_spans=analysis.black,
        frozen_spans=analysis.frozen,
    )
    logger.info(
        "quality check passed for %s: %.3f s, %.1f LUFS, %.1f dBTP",
        video_path, report.duration, report.integrated_lufs, report.true_peak_dbtp,
    )
    return report


def _expect(failures: list[str], condition: bool, message: str) -> None:
    if not condition:
        failures.append(message)
