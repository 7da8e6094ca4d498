"""Tests for pipeline.textnorm: what the voice reads for written ad copy."""

from __future__ import annotations

import re

import pytest

from pipeline.textnorm import chinese_number, strip_symbols, to_spoken


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        # Names, prices, initialisms and resolutions from a real brief.
        ("Dr. Smith in NYC", "Doctor Smith in N-Y-C"),
        ("only $49.99", "only forty-nine dollars and ninety-nine cents"),
        ("stunning 4K video", "stunning four-K video"),
        # Apostrophes and digits.
        ("Don't miss Joe's 5 deals", "Don't miss Joe's five deals"),
        ("2025's best laptop for students", "twenty twenty-five's best laptop for students"),
        # Emoji and percentages.
        ("Big sale 🔥🔥 50% off!", "Big sale fifty percent off!"),
        ("Barrios A2I builds AI for B2B SaaS", "Barrios A-two-I builds A-I for B-to-B sass"),
        ("$5 a month", "five dollars a month"),
        ("$1 today", "one dollar today"),
        ("save $1.5M", "save one point five million dollars"),
        ("from £20 or €5", "from twenty pounds or five euros"),
        ("open 9:30am to 5 PM", "open nine thirty A-M to five P-M"),
        ("at 10:00 sharp", "at ten o'clock sharp"),
        ("24/7 support", "twenty-four seven support"),
        ("3x faster", "three times faster"),
        ("the 1st and 22nd", "the first and twenty-second"),
        ("since 1998", "since nineteen ninety-eight"),
        ("back to the 90s", "back to the nineties"),
        ("10,000 users", "ten thousand users"),
        ("3.5 stars", "three point five stars"),
        ("5-10 days", "five to ten days"),
        ("the CEO loves our APIs", "the C-E-O loves our A-P-Is"),
        ("BIG SALE TODAY IN NYC", "big sale today in N-Y-C"),
        ("St. Louis on Main St.", "Saint Louis on Main Street"),
        ("built on NASA data", "built on nasa data"),
        ("rock & roll", "rock and roll"),
        ("iOS app with 5G", "eye-O-S app with five-G"),
    ],
)
def test_to_spoken_english_table(written: str, spoken: str) -> None:
    assert to_spoken(written) == spoken


def test_to_spoken_reads_urls_and_emails() -> None:
    assert to_spoken("Visit https://www.barrios.ai/start") == "Visit barrios dot A-I slash start"
    assert to_spoken("Mail hello@brightly.com") == "Mail hello at brightly dot com"


def test_to_spoken_long_digit_string_read_digit_by_digit() -> None:
    assert to_spoken("Call 5551234") == "Call five five five one two three four"


@pytest.mark.parametrize(
    "written",
    ["Big sale 🔥🔥 50% off!", "Love it ❤️👍🏽", "Family 👨‍👩‍👧 time", "Keycap 1️⃣ deal", "Trademark™ and ©"],
)
def test_to_spoken_leaves_no_emoji_or_symbols(written: str) -> None:
    spoken = to_spoken(written)
    assert re.fullmatch(r"[A-Za-z0-9 ,.!?'\-]*", spoken), spoken
    assert spoken.strip()


def test_strip_symbols_keeps_letters_and_punctuation() -> None:
    assert strip_symbols("Joe's café — 50% off! 🔥") == "Joe's café — 50% off! "


def test_to_spoken_collapses_whitespace() -> None:
    assert to_spoken("  many    spaces \n here ") == "many spaces here"


@pytest.mark.parametrize(
    ("number", "chinese"),
    [("0", "零"), ("10", "十"), ("15", "十五"), ("105", "一百零五"), ("1005", "一千零五"),
     ("12500", "一万二千五百"), ("1299", "一千二百九十九"), ("3.5", "三点五"), ("200000000", "二亿")],
)
def test_chinese_number_table(number: str, chinese: str) -> None:
    assert chinese_number(number) == chinese


def test_to_spoken_chinese_is_tone_numbered_pinyin() -> None:
    spoken = to_spoken("智能咖啡机，立省50%！", "zh")
    assert spoken == "zhi4 neng2 ka1 fei1 ji1, li4 sheng3 bai3 fen1 zhi1 wu3 shi2!"


def test_to_spoken_japanese_is_hiragana() -> None:
    spoken = to_spoken("今すぐ注文、50%オフ", "ja")
    assert re.fullmatch(r"[\u3041-\u309f\u30fc,]+", spoken), spoken
    assert spoken.startswith("いますぐちゅうもん")
    assert "ごじゅうぱーせんと" in spoken


def test_to_spoken_korean_reads_numbers_in_hangul() -> None:
    assert to_spoken("50% 할인, 2025년!", "ko") == "오십 퍼센트 할인, 이천이십오년!"


def test_to_spoken_unknown_language_uses_english_rules() -> None:
    assert to_spoken("Only $5", "fr") == "Only five dollars"
