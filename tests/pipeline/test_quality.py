"""Quality check: a good file passes with its measurements; each kind of bad file fails naming the check."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import StageError
from pipeline.mix import mix_audio
from pipeline.models import PlatformPreset
from pipeline.music import synthesize_music
from pipeline.quality import FrameChecks, check_output
from pipeline.visual_canvas import Planes

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


# The render hands its frames to a FrameChecks, and the check then decodes only keyframes and audio.


def decoded_checks(video: Path, preset: PlatformPreset = PRESET) -> FrameChecks:
    """Feed every decoded frame of `video` to a FrameChecks, as the renderer feeds the frames it draws."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(video), "-map", "0:v", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"],
        capture_output=True, check=True,
    ).stdout
    size = preset.width * preset.height * 3 // 2
    count = len(raw) // size
    checks = FrameChecks(count, preset.fps)
    frame = Planes.empty(preset.width, preset.height)
    packed = frame.packed()
    assert packed is not None
    for index in range(count):
        packed[:] = np.frombuffer(raw, np.uint8, size, index * size)
        checks.see(index, frame)
    return checks


def failure_with_frames(video: Path, checks: FrameChecks) -> str:
    with pytest.raises(StageError) as caught:
        check_output(video, PRESET, duration=6.0, frames=checks)
    return caught.value.message


def spans(message: str, kind: str) -> list[tuple[float, float]]:
    found = re.findall(rf"video is {kind} from ([\d.]+) s to ([\d.]+) s", message)
    return [(float(start), float(end)) for start, end in found]


def test_frame_checks_pass_good_file(tmp_path: Path, soundtrack: Path) -> None:
    video = encode(tmp_path / "good.mp4", MOVING, ["-i", str(soundtrack)], seconds=6.0)
    checks = decoded_checks(video)
    assert checks.complete
    report = check_output(video, PRESET, duration=6.0, frames=checks)
    assert report.black_spans == ()
    assert report.frozen_spans == ()
    assert -15.0 <= report.integrated_lufs <= -13.0
    assert report.true_peak_dbtp <= -1.0


@pytest.mark.parametrize(
    ("name", "source", "extra", "kind"),
    [
        ("black", "color=c=black:s=320x180:r=30", None, "black"),
        # Moving for two seconds, then still to the end.
        ("frozen", MOVING, ["-vf", "trim=end=2,setpts=PTS-STARTPTS,tpad=stop_mode=clone:stop_duration=4"], "frozen"),
        # Moving, black from 2 s to 3.5 s, moving again.
        ("black middle", MOVING, ["-vf", "drawbox=c=black:t=fill:enable='between(t,2,3.5)'"], "black"),
    ],
)
def test_frame_checks_find_what_the_decoder_finds(
    tmp_path: Path, soundtrack: Path, name: str, source: str, extra: list[str] | None, kind: str
) -> None:
    # Lossless, so both see the same pictures: lossy x264 keeps refining a still picture for a
    # few frames, which moves the start of a frozen stretch by a different amount in each pass.
    video = encode(tmp_path / "clip.mp4", source, ["-i", str(soundtrack)], seconds=6.0, extra=["-qp", "0", *(extra or [])])
    decoded = spans(failure(video), kind)
    measured = spans(failure_with_frames(video, decoded_checks(video)), kind)
    assert decoded, f"ffmpeg found no {kind} stretch in the {name} clip"
    assert len(measured) == len(decoded)
    for (start, end), (decoded_start, decoded_end) in zip(measured, decoded):
        # Within two frames of ffmpeg's detectors.
        assert abs(start - decoded_start) <= 2 / 30 + 1e-6
        assert abs(end - decoded_end) <= 2 / 30 + 1e-6


def test_frame_checks_reject_missing_frames(tmp_path: Path, soundtrack: Path) -> None:
    video = encode(tmp_path / "good.mp4", MOVING, ["-i", str(soundtrack)], seconds=6.0)
    decoded = decoded_checks(video)
    # The render drew one frame more than the file holds.
    checks = FrameChecks(decoded.frames + 1, PRESET.fps)
    frame = Planes.empty(PRESET.width, PRESET.height)
    for index in range(checks.frames):
        frame.fill((60 + index % 100, 128, 128))
        checks.see(index, frame)
    message = failure_with_frames(video, checks)
    assert f"video stream holds {decoded.frames} frames, expected {decoded.frames + 1}" in message


def test_frame_checks_thresholds() -> None:
    checks = FrameChecks(120, 30)
    frame = Planes.empty(64, 36)
    for index in range(120):
        if index < 40:
            frame.fill((37, 128, 128))  # black: at the blackdetect pixel threshold
        elif index < 80:
            frame.fill((60 + (index % 2) * 40, 128, 128))  # bright and flickering
        else:
            frame.fill((120, 128, 128))  # still
        checks.see(index, frame)
    assert checks.black_spans(1.0) == ((0.0, 1.333),)
    assert checks.black_spans(1.5) == ()
    # The black frames are still too; the still stretch begins with frame 80, the first at luma 120.
    assert checks.frozen_spans(1.0) == ((0.0, 1.333), (2.667, 4.0))
    assert checks.frozen_spans(2.0) == ()


def test_frame_checks_reject_frames_out_of_order() -> None:
    checks = FrameChecks(3, 30)
    frame = Planes.empty(16, 16)
    checks.see(0, frame)
    with pytest.raises(ValueError, match="frame 2 arrived out of order; expected frame 1 of 3"):
        checks.see(2, frame)


def test_frame_checks_small_spark_is_motion() -> None:
    # A still backdrop with one 5-pixel spark drifting across it: a viewer sees motion, and a
    # mean-difference tolerance like freezedetect's would have called three seconds of it frozen.
    backdrop = np.random.default_rng(5).integers(40, 200, (360, 640), dtype=np.uint8)
    moving = FrameChecks(90, 30)
    still = FrameChecks(90, 30)
    frame = Planes.empty(640, 360)
    frame.u.fill(128)
    frame.v.fill(128)
    for index in range(90):
        frame.y[...] = backdrop
        still.see(index, frame)
        frame.y[100:105, 50 + index : 55 + index] = 235
        moving.see(index, frame)
    assert moving.frozen_spans(2.0) == ()
    assert still.frozen_spans(2.0) == ((0.0, 3.0),)


def test_frame_checks_black_pixel_threshold() -> None:
    checks = FrameChecks(60, 30)
    frame = Planes.empty(64, 36)
    for index in range(60):
        frame.fill((38, 128, 128))  # one level above blackdetect's pixel threshold
        checks.see(index, frame)
    assert checks.black_spans(1.0) == ()
