"""Text for the frames: glyph coverage, wrapping, fitting and styled text pictures made once with Pillow."""

from __future__ import annotations

import functools
import logging
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from pipeline.fonts import FontFace, font_for
from pipeline.styles import StyleKit

logger = logging.getLogger(__name__)

_NOTO = Path("/usr/share/fonts/opentype/noto")
# A private-use code point no font here maps, so it renders as the .notdef box.
_NOTDEF_PROBE = "\U0010fffd"
RGB = tuple[int, int, int]


@functools.lru_cache(maxsize=32)
def _notdef_mask(font: ImageFont.FreeTypeFont) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(_NOTDEF_PROBE)
    return mask.size, bytes(mask)


@functools.lru_cache(maxsize=8192)
def has_glyph(font: ImageFont.FreeTypeFont, char: str) -> bool:
    """Return True when `font` draws `char` with a real glyph rather than the .notdef box."""
    if char.isspace():
        return True
    mask = font.getmask(char)
    return (mask.size, bytes(mask)) != _notdef_mask(font)


def printable_text(text: str, font: ImageFont.FreeTypeFont) -> str:
    """Drop characters `font` cannot draw (emoji, joiners, variation selectors) and tidy the spaces left behind."""
    kept = []
    for char in text:
        if unicodedata.category(char) in ("Cf", "Cs", "Co", "Mn") and not unicodedata.combining(char):
            continue
        if 0xFE00 <= ord(char) <= 0xFE0F:
            continue
        if has_glyph(font, char):
            kept.append(char)
    return " ".join("".join(kept).split())


def load_face(face: FontFace, size: int) -> ImageFont.FreeTypeFont:
    return face.load(max(1, int(size)))


def title_face(text: str, kit: StyleKit) -> FontFace:
    """Pick the title face for `text`: the style's Latin face, or a CJK face of matching weight and family."""
    cjk = font_for(text, bold=kit.bold)
    if cjk.path.parent != _NOTO:
        return FontFace(kit.title_font)
    if kit.serif:
        serif = _NOTO / ("NotoSerifCJK-Bold.ttc" if kit.bold else "NotoSerifCJK-Regular.ttc")
        if serif.is_file():
            return FontFace(serif, cjk.index)
    return cjk


def _is_cjk_char(char: str) -> bool:
    name = unicodedata.name(char, "")
    return name.startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "IDEOGRAPHIC", "FULLWIDTH"))


def text_width(text: str, font: ImageFont.FreeTypeFont, tracking: float = 0.0) -> float:
    """Return the advance width of `text` in pixels, with `tracking` (fraction of the size) after each letter."""
    if not text:
        return 0.0
    if tracking == 0.0:
        return _advance(font, text)
    return sum(_advance(font, char) for char in text) + tracking * font.size * (len(text) - 1)


# Fitting a title measures the same words and letters many times over: once per candidate size
# and per step of the balanced wrap's search. Fonts come from a cache, so each is one object.
@functools.lru_cache(maxsize=16384)
def _advance(font: ImageFont.FreeTypeFont, text: str) -> float:
    return float(font.getlength(text))


def _tokens(text: str) -> list[tuple[str, bool]]:
    """Split into wrap units, each with whether a space preceded it: words, and single CJK characters (which may break anywhere)."""
    units: list[tuple[str, bool]] = []
    for word in text.split():
        current = ""
        spaced = bool(units)
        for char in word:
            if _is_cjk_char(char):
                if current:
                    units.append((current, spaced))
                    current, spaced = "", False
                units.append((char, spaced))
                spaced = False
            else:
                current += char
        if current:
            units.append((current, spaced))
    return units


def _split_long(token: str, font: ImageFont.FreeTypeFont, max_width: float, tracking: float) -> list[str]:
    """Break a token wider than `max_width` (a URL, say) into chunks that fit."""
    chunks: list[str] = []
    current = ""
    for char in token:
        if current and text_width(current + char, font, tracking) > max_width:
            chunks.append(current)
            current = char
        else:
            current += char
    if current:
        chunks.append(current)
    return chunks


def balanced_wrap(text: str, font: ImageFont.FreeTypeFont, max_width: float, tracking: float = 0.0) -> list[str]:
    """Wrap like wrap_text, then narrow the width as far as the line count allows, so the last line is not an orphan."""
    lines = wrap_text(text, font, max_width, tracking)
    if len(lines) < 2:
        return lines
    low, high = max_width / len(lines), max_width
    for _ in range(12):
        middle = (low + high) / 2
        if len(wrap_text(text, font, middle, tracking)) <= len(lines):
            high = middle
        else:
            low = middle
    return wrap_text(text, font, high, tracking)


def wrap_text(text: str, font: ImageFont.FreeTypeFont, max_width: float, tracking: float = 0.0) -> list[str]:
    """Greedily wrap `text` into lines no wider than `max_width`, splitting tokens that alone are too wide."""
    lines: list[str] = []
    current = ""
    for token, spaced in _tokens(text):
        pieces = [token] if text_width(token, font, tracking) <= max_width else _split_long(token, font, max_width, tracking)
        for number, piece in enumerate(pieces):
            joiner = " " if spaced and number == 0 else ""
            candidate = f"{current}{joiner}{piece}" if current else piece
            if current and text_width(candidate, font, tracking) > max_width:
                lines.append(current)
                current = piece
            else:
                current = candidate
    if current:
        lines.append(current)
    return lines


@dataclass(frozen=True)
class FittedText:
    """Text wrapped at a font size that fits a box."""

    face: FontFace
    size: int
    lines: tuple[str, ...]
    tracking: float


def fit_text(
    text: str, face: FontFace, box_width: int, box_height: int, start_size: int, *, tracking: float, max_lines: int
) -> FittedText:
    """Find the largest size from `start_size` down at which `text` wraps into the box in at most `max_lines` lines.

    A size at which a word must be broken is skipped unless the size is already a third of `start_size`.
    """
    size = max(8, start_size)
    while True:
        font = load_face(face, size)
        shown = printable_text(text, font)
        width = box_width * 0.98
        lines = balanced_wrap(shown, font, width, tracking)
        ascent, descent = font.getmetrics()
        height = (ascent + descent) * (1.15 * len(lines))
        splits_word = any(text_width(token, font, tracking) > width for token, _ in _tokens(shown))
        if splits_word and size > max(10, start_size // 3):
            size = int(size * 0.9)
            continue
        if (len(lines) <= max_lines and height <= box_height) or size <= 10:
            return FittedText(face, size, tuple(lines), tracking)
        size = int(size * 0.9)


@dataclass(frozen=True)
class TextLook:
    """Paint settings of a text picture: fill, gradient, glow, outline and shadow colours."""

    fill: RGB
    # Top and bottom colours of a vertical gradient fill (metallic type); None for a flat fill.
    gradient: tuple[RGB, RGB, RGB] | None = None
    glow: RGB | None = None
    outline: RGB | None = None
    shadow: RGB | None = None


def _margin(size: int, look: TextLook) -> int:
    margin = max(4, size // 6)
    if look.glow is not None:
        margin += size // 3
    if look.outline is not None or look.shadow is not None:
        margin += size // 8
    return margin


def render_line(
    text: str, font: ImageFont.FreeTypeFont, look: TextLook, tracking: float = 0.0
) -> tuple[Image.Image, tuple[int, int]]:
    """Paint one line of text into an RGBA picture with room for glyph overhang, glow, outline and shadow.

    Returns the picture and the pen origin (left end of the baseline) inside it.
    """
    size = int(font.size)
    ascent, descent = font.getmetrics()
    margin = _margin(size, look)
    advance = text_width(text, font, tracking)
    left, _, right, _ = font.getbbox(text, anchor="ls") if text else (0, 0, 0, 0)
    overhang_left = max(0, -int(left))
    width = int(max(advance, right)) + overhang_left + 2 * margin + 2
    height = ascent + descent + 2 * margin
    origin = (int(margin + overhang_left), int(margin + ascent))

    mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask)
    stroke = max(2, size // 14) if look.outline is not None else 0
    _draw_tracked(draw, origin, text, font, tracking, fill=255)

    layers: list[Image.Image] = []
    if look.shadow is not None:
        shadow_mask = Image.new("L", (width, height), 0)
        _draw_tracked(ImageDraw.Draw(shadow_mask), (origin[0] + size // 18, origin[1] + size // 14), text, font, tracking, fill=170, stroke=stroke)
        layers.append(_coloured(shadow_mask.filter(ImageFilter.GaussianBlur(max(1, size // 30))), look.shadow))
    if look.glow is not None:
        glow_mask = mask.filter(ImageFilter.MaxFilter(3)).filter(ImageFilter.GaussianBlur(max(2, size // 7)))
        glow_mask = glow_mask.point(lambda value: min(255, value * 2))
        layers.append(_coloured(glow_mask, look.glow))
    if look.outline is not None:
        outline_mask = Image.new("L", (width, height), 0)
        _draw_tracked(ImageDraw.Draw(outline_mask), origin, text, font, tracking, fill=255, stroke=stroke)
        layers.append(_coloured(outline_mask, look.outline))
    layers.append(_filled(mask, look))

    picture = layers[0]
    for layer in layers[1:]:
        picture = Image.alpha_composite(picture, layer)
    return picture, origin


def _draw_tracked(
    draw: ImageDraw.ImageDraw,
    origin: tuple[int, int],
    text: str,
    font: ImageFont.FreeTypeFont,
    tracking: float,
    *,
    fill: int,
    stroke: int = 0,
) -> None:
    if tracking == 0.0:
        draw.text(origin, text, font=font, fill=fill, anchor="ls", stroke_width=stroke, stroke_fill=fill)
        return
    x = float(origin[0])
    for char in text:
        draw.text((x, origin[1]), char, font=font, fill=fill, anchor="ls", stroke_width=stroke, stroke_fill=fill)
        x += font.getlength(char) + tracking * font.size


def _coloured(mask: Image.Image, colour: RGB) -> Image.Image:
    picture = Image.new("RGBA", mask.size, (*colour, 0))
    picture.putalpha(mask)
    return picture


def _filled(mask: Image.Image, look: TextLook) -> Image.Image:
    if look.gradient is None:
        return _coloured(mask, look.fill)
    top, middle, bottom = (np.array(colour, dtype=np.float32) for colour in look.gradient)
    height = mask.size[1]
    position = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    upper = top + (middle - top) * np.clip(position * 2.0, 0, 1)
    ramp = np.where(position < 0.5, upper, middle + (bottom - middle) * np.clip(position * 2.0 - 1.0, 0, 1))
    rows = np.repeat(ramp[:, None, :], mask.size[0], axis=1)
    rgba = np.dstack([np.clip(rows, 0, 255).astype(np.uint8), np.asarray(mask)])
    return Image.fromarray(rgba)


def prefix_widths(text: str, font: ImageFont.FreeTypeFont, tracking: float) -> list[float]:
    """Return the pen position after each character, for type-on reveals."""
    return [text_width(text[: index + 1], font, tracking) for index in range(len(text))]


def caption_font(lines: tuple[str, ...], path: Path, index: int, size: int) -> ImageFont.FreeTypeFont:
    """Load the layout's caption font, or a face with the glyphs when it lacks a script in the lines (CJK)."""
    font = FontFace(path, index).load(size)
    text = "".join(lines)
    if all(has_glyph(font, char) for char in text if _is_cjk_char(char)):
        return font
    fallback = font_for(text)
    logger.warning("caption font %s lacks glyphs for the caption text; drawing it with %s", path, fallback.path)
    return fallback.load(size)
