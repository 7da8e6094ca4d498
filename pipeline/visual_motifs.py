"""Scene motifs: a simple drawable object chosen from a scene's visual direction, painted once as a sprite."""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass

from PIL import Image, ImageDraw

from pipeline.visual_canvas import Planes, Sprite
from pipeline.visual_colour import RGB, mix

logger = logging.getLogger(__name__)

# Nouns a storyboard uses, mapped to the motif that stands for them. The first pattern that matches wins.
_MOTIF_NOUNS: tuple[tuple[str, str], ...] = (
    ("dashboard", r"\b(dashboards?|charts?|graphs?|analytics|metrics|reports?|screens?|monitors?|stats|kpis?)\b"),
    ("racks", r"\b(servers?|racks?|data ?cent(er|re)s?|bars?|stacks?|storage|databases?|infrastructure)\b"),
    ("parcel", r"\b(parcels?|packages?|box(es)?|deliver(y|ies|ed)?|doorsteps?|shipping|orders?|cartons?|gifts?)\b"),
    ("cup", r"\b(cups?|mugs?|coffee|tea|steam|espresso|latte|cafe|café|breakfast|drinks?)\b"),
    ("phone", r"\b(phones?|smartphones?|mobile|devices?|apps?|tablets?|laptops?|gadgets?|lamps?)\b"),
    ("rings", r"\b(pulses?|pulsing|rings?|signals?|wifi|waves?|sound|notifications?|alarms?|beats?|glow(ing)?)\b"),
)
MOTIFS: tuple[str, ...] = tuple(name for name, _ in _MOTIF_NOUNS)


def motif_for(direction: str, scene_index: int) -> str:
    """Return the motif a visual direction names; without a match, one picked by scene index so scenes differ."""
    text = direction.lower()
    for name, pattern in _MOTIF_NOUNS:
        if re.search(pattern, text):
            return name
    return MOTIFS[scene_index % len(MOTIFS)]


def motif_picture(kind: str, size: int, main: RGB, second: RGB, ink: RGB) -> Image.Image:
    """Paint a motif as a square RGBA picture of side `size`, in flat shapes of the given colours."""
    picture = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(picture)
    unit = size / 20.0
    line = max(2, int(unit * 0.6))
    if kind == "racks":
        for column in range(3):
            x0 = unit * (1 + column * 6.3)
            draw.rounded_rectangle((x0, unit * 2, x0 + unit * 5.3, unit * 19), radius=unit * 0.6, fill=(*ink, 235))
            for row in range(6):
                y0 = unit * (3 + row * 2.6)
                draw.rectangle((x0 + unit * 0.8, y0, x0 + unit * 4.5, y0 + unit * 1.6), fill=(*mix(ink, main, 0.35), 255))
                colour = main if (row + column) % 2 == 0 else second
                draw.ellipse((x0 + unit * 3.4, y0 + unit * 0.4, x0 + unit * 4.2, y0 + unit * 1.2), fill=(*colour, 255))
    elif kind == "dashboard":
        draw.rounded_rectangle((unit, unit * 3, unit * 19, unit * 17), radius=unit * 1.2, fill=(*ink, 235))
        heights = (4, 7, 5, 9, 6)
        for index, height in enumerate(heights):
            x0 = unit * (2.5 + index * 2.0)
            draw.rectangle((x0, unit * (15 - height), x0 + unit * 1.3, unit * 15), fill=(*(main if index % 2 else second), 255))
        draw.pieslice((unit * 12.5, unit * 5, unit * 18, unit * 10.5), 0, 250, fill=(*main, 255))
        draw.pieslice((unit * 12.5, unit * 5, unit * 18, unit * 10.5), 250, 360, fill=(*second, 255))
        draw.rectangle((unit * 12.5, unit * 12.5, unit * 18, unit * 13.3), fill=(*mix(ink, (255, 255, 255), 0.6), 255))
        draw.rectangle((unit * 12.5, unit * 14.2, unit * 16, unit * 15), fill=(*mix(ink, (255, 255, 255), 0.4), 255))
    elif kind == "parcel":
        front = [(unit * 2, unit * 8), (unit * 11, unit * 10), (unit * 11, unit * 19), (unit * 2, unit * 16.5)]
        side = [(unit * 11, unit * 10), (unit * 18, unit * 7.5), (unit * 18, unit * 16), (unit * 11, unit * 19)]
        top = [(unit * 2, unit * 8), (unit * 9.5, unit * 5.5), (unit * 18, unit * 7.5), (unit * 11, unit * 10)]
        draw.polygon(front, fill=(*main, 255))
        draw.polygon(side, fill=(*mix(main, (0, 0, 0), 0.3), 255))
        draw.polygon(top, fill=(*mix(main, (255, 255, 255), 0.3), 255))
        draw.line([(unit * 5.8, unit * 6.8), (unit * 14.5, unit * 8.8), (unit * 14.5, unit * 17.6)], fill=(*second, 255), width=line * 2)
    elif kind == "cup":
        draw.rounded_rectangle((unit * 3, unit * 9, unit * 14, unit * 18.5), radius=unit * 2, fill=(*main, 255))
        draw.ellipse((unit * 12, unit * 10.5, unit * 18, unit * 16), outline=(*main, 255), width=int(unit * 1.3))
        draw.rectangle((unit * 3, unit * 9, unit * 14, unit * 10.5), fill=(*mix(main, (255, 255, 255), 0.35), 255))
        for index in range(3):
            x = unit * (5.5 + index * 3)
            points = [(x + unit * 0.8 * math.sin(step / 3.0), unit * (7.5 - step * 0.6)) for step in range(9)]
            draw.line(points, fill=(*second, 220), width=line, joint="curve")
    elif kind == "phone":
        draw.rounded_rectangle((unit * 5, unit, unit * 15, unit * 19), radius=unit * 1.8, fill=(*ink, 255))
        draw.rounded_rectangle((unit * 6, unit * 2.5, unit * 14, unit * 16.5), radius=unit * 0.6, fill=(*main, 255))
        for row in range(3):
            y0 = unit * (4 + row * 3.8)
            draw.rounded_rectangle((unit * 7, y0, unit * 13, y0 + unit * 2.6), radius=unit * 0.5, fill=(*mix(main, (255, 255, 255), 0.55), 255))
        draw.ellipse((unit * 9.2, unit * 17.2, unit * 10.8, unit * 18.6), fill=(*second, 255))
    else:
        for ring in range(4):
            inset = unit * (1 + ring * 2.3)
            colour = main if ring % 2 == 0 else second
            draw.ellipse((inset, inset, size - inset, size - inset), outline=(*colour, 255 - ring * 30), width=line)
        draw.ellipse((unit * 8.5, unit * 8.5, unit * 11.5, unit * 11.5), fill=(*second, 255))
    return picture


@dataclass
class Motif:
    """A motif sprite at (x, y) that bobs gently; its swept area stays inside `reach`."""

    sprite: Sprite
    x: int
    y: int
    bob: float
    speed: float
    phase: float
    opacity: float = 1.0

    def reach(self) -> tuple[int, int, int, int]:
        bob = int(math.ceil(self.bob))
        return self.x, self.y - bob, self.x + self.sprite.width, self.y + self.sprite.height + bob

    def draw(self, frame: Planes, t: float) -> None:
        offset = self.bob * math.sin(self.phase + t * self.speed)
        self.sprite.blend_into(frame, self.x, int(round(self.y + offset)), self.opacity)
