"""Scene visuals: backdrop, kinetic title, brand mark and end card of one scene, assembled per style."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from pipeline.models import Palette, RenderSpec, Scene
from pipeline.styles import StyleKit
from pipeline.visual_backdrops import Backdrop, LayerContext, build_backdrop
from pipeline.visual_canvas import Planes, Sprite
from pipeline.visual_colour import RGB, mix, readable_on, rgb, vivid
from pipeline.visual_text import TextLook, fit_text, load_face, printable_text, render_line, text_width, title_face
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


def _cased(kit: StyleKit, text: str) -> str:
    return text.upper() if kit.uppercase else text


class SceneVisual:
    """Everything drawn for one scene, built once; `draw` paints the frame at scene-local time t."""

    def __init__(self, spec: RenderSpec, scene: Scene, kit: StyleKit, layout: FrameLayout, *, seed: int) -> None:
        self.scene = scene
        self.kit = kit
        self.layout = layout
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
        )
        self.backdrop: Backdrop = build_backdrop(context)
        self.title: KineticTitle | None = None
        self.overlays: list[Overlay] = []
        if scene.kind == "end_card":
            self._build_end_card(spec)
        else:
            self._build_title(spec)
            self._build_brand_mark(spec)

    def _build_title(self, spec: RenderSpec) -> None:
        text = _cased(self.kit, " ".join(self.scene.on_screen_text.split()))
        if not text:
            return
        area = self.layout.title
        short = min(self.layout.width, self.layout.height)
        face = title_face(text, self.kit)
        tracking = self.kit.tracking
        fitted = fit_text(text, face, area.width, int(area.height * 0.8), int(short * self.kit.title_scale * 1.25), tracking=tracking, max_lines=4)
        if not fitted.lines:
            return
        align = "left" if self.kit.name in ("cyberpunk", "corporate") else "center"
        if align == "left" and self.kit.name == "corporate":
            area = Area(area.x + int(short * 0.04), area.y, area.width - int(short * 0.04), area.height)
        self.title = KineticTitle(fitted, _title_look(self.kit, spec.palette), self.kit, area, align=align, start=0.15, accent=rgb(spec.palette.accent))

    def _build_brand_mark(self, spec: RenderSpec) -> None:
        brand = _cased(self.kit, spec.brand.strip())
        if not brand:
            return
        size = max(12, int(min(self.layout.width, self.layout.height) * 0.03))
        font = load_face(title_face(brand, self.kit), size)
        brand = printable_text(brand, font)
        if not brand:
            return
        colour = readable_on(spec.palette.background, spec.palette.primary, 3.0) if self.kit.name == "minimal" else (255, 255, 255)
        picture, origin = render_line(brand, font, TextLook(fill=colour), self.kit.tracking)
        top = max(self.layout.safe.y, self.layout.letterbox + size // 2)
        self.overlays.append(Overlay(Sprite.from_image(picture), self.layout.safe.x - origin[0] + size // 4, top, opacity=0.85))

    def _build_end_card(self, spec: RenderSpec) -> None:
        area = self.layout.title
        short = min(self.layout.width, self.layout.height)
        brand = _cased(self.kit, " ".join(spec.brand.split())) or " "
        brand_area = Area(area.x, area.y, area.width, int(area.height * 0.55))
        fitted = fit_text(brand, title_face(brand, self.kit), int(area.width * 0.9), int(brand_area.height * 0.85), int(short * 0.17), tracking=self.kit.tracking, max_lines=2)
        if fitted.lines:
            self.title = KineticTitle(fitted, _title_look(self.kit, spec.palette), self.kit, brand_area, align="center", start=0.1, accent=rgb(spec.palette.accent))
        action = " ".join(spec.call_to_action.split())
        if not action:
            return
        action = action.upper() if self.kit.name in ("luxury", "cinematic", "cyberpunk") else action
        cta_area = Area(area.x, brand_area.y + brand_area.height, area.width, area.height - brand_area.height)
        cta_fit = fit_text(action, title_face(action, self.kit), int(cta_area.width * 0.78), int(cta_area.height * 0.5), int(short * 0.055), tracking=self.kit.tracking * 0.6, max_lines=2)
        picture = self._cta_picture(spec, cta_fit.lines, load_face(cta_fit.face, cta_fit.size), cta_fit.tracking)
        x = cta_area.x + (cta_area.width - picture.width) // 2
        y = cta_area.y + max(0, (cta_area.height - picture.height) // 3)
        self.overlays.append(Overlay(Sprite.from_image(picture), x, y, delay=0.6))

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
