"""Encode short commercials with render_video and check the files by probing and decoding them."""

from __future__ import annotations

import dataclasses
import json
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import PipelineConfig
from pipeline.errors import StageError
from pipeline.models import RenderSpec
from pipeline.render import FrameRenderer, encode_soundtrack, frame_count, mux, render_video
from pipeline.visual_canvas import Planes
from pipeline.visual_samples import sample_spec

FFMPEG = "/usr/bin/ffmpeg"
FFPROBE = "/usr/bin/ffprobe"
CONFIG = PipelineConfig()


def _probe(path: Path) -> dict:
    output = subprocess.run(
        [FFPROBE, "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output)


def _stream(info: dict, kind: str) -> dict | None:
    return next((stream for stream in info["streams"] if stream["codec_type"] == kind), None)


def _top_level_atoms(path: Path) -> list[str]:
    atoms = []
    data = path.read_bytes()
    offset = 0
    while offset + 8 <= len(data):
        size, name = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        atoms.append(name.decode("latin-1"))
        if size == 0:
            break
        offset += size
    return atoms


def _tone(path: Path, seconds: float) -> Path:
    subprocess.run(
        [FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency=330:duration={seconds}", "-ac", "2", "-ar", "44100", str(path)], check=True
    )
    return path


def _decode_frame(path: Path, t: float, width: int, height: int) -> np.ndarray:
    raw = subprocess.run(
        [FFMPEG, "-v", "error", "-ss", f"{t:.3f}", "-i", str(path), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(height, width, 3)


def _check_video(path: Path, spec: RenderSpec) -> dict:
    info = _probe(path)
    video = _stream(info, "video")
    assert video is not None
    assert video["codec_name"] == "h264"
    assert video["pix_fmt"] == "yuv420p"
    assert video.get("sample_aspect_ratio", "1:1") in ("1:1", "0:1")
    assert (video["width"], video["height"]) == (spec.preset.width, spec.preset.height)
    assert video["r_frame_rate"] == f"{spec.preset.fps}/1"
    frame = 1.0 / spec.preset.fps
    assert abs(float(video["duration"]) - spec.duration) <= frame + 1e-6
    assert int(video["nb_frames"]) == frame_count(spec)
    atoms = _top_level_atoms(path)
    assert atoms.index("moov") < atoms.index("mdat"), f"moov after mdat: {atoms}"
    return info


@pytest.fixture(scope="module")
def square_with_audio(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RenderSpec]:
    folder = tmp_path_factory.mktemp("square")
    spec = sample_spec("cyberpunk", "instagram", duration=5.0, scenes=3)
    # Audio 0.4 s shorter than the video: the renderer pads it with silence.
    audio = _tone(folder / "voice and music ü.wav", 4.6)
    return render_video(spec, folder / "ad.mp4", audio_path=audio, config=CONFIG), spec


def test_square_video_streams(square_with_audio: tuple[Path, RenderSpec]) -> None:
    path, spec = square_with_audio
    info = _check_video(path, spec)
    audio = _stream(info, "audio")
    assert audio is not None
    assert audio["codec_name"] == "aac"
    video = _stream(info, "video")
    assert video is not None
    assert abs(float(audio["duration"]) - float(video["duration"])) <= 1.0 / spec.preset.fps + 1e-6


def test_square_video_matches_renderer(square_with_audio: tuple[Path, RenderSpec]) -> None:
    path, spec = square_with_audio
    renderer = FrameRenderer(spec)
    for t in (0.5, 2.5, 4.5):
        decoded = _decode_frame(path, t, spec.preset.width, spec.preset.height).astype(np.int16)
        drawn = renderer.frame_at(t).astype(np.int16)
        assert np.abs(decoded - drawn).mean() < 6.0, f"decoded frame at {t} s differs from the drawn one"


def test_long_audio_is_trimmed(tmp_path: Path) -> None:
    spec = sample_spec("minimal", "instagram", duration=4.0, scenes=2, size=(480, 480))
    audio = _tone(tmp_path / "long.wav", 7.0)
    info = _check_video(render_video(spec, tmp_path / "trimmed.mp4", audio_path=audio, config=CONFIG), spec)
    stream = _stream(info, "audio")
    assert stream is not None
    assert abs(float(stream["duration"]) - 4.0) <= 1.0 / spec.preset.fps + 1e-6


@pytest.mark.parametrize(("platform", "style"), [("youtube_1080p", "luxury"), ("tiktok", "playful")])
def test_wide_and_vertical_without_audio(tmp_path: Path, platform: str, style: str) -> None:
    spec = sample_spec(style, platform, duration=2.0, scenes=2)
    path = render_video(spec, tmp_path / "ad.mp4", audio_path=None, config=CONFIG)
    info = _check_video(path, spec)
    assert _stream(info, "audio") is None


def test_fractional_duration_rounds_to_frames(tmp_path: Path) -> None:
    spec = sample_spec("corporate", "instagram", duration=2.71, scenes=2, size=(320, 320))
    info = _check_video(render_video(spec, tmp_path / "odd.mp4", audio_path=None, config=CONFIG), spec)
    assert int(_stream(info, "video")["nb_frames"]) == 81  # type: ignore[index]


def test_invalid_audio_raises_stage_error(tmp_path: Path) -> None:
    spec = sample_spec("cinematic", "instagram", duration=2.0, scenes=1, size=(320, 320))
    audio = tmp_path / "broken.wav"
    audio.write_bytes(b"RIFF\x00\x00\x00\x00not a wave file at all")
    with pytest.raises(StageError) as caught:
        render_video(spec, tmp_path / "out.mp4", audio_path=audio, config=CONFIG)
    assert caught.value.stage == "render"
    assert "ffmpeg exited with status" in caught.value.message
    assert "Likely cause" in caught.value.message
    assert not (tmp_path / "out.mp4").exists()
    assert not list(tmp_path.glob("*.rendering.mp4"))


def test_missing_audio_raises_stage_error(tmp_path: Path) -> None:
    spec = sample_spec("cinematic", "instagram", duration=2.0, scenes=1, size=(320, 320))
    with pytest.raises(StageError, match="audio file .* does not exist"):
        render_video(spec, tmp_path / "out.mp4", audio_path=tmp_path / "absent.wav", config=CONFIG)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"duration": 0.0}, "duration 0.0 is invalid"),
        ({"style": "vaporwave"}, "style 'vaporwave' is unknown"),
    ],
)
def test_invalid_spec_rejected(tmp_path: Path, change: dict, message: str) -> None:
    spec = dataclasses.replace(sample_spec("minimal", "instagram", duration=2.0, scenes=1, size=(320, 320)), **change)
    with pytest.raises(StageError, match=message):
        render_video(spec, tmp_path / "out.mp4", audio_path=None, config=CONFIG)


def test_empty_storyboard_rejected(tmp_path: Path) -> None:
    spec = sample_spec("minimal", "instagram", duration=2.0, scenes=1, size=(320, 320))
    spec = dataclasses.replace(spec, storyboard=dataclasses.replace(spec.storyboard, scenes=()))
    with pytest.raises(StageError, match="storyboard has no scenes"):
        render_video(spec, tmp_path / "out.mp4", audio_path=None, config=CONFIG)


def test_progress_reaches_one(tmp_path: Path) -> None:
    reports: list[float] = []
    spec = sample_spec("playful", "instagram", duration=2.0, scenes=1, size=(320, 320))
    render_video(spec, tmp_path / "out.mp4", audio_path=None, config=CONFIG, progress=lambda stage, fraction, message: reports.append(fraction))
    assert reports == sorted(reports)
    assert reports[-1] == 1.0
    assert all(0.0 <= value <= 1.0 for value in reports)


def test_same_spec_same_video_frames(tmp_path: Path) -> None:
    spec = sample_spec("cyberpunk", "instagram", duration=2.0, scenes=2, size=(320, 320))
    first = render_video(spec, tmp_path / "first.mp4", audio_path=None, config=CONFIG)
    second = render_video(spec, tmp_path / "second.mp4", audio_path=None, config=CONFIG)
    for t in (0.4, 1.1, 1.9):
        assert _decode_frame(first, t, 320, 320).tobytes() == _decode_frame(second, t, 320, 320).tobytes()


class _Recorder:
    """A frame tap that keeps the index and a copy of the luma of every frame it gets."""

    def __init__(self) -> None:
        self.indices: list[int] = []
        self.luma: list[np.ndarray] = []

    def see(self, index: int, frame: Planes) -> None:
        self.indices.append(index)
        self.luma.append(frame.y.copy())


def test_taps_see_every_encoded_frame_in_order(tmp_path: Path) -> None:
    spec = sample_spec("cyberpunk", "instagram", duration=2.0, scenes=2, size=(320, 320))
    recorder = _Recorder()
    path = render_video(spec, tmp_path / "tapped.mp4", audio_path=None, config=CONFIG, taps=(recorder,))
    assert recorder.indices == list(range(frame_count(spec)))
    # What the tap saw is what was encoded: compare with the decoded luma of three frames.
    for index in (3, 30, 57):
        decoded = subprocess.run(
            [FFMPEG, "-v", "error", "-i", str(path), "-vf", f"select=eq(n\\,{index})", "-frames:v", "1",
             "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"],
            capture_output=True, check=True,
        ).stdout
        luma = np.frombuffer(decoded, np.uint8, 320 * 320).reshape(320, 320).astype(np.int16)
        assert np.abs(luma - recorder.luma[index]).mean() < 3.0, f"frame {index} differs from what the tap saw"


def test_failing_tap_stops_the_render(tmp_path: Path) -> None:
    class Failing:
        def see(self, index: int, frame: Planes) -> None:
            if index == 10:
                raise ValueError("tap failed on frame 10")

    spec = sample_spec("minimal", "instagram", duration=2.0, scenes=1, size=(320, 320))
    with pytest.raises(ValueError, match="tap failed on frame 10"):
        render_video(spec, tmp_path / "failed.mp4", audio_path=None, config=CONFIG, taps=(Failing(),))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("audio_seconds", [4.6, 5.7])
def test_soundtrack_encoded_apart_and_muxed(tmp_path: Path, audio_seconds: float) -> None:
    spec = sample_spec("corporate", "instagram", duration=5.0, scenes=2, size=(320, 320))
    silent = render_video(spec, tmp_path / "silent.mp4", audio_path=None, config=CONFIG)
    soundtrack = encode_soundtrack(_tone(tmp_path / "tone.wav", audio_seconds), tmp_path / "soundtrack.m4a", spec=spec)
    track = _stream(_probe(soundtrack), "audio")
    assert track is not None
    assert (track["codec_name"], track["sample_rate"]) == ("aac", "48000")
    # Padded or trimmed to the video's length.
    assert abs(float(track["duration"]) - 5.0) <= 1.0 / spec.preset.fps

    info = _check_video(mux(silent, soundtrack, tmp_path / "ad.mp4"), spec)
    video, audio = _stream(info, "video"), _stream(info, "audio")
    assert video is not None and audio is not None
    assert abs(float(audio["duration"]) - float(video["duration"])) <= 1.0 / spec.preset.fps + 1e-6
    # The video stream was copied, not encoded again.
    assert _decode_frame(tmp_path / "ad.mp4", 2.5, 320, 320).tobytes() == _decode_frame(silent, 2.5, 320, 320).tobytes()


def test_soundtrack_from_missing_file_names_the_mix(tmp_path: Path) -> None:
    spec = sample_spec("corporate", "instagram", duration=2.0, scenes=1, size=(320, 320))
    with pytest.raises(StageError, match="the mix stage must write it first") as caught:
        encode_soundtrack(tmp_path / "absent.wav", tmp_path / "soundtrack.m4a", spec=spec)
    assert caught.value.stage == "render"
