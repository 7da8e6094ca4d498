"""Optional OpenAI-compatible providers for copy, voice and images, with offline fallback.

`Providers` is the one object the orchestrator needs. Build one per job. Each method
returns the provider's result, or None when the offline stage should run instead
because no model is configured for that use or because the provider failed.
A failure is logged, recorded in `warnings` and `fallbacks`, and never carries the key.
With `RAGNAROK_PROVIDER_FALLBACK=fail` a failure raises ProviderUnavailable (a
StageError) instead, so the job fails with a message naming the stage and the provider.
After a rejected key or an exhausted quota, later stages of the job skip the provider.

Usage in the orchestrator::

    with Providers.from_config(config) as providers:
        offline_analysis = analyze_brief(request)
        analysis = providers.analyze_brief(request, offline_analysis) or offline_analysis
        script = providers.write_script(
            analysis, duration_seconds=request.duration_seconds, words_per_minute=wpm, seed=seed
        ) or write_script(analysis, duration_seconds=request.duration_seconds, words_per_minute=wpm, seed=seed)
        plan = providers.plan_scenes(analysis, script, seed=seed)
        voiceover = providers.synthesize(
            script,
            voice_style=analysis.voice_style,
            output_path=workdir / "voice.wav",
            max_duration=speech_seconds_available(request.duration_seconds),
        ) or synthesize_voiceover(...)
        storyboard = plan_storyboard(analysis, script, voiceover, duration_seconds=..., seed=seed)
        if plan is not None:
            storyboard = apply_scene_plan(storyboard, plan)
        scene_images = providers.generate_images(analysis, storyboard, preset, workdir / "images") or {}
        for message in providers.warnings:
            reporter.warning("providers", message)
        cost_usd = providers.cost_usd          # 0.0 when everything ran offline
        details = {**details, **providers.details()}

Each method takes a `stage` keyword (defaults "brief", "script", "storyboard", "voice",
"images") that names the stage in warnings and errors.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pipeline.config import PipelineConfig, ProviderSettings
from pipeline.errors import StageError
from pipeline.models import (
    BriefAnalysis,
    JobRequest,
    PlatformPreset,
    ProgressCallback,
    Script,
    Storyboard,
    Voiceover,
    silent_progress,
)
from pipeline.providers.client import (
    ProviderAuthError,
    ProviderError,
    ProviderOutputError,
    ProviderQuotaError,
    RetryPolicy,
    build_client,
    redact,
)
from pipeline.providers.cost import CostItem, CostMeter

# The OpenAI SDK takes about 0.4 s to import, so the modules that use it load only when a
# provider is configured: an offline job never imports it.
if TYPE_CHECKING:
    import openai

    from pipeline.providers.copy import CopyProvider, PlannedShot, ScenePlan
    from pipeline.providers.images import ImageProvider
    from pipeline.providers.speech import SpeechProvider

__all__ = [
    "CostItem",
    "Fallback",
    "PlannedShot",
    "ProviderAuthError",
    "ProviderError",
    "ProviderOutputError",
    "ProviderQuotaError",
    "ProviderUnavailable",
    "Providers",
    "ScenePlan",
    "apply_scene_plan",
]

logger = logging.getLogger(__name__)

_COPY_NAMES = frozenset({"PlannedShot", "ScenePlan"})


def __getattr__(name: str) -> Any:
    """Return the scene plan types from pipeline.providers.copy, importing it on first use."""
    if name in _COPY_NAMES:
        from pipeline.providers import copy

        return getattr(copy, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def apply_scene_plan(storyboard: Storyboard, plan: ScenePlan) -> Storyboard:
    """Return `storyboard` with on-screen text, visual direction and transition taken from `plan`."""
    from pipeline.providers.copy import apply_scene_plan as apply

    return apply(storyboard, plan)

T = TypeVar("T")
Use = Literal["copy", "speech", "image"]

# Name of the offline stage that replaces each use's provider, for warnings.
_OFFLINE_NAME = {"copy": "offline writer", "speech": "local voice", "image": "procedural visuals"}


class ProviderUnavailable(StageError):
    """A provider failed and RAGNAROK_PROVIDER_FALLBACK=fail forbids the offline fallback."""

    def __init__(self, stage: str, provider: str, reason: str) -> None:
        super().__init__(stage, f"provider {provider}: {reason}")
        self.provider = provider
        self.reason = reason


@dataclass(frozen=True)
class Fallback:
    """A stage whose provider failed, so the offline stage ran instead."""

    stage: str
    provider: str
    model: str
    reason: str


class Providers:
    """The providers of one job, with its warnings, fallbacks and cost."""

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        client: openai.OpenAI | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self._client = client if client is not None or not settings.enabled else build_client(settings)
        self.policy = RetryPolicy(settings, sleep=sleep)
        self.meter = CostMeter(settings.prices)
        self._warnings: list[str] = []
        self._fallbacks: list[Fallback] = []
        # Set after a rejected key or exhausted quota: every later call would fail the same way.
        self._blocked: ProviderError | None = None

    @classmethod
    def from_config(cls, config: PipelineConfig, *, sleep: Callable[[float], None] = time.sleep) -> Providers:
        return cls(config.providers, sleep=sleep)

    def __enter__(self) -> Providers:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(self._warnings)

    @property
    def fallbacks(self) -> tuple[Fallback, ...]:
        return tuple(self._fallbacks)

    @property
    def cost_usd(self) -> float:
        return self.meter.total_usd

    def uses(self, use: Use) -> bool:
        """Return True when a model is configured for `use`."""
        return bool(self.settings.model_for(use)) and self._client is not None

    def details(self) -> dict[str, object]:
        """Describe the providers used, for JobOutput.details."""
        provider = self.settings.host if self.settings.enabled else None
        return {
            "providers": {
                use: f"{self.settings.model_for(use)}@{provider}" if self.uses(use) else "offline"
                for use in ("copy", "speech", "image")
            },
            "fallbacks": [f"{fallback.stage}: {fallback.reason}" for fallback in self._fallbacks],
            "provider_cost_usd": self.cost_usd,
        }

    # --- copy ---------------------------------------------------------------------------

    def analyze_brief(self, request: JobRequest, baseline: BriefAnalysis, *, stage: str = "brief") -> BriefAnalysis | None:
        """Return the model's analysis of the brief on top of the offline `baseline`, or None."""
        return self._run(stage, "copy", lambda: self._copy().analyze_brief(stage, request, baseline))

    def write_script(
        self,
        analysis: BriefAnalysis,
        *,
        duration_seconds: float,
        words_per_minute: float,
        seed: int | None = None,
        stage: str = "script",
    ) -> Script | None:
        """Return a script that fits `duration_seconds` at `words_per_minute`, or None."""
        return self._run(
            stage,
            "copy",
            lambda: self._copy().write_script(
                stage, analysis, duration_seconds=duration_seconds, words_per_minute=words_per_minute, seed=seed
            ),
        )

    def plan_scenes(
        self, analysis: BriefAnalysis, script: Script, *, seed: int | None = None, stage: str = "storyboard"
    ) -> ScenePlan | None:
        """Return one planned shot per script line, for apply_scene_plan, or None."""
        return self._run(stage, "copy", lambda: self._copy().plan_scenes(stage, analysis, script, seed=seed))

    # --- voice and images ---------------------------------------------------------------

    def synthesize(
        self,
        script: Script,
        *,
        voice_style: str,
        output_path: Path,
        max_duration: float | None = None,
        progress: ProgressCallback = silent_progress,
        stage: str = "voice",
    ) -> Voiceover | None:
        """Write the voiceover to `output_path` (WAV) and return it, or None.

        A voiceover whose speech runs past `max_duration` seconds counts as a failure.
        """
        return self._run(
            stage,
            "speech",
            lambda: self._speech().synthesize(
                stage,
                script,
                voice_style=voice_style,
                output_path=output_path,
                max_duration=max_duration,
                progress=progress,
            ),
        )

    def generate_images(
        self,
        analysis: BriefAnalysis,
        storyboard: Storyboard,
        preset: PlatformPreset,
        output_dir: Path,
        *,
        progress: ProgressCallback = silent_progress,
        stage: str = "images",
    ) -> dict[int, Path] | None:
        """Return {scene index: PNG path} for RenderSpec.scene_images, or None."""
        return self._run(
            stage,
            "image",
            lambda: self._images().generate(
                stage, analysis, storyboard, preset, output_dir, progress=progress
            ),
        )

    # --- shared -------------------------------------------------------------------------

    def _require_client(self) -> openai.OpenAI:
        if self._client is None:
            raise AssertionError("a provider call ran without a configured provider")
        return self._client

    def _copy(self) -> CopyProvider:
        from pipeline.providers.copy import CopyProvider

        return CopyProvider(self._require_client(), self.settings, self.policy, self.meter)

    def _speech(self) -> SpeechProvider:
        from pipeline.providers.speech import SpeechProvider

        return SpeechProvider(self._require_client(), self.settings, self.policy, self.meter)

    def _images(self) -> ImageProvider:
        from pipeline.providers.images import ImageProvider

        return ImageProvider(self._require_client(), self.settings, self.policy, self.meter)

    def _run(self, stage: str, use: Use, call: Callable[[], T]) -> T | None:
        if not self.uses(use):
            return None
        provider = self.settings.host
        if self._blocked is not None:
            self._fall_back(stage, use, self._blocked.reason)
            return None
        import openai

        try:
            return call()
        except ProviderError as error:
            if isinstance(error, (ProviderAuthError, ProviderQuotaError)):
                self._blocked = error
            self._fall_back(stage, use, error.reason)
        except openai.OpenAIError as error:
            secret = self.settings.api_key.get_secret_value() if self.settings.api_key else None
            logger.debug("%s: unexpected error from %s: %s", stage, provider, type(error).__name__)
            self._fall_back(stage, use, f"unexpected client error: {redact(str(error), secret)}")
        return None

    def _fall_back(self, stage: str, use: Use, reason: str) -> None:
        """Record that `stage` falls back to its offline stage, or raise when fallback is "fail"."""
        provider = self.settings.host
        model = self.settings.model_for(use)
        if self.settings.fallback == "fail":
            raise ProviderUnavailable(stage, provider, reason)
        message = f"{stage}: provider {provider} (model {model}) failed: {reason}. Used the {_OFFLINE_NAME[use]} instead."
        logger.warning("%s", message)
        self._warnings.append(message)
        self._fallbacks.append(Fallback(stage=stage, provider=provider, model=model, reason=reason))
