"""Thumbnail: one frame of the finished video saved as a JPEG at the video's size."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PIL import Image

from pipeline.errors import StageError
from pipeline.media import probe, run_ffmpeg

logger = logging.getLogger(__name__)

_STAGE = "thumbnail"
# A frame whose mean luma is below this (0-255) counts as black.
MIN_MEAN_LUMA = 8.0
MIN_LUMA_SPREAD = 4.0


def make_thumbnail(video_path: Path, out_path: Path, *, at_seconds: float) -> Path:
    """Save the frame at `at_seconds` as a JPEG; if it is black or flat, try other points in the video."""
    duration = probe(video_path, stage=_STAGE).duration
    candidates = [at_seconds] + [duration * fraction for fraction in (0.25, 0.5, 0.75, 0.1, 0.9)]
    for seconds in candidates:
        seconds = min(max(seconds, 0.0), max(duration - 0.05, 0.0))
        run_ffmpeg(
            ["-ss", f"{seconds:.3f}", "-i", str(video_path), "-frames:v", "1", "-q:v", "2", str(out_path)],
            stage=_STAGE,
            timeout=60.0,
        )
        if out_path.is_file() and _is_visible(out_path):
            logger.info("thumbnail from %.2f s written to %s", seconds, out_path)
            return out_path
        logger.info("frame at %.2f s is black or flat; trying another", seconds)
    raise StageError(_STAGE, f"every sampled frame of {video_path.name!r} is black or flat; check the rendered video")


def _is_visible(path: Path) -> bool:
    with Image.open(path) as image:
        luma = np.asarray(image.convert("L"), dtype=np.float64)
    return float(luma.mean()) >= MIN_MEAN_LUMA and float(luma.std()) >= MIN_LUMA_SPREAD
