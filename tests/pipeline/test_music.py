"""Music beds: exact length, stereo, audible, seeded, and different per style."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pipeline.music import STYLES, synthesize_music

RATE = 48000


def probe_audio(path: Path) -> dict[str, object]:
    output = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-count_packets", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout
    return json.loads(output)["streams"][0]


def decode(path: Path) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "2", "-ar", str(RATE), "-"],
        capture_output=True, check=True,
    ).stdout
    return np.frombuffer(raw, dtype="<f4").reshape(-1, 2)


def spectral_centroid(samples: np.ndarray) -> float:
    mono = samples.mean(axis=1)
    spectrum = np.abs(np.fft.rfft(mono))
    frequencies = np.fft.rfftfreq(mono.size, 1.0 / RATE)
    return float((spectrum * frequencies).sum() / spectrum.sum())


def estimate_bpm(samples: np.ndarray) -> float:
    """Estimate the beat tempo from the autocorrelation of the onset (positive energy change) envelope."""
    mono = samples.mean(axis=1)
    hop = 480  # 10 ms
    frames = mono.size // hop
    energy = np.sqrt((mono[: frames * hop].reshape(frames, hop) ** 2).mean(axis=1))
    onset = np.maximum(np.diff(np.log(energy + 1e-4)), 0.0)
    onset -= onset.mean()
    correlation = np.correlate(onset, onset, mode="full")[onset.size - 1 :]
    lags = np.arange(correlation.size) * 0.01
    window = (lags >= 60 / 150) & (lags <= 60 / 60)  # beats between 60 and 150 BPM
    best = lags[window][np.argmax(correlation[window])]
    return 60.0 / float(best)


@pytest.mark.parametrize("duration", [30.0, 29.98, 10.0, 15.0, 0.5, 7.3333])
def test_music_length_is_exact(tmp_path: Path, duration: float) -> None:
    path = synthesize_music("cyberpunk", duration=duration, seed=7, out_path=tmp_path / "bed.wav")
    stream = probe_audio(path)
    assert int(stream["channels"]) == 2
    assert int(stream["sample_rate"]) == RATE
    samples = decode(path)
    assert samples.shape[0] == round(duration * RATE)
    assert float(np.sqrt(np.mean(samples**2))) > 0.01


@pytest.mark.parametrize("style", sorted(STYLES))
def test_music_style_is_audible_stereo(tmp_path: Path, style: str) -> None:
    samples = decode(synthesize_music(style, duration=12.0, seed=3, out_path=tmp_path / f"{style}.wav"))
    assert float(np.max(np.abs(samples))) < 1.0
    assert float(np.sqrt(np.mean(samples**2))) > 0.02
    # The reverb gives each channel its own tail, so the bed is real stereo, not dual mono.
    assert not np.allclose(samples[:, 0], samples[:, 1], atol=1e-3)
    last = samples[-int(0.05 * RATE) :]
    assert float(np.max(np.abs(last))) < 0.05, "the ending should be faded out"


def test_music_styles_differ(tmp_path: Path) -> None:
    centroids = {
        style: spectral_centroid(decode(synthesize_music(style, duration=12.0, seed=5, out_path=tmp_path / f"{style}.wav")))
        for style in STYLES
    }
    for bright in ("cyberpunk", "playful", "corporate"):
        for dark in ("minimal", "luxury", "cinematic"):
            assert centroids[bright] > 2 * centroids[dark], (bright, dark, centroids)


@pytest.mark.parametrize("style", ["cyberpunk", "corporate", "playful"])
def test_music_tempo_matches_style(tmp_path: Path, style: str) -> None:
    samples = decode(synthesize_music(style, duration=20.0, seed=2, out_path=tmp_path / "bed.wav"))
    measured = estimate_bpm(samples)
    expected = STYLES[style].bpm
    ratios = [measured / (expected * factor) for factor in (0.5, 1.0, 2.0)]
    assert any(abs(ratio - 1.0) < 0.05 for ratio in ratios), (measured, expected)


def test_music_tempo_hint_changes_tempo(tmp_path: Path) -> None:
    slow = decode(synthesize_music("cyberpunk", duration=12.0, seed=2, out_path=tmp_path / "a.wav", tempo_hint="80"))
    fast = decode(synthesize_music("cyberpunk", duration=12.0, seed=2, out_path=tmp_path / "b.wav", tempo_hint="130"))
    assert estimate_bpm(fast) > estimate_bpm(slow) * 1.3


def test_music_seed_reproducible(tmp_path: Path) -> None:
    first = synthesize_music("playful", duration=6.0, seed=11, out_path=tmp_path / "a.wav").read_bytes()
    again = synthesize_music("playful", duration=6.0, seed=11, out_path=tmp_path / "b.wav").read_bytes()
    other = synthesize_music("playful", duration=6.0, seed=12, out_path=tmp_path / "c.wav").read_bytes()
    assert first == again
    assert first != other


def test_music_unknown_style_uses_default(tmp_path: Path) -> None:
    path = synthesize_music("vaporwave", duration=3.0, seed=1, out_path=tmp_path / "bed.wav")
    assert decode(path).shape[0] == 3 * RATE


@pytest.mark.parametrize("duration", [0.0, -1.0, float("nan")])
def test_music_rejects_bad_duration(tmp_path: Path, duration: float) -> None:
    with pytest.raises(ValueError, match="duration"):
        synthesize_music("minimal", duration=duration, seed=1, out_path=tmp_path / "bed.wav")
