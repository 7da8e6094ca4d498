"""Scene visuals: backdrop, kinetic title, brand mark and end card of one scene, assembled per style."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from pipeline.models import Palette, RenderSpec, Scene
from pipeline.styles import StyleKit
from pipeline.fonts import FontFace
from pipeline.visual_backdrops import Backdrop, Element, LayerContext, build_backdrop, soft_disc
from pipeline.visual_canvas import Planes, Sprite
from pipeline.visual_colour import RGB, lightness, mix, readable_on, rgb, vivid, with_lightness
from pipeline.visual_layout import Box, clear_of_text, label_colours, overlaps, padded
from pipeline.visual_motifs import Motif, motif_for, motif_picture
from pipeline.visual_text import FittedText, TextLook, fit_text, load_face, printable_text, render_line, text_width, title_face, wrap_text
from pipeline.visual_titles import Area, KineticTitle, ease_out

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FrameLayout:
    """Regions of the frame shared by every scene: safe area, letterbox bars and the title area."""

    width: int
    height: int
    safe: Area
    title: Area
    letterbox: int

    @classmethod
    def for_spec(cls, spec: RenderSpec, kit: StyleKit) -> FrameLayout:
        width, height = spec.preset.width, spec.preset.height
        top, right, bottom, left = spec.preset.safe_margins
        safe = Area(int(width * left), int(height * top), int(width * (1 - left - right)), int(height * (1 - top - bottom)))
        letterbox = 0
        if kit.letterbox:
            letterbox = int((height - width / 2.39) / 2) if width > height else int(height * 0.07)
            letterbox = max(0, letterbox) & ~1
        area_top = max(safe.y, letterbox + int(height * 0.04))
        area_bottom = safe.y + safe.height
        caption_top = spec.caption_layout.box[1]
        if spec.cues and height * 0.45 < caption_top < area_bottom:
            area_bottom = caption_top - int(height * 0.03)
        area_bottom = min(area_bottom, height - letterbox - int(height * 0.03))
        inset = int(safe.width * 0.05)
        title = Area(safe.x + inset, area_top, safe.width - 2 * inset, max(40, area_bottom - area_top))
        return cls(width, height, safe, title, letterbox)


@dataclass(frozen=True)
class Overlay:
    """A sprite at a fixed place: shown at `opacity`, or rising in over 0.6 s after `delay` seconds."""

    sprite: Sprite
    x: int
    y: int
    opacity: float = 1.0
    delay: float | None = None

    def draw(self, frame: Planes, t: float) -> None:
        if self.delay is None:
            self.sprite.blend_into(frame, self.x, self.y, self.opacity)
            return
        step = ease_out((t - self.delay) / 0.6)
        if step > 0:
            self.sprite.blend_into(frame, self.x, self.y + int((1.0 - step) * self.sprite.height * 0.5), step * self.opacity)


def _title_look(kit: StyleKit, palette: Palette) -> TextLook:
    if kit.name == "cyberpunk":
        return TextLook(fill=mix((255, 255, 255), palette.primary, 0.12), glow=vivid(palette.primary))
    if kit.name == "minimal":
        return TextLook(fill=readable_on(palette.background, palette.text))
    if kit.name == "corporate":
        return TextLook(fill=(255, 255, 255), shadow=(0, 0, 0))
    if kit.name == "playful":
        return TextLook(fill=(255, 255, 255), outline=mix(palette.primary, (0, 0, 0), 0.65), shadow=mix(palette.primary, (0, 0, 0), 0.7))
    if kit.name == "luxury":
        gold = rgb(palette.accent)
        return TextLook(fill=gold, gradient=(mix(gold, (255, 255, 255), 0.55), gold, mix(gold, (0, 0, 0), 0.35)), shadow=(0, 0, 0))
    return TextLook(fill=(242, 234, 222), shadow=(0, 0, 0))


def title_deadline(duration: float) -> float:
    """Return the scene-local second by which every title animation has finished: 35 % of the scene, at most 1.2 s."""
    return min(0.35 * duration, 1.2)


def _cased(kit: StyleKit, text: str) -> str:
    return text.upper() if kit.uppercase else text


# Title placements a video cycles through, scene by scene, starting from the style's usual one.
Placement = Literal["centre", "left", "lower"]
_PLACEMENTS: tuple[Placement, ...] = ("centre", "left", "lower")
# The cyberpunk horizon line and scrolling floor start at this fraction of the height; titles stay above it.
_NEON_HORIZON = 0.58


def _placement(kit: StyleKit, scene_index: int) -> Placement:
    first = 1 if kit.name in ("cyberpunk", "corporate") else 0
    return _PLACEMENTS[(first + scene_index) % len(_PLACEMENTS)]


def _max_title_lines(width: int, height: int) -> int:
    """Return the title line cap: 3 on portrait frames, where lines are short, else 2."""
    return 3 if height > width else 2


def _ellipsized(text: str, face: FontFace, size: int, width: int, max_lines: int, tracking: float) -> tuple[str, ...]:
    """Wrap `text` at `size` and cut it to `max_lines`, ending the last line with an ellipsis that fits."""
    font = load_face(face, size)
    lines = wrap_text(printable_text(text, font), font, width * 0.98, tracking)
    if len(lines) <= max_lines:
        return tuple(lines)
    kept = lines[:max_lines]
    words = kept[-1].split(" ")
    while words and text_width(" ".join(words) + "\u2026", font, tracking) > width * 0.98:
        words.pop()
    kept[-1] = (" ".join(words) or kept[-1][:1]) + "\u2026"
    return tuple(kept)


class SceneVisual:
    """Everything drawn for one scene, built once; `draw` paints the frame at scene-local time t.

    Text is laid out first. The backdrop's decorations and the scene motif are then moved, shrunk or
    left out so that none of them reaches into a text box, and the brand label takes a colour (and,
    if needed, a backing) measured against the backdrop under it.
    """

    def __init__(self, spec: RenderSpec, scene: Scene, kit: StyleKit, layout: FrameLayout, *, seed: int) -> None:
        self.scene = scene
        self.kit = kit
        self.layout = layout
        self.placement = _placement(kit, scene.index)
        short = min(layout.width, layout.height)
        self.title: KineticTitle | None = None
        self.overlays: list[Overlay] = []
        self.text_boxes: list[Box] = []
        self.brand_box: Box | None = None
        self.brand_colour: RGB | None = None
        self.brand_backing: RGB | None = None
        if spec.cues:
            left, top, width, height = spec.caption_layout.box
            self.text_boxes.append((left, top, left + width, top + height))
        brand = self._brand_picture(spec) if scene.kind != "end_card" else None
        if scene.kind == "end_card":
            self._build_end_card(spec)
        else:
            self._build_title(spec, brand)
        if self.title is not None:
            self.text_boxes.append(self.title.bounds)

        context = LayerContext(
            width=layout.width,
            height=layout.height,
            fps=spec.preset.fps,
            kit=kit,
            palette=spec.palette,
            seed=seed,
            duration=scene.duration,
            visual_direction=scene.visual_direction,
            image_path=spec.scene_images.get(scene.index),
            text_boxes=tuple(padded(box, int(short * 0.02)) for box in self.text_boxes),
        )
        self.backdrop: Backdrop = build_backdrop(context)
        self._vary_composition(spec)
        keep_out = [padded(box, int(short * 0.02)) for box in self.text_boxes]
        if brand is not None:
            keep_out.append(padded(self._brand_box(brand), int(short * 0.02)))
        self._add_motif(spec, keep_out)
        self._clear_decorations(keep_out)
        if brand is not None:
            self._place_brand(spec, brand)

    # ------------------------------------------------------------ text

    def _title_area(self, brand: tuple[Image.Image, tuple[int, int], int] | None, placement: Placement) -> Area:
        base = self.layout.title
        top, bottom = base.y, base.y + base.height
        if brand is not None:
            top = max(top, self._brand_box(brand)[3] + int(self.layout.height * 0.02))
        if self.kit.backdrop == "neon_grid":
            bottom = min(bottom, int(self.layout.height * (_NEON_HORIZON - 0.04)))
        area = Area(base.x, top, base.width, max(40, bottom - top))
        if placement == "left":
            # Landscape frames keep the right part free for the motif. Portrait lines are short already, so the
            # title keeps the full width and the top half.
            if self.layout.width > self.layout.height:
                return Area(area.x, area.y, int(area.width * 0.62), area.height)
            return Area(area.x, area.y, area.width, max(40, int(area.height * 0.55)))
        if placement == "lower":
            drop = int(area.height * 0.45)
            return Area(area.x, area.y + drop, area.width, area.height - drop)
        return area

    def _build_title(self, spec: RenderSpec, brand: tuple[Image.Image, tuple[int, int], int] | None) -> None:
        text = _cased(self.kit, " ".join(self.scene.on_screen_text.split()))
        if not text:
            return
        short = min(self.layout.width, self.layout.height)
        face = title_face(text, self.kit)
        tracking = self.kit.tracking
        max_lines = _max_title_lines(self.layout.width, self.layout.height)
        floor = max(12, int(short * self.kit.title_scale * 0.6))
        placement = self.placement
        area = self._title_area(brand, placement)
        fitted = fit_text(text, face, area.width, int(area.height * 0.8), int(short * self.kit.title_scale * 1.25), tracking=tracking, max_lines=max_lines)
        if (fitted.size < floor or len(fitted.lines) > max_lines) and placement != "centre":
            # The placement's part of the frame is too small for this title: use the whole title area.
            placement = "centre"
            area = self._title_area(brand, placement)
            fitted = fit_text(text, face, area.width, int(area.height * 0.8), int(short * self.kit.title_scale * 1.25), tracking=tracking, max_lines=max_lines)
        if fitted.size < floor or len(fitted.lines) > max_lines:
            size = max(fitted.size, floor)
            fitted = FittedText(face, size, _ellipsized(text, face, size, area.width, max_lines, tracking), tracking)
        if not fitted.lines:
            return
        self.placement = placement
        align = "left" if placement == "left" or (placement == "lower" and self.kit.name in ("cyberpunk", "corporate")) else "center"
        if self.kit.name == "corporate" and align == "left":
            area = Area(area.x + int(short * 0.04), area.y, area.width - int(short * 0.04), area.height)
        self.title = KineticTitle(
            fitted,
            _title_look(self.kit, spec.palette),
            self.kit,
            area,
            align=align,
            start=min(0.15, 0.05 * self.scene.duration),
            accent=rgb(spec.palette.accent),
            finish_by=title_deadline(self.scene.duration),
        )

    def _brand_picture(self, spec: RenderSpec) -> tuple[Image.Image, tuple[int, int], int] | None:
        """Return the brand label's glyph mask picture, its origin and font size, or None without a brand."""
        brand = _cased(self.kit, spec.brand.strip())
        if not brand:
            return None
        size = max(12, int(min(self.layout.width, self.layout.height) * 0.03))
        font = load_face(title_face(brand, self.kit), size)
        brand = printable_text(brand, font)
        if not brand:
            return None
        picture, origin = render_line(brand, font, TextLook(fill=(255, 255, 255)), self.kit.tracking)
        return picture, origin, size

    def _brand_box(self, brand: tuple[Image.Image, tuple[int, int], int]) -> Box:
        picture, origin, size = brand
        x = self.layout.safe.x - origin[0] + size // 4
        y = max(self.layout.safe.y, self.layout.letterbox + size // 2)
        return x, y, x + picture.width, y + picture.height

    def _place_brand(self, spec: RenderSpec, brand: tuple[Image.Image, tuple[int, int], int]) -> None:
        """Colour the brand label by its measured contrast with the backdrop under it, adding a backing if none reads."""
        picture, _, size = brand
        box = self._brand_box(brand)
        self.brand_box = box
        pixels = self._backdrop_pixels(box)
        palette = spec.palette
        preferred: tuple[RGB, ...] = ((255, 255, 255), rgb(palette.text), rgb(palette.primary), (18, 18, 24))
        if self.kit.name == "minimal":
            preferred = (rgb(palette.primary), rgb(palette.text), (18, 18, 24), (255, 255, 255))
        fill, backing, opacity = label_colours(pixels, preferred)
        self.brand_colour, self.brand_backing = fill, backing
        mask = picture.getchannel("A")
        label = Image.new("RGBA", picture.size, (*fill, 0))
        label.putalpha(mask)
        if backing is not None:
            pad = max(2, size // 4)
            backed = Image.new("RGBA", (picture.width + 2 * pad, picture.height + 2 * pad), (0, 0, 0, 0))
            ImageDraw.Draw(backed).rounded_rectangle((0, 0, backed.width - 1, backed.height - 1), radius=pad, fill=(*backing, int(round(255 * opacity))))
            backed.alpha_composite(label, (pad, pad))
            self.overlays.append(Overlay(Sprite.from_image(backed), box[0] - pad, box[1] - pad))
        else:
            self.overlays.append(Overlay(Sprite.from_image(label), box[0], box[1]))

    def _backdrop_pixels(self, box: Box) -> NDArray[np.uint8]:
        """Return the backdrop's RGB pixels inside `box` at the start, middle and end of the scene."""
        x0, y0 = max(0, box[0]) & ~1, max(0, box[1]) & ~1
        x1, y1 = min(self.layout.width, box[2] + 1) & ~1, min(self.layout.height, box[3] + 1) & ~1
        planes = Planes.empty(self.layout.width, self.layout.height)
        samples = []
        for t in (0.0, self.scene.duration * 0.5, self.scene.duration):
            self.backdrop.draw(planes, t)
            samples.append(planes.window(x0, y0, x1 - x0, y1 - y0).to_rgb().reshape(-1, 3))
        return np.concatenate(samples)

    # ------------------------------------------------------------ composition

    def _emphasis(self, spec: RenderSpec) -> tuple[RGB, RGB]:
        """Return this scene's emphasis colour and its partner, cycling through the palette's accents."""
        palette = spec.palette
        colours = (rgb(palette.accent), rgb(palette.primary), rgb(palette.secondary))
        index = self.scene.index % len(colours)
        return colours[index], colours[(index + 1) % len(colours)]

    def _vary_composition(self, spec: RenderSpec) -> None:
        """Vary the camera move and colour emphasis by scene index, so consecutive scenes differ."""
        backdrop = self.backdrop
        variant = self.scene.index % 3
        if variant == 1:
            backdrop.push_in = 0.0 if self.kit.push_in else 0.06
        elif variant == 2:
            backdrop.drift = (backdrop.drift[1], backdrop.drift[0])
            backdrop.phase += 1.7
        if self.scene.kind == "end_card":
            return
        emphasis, _ = self._emphasis(spec)
        short = min(self.layout.width, self.layout.height)
        wash = soft_disc(int(short * 1.1), emphasis, 0.9, 0.35)
        # The wash sits on the side away from the title, in canvas coordinates.
        right = self.placement == "left"
        canvas = backdrop.canvas
        x = canvas.width - wash.width // 2 if right else -wash.width // 2
        y = canvas.height - wash.height // 2 if self.placement != "lower" else -wash.height // 2
        wash.blend_into(canvas, x, y)

    def _add_motif(self, spec: RenderSpec, keep_out: list[Box]) -> None:
        """Add the motif the visual direction names, in the first spot clear of text, or none if no spot is clear."""
        if self.scene.kind == "end_card":
            return
        kind = motif_for(self.scene.visual_direction, self.scene.index)
        emphasis, partner = self._emphasis(spec)
        # The motif's body colour: dark on light backgrounds, a lifted secondary on dark ones, so its outline shows.
        dark_ground = lightness(spec.palette.background) < 0.35
        ink = with_lightness(spec.palette.secondary, 0.32, 0.8) if dark_ground else mix(spec.palette.secondary, (0, 0, 0), 0.55)
        short = min(self.layout.width, self.layout.height)
        side = int(short * 0.3)
        picture = motif_picture(kind, side, emphasis, partner, ink)
        width, height = self.layout.width, self.layout.height
        safe = self.layout.safe
        right, left = safe.x + safe.width - side, safe.x
        middle, low, high = (height - side) // 2, safe.y + safe.height - side, safe.y
        spots = {
            "left": [(right, middle), (right, low), (right, high)],
            "centre": [(right, low), (left, low), (right, high), (right, middle)],
            "lower": [(right, high), (left + side, high), (right, middle)],
        }[self.placement]
        spots += [(left, middle), ((width - side) // 2, high), ((width - side) // 2, low)]
        bob = short * 0.012
        for x, y in spots:
            motif = Motif(Sprite.from_image(picture), x, y, bob, 1.6 * self.kit.motion_speed, self.scene.index * 1.3)
            if not any(overlaps(motif.reach(), box) for box in keep_out):
                self.backdrop.elements.append(motif)
                return
        logger.debug("scene %d: no room for the %s motif clear of the text", self.scene.index, kind)

    def _clear_decorations(self, keep_out: list[Box]) -> None:
        kept: list[Element] = []
        for element in self.backdrop.elements:
            if not hasattr(element, "reach") or isinstance(element, Motif):
                kept.append(element)
                continue
            moved = clear_of_text(element, keep_out, self.layout.width, self.layout.height)  # type: ignore[arg-type]
            if moved is not None:
                kept.append(moved)  # type: ignore[arg-type]
        self.backdrop.elements = kept

    def decoration_boxes(self) -> list[Box]:
        """Return the swept boxes of the backdrop's movable decorations and the motif."""
        return [element.reach() for element in self.backdrop.elements if hasattr(element, "reach")]  # type: ignore[attr-defined]

    def _build_end_card(self, spec: RenderSpec) -> None:
        area = self.layout.title
        short = min(self.layout.width, self.layout.height)
        brand = _cased(self.kit, " ".join(spec.brand.split())) or " "
        brand_area = Area(area.x, area.y, area.width, int(area.height * 0.55))
        fitted = fit_text(brand, title_face(brand, self.kit), int(area.width * 0.9), int(brand_area.height * 0.85), int(short * 0.17), tracking=self.kit.tracking, max_lines=2)
        if fitted.lines:
            self.title = KineticTitle(
                fitted,
                _title_look(self.kit, spec.palette),
                self.kit,
                brand_area,
                align="center",
                start=min(0.1, 0.05 * self.scene.duration),
                accent=rgb(spec.palette.accent),
                finish_by=title_deadline(self.scene.duration),
            )
        action = " ".join(spec.call_to_action.split())
        if not action:
            return
        action = action.upper() if self.kit.name in ("luxury", "cinematic", "cyberpunk") else action
        cta_area = Area(area.x, brand_area.y + brand_area.height, area.width, area.height - brand_area.height)
        cta_fit = fit_text(action, title_face(action, self.kit), int(cta_area.width * 0.78), int(cta_area.height * 0.5), int(short * 0.055), tracking=self.kit.tracking * 0.6, max_lines=2)
        picture = self._cta_picture(spec, cta_fit.lines, load_face(cta_fit.face, cta_fit.size), cta_fit.tracking)
        x = cta_area.x + (cta_area.width - picture.width) // 2
        y = cta_area.y + max(0, (cta_area.height - picture.height) // 3)
        self.overlays.append(Overlay(Sprite.from_image(picture), x, y, delay=min(0.6, title_deadline(self.scene.duration) * 0.5)))
        self.text_boxes.append((x, y, x + picture.width, y + picture.height))

    def _cta_picture(self, spec: RenderSpec, lines: tuple[str, ...], font: ImageFont.FreeTypeFont, tracking: float) -> Image.Image:
        """Paint the call to action: a filled pill for most styles, gold rules for luxury, bare type for cinematic."""
        palette = spec.palette
        pill = self.kit.name not in ("luxury", "cinematic")
        fill: RGB = (240, 232, 220)
        if pill:
            fill = readable_on(palette.primary, (255, 255, 255), 3.0)
        elif self.kit.name == "luxury":
            fill = rgb(palette.accent)
        look = TextLook(fill=fill)

        rendered = [render_line(line, font, look, tracking) for line in lines]
        size = int(font.size)
        ascent, descent = font.getmetrics()
        line_height = int((ascent + descent) * 1.1)
        text_w = max(int(text_width(line, font, tracking)) for line in lines)
        pad_x, pad_y = int(size * 1.0), int(size * 0.45)
        width = text_w + 2 * pad_x
        height = line_height * len(lines) + 2 * pad_y
        picture = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        draw = ImageDraw.Draw(picture)

        if pill:
            draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=int(height * self.kit.corner_radius) if self.kit.corner_radius else 0, fill=(*rgb(palette.primary), 255), outline=(*rgb(palette.accent), 255), width=max(2, size // 12))
        elif self.kit.name == "luxury":
            rule = max(2, size // 16)
            draw.rectangle((pad_x, 0, width - pad_x, rule), fill=(*rgb(palette.accent), 255))
            draw.rectangle((pad_x, height - rule - 1, width - pad_x, height - 1), fill=(*rgb(palette.accent), 255))
        for index, (line_picture, origin) in enumerate(rendered):
            advance = text_width(lines[index], font, tracking)
            pen_x = int((width - advance) / 2)
            baseline = pad_y + index * line_height + ascent
            picture.alpha_composite(line_picture, (max(0, pen_x - origin[0]), max(0, baseline - origin[1])))
        return picture

    def draw(self, frame: Planes, t: float) -> None:
        t = max(0.0, t)
        self.backdrop.draw(frame, t)
        if self.title is not None:
            self.title.draw(frame, t)
        for overlay in self.overlays:
            overlay.draw(frame, t)
