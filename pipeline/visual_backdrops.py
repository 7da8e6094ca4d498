"""Animated backgrounds, one family per style, built once per scene and drawn per frame cheaply.

Each backdrop is a canvas a little larger than the frame, painted once (smooth parts in
float32 numpy, sharp parts with Pillow), plus a few small animated elements. Per frame it
copies a moving window of the canvas (or a scaled window, for a push-in) and blends the
elements into their own small regions.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFilter

from pipeline.models import Palette
from pipeline.styles import StyleKit
from pipeline.visual_canvas import Planes, Sprite, blend_colour_rect, colour_yuv
from pipeline.visual_colour import RGB, lightness, mix, rgb, vivid, with_lightness

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LayerContext:
    """Inputs shared by the layer builders of one scene."""

    width: int
    height: int
    fps: int
    kit: StyleKit
    palette: Palette
    seed: int
    duration: float
    visual_direction: str
    image_path: Path | None = None
    # Frame boxes of the scene's text, which painted motifs such as the sun stay clear of.
    text_boxes: tuple[tuple[int, int, int, int], ...] = ()


class Element(Protocol):
    def draw(self, frame: Planes, t: float) -> None: ...


# (left, top, right, bottom) in frame pixels, right and bottom exclusive.
Box = tuple[int, int, int, int]


# Words in a scene's visual direction that add a motif to its backdrop.
_MOTIF_WORDS = {
    "skyline": r"\b(city|cities|urban|skyline|street|downtown|building|night ?life)\b",
    "stars": r"\b(star|stars|space|galaxy|cosmic|universe|night sky|sparkle|sparkles)\b",
    "waves": r"\b(wave|waves|ocean|sea|water|flow|flowing|river|wind|beach)\b",
    "sun": r"\b(sun|sunrise|sunset|dawn|morning|summer|warm|glow)\b",
    "network": r"\b(data|network|circuit|digital|ai|cloud|tech|code|connected|grid)\b",
}


def motifs_for(direction: str) -> tuple[str, ...]:
    """Return the motifs a visual direction names, in a fixed order."""
    text = direction.lower()
    return tuple(name for name, pattern in _MOTIF_WORDS.items() if re.search(pattern, text))


def _smooth(x: float) -> float:
    x = max(0.0, min(1.0, x))
    return x * x * (3.0 - 2.0 * x)


@dataclass
class Backdrop:
    """A scene background: a canvas window that drifts or pushes in, plus animated elements."""

    canvas: Planes
    width: int
    height: int
    duration: float
    drift: tuple[float, float]
    drift_speed: float
    push_in: float = 0.0
    elements: list[Element] = field(default_factory=list)
    phase: float = 0.0

    def draw(self, frame: Planes, t: float) -> None:
        margin_x = (self.canvas.width - self.width) // 2
        margin_y = (self.canvas.height - self.height) // 2
        angle = self.phase + t * self.drift_speed
        offset_x = margin_x + int(round(self.drift[0] * margin_x * math.sin(angle)))
        # An elliptical path, so the window never stops moving.
        offset_y = margin_y + int(round(self.drift[1] * margin_y * math.cos(angle)))
        if self.push_in > 0.0:
            self._draw_scaled(frame, t, offset_x, offset_y)
        else:
            frame.copy_from(self.canvas.window(offset_x, offset_y, self.width, self.height))
        for element in self.elements:
            element.draw(frame, t)

    def _draw_scaled(self, frame: Planes, t: float, offset_x: int, offset_y: int) -> None:
        """Copy a shrinking window of the canvas scaled up to the frame (nearest neighbour), a slow push-in.

        Pillow scales each plane in C, about three times faster than gathering rows and columns in numpy.
        """
        scale = 1.0 + self.push_in * _smooth(t / max(self.duration, 0.1))
        for plane, source, factor in ((frame.y, self.canvas.y, 1), (frame.u, self.canvas.u, 2), (frame.v, self.canvas.v, 2)):
            out_h, out_w = plane.shape
            crop_h, crop_w = out_h / scale, out_w / scale
            top = min(max(offset_y / factor + (out_h - crop_h) / 2.0, 0.0), source.shape[0] - crop_h)
            left = min(max(offset_x / factor + (out_w - crop_w) / 2.0, 0.0), source.shape[1] - crop_w)
            scaled = Image.fromarray(source).resize(
                (out_w, out_h), Image.Resampling.NEAREST, box=(left, top, left + crop_w, top + crop_h)
            )
            plane[...] = np.asarray(scaled)


# ---------------------------------------------------------------- painting helpers


def _grid(width: int, height: int) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    return xs, ys


def _linear_gradient(width: int, height: int, start: RGB, end: RGB, angle_deg: float) -> NDArray[np.float32]:
    xs, ys = _grid(width, height)
    angle = math.radians(angle_deg)
    position = (xs * math.cos(angle) + ys * math.sin(angle)) / (abs(math.cos(angle)) + abs(math.sin(angle)))
    position = position - position.min()
    position /= max(float(position.max()), 1e-6)
    first, second = np.array(start, np.float32), np.array(end, np.float32)
    gradient: NDArray[np.float32] = first + (second - first) * position[..., None]
    return gradient


def _add_glow(image: NDArray[np.float32], cx: float, cy: float, radius: float, colour: RGB, strength: float) -> None:
    """Add a soft radial light (screen-like) centred at (cx, cy) in fractions of the picture."""
    height, width = image.shape[:2]
    xs, ys = _grid(width, height)
    aspect = width / height
    distance = ((xs - cx) * aspect) ** 2 + (ys - cy) ** 2
    falloff = np.exp(-distance / (2.0 * radius * radius)) * strength
    target = np.array(colour, np.float32)
    image += (target - image) * falloff[..., None]


def _vignette(image: NDArray[np.float32], amount: float) -> None:
    height, width = image.shape[:2]
    xs, ys = _grid(width, height)
    distance = np.sqrt((xs - 0.5) ** 2 * 1.2 + (ys - 0.5) ** 2 * 1.6)
    image *= (1.0 - amount * np.clip(distance - 0.25, 0.0, 1.0) ** 1.4 * 1.6)[..., None].clip(0.0, 1.0)


def _upscale(half: NDArray[np.float32], width: int, height: int) -> Image.Image:
    picture = Image.fromarray(np.clip(half, 0, 255).astype(np.uint8))
    return picture.resize((width, height), Image.Resampling.BILINEAR)


def _cover_image(path: Path, width: int, height: int) -> Image.Image:
    """Load a still and crop-scale it to cover width x height."""
    with Image.open(path) as source:
        picture = source.convert("RGB")
    scale = max(width / picture.width, height / picture.height)
    resized = picture.resize((max(width, round(picture.width * scale)), max(height, round(picture.height * scale))), Image.Resampling.LANCZOS)
    left = (resized.width - width) // 2
    top = (resized.height - height) // 2
    cropped: Image.Image = resized.crop((left, top, left + width, top + height))
    return cropped


# Scenes of one job ask for the same large colour wash again and again (one per palette colour),
# and sprites are never changed after they are made, so one copy serves them all.
@functools.lru_cache(maxsize=64)
def soft_disc(diameter: int, colour: RGB, softness: float, opacity: float) -> Sprite:
    """A round sprite of `colour` whose alpha falls from `opacity` at the centre to 0 at the rim over `softness` of the radius."""
    size = max(4, diameter + 4)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    distance = np.hypot(xx - size / 2, yy - size / 2) / (diameter / 2)
    alpha = np.clip((1.0 - distance) / max(softness, 1e-3), 0.0, 1.0) * opacity
    rgba = np.dstack([np.full((size, size, 3), colour, np.float32), alpha * 255.0])
    return Sprite(rgba.astype(np.uint8))


# ---------------------------------------------------------------- animated elements


@dataclass
class Drifting:
    """A sprite moving on an ellipse around (x, y); its speed never drops to zero."""

    sprite: Sprite
    x: float
    y: float
    amplitude: tuple[float, float]
    speed: float
    phase: float
    opacity: float = 1.0
    twinkle: float = 0.0

    def draw(self, frame: Planes, t: float) -> None:
        angle = self.phase + t * self.speed
        x = self.x + self.amplitude[0] * math.sin(angle)
        y = self.y + self.amplitude[1] * math.cos(angle)
        opacity = self.opacity * (1.0 - self.twinkle * (0.5 + 0.5 * math.sin(angle * 5.0)))
        self.sprite.blend_into(frame, int(x - self.sprite.width / 2), int(y - self.sprite.height / 2), opacity)

    def reach(self) -> Box:
        """Return the box the sprite can cover over its whole path."""
        half_w = self.sprite.width / 2 + abs(self.amplitude[0]) + 1
        half_h = self.sprite.height / 2 + abs(self.amplitude[1]) + 1
        return int(self.x - half_w), int(self.y - half_h), int(math.ceil(self.x + half_w)), int(math.ceil(self.y + half_h))

    def shifted(self, dx: float, dy: float, scale: float = 1.0) -> Drifting:
        return replace(self, x=self.x + dx, y=self.y + dy, amplitude=(self.amplitude[0] * scale, self.amplitude[1] * scale))


@dataclass
class Bouncing:
    """A sprite bouncing on a floor line and turning, from precomputed rotation steps."""

    rotations: list[Sprite]
    x: float
    floor: float
    height: float
    period: float
    phase: float
    sway: float
    spin: float

    def draw(self, frame: Planes, t: float) -> None:
        cycle = (t / self.period + self.phase) % 1.0
        lift = 4.0 * cycle * (1.0 - cycle)
        sprite = self.rotations[int((t * self.spin + self.phase * 7.0) * len(self.rotations)) % len(self.rotations)]
        x = self.x + self.sway * math.sin(t * 0.9 + self.phase * 6.0)
        y = self.floor - self.height * lift
        sprite.blend_into(frame, int(x - sprite.width / 2), int(y - sprite.height / 2))

    def reach(self) -> Box:
        """Return the box the sprite can cover over its whole bounce, sway and turn."""
        side = max(max(sprite.width, sprite.height) for sprite in self.rotations) / 2 + 1
        return (
            int(self.x - abs(self.sway) - side),
            int(self.floor - self.height - side),
            int(math.ceil(self.x + abs(self.sway) + side)),
            int(math.ceil(self.floor + side)),
        )

    def shifted(self, dx: float, dy: float, scale: float = 1.0) -> Bouncing:
        return replace(self, x=self.x + dx, floor=self.floor + dy, height=self.height * scale, sway=self.sway * scale)


@dataclass
class NeonFloor:
    """Horizontal lines of a perspective grid floor, scrolling towards the viewer."""

    horizon: int
    width: int
    height: int
    core: tuple[int, int, int]
    glow: tuple[int, int, int]
    speed: float
    spacing: float = 1.0

    def draw(self, frame: Planes, t: float) -> None:
        depth_span = self.height - self.horizon
        phase = (t * self.speed) % self.spacing
        for step in range(1, 14):
            depth = step * self.spacing - phase
            if depth <= 0.05:
                continue
            y = self.horizon + int(depth_span * 0.9 / depth)
            if y >= self.height:
                continue
            thickness = max(1, int(4.0 / depth))
            strength = min(1.0, 1.4 / depth)
            blend_colour_rect(frame, 0, y - thickness * 2, self.width, y + thickness * 3, self.glow, 0.25 * strength)
            blend_colour_rect(frame, 0, y, self.width, y + thickness, self.core, 0.9 * strength)


@dataclass
class ScanBand:
    """A faint bright band rolling down the frame, like a CRT refresh."""

    width: int
    height: int
    colour: tuple[int, int, int]
    period: float

    def draw(self, frame: Planes, t: float) -> None:
        band = max(8, self.height // 14)
        y = int((t / self.period % 1.0) * (self.height + band)) - band
        blend_colour_rect(frame, 0, y, self.width, y + band, self.colour, 0.06)


@dataclass
class Rules:
    """Fixed thin rectangles (frame borders, underlines) drawn over the moving canvas."""

    rects: list[tuple[int, int, int, int]]
    colour: tuple[int, int, int]
    opacity: float

    def draw(self, frame: Planes, t: float) -> None:
        for x0, y0, x1, y1 in self.rects:
            blend_colour_rect(frame, x0, y0, x1, y1, self.colour, self.opacity)


@dataclass
class SlidingPanel:
    """A translucent panel gliding in at the scene start, then drifting slowly."""

    sprite: Sprite
    x: float
    y: float
    enter_from: float
    drift: float
    delay: float

    def draw(self, frame: Planes, t: float) -> None:
        progress = _smooth((t - self.delay) / 0.9)
        x = self.enter_from + (self.x - self.enter_from) * progress + self.drift * t
        self.sprite.blend_into(frame, int(x), int(self.y), progress)


# ---------------------------------------------------------------- motifs painted into the canvas


def _canvas_boxes(ctx: LayerContext, size: tuple[int, int]) -> tuple[Box, ...]:
    """Return the context's text boxes in the coordinates of a canvas of `size`, grown by the canvas's drift margin."""
    margin_x, margin_y = (size[0] - ctx.width) // 2, (size[1] - ctx.height) // 2
    return tuple((x0, y0, x1 + 2 * margin_x, y1 + 2 * margin_y) for x0, y0, x1, y1 in ctx.text_boxes)


def _sun_centre(width: int, height: int, radius: float, rng: np.random.Generator, avoid: tuple[Box, ...]) -> tuple[int, int]:
    """Return the sun's centre: right of centre by default, else the spot whose glow covers the least of the boxes."""
    preferred = (int(width * rng.uniform(0.62, 0.8)), int(height * 0.4))
    spots = [preferred] + [(int(width * fx), int(height * fy)) for fy in (0.22, 0.4, 0.62, 0.8) for fx in (0.82, 0.18, 0.5)]
    reach = radius * 1.75

    def covered(spot: tuple[int, int]) -> int:
        x0, y0, x1, y1 = spot[0] - reach, spot[1] - reach, spot[0] + reach, spot[1] + reach
        return sum(int(max(0.0, min(x1, box[2]) - max(x0, box[0])) * max(0.0, min(y1, box[3]) - max(y0, box[1]))) for box in avoid)

    return min(spots, key=covered)


def _paint_motifs(
    picture: Image.Image,
    motifs: tuple[str, ...],
    colours: tuple[RGB, RGB],
    rng: np.random.Generator,
    dark: bool,
    ground: float = 1.0,
    avoid: tuple[Box, ...] = (),
) -> None:
    """Paint the motifs a visual direction named. `ground` is the skyline's base line, as a fraction of the height.

    The sun moves to a spot clear of the `avoid` boxes (canvas pixels) when there is one.
    """
    draw = ImageDraw.Draw(picture, "RGBA")
    width, height = picture.size
    first, second = colours
    if "sun" in motifs:
        radius = int(min(width, height) * 0.16)
        cx, cy = _sun_centre(width, height, radius, rng, avoid)
        for ring in range(6, 0, -1):
            alpha = int(24 + (6 - ring) * 14)
            grow = radius * (1 + ring * 0.12)
            draw.ellipse((cx - grow, cy - grow, cx + grow, cy + grow), fill=(*mix((255, 200, 120), second, 0.3), alpha // 3))
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=(*mix((255, 214, 150), second, 0.3), 230))
    if "stars" in motifs:
        for _ in range(160):
            x, y = rng.uniform(0, width), rng.uniform(0, height * 0.75)
            size = rng.choice([1, 1, 1, 2, 2, 3])
            grey = int(rng.uniform(120, 255))
            draw.ellipse((x, y, x + size, y + size), fill=(grey, grey, min(255, grey + 20), 255 if dark else 120))
    if "waves" in motifs:
        for line in range(7):
            base = height * (0.62 + line * 0.05)
            amplitude = height * (0.02 + 0.006 * line)
            length = width / rng.uniform(1.2, 2.4)
            points = [(x, base + amplitude * math.sin(x / length * 2 * math.pi + line)) for x in range(0, width + 8, 8)]
            draw.line(points, fill=(*mix(first, second, line / 7), 110), width=max(2, height // 300))
    if "network" in motifs:
        nodes = [(rng.uniform(0, width), rng.uniform(0, height)) for _ in range(38)]
        for index, (x, y) in enumerate(nodes):
            for other in nodes[index + 1 :]:
                if math.dist((x, y), other) < min(width, height) * 0.22:
                    draw.line([(x, y), other], fill=(*second, 60), width=max(1, height // 700))
        for x, y in nodes:
            radius = max(3, height // 220)
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(*first, 200))
    if "skyline" in motifs:
        x = 0.0
        shade: RGB = (8, 8, 16) if dark else first
        while x < width:
            building = rng.uniform(0.04, 0.09) * width
            floor = height * ground
            top = floor - height * rng.uniform(0.08, 0.25) * ground
            draw.rectangle((x, top, x + building, floor), fill=(*shade, 235))
            for wy in np.arange(top + 12, floor - 10, max(12, height // 60)):
                for wx in np.arange(x + 6, x + building - 8, max(12, width // 110)):
                    if rng.random() < 0.3:
                        draw.rectangle((wx, wy, wx + 4, wy + 6), fill=(*mix(second, (255, 240, 200), 0.5), 170))
            x += building + rng.uniform(0, 0.01) * width


# ---------------------------------------------------------------- one builder per style


def build_backdrop(ctx: LayerContext) -> Backdrop:
    """Build the animated background of one scene in the context's style."""
    builders = {
        "neon_grid": _neon_grid,
        "flat": _flat,
        "panels": _panels,
        "blobs": _blobs,
        "velvet": _velvet,
        "film": _film,
    }
    return builders[ctx.kit.backdrop](ctx)


def _canvas_size(ctx: LayerContext, fraction: float) -> tuple[int, int]:
    margin_x = int(ctx.width * fraction) & ~1
    margin_y = int(ctx.height * fraction) & ~1
    return ctx.width + 2 * margin_x, ctx.height + 2 * margin_y


def _finish(ctx: LayerContext, half: NDArray[np.float32], size: tuple[int, int], motifs: tuple[str, ...], colours: tuple[RGB, RGB], dark: bool) -> Planes:
    """Upscale a half-size painting, overlay the scene's still (if any) and motifs, and convert to planes."""
    picture = _upscale(half, *size)
    if ctx.image_path is not None:
        still = _cover_image(ctx.image_path, *size)
        picture = Image.blend(still, picture, 0.35)
    rng = np.random.default_rng(ctx.seed + 7)
    _paint_motifs(picture, motifs, colours, rng, dark, avoid=_canvas_boxes(ctx, size))
    return Planes.from_rgb(np.asarray(picture))


def _neon_grid(ctx: LayerContext) -> Backdrop:
    palette = ctx.palette
    width, height = ctx.width, ctx.height
    base = rgb(palette.background) if lightness(palette.background) < 0.15 else mix(palette.primary, (0, 0, 0), 0.9)
    horizon_fraction = 0.58
    half_w, half_h = width // 2, height // 2
    sky = _linear_gradient(half_w, half_h, mix(base, (0, 0, 0), 0.4), mix(base, palette.secondary, 0.25), 90)
    _add_glow(sky, 0.5, horizon_fraction, 0.18, vivid(palette.accent), 0.45)
    _add_glow(sky, 0.15, 0.15, 0.3, mix(base, palette.primary, 0.35), 0.5)
    floor_start = int(half_h * horizon_fraction)
    sky[floor_start:] = sky[floor_start:] * 0.55
    picture = _upscale(sky, width, height)
    draw = ImageDraw.Draw(picture, "RGBA")

    horizon = int(height * horizon_fraction)
    # Converging floor lines, static while the horizontal ones scroll.
    for index in range(-12, 13):
        x_far = width / 2 + index * width * 0.035
        x_near = width / 2 + index * width * 0.22
        draw.line([(x_far, horizon), (x_near, height)], fill=(*rgb(palette.primary), 150), width=max(2, height // 400))
    draw.line([(0, horizon), (width, horizon)], fill=(*rgb(palette.accent), 255), width=max(2, height // 300))

    motifs = motifs_for(ctx.visual_direction)
    _paint_motifs(picture, motifs, (rgb(palette.primary), rgb(palette.accent)), np.random.default_rng(ctx.seed + 7), True, horizon_fraction, ctx.text_boxes)
    # Scanlines: every third row slightly darker.
    pixels = np.asarray(picture).copy()
    pixels[::3] = (pixels[::3].astype(np.uint16) * 200 >> 8).astype(np.uint8)
    if ctx.image_path is not None:
        still = np.asarray(_cover_image(ctx.image_path, width, height))
        pixels = (pixels.astype(np.uint16) + still.astype(np.uint16) // 2).clip(0, 255).astype(np.uint8)
    canvas = Planes.from_rgb(pixels)

    elements: list[Element] = [
        NeonFloor(horizon, width, height, colour_yuv(palette.accent), colour_yuv(vivid(palette.primary)), speed=0.9 * ctx.kit.motion_speed),
        ScanBand(width, height, colour_yuv(vivid(palette.primary)), period=3.2),
    ]
    rng = np.random.default_rng(ctx.seed)
    for _ in range(10):
        spark = soft_disc(int(rng.uniform(0.006, 0.014) * height), vivid(palette.accent), 0.8, 0.9)
        elements.append(
            Drifting(spark, rng.uniform(0, width), rng.uniform(0.05, 0.5) * height, (rng.uniform(20, 80), rng.uniform(10, 40)), rng.uniform(0.3, 0.8), rng.uniform(0, 6), twinkle=0.6)
        )
    return Backdrop(canvas, width, height, ctx.duration, (0.0, 0.0), 0.0, elements=elements)


def _flat(ctx: LayerContext) -> Backdrop:
    palette = ctx.palette
    size = _canvas_size(ctx, 0.04)
    background = rgb(palette.background)
    half = _linear_gradient(size[0] // 2, size[1] // 2, background, mix(background, palette.text, 0.05), 60)
    motifs = motifs_for(ctx.visual_direction)
    canvas = _finish(ctx, half, size, motifs, (mix(background, palette.primary, 0.25), mix(background, palette.accent, 0.2)), lightness(background) < 0.4)
    rng = np.random.default_rng(ctx.seed)
    # The one accent: a disc tucked into the top right corner, clear of the centred title and the brand mark.
    short = min(ctx.width, ctx.height)
    diameter = int(short * 0.3)
    disc = soft_disc(diameter, rgb(palette.accent), 0.02, 1.0)
    elements: list[Element] = [
        Drifting(disc, ctx.width - short * 0.06, short * 0.06, (short * 0.06, short * 0.04), 1.2 * ctx.kit.motion_speed, rng.uniform(0, 6)),
    ]
    return Backdrop(canvas, ctx.width, ctx.height, ctx.duration, (1.0, 1.0), 0.35 * ctx.kit.motion_speed, elements=elements, phase=rng.uniform(0, 6))


def _parallelogram(width: int, height: int, slant: int, colour: RGB, opacity: float) -> Sprite:
    picture = Image.new("RGBA", (width + slant, height), (0, 0, 0, 0))
    ImageDraw.Draw(picture).polygon([(slant, 0), (width + slant, 0), (width, height), (0, height)], fill=(*colour, int(255 * opacity)))
    return Sprite.from_image(picture)


def _panels(ctx: LayerContext) -> Backdrop:
    palette = ctx.palette
    size = _canvas_size(ctx, 0.05)
    half = _linear_gradient(size[0] // 2, size[1] // 2, rgb(palette.primary), mix(palette.secondary, (0, 0, 0), 0.25), 25)
    _add_glow(half, 0.8, 0.1, 0.35, mix(palette.primary, (255, 255, 255), 0.35), 0.35)
    motifs = motifs_for(ctx.visual_direction)
    canvas = _finish(ctx, half, size, motifs, (mix(palette.primary, (255, 255, 255), 0.4), rgb(palette.accent)), False)
    width, height = ctx.width, ctx.height
    rng = np.random.default_rng(ctx.seed)
    elements: list[Element] = []
    for index in range(3):
        panel_w = int(width * rng.uniform(0.25, 0.4))
        panel_h = int(height * rng.uniform(0.5, 1.1))
        colour = (255, 255, 255) if index < 2 else rgb(palette.accent)
        opacity = 0.07 + 0.05 * index if index < 2 else 0.85
        if index == 2:
            panel_w, panel_h = int(width * 0.12), max(6, int(height * 0.012))
        sprite = _parallelogram(panel_w, panel_h, int(panel_h * 0.35), colour, opacity)
        x = width * (0.55 + 0.15 * index) if index < 2 else width * 0.06
        y = -height * 0.05 if index < 2 else height * 0.86
        elements.append(SlidingPanel(sprite, x, y, x + width * 0.3 * (1 if index < 2 else -1), -12.0 * (index + 1) * ctx.kit.motion_speed, 0.1 * index))
    return Backdrop(canvas, width, height, ctx.duration, (1.0, 0.3), 0.25 * ctx.kit.motion_speed, elements=elements, phase=rng.uniform(0, 6))


def _blob_image(kind: str, size: int, colour: RGB) -> Image.Image:
    picture = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(picture)
    pad = size // 8
    box = (pad, pad, size - pad, size - pad)
    if kind == "circle":
        draw.ellipse(box, fill=(*colour, 255))
    elif kind == "ring":
        draw.ellipse(box, outline=(*colour, 255), width=max(4, size // 9))
    elif kind == "square":
        draw.rounded_rectangle(box, radius=size // 5, fill=(*colour, 255))
    elif kind == "star":
        centre, outer, inner = size / 2, size / 2 - pad, size / 4.2
        points = [
            (centre + (outer if i % 2 == 0 else inner) * math.sin(i * math.pi / 5), centre - (outer if i % 2 == 0 else inner) * math.cos(i * math.pi / 5))
            for i in range(10)
        ]
        draw.polygon(points, fill=(*colour, 255))
    else:
        points = [(pad + (size - 2 * pad) * i / 30, size / 2 + size * 0.18 * math.sin(i / 30 * 2 * math.pi * 1.5)) for i in range(31)]
        draw.line(points, fill=(*colour, 255), width=max(5, size // 8), joint="curve")
    return picture


def _blobs(ctx: LayerContext) -> Backdrop:
    palette = ctx.palette
    size = _canvas_size(ctx, 0.06)
    light = with_lightness(palette.primary, 0.9, 0.9)
    half = _linear_gradient(size[0] // 2, size[1] // 2, light, with_lightness(palette.secondary, 0.82), 135)
    picture = _upscale(half, *size)
    draw = ImageDraw.Draw(picture, "RGBA")
    step = max(24, min(size) // 16)
    dot = max(3, step // 7)
    for row, y in enumerate(range(0, size[1], step)):
        for x in range((row % 2) * step // 2, size[0], step):
            draw.ellipse((x - dot, y - dot, x + dot, y + dot), fill=(*rgb(palette.primary), 40))
    if ctx.image_path is not None:
        picture = Image.blend(_cover_image(ctx.image_path, *size), picture, 0.35)
    _paint_motifs(picture, motifs_for(ctx.visual_direction), (rgb(palette.primary), rgb(palette.accent)), np.random.default_rng(ctx.seed + 7), False, avoid=_canvas_boxes(ctx, size))
    canvas = Planes.from_rgb(np.asarray(picture))

    rng = np.random.default_rng(ctx.seed)
    colours = [rgb(palette.primary), rgb(palette.accent), rgb(palette.secondary)]
    kinds = ["circle", "star", "square", "ring", "squiggle", "circle"]
    elements: list[Element] = []
    short = min(ctx.width, ctx.height)
    for index, kind in enumerate(kinds):
        blob_size = int(short * rng.uniform(0.1, 0.17))
        image = _blob_image(kind, blob_size, colours[index % 3])
        steps = 1 if kind == "circle" else 20
        rotations = [Sprite.from_image(image.rotate(360.0 * k / steps, resample=Image.Resampling.BILINEAR)) for k in range(steps)]
        column = (index + 0.5) / len(kinds)
        elements.append(
            Bouncing(rotations, ctx.width * column, ctx.height * rng.uniform(0.2, 0.92), ctx.height * rng.uniform(0.05, 0.12), rng.uniform(0.9, 1.5) / ctx.kit.motion_speed, rng.uniform(0, 1), ctx.width * 0.03, rng.uniform(0.15, 0.35) * (1 if index % 2 else -1))
        )
    return Backdrop(canvas, ctx.width, ctx.height, ctx.duration, (1.0, 1.0), 0.6 * ctx.kit.motion_speed, elements=elements, phase=rng.uniform(0, 6))


def _velvet(ctx: LayerContext) -> Backdrop:
    palette = ctx.palette
    size = _canvas_size(ctx, 0.04)
    deep = rgb(palette.primary) if lightness(palette.primary) < 0.2 else with_lightness(palette.primary, 0.1, 0.7)
    half = _linear_gradient(size[0] // 2, size[1] // 2, mix(deep, (0, 0, 0), 0.45), deep, 110)
    _add_glow(half, 0.5, 0.42, 0.32, with_lightness(palette.primary, 0.28, 0.8), 0.55)
    _vignette(half, 0.5)
    gold = rgb(palette.accent)
    canvas = _finish(ctx, half, size, motifs_for(ctx.visual_direction), (gold, mix(gold, (255, 255, 255), 0.3)), True)
    width, height = ctx.width, ctx.height
    inset_x, inset_y = int(width * 0.035), int(height * 0.035)
    line = max(2, height // 540)
    rects = [
        (inset_x, inset_y, width - inset_x, inset_y + line),
        (inset_x, height - inset_y - line, width - inset_x, height - inset_y),
        (inset_x, inset_y, inset_x + line, height - inset_y),
        (width - inset_x - line, inset_y, width - inset_x, height - inset_y),
    ]
    elements: list[Element] = [Rules(rects, colour_yuv(gold), 0.85)]
    rng = np.random.default_rng(ctx.seed)
    for _ in range(12):
        bokeh = soft_disc(int(min(width, height) * rng.uniform(0.015, 0.05)), mix(gold, (255, 240, 200), 0.3), 0.6, rng.uniform(0.25, 0.6))
        elements.append(Drifting(bokeh, rng.uniform(0, width), rng.uniform(0, height), (rng.uniform(20, 60), rng.uniform(30, 90)), rng.uniform(0.08, 0.2), rng.uniform(0, 6), twinkle=0.3))
    return Backdrop(canvas, width, height, ctx.duration, (1.0, 1.0), 0.3 * ctx.kit.motion_speed, elements=elements, phase=rng.uniform(0, 6))


def _film(ctx: LayerContext) -> Backdrop:
    palette = ctx.palette
    size = _canvas_size(ctx, 0.03)
    shadow = with_lightness(palette.secondary, 0.1, 0.6)
    half = _linear_gradient(size[0] // 2, size[1] // 2, shadow, with_lightness(palette.primary, 0.22, 0.7), 160)
    rng = np.random.default_rng(ctx.seed)
    _add_glow(half, rng.uniform(0.6, 0.85), 0.3, 0.25, vivid(palette.accent, 0.5, 0.6), 0.55)
    _add_glow(half, rng.uniform(0.1, 0.3), 0.75, 0.3, with_lightness(palette.primary, 0.45), 0.4)
    _vignette(half, ctx.kit.vignette)
    canvas = _finish(ctx, half, size, motifs_for(ctx.visual_direction), (vivid(palette.accent), rgb(palette.primary)), True)
    elements: list[Element] = []
    for _ in range(14):
        mote = soft_disc(int(min(ctx.width, ctx.height) * rng.uniform(0.004, 0.01)), (255, 236, 210), 0.7, rng.uniform(0.3, 0.7))
        elements.append(Drifting(mote, rng.uniform(0, ctx.width), rng.uniform(0, ctx.height), (rng.uniform(30, 90), rng.uniform(20, 60)), rng.uniform(0.1, 0.3), rng.uniform(0, 6), twinkle=0.4))
    return Backdrop(canvas, ctx.width, ctx.height, ctx.duration, (0.6, 0.4), 0.2, push_in=ctx.kit.push_in, elements=elements, phase=rng.uniform(0, 6))
