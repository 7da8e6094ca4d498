"""Thumbnail: one frame of the finished video saved as a JPEG at the video's size.

The renderer can hand the chosen frame to a FrameGrab while it draws, which saves the picture
exactly as drawn, before H.264 compression, and without decoding the video again. Otherwise,
or when that frame is black or flat, frames are read from the video file with moviepy's
VideoFileClip, which keeps one ffmpeg reader open, so trying several candidate frames costs
one decoder rather than one process per frame.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PIL import Image

from pipeline.errors import StageError
from pipeline.visual_canvas import Planes

logger = logging.getLogger(__name__)

_STAGE = "thumbnail"
# A frame whose mean luma is below this (0-255) counts as black.
MIN_MEAN_LUMA = 8.0
MIN_LUMA_SPREAD = 4.0
JPEG_QUALITY = 92


class FrameGrab:
    """A copy of one frame, taken while the renderer draws. `see` runs on the renderer's drawing thread."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.planes: Planes | None = None

    def see(self, index: int, frame: Planes) -> None:
        if index == self.index:
            copy = Planes.empty(frame.width, frame.height)
            copy.copy_from(frame)
            self.planes = copy


def make_thumbnail(video_path: Path, out_path: Path, *, at_seconds: float, drawn: FrameGrab | None = None) -> Path:
    """Save the frame at `at_seconds` as a JPEG; if it is black or flat, try other points in the video.

    `drawn` is that frame as the renderer drew it; a visible one is saved without reading the video.
    """
    if drawn is not None and drawn.planes is not None:
        picture = drawn.planes.to_rgb()
        if _is_visible(picture):
            Image.fromarray(picture).save(out_path, "JPEG", quality=JPEG_QUALITY)
            logger.info("thumbnail from drawn frame %d written to %s", drawn.index, out_path)
            return out_path
        logger.info("drawn frame %d is black or flat; looking through the video", drawn.index)
    # moviepy takes about 0.15 s to import, paid only when the video must be read.
    from moviepy import VideoFileClip

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
