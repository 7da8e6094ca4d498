"""ffprobe and ffmpeg helpers shared by the stages: probing, loudness, black and frozen video, WAV I/O.

Every helper runs the system ffmpeg/ffprobe as a subprocess with a time limit and raises
StageError naming the calling stage when the tool fails, with the tail of its stderr.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import wave
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from pipeline.errors import StageError

logger = logging.getLogger(__name__)

FFMPEG = "ffmpeg"
FFPROBE = "ffprobe"
# Upper bound for one ffmpeg call; a 30 s 4K analysis pass takes well under a minute on 2 cores.
DEFAULT_TIMEOUT_SECONDS = 600.0


@dataclass(frozen=True)
class VideoStream:
    codec: str
    pix_fmt: str
    width: int
    height: int
    fps: float
    sample_aspect_ratio: str
    duration: float


@dataclass(frozen=True)
class AudioStream:
    codec: str
    channels: int
    sample_rate: int
    duration: float


@dataclass(frozen=True)
class MediaInfo:
    """Container duration and the first video and audio streams of a file, as ffprobe reports them."""

    duration: float
    video: VideoStream | None
    audio: AudioStream | None


@dataclass(frozen=True)
class Loudness:
    """EBU R 128 measurement: integrated loudness (LUFS), true peak (dBTP), loudness range (LU)."""

    integrated_lufs: float
    true_peak_dbtp: float
    loudness_range_lu: float


def run_tool(args: list[str], *, stage: str, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> subprocess.CompletedProcess[str]:
    """Run ffmpeg or ffprobe and return the finished process; raise StageError on failure or timeout."""
    logger.debug("running %s", " ".join(args))
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError as error:
        raise StageError(stage, f"{args[0]} is not installed; install it with: apt-get install ffmpeg") from error
    except subprocess.TimeoutExpired as error:
        raise StageError(stage, f"{args[0]} timed out after {timeout:.0f} s") from error
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-6:])
        raise StageError(stage, f"{args[0]} exited with status {done.returncode}: {tail}")
    return done


def run_ffmpeg(args: list[str], *, stage: str, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> str:
    """Run ffmpeg with `args` (after the common flags) and return its stderr, where filters print results."""
    return run_tool([FFMPEG, "-hide_banner", "-nostdin", "-y", *args], stage=stage, timeout=timeout).stderr


def _rate(text: str) -> float:
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return 0.0
    return float(value)


def _float(value: object, default: float = 0.0) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default


def probe(path: Path, *, stage: str = "quality_check") -> MediaInfo:
    """Return the container duration and the first video and audio stream of `path`."""
    done = run_tool(
        [FFPROBE, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
        stage=stage,
        timeout=60.0,
    )
    data = json.loads(done.stdout)
    video: VideoStream | None = None
    audio: AudioStream | None = None
    for stream in data.get("streams", []):
        kind = stream.get("codec_type")
        if kind == "video" and video is None and stream.get("disposition", {}).get("attached_pic", 0) == 0:
            video = VideoStream(
                codec=str(stream.get("codec_name", "")),
                pix_fmt=str(stream.get("pix_fmt", "")),
                width=int(stream.get("width", 0)),
                height=int(stream.get("height", 0)),
                fps=_rate(str(stream.get("avg_frame_rate", "0/1"))) or _rate(str(stream.get("r_frame_rate", "0/1"))),
                sample_aspect_ratio=str(stream.get("sample_aspect_ratio", "1:1")),
                duration=_float(stream.get("duration")),
            )
        elif kind == "audio" and audio is None:
            audio = AudioStream(
                codec=str(stream.get("codec_name", "")),
                channels=int(stream.get("channels", 0)),
                sample_rate=int(stream.get("sample_rate", 0)),
                duration=_float(stream.get("duration")),
            )
    return MediaInfo(duration=_float(data.get("format", {}).get("duration")), video=video, audio=audio)


_SUMMARY_PATTERNS = {
    "integrated": re.compile(r"Integrated loudness:\s*\n\s*I:\s*(-?[\d.]+|-inf)\s*LUFS"),
    "range": re.compile(r"Loudness range:\s*\n\s*LRA:\s*(-?[\d.]+|-inf)\s*LU"),
    "peak": re.compile(r"True peak:\s*\n\s*Peak:\s*(-?[\d.]+|-inf)\s*dBFS"),
}


def parse_ebur128_summary(stderr: str) -> Loudness:
    """Read the summary that ffmpeg's ebur128 filter prints at the end of its run."""
    start = stderr.rfind("Summary:")
    if start < 0:
        raise ValueError("ffmpeg printed no ebur128 summary")
    summary = stderr[start:]
    values: dict[str, float] = {}
    for key, pattern in _SUMMARY_PATTERNS.items():
        match = pattern.search(summary)
        if match is None:
            raise ValueError(f"ebur128 summary has no {key} value")
        values[key] = float("-inf") if match.group(1) == "-inf" else float(match.group(1))
    return Loudness(values["integrated"], values["peak"], values["range"])


def measure_loudness(path: Path, *, stage: str = "mix") -> Loudness:
    """Measure the first audio stream of `path` with ffmpeg's ebur128 filter (true peak by 4x oversampling)."""
    stderr = run_ffmpeg(
        ["-i", str(path), "-map", "0:a:0", "-vn", "-af", "ebur128=peak=true:framelog=verbose", "-f", "null", "-"],
        stage=stage,
    )
    try:
        return parse_ebur128_summary(stderr)
    except ValueError as error:
        raise StageError(stage, f"failed to measure the loudness of {path.name!r}: {error}") from error


@dataclass(frozen=True)
class VideoAnalysis:
    """Black and frozen stretches (start, end) in seconds, plus the loudness of the audio, from one decode pass."""

    black: tuple[tuple[float, float], ...]
    frozen: tuple[tuple[float, float], ...]
    loudness: Loudness | None


def _spans(stderr: str, kind: str, duration: float) -> tuple[tuple[float, float], ...]:
    if kind == "black":
        matches = re.findall(r"black_start:\s*([\d.]+)\s+black_end:\s*([\d.]+)", stderr)
        return tuple((float(a), float(b)) for a, b in matches)
    starts = [float(v) for v in re.findall(r"lavfi\.freezedetect\.freeze_start:\s*([\d.]+)", stderr)]
    ends = [float(v) for v in re.findall(r"lavfi\.freezedetect\.freeze_end:\s*([\d.]+)", stderr)]
    # A freeze that lasts to the end of the file has a start and no end.
    ends += [duration] * (len(starts) - len(ends))
    return tuple(zip(starts, ends))


def analyse_video(
    path: Path,
    *,
    duration: float,
    black_min_seconds: float,
    freeze_min_seconds: float,
    with_audio: bool,
    stage: str = "quality_check",
) -> VideoAnalysis:
    """Run blackdetect and freezedetect over `path`, and (when `with_audio`) ebur128 over its audio.

    The audio is measured by a second ffmpeg running beside the video pass, so the two share the
    cores instead of one waiting for the other.
    """
    # The decoder skips the deblocking filter and frames are area-scaled to 480 px wide before the
    # detectors. Both only average pixels, and an unchanged frame decodes to the same pixels either
    # way, so this saves about a third of the pass's CPU without hiding black or frozen stretches.
    video_chain = (
        f"scale=480:-2:flags=area,blackdetect=d={black_min_seconds}:pix_th=0.10,"
        f"freezedetect=n=-60dB:d={freeze_min_seconds}"
    )
    args = [FFMPEG, "-hide_banner", "-nostdin", "-skip_loop_filter", "all", "-i", str(path),
            "-map", "0:v:0", "-an", "-vf", video_chain, "-f", "null", "-"]
    with ThreadPoolExecutor(max_workers=1) as pool:
        loudness = pool.submit(measure_loudness, path, stage=stage) if with_audio else None
        done = run_tool(args, stage=stage)
        measured = loudness.result() if loudness is not None else None
    output = done.stderr + done.stdout
    return VideoAnalysis(_spans(output, "black", duration), _spans(output, "frozen", duration), measured)


def count_video_packets(path: Path, *, stage: str = "quality_check") -> int:
    """Return how many packets (frames) the first video stream of `path` holds, read without decoding."""
    done = run_tool(
        [FFPROBE, "-v", "error", "-select_streams", "v:0", "-count_packets",
         "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", str(path)],
        stage=stage,
        timeout=60.0,
    )
    return int(_float(done.stdout.strip().split(",")[0], -1.0))


def decode_keyframes(path: Path, *, stage: str = "quality_check") -> int:
    """Decode only the keyframes of the first video stream of `path` and return how many decoded."""
    done = run_tool(
        [FFMPEG, "-hide_banner", "-nostdin", "-skip_frame", "nokey", "-i", str(path),
         "-map", "0:v:0", "-an", "-fps_mode", "passthrough", "-f", "null", "-"],
        stage=stage,
    )
    counts = re.findall(r"frame=\s*(\d+)", done.stderr)
    return int(counts[-1]) if counts else 0


def read_audio(path: Path, *, sample_rate: int = 48000, channels: int = 2, stage: str = "mix") -> np.ndarray:
    """Decode any audio file to float32 samples shaped (frames, channels) at `sample_rate`."""
    done = subprocess.run(
        [FFMPEG, "-hide_banner", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0",
         "-ac", str(channels), "-ar", str(sample_rate), "-f", "f32le", "-"],
        capture_output=True,
        timeout=DEFAULT_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise StageError(stage, f"failed to decode audio file {path.name!r}: {' '.join(message)}")
    samples = np.frombuffer(done.stdout, dtype="<f4")
    return samples.reshape(-1, channels).copy()


def write_wav(path: Path, samples: np.ndarray, sample_rate: int) -> Path:
    """Write float samples shaped (frames, channels) in -1..1 as a 16-bit PCM WAV file."""
    frames = np.asarray(samples, dtype=np.float64)
    if frames.ndim == 1:
        frames = frames[:, None]
    pcm = np.clip(np.round(frames * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(frames.shape[1])
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(pcm.tobytes())
    return path
