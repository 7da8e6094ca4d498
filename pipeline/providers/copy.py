"""Brief analysis, script and storyboard plan written by a chat model as structured output.

Each request uses chat.completions with a strict json_schema response format, which
OpenAI and the common local servers (vLLM, llama.cpp server, Ollama, LiteLLM) support.
The response is validated twice: against the pydantic model that produced the schema, and
for content the schema cannot express (script length for the duration, section order, colour
contrast). An invalid response is sent back with the validation errors for another try,
up to `max_validation_retries` times. After that ProviderOutputError is raised and the
caller falls back to the offline stage.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeVar

import openai
from openai.types.chat import ChatCompletionMessageParam
from openai.types.shared_params import ResponseFormatJSONSchema
from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator, model_validator

from pipeline.models import BriefAnalysis, JobRequest, Palette, Script, ScriptLine, Storyboard, Transition
from pipeline.providers.base import ModelProvider
from pipeline.providers.client import ProviderOutputError
from pipeline.script import (
    LEAD_IN_SECONDS,
    LINE_PAUSE_SECONDS,
    MAX_FILL,
    estimate_speech_seconds,
    speech_seconds_available,
    spoken_units,
)
from pipeline.textnorm import to_spoken

logger = logging.getLogger(__name__)

OutputT = TypeVar("OutputT", bound=BaseModel)

SECTION_ORDER = ("hook", "problem", "solution", "proof", "cta")
# Lowest accepted share of the speech time a script may fill. The highest is the offline
# writer's MAX_FILL, so a model's script fits before the end card as the offline one does.
MIN_ACCEPTED_FILL = 0.70
# Languages the script may be written in, as for the offline writer; others get English copy.
SCRIPT_LANGUAGES = ("en", "zh", "ja", "ko")
# Unit of the speaking rate in each language, for the prompt and error messages.
RATE_UNITS = {"zh": "syllables (one per Chinese character)", "ja": "kana", "ko": "Hangul syllables"}
# Maximum line length in rate units (words in English), so that captions stay short.
MAX_LINE_UNITS = 30
MIN_TEXT_CONTRAST = 3.0
_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_MAX_FEEDBACK_ERRORS = 8


class _Output(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- brief analysis ------------------------------------------------------------------


class PaletteOutput(_Output):
    primary: str
    secondary: str
    accent: str
    background: str
    text: str

    @field_validator("primary", "secondary", "accent", "background", "text")
    @classmethod
    def _check_hex(cls, value: str) -> str:
        if not _HEX_COLOUR.fullmatch(value.strip()):
            raise ValueError(f"invalid colour {value!r}: use #rrggbb, for example #1a2b3c")
        return value.strip().lower()

    @model_validator(mode="after")
    def _check_contrast(self) -> PaletteOutput:
        ratio = contrast_ratio(self.text, self.background)
        if ratio < MIN_TEXT_CONTRAST:
            raise ValueError(
                f"text colour {self.text} on background {self.background} has contrast {ratio:.2f}; "
                f"choose colours with a contrast ratio of at least {MIN_TEXT_CONTRAST:g}"
            )
        return self


class BriefOutput(_Output):
    brand: str
    product: str
    audience: str
    benefits: list[str]
    tone: str
    call_to_action: str
    # BCP 47 primary language subtag of the brief, such as "en" or "ja".
    language: str
    palette: PaletteOutput

    @field_validator("brand", "product", "audience", "tone", "call_to_action")
    @classmethod
    def _check_text(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("must not be empty")
        if len(value) > 120:
            raise ValueError(f"too long ({len(value)} characters): keep it under 120")
        return value

    @field_validator("benefits")
    @classmethod
    def _check_benefits(cls, value: list[str]) -> list[str]:
        cleaned = [" ".join(item.split()) for item in value if item.strip()]
        if not 1 <= len(cleaned) <= 5:
            raise ValueError(f"give 1 to 5 non-empty benefits, got {len(cleaned)}")
        return cleaned

    @field_validator("language")
    @classmethod
    def _check_language(cls, value: str) -> str:
        value = value.strip().lower()
        if not re.fullmatch(r"[a-z]{2,3}", value):
            raise ValueError(f"invalid language {value!r}: use a BCP 47 primary subtag such as 'en'")
        return value


# --- script ----------------------------------------------------------------------------


class ScriptLineOutput(_Output):
    section: Literal["hook", "problem", "solution", "proof", "cta"]
    text: str


class ScriptOutput(_Output):
    lines: list[ScriptLineOutput]

    @model_validator(mode="after")
    def _check_content(self, info: ValidationInfo) -> ScriptOutput:
        if not self.lines:
            raise ValueError("the script has no lines")
        context = info.context or {}
        language = context.get("language", "en")
        units = RATE_UNITS.get(language, "words")
        for number, line in enumerate(self.lines, start=1):
            if not line.text.strip():
                raise ValueError(f"line {number} is empty: every line must say something")
            if spoken_units(to_spoken(line.text, language), language) > MAX_LINE_UNITS:
                raise ValueError(f"line {number} has more than {MAX_LINE_UNITS} {units}: split it into shorter sentences")
        check_section_order([line.section for line in self.lines])
        if "length" in context:
            context["length"].check([line.text for line in self.lines])
        return self


@dataclass(frozen=True)
class ScriptLength:
    """The speaking time a script must fill, checked with the offline writer's estimate."""

    duration_seconds: float
    words_per_minute: float
    language: str

    @property
    def units(self) -> str:
        return RATE_UNITS.get(self.language, "words")

    def seconds_range(self) -> tuple[float, float]:
        available = speech_seconds_available(self.duration_seconds)
        return MIN_ACCEPTED_FILL * available, MAX_FILL * available

    def units_range(self, line_count: int) -> tuple[int, int]:
        """Return the lowest and highest total rate units for a script of `line_count` lines."""
        fixed = LEAD_IN_SECONDS + LINE_PAUSE_SECONDS * max(line_count - 1, 0)
        low, high = (max(0.0, seconds - fixed) * self.words_per_minute / 60 for seconds in self.seconds_range())
        return max(1, math.ceil(low)), max(1, math.floor(high))

    def check(self, texts: Sequence[str]) -> None:
        """Raise ValueError when `texts` read aloud would not fill the accepted speaking time."""
        lines = [ScriptLine("hook", text, to_spoken(text, self.language)) for text in texts]
        seconds = estimate_speech_seconds(lines, self.words_per_minute, self.language)
        low, high = self.seconds_range()
        if not low <= seconds <= high:
            count = sum(spoken_units(line.spoken, self.language) for line in lines)
            fewest, most = self.units_range(len(lines))
            raise ValueError(
                f"the script has about {count:.0f} {self.units}, which take about {seconds:.1f} s to read at "
                f"{self.words_per_minute:g} {self.units} per minute, but a {self.duration_seconds:g}-second commercial "
                f"needs {low:.1f} to {high:.1f} s of speech: write {fewest} to {most} {self.units} in total"
            )


# --- storyboard plan -------------------------------------------------------------------


class ShotOutput(_Output):
    on_screen_text: str
    visual_direction: str
    transition: Literal["cut", "crossfade", "wipe", "slide", "zoom", "glitch"]

    @field_validator("on_screen_text")
    @classmethod
    def _check_on_screen_text(cls, value: str) -> str:
        value = " ".join(value.split())
        if len(value) > 60:
            raise ValueError(f"on-screen text is {len(value)} characters long: keep it under 60")
        return value

    @field_validator("visual_direction")
    @classmethod
    def _check_direction(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("visual direction must not be empty")
        return value


class PlanOutput(_Output):
    shots: list[ShotOutput]

    @model_validator(mode="after")
    def _check_count(self, info: ValidationInfo) -> PlanOutput:
        expected = (info.context or {}).get("line_count")
        if expected is not None and len(self.shots) != expected:
            raise ValueError(f"expected {expected} shots, one per script line in order, got {len(self.shots)}")
        return self


@dataclass(frozen=True)
class PlannedShot:
    """The on-screen text, visual direction and transition for one script line."""

    line_index: int
    narration: str
    on_screen_text: str
    visual_direction: str
    transition: Transition


@dataclass(frozen=True)
class ScenePlan:
    """A storyboard plan from a model: one shot per script line, in script order."""

    shots: tuple[PlannedShot, ...]


def apply_scene_plan(storyboard: Storyboard, plan: ScenePlan) -> Storyboard:
    """Return `storyboard` with on-screen text, visual direction and transition taken from `plan`.

    Timing, narration and the end card stay as the offline planner made them. Scenes are
    matched to shots by narration text, or by order when the planner made one scene per line.
    """
    scenes = [scene for scene in storyboard.scenes if scene.kind == "scene"]
    by_narration = {" ".join(shot.narration.split()): shot for shot in plan.shots}
    by_order = len(scenes) == len(plan.shots)
    updated = []
    position = 0
    for scene in storyboard.scenes:
        if scene.kind != "scene":
            updated.append(scene)
            continue
        shot = by_narration.get(" ".join(scene.narration.split()))
        if shot is None and by_order:
            shot = plan.shots[position]
        position += 1
        if shot is None:
            updated.append(scene)
            continue
        updated.append(
            replace(
                scene,
                on_screen_text=shot.on_screen_text or scene.on_screen_text,
                visual_direction=shot.visual_direction,
                transition=shot.transition,
            )
        )
    return Storyboard(scenes=tuple(updated))


# --- content checks --------------------------------------------------------------------


def check_section_order(sections: Sequence[str]) -> None:
    """Raise ValueError unless sections start with hook, end with cta and never go back."""
    if sections[0] != "hook":
        raise ValueError(f"the first line must be the hook, got {sections[0]!r}")
    if sections[-1] != "cta":
        raise ValueError(f"the last line must be the call to action (cta), got {sections[-1]!r}")
    ranks = [SECTION_ORDER.index(section) for section in sections]
    for number, (before, after) in enumerate(zip(ranks, ranks[1:]), start=2):
        if after < before:
            raise ValueError(
                f"line {number} is {sections[number - 1]!r} after {sections[number - 2]!r}: "
                f"keep sections in the order {', '.join(SECTION_ORDER)}"
            )


def contrast_ratio(first: str, second: str) -> float:
    """Return the WCAG 2 contrast ratio of two "#rrggbb" colours, from 1 to 21."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


# --- the provider ----------------------------------------------------------------------


class CopyProvider(ModelProvider):
    """Calls a chat model for brief analysis, the script and the storyboard plan."""

    use = "copy"

    def analyze_brief(self, stage: str, request: JobRequest, baseline: BriefAnalysis) -> BriefAnalysis:
        """Return `baseline` with the brief-derived fields written by the model.

        Industry, style, voice style and the colour names found in the brief stay as the
        baseline resolved them from the request.
        """
        named = ", ".join(baseline.palette.named) or "none"
        messages = [
            _system(
                "You are a senior copywriter analysing a brief for a short video commercial. "
                "Extract the brand, product, target audience, up to five concrete benefits, tone "
                "and a short call to action, in the brief's own language. Choose a palette of five "
                "#rrggbb colours that fits the brand; text must be readable on background. "
                "Use the colours the brief names when it names any."
            ),
            _user(
                f"Brief: {request.brief}\nIndustry: {baseline.industry}\nVisual style: {baseline.style}\n"
                f"Colours named in the brief: {named}"
            ),
        ]
        output = self._complete(stage, BriefOutput, messages, context={}, seed=request.seed)
        palette = output.palette
        return replace(
            baseline,
            brand=output.brand,
            product=output.product,
            audience=output.audience,
            benefits=tuple(output.benefits),
            tone=output.tone,
            call_to_action=output.call_to_action,
            language=output.language,
            palette=Palette(
                primary=palette.primary,
                secondary=palette.secondary,
                accent=palette.accent,
                background=palette.background,
                text=palette.text,
                named=baseline.palette.named,
            ),
        )

    def write_script(
        self, stage: str, analysis: BriefAnalysis, *, duration_seconds: float, words_per_minute: float, seed: int | None
    ) -> Script:
        language = analysis.language if analysis.language in SCRIPT_LANGUAGES else "en"
        length = ScriptLength(duration_seconds, words_per_minute, language)
        fewest, most = length.units_range(line_count=5)
        messages = [
            _system(
                "You write voiceover scripts for video commercials. Write short spoken sentences, "
                "one per line, in the sections hook, problem, solution, proof, cta, in that order; "
                "start with the hook and end with the call to action (cta). problem, solution and "
                "proof may take several lines or be left out. Write in the language given."
            ),
            _user(
                f"Brand: {analysis.brand}\nProduct: {analysis.product}\nAudience: {analysis.audience}\n"
                f"Benefits: {'; '.join(analysis.benefits)}\nTone: {analysis.tone}\n"
                f"Call to action: {analysis.call_to_action}\nLanguage: {language}\n"
                f"Length: between {fewest} and {most} {length.units} in total (for five lines), for a "
                f"{duration_seconds:g}-second commercial read at {words_per_minute:g} {length.units} per minute."
            ),
        ]
        context = {"language": language, "length": length}
        output = self._complete(stage, ScriptOutput, messages, context=context, seed=seed)
        lines = []
        for line in output.lines:
            text = " ".join(line.text.split())
            lines.append(ScriptLine(section=line.section, text=text, spoken=to_spoken(text, language)))
        notes: tuple[str, ...] = ()
        if language != analysis.language:
            notes = (f"The script is in English because the voice cannot speak {analysis.language!r}.",)
        return Script(lines=tuple(lines), words_per_minute=words_per_minute, language=language, fallbacks=notes)

    def plan_scenes(self, stage: str, analysis: BriefAnalysis, script: Script, *, seed: int | None) -> ScenePlan:
        numbered = "\n".join(f"{number}. [{line.section}] {line.text}" for number, line in enumerate(script.lines, 1))
        messages = [
            _system(
                "You are a commercial director planning shots. For each script line, in order, give "
                "the short on-screen text (a few words, not the full sentence, or empty), a visual "
                "direction describing the background image or footage (no text in the picture), and "
                "the transition into the next shot: cut, crossfade, wipe, slide, zoom or glitch."
            ),
            _user(
                f"Brand: {analysis.brand}\nVisual style: {analysis.style}\nTone: {analysis.tone}\n"
                f"Palette: {', '.join(analysis.palette.as_list())}\n"
                f"Script ({len(script.lines)} lines, one shot each):\n{numbered}"
            ),
        ]
        output = self._complete(stage, PlanOutput, messages, context={"line_count": len(script.lines)}, seed=seed)
        shots = tuple(
            PlannedShot(
                line_index=index,
                narration=line.text,
                on_screen_text=shot.on_screen_text,
                visual_direction=shot.visual_direction,
                transition=shot.transition,
            )
            for index, (line, shot) in enumerate(zip(script.lines, output.shots))
        )
        return ScenePlan(shots=shots)

    def _complete(
        self,
        stage: str,
        output_type: type[OutputT],
        messages: list[ChatCompletionMessageParam],
        *,
        context: dict[str, Any],
        seed: int | None,
    ) -> OutputT:
        """Request `output_type` as JSON, feeding validation errors back until a response passes."""
        deadline = self._policy.deadline()
        conversation: list[ChatCompletionMessageParam] = list(messages)
        response_format: ResponseFormatJSONSchema = {
            "type": "json_schema",
            "json_schema": {"name": output_type.__name__, "strict": True, "schema": strict_json_schema(output_type)},
        }
        attempts = self._settings.max_validation_retries + 1
        feedback = ""
        for attempt in range(1, attempts + 1):
            completion = self._policy.call(
                stage,
                lambda timeout: self._client.chat.completions.create(
                    model=self.model,
                    messages=conversation,
                    response_format=response_format,
                    seed=seed if seed is not None else openai.omit,
                    timeout=timeout,
                ),
                deadline=deadline,
            )
            self._meter.add_chat(stage, self.model, completion.usage)
            content = _answer_text(completion)
            try:
                return output_type.model_validate_json(_strip_code_fence(content), context=context)
            except ValidationError as error:
                feedback = format_validation_errors(error)
            logger.warning(
                "%s: response %d of %d from %s (%s) failed validation: %s",
                stage, attempt, attempts, self._policy.provider, self.model, feedback,
            )
            conversation = [
                *conversation,
                {"role": "assistant", "content": content},
                _user(
                    "Your answer was rejected because it failed validation:\n"
                    f"{feedback}\nReply again with the complete corrected JSON object only."
                ),
            ]
        raise ProviderOutputError(
            stage,
            self._policy.provider,
            f"the responses of model {self.model!r} failed validation {attempts} times; last errors: "
            + "; ".join(line.removeprefix("- ") for line in feedback.splitlines()),
        )


def format_validation_errors(error: ValidationError) -> str:
    """Describe each validation error on its own line, as "- path: message"."""
    lines = []
    for problem in error.errors(include_url=False)[:_MAX_FEEDBACK_ERRORS]:
        where = ".".join(str(part) for part in problem["loc"]) or "answer"
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"- {where}: {message}")
    return "\n".join(lines)


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """Return the JSON schema of `model` in the form strict structured output requires.

    Every object lists all its properties as required and forbids others; titles go,
    since some local servers reject unknown keywords.
    """
    schema = model.model_json_schema()

    def tighten(node: Any) -> None:
        if isinstance(node, dict):
            node.pop("title", None)
            node.pop("default", None)
            if node.get("type") == "object" and "properties" in node:
                node["required"] = list(node["properties"])
                node["additionalProperties"] = False
            for value in node.values():
                tighten(value)
        elif isinstance(node, list):
            for item in node:
                tighten(item)

    tighten(schema)
    return schema


def _answer_text(completion: Any) -> str:
    if not completion.choices:
        return ""
    message = completion.choices[0].message
    refusal = getattr(message, "refusal", None)
    if refusal:
        return json.dumps({"refusal": str(refusal)})
    return message.content or ""


def _strip_code_fence(content: str) -> str:
    """Remove a ```json fence that some local models put around JSON despite the schema."""
    match = re.fullmatch(r"\s*```(?:json)?\s*(.*?)\s*```\s*", content, flags=re.DOTALL)
    return match.group(1) if match else content


def _system(text: str) -> ChatCompletionMessageParam:
    return {"role": "system", "content": text}


def _user(text: str) -> ChatCompletionMessageParam:
    return {"role": "user", "content": text}
