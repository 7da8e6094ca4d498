"""Tests for pipeline.voice: real Piper and espeak-ng synthesis, probed from the written WAV files."""

from __future__ import annotations

import json
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import StageError
from pipeline.models import Script, ScriptLine
from pipeline.script import LEAD_IN_SECONDS, LINE_PAUSE_SECONDS
from pipeline.textnorm import to_spoken
from pipeline.voice import (
    MEASURED_RATES,
    PIPER_VOICE_NAME,
    SAMPLE_RATE,
    VOICE_STYLE_SETTINGS,
    VoiceChoice,
    estimate_word_timings,
    measure_words_per_minute,
    select_voice,
    synthesize_voiceover,
)


def make_script(texts: list[tuple[str, str]], language: str = "en") -> Script:
    lines = tuple(ScriptLine(section=section, text=text, spoken=to_spoken(text, language)) for section, text in texts)  # type: ignore[arg-type]
    return Script(lines=lines, words_per_minute=180.0, language=language)


SHORT_SCRIPT = make_script(
    [
        ("hook", "Meet Barrios A2I."),
        ("solution", "AI automation gives startups enterprise-grade infrastructure."),
        ("cta", "Start your free trial today."),
    ]
)


def probe(path: Path) -> dict[str, float]:
    output = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=sample_rate,channels,codec_name:format=duration", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout
    data = json.loads(output)
    stream = data["streams"][0]
    return {"duration": float(data["format"]["duration"]), "sample_rate": float(stream["sample_rate"]), "channels": float(stream["channels"])}


def samples(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as reader:
        return np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2").astype(np.float32) / 32768.0


def rms_db(audio: np.ndarray) -> float:
    return float(20 * np.log10(max(np.sqrt(np.mean(audio**2)), 1e-9)))


@pytest.fixture(scope="module")
def piper_voice() -> VoiceChoice:
    return select_voice("professional", "en")


@pytest.fixture(scope="module")
def piper_take(piper_voice: VoiceChoice, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    workdir = tmp_path_factory.mktemp("piper voice")
    return synthesize_voiceover(SHORT_SCRIPT, piper_voice, workdir, seed=3, max_duration=20.0)


def test_select_voice_prefers_piper_for_english(piper_voice: VoiceChoice) -> None:
    assert piper_voice.engine == "piper"
    assert piper_voice.label == f"piper:{PIPER_VOICE_NAME}"
    assert piper_voice.words_per_minute == MEASURED_RATES[("piper", "professional", "en")]
    assert piper_voice.fallback_reason == ""


def test_voice_styles_map_to_speed() -> None:
    energetic = select_voice("energetic", "en")
    calm = select_voice("calm", "en")
    assert energetic.settings.length_scale < calm.settings.length_scale
    assert energetic.words_per_minute > calm.words_per_minute


def test_unknown_voice_style_uses_professional() -> None:
    assert select_voice("sultry", "en").settings == VOICE_STYLE_SETTINGS["professional"]


def test_piper_wav_format_and_level(piper_take) -> None:  # type: ignore[no-untyped-def]
    info = probe(piper_take.path)
    assert info["sample_rate"] == SAMPLE_RATE
    assert info["channels"] == 1
    assert info["duration"] == pytest.approx(piper_take.duration, abs=0.01)
    assert 3.0 < piper_take.duration < 12.0
    audio = samples(piper_take.path)
    peak = float(np.max(np.abs(audio)))
    assert 0.5 < peak <= 0.9
    assert -28.0 < rms_db(audio) < -12.0
    assert piper_take.voice == f"piper:{PIPER_VOICE_NAME}"


def test_line_timings_are_exact_with_silent_gaps(piper_take) -> None:  # type: ignore[no-untyped-def]
    audio = samples(piper_take.path)
    timings = piper_take.lines
    assert [timing.index for timing in timings] == [0, 1, 2]
    assert timings[0].start == pytest.approx(LEAD_IN_SECONDS, abs=0.001)
    assert timings[-1].end == pytest.approx(piper_take.duration, abs=0.001)
    for before, after in zip(timings, timings[1:]):
        assert after.start - before.end == pytest.approx(LINE_PAUSE_SECONDS, abs=0.002)
        # Timings are rounded to milliseconds, so skip 1 ms at each edge of the gap.
        gap = audio[int(before.end * SAMPLE_RATE) + 23: int(after.start * SAMPLE_RATE) - 23]
        assert float(np.max(np.abs(gap))) == 0.0
    for timing in timings:
        spoken = audio[int(timing.start * SAMPLE_RATE): int(timing.end * SAMPLE_RATE)]
        assert rms_db(spoken) > -30.0


def test_word_timings_cover_each_line(piper_take) -> None:  # type: ignore[no-untyped-def]
    for timing in piper_take.lines:
        words = timing.words
        assert [word.text for word in words] == SHORT_SCRIPT.lines[timing.index].text.split()
        assert words[0].start == pytest.approx(timing.start, abs=0.001)
        assert words[-1].end == pytest.approx(timing.end, abs=0.002)
        for before, after in zip(words, words[1:]):
            assert before.end <= after.start + 0.002
            assert after.end > after.start


def test_word_timings_weigh_long_words() -> None:
    words = estimate_word_timings("Go enterprise-grade infrastructure now.", "en", 0.0, 4.0)
    lengths = {word.text: word.end - word.start for word in words}
    assert lengths["infrastructure"] > 2 * lengths["Go"]


def test_one_wav_per_line_is_kept(piper_take) -> None:  # type: ignore[no-untyped-def]
    line_files = sorted((piper_take.path.parent / "voice").glob("line_*.wav"))
    assert len(line_files) == len(SHORT_SCRIPT.lines)


def test_piper_same_seed_same_bytes(piper_voice: VoiceChoice, piper_take, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    again = synthesize_voiceover(SHORT_SCRIPT, piper_voice, tmp_path / "again", seed=3, max_duration=20.0)
    assert again.path.read_bytes() == piper_take.path.read_bytes()
    assert again.lines == piper_take.lines


def test_piper_other_seed_other_take(piper_voice: VoiceChoice, piper_take, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    other = synthesize_voiceover(SHORT_SCRIPT, piper_voice, tmp_path / "other", seed=4, max_duration=20.0)
    assert other.path.read_bytes() != piper_take.path.read_bytes()
    assert other.duration == pytest.approx(piper_take.duration, rel=0.15)


def test_speech_never_exceeds_max_duration(piper_voice: VoiceChoice, piper_take, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    limit = piper_take.duration * 0.85
    fitted = synthesize_voiceover(SHORT_SCRIPT, piper_voice, tmp_path, seed=3, max_duration=limit)
    assert fitted.duration <= limit
    assert probe(fitted.path)["duration"] <= limit + 0.001
    assert len(fitted.lines) == len(SHORT_SCRIPT.lines)


def test_extra_proof_lines_dropped_when_far_too_long(tmp_path: Path) -> None:
    voice = select_voice("professional", "en", engine="espeak-ng")
    script = make_script(
        [
            ("hook", "Meet Brightly."),
            ("proof", "Customers love the sunrise mode and the gentle light every single morning."),
            ("proof", "Thousands of five-star reviews from people who finally sleep and wake well."),
            ("proof", "Engineers tested every lamp for years before it ever reached a shelf."),
            ("cta", "Order yours today."),
        ]
    )
    full = synthesize_voiceover(script, voice, tmp_path / "full", seed=1, max_duration=60.0)
    limit = full.duration * 0.6
    fitted = synthesize_voiceover(script, voice, tmp_path / "fitted", seed=1, max_duration=limit)
    kept = [timing.index for timing in fitted.lines]
    assert fitted.duration <= limit
    assert kept[0] == 0
    assert kept[-1] == 4
    assert 1 in kept
    assert len(kept) < 5


def test_impossible_limit_raises_stage_error(tmp_path: Path) -> None:
    voice = select_voice("professional", "en", engine="espeak-ng")
    with pytest.raises(StageError, match="voice failed: .*longer duration_seconds"):
        synthesize_voiceover(SHORT_SCRIPT, voice, tmp_path, seed=1, max_duration=1.0)


def test_espeak_fallback_forced(tmp_path: Path) -> None:
    voice = select_voice("energetic", "en", engine="espeak-ng")
    assert voice.label == "espeak-ng:en-us"
    take = synthesize_voiceover(SHORT_SCRIPT, voice, tmp_path, seed=1, max_duration=20.0)
    info = probe(take.path)
    assert info["sample_rate"] == SAMPLE_RATE
    assert take.voice == "espeak-ng:en-us"
    assert rms_db(samples(take.path)) > -30.0
    again = synthesize_voiceover(SHORT_SCRIPT, voice, tmp_path / "again", seed=1, max_duration=20.0)
    assert again.path.read_bytes() == take.path.read_bytes()


def test_espeak_used_when_piper_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.voice as voice_module

    monkeypatch.setattr(voice_module, "_piper_available", lambda: False)
    voice = voice_module.select_voice("professional", "en")
    assert voice.engine == "espeak-ng"
    assert "Piper" in voice.fallback_reason
    with pytest.raises(StageError, match="Piper was requested"):
        voice_module.select_voice("professional", "en", engine="piper")


@pytest.mark.parametrize(
    ("language", "voice_name", "texts"),
    [
        ("zh", "cmn-latn-pinyin", [("hook", "晨光咖啡，来了。"), ("cta", "立即行动，体验晨光咖啡。")]),
        ("ja", "ja", [("hook", "朝光コーヒー、誕生。"), ("cta", "今すぐチェック、朝光コーヒーで。")]),
        ("ko", "ko", [("hook", "모닝빈, 등장."), ("cta", "지금 바로 만나보세요. 모닝빈.")]),
    ],
)
def test_cjk_speech_uses_espeak_voice(language: str, voice_name: str, texts: list[tuple[str, str]], tmp_path: Path) -> None:
    voice = select_voice("professional", language)
    assert voice.label == f"espeak-ng:{voice_name}"
    script = make_script(texts, language)
    take = synthesize_voiceover(script, voice, tmp_path / "音声 folder", seed=1, max_duration=20.0)
    assert take.duration > 1.0
    assert rms_db(samples(take.path)) > -32.0
    assert all(timing.words for timing in take.lines)
    separator = " " if language == "ko" else ""
    assert separator.join(word.text for word in take.lines[0].words) == texts[0][1]


def test_piper_cannot_be_forced_for_chinese() -> None:
    with pytest.raises(StageError, match="speaks only English"):
        select_voice("professional", "zh", engine="piper")


def test_language_without_voice_raises_clear_error() -> None:
    with pytest.raises(StageError, match="no installed voice can speak"):
        select_voice("professional", "tlh")


def test_empty_script_is_rejected(piper_voice: VoiceChoice, tmp_path: Path) -> None:
    with pytest.raises(StageError, match="no lines"):
        synthesize_voiceover(Script(lines=(), words_per_minute=180.0), piper_voice, tmp_path, seed=1, max_duration=10.0)


@pytest.mark.parametrize("engine", ["piper", "espeak-ng"])
def test_measured_rate_still_holds(engine: str, tmp_path: Path) -> None:
    voice = select_voice("professional", "en", engine=engine)  # type: ignore[arg-type]
    lines = tuple(
        ScriptLine(section="solution", text=text, spoken=to_spoken(text))
        for text in (
            "Enter Barrios A2I, an AI automation company built for B2B SaaS founders.",
            "The result? Hours handed back every week.",
            "You get sunrise mode, sixteen million colors and 80% less power.",
            "Tools that do not talk to each other? It costs more than you think.",
            "Ready? Start your free consultation with Dr. Smith Dental.",
            "Shoppers who want more for less, meet your new favourite: Joe's.",
        )
    )
    measured = measure_words_per_minute(voice, lines, tmp_path)
    assert measured == pytest.approx(voice.words_per_minute, rel=0.12)
