"""Voiceover from an OpenAI-style speech endpoint (audio.speech.create), one request per line.

Synthesizing each script line on its own keeps line timings exact: the clips are trimmed
of leading and trailing silence, joined with a fixed pause, and written as one 16-bit
mono WAV. Word timings inside a line are spread by word length, since the endpoint
returns no alignment.
"""

from __future__ import annotations

import logging
import struct
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openai

from pipeline.models import LineTiming, ProgressCallback, Script, Voiceover, WordTiming, silent_progress
from pipeline.providers.base import ModelProvider
from pipeline.providers.client import ProviderError

logger = logging.getLogger(__name__)

# OpenAI voice for each voice style; unknown styles get DEFAULT_VOICE.
VOICE_BY_STYLE = {
    "professional": "onyx",
    "authoritative": "onyx",
    "corporate": "onyx",
    "energetic": "nova",
    "upbeat": "nova",
    "excited": "nova",
    "warm": "shimmer",
    "friendly": "shimmer",
    "calm": "echo",
    "soothing": "echo",
    "playful": "fable",
    "storyteller": "fable",
    "neutral": "alloy",
}
DEFAULT_VOICE = "alloy"
LEADING_SILENCE_SECONDS = 0.2
PAUSE_SECONDS = 0.3
TRAILING_SILENCE_SECONDS = 0.3
# Samples quieter than this fraction of full scale count as silence when trimming clips.
SILENCE_THRESHOLD = 0.01
# Silence kept around a trimmed clip so that consonants are not cut.
TRIM_MARGIN_SECONDS = 0.04


def voice_for_style(voice_style: str, override: str = "") -> str:
    """Return the API voice for `voice_style`, or `override` when one is configured."""
    if override:
        return override
    return VOICE_BY_STYLE.get(voice_style.strip().lower(), DEFAULT_VOICE)


@dataclass(frozen=True)
class PcmAudio:
    """Mono 16-bit samples and their rate."""

    samples: np.ndarray
    sample_rate: int

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


def decode_wav(data: bytes) -> PcmAudio:
    """Decode a PCM WAV file to mono 16-bit samples.

    Streaming servers often write placeholder sizes (0xFFFFFFFF) in the RIFF and data
    headers, so chunk sizes are clamped to the bytes actually received. Raises ValueError
    for anything that is not 16-bit integer or 32-bit float PCM.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError(f"not a WAV file (starts with {data[:12]!r})")
    position = 12
    audio_format = channels = sample_rate = bits = 0
    while position + 8 <= len(data):
        chunk_id = data[position : position + 4]
        size = struct.unpack("<I", data[position + 4 : position + 8])[0]
        body_start = position + 8
        body = data[body_start : min(len(data), body_start + size)]
        if chunk_id == b"fmt ":
            audio_format, channels, sample_rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
        elif chunk_id == b"data":
            return _to_mono16(body, audio_format, channels, sample_rate, bits)
        position = body_start + size + (size % 2)
    raise ValueError("WAV file has no data chunk")


def _to_mono16(body: bytes, audio_format: int, channels: int, sample_rate: int, bits: int) -> PcmAudio:
    if not channels or not sample_rate:
        raise ValueError("WAV data chunk comes before its fmt chunk")
    if audio_format == 1 and bits == 16:
        samples = np.frombuffer(body[: len(body) - len(body) % (2 * channels)], dtype="<i2").astype(np.float32) / 32768
    elif audio_format == 3 and bits == 32:
        samples = np.frombuffer(body[: len(body) - len(body) % (4 * channels)], dtype="<f4").astype(np.float32)
    else:
        raise ValueError(f"unsupported WAV encoding (format {audio_format}, {bits} bits): expected 16-bit PCM")
    mono = samples.reshape(-1, channels).mean(axis=1)
    pcm = np.clip(np.round(mono * 32767), -32768, 32767).astype(np.int16)
    return PcmAudio(pcm, sample_rate)


def trim_silence(audio: PcmAudio) -> PcmAudio:
    """Cut leading and trailing silence, keeping TRIM_MARGIN_SECONDS on each side."""
    loud = np.flatnonzero(np.abs(audio.samples.astype(np.int32)) > SILENCE_THRESHOLD * 32767)
    if loud.size == 0:
        return audio
    margin = int(TRIM_MARGIN_SECONDS * audio.sample_rate)
    start = max(0, int(loud[0]) - margin)
    end = min(len(audio.samples), int(loud[-1]) + 1 + margin)
    return PcmAudio(audio.samples[start:end], audio.sample_rate)


def word_timings(text: str, start: float, end: float) -> tuple[WordTiming, ...]:
    """Spread the words of `text` over [start, end] in proportion to their length."""
    words = text.split()
    if not words:
        return ()
    weights = [len(word) + 1 for word in words]
    total = sum(weights)
    timings = []
    cursor = start
    for word, weight in zip(words, weights):
        word_end = cursor + (end - start) * weight / total
        timings.append(WordTiming(text=word, start=round(cursor, 3), end=round(word_end, 3)))
        cursor = word_end
    return tuple(timings)


class SpeechProvider(ModelProvider):
    """Synthesizes a script line by line through audio.speech.create."""

    use = "speech"

    def synthesize(
        self,
        stage: str,
        script: Script,
        *,
        voice_style: str,
        output_path: Path,
        max_duration: float | None = None,
        progress: ProgressCallback = silent_progress,
    ) -> Voiceover:
        """Write the voiceover of `script` to `output_path` (WAV) and return it with line timings.

        Raises ProviderError when the speech runs past `max_duration` seconds.
        """
        voice = voice_for_style(voice_style, self._settings.speech_voice)
        deadline = self._policy.deadline()
        clips: list[PcmAudio] = []
        for index, line in enumerate(script.lines):
            text = line.spoken.strip() or line.text.strip()
            clips.append(self._synthesize_line(stage, text, voice, voice_style, deadline) if text else PcmAudio(np.zeros(0, np.int16), 0))
            progress(stage, (index + 1) / len(script.lines), f"spoke line {index + 1} of {len(script.lines)}")

        rates = {clip.sample_rate for clip in clips if clip.sample_rate}
        if len(rates) != 1:
            raise ProviderError(stage, self._policy.provider, f"speech clips came back at different sample rates {sorted(rates)}")
        rate = rates.pop()
        voiceover = _assemble(script, clips, rate, output_path, voice=f"openai:{self.model}:{voice}")
        speech_end = voiceover.lines[-1].end if voiceover.lines else 0.0
        if max_duration is not None and speech_end > max_duration:
            raise ProviderError(
                stage,
                self._policy.provider,
                f"the voiceover runs {speech_end:.1f} s but only {max_duration:.1f} s are available "
                f"before the end card; voice {voice!r} of {self.model!r} speaks slower than the script was planned for",
            )
        return voiceover

    def _synthesize_line(self, stage: str, text: str, voice: str, voice_style: str, deadline: float) -> PcmAudio:
        instructions = f"Speak in a {voice_style} tone, as in a video commercial." if voice_style else ""
        response = self._policy.call(
            stage,
            lambda timeout: self._client.audio.speech.create(
                model=self.model,
                voice=voice,
                input=text,
                response_format="wav",
                # Only the gpt-4o speech models take instructions; older ones reject them.
                instructions=instructions if self.model.startswith("gpt-4o") and instructions else openai.omit,
                timeout=timeout,
            ),
            deadline=deadline,
        )
        self._meter.add_speech(stage, self.model, len(text))
        try:
            audio = decode_wav(response.content)
        except ValueError as error:
            raise ProviderError(stage, self._policy.provider, f"returned unusable audio: {error}") from None
        if audio.duration <= 0:
            raise ProviderError(stage, self._policy.provider, f"returned empty audio for the line {text[:40]!r}")
        return trim_silence(audio)


def _assemble(script: Script, clips: list[PcmAudio], rate: int, output_path: Path, *, voice: str) -> Voiceover:
    def silence(seconds: float) -> np.ndarray:
        return np.zeros(int(round(seconds * rate)), dtype=np.int16)

    parts = [silence(LEADING_SILENCE_SECONDS)]
    cursor = LEADING_SILENCE_SECONDS
    timings = []
    for index, (line, clip) in enumerate(zip(script.lines, clips)):
        if index:
            parts.append(silence(PAUSE_SECONDS))
            cursor += len(parts[-1]) / rate
        start = cursor
        parts.append(clip.samples)
        cursor += len(clip.samples) / rate
        timings.append(LineTiming(index=index, start=round(start, 3), end=round(cursor, 3), words=word_timings(line.text, start, cursor)))
    parts.append(silence(TRAILING_SILENCE_SECONDS))
    samples = np.concatenate(parts)

    output_path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(output_path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.astype("<i2").tobytes())
    logger.debug("Wrote voiceover %s: %.2f s at %d Hz", output_path, len(samples) / rate, rate)
    return Voiceover(path=output_path, duration=len(samples) / rate, sample_rate=rate, voice=voice, lines=tuple(timings))
