"""Voiceover from the speech endpoint: one request per line, exact line timings, fallback."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipeline.providers import Providers
from pipeline.providers.speech import (
    LEADING_SILENCE_SECONDS,
    PAUSE_SECONDS,
    TRIM_MARGIN_SECONDS,
    decode_wav,
    voice_for_style,
)
from tests.providers.conftest import sample_script
from tests.providers.fake_openai import (
    SECONDS_PER_CHARACTER,
    SPEECH,
    SPEECH_SAMPLE_RATE,
    FakeOpenAI,
    Reply,
    error_reply,
    tone_wav,
)


def probe(path: Path) -> Any:
    output = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output)


def test_voiceover_has_exact_line_timings(
    fake: FakeOpenAI, make_providers: Callable[..., Providers], tmp_path: Path
) -> None:
    script = sample_script()
    output = tmp_path / "voice.wav"

    voiceover = make_providers().synthesize(script, voice_style="energetic", output_path=output)

    assert voiceover is not None
    assert voiceover.path == output
    assert voiceover.sample_rate == SPEECH_SAMPLE_RATE
    assert voiceover.voice == "openai:fake-tts:nova"
    assert len(voiceover.lines) == len(script.lines)

    # Each clip is the fake's tone, trimmed of its silence down to the margin on each side.
    for timing, line in zip(voiceover.lines, script.lines):
        tone = max(0.2, len(line.spoken) * SECONDS_PER_CHARACTER)
        assert timing.end - timing.start == pytest.approx(tone + 2 * TRIM_MARGIN_SECONDS, abs=0.002)
        assert [word.text for word in timing.words] == line.text.split()
        assert timing.words[0].start == pytest.approx(timing.start, abs=0.001)
        assert timing.words[-1].end == pytest.approx(timing.end, abs=0.001)
    assert voiceover.lines[0].start == pytest.approx(LEADING_SILENCE_SECONDS, abs=0.001)
    for before, after in zip(voiceover.lines, voiceover.lines[1:]):
        assert after.start - before.end == pytest.approx(PAUSE_SECONDS, abs=0.002)

    info = probe(output)
    [stream] = info["streams"]
    assert stream["codec_type"] == "audio"
    assert stream["channels"] == 1
    assert int(stream["sample_rate"]) == SPEECH_SAMPLE_RATE
    assert float(info["format"]["duration"]) == pytest.approx(voiceover.duration, abs=0.01)
    assert voiceover.duration > voiceover.lines[-1].end


def test_speech_requests_per_line(fake: FakeOpenAI, make_providers: Callable[..., Providers], tmp_path: Path) -> None:
    script = sample_script()

    make_providers().synthesize(script, voice_style="professional", output_path=tmp_path / "voice.wav")

    requests = fake.requests_to(SPEECH)
    assert [request.body["input"] for request in requests] == [line.spoken for line in script.lines]
    for request in requests:
        assert request.body["model"] == "fake-tts"
        assert request.body["voice"] == "onyx"
        assert request.body["response_format"] == "wav"
        assert "instructions" not in request.body


def test_speech_cost_by_characters(fake: FakeOpenAI, make_providers: Callable[..., Providers], tmp_path: Path) -> None:
    script = sample_script()
    providers = make_providers()

    providers.synthesize(script, voice_style="warm", output_path=tmp_path / "voice.wav")

    characters = sum(len(line.spoken) for line in script.lines)
    assert providers.cost_usd == pytest.approx(characters * 15.0 / 1_000_000)


def test_streaming_wav_header_decoded(fake: FakeOpenAI, make_providers: Callable[..., Providers], tmp_path: Path) -> None:
    fake.set_default(SPEECH, lambda request: Reply(body=tone_wav(0.5, streaming_header=True), content_type="audio/wav"))

    voiceover = make_providers().synthesize(sample_script(), voice_style="calm", output_path=tmp_path / "voice.wav")

    assert voiceover is not None
    assert voiceover.lines[0].end - voiceover.lines[0].start == pytest.approx(0.5 + 2 * TRIM_MARGIN_SECONDS, abs=0.002)


def test_speech_retried_after_server_error(
    fake: FakeOpenAI, make_providers: Callable[..., Providers], tmp_path: Path
) -> None:
    fake.script(SPEECH, error_reply(502, "bad gateway"))

    voiceover = make_providers().synthesize(sample_script(), voice_style="calm", output_path=tmp_path / "voice.wav")

    assert voiceover is not None
    assert len(fake.requests_to(SPEECH)) == len(sample_script().lines) + 1


def test_speech_failure_falls_back(fake: FakeOpenAI, make_providers: Callable[..., Providers], tmp_path: Path) -> None:
    fake.set_default(SPEECH, lambda request: error_reply(500, "engine crashed"))
    providers = make_providers(max_retries=1)

    voiceover = providers.synthesize(sample_script(), voice_style="calm", output_path=tmp_path / "voice.wav")

    assert voiceover is None
    assert len(fake.requests_to(SPEECH)) == 2
    [fallback] = providers.fallbacks
    assert fallback.stage == "voice"
    assert fallback.model == "fake-tts"
    [warning] = providers.warnings
    assert warning.startswith("voice: provider 127.0.0.1:")
    assert warning.endswith("Used the local voice instead.")


def test_audio_that_is_not_wav_falls_back(
    fake: FakeOpenAI, make_providers: Callable[..., Providers], tmp_path: Path
) -> None:
    fake.set_default(SPEECH, lambda request: Reply(body=b"ID3\x04mp3 bytes", content_type="audio/mpeg"))
    providers = make_providers()

    assert providers.synthesize(sample_script(), voice_style="calm", output_path=tmp_path / "voice.wav") is None
    assert "returned unusable audio: not a WAV file" in providers.fallbacks[0].reason


def test_configured_voice_overrides_style(
    fake: FakeOpenAI, make_providers: Callable[..., Providers], tmp_path: Path
) -> None:
    make_providers(speech_voice="af_bella").synthesize(
        sample_script(), voice_style="energetic", output_path=tmp_path / "voice.wav"
    )

    assert {request.body["voice"] for request in fake.requests_to(SPEECH)} == {"af_bella"}


def test_gpt_4o_speech_gets_tone_instructions(
    fake: FakeOpenAI, make_providers: Callable[..., Providers], tmp_path: Path
) -> None:
    make_providers(speech_model="gpt-4o-mini-tts").synthesize(
        sample_script(), voice_style="warm", output_path=tmp_path / "voice.wav"
    )

    assert "warm tone" in fake.requests_to(SPEECH)[0].body["instructions"]


@pytest.mark.parametrize(
    ("style", "voice"),
    [("professional", "onyx"), ("Energetic", "nova"), ("warm", "shimmer"), ("calm", "echo"), ("unknown", "alloy")],
)
def test_voice_for_style(style: str, voice: str) -> None:
    assert voice_for_style(style) == voice


def test_decode_wav_rejects_8_bit() -> None:
    data = bytearray(tone_wav(0.1))
    data[34:36] = (8).to_bytes(2, "little")

    with pytest.raises(ValueError, match="unsupported WAV encoding"):
        decode_wav(bytes(data))


def test_voiceover_too_long_falls_back(
    fake: FakeOpenAI, make_providers: Callable[..., Providers], tmp_path: Path
) -> None:
    providers = make_providers()

    voiceover = providers.synthesize(
        sample_script(), voice_style="calm", output_path=tmp_path / "voice.wav", max_duration=1.0
    )

    assert voiceover is None
    [fallback] = providers.fallbacks
    assert "only 1.0 s are available before the end card" in fallback.reason
