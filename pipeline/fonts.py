"""Font files for titles and captions, with a fallback that covers CJK text.

Fonts come from the system packages that scripts/setup.sh installs:
fonts-dejavu-core for Latin, Greek and Cyrillic, fonts-noto-cjk for Chinese,
Japanese and Korean. Nothing is looked up at import time.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from PIL import ImageFont

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
_NOTO_CJK = Path("/usr/share/fonts/opentype/noto")

# Face index of each language inside the Noto Sans CJK collection files.
_CJK_FACE_INDEX = {"ja": 0, "ko": 1, "zh": 2, "zh-hant": 3}


@dataclass(frozen=True)
class FontFace:
    """One face of a font file: the path and, for a collection (.ttc), the face index."""

    path: Path
    index: int = 0

    def load(self, size: int) -> ImageFont.FreeTypeFont:
        return _load(str(self.path), self.index, size)


@functools.lru_cache(maxsize=64)
def _load(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size=size, index=index)


def is_cjk(char: str) -> bool:
    """Return True for a Han, Kana, Hangul or CJK punctuation character."""
    name = unicodedata.name(char, "")
    return name.startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "FULLWIDTH", "IDEOGRAPHIC"))


def detect_cjk_language(text: str) -> str | None:
    """Return "ja", "ko" or "zh" when the text is mostly CJK, else None."""
    kana = hangul = han = 0
    for char in text:
        name = unicodedata.name(char, "")
        if name.startswith(("HIRAGANA", "KATAKANA")):
            kana += 1
        elif name.startswith("HANGUL"):
            hangul += 1
        elif name.startswith("CJK UNIFIED"):
            han += 1
    if kana:
        return "ja"
    if hangul:
        return "ko"
    if han:
        return "zh"
    return None


def font_for(text: str, *, bold: bool = False, language: str | None = None) -> FontFace:
    """Return a face that has glyphs for `text`: DejaVu Sans, or Noto Sans CJK for CJK text.

    Raises FileNotFoundError naming the missing package when the font files are absent.
    """
    cjk_language = language if language in _CJK_FACE_INDEX else detect_cjk_language(text)
    if cjk_language is not None:
        path = _NOTO_CJK / ("NotoSansCJK-Bold.ttc" if bold else "NotoSansCJK-Regular.ttc")
        package = "fonts-noto-cjk"
        face = FontFace(path, _CJK_FACE_INDEX[cjk_language])
    else:
        path = _DEJAVU / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
        package = "fonts-dejavu-core"
        face = FontFace(path)
    if not path.is_file():
        raise FileNotFoundError(f"font file {str(path)!r} is missing; install it with: apt-get install {package}")
    return face
