"""Layout pass of one scene: text boxes, decorations kept out of them, and label colours by measured contrast."""

from __future__ import annotations

import logging
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from pipeline.visual_colour import RGB

logger = logging.getLogger(__name__)

# (left, top, right, bottom) in frame pixels, right and bottom exclusive.
Box = tuple[int, int, int, int]

# WCAG AA contrast for normal-size text.
MIN_TEXT_CONTRAST = 4.5


class Decoration(Protocol):
    """A backdrop element that can report the area it sweeps and be moved or shrunk."""

    def reach(self) -> Box: ...

    def shifted(self, dx: float, dy: float, scale: float = 1.0) -> Decoration: ...



def overlaps(first: Box, second: Box) -> bool:
    return first[0] < second[2] and second[0] < first[2] and first[1] < second[3] and second[1] < first[3]


def padded(box: Box, pad: int) -> Box:
    return box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad


def _inside_enough(box: Box, width: int, height: int) -> bool:
    """Accept a box whose centre is in the frame, so a moved shape still shows at least partly."""
    centre_x, centre_y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return 0 <= centre_x <= width and 0 <= centre_y <= height


def clear_of_text(element: Decoration, boxes: list[Box], width: int, height: int) -> Decoration | None:
    """Return the element moved (or shrunk and moved) so its swept area misses every box, or None to skip it.

    Candidate moves are tried nearest first on a grid of a tenth of the frame, so the result is deterministic.
    """
    if not any(overlaps(element.reach(), box) for box in boxes):
        return element
    step_x, step_y = width / 10.0, height / 10.0
    offsets = sorted(
        ((column * step_x, row * step_y) for column in range(-10, 11) for row in range(-10, 11)),
        key=lambda offset: (offset[0] ** 2 + offset[1] ** 2, offset),
    )
    for scale in (1.0, 0.5):
        for dx, dy in offsets:
            moved = element.shifted(dx, dy, scale)
            reach = moved.reach()
            if _inside_enough(reach, width, height) and not any(overlaps(reach, box) for box in boxes):
                return moved
    return None


def _luminance(pixels: NDArray[np.uint8]) -> NDArray[np.float32]:
    """Return WCAG relative luminance of (..., 3) RGB pixels."""
    scaled = pixels.astype(np.float32) / 255.0
    linear = np.where(scaled <= 0.03928, scaled / 12.92, ((scaled + 0.055) / 1.055) ** 2.4)
    result: NDArray[np.float32] = linear @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    return result


def worst_contrast(colour: RGB, pixels: NDArray[np.uint8], quantile: float = 0.02) -> float:
    """Return the contrast ratio of `colour` against the background pixels, at the given low quantile."""
    text = float(_luminance(np.array(colour, np.uint8)))
    background = _luminance(pixels.reshape(-1, 3))
    ratios = (np.maximum(background, text) + 0.05) / (np.minimum(background, text) + 0.05)
    return float(np.quantile(ratios, quantile))


def label_colours(pixels: NDArray[np.uint8], preferred: tuple[RGB, ...]) -> tuple[RGB, RGB | None, float]:
    """Pick a label colour for the background pixels under it: (fill, backing colour or None, backing opacity).

    The first preferred colour reaching 4.5:1 on at least 98 % of the pixels wins. Otherwise the label gets
    a backing of white or near-black, whichever contrasts more with the best fill, opaque enough to reach 4.5:1.
    """
    scored = [(worst_contrast(colour, pixels), colour) for colour in preferred]
    for ratio, colour in scored:
        if ratio >= MIN_TEXT_CONTRAST:
            return colour, None, 0.0
    fill = max(scored)[1]
    backing: RGB = (18, 18, 24) if float(_luminance(np.array(fill, np.uint8))) > 0.4 else (255, 255, 255)
    for opacity in (0.55, 0.7, 0.85, 1.0):
        mixed = (pixels.astype(np.float32) * (1.0 - opacity) + np.array(backing, np.float32) * opacity).astype(np.uint8)
        if worst_contrast(fill, mixed) >= MIN_TEXT_CONTRAST:
            return fill, backing, opacity
    return fill, backing, 1.0
