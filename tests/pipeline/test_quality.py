"""Quality check: a good file passes with its measurements; each kind of bad file fails naming the check."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import StageError
from pipeline.mix import mix_audio
from pipeline.models import PlatformPreset
from pipeline.music import synthesize_music
from pipeline.quality import check_output

PRESET = PlatformPreset("small", 320, 180, 30, (0.05, 0.05, 0.08, 0.05))


def encode(path: Path, video: str, audio: list[str] | None, *, seconds: float, extra: list[str] | None = None) -> Path:
    command = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"{video}:d={seconds}"]
    if audio is not None:
        command += audio
    command += ["-map", "0:v", *(["-map", "1:a", "-c:a", "aac", "-b:a", "128k"] if audio is not None else [])]
    command += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *(extra or []), "-t", str(seconds), str(path)]
    subprocess.run(command, check=True)
    return path


@pytest.fixture(scope="module")
def soundtrack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("soundtrack")
    music = synthesize_music("corporate", duration=6.0, seed=1, out_path=workdir / "music.wav")
    return mix_audio(None, music, duration=6.0, out_path=workdir / "mix.wav").path


MOVING = "testsrc2=s=320x180:r=30"


def test_quality_passes_good_file(tmp_path: Path, soundtrack: Path) -> None:
    video = encode(tmp_path / "good.mp4", MOVING, ["-i", str(soundtrack)], seconds=6.0)
    report = check_output(video, PRESET, duration=6.0)
    assert abs(report.duration - 6.0) <= 1 / 30
    assert (report.width, report.height, report.fps) == (320, 180, 30.0)
    assert report.video_codec == "h264"
    assert report.audio_codec == "aac"
    assert -15.0 <= report.integrated_lufs <= -13.0
    assert report.true_peak_dbtp <= -1.0
    details = report.as_details()
    assert details["integrated_lufs"] == report.integrated_lufs
    assert details["black_spans"] == []


def failure(video: Path, duration: float = 6.0, preset: PlatformPreset = PRESET) -> str:
    with pytest.raises(StageError) as caught:
        check_output(video, preset, duration=duration)
    assert caught.value.stage == "quality_check"
    return caught.value.message


def test_quality_rejects_wrong_duration(tmp_path: Path, soundtrack: Path) -> None:
    video = encode(tmp_path / "short.mp4", MOVING, ["-i", str(soundtrack)], seconds=5.0)
    message = failure(video)
    assert "duration is 5.0" in message
    assert "expected 6.000 s" in message


def test_quality_rejects_silent_audio(tmp_path: Path) -> None:
    video = encode(tmp_path / "silent.mp4", MOVING, ["-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo"], seconds=6.0)
    message = failure(video)
    assert "integrated loudness is" in message
    assert "expected -14 +/- 1 LU" in message


def test_quality_rejects_loud_audio(tmp_path: Path) -> None:
    video = encode(tmp_path / "loud.mp4", MOVING, ["-f", "lavfi", "-i", "sine=f=1000:r=48000,volume=7.9"], seconds=6.0)
    message = failure(video)
    assert "true peak is" in message


def test_quality_rejects_black_video(tmp_path: Path, soundtrack: Path) -> None:
    video = encode(tmp_path / "black.mp4", "color=c=black:s=320x180:r=30", ["-i", str(soundtrack)], seconds=6.0)
    message = failure(video)
    assert "video is black from 0.00 s" in message


def test_quality_rejects_frozen_video(tmp_path: Path, soundtrack: Path) -> None:
    # A moving picture that stops after two seconds and stays still to the end.
    video = encode(
        tmp_path / "frozen.mp4", MOVING, ["-i", str(soundtrack)], seconds=6.0,
        extra=["-vf", "trim=end=2,setpts=PTS-STARTPTS,tpad=stop_mode=clone:stop_duration=4"],
    )
    message = failure(video)
    assert "video is frozen from 2." in message
    assert "to 6.00 s" in message


def test_quality_rejects_missing_audio(tmp_path: Path) -> None:
    video = encode(tmp_path / "mute.mp4", MOVING, None, seconds=6.0)
    assert "audio stream missing" in failure(video)


def test_quality_rejects_wrong_size(tmp_path: Path, soundtrack: Path) -> None:
    video = encode(tmp_path / "size.mp4", MOVING, ["-i", str(soundtrack)], seconds=6.0)
    wide = PlatformPreset("wide", 640, 360, 30, PRESET.safe_margins)
    assert "resolution is 320x180, expected 640x360" in failure(video, preset=wide)


def test_quality_rejects_missing_file(tmp_path: Path) -> None:
    assert "was not written" in failure(tmp_path / "nothing.mp4")


def test_quality_lists_every_failure(tmp_path: Path) -> None:
    video = encode(tmp_path / "bad.mp4", "color=c=black:s=320x180:r=30", ["-f", "lavfi", "-i", "anullsrc=r=48000"], seconds=3.0)
    message = failure(video)
    for check in ("duration is", "integrated loudness is", "video is black"):
        assert check in message
    assert np.isfinite(len(message))
