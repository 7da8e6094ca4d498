"""The job runner: every stage from brief to checked MP4, with timings, progress and clear failures.

Stages run in this order: analyze, script, voice, storyboard, images (only with an image
provider), captions, music, mix, render, thumbnail, quality_check. Two pieces overlap with
the main line of work: the music bed is synthesized on a worker thread while the voice is
synthesized, and the mix runs on a worker thread while the frames render, where it is also
encoded to AAC. The video renders without sound, and the two encoded streams are then copied
into the final MP4. While drawing, the renderer hands every frame to the quality check's
black and frozen measurements and keeps the thumbnail's frame, so neither stage decodes the
whole video again.

All reports to the JobReporter come from the thread that called run_job, because the
worker's reporter writes to SQLite through a connection owned by that thread. The music and
mix worker threads queue their "started" and "done" reports at the moment they happen, and
the run_job thread forwards them in order with its next report, or while it waits for a
worker. So those events can trail the real moment by up to one progress step of the main
line, or by BACKGROUND_POLL_SECONDS while the run_job thread waits.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for_futures
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, cast

from pipeline.brief import analyze_brief
from pipeline.captions import build_captions, write_srt, write_vtt
from pipeline.config import PipelineConfig
from pipeline.errors import StageError
from pipeline.media import measure_loudness
from pipeline.mix import LIMITER_CEILING_DBTP, MixResult, mix_audio
from pipeline.models import (
    JobOutput,
    JobReporter,
    JobRequest,
    PlatformPreset,
    ProgressCallback,
    RenderSpec,
    Script,
    Storyboard,
    Voiceover,
)
from pipeline.music import synthesize_music
from pipeline.platforms import get_preset
from pipeline.providers import Providers, apply_scene_plan
from pipeline.quality import FrameChecks, check_output
from pipeline.render import FrameTap, encode_soundtrack, frame_count, mux, render_video
from pipeline.script import speech_seconds_available, write_script
from pipeline.storyboard import plan_storyboard
from pipeline.thumbnail import FrameGrab, make_thumbnail
from pipeline.voice import VoiceChoice, select_voice, synthesize_voiceover

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Share of the overall progress bar per stage, roughly in proportion to each stage's run time
# on a 2-core machine for a 30 s 1080p video. Progress stops at 99: the server sets 100.
# The background stages (music, mix) run beside these and have no share, so their reports
# carry the progress the main line has reached.
STAGE_WEIGHTS: dict[str, float] = {
    "analyze": 1.0,
    "script": 2.0,
    "voice": 6.0,
    "storyboard": 1.0,
    "images": 1.0,
    "captions": 1.0,
    "render": 76.0,
    "thumbnail": 2.0,
    "quality_check": 9.0,
}
IMAGE_STAGE_WEIGHT = 15.0
MAX_PROGRESS = 99.0
# The encoded soundtrack's true peak must not exceed this; the quality check allows -1 dBTP.
SOUNDTRACK_PEAK_DBTP = -1.2
SOUNDTRACK_ATTEMPTS = 3
# Seconds between forwarding queued worker-thread reports while the run_job thread waits for a worker.
BACKGROUND_POLL_SECONDS = 0.1


def job_seed(request: JobRequest) -> int:
    """Return request.seed, or a stable 31-bit hash of the brief when the request has none."""
    if request.seed is not None:
        return int(request.seed)
    digest = hashlib.sha256(request.brief.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


class ProgressTracker:
    """Turns (stage, fraction) reports into one overall percentage that never decreases and stays below 100.

    Reports from other threads are queued in order and sent by the owning thread with its
    next report or `flush`. A stage without a weight reports the percentage reached so far.
    """

    def __init__(self, reporter: JobReporter, weights: dict[str, float]) -> None:
        self._reporter = reporter
        self._owner = threading.get_ident()
        total = sum(weights.values())
        self._start: dict[str, float] = {}
        self._span: dict[str, float] = {}
        position = 0.0
        for stage, weight in weights.items():
            self._start[stage] = position / total * MAX_PROGRESS
            self._span[stage] = weight / total * MAX_PROGRESS
            position += weight
        self._percent = 0.0
        self._lock = threading.Lock()
        self._queued: queue.SimpleQueue[tuple[str, float, str]] = queue.SimpleQueue()
        # An exception the reporter raised (for example a lost lease); it must reach the worker unwrapped.
        self.reporter_error: BaseException | None = None

    @property
    def percent(self) -> float:
        return self._percent

    def report(self, stage: str, fraction: float, message: str = "") -> None:
        if threading.get_ident() != self._owner:
            self._queued.put((stage, fraction, message))
            return
        self.flush()
        self._send(stage, self._advance(stage, fraction), message)

    def _advance(self, stage: str, fraction: float) -> float:
        fraction = min(max(fraction, 0.0), 1.0)
        with self._lock:
            percent = self._start.get(stage, self._percent) + self._span.get(stage, 0.0) * fraction
            self._percent = min(max(percent, self._percent), MAX_PROGRESS)
            return self._percent

    def callback(self, stage: str) -> ProgressCallback:
        """Return a ProgressCallback for a stage function; the stage name it passes is ignored."""

        def forward(_name: str, fraction: float, message: str) -> None:
            self.report(stage, fraction, message)

        return forward

    def flush(self) -> None:
        """Send the reports other threads queued, in order; does nothing on any thread but the owner."""
        if threading.get_ident() != self._owner:
            return
        while True:
            try:
                stage, fraction, message = self._queued.get_nowait()
            except queue.Empty:
                return
            self._send(stage, self._advance(stage, fraction), message)

    def _send(self, stage: str, percent: float, message: str) -> None:
        try:
            self._reporter.progress(stage, round(percent, 2), message)
        except BaseException as error:
            self.reporter_error = error
            raise


@dataclass
class _Background:
    """A stage running on a worker thread and the seconds it took."""

    future: Future[object]
    seconds: list[float]


def run_job(request: JobRequest, workdir: Path, config: PipelineConfig, reporter: JobReporter) -> JobOutput:
    """Run the whole pipeline for `request`, writing every file inside `workdir`."""
    return _Job(request, workdir, config, reporter).run()


class _Job:
    def __init__(self, request: JobRequest, workdir: Path, config: PipelineConfig, reporter: JobReporter) -> None:
        self.request = request
        self.config = config
        self.reporter = reporter
        self.workdir = workdir
        self.work = workdir / "work"
        self.output = workdir / "output"
        self.seed = job_seed(request)
        self.duration = float(request.duration_seconds)
        self.stage_seconds: dict[str, float] = {}
        self.warnings: list[str] = []
        self.tracker: ProgressTracker | None = None

    def run(self) -> JobOutput:
        started = time.monotonic()
        self.work.mkdir(parents=True, exist_ok=True)
        self.output.mkdir(parents=True, exist_ok=True)
        try:
            preset = get_preset(self.request.platform)
        except KeyError as error:
            raise StageError("analyze", str(error.args[0])) from None
        with Providers.from_config(self.config) as providers, ThreadPoolExecutor(max_workers=2) as pool:
            weights = dict(STAGE_WEIGHTS)
            if providers.uses("image"):
                weights["images"] = IMAGE_STAGE_WEIGHT
            self.tracker = ProgressTracker(self.reporter, weights)
            output = self._run_stages(providers, pool, preset)
        # The intermediate audio and pictures (about 13 MB for 30 s) are of no use once the video
        # passed its checks. A failed job keeps them for diagnosis.
        shutil.rmtree(self.work, ignore_errors=True)
        logger.info("job finished in %.1f s; stage seconds %s", time.monotonic() - started, self.stage_seconds)
        return output

    # --- stages --------------------------------------------------------------------------

    def _run_stages(self, providers: Providers, pool: ThreadPoolExecutor, preset: PlatformPreset) -> JobOutput:
        request = self.request
        with self._stage("analyze"):
            offline = analyze_brief(request)
            analysis = providers.analyze_brief(request, offline, stage="analyze") or offline
            for message in analysis.fallbacks:
                self._warn("analyze", message)

        with self._stage("script"):
            voice_choice = select_voice(analysis.voice_style, analysis.language)
            self._voice_choice_warnings(voice_choice)
            words_per_minute = float(voice_choice.words_per_minute)
            script = providers.write_script(
                analysis, duration_seconds=self.duration, words_per_minute=words_per_minute, seed=self.seed
            ) or write_script(analysis, duration_seconds=self.duration, words_per_minute=words_per_minute, seed=self.seed)
            plan = providers.plan_scenes(analysis, script, seed=self.seed)
            for message in script.fallbacks:
                self._warn("script", message)

        music_path = self.work / "music.wav"
        music = self._background(
            pool,
            "music",
            lambda: synthesize_music(analysis.style, duration=self.duration, seed=self.seed, out_path=music_path),
        )

        with self._stage("voice") as progress:
            voiceover = providers.synthesize(
                script, voice_style=analysis.voice_style, output_path=self.work / "provider_voice.wav", progress=progress
            ) or synthesize_voiceover(
                script,
                voice_choice,
                self.work,
                seed=self.seed,
                max_duration=speech_seconds_available(self.duration),
                progress=progress,
            )

        with self._stage("storyboard"):
            storyboard = plan_storyboard(analysis, script, voiceover, duration_seconds=self.duration, seed=self.seed)
            if plan is not None:
                storyboard = apply_scene_plan(storyboard, plan)
            _check_storyboard(storyboard, self.duration)

        scene_images: dict[int, Path] = {}
        if providers.uses("image"):
            with self._stage("images") as progress:
                scene_images = providers.generate_images(
                    analysis, storyboard, preset, self.work / "images", progress=progress
                ) or {}

        with self._stage("captions"):
            cues, layout = build_captions(voiceover, script, preset, language=script.language)
            srt_path = write_srt(cues, self.output / "captions.srt")
            vtt_path = write_vtt(cues, self.output / "captions.vtt")

        self._join(music, "music")

        spec = RenderSpec(
            preset=preset,
            duration=self.duration,
            style=analysis.style,
            palette=analysis.palette,
            storyboard=storyboard,
            cues=cues,
            caption_layout=layout,
            brand=analysis.brand,
            call_to_action=analysis.call_to_action,
            seed=self.seed,
            scene_images=scene_images,
        )
        mix_path = self.work / "mix.wav"
        soundtrack_path = self.work / "soundtrack.m4a"

        mixing = self._background(
            pool, "mix", lambda: mix_and_encode(voiceover, music_path, spec, mix_path=mix_path, soundtrack_path=soundtrack_path)
        )
        # The settled end card shows the brand and the call to action with no caption over them.
        # A storyboard without an end card falls back to the hook.
        end_cards = [scene for scene in storyboard.scenes if scene.kind == "end_card"]
        thumbnail_scene = end_cards[-1] if end_cards else storyboard.scenes[0]
        at_seconds = thumbnail_scene.start + min(thumbnail_scene.duration * 0.6, 2.5)
        frames = frame_count(spec)
        checks = FrameChecks(frames, preset.fps)
        grab = FrameGrab(min(frames - 1, int(round(at_seconds * preset.fps))))
        video_path = self.output / "commercial.mp4"
        with self._stage("render") as progress:
            mix = self._render(spec, video_path, mixing, progress, taps=(checks, grab))

        with self._stage("thumbnail"):
            thumbnail_path = make_thumbnail(video_path, self.output / "thumbnail.jpg", at_seconds=at_seconds, drawn=grab)

        with self._stage("quality_check"):
            report = check_output(video_path, preset, duration=self.duration, frames=checks)

        for message in providers.warnings:
            self._warn("providers", message)
        details: dict[str, object] = {
            **report.as_details(),
            "platform": preset.name,
            "seed": self.seed,
            "language": analysis.language,
            "caption_cues": len(cues),
            "mix_integrated_lufs": mix.integrated_lufs,
            "mix_true_peak_dbtp": mix.true_peak_dbtp,
            "mix_loudness_range_lu": mix.loudness_range_lu,
            "brief_fallbacks": list(analysis.fallbacks),
            **providers.details(),
        }
        return JobOutput(
            video_path=video_path,
            thumbnail_path=thumbnail_path,
            srt_path=srt_path,
            vtt_path=vtt_path,
            script=_spoken_text(script, voiceover),
            duration_seconds=report.duration,
            cost_usd=providers.cost_usd,
            storyboard=storyboard,
            palette=analysis.palette,
            style=analysis.style,
            voice=voiceover.voice,
            stage_seconds=dict(self.stage_seconds),
            warnings=tuple(self.warnings),
            details=details,
        )

    def _render(
        self, spec: RenderSpec, video_path: Path, mixing: _Background, progress: ProgressCallback, taps: tuple[FrameTap, ...]
    ) -> MixResult:
        """Render the picture while the mix is made and encoded, then copy both into `video_path`."""
        # A mix that fails meanwhile stops the render at its next progress report.
        def watch_mix(stage: str, fraction: float, message: str) -> None:
            if mixing.future.done() and mixing.future.exception() is not None:
                self._join(mixing, "mix")
            progress(stage, 0.97 * fraction, message)

        silent_path = self.work / "video_only.mp4"
        render_video(spec, silent_path, audio_path=None, config=self.config, progress=watch_mix, taps=taps)
        self._flush()
        mix, soundtrack = cast(tuple[MixResult, Path], self._join(mixing, "mix"))
        progress("render", 0.98, "adding the soundtrack")
        self._flush()
        mux(silent_path, soundtrack, video_path)
        silent_path.unlink(missing_ok=True)
        return mix

    # --- helpers -------------------------------------------------------------------------

    def _background(self, pool: ThreadPoolExecutor, stage: str, work: Callable[[], T]) -> _Background:
        """Start `work` on a worker thread; its "started" and "done" reports are queued as they happen."""
        tracker = self.tracker
        assert tracker is not None
        seconds: list[float] = []

        def timed() -> object:
            tracker.report(stage, 0.0, f"{stage} started")
            began = time.monotonic()
            try:
                result = work()
            finally:
                seconds.append(time.monotonic() - began)
            logger.info("stage %s done in %.2f s", stage, seconds[0])
            tracker.report(stage, 1.0, f"{stage} done")
            return result

        return _Background(pool.submit(timed), seconds)

    def _join(self, background: _Background, stage: str) -> object:
        """Wait for a worker, forwarding its queued reports meanwhile, and return its result."""
        while not background.future.done():
            wait_for_futures([background.future], timeout=BACKGROUND_POLL_SECONDS)
            self._flush()
        self._flush()
        try:
            result = background.future.result()
        except StageError:
            raise
        except Exception as error:
            raise _unexpected(stage, error) from error
        finally:
            if background.seconds:
                self.stage_seconds[stage] = round(background.seconds[0], 3)
        return result

    @contextmanager
    def _stage(self, name: str) -> Iterator[ProgressCallback]:
        tracker = self.tracker
        assert tracker is not None
        tracker.report(name, 0.0, f"{name} started")
        began = time.monotonic()
        try:
            yield tracker.callback(name)
        except StageError:
            raise
        except Exception as error:
            if tracker.reporter_error is not None and _caused_by(error, tracker.reporter_error):
                raise tracker.reporter_error from None
            raise _unexpected(name, error) from error
        finally:
            if name not in self.stage_seconds:
                self.stage_seconds[name] = round(time.monotonic() - began, 3)
        logger.info("stage %s done in %.2f s", name, self.stage_seconds[name])
        tracker.report(name, 1.0, f"{name} done")

    def _flush(self) -> None:
        if self.tracker is not None:
            self.tracker.flush()

    def _warn(self, stage: str, message: str) -> None:
        self.warnings.append(message)
        self.reporter.warning(stage, message)

    def _voice_choice_warnings(self, voice_choice: VoiceChoice) -> None:
        if voice_choice.fallback_reason:
            self._warn("voice", voice_choice.fallback_reason)


def mix_and_encode(
    voiceover: Voiceover, music_path: Path, spec: RenderSpec, *, mix_path: Path, soundtrack_path: Path
) -> tuple[MixResult, Path]:
    """Mix the soundtrack and encode it to AAC with its true peak at or below SOUNDTRACK_PEAK_DBTP.

    AAC encoding raises true peaks by an amount that depends on the music, so the encoded stream
    is measured. When it peaks too high, the mix is limited that much lower and encoded again.
    """
    ceiling = LIMITER_CEILING_DBTP
    for attempt in range(1, SOUNDTRACK_ATTEMPTS + 1):
        mix = mix_audio(voiceover, music_path, duration=spec.duration, out_path=mix_path, ceiling_dbtp=ceiling)
        encode_soundtrack(mix.path, soundtrack_path, spec=spec)
        peak = measure_loudness(soundtrack_path, stage="mix").true_peak_dbtp
        if peak <= SOUNDTRACK_PEAK_DBTP:
            return mix, soundtrack_path
        logger.info(
            "encoded soundtrack peaks at %.2f dBTP with the limiter at %.2f dBTP (attempt %d); limiting lower",
            peak, ceiling, attempt,
        )
        ceiling -= peak - SOUNDTRACK_PEAK_DBTP
    raise StageError(
        "mix",
        f"the encoded soundtrack still peaks at {peak:.1f} dBTP, above the {SOUNDTRACK_PEAK_DBTP:.1f} dBTP limit, "
        f"after {SOUNDTRACK_ATTEMPTS} mixes; this is an internal error: retry the job, and report its id if it fails again",
    )


def _spoken_text(script: Script, voiceover: Voiceover) -> str:
    """Return the written text of the lines the voiceover reads, which may leave out lines that did not fit."""
    if not voiceover.lines:
        return script.text
    return " ".join(script.lines[timing.index].text for timing in voiceover.lines if timing.index < len(script.lines))


def _scaled(progress: ProgressCallback, low: float, high: float) -> ProgressCallback:
    def forward(stage: str, fraction: float, message: str) -> None:
        progress(stage, low + (high - low) * min(max(fraction, 0.0), 1.0), message)

    return forward


def _caused_by(error: BaseException, cause: BaseException) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        if seen is cause:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _unexpected(stage: str, error: BaseException) -> StageError:
    if isinstance(error, (ValueError, FileNotFoundError, OSError)):
        return StageError(stage, f"{type(error).__name__}: {error}")
    return StageError(
        stage,
        f"unexpected {type(error).__name__}: {error or 'no message'}. This is an internal error; retry the job, "
        "and report it with the job id if it happens again",
    )


def _check_storyboard(storyboard: Storyboard, duration: float) -> None:
    """Reject a storyboard with an empty scene or a total length other than the video's."""
    if not storyboard.scenes:
        raise StageError("storyboard", "the storyboard has no scenes; the brief needs at least one sentence to show")
    for scene in storyboard.scenes:
        if not scene.duration > 0:
            raise StageError("storyboard", f"scene {scene.index} lasts {scene.duration!r} s; every scene must be longer than zero")
    total = sum(scene.duration for scene in storyboard.scenes)
    if abs(total - duration) > 0.01:
        raise StageError("storyboard", f"scenes last {total:.3f} s in total, expected {duration:.3f} s")
