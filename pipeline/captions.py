"""Captions timed to the spoken words, wrapped with the real font to fit the platform's safe area.

Cue text is the script as written (ScriptLine.text), never the expanded form the voice reads:
each written token takes its time from the voiceover's word timings, matched by position when the
counts agree and by sequence alignment otherwise. Characters the caption font cannot draw (most
emoji) are left out. CJK text breaks between any two characters.
"""

from __future__ import annotations

import difflib
import functools
import logging
import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pipeline.fonts import FontFace, detect_cjk_language, font_for, is_cjk
from pipeline.models import CaptionCue, CaptionLayout, LineTiming, PlatformPreset, Script, Voiceover

logger = logging.getLogger(__name__)

MAX_LINES = 2
# Maximum seconds one cue stays up, so longer sentences are split into several cues.
MAX_CUE_SECONDS = 3.5
# A cue stays up this long after its last word when the next line does not start sooner.
HOLD_SECONDS = 0.4
# Characters that a caption never starts a line with (CJK closing punctuation and Latin marks).
_NO_LINE_START = set("、。，．！？：；）」』】〉》”’,.!?:;)]}ー々ゝゞ")
_BREAK_AFTER = set("/.-?&=_#:")
_ALWAYS_DROP = {"\u200d", "\ufe0f", "\ufe0e", "\u20e3"}


@dataclass(frozen=True)
class _Unit:
    """A written token (or a piece of one) and when it is spoken."""

    text: str
    start: float
    end: float
    glue: bool  # joins the previous unit without a space


def caption_font_size(preset: PlatformPreset) -> int:
    """Return the caption size in pixels: 5 % of the frame's shorter side (its height for 16:9)."""
    return max(16, round(0.05 * min(preset.width, preset.height)))


def caption_layout(preset: PlatformPreset, face: FontFace, *, line_spacing: float = 1.25) -> CaptionLayout:
    """Place a two-line caption box at the bottom of the safe area, inset by half the font size."""
    size = caption_font_size(preset)
    top, right, bottom, left = preset.safe_margins
    safe_left = math.ceil(preset.width * left)
    safe_right = math.floor(preset.width * (1 - right))
    safe_bottom = math.floor(preset.height * (1 - bottom))
    inset = size // 2
    # Two lines plus room for the renderer's backing padding above and below them.
    height = math.ceil(size * (1 + line_spacing * (MAX_LINES - 1)) + size * 0.75)
    box = (safe_left + inset, safe_bottom - inset - height, safe_right - safe_left - 2 * inset, height)
    return CaptionLayout(face.path, size, box, line_spacing, face.index)


def text_width(layout: CaptionLayout) -> int:
    """Return the widest a caption line may be: the box less the renderer's backing padding and outline."""
    size = layout.font_size
    return layout.box[2] - size - 2 - 2 * max(2, size // 12)


def build_captions(
    voiceover: Voiceover,
    script: Script,
    preset: PlatformPreset,
    *,
    language: str,
) -> tuple[tuple[CaptionCue, ...], CaptionLayout]:
    """Return caption cues timed to the voiceover's words and the layout they were wrapped for."""
    face = font_for(script.text, bold=True, language=language)
    layout = caption_layout(preset, face)
    font = face.load(layout.font_size)
    cjk = language in ("zh", "ja", "ko") or detect_cjk_language(script.text) is not None
    timings = {timing.index: timing for timing in voiceover.lines}

    cues: list[CaptionCue] = []
    for index, line in enumerate(script.lines):
        text = drawable_text(line.text, face, layout.font_size)
        timing = timings.get(index) if timings else _guess_timing(index, voiceover, len(script.lines))
        if timing is None or not text:
            # The voice stage leaves out lines that do not fit, and those get no caption either.
            continue
        width = text_width(layout)
        units = _split_wide(_timed_units(text, timing, cjk=cjk), font, width)
        cues.extend(_chunk(units, font, width))
    return _settle(cues, voiceover.duration), layout


def drawable_text(text: str, face: FontFace, size: int) -> str:
    """Return `text` without the characters `face` has no glyph for, such as most emoji."""
    kept = []
    dropped = False
    for char in text:
        if char in _ALWAYS_DROP or unicodedata.category(char) in ("Cs", "Co", "Cn"):
            dropped = True
            continue
        if char.isspace() or char.isascii() or _has_glyph(str(face.path), face.index, size, char):
            kept.append(char)
        else:
            dropped = True
    drawable = re.sub(r"\s+", " ", "".join(kept)).strip()
    if dropped:
        # "at zuribrew.ch 🥤." must not leave "at zuribrew.ch ." behind.
        drawable = re.sub(r" (?=[.,!?;:…])", "", drawable)
    return drawable


@functools.lru_cache(maxsize=4096)
def _has_glyph(path: str, index: int, size: int, char: str) -> bool:
    font = ImageFont.truetype(path, size=min(size, 48), index=index)
    return _render(font, char) != _render(font, "\U0010fffd")


def _render(font: ImageFont.FreeTypeFont, text: str) -> bytes:
    image = Image.new("L", (128, 128))
    ImageDraw.Draw(image).text((8, 8), text, font=font, fill=255)
    return image.tobytes()


def _guess_timing(index: int, voiceover: Voiceover, count: int) -> LineTiming:
    """Return an even share of the voiceover's length, for a voiceover without line timings."""
    span = voiceover.duration / max(count, 1)
    return LineTiming(index, index * span, (index + 1) * span, ())


def _tokens(text: str, *, cjk: bool) -> list[tuple[str, bool]]:
    """Split written text into (token, glue) pairs; CJK characters become one token each."""
    tokens: list[tuple[str, bool]] = []
    for word in text.split(" "):
        if not word:
            continue
        if not cjk:
            tokens.append((word, False))
            continue
        first = True
        for char in word:
            if tokens and not first and (char in _NO_LINE_START or not (is_cjk(char) or is_cjk(tokens[-1][0][-1]))):
                # Closing punctuation and runs of Latin letters stay with the previous token.
                previous, glue = tokens[-1]
                tokens[-1] = (previous + char, glue)
            else:
                tokens.append((char, not first))
            first = False
    return tokens


def _normal(word: str) -> str:
    return re.sub(r"[\W_]+", "", word.lower())


def _timed_units(text: str, timing: LineTiming, *, cjk: bool) -> list[_Unit]:
    tokens = _tokens(text, cjk=cjk)
    if not tokens:
        return []
    times: list[tuple[float, float] | None] = [None] * len(tokens)
    words = timing.words
    if len(words) == len(tokens):
        times = [(word.start, word.end) for word in words]
    elif words:
        matcher = difflib.SequenceMatcher(a=[_normal(t) for t, _ in tokens], b=[_normal(w.text) for w in words], autojunk=False)
        for block in matcher.get_matching_blocks():
            for offset in range(block.size):
                word = words[block.b + offset]
                times[block.a + offset] = (word.start, word.end)
    return [_Unit(text, start, end, glue) for (text, glue), (start, end) in zip(tokens, _fill_gaps(tokens, times, timing))]


def _fill_gaps(tokens: list[tuple[str, bool]], times: list[tuple[float, float] | None], timing: LineTiming) -> list[tuple[float, float]]:
    """Give tokens without a matched word a share of the time between their matched neighbours, by length."""
    filled: list[tuple[float, float]] = []
    index = 0
    while index < len(tokens):
        known = times[index]
        if known is not None:
            filled.append(known)
            index += 1
            continue
        run_end = index
        while run_end < len(tokens) and times[run_end] is None:
            run_end += 1
        left = filled[-1][1] if filled else timing.start
        following = times[run_end] if run_end < len(tokens) else None
        right = following[0] if following is not None else timing.end
        right = max(right, left)
        lengths = np.array([len(tokens[i][0]) for i in range(index, run_end)], dtype=float)
        edges = left + (right - left) * np.concatenate([[0.0], np.cumsum(lengths)]) / lengths.sum()
        filled.extend((float(edges[i]), float(edges[i + 1])) for i in range(lengths.size))
        index = run_end
    return filled


def _split_wide(units: list[_Unit], font: ImageFont.FreeTypeFont, width: int) -> list[_Unit]:
    """Break any token wider than a caption line into pieces that fit, preferring URL separators."""
    out: list[_Unit] = []
    for unit in units:
        if font.getlength(unit.text) <= width:
            out.append(unit)
            continue
        pieces = _pieces(unit.text, font, width)
        total = sum(len(piece) for piece in pieces)
        start = unit.start
        for number, piece in enumerate(pieces):
            end = start + (unit.end - unit.start) * len(piece) / total
            out.append(_Unit(piece, start, end, unit.glue if number == 0 else True))
            start = end
    return out


def _pieces(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    pieces: list[str] = []
    rest = text
    while rest:
        count = 1
        while count < len(rest) and font.getlength(rest[: count + 1]) <= width:
            count += 1
        if count < len(rest):
            breaks = [i + 1 for i in range(count) if rest[i] in _BREAK_AFTER]
            if breaks and breaks[-1] >= count // 3:
                count = breaks[-1]
        pieces.append(rest[:count])
        rest = rest[count:]
    return pieces


def _join(units: list[_Unit]) -> str:
    return "".join(unit.text if unit.glue or number == 0 else " " + unit.text for number, unit in enumerate(units))


def wrap_units(units: list[_Unit], font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Wrap units greedily into lines no wider than `width` pixels."""
    lines: list[str] = []
    current = ""
    for unit in units:
        candidate = current + (unit.text if unit.glue or not current else " " + unit.text)
        if current and font.getlength(candidate) > width:
            lines.append(current)
            current = unit.text
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def _chunk(units: list[_Unit], font: ImageFont.FreeTypeFont, width: int) -> list[CaptionCue]:
    """Group one script line's units into cues of at most MAX_LINES lines and MAX_CUE_SECONDS."""
    cues: list[CaptionCue] = []
    groups: list[list[_Unit]] = []
    current: list[_Unit] = []
    for unit in units:
        candidate = current + [unit]
        fits = len(wrap_units(candidate, font, width)) <= MAX_LINES
        short = unit.end - candidate[0].start <= MAX_CUE_SECONDS
        if current and not (fits and short):
            cues.append(_cue(current, font, width))
            groups.append(current)
            current = [unit]
        else:
            current = candidate
    if current:
        tail = current
        merged = groups[-1] + tail if groups else []
        if merged and len(tail) <= 2 and len(wrap_units(merged, font, width)) <= MAX_LINES:
            # A word or two left over joins the cue before it rather than flashing up alone.
            cues[-1] = _cue(merged, font, width)
        else:
            cues.append(_cue(tail, font, width))
    return cues


def _cue(units: list[_Unit], font: ImageFont.FreeTypeFont, width: int) -> CaptionCue:
    return CaptionCue(units[0].start, units[-1].end, _join(units), tuple(wrap_units(units, font, width)))


def _settle(cues: list[CaptionCue], duration: float) -> tuple[CaptionCue, ...]:
    """Make cue times increase without overlaps, bridge short gaps and keep every cue inside [0, duration]."""
    settled: list[CaptionCue] = []
    minimum = 0.1
    for number, cue in enumerate(cues):
        following = cues[number + 1].start if number + 1 < len(cues) else duration
        start = max(cue.start, settled[-1].end if settled else 0.0, 0.0)
        start = min(start, max(duration - minimum, 0.0))
        end = cue.end + HOLD_SECONDS
        if following - cue.end < 1.0:
            end = following  # a short pause keeps the caption up until the next one
        end = min(max(end, start + minimum), max(following, start + minimum), duration)
        settled.append(CaptionCue(round(start, 3), round(end, 3), cue.text, cue.lines))
    return tuple(cue for cue in settled if cue.end > cue.start)


def _timestamp(seconds: float, separator: str) -> str:
    millis = int(round(max(seconds, 0.0) * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def write_srt(cues: tuple[CaptionCue, ...] | list[CaptionCue], path: Path) -> Path:
    """Write cues as SubRip: numbered blocks, comma before the milliseconds, UTF-8."""
    blocks = [
        f"{number}\n{_timestamp(cue.start, ',')} --> {_timestamp(cue.end, ',')}\n" + "\n".join(cue.lines or (cue.text,))
        for number, cue in enumerate(cues, start=1)
    ]
    path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    return path


def write_vtt(cues: tuple[CaptionCue, ...] | list[CaptionCue], path: Path) -> Path:
    """Write cues as WebVTT: a WEBVTT header, dot before the milliseconds, UTF-8."""
    blocks = ["WEBVTT"]
    for cue in cues:
        text = "\n".join(cue.lines or (cue.text,))
        # "-->" may not appear in cue text, and "&" and "<" must be escaped.
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        blocks.append(f"{_timestamp(cue.start, '.')} --> {_timestamp(cue.end, '.')}\n{text}")
    path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    return path
