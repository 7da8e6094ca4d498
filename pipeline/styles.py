"""Visual styles: the look, type and motion rules the renderer applies to each commercial."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

logger = logging.getLogger(__name__)

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")

TextMotion = Literal["type_on", "word_rise", "slide", "pop", "tracking_fade", "slow_fade"]
Backdrop = Literal["neon_grid", "flat", "panels", "blobs", "velvet", "film"]


@dataclass(frozen=True)
class StyleKit:
    """Look and motion rules of one style."""

    name: str
    backdrop: Backdrop
    text_motion: TextMotion
    # Latin title face; CJK text switches to Noto Sans or Serif CJK of the same weight.
    title_font: Path
    serif: bool
    bold: bool
    uppercase: bool
    # Extra space between letters, as a fraction of the font size.
    tracking: float
    # Title height as a fraction of the shorter frame side.
    title_scale: float
    # Seconds the title takes to animate in.
    text_in_seconds: float
    # Background motion speed multiplier; luxury and cinematic move slowly.
    motion_speed: float
    glow: bool = False
    outline: bool = False
    metallic: bool = False
    letterbox: bool = False
    grain: int = 0
    vignette: float = 0.0
    push_in: float = 0.0
    glitch_accents: bool = False
    # Caption backing: a translucent box, or an outline around each glyph.
    caption_backing: Literal["box", "outline"] = "box"
    caption_box_opacity: float = 0.62
    corner_radius: float = 0.25


STYLES: dict[str, StyleKit] = {
    kit.name: kit
    for kit in (
        StyleKit(
            name="cyberpunk",
            backdrop="neon_grid",
            text_motion="type_on",
            title_font=_DEJAVU / "DejaVuSansMono-Bold.ttf",
            serif=False,
            bold=True,
            uppercase=True,
            tracking=0.02,
            title_scale=0.085,
            text_in_seconds=0.9,
            motion_speed=1.0,
            glow=True,
            glitch_accents=True,
            caption_box_opacity=0.7,
            corner_radius=0.0,
        ),
        StyleKit(
            name="minimal",
            backdrop="flat",
            text_motion="word_rise",
            title_font=_DEJAVU / "DejaVuSans.ttf",
            serif=False,
            bold=False,
            uppercase=False,
            tracking=0.0,
            title_scale=0.07,
            text_in_seconds=0.9,
            motion_speed=0.5,
            caption_box_opacity=0.0,
            caption_backing="outline",
        ),
        StyleKit(
            name="corporate",
            backdrop="panels",
            text_motion="slide",
            title_font=_DEJAVU / "DejaVuSans-Bold.ttf",
            serif=False,
            bold=True,
            uppercase=False,
            tracking=0.0,
            title_scale=0.08,
            text_in_seconds=0.6,
            motion_speed=0.8,
            corner_radius=0.12,
        ),
        StyleKit(
            name="playful",
            backdrop="blobs",
            text_motion="pop",
            title_font=_DEJAVU / "DejaVuSans-Bold.ttf",
            serif=False,
            bold=True,
            uppercase=False,
            tracking=0.0,
            title_scale=0.095,
            text_in_seconds=0.8,
            motion_speed=1.3,
            outline=True,
            corner_radius=0.5,
        ),
        StyleKit(
            name="luxury",
            backdrop="velvet",
            text_motion="tracking_fade",
            title_font=_DEJAVU / "DejaVuSerif.ttf",
            serif=True,
            bold=False,
            uppercase=True,
            tracking=0.18,
            title_scale=0.065,
            text_in_seconds=1.6,
            motion_speed=0.35,
            metallic=True,
            caption_box_opacity=0.55,
            corner_radius=0.0,
        ),
        StyleKit(
            name="cinematic",
            backdrop="film",
            text_motion="slow_fade",
            title_font=_DEJAVU / "DejaVuSerif.ttf",
            serif=True,
            bold=False,
            uppercase=True,
            tracking=0.12,
            title_scale=0.07,
            text_in_seconds=1.4,
            motion_speed=0.5,
            letterbox=True,
            grain=7,
            vignette=0.55,
            push_in=0.06,
            caption_backing="outline",
            caption_box_opacity=0.0,
        ),
    )
}

# Other names a brief or a language model commonly uses for the same looks.
_ALIASES = {
    "neon": "cyberpunk",
    "futuristic": "cyberpunk",
    "tech": "cyberpunk",
    "synthwave": "cyberpunk",
    "clean": "minimal",
    "minimalist": "minimal",
    "simple": "minimal",
    "business": "corporate",
    "professional": "corporate",
    "modern": "corporate",
    "fun": "playful",
    "bright": "playful",
    "cartoon": "playful",
    "elegant": "luxury",
    "premium": "luxury",
    "classy": "luxury",
    "film": "cinematic",
    "epic": "cinematic",
    "dramatic": "cinematic",
}


def get_style(name: str) -> StyleKit:
    """Return the style called `name` (case-insensitive, common synonyms accepted).

    Raises ValueError listing the valid names for an unknown style.
    """
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    try:
        return STYLES[key]
    except KeyError:
        raise ValueError(f"style {name!r} is unknown; use one of: {', '.join(STYLES)}") from None
