"""Thumbnails: a JPEG at the video's size from a frame that is not black."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.errors import StageError
from pipeline.thumbnail import make_thumbnail


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
