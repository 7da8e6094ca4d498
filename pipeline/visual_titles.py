"""Kinetic titles: a scene's on-screen text, painted once as sprites and animated in per style."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from PIL import Image

from pipeline.styles import StyleKit
from pipeline.visual_canvas import Planes, Sprite, blend_colour_rect, colour_yuv
from pipeline.visual_text import FittedText, TextLook, load_face, prefix_widths, render_line, text_width

logger = logging.getLogger(__name__)

# Tracking steps painted for the luxury letter-spacing animation.
_TRACKING_STEPS = 10
# Scales a word passes through when it pops in (playful), one per frame at 30 fps.
_POP_SCALES = (0.35, 0.6, 0.85, 1.05, 1.14, 1.1, 1.03, 1.0)


def ease_out(x: float) -> float:
    x = max(0.0, min(1.0, x))
    return 1.0 - (1.0 - x) ** 3


@dataclass(frozen=True)
class Placed:
    """A sprite and the frame position of its top-left corner when fully in."""

    sprite: Sprite
    x: int
    y: int
    # Pen position inside the sprite, for reveals measured in text advance.
    pen_x: int
    order: int


@dataclass(frozen=True)
class Area:
    x: int
    y: int
    width: int
    height: int


class KineticTitle:
    """Lines of text placed in an area and animated in with the style's text motion."""

    def __init__(
        self,
        fitted: FittedText,
        look: TextLook,
        kit: StyleKit,
        area: Area,
        *,
        align: str,
        start: float,
        accent: tuple[int, int, int],
        finish_by: float | None = None,
    ) -> None:
        self.kit = kit
        self.start = start
        self.motion = kit.text_motion
        self.accent_yuv = colour_yuv(accent)
        self.font = load_face(fitted.face, fitted.size)
        self.size = fitted.size
        ascent, descent = self.font.getmetrics()
        self.line_height = int((ascent + descent) * 1.12)

        block_height = self.line_height * len(fitted.lines)
        top = area.y + max(0, (area.height - block_height) // 2)
        self.lines: list[Placed] = []
        self.words: list[Placed] = []
        self.reveals: list[list[float]] = []
        self.tracked: list[list[Placed]] = []
        self.pops: list[list[Sprite]] = []
        self.char_total = 0
        self.bounds = (area.x + area.width, top, area.x, top + block_height)

        tracking = fitted.tracking
        for index, line in enumerate(fitted.lines):
            advance = text_width(line, self.font, tracking)
            x = area.x if align == "left" else area.x + int((area.width - advance) / 2)
            baseline = top + index * self.line_height + ascent
            picture, origin = render_line(line, self.font, look, tracking)
            placed = Placed(Sprite.from_image(picture), x - origin[0], baseline - origin[1], origin[0], index)
            self.lines.append(placed)
            self._grow_bounds(placed)
            self.reveals.append(prefix_widths(line, self.font, tracking))
            self.char_total += len(line)
            if self.motion in ("word_rise", "pop"):
                self._add_words(line, x, baseline, look, tracking)
            if self.motion == "tracking_fade":
                self.tracked.append(self._tracked_versions(line, x + advance / 2, baseline, look, tracking))

        # The style's animation plays faster when the scene is short, so it always ends by `finish_by`.
        self.length = self._natural_length()
        budget = self.length if finish_by is None else max(0.05, finish_by - start)
        self.speed = max(1.0, self.length / budget)
        self.finished_at = start + self.length / self.speed

    def _natural_length(self) -> float:
        """Return the seconds the motion takes at the style's own pace, staggers included."""
        seconds = self.kit.text_in_seconds
        words, lines = max(1, len(self.words)), max(1, len(self.lines))
        if self.motion == "word_rise":
            return (words - 1) * 0.12 + seconds * 0.7
        if self.motion == "pop":
            return (words - 1) * 0.09 + len(_POP_SCALES) / 30.0
        if self.motion == "slide":
            return (lines - 1) * 0.12 + seconds
        if self.motion == "slow_fade":
            return (lines - 1) * 0.35 + seconds
        return seconds

    def _grow_bounds(self, placed: Placed) -> None:
        x0, y0, x1, y1 = self.bounds
        self.bounds = (min(x0, placed.x), min(y0, placed.y), max(x1, placed.x + placed.sprite.width), max(y1, placed.y + placed.sprite.height))

    def _add_words(self, line: str, x: int, baseline: int, look: TextLook, tracking: float) -> None:
        position = 0
        for word in line.split(" "):
            if not word:
                position += 1
                continue
            offset = text_width(line[:position], self.font, tracking) + (tracking * self.size if position else 0.0)
            picture, origin = render_line(word, self.font, look, tracking)
            placed = Placed(Sprite.from_image(picture), int(x + offset) - origin[0], baseline - origin[1], origin[0], len(self.words))
            self.words.append(placed)
            if self.motion == "pop":
                self.pops.append(self._scaled(picture))
            position += len(word) + 1

    @staticmethod
    def _scaled(picture: Image.Image) -> list[Sprite]:
        versions = []
        for scale in _POP_SCALES:
            size = (max(2, int(picture.width * scale)), max(2, int(picture.height * scale)))
            versions.append(Sprite.from_image(picture.resize(size, Image.Resampling.BILINEAR)))
        return versions

    def _tracked_versions(self, line: str, centre: float, baseline: int, look: TextLook, tracking: float) -> list[Placed]:
        """Paint the line at decreasing letter spacing, ending at the style's tracking, centred on `centre`."""
        versions = []
        for step in range(_TRACKING_STEPS):
            extra = 0.35 * (1.0 - step / (_TRACKING_STEPS - 1)) ** 1.5
            spacing = tracking + extra
            picture, origin = render_line(line, self.font, look, spacing)
            advance = text_width(line, self.font, spacing)
            placed = Placed(Sprite.from_image(picture), int(centre - advance / 2) - origin[0], baseline - origin[1], origin[0], step)
            versions.append(placed)
        return versions

    def draw(self, frame: Planes, t: float) -> None:
        local = t - self.start
        if local < 0:
            return
        # Style time: sped up until the title is in, then at the normal pace (cursor blink, glint).
        ramp = self.length / self.speed
        local = local * self.speed if local < ramp else self.length + (local - ramp)
        progress = local / self.kit.text_in_seconds
        getattr(self, f"_draw_{self.motion}")(frame, local, progress)

    def _draw_type_on(self, frame: Planes, local: float, progress: float) -> None:
        shown = int(self.char_total * min(1.0, progress))
        cursor: tuple[int, int] | None = None
        for placed, widths in zip(self.lines, self.reveals):
            if shown <= 0:
                break
            count = min(shown, len(widths))
            visible = placed.pen_x + int(math.ceil(widths[count - 1])) + 2
            if count >= len(widths):
                visible = placed.sprite.width
            placed.sprite.blend_into(frame, placed.x, placed.y, visible_width=visible)
            cursor = (placed.x + placed.pen_x + int(widths[count - 1]) + self.size // 10, placed.y)
            shown -= count
        if cursor is not None and (progress < 1.0 or int(local * 2.5) % 2 == 0):
            x, y = cursor
            ascent = self.font.getmetrics()[0]
            top = y + (self.lines[0].sprite.height - ascent) // 2
            blend_colour_rect(frame, x, top, x + max(4, self.size // 4), top + ascent, self.accent_yuv, 0.9)

    def _draw_word_rise(self, frame: Planes, local: float, progress: float) -> None:
        stagger = 0.12
        for placed in self.words:
            step = ease_out((local - placed.order * stagger) / (self.kit.text_in_seconds * 0.7))
            if step <= 0.0:
                continue
            rise = int((1.0 - step) * self.size * 0.45)
            placed.sprite.blend_into(frame, placed.x, placed.y + rise, step)

    def _draw_slide(self, frame: Planes, local: float, progress: float) -> None:
        distance = frame.width * 0.25
        for placed in self.lines:
            step = ease_out((local - placed.order * 0.12) / self.kit.text_in_seconds)
            if step <= 0.0:
                continue
            placed.sprite.blend_into(frame, int(placed.x - distance * (1.0 - step)), placed.y, min(1.0, step * 1.5))
        # Accent bar that grows beside the block.
        x0, y0, _, y1 = self.bounds
        bar = max(4, self.size // 8)
        grown = ease_out(progress)
        blend_colour_rect(frame, x0 - bar * 3, y0 + self.size // 6, x0 - bar * 2, y0 + self.size // 6 + int((y1 - y0 - self.size // 3) * grown), self.accent_yuv, 1.0)

    def _draw_pop(self, frame: Planes, local: float, progress: float) -> None:
        frames_per_step = 1.0 / 30.0
        for placed, versions in zip(self.words, self.pops):
            since = local - placed.order * 0.09
            if since < 0:
                continue
            index = min(len(versions) - 1, int(since / frames_per_step))
            sprite = versions[index]
            centre_x = placed.x + placed.sprite.width / 2
            centre_y = placed.y + placed.sprite.height / 2
            sprite.blend_into(frame, int(centre_x - sprite.width / 2), int(centre_y - sprite.height / 2))

    def _draw_tracking_fade(self, frame: Planes, local: float, progress: float) -> None:
        step = ease_out(progress)
        for versions in self.tracked:
            placed = versions[min(len(versions) - 1, int(step * (len(versions) - 1) + 0.5))]
            placed.sprite.blend_into(frame, placed.x, placed.y, min(1.0, step * 1.2))
        if self.kit.metallic and progress >= 1.0:
            self._draw_glint(frame, local - self.kit.text_in_seconds)

    def _draw_glint(self, frame: Planes, settled: float) -> None:
        """Sweep a soft light across the settled metallic lines every few seconds."""
        period, sweep = 3.2, 1.1
        phase = (settled % period) / sweep
        if phase >= 1.0:
            return
        for versions in self.tracked:
            placed = versions[-1]
            width = placed.sprite.width
            centre = -width * 0.2 + phase * width * 1.4
            placed.sprite.glint(frame, placed.x, placed.y, centre, max(8.0, self.size * 1.2), (235, 128, 128), 0.75)

    def _draw_slow_fade(self, frame: Planes, local: float, progress: float) -> None:
        for placed in self.lines:
            step = ease_out((local - placed.order * 0.35) / self.kit.text_in_seconds)
            if step <= 0.0:
                continue
            placed.sprite.blend_into(frame, placed.x, placed.y + int((1.0 - step) * self.size * 0.25), step)
