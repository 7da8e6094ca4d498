"""Checks a finished commercial against the delivery spec by probing and decoding the file itself.

Black and frozen stretches are found one of two ways. The renderer can hand every frame it
encodes to a FrameChecks while drawing, which measures them on the exact pictures x264 received
at almost no cost. The check then decodes only the keyframes and the audio. Without those
measurements, ffmpeg decodes the whole video and runs its blackdetect and freezedetect filters.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import StageError
from pipeline.media import Loudness, analyse_video, count_video_packets, decode_keyframes, measure_loudness, probe
from pipeline.models import PlatformPreset
from pipeline.visual_canvas import Planes

logger = logging.getLogger(__name__)

_STAGE = "quality_check"
TARGET_LUFS = -14.0
LOUDNESS_TOLERANCE_LU = 1.0
MAX_TRUE_PEAK_DBTP = -1.0
MAX_BLACK_SECONDS = 1.0
MAX_FROZEN_SECONDS = 2.0
# Black as in the ffmpeg pass (blackdetect pix_th=0.10 and its default pic_th=0.98): a pixel is
# black at luma 16 + 0.10 * 219 or below, and a picture is black when 98 % of its pixels are.
BLACK_PIXEL_LUMA = 37
BLACK_PICTURE_SHARE = 0.98
# A drawn frame is unchanged when no sampled pixel differs from the first frame of the stretch
# by more than one level. freezedetect's tolerance (a mean difference of 0.001 of full scale)
# absorbs compression noise, which drawn frames do not have. Applied to them, that mean let a
# few small sparks moving over a still background count as frozen, though they visibly move.
UNCHANGED_LEVELS = 1
# FrameChecks samples every 4th pixel of each plane in both directions, about 130,000 luma and
# 65,000 chroma samples of a 1080p frame, at 0.3 ms a frame. A moving shape at least 4 pixels
# wide and 4 high always covers samples.
_SAMPLE_STEP = 4


class FrameChecks:
    """Measures black and frozen stretches on the frames as the renderer draws them.

    `see` is called once per frame, in order, from the renderer's drawing thread. `black_spans`
    and `frozen_spans` are read after the render has finished.
    """

    def __init__(self, frames: int, fps: int) -> None:
        self.frames = frames
        self.fps = fps
        self.seen = 0
        self._black = np.zeros(frames, dtype=bool)
        self._unchanged = np.zeros(frames, dtype=bool)
        self._reference: np.ndarray | None = None

    def see(self, index: int, frame: Planes) -> None:
        if index != self.seen or index >= self.frames:
            raise ValueError(f"frame {index} arrived out of order; expected frame {self.seen} of {self.frames}")
        luma = frame.y[::_SAMPLE_STEP, ::_SAMPLE_STEP]
        sample = np.concatenate(
            (luma.ravel(), frame.u[::_SAMPLE_STEP, ::_SAMPLE_STEP].ravel(), frame.v[::_SAMPLE_STEP, ::_SAMPLE_STEP].ravel())
        ).astype(np.int16)
        self._black[index] = np.count_nonzero(luma <= BLACK_PIXEL_LUMA) >= BLACK_PICTURE_SHARE * luma.size
        # Like freezedetect, compare with the first frame of the current still stretch rather than
        # with the frame before, so a slow drift adds up and ends the stretch.
        if self._reference is not None and int(np.abs(sample - self._reference).max()) <= UNCHANGED_LEVELS:
            self._unchanged[index] = True
        else:
            self._reference = sample
        self.seen += 1

    @property
    def complete(self) -> bool:
        return self.seen == self.frames

    def black_spans(self, min_seconds: float) -> tuple[tuple[float, float], ...]:
        """Return the stretches of black frames lasting at least `min_seconds`, as (start, end) seconds."""
        return self._runs(self._black, min_seconds)

    def frozen_spans(self, min_seconds: float) -> tuple[tuple[float, float], ...]:
        """Return the stretches where the picture does not change for at least `min_seconds`, as (start, end) seconds."""
        # A stretch of unchanged frames begins with the frame they all equal: the one before them.
        still = self._unchanged.copy()
        still[:-1] |= self._unchanged[1:]
        return self._runs(still, min_seconds)

    def _runs(self, flags: np.ndarray, min_seconds: float) -> tuple[tuple[float, float], ...]:
        edges = np.flatnonzero(np.diff(np.concatenate(([0], flags[: self.seen].astype(np.int8), [0]))))
        spans = []
        for start, end in zip(edges[::2], edges[1::2]):
            if (end - start) / self.fps >= min_seconds:
                spans.append((round(int(start) / self.fps, 3), round(int(end) / self.fps, 3)))
        return tuple(spans)


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


def check_output(
    video_path: Path, preset: PlatformPreset, *, duration: float, frames: FrameChecks | None = None
) -> QualityReport:
    """Probe `video_path` and raise StageError("quality_check", ...) listing every check that failed.

    Checks: duration and stream lengths within one frame, H.264 yuv420p and AAC streams, size,
    frame rate and square pixels. Loudness must be -14 +/- 1 LUFS with true peak at most -1 dBTP.
    No black stretch may last over 1 s and no frozen stretch over 2 s. Given `frames` from the
    render that wrote the file, those two stretches are measured on the frames it drew. The file
    must then hold one video packet per frame, and its keyframes must decode. Without `frames`,
    ffmpeg decodes the whole video to find them.
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

    if frames is not None and frames.complete:
        black, frozen, loudness = _check_with_frames(video_path, frames, failures, with_audio=audio is not None)
    else:
        analysis = analyse_video(
            video_path,
            duration=info.duration,
            black_min_seconds=MAX_BLACK_SECONDS,
            freeze_min_seconds=MAX_FROZEN_SECONDS,
            with_audio=audio is not None,
            stage=_STAGE,
        )
        black, frozen, loudness = analysis.black, analysis.frozen, analysis.loudness
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
    for start, end in black:
        failures.append(f"video is black from {start:.2f} s to {end:.2f} s, expected no black stretch over {MAX_BLACK_SECONDS:.0f} s")
    for start, end in frozen:
        failures.append(f"video is frozen from {start:.2f} s to {end:.2f} s, expected no frozen stretch over {MAX_FROZEN_SECONDS:.0f} s")

    if failures:
        logger.warning("quality check of %s failed: %s", video_path, "; ".join(failures))
        raise StageError(
            _STAGE,
            "; ".join(failures) + ". The rendered video failed its delivery checks, which is an internal error: "
            "retry the job, and report its id if it fails again",
        )
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
        black_spans=black,
        frozen_spans=frozen,
    )
    logger.info(
        "quality check passed for %s: %.3f s, %.1f LUFS, %.1f dBTP",
        video_path, report.duration, report.integrated_lufs, report.true_peak_dbtp,
    )
    return report


def _check_with_frames(
    video_path: Path, frames: FrameChecks, failures: list[str], *, with_audio: bool
) -> tuple[tuple[tuple[float, float], ...], tuple[tuple[float, float], ...], Loudness | None]:
    """Count the video packets, decode the keyframes and measure the audio, side by side."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        loudness = pool.submit(measure_loudness, video_path, stage=_STAGE) if with_audio else None
        packets = pool.submit(count_video_packets, video_path, stage=_STAGE)
        keyframes = decode_keyframes(video_path, stage=_STAGE)
        measured = loudness.result() if loudness is not None else None
        counted = packets.result()
    _expect(failures, counted == frames.frames, f"video stream holds {counted} frames, expected {frames.frames}")
    _expect(failures, keyframes > 0, "no keyframe of the video stream decodes; expected a playable H.264 stream")
    return frames.black_spans(MAX_BLACK_SECONDS), frames.frozen_spans(MAX_FROZEN_SECONDS), measured


def _expect(failures: list[str], condition: bool, message: str) -> None:
    if not condition:
        failures.append(message)
