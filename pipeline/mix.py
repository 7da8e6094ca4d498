"""Voice and music mixing: ducking, exact length and loudness normalisation to -14 LUFS.

The mix is done in numpy rather than with moviepy's audio clips. The ducking envelope, the
true-peak limiter and the exact frame count all need sample-level control, and moviepy's
CompositeAudioClip would only add a per-chunk Python loop around the same arithmetic.
Loudness is set by iterating gain and the limiter against a numpy BS.1770 estimate. ffmpeg's
ebur128 filter (ITU-R BS.1770 with 4x oversampled true peak) then measures the written file.
If that lands more than 0.2 LU off, the file is corrected once and measured again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import StageError
from pipeline.media import Loudness, measure_loudness, read_audio, write_wav
from pipeline.models import Voiceover

logger = logging.getLogger(__name__)

TARGET_LUFS = -14.0
# The limiter aims below the -1 dBTP delivery limit because AAC encoding raises true peaks,
# usually by about 0.2 dB but by more on some mixes, so the job also checks the encoded stream.
LIMITER_CEILING_DBTP = -1.5
# Music level under speech relative to its level between lines.
DUCK_DB = -12.0
# Level of the unducked music relative to the voice's speech level.
MUSIC_BELOW_VOICE_DB = -5.0
_ATTACK_SECONDS = 0.08
_RELEASE_SECONDS = 0.45
_LOOKAHEAD_SECONDS = 0.12
_HOP_SECONDS = 0.01
_STAGE = "mix"
# The BS.1770 filter coefficients below are for 48 kHz, so the mix always runs at this rate.
SAMPLE_RATE = 48000


@dataclass(frozen=True)
class MixResult:
    """The mixed soundtrack and its measured loudness."""

    path: Path
    integrated_lufs: float
    true_peak_dbtp: float
    loudness_range_lu: float


def mix_audio(
    voice: Voiceover | None,
    music_path: Path,
    *,
    duration: float,
    out_path: Path,
    target_lufs: float = TARGET_LUFS,
    ceiling_dbtp: float = LIMITER_CEILING_DBTP,
) -> MixResult:
    """Mix `voice` over the ducked music, exactly `duration` long, normalised to `target_lufs`.

    The limiter keeps true peaks at or below `ceiling_dbtp`. Writes a 16-bit 48 kHz stereo WAV
    to `out_path`.
    """
    if not duration > 0:
        raise ValueError(f"duration must be a positive number of seconds, got {duration!r}")
    sample_rate = SAMPLE_RATE
    frames = int(round(duration * sample_rate))
    music = fit_length(read_audio(music_path, sample_rate=sample_rate, stage=_STAGE), frames, sample_rate)

    if voice is not None:
        speech = fit_length(read_audio(voice.path, sample_rate=sample_rate, stage=_STAGE), frames, sample_rate, loop=False)
        activity = _speech_activity(voice, speech, sample_rate)
        envelope = ducking_envelope(activity, frames, sample_rate)
        music = music * _music_gain(speech, music, activity, sample_rate)
        mixture = speech + music * envelope[:, None]
    else:
        mixture = music

    result = _normalise(mixture, sample_rate, out_path, target_lufs, ceiling_dbtp)
    logger.info(
        "mix written to %s: %.1f LUFS, %.1f dBTP, LRA %.1f LU",
        out_path, result.integrated_lufs, result.true_peak_dbtp, result.loudness_range_lu,
    )
    return result


def fit_length(samples: np.ndarray, frames: int, sample_rate: int, *, loop: bool = True) -> np.ndarray:
    """Return `samples` made exactly `frames` long.

    A short music bed loops with a 50 ms crossfade (`loop`), a short voice is padded with silence,
    and anything longer is cut with a fade so the cut makes no click.
    """
    count = samples.shape[0]
    channels = samples.shape[1]
    if count == frames:
        return samples
    if count > frames:
        out = samples[:frames].copy()
        fade = min(int(0.05 * sample_rate), frames)
        if fade:
            out[frames - fade :] *= np.linspace(1.0, 0.0, fade)[:, None]
        return out
    if not loop or count == 0:
        out = np.zeros((frames, channels), dtype=samples.dtype)
        out[:count] = samples
        return out
    overlap = min(int(0.05 * sample_rate), count // 4)
    ramp = np.linspace(0.0, 1.0, overlap)[:, None]
    source = samples.astype(np.float64)
    out = np.zeros((frames + count, channels))
    out[:count] = source
    position = count
    while position < frames:
        start = position - overlap
        out[start:position] *= 1.0 - ramp
        piece = source.copy()
        piece[:overlap] *= ramp
        out[start : start + count] += piece
        position = start + count
    out = out[:frames]
    # Looping can end mid-phrase, so the last two seconds fade out.
    fade = min(int(2.0 * sample_rate), frames // 4)
    if fade:
        out[frames - fade :] *= np.linspace(1.0, 0.0, fade)[:, None] ** 2
    return out


def _speech_activity(voice: Voiceover, speech: np.ndarray, sample_rate: int) -> np.ndarray:
    """Return one 0/1 value per 10 ms hop: 1 where the voice speaks.

    Line timings give the spans; where there are none the voice's own RMS decides.
    """
    frames = speech.shape[0]
    hop = int(_HOP_SECONDS * sample_rate)
    hops = int(np.ceil(frames / hop))
    activity = np.zeros(hops)
    if voice.lines:
        for line in voice.lines:
            first = max(0, int(line.start / _HOP_SECONDS))
            last = min(hops, int(np.ceil(line.end / _HOP_SECONDS)))
            activity[first:last] = 1.0
        return activity
    padded = np.zeros(hops * hop)
    padded[:frames] = np.mean(speech, axis=1)
    rms = np.sqrt(np.mean(padded.reshape(hops, hop) ** 2, axis=1))
    threshold = max(float(np.max(rms)) * 10 ** (-35 / 20), 1e-5)
    activity[rms > threshold] = 1.0
    # Bridge the short pauses between words so the music does not pump.
    bridge = int(0.3 / _HOP_SECONDS)
    bridged: np.ndarray = np.minimum(1.0, _running_max(activity, bridge))
    return bridged


def ducking_envelope(activity: np.ndarray, frames: int, sample_rate: int, *, duck_db: float = DUCK_DB) -> np.ndarray:
    """Turn per-hop speech activity into a per-sample music gain with smooth attack and release.

    The gain starts to fall a little before each line (look-ahead) so the first word is clear.
    """
    lead = int(_LOOKAHEAD_SECONDS / _HOP_SECONDS)
    early = np.concatenate([activity[lead:], np.zeros(min(lead, activity.size))])
    target = np.where(np.maximum(activity, early) > 0, 10 ** (duck_db / 20), 1.0)
    attack = np.exp(-_HOP_SECONDS / _ATTACK_SECONDS)
    release = np.exp(-_HOP_SECONDS / _RELEASE_SECONDS)
    smooth = np.empty_like(target)
    level = 1.0
    for index, goal in enumerate(target):
        coefficient = attack if goal < level else release
        level = goal + (level - goal) * coefficient
        smooth[index] = level
    hop = int(_HOP_SECONDS * sample_rate)
    positions = (np.arange(frames) + 0.5) / hop - 0.5
    return np.interp(positions, np.arange(smooth.size), smooth)


def _music_gain(speech: np.ndarray, music: np.ndarray, activity: np.ndarray, sample_rate: int) -> float:
    """Return the gain that puts the unducked music MUSIC_BELOW_VOICE_DB under the speech level."""
    hop = int(_HOP_SECONDS * sample_rate)
    mask = np.repeat(activity, hop)[: speech.shape[0]] > 0
    if not mask.any():
        return 1.0
    speech_rms = float(np.sqrt(np.mean(speech[mask] ** 2)))
    music_rms = float(np.sqrt(np.mean(music**2)))
    if speech_rms < 1e-6 or music_rms < 1e-6:
        return 1.0
    return speech_rms / music_rms * 10 ** (MUSIC_BELOW_VOICE_DB / 20)


def _normalise(mixture: np.ndarray, sample_rate: int, out_path: Path, target: float, ceiling_dbtp: float) -> MixResult:
    if float(np.max(np.abs(mixture))) < 1e-6:
        raise StageError(_STAGE, "the mixed soundtrack is silent; check that the voiceover and music files contain audio")
    # Both the true-peak envelope and the K-weighting are linear, so they are computed once and
    # the gain search only rescales them. The limiter's slowly varying gain is applied to the
    # K-weighted signal as an estimate, and ffmpeg's ebur128 then measures the written file.
    peaks = true_peak_envelope(mixture)
    weighted = k_weighted(mixture, sample_rate)
    gain_db = target - integrated_loudness(mixture, sample_rate, weighted=weighted)
    gain = np.ones(mixture.shape[0])
    # Secant search on the gain: the limiter makes loudness grow more slowly than the gain, so
    # adding the whole error each step took 9 limiter passes on the seed job (4 with the secant).
    previous: tuple[float, float] | None = None
    for _ in range(12):
        level = 10 ** (gain_db / 20)
        gain = level * limiter_gain(peaks * level, ceiling_dbtp, sample_rate)
        loudness = integrated_loudness(mixture, sample_rate, weighted=weighted * gain[:, None].astype(np.float32))
        error = target - loudness
        if abs(error) < 0.05:
            break
        slope = 1.0
        if previous is not None and abs(gain_db - previous[0]) > 1e-6:
            slope = (loudness - previous[1]) / (gain_db - previous[0])
            # Loudness grows with the gain and never faster than it, so a slope outside that is noise.
            slope = min(1.0, max(0.1, slope))
        previous = (gain_db, loudness)
        gain_db += error / slope
    out = mixture * gain[:, None]
    write_wav(out_path, out, sample_rate)
    measured = measure_loudness(out_path, stage=_STAGE)

    if abs(measured.integrated_lufs - target) > 0.2:
        correction = target - measured.integrated_lufs
        logger.info("loudness %.2f LUFS is off target; correcting by %.2f dB", measured.integrated_lufs, correction)
        out = limit_true_peak(out * 10 ** (correction / 20), ceiling_dbtp, sample_rate)
        write_wav(out_path, out, sample_rate)
        measured = measure_loudness(out_path, stage=_STAGE)
    _check(measured, target)
    return MixResult(out_path, measured.integrated_lufs, measured.true_peak_dbtp, measured.loudness_range_lu)


# ITU-R BS.1770-4 K-weighting filter coefficients for 48 kHz: a high shelf, then a high pass.
_SHELF = ((1.53512485958697, -2.69169618940638, 1.19839281085285), (1.0, -1.69065929318241, 0.73248077421585))
_HIGHPASS = ((1.0, -2.0, 1.0), (1.0, -1.99004745483398, 0.99007225036621))


def k_weighted(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Apply the BS.1770 K-weighting as its magnitude response in the frequency domain.

    This gives the same block powers as the recursive filter except for edge effects.
    """
    if sample_rate != 48000:
        raise ValueError(f"the loudness estimate needs 48000 Hz audio, got {sample_rate!r}")
    frames = samples.shape[0]
    size = 1 << int(np.ceil(np.log2(max(frames, 2))))
    omega = np.exp(-1j * np.pi * np.fft.rfftfreq(size, 0.5))
    response = np.ones_like(omega)
    for numerator, denominator in (_SHELF, _HIGHPASS):
        response *= np.polyval(numerator[::-1], omega) / np.polyval(denominator[::-1], omega)
    response32 = response.astype(np.complex64)
    weighted = np.empty(samples.shape, dtype=np.float32)
    for channel in range(samples.shape[1]):
        spectrum = np.fft.rfft(samples[:, channel].astype(np.float32), size)
        weighted[:, channel] = np.fft.irfft(spectrum * response32, size)[:frames]
    return weighted


def integrated_loudness(samples: np.ndarray, sample_rate: int, *, weighted: np.ndarray | None = None) -> float:
    """Estimate integrated loudness in LUFS per ITU-R BS.1770-4 (gated 400 ms blocks, 75 % overlap)."""
    if weighted is None:
        weighted = k_weighted(samples, sample_rate)
    frames = weighted.shape[0]
    block = int(0.4 * sample_rate)
    hop = int(0.1 * sample_rate)
    if frames < block:
        return float("-inf")
    starts = np.arange(0, frames - block + 1, hop)
    # The running sum stays in float64: in float32 it would lose the small blocks' power.
    squared = np.square(weighted, dtype=np.float64)
    cumulative = np.concatenate([np.zeros((1, weighted.shape[1])), np.cumsum(squared, axis=0)])
    powers = ((cumulative[starts + block] - cumulative[starts]) / block).sum(axis=1)
    with np.errstate(divide="ignore"):
        loudness = -0.691 + 10 * np.log10(powers)
    gated = powers[loudness > -70.0]
    if gated.size == 0:
        return float("-inf")
    relative = -0.691 + 10 * np.log10(np.mean(gated)) - 10.0
    final = powers[(loudness > -70.0) & (loudness > relative)]
    return float(-0.691 + 10 * np.log10(np.mean(final)))


def _check(measured: Loudness, target: float) -> None:
    if abs(measured.integrated_lufs - target) > 1.0:
        raise StageError(
            _STAGE,
            f"integrated loudness is {measured.integrated_lufs:.1f} LUFS after correction, expected {target:.1f} +/- 1 LU",
        )
    if measured.true_peak_dbtp > -1.0:
        raise StageError(_STAGE, f"true peak is {measured.true_peak_dbtp:.1f} dBTP after limiting, expected at most -1.0")


def true_peak_envelope(samples: np.ndarray) -> np.ndarray:
    """Return, per sample, the largest magnitude across channels after 4x oversampling (FFT interpolation)."""
    frames = samples.shape[0]
    size = frames + (frames % 2)
    peaks = np.zeros(frames, dtype=np.float32)
    # float32 transforms run about twice as fast as float64 and are accurate to far below 0.01 dB.
    for channel in range(samples.shape[1]):
        spectrum = np.fft.rfft(samples[:, channel].astype(np.float32), size)
        upsampled = np.fft.irfft(spectrum, 4 * size) * np.float32(4.0)
        per_sample = np.abs(upsampled[: 4 * frames]).reshape(frames, 4).max(axis=1)
        peaks = np.maximum(peaks, per_sample)
    return peaks


def limit_true_peak(samples: np.ndarray, ceiling_dbtp: float, sample_rate: int) -> np.ndarray:
    """Apply a look-ahead limiter so the 4x-oversampled peak stays at or below `ceiling_dbtp`."""
    limited: np.ndarray = samples * limiter_gain(true_peak_envelope(samples), ceiling_dbtp, sample_rate)[:, None]
    return limited


def limiter_gain(peaks: np.ndarray, ceiling_dbtp: float, sample_rate: int) -> np.ndarray:
    """Return the per-sample gain that keeps `peaks` at or below `ceiling_dbtp`.

    The required gain is held as a running minimum over +/-20 ms and then smoothed over +/-5 ms.
    Because the smoothing window is shorter than the hold, the smoothed gain never exceeds the required gain.
    """
    ceiling = 10 ** (ceiling_dbtp / 20)
    required = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    if required.min() >= 1.0:
        return np.asarray(required)
    hold = int(0.02 * sample_rate)
    smooth = int(0.005 * sample_rate)
    minimum = _running_min(required, hold)
    cumulative = np.concatenate([[0.0], np.cumsum(np.pad(minimum, smooth, mode="edge"))])
    window = 2 * smooth + 1
    averaged = (cumulative[window:] - cumulative[:-window]) / window
    return np.asarray(np.minimum(averaged, required))


def _running_min(values: np.ndarray, radius: int) -> np.ndarray:
    """Return the minimum of values[i - radius : i + radius + 1] for each i (van Herk / Gil-Werman)."""
    return -_running_max(-values, radius)


def _running_max(values: np.ndarray, radius: int) -> np.ndarray:
    """Return the maximum of values[i - radius : i + radius + 1] for each i (van Herk / Gil-Werman)."""
    if radius <= 0 or values.size == 0:
        return values.copy()
    window = 2 * radius + 1
    low = float(values.min())
    padded = np.concatenate([np.full(radius, low), values, np.full(radius, low)])
    blocks = int(np.ceil(padded.size / window))
    grid = np.full(blocks * window, low)
    grid[: padded.size] = padded
    shaped = grid.reshape(blocks, window)
    prefix = np.maximum.accumulate(shaped, axis=1).ravel()
    suffix = np.maximum.accumulate(shaped[:, ::-1], axis=1)[:, ::-1].ravel()
    starts = np.arange(values.size)
    return np.maximum(suffix[starts], prefix[starts + window - 1])
