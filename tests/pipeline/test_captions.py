"""Captions: written text, word timing, fit inside the safe area, CJK and emoji, valid SRT and VTT."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline.captions import build_captions, caption_font_size, write_srt, write_vtt
from pipeline.models import CaptionCue, LineTiming, PlatformPreset, Script, ScriptLine, Voiceover, WordTiming
from pipeline.platforms import get_preset

LONG_SENTENCE = (
    "Our platform connects every sales, marketing and support workflow into one secure automated "
    "system that scales with your startup from the very first customer onward."
)
URL_LINE = "Visit https://barrios-a2i.example.com/enterprise/automation?ref=launch-2025 to start."


def voiceover_for(lines: list[str], spoken: list[list[str]] | None = None, seconds_per_word: float = 0.32) -> Voiceover:
    """Build word timings like a voice engine would, from the spoken words of each line."""
    timings = []
    clock = 0.4
    for index, text in enumerate(lines):
        words = []
        for word in spoken[index] if spoken else text.split():
            words.append(WordTiming(word, clock, clock + seconds_per_word * 0.85))
            clock += seconds_per_word
        timings.append(LineTiming(index, words[0].start, words[-1].end, tuple(words)))
        clock += 0.6
    return Voiceover(Path("voice.wav"), clock + 0.5, 22050, "test:voice", tuple(timings))


def script_of(lines: list[str]) -> Script:
    return Script(tuple(ScriptLine("hook", text, text) for text in lines), 150.0)


def safe_area(preset: PlatformPreset) -> tuple[float, float, float, float]:
    top, right, bottom, left = preset.safe_margins
    return preset.width * left, preset.height * top, preset.width * (1 - right), preset.height * (1 - bottom)


def assert_fits(cues: tuple[CaptionCue, ...], layout: object, preset: PlatformPreset) -> None:
    left, top, width, height = layout.box  # type: ignore[attr-defined]
    safe_left, safe_top, safe_right, safe_bottom = safe_area(preset)
    assert left >= safe_left
    assert top >= safe_top
    assert left + width <= safe_right
    assert top + height <= safe_bottom
    font = ImageFont.truetype(str(layout.font_path), layout.font_size, index=layout.font_index)  # type: ignore[attr-defined]
    line_height = layout.font_size * layout.line_spacing  # type: ignore[attr-defined]
    for cue in cues:
        assert 1 <= len(cue.lines) <= 2, cue
        assert layout.font_size + line_height * (len(cue.lines) - 1) <= height  # type: ignore[attr-defined]
        for line in cue.lines:
            assert line.strip()
            # Half the font size on each side is left for the renderer's backing.
            assert font.getlength(line) + layout.font_size <= width, (line, font.getlength(line), width)  # type: ignore[attr-defined]


@pytest.mark.parametrize("platform", ["youtube_1080p", "tiktok", "instagram", "youtube_4k"])
@pytest.mark.parametrize("text", [LONG_SENTENCE, URL_LINE], ids=["25_words", "60_char_url"])
def test_captions_fit_safe_area(platform: str, text: str) -> None:
    preset = get_preset(platform)
    cues, layout = build_captions(voiceover_for([text]), script_of([text]), preset, language="en")
    assert_fits(cues, layout, preset)
    drawn = "".join("".join(cue.lines) for cue in cues).replace(" ", "")
    assert drawn == text.replace(" ", ""), "a long token was cut instead of wrapped"


def test_long_sentence_has_25_words() -> None:
    assert len(LONG_SENTENCE.split()) == 25


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("Don't miss Joe's 5 deals", ["Don't", "miss", "Joe's", "five", "deals"]),
        ("2025's best laptop for students", ["twenty", "twenty-five's", "best", "laptop", "for", "students"]),
        (
            "Dr. Smith says NYC loves 4K screens for $49.99.",
            ["Doctor", "Smith", "says", "N", "Y", "C", "loves", "four", "K", "screens", "for", "forty-nine",
             "dollars", "and", "ninety-nine", "cents"],
        ),
    ],
)
def test_captions_keep_written_text(written: str, spoken: list[str]) -> None:
    cues, _ = build_captions(voiceover_for([written], [spoken]), script_of([written]), get_preset("youtube_1080p"), language="en")
    assert " ".join(cue.text for cue in cues) == written
    assert cues[0].start == pytest.approx(0.4)


def test_captions_follow_spoken_words() -> None:
    lines = [LONG_SENTENCE, "Book a demo today."]
    voiceover = voiceover_for(lines)
    cues, _ = build_captions(voiceover, script_of(lines), get_preset("tiktok"), language="en")
    assert len(cues) >= 4, "a long sentence should change captions as it is spoken"
    words = [word for line in voiceover.lines for word in line.words]
    position = 0
    for cue in cues:
        count = len(cue.text.split())
        first, last = words[position], words[position + count - 1]
        assert cue.start == pytest.approx(first.start, abs=1e-3)
        assert cue.end >= last.end - 1e-3
        position += count
    assert " ".join(cue.text for cue in cues) == " ".join(lines)


def test_captions_leave_out_emoji() -> None:
    text = "Big sale 🔥🔥 50% off! 👍🏽"
    voiceover = voiceover_for([text], [["Big", "sale", "fifty", "percent", "off"]])
    cues, layout = build_captions(voiceover, script_of([text]), get_preset("youtube_1080p"), language="en")
    assert " ".join(cue.text for cue in cues) == "Big sale 50% off!"
    assert_fits(cues, layout, get_preset("youtube_1080p"))


def test_captions_close_gap_left_by_emoji() -> None:
    text = "Try a free can at zuribrew.ch 🥤. Cheers 🎉!"
    voiceover = voiceover_for([text], [["Try", "a", "free", "can", "at", "zuribrew", "dot", "ch", "Cheers"]])
    cues, _ = build_captions(voiceover, script_of([text]), get_preset("youtube_1080p"), language="en")
    assert " ".join(cue.text for cue in cues) == "Try a free can at zuribrew.ch. Cheers!"


def missing_glyphs(font: ImageFont.FreeTypeFont, text: str) -> list[str]:
    def draw(char: str) -> bytes:
        image = Image.new("L", (160, 160))
        ImageDraw.Draw(image).text((10, 10), char, font=font, fill=255)
        return image.tobytes()

    notdef = draw("\U0010fffd")
    return [char for char in set(text) if not char.isspace() and draw(char) == notdef]


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("zh", "人工智能自动化让初创企业拥有企业级基础设施。立即预约演示，体验未来的工作方式！"),
        ("ja", "AI自動化で、スタートアップにもエンタープライズ級の基盤を。今すぐデモを予約しましょう。"),
    ],
)
@pytest.mark.parametrize("platform", ["youtube_1080p", "tiktok"])
def test_captions_cjk(language: str, text: str, platform: str) -> None:
    preset = get_preset(platform)
    voiceover = voiceover_for([text], [list(re.sub(r"[、。，！]", "", text))], seconds_per_word=0.15)
    cues, layout = build_captions(voiceover, script_of([text]), preset, language=language)
    assert "NotoSansCJK" in layout.font_path.name
    assert "".join(cue.text for cue in cues) == text
    assert_fits(cues, layout, preset)
    font = ImageFont.truetype(str(layout.font_path), 48, index=layout.font_index)
    assert missing_glyphs(font, text) == []
    for cue in cues:
        for line in cue.lines:
            assert line[0] not in "、。，！", f"line starts with closing punctuation: {line!r}"


def test_font_size_scales_with_frame() -> None:
    assert caption_font_size(get_preset("youtube_4k")) == 2 * caption_font_size(get_preset("youtube_1080p"))
    small = PlatformPreset("small", 640, 360, 30, (0.05, 0.05, 0.08, 0.05))
    assert caption_font_size(small) < caption_font_size(get_preset("youtube_1080p"))


SRT_BLOCK = re.compile(r"^(\d+)\n(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})\n(.+)$", re.DOTALL)
VTT_TIMING = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})$")


def seconds(hours: str, minutes: str, secs: str, millis: str) -> float:
    return int(hours) * 3600 + int(minutes) * 60 + int(secs) + int(millis) / 1000


def parse_srt(text: str) -> list[tuple[float, float, str]]:
    cues = []
    for number, block in enumerate(text.strip().split("\n\n"), start=1):
        match = SRT_BLOCK.match(block)
        assert match, f"invalid SRT block: {block!r}"
        assert int(match.group(1)) == number
        cues.append((seconds(*match.group(2, 3, 4, 5)), seconds(*match.group(6, 7, 8, 9)), match.group(10)))
    return cues


def parse_vtt(text: str) -> list[tuple[float, float, str]]:
    blocks = text.strip().split("\n\n")
    assert blocks[0] == "WEBVTT"
    cues = []
    for block in blocks[1:]:
        timing, _, body = block.partition("\n")
        match = VTT_TIMING.match(timing)
        assert match, f"invalid VTT timing: {timing!r}"
        assert body and "-->" not in body
        cues.append((seconds(*match.group(1, 2, 3, 4)), seconds(*match.group(5, 6, 7, 8)), body))
    return cues


def test_srt_and_vtt_parse_back(tmp_path: Path) -> None:
    lines = [LONG_SENTENCE, URL_LINE, "Don't miss Joe's 5 deals & more <today>."]
    voiceover = voiceover_for(lines)
    cues, _ = build_captions(voiceover, script_of(lines), get_preset("tiktok"), language="en")
    srt = parse_srt(write_srt(cues, tmp_path / "c.srt").read_text(encoding="utf-8"))
    vtt = parse_vtt(write_vtt(cues, tmp_path / "c.vtt").read_text(encoding="utf-8"))
    assert len(srt) == len(vtt) == len(cues)
    for parsed in (srt, vtt):
        previous_end = 0.0
        for start, end, _ in parsed:
            assert 0.0 <= start < end <= voiceover.duration
            assert start >= previous_end - 1e-9, "cues overlap"
            previous_end = end
    assert srt[-1][2].replace("\n", " ").endswith("& more <today>.")
    assert vtt[-1][2].replace("\n", " ").endswith("&amp; more &lt;today&gt;.")


def test_captions_skip_unspoken_lines() -> None:
    lines = ["First line is read.", "Second line was dropped.", "Third line is read."]
    full = voiceover_for(lines)
    spoken = Voiceover(full.path, full.duration, full.sample_rate, full.voice, (full.lines[0], full.lines[2]))
    cues, _ = build_captions(spoken, script_of(lines), get_preset("youtube_1080p"), language="en")
    assert " ".join(cue.text for cue in cues) == "First line is read. Third line is read."


@pytest.mark.parametrize("platform", ["youtube_1080p", "tiktok"])
def test_renderer_draws_cues_unshrunk(platform: str, caplog: pytest.LogCaptureFixture) -> None:
    from pipeline.models import Palette
    from pipeline.styles import STYLES, get_style
    from pipeline.visual_captions import CaptionBox, caption_colours, paint_caption

    preset = get_preset(platform)
    lines = [LONG_SENTENCE, URL_LINE, "Automation that runs around the clock, every day of the year."]
    cues, layout = build_captions(voiceover_for(lines), script_of(lines), preset, language="en")
    box = CaptionBox.from_layout(layout, preset.width, preset.height)
    palette = Palette("#00e5ff", "#ffb000", "#ff2e88", "#0a0a1a", "#ffffff")
    for style in STYLES:
        kit = get_style(style)
        for cue in cues:
            painted = paint_caption(cue, layout, box, kit, caption_colours(kit, palette))
            assert painted is not None
    assert "shrinking the font" not in caplog.text
