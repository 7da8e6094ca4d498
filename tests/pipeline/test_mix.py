"""Mixing: exact length, -14 LUFS and -1 dBTP measured by ffmpeg, and music ducked under speech."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import StageError
from pipeline.mix import limit_true_peak, mix_audio, true_peak_envelope
from pipeline.models import LineTiming, Voiceover
from pipeline.music import synthesize_music
from tests.support.media import ebur128

RATE = 48000
LINES = (
    "Meet Barrios A2I, enterprise grade automation for startups.",
    "Launch faster and scale smarter while the machines do the busy work.",
    "Book your demo today.",
)


def decode(path: Path) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "2", "-ar", str(RATE), "-"],
        capture_output=True, check=True,
    ).stdout
    return np.frombuffer(raw, dtype="<f4").reshape(-1, 2)


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    frames = samples if samples.ndim == 2 else samples[:, None]
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(frames.shape[1])
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes((np.clip(frames, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def espeak_voiceover(workdir: Path, gap: float = 0.8, start: float = 0.5) -> Voiceover:
    """Speak each line with espeak-ng and join them with pauses, recording where each line sits."""
    pieces: list[np.ndarray] = [np.zeros(int(start * 22050))]
    timings: list[LineTiming] = []
    position = start
    for index, text in enumerate(LINES):
        path = workdir / f"line{index}.wav"
        subprocess.run(["espeak-ng", "-w", str(path), text], check=True)
        with wave.open(str(path)) as handle:
            speech = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2") / 32768.0
            rate = handle.getframerate()
        assert rate == 22050
        length = speech.size / rate
        timings.append(LineTiming(index, position, position + length, ()))
        pieces += [speech, np.zeros(int(gap * rate))]
        position += length + gap
    voice = np.concatenate(pieces)
    path = write_wav(workdir / "voice.wav", voice, 22050)
    return Voiceover(path, voice.size / 22050, 22050, "espeak-ng:en", tuple(timings))


@pytest.fixture(scope="module")
def voiceover(tmp_path_factory: pytest.TempPathFactory) -> Voiceover:
    return espeak_voiceover(tmp_path_factory.mktemp("voice"))


@pytest.mark.parametrize(("duration", "music_seconds"), [(15.0, 15.0), (15.0, 14.98), (30.0, 10.0), (12.5, 20.0)])
def test_mix_loudness_and_length(tmp_path: Path, voiceover: Voiceover, duration: float, music_seconds: float) -> None:
    music = synthesize_music("cyberpunk", duration=music_seconds, seed=4, out_path=tmp_path / "music.wav")
    result = mix_audio(voiceover, music, duration=duration, out_path=tmp_path / "mix.wav")
    integrated, peak = ebur128(result.path)
    assert -15.0 <= integrated <= -13.0
    assert peak <= -1.0
    assert abs(result.integrated_lufs - integrated) < 0.05
    samples = decode(result.path)
    assert samples.shape == (round(duration * RATE), 2)


@pytest.mark.parametrize("style", ["luxury", "playful"])
def test_mix_music_only(tmp_path: Path, style: str) -> None:
    music = synthesize_music(style, duration=8.0, seed=1, out_path=tmp_path / "music.wav")
    result = mix_audio(None, music, duration=8.0, out_path=tmp_path / "mix.wav")
    integrated, peak = ebur128(result.path)
    assert -15.0 <= integrated <= -13.0
    assert peak <= -1.0


def test_mix_survives_aac_encoding(tmp_path: Path, voiceover: Voiceover) -> None:
    music = synthesize_music("corporate", duration=15.0, seed=9, out_path=tmp_path / "music.wav")
    result = mix_audio(voiceover, music, duration=15.0, out_path=tmp_path / "mix.wav")
    encoded = tmp_path / "mix.m4a"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(result.path), "-c:a", "aac", "-b:a", "192k", str(encoded)], check=True
    )
    integrated, peak = ebur128(encoded)
    assert -15.0 <= integrated <= -13.0
    assert peak <= -1.0


def band_level(samples: np.ndarray, start: float, end: float, frequency: float) -> float:
    """Return the level in dB of one sine component within [start, end) seconds."""
    piece = samples[int(start * RATE) : int(end * RATE)].mean(axis=1)
    spectrum = np.abs(np.fft.rfft(piece * np.hanning(piece.size)))
    frequencies = np.fft.rfftfreq(piece.size, 1.0 / RATE)
    band = (frequencies > frequency - 5) & (frequencies < frequency + 5)
    return float(20 * np.log10(spectrum[band].max() + 1e-12))


@pytest.mark.parametrize("with_timings", [True, False])
def test_mix_ducks_music_under_speech(tmp_path: Path, with_timings: bool) -> None:
    # Speech is a 1 kHz tone in two spans and music a steady 200 Hz tone, so each can be measured apart.
    t = np.arange(12 * RATE) / RATE
    speaking = ((t >= 2) & (t < 5)) | ((t >= 8) & (t < 10))
    voice = 0.3 * np.sin(2 * np.pi * 1000 * t) * speaking
    voice_path = write_wav(tmp_path / "voice.wav", voice)
    music_path = write_wav(tmp_path / "music.wav", np.repeat((0.3 * np.sin(2 * np.pi * 200 * t))[:, None], 2, axis=1))
    lines = (LineTiming(0, 2.0, 5.0, ()), LineTiming(1, 8.0, 10.0, ())) if with_timings else ()
    voiceover = Voiceover(voice_path, 12.0, RATE, "test:tone", lines)

    result = mix_audio(voiceover, music_path, duration=12.0, out_path=tmp_path / "mix.wav")
    samples = decode(result.path)
    under_speech = band_level(samples, 3.0, 4.8, 200)
    in_gap = band_level(samples, 6.2, 7.7, 200)
    depth = in_gap - under_speech
    assert depth >= 9.0, f"music is only {depth:.1f} dB lower under speech"
    # Attack and release are smooth: no step larger than 1 dB between 10 ms windows.
    envelope = np.sqrt((samples[: 12 * RATE, 0].reshape(-1, 480) ** 2).mean(axis=1))
    steps = np.abs(np.diff(20 * np.log10(envelope[100:180] + 1e-9)))  # 1.0 s to 1.8 s, before speech
    assert steps.max() < 1.0


def test_mix_rejects_silence(tmp_path: Path) -> None:
    silence = write_wav(tmp_path / "silence.wav", np.zeros((RATE * 3, 2)))
    with pytest.raises(StageError, match="silent") as caught:
        mix_audio(None, silence, duration=3.0, out_path=tmp_path / "mix.wav")
    assert caught.value.stage == "mix"


def test_limiter_holds_ceiling() -> None:
    rng = np.random.default_rng(0)
    loud = rng.standard_normal((RATE * 2, 2)) * 0.8
    limited = limit_true_peak(loud, -1.5, RATE)
    assert true_peak_envelope(limited).max() <= 10 ** (-1.45 / 20)
