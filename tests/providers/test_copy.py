"""Brief analysis, script and storyboard plan from a chat model, with validation and fallback."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

import pytest
from pydantic import ValidationError

from pipeline.models import JobRequest, Scene, Storyboard
from pipeline.script import estimate_speech_seconds, speech_seconds_available
from pipeline.textnorm import to_spoken
from pipeline.providers import PlannedShot, Providers, ScenePlan, apply_scene_plan
from pipeline.providers.copy import (
    BriefOutput,
    ScriptOutput,
    contrast_ratio,
    ScriptLength,
    strict_json_schema,
)
from tests.providers.conftest import baseline_analysis, sample_script
from tests.providers.fake_openai import (
    CHAT,
    COMPLETION_TOKENS,
    PROMPT_TOKENS,
    FakeOpenAI,
    chat_reply,
    valid_brief,
    valid_script,
)

REQUEST = JobRequest(brief="A cloud notebook for busy students who lose their notes.", seed=7)


def last_user_message(body: dict[str, object]) -> str:
    messages = body["messages"]
    assert isinstance(messages, list)
    return str(messages[-1]["content"])


def test_analysis_merges_model_and_baseline(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    analysis = make_providers().analyze_brief(REQUEST, baseline_analysis())

    assert analysis is not None
    assert analysis.brand == "Nimbus"
    assert analysis.benefits == ("syncs everywhere", "works offline", "free for students")
    assert analysis.palette.primary == "#1e88e5"
    # Resolved from the request by the offline analyzer, not by the model.
    assert analysis.style == "minimal"
    assert analysis.industry == "education"
    assert analysis.voice_style == "energetic"
    assert analysis.palette.named == ("cosmic cyan",)
    [request] = fake.requests_to(CHAT)
    assert request.body["seed"] == 7
    assert "cosmic cyan" in last_user_message(request.body)


def test_malformed_json_recovers_with_feedback(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    fake.script(CHAT, chat_reply('{"brand": "Nimbus", "product": '))
    providers = make_providers()

    analysis = providers.analyze_brief(REQUEST, baseline_analysis())

    assert analysis is not None
    first, second = fake.requests_to(CHAT)
    messages = second.body["messages"]
    assert len(messages) == len(first.body["messages"]) + 2
    assert messages[-2] == {"role": "assistant", "content": '{"brand": "Nimbus", "product": '}
    feedback = last_user_message(second.body)
    assert "failed validation" in feedback
    assert "Invalid JSON" in feedback
    assert providers.warnings == ()


def test_code_fence_accepted(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    fake.script(CHAT, chat_reply("```json\n" + json.dumps(valid_brief()) + "\n```"))

    assert make_providers().analyze_brief(REQUEST, baseline_analysis()) is not None
    assert len(fake.requests_to(CHAT)) == 1


def test_short_script_retried_with_length(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    fake.script(CHAT, chat_reply(json.dumps(valid_script(5))))
    providers = make_providers()

    script = providers.write_script(baseline_analysis(), duration_seconds=30, words_per_minute=150)

    assert script is not None
    seconds = estimate_speech_seconds(script.lines, 150)
    assert 0.70 * speech_seconds_available(30) <= seconds <= 0.95 * speech_seconds_available(30)
    first, second = fake.requests_to(CHAT)
    fewest, most = ScriptLength(30, 150, "en").units_range(5)
    assert f"between {fewest} and {most} words" in last_user_message(first.body)
    feedback = last_user_message(second.body)
    assert "the script has about 5 words, which take about" in feedback
    assert f"write {fewest} to {most} words in total" in feedback


def test_long_script_rejected(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    fake.script(CHAT, chat_reply(json.dumps(valid_script(140))))

    assert make_providers().write_script(baseline_analysis(), duration_seconds=30, words_per_minute=150) is not None
    assert "the script has about 140 words" in last_user_message(fake.requests_to(CHAT)[1].body)


def test_script_lines_get_spoken_form(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    script = make_providers().write_script(baseline_analysis(), duration_seconds=15, words_per_minute=150, seed=3)

    assert script is not None
    assert script.words_per_minute == 150
    assert script.language == "en"
    assert [line.section for line in script.lines] == ["hook", "problem", "solution", "proof", "cta"]
    for line in script.lines:
        assert line.spoken == to_spoken(line.text, "en")


def test_unsupported_language_gets_english(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    analysis = replace(baseline_analysis(), language="fr")

    script = make_providers().write_script(analysis, duration_seconds=15, words_per_minute=150)

    assert script is not None
    assert script.language == "en"
    assert script.fallbacks == ("The script is in English because the voice cannot speak 'fr'.",)
    assert "Language: en" in last_user_message(fake.requests_to(CHAT)[0].body)


def test_sections_out_of_order_retried(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    script = valid_script(60)
    script["lines"][1], script["lines"][2] = script["lines"][2], script["lines"][1]
    fake.script(CHAT, chat_reply(json.dumps(script)))

    result = make_providers().write_script(baseline_analysis(), duration_seconds=30, words_per_minute=150)

    assert result is not None
    feedback = last_user_message(fake.requests_to(CHAT)[1].body)
    assert "line 3 is 'problem' after 'solution'" in feedback


def test_invalid_colour_retried(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    brief = valid_brief()
    brief["palette"]["accent"] = "orange"
    brief["palette"]["text"] = "#0c1121"
    fake.script(CHAT, chat_reply(json.dumps(brief)))

    assert make_providers().analyze_brief(REQUEST, baseline_analysis()) is not None
    feedback = last_user_message(fake.requests_to(CHAT)[1].body)
    assert "palette.accent: invalid colour 'orange': use #rrggbb" in feedback


def test_content_invalid_every_time_falls_back(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    fake.set_default(CHAT, lambda request: chat_reply(json.dumps(valid_script(5))))
    providers = make_providers(max_validation_retries=2)

    script = providers.write_script(baseline_analysis(), duration_seconds=30, words_per_minute=150)

    assert script is None
    assert len(fake.requests_to(CHAT)) == 3
    [fallback] = providers.fallbacks
    assert fallback.stage == "script"
    assert fallback.model == "fake-chat"
    assert "failed validation 3 times" in fallback.reason
    assert "last errors: answer: the script has about 5 words, which take about" in fallback.reason
    [warning] = providers.warnings
    assert warning.startswith("script: provider 127.0.0.1:")
    assert warning.endswith("Used the offline writer instead.")


def test_plan_has_one_shot_per_line(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    script = sample_script()

    plan = make_providers().plan_scenes(baseline_analysis(), script, seed=1)

    assert plan is not None
    assert [shot.narration for shot in plan.shots] == [line.text for line in script.lines]
    assert [shot.transition for shot in plan.shots] == ["cut", "crossfade", "wipe"]
    assert "(3 lines" in last_user_message(fake.requests_to(CHAT)[0].body)


def test_plan_with_wrong_shot_count_retried(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    fake.script(CHAT, chat_reply(json.dumps({"shots": []})))

    plan = make_providers().plan_scenes(baseline_analysis(), sample_script())

    assert plan is not None
    assert "expected 3 shots, one per script line in order, got 0" in last_user_message(fake.requests_to(CHAT)[1].body)


def test_apply_scene_plan_keeps_timing() -> None:
    script = sample_script()
    storyboard = Storyboard(
        scenes=tuple(
            Scene(index=i, start=i * 4.0, duration=4.0, narration=line.text, on_screen_text="old", visual_direction="old")
            for i, line in enumerate(script.lines)
        )
        + (Scene(index=3, start=12.0, duration=3.0, narration="", on_screen_text="Nimbus", visual_direction="card", kind="end_card"),)
    )
    plan = ScenePlan(
        shots=tuple(
            PlannedShot(
                line_index=i, narration=line.text, on_screen_text=f"new {i}", visual_direction=f"sky {i}", transition="zoom"
            )
            for i, line in enumerate(script.lines)
        )
    )

    updated = apply_scene_plan(storyboard, plan)

    assert [scene.on_screen_text for scene in updated.scenes] == ["new 0", "new 1", "new 2", "Nimbus"]
    assert [scene.visual_direction for scene in updated.scenes[:3]] == ["sky 0", "sky 1", "sky 2"]
    assert [(scene.start, scene.duration) for scene in updated.scenes] == [(s.start, s.duration) for s in storyboard.scenes]
    assert updated.scenes[3] == storyboard.scenes[3]
    assert storyboard.scenes[0].on_screen_text == "old"


def test_cost_from_reported_usage(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    providers = make_providers()

    providers.analyze_brief(REQUEST, baseline_analysis())
    providers.write_script(baseline_analysis(), duration_seconds=15, words_per_minute=150)

    per_call = (PROMPT_TOKENS * 2.0 + COMPLETION_TOKENS * 8.0) / 1_000_000
    assert providers.cost_usd == pytest.approx(2 * per_call)
    assert [item.stage for item in providers.meter.items] == ["brief", "script"]


def test_cost_counts_rejected_answers(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    fake.script(CHAT, chat_reply("not json", prompt_tokens=100, completion_tokens=10))
    providers = make_providers()

    providers.analyze_brief(REQUEST, baseline_analysis())

    expected = (100 * 2.0 + 10 * 8.0 + PROMPT_TOKENS * 2.0 + COMPLETION_TOKENS * 8.0) / 1_000_000
    assert providers.cost_usd == pytest.approx(expected)


def test_usage_missing_costs_nothing(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    reply = chat_reply(json.dumps(valid_brief()))
    del reply.json_body["usage"]
    fake.script(CHAT, reply)
    providers = make_providers()

    assert providers.analyze_brief(REQUEST, baseline_analysis()) is not None
    assert providers.cost_usd == 0.0


def test_offline_only_costs_nothing(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    providers = make_providers(copy_model="", speech_model="", image_model="")

    assert providers.analyze_brief(REQUEST, baseline_analysis()) is None
    assert providers.write_script(baseline_analysis(), duration_seconds=15, words_per_minute=150) is None
    assert providers.cost_usd == 0.0
    assert providers.warnings == ()
    assert fake.requests == []


def test_strict_schema_requires_every_property() -> None:
    schema = strict_json_schema(BriefOutput)

    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(schema["properties"])
    palette = schema["$defs"]["PaletteOutput"]
    assert palette["additionalProperties"] is False
    assert set(palette["required"]) == {"primary", "secondary", "accent", "background", "text"}
    assert "title" not in json.dumps(schema)


def test_script_validation_reports_empty_line() -> None:
    script = valid_script(40)
    script["lines"][2]["text"] = "  "

    with pytest.raises(ValidationError, match="line 3 is empty"):
        ScriptOutput.model_validate(script, context={})


def test_japanese_length_counts_kana() -> None:
    length = ScriptLength(15, 300, "ja")
    low, high = (seconds for seconds in length.seconds_range())
    kana_per_second = 300 / 60
    # Hiragana only, so one character is one kana: fill the middle of the accepted range.
    count = round(((low + high) / 2 - 0.2) * kana_per_second)

    length.check(["あ" * count])

    with pytest.raises(ValueError, match="kana"):
        length.check(["あ" * (count * 3)])


def test_contrast_ratio_extremes() -> None:
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#777777") == pytest.approx(1.0)
