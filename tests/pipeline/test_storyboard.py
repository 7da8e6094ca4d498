"""Tests for pipeline.storyboard: scene timing invariants, titles, directions and the end card."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.brief import analyze_brief
from pipeline.models import BriefAnalysis, JobRequest, LineTiming, Script, ScriptLine, Storyboard, Voiceover
from pipeline.script import speech_seconds_available, write_script
from pipeline.storyboard import MIN_SCENE_SECONDS, plan_storyboard, title_for_line
from pipeline.voice import select_voice, synthesize_voiceover

SEED_BRIEF = (
    "Create a 30-second commercial for Barrios A2I, an AI automation company. Target audience: B2B SaaS "
    "founders and marketing directors. Highlight how AI automation gives startups enterprise-grade "
    "infrastructure. Tone: bold, innovative, cyberpunk aesthetic with cosmic cyan and neon amber colors."
)

STYLE_TRANSITIONS = {
    "cyberpunk": {"glitch", "cut", "zoom"},
    "minimal": {"cut", "crossfade"},
    "corporate": {"slide", "crossfade", "wipe"},
    "playful": {"zoom", "slide", "wipe"},
    "luxury": {"crossfade"},
    "cinematic": {"crossfade", "cut"},
}


def check_invariants(storyboard: Storyboard, duration: float) -> None:
    scenes = storyboard.scenes
    assert scenes[0].start == 0.0
    assert [scene.index for scene in scenes] == list(range(len(scenes)))
    for before, after in zip(scenes, scenes[1:]):
        assert before.start + before.duration == pytest.approx(after.start, abs=0.0015)
    assert scenes[-1].start + scenes[-1].duration == pytest.approx(duration, abs=0.0015)
    assert sum(scene.duration for scene in scenes) == pytest.approx(duration, abs=0.005)
    for scene in scenes:
        assert scene.duration >= MIN_SCENE_SECONDS - 0.001
    assert scenes[-1].kind == "end_card"
    assert all(scene.kind == "scene" for scene in scenes[:-1])


def synthetic_voiceover(script: Script, spans: list[tuple[float, float]]) -> Voiceover:
    lines = tuple(LineTiming(index=index, start=start, end=end, words=()) for index, (start, end) in enumerate(spans))
    return Voiceover(path=Path("/nonexistent.wav"), duration=spans[-1][1], sample_rate=22050, voice="test:none", lines=lines)


def line(section: str, text: str) -> ScriptLine:
    return ScriptLine(section=section, text=text, spoken=text)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def seed_analysis() -> BriefAnalysis:
    return analyze_brief(JobRequest(brief=SEED_BRIEF))


@pytest.fixture(scope="module")
def real_take(seed_analysis: BriefAnalysis, tmp_path_factory: pytest.TempPathFactory) -> tuple[Script, Voiceover]:
    voice = select_voice(seed_analysis.voice_style, "en", engine="espeak-ng")
    script = write_script(seed_analysis, duration_seconds=30, words_per_minute=voice.words_per_minute, seed=5)
    take = synthesize_voiceover(script, voice, tmp_path_factory.mktemp("story"), seed=5, max_duration=speech_seconds_available(30))
    return script, take


def test_scenes_follow_real_voiceover(seed_analysis: BriefAnalysis, real_take: tuple[Script, Voiceover]) -> None:
    script, take = real_take
    storyboard = plan_storyboard(seed_analysis, script, take, duration_seconds=30, seed=5)
    check_invariants(storyboard, 30.0)
    scenes = storyboard.scenes[:-1]
    assert len(scenes) == len(script.lines)
    for scene, timing in zip(scenes[1:], take.lines[1:]):
        assert abs(scene.start - timing.start) <= 0.2
    for scene, script_line in zip(scenes, script.lines):
        assert scene.narration == script_line.text


def test_end_card_shows_brand_and_call_to_action(seed_analysis: BriefAnalysis, real_take: tuple[Script, Voiceover]) -> None:
    script, take = real_take
    end_card = plan_storyboard(seed_analysis, script, take, duration_seconds=30, seed=5).scenes[-1]
    assert seed_analysis.brand in end_card.on_screen_text
    assert seed_analysis.call_to_action in end_card.on_screen_text
    assert end_card.narration == ""
    assert end_card.start >= take.duration
    assert 2.5 <= end_card.duration <= 4.0


def test_titles_are_short_and_from_the_line(seed_analysis: BriefAnalysis, real_take: tuple[Script, Voiceover]) -> None:
    script, take = real_take
    for scene in plan_storyboard(seed_analysis, script, take, duration_seconds=30, seed=5).scenes[:-1]:
        words = scene.on_screen_text.split()
        assert 2 <= len(words) <= 6, scene.on_screen_text
        if len(scene.narration.split()) > 6:
            assert scene.on_screen_text.rstrip(".") != scene.narration.rstrip(".")
        narration_words = {word.strip(".,?!:").lower() for word in scene.narration.split()}
        title_words = {word.strip(".,?!:").lower() for word in words}
        assert title_words & narration_words, (scene.on_screen_text, scene.narration)


def test_directions_name_motif_motion_and_colours(seed_analysis: BriefAnalysis, real_take: tuple[Script, Voiceover]) -> None:
    script, take = real_take
    storyboard = plan_storyboard(seed_analysis, script, take, duration_seconds=30, seed=5)
    for scene in storyboard.scenes:
        direction = scene.visual_direction
        assert seed_analysis.palette.background in direction
        assert "cosmic cyan" in direction
        assert len(direction.split()) >= 15
    assert len({scene.visual_direction for scene in storyboard.scenes[:-1]}) >= 3


@pytest.mark.parametrize("style", sorted(STYLE_TRANSITIONS))
def test_transitions_suit_the_style(style: str) -> None:
    analysis = analyze_brief(JobRequest(brief="Ad for Brightly, the smart lamp.", style=style))
    script = Script(lines=tuple(line("solution", f"Line number {word} is here.") for word in "one two three four five six".split()), words_per_minute=180)
    take = synthetic_voiceover(script, [(0.2 + 3 * index, 2.9 + 3 * index) for index in range(6)])
    storyboard = plan_storyboard(analysis, script, take, duration_seconds=30, seed=1)
    assert {scene.transition for scene in storyboard.scenes[:-1]} <= STYLE_TRANSITIONS[style]


def test_empty_narration_line_is_folded(seed_analysis: BriefAnalysis) -> None:
    script = Script(
        lines=(line("hook", "Meet Barrios A2I."), line("problem", ""), line("solution", "It runs your busywork."), line("cta", "Book a demo today.")),
        words_per_minute=180,
    )
    take = synthetic_voiceover(script, [(0.2, 1.5), (1.8, 1.8), (2.1, 4.0), (4.3, 6.0)])
    storyboard = plan_storyboard(seed_analysis, script, take, duration_seconds=15, seed=2)
    check_invariants(storyboard, 15.0)
    assert all(scene.narration or scene.kind == "end_card" for scene in storyboard.scenes)
    assert len(storyboard.scenes) == 4


def test_empty_first_line_still_starts_at_zero(seed_analysis: BriefAnalysis) -> None:
    script = Script(lines=(line("hook", ""), line("solution", "It runs your busywork."), line("cta", "Book a demo today.")), words_per_minute=180)
    take = synthetic_voiceover(script, [(0.2, 0.2), (0.5, 3.0), (3.3, 5.0)])
    storyboard = plan_storyboard(seed_analysis, script, take, duration_seconds=15, seed=2)
    check_invariants(storyboard, 15.0)
    assert storyboard.scenes[0].narration == "It runs your busywork."


def test_lines_closer_than_minimum_share_a_scene(seed_analysis: BriefAnalysis) -> None:
    script = Script(lines=(line("hook", "Go."), line("hook", "Now."), line("cta", "Book a demo today.")), words_per_minute=180)
    take = synthetic_voiceover(script, [(0.2, 0.3), (0.4, 0.5), (1.0, 3.0)])
    storyboard = plan_storyboard(seed_analysis, script, take, duration_seconds=15, seed=2)
    check_invariants(storyboard, 15.0)
    assert storyboard.scenes[0].narration == "Go. Now."


def test_overlong_voiceover_still_ends_on_time(seed_analysis: BriefAnalysis) -> None:
    script = Script(lines=(line("hook", "Meet Barrios A2I."), line("cta", "Book a demo today.")), words_per_minute=180)
    take = synthetic_voiceover(script, [(0.2, 6.0), (6.3, 14.8)])
    storyboard = plan_storyboard(seed_analysis, script, take, duration_seconds=15, seed=2)
    check_invariants(storyboard, 15.0)
    assert storyboard.scenes[-1].duration >= 1.5


def test_lines_left_out_by_the_voice_get_no_scene(seed_analysis: BriefAnalysis) -> None:
    script = Script(lines=(line("hook", "Meet Barrios A2I."), line("proof", "Extra proof."), line("cta", "Book a demo today.")), words_per_minute=180)
    lines = (LineTiming(0, 0.2, 2.0, ()), LineTiming(2, 2.3, 4.0, ()))
    take = Voiceover(path=Path("/nonexistent.wav"), duration=4.0, sample_rate=22050, voice="test:none", lines=lines)
    storyboard = plan_storyboard(seed_analysis, script, take, duration_seconds=15, seed=2)
    check_invariants(storyboard, 15.0)
    assert [scene.narration for scene in storyboard.scenes[:-1]] == ["Meet Barrios A2I.", "Book a demo today."]


@pytest.mark.parametrize("duration", [15, 30, 60, 120])
def test_invariants_across_durations(seed_analysis: BriefAnalysis, duration: int) -> None:
    script = write_script(seed_analysis, duration_seconds=duration, words_per_minute=180, seed=3)
    spans = []
    cursor = 0.2
    for script_line in script.lines:
        length = len(script_line.text.split()) / 3.0
        spans.append((cursor, cursor + length))
        cursor += length + 0.3
    storyboard = plan_storyboard(seed_analysis, script, synthetic_voiceover(script, spans), duration_seconds=duration, seed=3)
    check_invariants(storyboard, float(duration))


def test_storyboard_is_deterministic(seed_analysis: BriefAnalysis, real_take: tuple[Script, Voiceover]) -> None:
    script, take = real_take
    first = plan_storyboard(seed_analysis, script, take, duration_seconds=30, seed=8)
    second = plan_storyboard(seed_analysis, script, take, duration_seconds=30, seed=8)
    assert first == second


@pytest.mark.parametrize(
    ("text", "section", "expected"),
    [
        ("The idea is simple: AI automation gives startups enterprise-grade infrastructure.", "solution", "AI Automation Gives Startups Enterprise-Grade Infrastructure"),
        ("Picture uptime you never think about.", "proof", "Uptime You Never Think About"),
        ("Enterprise-grade infrastructure, without the overhead.", "solution", "Enterprise-Grade Infrastructure"),
        ("Meet Barrios A2I.", "hook", "Meet Barrios A2I"),
        ("You get same-day crowns from $49.99.", "solution", "Same-Day Crowns from $49.99"),
        ("Put simply, AI automation gives startups enterprise-grade infrastructure.", "solution", "AI Automation Gives Startups Enterprise-Grade Infrastructure"),
        ("On top of that: workouts that go nowhere.", "problem", "Workouts That Go Nowhere"),
        ("B2B SaaS founders and marketing directors, meet Barrios A2I.", "hook", "Meet Barrios A2I"),
        ("For B2B SaaS founders and marketing directors alike, Barrios A2I fits the way you work.", "solution", "For B2B SaaS Founders"),
    ],
)
def test_title_table(seed_analysis: BriefAnalysis, text: str, section: str, expected: str) -> None:
    assert title_for_line(line(section, text), seed_analysis) == expected


def test_cjk_title_is_first_clause() -> None:
    analysis = analyze_brief(JobRequest(brief="为忙碌的家庭打造的“晨光咖啡”智能咖啡机。突出：一键冲泡、静音设计。"))
    assert title_for_line(line("hook", "还在等什么？晨光咖啡，为忙碌的家庭而生。"), analysis) == "还在等什么"


def test_whole_chain_is_deterministic(tmp_path: Path) -> None:
    def run(workdir: Path) -> tuple[Script, Storyboard, bytes]:
        analysis = analyze_brief(JobRequest(brief=SEED_BRIEF))
        voice = select_voice(analysis.voice_style, analysis.language)
        script = write_script(analysis, duration_seconds=15, words_per_minute=voice.words_per_minute, seed=21)
        take = synthesize_voiceover(script, voice, workdir, seed=21, max_duration=speech_seconds_available(15))
        storyboard = plan_storyboard(analysis, script, take, duration_seconds=15, seed=21)
        check_invariants(storyboard, 15.0)
        return script, storyboard, take.path.read_bytes()

    first = run(tmp_path / "first")
    second = run(tmp_path / "second")
    assert first[0] == second[0]
    assert first[1] == second[1]
    assert first[2] == second[2]


RING_BRIEF = (
    "Promote FitPulse, a smart ring that tracks sleep, heart rate and recovery for busy parents. Energetic, playful. "
    "Don't miss our launch deal: $49.99 this week only 🔥"
)
COFFEE_BRIEF = (
    "A 15-second Instagram ad for Bean There, a neighbourhood coffee roaster in Portland. Audience: remote workers. "
    "Fresh single-origin beans roasted daily, free wifi, quiet corners. Warm and friendly."
)
DANGLING_ENDINGS = {"a", "an", "the", "and", "or", "of", "to", "for", "with", "is", "are", "have", "this", "that", "your", "there's", "simple"}


@pytest.mark.parametrize("brief", [SEED_BRIEF, RING_BRIEF, COFFEE_BRIEF])
@pytest.mark.parametrize("duration", [15, 45, 120])
def test_titles_never_dangle(brief: str, duration: int) -> None:
    analysis = analyze_brief(JobRequest(brief=brief))
    for seed in range(3):
        script = write_script(analysis, duration_seconds=duration, words_per_minute=170, seed=seed)
        for script_line in script.lines:
            title = title_for_line(script_line, analysis)
            words = title.split()
            assert 2 <= len(words) <= 6, (title, script_line.text)
            assert words[-1].lower().strip(",.:;") not in DANGLING_ENDINGS, (title, script_line.text)
            assert title.lower() not in ("then there's", "the idea is simple", "put simply", "every day", "ask around")


def test_offer_is_the_call_to_action_title() -> None:
    analysis = analyze_brief(JobRequest(brief=RING_BRIEF))
    cta = line("cta", f"FitPulse. {analysis.call_to_action}.")
    assert title_for_line(cta, analysis) == "$49.99 this week only"


def test_hook_title_for_brief_without_brand() -> None:
    analysis = analyze_brief(JobRequest(brief="A nice long brief for a lamp"))
    assert analysis.brand.startswith("This ")
    title = title_for_line(line("hook", f"Teams, meet {analysis.brand.lower()}."), analysis)
    assert title == "Meet " + analysis.brand.title()
