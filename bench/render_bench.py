"""Render throughput measured against the pure encode cost of the same frames.

For one case it runs the real pipeline in this process, keeping the RenderSpec and the audio
the render stage was given. A job renders the picture alone (its soundtrack is encoded to AAC
on another thread meanwhile and copied in afterwards), so both timings are of video only. Then
it alternates two timings on the same inputs:

- reference: the finished video decoded to a raw yuv420p file, fed by a separate Python
  process (bench.feed, 1 MiB pipe) into ffmpeg with the encoder command the renderer builds
  (same codec, preset, CRF, pixel format, size and frame rate), so only drawing is missing;
- ours: pipeline.render.render_video on the same spec (frames plus encode).
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from pipeline.config import PipelineConfig
from pipeline.models import JobRequest, RenderSpec

from bench.cases import Case

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class CapturedRender:
    """The render stage's input from one in-process job, and what that job produced."""

    spec: RenderSpec
    audio_path: Path | None
    video_path: Path
    stage_seconds: dict[str, float]


@dataclass(frozen=True)
class Timing:
    wall_seconds: float
    cpu_seconds: float


@dataclass
class RenderResult:
    case: str
    frames: int
    video_seconds: float
    reference: list[Timing] = field(default_factory=list)
    ours: list[Timing] = field(default_factory=list)
    job_stage_seconds: dict[str, float] = field(default_factory=dict)
    reference_stream: dict[str, object] = field(default_factory=dict)
    ours_stream: dict[str, object] = field(default_factory=dict)

    @property
    def throughput_ratio(self) -> float:
        """Best reference encode time over best render time: the share of the encoder's speed the render reaches."""
        return min(t.wall_seconds for t in self.reference) / min(t.wall_seconds for t in self.ours)

    @property
    def cpu_ratio(self) -> float:
        """Reference CPU seconds over ours: the share of our CPU work that encoding alone needs, less sensitive to load."""
        return min(t.cpu_seconds for t in self.reference) / min(t.cpu_seconds for t in self.ours)

    def as_dict(self) -> dict[str, object]:
        best_reference = min(t.wall_seconds for t in self.reference)
        best_ours = min(t.wall_seconds for t in self.ours)
        return {
            "case": self.case,
            "frames": self.frames,
            "video_seconds": self.video_seconds,
            "reference_wall_seconds": [t.wall_seconds for t in self.reference],
            "reference_cpu_seconds": [t.cpu_seconds for t in self.reference],
            "ours_wall_seconds": [t.wall_seconds for t in self.ours],
            "ours_cpu_seconds": [t.cpu_seconds for t in self.ours],
            "reference_fps": round(self.frames / best_reference, 1),
            "ours_fps": round(self.frames / best_ours, 1),
            "throughput_ratio": round(self.throughput_ratio, 3),
            "cpu_ratio": round(self.cpu_ratio, 3),
            "job_stage_seconds": self.job_stage_seconds,
            "reference_stream": self.reference_stream,
            "ours_stream": self.ours_stream,
        }


class _QuietReporter:
    """A JobReporter that drops progress; the in-process job needs one."""

    def progress(self, stage: str, percent: float, message: str = "") -> None:
        pass

    def warning(self, stage: str, message: str) -> None:
        logger.info("job warning in %s: %s", stage, message)


def job_request(case: Case, seed: int | None = None) -> JobRequest:
    return JobRequest(
        brief=case.brief,
        industry=case.industry,
        duration_seconds=case.duration_seconds,
        platform=case.platform,
        style=case.style,
        voice_style=case.voice_style,
        seed=case.seed if seed is None else seed,
    )


def capture_render(case: Case, workdir: Path, config: PipelineConfig) -> CapturedRender:
    """Run the whole pipeline for `case` in this process and keep the render stage's input."""
    import pipeline.run as run_module  # the pipeline imports TTS and imaging libraries: load it only here
    from pipeline.render import render_video

    captured: list[tuple[RenderSpec, Path | None]] = []

    def recording(spec: RenderSpec, out_path: Path, *, audio_path: Path | None, **options: Any) -> Path:
        kept_audio = None
        if audio_path is not None:
            kept_audio = workdir / "render_audio.wav"
            shutil.copyfile(audio_path, kept_audio)
        captured.append((spec, kept_audio))
        return render_video(spec, out_path, audio_path=audio_path, **options)

    with mock.patch.object(run_module, "render_video", recording):
        output = run_module.run_job(job_request(case), workdir / "job", config, _QuietReporter())
    if len(captured) != 1:
        raise RuntimeError(f"expected the job to render once, it rendered {len(captured)} times")
    spec, audio = captured[0]
    with (workdir / "spec.pickle").open("wb") as handle:
        pickle.dump((spec, audio), handle)
    return CapturedRender(spec, audio, output.video_path, dict(output.stage_seconds))


def probe_video(path: Path) -> dict[str, object]:
    """Return codec, profile, pixel format, size, frame rate and frame count of the first video stream."""
    result = subprocess.run(
        [
            "ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
            "-show_entries", "stream=codec_name,profile,pix_fmt,width,height,r_frame_rate,nb_read_packets",
            "-of", "json", str(path),
        ],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    streams = json.loads(result.stdout).get("streams", [])
    return dict(streams[0]) if streams else {}


def decode_raw(video: Path, raw: Path, frame_bytes: int, frames: int) -> None:
    """Decode the video stream of `video` to yuv420p frames in `raw`; check the frame count."""
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(video), "-map", "0:v:0",
         "-f", "rawvideo", "-pix_fmt", "yuv420p", str(raw)],
        check=True,
    )  # fmt: skip
    decoded = raw.stat().st_size // frame_bytes
    if decoded != frames:
        raise RuntimeError(f"{video} decodes to {decoded} frames, the spec has {frames}")


def _cpu_now() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def time_reference(raw: Path, spec: RenderSpec, config: PipelineConfig, audio: Path | None, target: Path) -> Timing:
    """Time bench.feed piping `raw` into ffmpeg with the renderer's own encoder command."""
    from pipeline.render import _encoder_command, frame_count

    frames = frame_count(spec)
    frame_bytes = spec.preset.width * spec.preset.height * 3 // 2
    command = _encoder_command(spec, config, audio, target, frames)
    cpu_before, started = _cpu_now(), time.perf_counter()
    feeder = subprocess.Popen(
        [sys.executable, "-m", "bench.feed", str(raw), str(frame_bytes)], stdout=subprocess.PIPE, cwd=REPO_ROOT
    )
    assert feeder.stdout is not None
    encoder = subprocess.Popen(command, stdin=feeder.stdout, stderr=subprocess.PIPE)
    feeder.stdout.close()
    _, stderr = encoder.communicate()
    feeder_code = feeder.wait()
    elapsed = time.perf_counter() - started
    if encoder.returncode != 0 or feeder_code != 0:
        raise RuntimeError(f"reference encode failed (ffmpeg {encoder.returncode}, feeder {feeder_code}): {stderr.decode()[-2000:]}")
    return Timing(round(elapsed, 3), round(_cpu_now() - cpu_before, 2))


def time_ours(spec: RenderSpec, config: PipelineConfig, audio: Path | None, target: Path) -> Timing:
    """Time render_video with the frame taps a job uses: the quality check's measurements and the thumbnail's frame."""
    from pipeline.quality import FrameChecks
    from pipeline.render import frame_count, render_video
    from pipeline.thumbnail import FrameGrab

    frames = frame_count(spec)
    taps = (FrameChecks(frames, spec.preset.fps), FrameGrab(frames - 1))
    cpu_before, started = _cpu_now(), time.perf_counter()
    render_video(spec, target, audio_path=audio, config=config, taps=taps)
    return Timing(round(time.perf_counter() - started, 3), round(_cpu_now() - cpu_before, 2))


def bench_render(case: Case, workdir: Path, config: PipelineConfig, reps: int) -> RenderResult:
    """Capture the case's render input, then alternate reference and render timings `reps` times each."""
    from pipeline.render import frame_count

    captured = capture_render(case, workdir, config)
    spec = captured.spec
    frames = frame_count(spec)
    result = RenderResult(case.name, frames, frames / spec.preset.fps, job_stage_seconds=captured.stage_seconds)
    raw = workdir / "frames.yuv"
    decode_raw(captured.video_path, raw, spec.preset.width * spec.preset.height * 3 // 2, frames)
    reference_out, ours_out = workdir / "reference.mp4", workdir / "ours.mp4"
    try:
        for rep in range(reps):
            result.reference.append(time_reference(raw, spec, config, captured.audio_path, reference_out))
            result.ours.append(time_ours(spec, config, captured.audio_path, ours_out))
            logger.info(
                "%s rep %d: reference %.2f s, ours %.2f s", case.name, rep + 1, result.reference[-1].wall_seconds, result.ours[-1].wall_seconds
            )
    finally:
        raw.unlink(missing_ok=True)
    result.reference_stream = probe_video(reference_out)
    result.ours_stream = probe_video(ours_out)
    return result
