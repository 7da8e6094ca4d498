"""Thumbnail: one frame of the finished video saved as a JPEG at the video's size.

Frames are read with moviepy's VideoFileClip, which keeps one ffmpeg reader open, so
trying several candidate frames costs one decoder rather than one process per frame.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from moviepy import VideoFileClip
from PIL import Image

from pipeline.errors import StageError

logger = logging.getLogger(__name__)

_STAGE = "thumbnail"
# A frame whose mean luma is below this (0-255) counts as black.
MIN_MEAN_LUMA = 8.0
MIN_LUMA_SPREAD = 4.0
JPEG_QUALITY = 92


def make_thumbnail(video_path: Path, out_path: Path, *, at_seconds: float) -> Path:
    """Save the frame at `at_seconds` as a JPEG; if it is black or flat, try other points in the video."""
    try:
        clip = VideoFileClip(str(video_path), audio=False)
    except (OSError, KeyError, IndexError) as error:
        raise StageError(_STAGE, f"cannot read {video_path.name!r}: {error}; check the rendered video") from error
    try:
        duration = float(clip.duration)
        last_frame = max(duration - 1.0 / float(clip.fps), 0.0)
        candidates = [at_seconds] + [duration * fraction for fraction in (0.25, 0.5, 0.75, 0.1, 0.9)]
        for seconds in candidates:
            seconds = min(max(seconds, 0.0), last_frame)
            frame = np.asarray(clip.get_frame(seconds), dtype=np.uint8)
            if _is_visible(frame):
                Image.fromarray(frame).save(out_path, "JPEG", quality=JPEG_QUALITY)
                logger.info("thumbnail from %.2f s written to %s", seconds, out_path)
                return out_path
            logger.info("frame at %.2f s is black or flat; trying another", seconds)
    finally:
        clip.close()
    raise StageError(_STAGE, f"every sampled frame of {video_path.name!r} is black or flat; check the rendered video")


def _is_visible(frame: np.ndarray) -> bool:
    luma = frame.astype(np.float32) @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
    return float(luma.mean()) >= MIN_MEAN_LUMA and float(luma.std()) >= MIN_LUMA_SPREAD
