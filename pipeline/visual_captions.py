"""Burned-in captions: each cue painted once, with a backing, inside the caption layout's box."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from pipeline.models import CaptionCue, CaptionLayout, Palette
from pipeline.styles import StyleKit
from pipeline.visual_canvas import Planes, Sprite
from pipeline.visual_colour import RGB, lightness, mix, rgb
from pipeline.visual_text import caption_font, printable_text

logger = logging.getLogger(__name__)

# Seconds a caption takes to fade in and out.
_FADE = 0.08


@dataclass(frozen=True)
class CaptionBox:
    """The caption area in pixels, clamped to the frame."""

    x: int
    y: int
    width: int
    height: int

    @classmethod
    def from_layout(cls, layout: CaptionLayout, frame_width: int, frame_height: int) -> CaptionBox:
        left, top, width, height = layout.box
        x0, y0 = max(0, left), max(0, top)
        x1, y1 = min(frame_width, left + width), min(frame_height, top + height)
        if (x0, y0, x1, y1) != (left, top, left + width, top + height):
            logger.warning("caption box %s reaches outside the %dx%d frame; drawing inside the visible part", layout.box, frame_width, frame_height)
        if x1 - x0 < 8 or y1 - y0 < 8:
            raise ValueError(f"caption_layout.box {layout.box!r} leaves no room inside the {frame_width}x{frame_height} frame; give a box inside the frame")
        return cls(x0, y0, x1 - x0, y1 - y0)


@dataclass(frozen=True)
class CaptionColours:
    text: RGB
    backing: RGB
    outline: RGB


def caption_colours(kit: StyleKit, palette: Palette) -> CaptionColours:
    """Pick caption colours: light text on a dark backing, except a light box for light minimal layouts."""
    if kit.name == "minimal" and lightness(palette.background) > 0.6:
        return CaptionColours((20, 20, 26), mix(palette.background, (255, 255, 255), 0.6), (255, 255, 255))
    backing = mix(palette.background, (0, 0, 0), 0.6) if lightness(palette.background) < 0.5 else (12, 12, 18)
    return CaptionColours((255, 255, 255), backing, (0, 0, 0))


@dataclass(frozen=True)
class _Layout:
    font: ImageFont.FreeTypeFont
    lines: tuple[str, ...]
    stroke: int
    pad_x: int
    pad_y: int
    line_gap: int
    ascent: int
    width: int
    height: int
    # (left, top, right, bottom) ink box of each line relative to its centre-baseline anchor.
    boxes: tuple[tuple[int, int, int, int], ...]


def _int_box(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    return int(box[0]), int(box[1]), int(box[2]), int(box[3])


def _measure(lines: tuple[str, ...], font: ImageFont.FreeTypeFont, kit: StyleKit, spacing: float, tight: bool) -> _Layout:
    size = int(font.size)
    stroke = max(2, size // 12) if kit.caption_backing == "outline" else 0
    boxes = tuple(_int_box(font.getbbox(line, anchor="ms", stroke_width=stroke)) for line in lines)
    ascent, descent = font.getmetrics()
    line_gap = int(size * spacing)
    top_ink = min(box[1] for box in boxes)
    bottom_ink = max(box[3] for box in boxes) + line_gap * (len(lines) - 1)
    ink_width = max(box[2] - box[0] for box in boxes)
    if kit.caption_backing == "box" and kit.caption_box_opacity > 0:
        pad_x, pad_y = (size // 5, size // 8) if tight else (int(size * 0.5), int(size * 0.28))
    else:
        pad_x, pad_y = (2, 2) if tight else (size // 6, size // 8)
    width = _even_up(ink_width + 2 * pad_x + 2)
    height = _even_up(bottom_ink - top_ink + 2 * pad_y)
    return _Layout(font, lines, stroke, pad_x, pad_y, line_gap, -top_ink, width, height, boxes)


def _even_up(value: int) -> int:
    return value + value % 2


def _fits(measured: _Layout, box: CaptionBox) -> bool:
    """Return True when the caption, grown to even size and placed on even pixels, stays inside the box."""
    return measured.width + 2 <= box.width and measured.height + 2 <= box.height


def paint_caption(
    cue: CaptionCue, layout: CaptionLayout, box: CaptionBox, kit: StyleKit, colours: CaptionColours
) -> tuple[Image.Image, int, int] | None:
    """Paint one cue and place it at the bottom centre of the box; None when nothing drawable is left.

    Lines are drawn as given. The captions stage wraps them to fit, but when a line is still wider
    than the box the font shrinks until it fits, so no glyph is clipped.
    """
    size = layout.font_size
    while True:
        font = caption_font(cue.lines, layout.font_path, layout.font_index, size)
        lines = tuple(line for line in (printable_text(raw, font) for raw in cue.lines) if line)
        if not lines:
            return None
        measured = _measure(lines, font, kit, layout.line_spacing, tight=False)
        if not _fits(measured, box):
            measured = _measure(lines, font, kit, layout.line_spacing, tight=True)
        if _fits(measured, box) or size <= 8:
            break
        size = max(8, int(size * 0.92))
        logger.warning("caption %r does not fit the box %s at its size; shrinking the font to %d px", cue.text[:40], layout.box, size)
    if not _fits(measured, box):
        raise ValueError(f"caption {cue.text[:40]!r} cannot fit caption_layout.box {layout.box!r}; make the box larger")

    picture = Image.new("RGBA", (measured.width, measured.height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(picture)
    if kit.caption_backing == "box" and kit.caption_box_opacity > 0:
        radius = int(kit.corner_radius * measured.font.size)
        draw.rounded_rectangle((0, 0, measured.width - 1, measured.height - 1), radius=radius, fill=(*colours.backing, int(255 * kit.caption_box_opacity)))
    centre = measured.width / 2
    for index, line in enumerate(measured.lines):
        baseline = measured.pad_y + measured.ascent + index * measured.line_gap
        draw.text(
            (centre, baseline), line, font=measured.font, fill=(*colours.text, 255), anchor="ms", stroke_width=measured.stroke, stroke_fill=(*colours.outline, 255)
        )
    # Even position and size keep the 2x2 chroma blocks of the caption inside the box as well.
    x = _even_up(box.x + (box.width - measured.width) // 2)
    y = box.y + box.height - measured.height
    y = y - y % 2 if y - y % 2 >= box.y else _even_up(y)
    assert box.x <= x, "caption starts left of its box"
    assert x + measured.width <= box.x + box.width, "caption ends right of its box"
    assert box.y <= y, "caption starts above its box"
    assert y + measured.height <= box.y + box.height, "caption ends below its box"
    return picture, x, y


class CaptionTrack:
    """All cues of a video, painted on first use and blended over finished frames."""

    def __init__(self, cues: tuple[CaptionCue, ...], layout: CaptionLayout, kit: StyleKit, palette: Palette, width: int, height: int) -> None:
        self.cues = tuple(sorted(cues, key=lambda cue: cue.start))
        self.layout = layout
        self.kit = kit
        self.colours = caption_colours(kit, palette)
        self.box = CaptionBox.from_layout(layout, width, height) if cues else None
        self.frame_size = (width, height)
        self._painted: dict[int, tuple[Sprite, int, int] | None] = {}

    def _sprite(self, index: int) -> tuple[Sprite, int, int] | None:
        if index not in self._painted:
            assert self.box is not None
            painted = paint_caption(self.cues[index], self.layout, self.box, self.kit, self.colours)
            if painted is None:
                self._painted[index] = None
            else:
                picture, x, y = painted
                sprite = Sprite.from_image(picture)
                width, height = self.frame_size
                assert 0 <= x, "caption starts left of the frame"
                assert 0 <= y, "caption starts above the frame"
                assert x + picture.width <= width, "caption ends right of the frame"
                assert y + picture.height <= height, "caption ends below the frame"
                self._painted[index] = (sprite, x, y)
            # Painted cues that ended long ago are dropped to keep memory flat.
            for old in [key for key in self._painted if key < index - 2]:
                del self._painted[old]
        return self._painted[index]

    def draw(self, frame: Planes, t: float) -> None:
        for index, cue in enumerate(self.cues):
            if cue.start > t:
                break
            if t >= cue.end:
                continue
            painted = self._sprite(index)
            if painted is None:
                continue
            sprite, x, y = painted
            opacity = min(1.0, (t - cue.start) / _FADE, (cue.end - t) / _FADE)
            sprite.blend_into(frame, x, y, max(0.0, opacity))
