"""Turn written ad copy into the text a speech engine should read.

Captions keep the written text; only the voice reads the result of `to_spoken`.
English gets numbers, prices, times, abbreviations, initialisms, URLs and
e-mail addresses spelled out, because Piper and espeak-ng guess badly at
"NYC" (read as one syllable) or a lone "A" (read as the article). Chinese is
turned into tone-numbered pinyin and Japanese into hiragana, because the Han
dictionaries in Debian's espeak-ng 1.51 are incomplete. Its "cmn-latn-pinyin"
and "ja" voices read those forms in full.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Callable

from num2words import num2words

logger = logging.getLogger(__name__)

# Abbreviations with a period, read as the full word. "St." is handled apart
# because it is "Saint" before a name and "Street" after one.
_ABBREVIATIONS: dict[str, str] = {
    "Dr.": "Doctor",
    "Mr.": "Mister",
    "Mrs.": "Missus",
    "Ms.": "Miz",
    "Prof.": "Professor",
    "Jr.": "Junior",
    "Sr.": "Senior",
    "Inc.": "Incorporated",
    "Ltd.": "Limited",
    "Co.": "Company",
    "Corp.": "Corporation",
    "Ave.": "Avenue",
    "Blvd.": "Boulevard",
    "vs.": "versus",
    "etc.": "et cetera",
    "e.g.": "for example",
    "i.e.": "that is",
    "approx.": "approximately",
    "est.": "established",
    "hrs.": "hours",
    "mins.": "minutes",
    "Mon.": "Monday",
    "Fri.": "Friday",
}

# Tokens with a fixed reading, matched case-sensitively.
_FIXED_READINGS: dict[str, str] = {
    "SaaS": "sass",
    "PaaS": "pass",
    "IaaS": "eye-as",
    "B2B": "B-to-B",
    "B2C": "B-to-C",
    "D2C": "D-to-C",
    "P2P": "peer-to-peer",
    "iOS": "eye-O-S",
    "macOS": "mac-O-S",
    "OK": "okay",
    "AM": "A-M",
    "PM": "P-M",
    "w/": "with",
    "w/o": "without",
    "24/7": "twenty-four seven",
    "1080p": "ten-eighty-P",
    "720p": "seven-twenty-P",
    "FAQ": "F-A-Q",
    "FAQs": "F-A-Qs",
}

# All-caps words read as words rather than letter by letter.
_ACRONYMS_READ_AS_WORDS = frozenset(
    {"NASA", "NATO", "FIFA", "UNESCO", "UNICEF", "LASER", "SCUBA", "GIF", "JPEG", "PIN", "SIM", "ASAP", "COVID", "OPEC"}
)

# Initialisms that stay spelled out even inside all-caps shouting ("BIG SALE IN NYC").
_KNOWN_INITIALISMS = frozenset(
    {
        "AI", "NYC", "USA", "UK", "EU", "US", "LA", "SF", "CEO", "CTO", "CFO", "CMO", "COO", "SEO", "ROI", "API",
        "UX", "UI", "CRM", "ERP", "KPI", "HR", "PR", "TV", "PC", "DIY", "VIP", "USB", "GPS", "LED", "HD", "UHD",
        "SUV", "EV", "AR", "VR", "ML", "LLM", "GPU", "CPU", "SMS", "DM", "FYI", "SQL", "AWS", "IT", "IoT", "SDK",
        "CTA", "MVP", "QA", "BBQ", "NFL", "NBA", "HIIT", "DNA", "ATM", "IRS", "FDA", "SMB", "B2B",
    }
)

_CURRENCY_NAMES: dict[str, tuple[str, str, str, str]] = {
    # symbol: (singular, plural, cent singular, cent plural)
    "$": ("dollar", "dollars", "cent", "cents"),
    "€": ("euro", "euros", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "¥": ("yen", "yen", "sen", "sen"),
    "₹": ("rupee", "rupees", "paisa", "paise"),
    "₩": ("won", "won", "jeon", "jeon"),
}
_SCALE_WORDS = {"k": "thousand", "m": "million", "b": "billion", "bn": "billion", "t": "trillion"}

_NUMBER = r"\d+(?:,\d{3})*(?:\.\d+)?"
_URL_RE = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|io|ai|net|org|co|app|dev|tech|store|shop)(?:/[^\s<>\"']*)?\b", re.IGNORECASE)
_EMAIL_RE = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_MONEY_RE = re.compile(
    rf"([$€£¥₹₩])\s?({_NUMBER})(?:\s?(bn|[kKmMbBtT]\b|thousand|million|billion|trillion))?"
)
_PERCENT_RE = re.compile(rf"({_NUMBER})\s?%")
_TIME_RE = re.compile(r"\b(\d{1,2}):(\d{2})\s*(?:([AaPp])\.?[Mm]\.?)?(?![\w:])")
_HOUR_MERIDIEM_RE = re.compile(r"\b(\d{1,2})\s*([AaPp])\.?[Mm]\.?(?!\w)")
_ORDINAL_RE = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b", re.IGNORECASE)
_DECADE_RE = re.compile(r"\b(1[0-9]|20)?([1-9]0)[’']?s\b")
_YEAR_RE = re.compile(r"(?<![\d.,$€£])\b(1[5-9]\d\d|20\d\d)\b(?![.,]?\d|%)")
_MULTIPLIER_RE = re.compile(r"\b(\d+(?:\.\d+)?)[xX]\b")
_RANGE_RE = re.compile(rf"\b({_NUMBER})\s?[-–]\s?({_NUMBER})\b")
_PLAIN_NUMBER_RE = re.compile(rf"(?<![\w.]){_NUMBER}(?![\w])")
_MIXED_TOKEN_RE = re.compile(r"\b(?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z0-9]+\b")
_CAPS_TOKEN_RE = re.compile(r"\b([A-Z][A-Za-z]*[A-Z])(s?)\b|\b([A-Z]{2,})(s?)\b")
_HASHTAG_RE = re.compile(r"#(\d+)")


def to_spoken(text: str, language: str = "en") -> str:
    """Return `text` rewritten for a speech engine to read in `language`.

    English ("en", and any language without its own rules) expands numbers,
    ordinals, years, prices, percentages, times, abbreviations, initialisms,
    URLs and e-mail addresses and drops emoji and symbols. "zh" returns
    tone-numbered pinyin, "ja" hiragana, "ko" Hangul with numbers in words.
    """
    base = language.split("-")[0].lower()
    converter: Callable[[str], str] = {"zh": _chinese, "ja": _japanese, "ko": _korean}.get(base, _english)
    return _collapse_spaces(converter(text))


def strip_symbols(text: str) -> str:
    """Remove emoji, pictographs, dingbats and the joiners and selectors that build them."""
    kept: list[str] = []
    for char in text:
        category = unicodedata.category(char)
        if category in ("So", "Cs", "Co", "Cn") or char in "\u200d\ufe0e\ufe0f\u20e3":
            continue
        if category == "Sk" and char not in "^`":
            continue
        kept.append(char)
    return "".join(kept)


# English


def _english(text: str) -> str:
    text = unicodedata.normalize("NFKC", text.replace("’", "'"))
    text = strip_symbols(text)
    text = _EMAIL_RE.sub(lambda m: _read_address(m.group(0), email=True), text)
    text = _URL_RE.sub(lambda m: _read_address(m.group(0), email=False), text)
    text = _expand_abbreviations(text)
    for written, spoken in _FIXED_READINGS.items():
        text = re.sub(rf"(?<![\w/]){re.escape(written)}(?![\w/])", spoken, text)
    text = _MONEY_RE.sub(_read_money, text)
    text = _PERCENT_RE.sub(lambda m: f"{_cardinal(m.group(1))} percent", text)
    text = _TIME_RE.sub(_read_clock_time, text)
    text = _HOUR_MERIDIEM_RE.sub(lambda m: f"{_cardinal(m.group(1))} {m.group(2).upper()}-M", text)
    text = _ORDINAL_RE.sub(lambda m: num2words(int(m.group(1)), to="ordinal"), text)
    text = _DECADE_RE.sub(_read_decade, text)
    text = _YEAR_RE.sub(lambda m: num2words(int(m.group(1)), to="year"), text)
    text = _MULTIPLIER_RE.sub(lambda m: f"{_cardinal(m.group(1))} times", text)
    text = _HASHTAG_RE.sub(lambda m: f"number {_cardinal(m.group(1))}", text)
    text = _RANGE_RE.sub(lambda m: f"{_cardinal(m.group(1))} to {_cardinal(m.group(2))}", text)
    text = _MIXED_TOKEN_RE.sub(lambda m: _read_mixed_token(m.group(0)), text)
    text = _PLAIN_NUMBER_RE.sub(lambda m: _cardinal(m.group(0)), text)
    text = _spell_initialisms(text)
    return _replace_symbols(text)


def _expand_abbreviations(text: str) -> str:
    text = re.sub(r"\bSt\.(?=\s+[A-Z])", "Saint", text)
    text = re.sub(r"(?<=[a-z] )St\.", "Street", text)
    text = re.sub(r"\bNo\.\s?(?=\d)", "number ", text)
    for written, spoken in _ABBREVIATIONS.items():
        text = re.sub(rf"(?<![\w.]){re.escape(written)}", spoken, text)
    return text


def _cardinal(number: str) -> str:
    """Read "10,000" or "3.5" as words; digit strings of seven or more digits are read digit by digit."""
    clean = number.replace(",", "")
    if "." in clean:
        whole, fraction = clean.split(".", 1)
        digits = " ".join(num2words(int(digit)) for digit in fraction)
        return f"{num2words(int(whole or '0'))} point {digits}"
    if len(clean) >= 7 and "," not in number:
        return " ".join(num2words(int(digit)) for digit in clean)
    return str(num2words(int(clean)))


def _read_money(match: re.Match[str]) -> str:
    singular, plural, cent, cents = _CURRENCY_NAMES[match.group(1)]
    amount = match.group(2).replace(",", "")
    scale = match.group(3)
    if scale:
        scale_word = _SCALE_WORDS.get(scale.lower(), scale.lower())
        return f"{_cardinal(amount)} {scale_word} {plural}"
    whole, _, fraction = amount.partition(".")
    whole_value = int(whole or "0")
    unit = singular if whole_value == 1 else plural
    spoken = f"{num2words(whole_value)} {unit}"
    if fraction:
        cent_value = int((fraction + "0")[:2])
        if cent_value:
            cent_unit = cent if cent_value == 1 else cents
            spoken = f"{spoken} and {num2words(cent_value)} {cent_unit}" if whole_value else f"{num2words(cent_value)} {cent_unit}"
    return spoken


def _read_clock_time(match: re.Match[str]) -> str:
    hour, minute, meridiem = int(match.group(1)), int(match.group(2)), match.group(3)
    if hour > 23 or minute > 59:
        return match.group(0)
    if minute == 0:
        spoken = f"{num2words(hour)} o'clock" if not meridiem else num2words(hour)
    elif minute < 10:
        spoken = f"{num2words(hour)} oh {num2words(minute)}"
    else:
        spoken = f"{num2words(hour)} {num2words(minute)}"
    if meridiem:
        spoken += f" {meridiem.upper()}-M"
    return spoken


def _read_decade(match: re.Match[str]) -> str:
    century, decade = match.group(1), match.group(2)
    if century:
        words = str(num2words(int(century + decade), to="year"))
    else:
        words = str(num2words(int(decade)))
    return words[:-1] + "ies" if words.endswith("y") else words + "s"


def _read_mixed_token(token: str) -> str:
    """Read a token mixing letters and digits ("4K", "A2I", "5G", "H2O") part by part."""
    parts = re.findall(r"\d+|[A-Za-z]+", token)
    spoken: list[str] = []
    for part in parts:
        if part.isdigit():
            spoken.append(_cardinal(part))
        elif part.isupper() or len(part) == 1:
            spoken.append("-".join(part.upper()))
        else:
            spoken.append(part)
    return "-".join(spoken)


def _spell_initialisms(text: str) -> str:
    words = re.findall(r"[A-Za-z]+", text)
    caps_words = [word for word in words if len(word) > 1 and word.isupper()]
    shouting = len(words) >= 3 and len(caps_words) >= 0.6 * len(words)

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        plural = token.endswith("s") and token[:-1].isupper() and len(token) > 2
        core = token[:-1] if plural else token
        if not (core.isupper() and len(core) >= 2) and core not in _KNOWN_INITIALISMS:
            return token
        if core in _ACRONYMS_READ_AS_WORDS:
            return token.lower()
        if core in _KNOWN_INITIALISMS:
            return "-".join(core.upper()) + ("s" if plural else "")
        if shouting or (len(core) >= 4 and re.search(r"[AEIOU]", core) and not plural):
            # Shouted copy ("BIG SALE NOW") and pronounceable long words are read as words.
            return token.lower()
        return "-".join(core) + ("s" if plural else "")

    return re.sub(r"\b[A-Za-z][A-Za-z]*\b", replace, text)


def _read_address(address: str, *, email: bool) -> str:
    """Read a URL or e-mail address: "www.barrios.ai/start" becomes "barrios dot A-I slash start"."""
    address = re.sub(r"^(?:https?://)?(?:www\.)?", "", address, flags=re.IGNORECASE).rstrip("/.,")
    pieces: list[str] = []
    for piece in re.split(r"([./@_-])", address):
        if piece == ".":
            pieces.append("dot")
        elif piece == "/":
            pieces.append("slash")
        elif piece == "@":
            pieces.append("at")
        elif piece == "_":
            pieces.append("underscore")
        elif piece == "-":
            pieces.append("dash")
        elif piece:
            pieces.append(_read_address_word(piece))
    return " ".join(pieces)


def _read_address_word(word: str) -> str:
    if word.isdigit():
        return _cardinal(word)
    if len(word) <= 2 and word.lower() not in ("go", "me", "my", "on", "up", "us"):
        return "-".join(word.upper())
    return word.lower()


def _replace_symbols(text: str) -> str:
    replacements = {
        "&": " and ",
        "+": " plus ",
        "=": " equals ",
        "@": " at ",
        "#": " ",
        "*": " ",
        "~": " ",
        "|": ", ",
        "_": " ",
        "—": ", ",
        "–": ", ",
        "…": "...",
        "/": " or ",
        "<": " ",
        ">": " ",
        "[": " ",
        "]": " ",
        "{": " ",
        "}": " ",
        "^": " ",
        "`": " ",
        "\\": " ",
        "%": " percent",
        "°": " degrees",
    }
    for symbol, spoken in replacements.items():
        text = text.replace(symbol, spoken)
    return re.sub(r"\s+([,.!?;:])", r"\1", text)


def _collapse_spaces(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# Chinese

_CHINESE_DIGITS = "零一二三四五六七八九"
_FULLWIDTH_PUNCTUATION = str.maketrans({"，": ",", "。": ".", "！": "!", "？": "?", "；": ";", "：": ":", "、": ",",
                                        "「": "", "」": "", "『": "", "』": "", "“": "", "”": "", "《": "", "》": "",
                                        "（": "(", "）": ")", "～": " "})


def chinese_number(number: str) -> str:
    """Write an Arabic number ("12,500", "3.5") in Chinese numerals ("一万二千五百", "三点五")."""
    clean = number.replace(",", "")
    whole, _, fraction = clean.partition(".")
    spoken = _chinese_integer(int(whole or "0"))
    if fraction:
        spoken += "点" + "".join(_CHINESE_DIGITS[int(digit)] for digit in fraction)
    return spoken


def _chinese_integer(value: int) -> str:
    if value == 0:
        return "零"
    groups: list[int] = []
    while value:
        groups.append(value % 10000)
        value //= 10000
    if len(groups) > 3:
        return "".join(_CHINESE_DIGITS[int(digit)] for digit in str(sum(g * 10000**i for i, g in enumerate(groups))))
    big_units = ["", "万", "亿"]
    spoken = ""
    need_zero = False
    for position in range(len(groups) - 1, -1, -1):
        group = groups[position]
        if group == 0:
            need_zero = bool(spoken)
            continue
        if spoken and (need_zero or group < 1000):
            spoken += "零"
        spoken += _chinese_group(group) + big_units[position]
        need_zero = False
    if spoken.startswith("一十"):
        spoken = spoken[1:]
    return spoken


def _chinese_group(value: int) -> str:
    units = ["千", "百", "十", ""]
    digits = f"{value:04d}"
    spoken = ""
    zero_pending = False
    for digit, unit in zip(digits, units):
        if digit == "0":
            zero_pending = bool(spoken)
            continue
        if zero_pending:
            spoken += "零"
            zero_pending = False
        spoken += _CHINESE_DIGITS[int(digit)] + unit
    return spoken


def _chinese_numbers_in_text(text: str) -> str:
    text = re.sub(r"(\d{4})\s?年", lambda m: "".join(_CHINESE_DIGITS[int(d)] for d in m.group(1)) + "年", text)
    text = re.sub(rf"({_NUMBER})\s?%", lambda m: "百分之" + chinese_number(m.group(1)), text)
    text = re.sub(rf"[$＄]\s?({_NUMBER})", lambda m: chinese_number(m.group(1)) + "美元", text)
    text = re.sub(rf"[¥￥]\s?({_NUMBER})", lambda m: chinese_number(m.group(1)) + "元", text)
    return re.sub(_NUMBER, lambda m: chinese_number(m.group(0)), text)


def _chinese(text: str) -> str:
    from pypinyin import Style, lazy_pinyin

    text = _chinese_numbers_in_text(strip_symbols(unicodedata.normalize("NFKC", text)))
    text = text.translate(_FULLWIDTH_PUNCTUATION)
    syllables = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True)
    return " ".join(syllables).replace(" ,", ",").replace(" .", ".").replace(" !", "!").replace(" ?", "?")


# Japanese


@functools.lru_cache(maxsize=1)
def _kakasi() -> object:
    import pykakasi

    return pykakasi.kakasi()


def _japanese(text: str) -> str:
    text = strip_symbols(unicodedata.normalize("NFKC", text))
    text = re.sub(rf"({_NUMBER})\s?%", lambda m: f"{m.group(1)}パーセント", text)
    text = re.sub(rf"[¥￥]\s?({_NUMBER})", lambda m: f"{m.group(1)}円", text)
    text = re.sub(rf"\$\s?({_NUMBER})", lambda m: f"{m.group(1)}ドル", text)
    text = re.sub(r"\d+(?:,\d{3})*", lambda m: str(num2words(int(m.group(0).replace(",", "")), lang="ja")), text)
    converter = _kakasi()
    items = converter.convert(text)  # type: ignore[attr-defined]
    return "".join(str(item["hira"]) for item in items).translate(_FULLWIDTH_PUNCTUATION)


# Korean


def _korean(text: str) -> str:
    text = strip_symbols(unicodedata.normalize("NFKC", text))
    text = re.sub(rf"({_NUMBER})\s?%", lambda m: f"{m.group(1)} 퍼센트", text)
    text = re.sub(rf"₩\s?({_NUMBER})", lambda m: f"{m.group(1)}원", text)
    text = re.sub(rf"\$\s?({_NUMBER})", lambda m: f"{m.group(1)}달러", text)
    text = re.sub(r"\d+(?:,\d{3})*", lambda m: str(num2words(int(m.group(0).replace(",", "")), lang="ko")), text)
    return text.translate(_FULLWIDTH_PUNCTUATION)
