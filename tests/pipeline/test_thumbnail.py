"""Thumbnails: a JPEG at the video's size from a frame that is not black."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.errors import StageError
from pipeline.thumbnail import FrameGrab, make_thumbnail
from pipeline.visual_canvas import Planes


def encode(path: Path, filters: str, seconds: float = 4.0) -> Path:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", filters, "-t", str(seconds),
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )
    return path


def test_thumbnail_size_and_content(tmp_path: Path) -> None:
    video = encode(tmp_path / "v.mp4", "testsrc2=s=480x270:r=30")
    thumbnail = make_thumbnail(video, tmp_path / "thumb.jpg", at_seconds=1.5)
    with Image.open(thumbnail) as image:
        assert image.format == "JPEG"
        assert image.size == (480, 270)
        luma = np.asarray(image.convert("L"), dtype=float)
    assert luma.mean() > 30
    assert luma.std() > 10


def test_thumbnail_skips_black_frame(tmp_path: Path) -> None:
    # Black for the first two seconds, then a test picture.
    video = encode(
        tmp_path / "v.mp4",
        "testsrc2=s=320x180:r=30,drawbox=c=black:t=fill:enable='lt(t,2)'",
    )
    thumbnail = make_thumbnail(video, tmp_path / "thumb.jpg", at_seconds=0.5)
    with Image.open(thumbnail) as image:
        assert np.asarray(image.convert("L"), dtype=float).mean() > 30


def test_thumbnail_of_black_video_fails(tmp_path: Path) -> None:
    video = encode(tmp_path / "v.mp4", "color=c=black:s=320x180:r=30")
    with pytest.raises(StageError, match="black") as caught:
        make_thumbnail(video, tmp_path / "thumb.jpg", at_seconds=1.0)
    assert caught.value.stage == "thumbnail"


def test_thumbnail_clamps_time_past_end(tmp_path: Path) -> None:
    video = encode(tmp_path / "v.mp4", "testsrc2=s=320x180:r=30", seconds=2.0)
    thumbnail = make_thumbnail(video, tmp_path / "thumb.jpg", at_seconds=10.0)
    with Image.open(thumbnail) as image:
        assert image.size == (320, 180)


def drawn_frame(index: int, picture: np.ndarray) -> FrameGrab:
    """A FrameGrab that saw `picture` (RGB) as frame `index` among others."""
    grab = FrameGrab(index)
    other = Planes.solid(picture.shape[1], picture.shape[0], "#c81e1e")
    for seen in range(index + 3):
        grab.see(seen, Planes.from_rgb(picture) if seen == index else other)
    return grab


def test_thumbnail_from_drawn_frame(tmp_path: Path) -> None:
    # The video is black: a thumbnail read from it would fail, so this one comes from the drawn frame.
    video = encode(tmp_path / "v.mp4", "color=c=black:s=320x180:r=30")
    rng = np.random.default_rng(3)
    picture = np.repeat(np.repeat(rng.integers(0, 256, (18, 32, 3), dtype=np.uint8), 10, 0), 10, 1)
    thumbnail = make_thumbnail(video, tmp_path / "thumb.jpg", at_seconds=1.0, drawn=drawn_frame(5, picture))
    with Image.open(thumbnail) as image:
        assert image.size == (320, 180)
        saved = np.asarray(image.convert("RGB"), dtype=np.float32)
    assert np.abs(saved - picture.astype(np.float32)).mean() < 12


def test_thumbnail_reads_video_when_drawn_frame_is_black(tmp_path: Path) -> None:
    video = encode(tmp_path / "v.mp4", "testsrc2=s=320x180:r=30")
    black = np.zeros((180, 320, 3), dtype=np.uint8)
    thumbnail = make_thumbnail(video, tmp_path / "thumb.jpg", at_seconds=1.0, drawn=drawn_frame(2, black))
    with Image.open(thumbnail) as image:
        luma = np.asarray(image.convert("L"), dtype=float)
    assert luma.mean() > 30
    assert luma.std() > 10


def test_frame_grab_keeps_a_copy() -> None:
    grab = FrameGrab(1)
    frame = Planes.empty(16, 16)
    frame.fill((100, 128, 128))
    grab.see(0, frame)
    assert grab.planes is None
    grab.see(1, frame)
    frame.fill((20, 128, 128))
    grab.see(2, frame)
    assert grab.planes is not None
    assert int(grab.planes.y.min()) == int(grab.planes.y.max()) == 100
