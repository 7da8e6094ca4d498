"""A small stand-in for the real pipeline, so the server's machinery can be tested on its own.

It reports three stages with progress steps, then writes a real one-second MP4
(ffmpeg's testsrc picture and a sine tone), a thumbnail and caption files. These
markers in the brief change what it does, one per line:

    #fail   raise StageError in the voice stage
    #crash  raise RuntimeError in the render stage
    #exit   end the worker process abruptly in the voice stage (a lost worker)
    #hang   write a partial file and the worker's pid, then block in the render stage
    #slow   sleep 0.4 s per progress step instead of 0.05 s
    #warn   report a warning in the voice stage
    #big    write a lossless 4-second video of about 2.3 MiB, for chunked reads
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

from pipeline.errors import StageError
from pipeline.models import JobOutput, JobRequest, JobReporter, Palette, Scene, Storyboard

STAGES = (("script", 0.0, 20.0), ("voice", 20.0, 50.0), ("render", 50.0, 95.0))
STEPS_PER_STAGE = 3
PID_FILE = "worker.pid"
PARTIAL_FILE = "render.partial"


def _write_media(workdir: Path, big: bool) -> tuple[Path, Path]:
    video = workdir / "output" / "commercial.mp4"
    thumbnail = workdir / "output" / "thumbnail.jpg"
    video.parent.mkdir(parents=True, exist_ok=True)
    picture = "testsrc2=size=640x360:rate=30:duration=4" if big else "testsrc=size=160x90:rate=15:duration=1"
    quality = ["-qp", "0"] if big else []
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", picture,
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={4 if big else 1}",
         "-c:v", "libx264", "-preset", "ultrafast", *quality, "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
         str(video)],
        check=True,
    )
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(video), "-frames:v", "1", str(thumbnail)],
        check=True,
    )
    return video, thumbnail


def run_job(request: JobRequest, workdir: Path, config: Any, reporter: JobReporter) -> JobOutput:
    brief = request.brief
    pause = 0.4 if "#slow" in brief else 0.05
    stage_seconds: dict[str, float] = {}
    for stage, start, end in STAGES:
        began = time.monotonic()
        for step in range(STEPS_PER_STAGE):
            reporter.progress(stage, start + (end - start) * step / STEPS_PER_STAGE, f"{stage} step {step + 1}")
            time.sleep(pause)
        if stage == "voice":
            if "#warn" in brief:
                reporter.warning("voice", "fell back to the offline voice")
            if "#fail" in brief:
                raise StageError("voice", "the voice engine stopped; try again later")
            if "#exit" in brief:
                os._exit(3)
        if stage == "render":
            if "#crash" in brief:
                raise RuntimeError("frame 12 could not be drawn")
            if "#hang" in brief:
                (workdir / PARTIAL_FILE).write_bytes(b"\0" * 1024)
                (workdir / PID_FILE).write_text(str(os.getpid()))
                while True:
                    time.sleep(1)
        stage_seconds[stage] = time.monotonic() - began

    video, thumbnail = _write_media(workdir, big="#big" in brief)
    srt = workdir / "output" / "captions.srt"
    vtt = workdir / "output" / "captions.vtt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nHello\n")
    vtt.write_text("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nHello\n")
    scene = Scene(index=0, start=0.0, duration=1.0, narration="Hello", on_screen_text="Hello",
                  visual_direction="test pattern")
    return JobOutput(
        video_path=video,
        thumbnail_path=thumbnail,
        srt_path=srt,
        vtt_path=vtt,
        script="Hello",
        duration_seconds=1.0,
        cost_usd=0.0,
        storyboard=Storyboard(scenes=(scene,)),
        palette=Palette("#00ffff", "#ffbf00", "#ff00ff", "#000000", "#ffffff"),
        style=request.style or "minimal",
        voice="test:sine",
        stage_seconds=stage_seconds,
        warnings=("fell back to the offline voice",) if "#warn" in brief else (),
        details={"width": 160, "height": 90, "fps": 15},
    )
