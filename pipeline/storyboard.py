"""Plan the shots: one scene per spoken line, then a brand end card that runs to the exact duration.

Scene i starts when its line starts (the first at 0), and scenes cover the
whole video without gaps. No scene is shorter than MIN_SCENE_SECONDS, because a
line with no narration or too little time is folded into the scene before it.
"""

from __future__ import annotations

import logging
import random
import re

from pipeline.brief import fallback_brand, industry_profile
from pipeline.models import BriefAnalysis, LineTiming, Scene, Script, ScriptLine, Storyboard, Transition, Voiceover
from pipeline.script import end_card_seconds

logger = logging.getLogger(__name__)

MIN_SCENE_SECONDS = 0.6
MIN_END_CARD_SECONDS = 1.5
# Breathing room between the last word and the end card.
TAIL_SECONDS = 0.3

_STYLE_TRANSITIONS: dict[str, tuple[Transition, ...]] = {
    "cyberpunk": ("glitch", "cut", "zoom", "glitch"),
    "minimal": ("cut", "crossfade"),
    "corporate": ("slide", "crossfade", "wipe"),
    "playful": ("zoom", "slide", "wipe"),
    "luxury": ("crossfade",),
    "cinematic": ("crossfade", "cut"),
}

_STYLE_MOTION = {
    "cyberpunk": "fast push-in with a scanline flicker and chromatic-aberration jitter on the cuts",
    "minimal": "slow, steady drift on generous negative space",
    "corporate": "smooth lateral camera slide with clean grid-aligned layout",
    "playful": "bouncy scale-up with a springy overshoot",
    "luxury": "slow glide with soft focus pull and gentle light sweep",
    "cinematic": "slow dolly-in with shallow depth of field and letterbox framing",
}

_SECTION_SHOTS = {
    "hook": "Opening shot",
    "problem": "Tension shot",
    "solution": "Reveal shot",
    "proof": "Proof shot",
    "cta": "Call-to-action shot",
}

_SECTION_MOODS = {
    "hook": "high contrast, one strong focal point",
    "problem": "desaturated and slightly cramped, the accent colour dimmed",
    "solution": "the palette opens up, light floods in from the primary colour",
    "proof": "steady and confident, data-like details counting up",
    "cta": "brand colours at full strength, the call to action centred",
}

_FILLERS = re.compile(
    r"^(?:and|so|plus|then there's|then|meanwhile|now|that means|it shows up as|the result|picture|think|you get|"
    r"count on|here's the shift|the idea is simple|and here's the best part|let's be honest|ready|don't wait|"
    r"imagine|enter|that's|with|put simply|simply put|every day|here's the difference|on top of that|"
    r"ask around, and you'll hear about|this is what|if you're among the|from the first day|once you switch)\b[\s,:?]*",
    re.IGNORECASE,
)
_STOPWORDS = frozenset("a an the and or of to for in on at by it its is are be this that your you our we".split())
_CUT_WORDS = frozenset("that which who without with for to from while when because so and".split())
# Words a title never ends on: they leave it hanging ("Then There's", "Workers Have").
_DANGLING = frozenset(
    "a an the and or but of to for with from by in on at as is are was be have has had this that these your our "
    "you what who which it its like than then there's here's simple".split()
)


def plan_storyboard(
    analysis: BriefAnalysis,
    script: Script,
    voiceover: Voiceover,
    *,
    duration_seconds: float,
    seed: int,
) -> Storyboard:
    """Lay out one scene per voiced line plus a closing end card, covering [0, duration_seconds] exactly."""
    if duration_seconds <= MIN_END_CARD_SECONDS + MIN_SCENE_SECONDS:
        raise ValueError(f"duration_seconds {duration_seconds!r} is too short for a storyboard; use 15 to 120 seconds")
    rng = random.Random(seed)
    spoken = _voiced_lines(script, voiceover)
    last_end = max((timing.end for _, timing in spoken), default=0.0)
    end_card_start = max(duration_seconds - end_card_seconds(duration_seconds), last_end + TAIL_SECONDS)
    end_card_start = min(end_card_start, duration_seconds - MIN_END_CARD_SECONDS)

    groups = _group_lines(spoken, end_card_start)
    motifs = list(industry_profile(analysis.industry).motifs)
    rng.shuffle(motifs)
    scenes: list[Scene] = []
    transitions = _STYLE_TRANSITIONS.get(analysis.style, ("crossfade",))
    for position, (start, members) in enumerate(groups):
        end = groups[position + 1][0] if position + 1 < len(groups) else end_card_start
        first_line = members[0]
        narration = " ".join(line.text for line in members).strip()
        scenes.append(
            Scene(
                index=position,
                start=round(start, 3),
                duration=round(end - start, 3),
                narration=narration,
                on_screen_text=title_for_line(first_line, analysis),
                visual_direction=_visual_direction(first_line, analysis, motifs[position % len(motifs)]),
                transition=rng.choice(transitions),
            )
        )
    end_start = round(end_card_start, 3) if scenes else 0.0
    scenes.append(
        Scene(
            index=len(scenes),
            start=end_start,
            duration=round(duration_seconds - end_start, 3),
            narration="",
            on_screen_text=f"{analysis.brand}\n{analysis.call_to_action}",
            visual_direction=_end_card_direction(analysis),
            transition="crossfade",
            kind="end_card",
        )
    )
    logger.info("storyboard planned: %d scenes, end card at %.2f s of %.2f s", len(scenes), end_start, duration_seconds)
    return Storyboard(scenes=tuple(scenes))


def _voiced_lines(script: Script, voiceover: Voiceover) -> list[tuple[ScriptLine, LineTiming]]:
    """Pair each line that was read with its timing, skipping lines the voice left out."""
    pairs: list[tuple[ScriptLine, LineTiming]] = []
    for timing in sorted(voiceover.lines, key=lambda item: item.start):
        if 0 <= timing.index < len(script.lines):
            pairs.append((script.lines[timing.index], timing))
    return pairs


def _group_lines(spoken: list[tuple[ScriptLine, LineTiming]], end_card_start: float) -> list[tuple[float, list[ScriptLine]]]:
    """Give each line its own scene from its start, folding empty or too-short lines into the scene before."""
    groups: list[tuple[float, list[ScriptLine]]] = []
    for line, timing in spoken:
        start = 0.0 if not groups else timing.start
        empty = not line.text.strip() or timing.end - timing.start <= 0
        too_late = start > end_card_start - MIN_SCENE_SECONDS
        too_close = bool(groups) and start - groups[-1][0] < MIN_SCENE_SECONDS
        if groups and (empty or too_late or too_close):
            groups[-1][1].append(line)
            continue
        if not groups and empty:
            # An empty first line still opens the video at 0 s; the merge below gives it the next line.
            groups.append((0.0, [line]))
            continue
        groups.append((start, [line]))
    if not groups:
        groups.append((0.0, [ScriptLine(section="hook", text="", spoken="")]))
    # A scene made only of empty lines takes the next scene's narration start instead of standing alone.
    merged: list[tuple[float, list[ScriptLine]]] = []
    for start, members in groups:
        if merged and not any(member.text.strip() for member in merged[-1][1]):
            merged[-1] = (merged[-1][0], merged[-1][1] + members)
            continue
        merged.append((start, members))
    return merged


def title_for_line(line: ScriptLine, analysis: BriefAnalysis) -> str:
    """Return a 2-6 word on-screen title drawn from a line: its key phrase, not the whole sentence."""
    text = line.text.strip()
    if analysis.language in ("zh", "ja", "ko") and not re.search(r"[A-Za-z]{3}", text):
        clause = re.split(r"[，。！？、,.!?]", text)[0] or text
        return clause[:12]
    if line.section == "cta" and analysis.call_to_action.lower() in text.lower():
        return _cta_title(analysis)
    meet = re.search(rf"\bmeet {re.escape(analysis.brand)}\b", text, re.IGNORECASE) if analysis.brand else None
    if line.section == "hook" and meet:
        # A real brand keeps the user's spelling; the stand-in for a missing one reads as a title.
        unnamed = analysis.brand == fallback_brand(analysis.product)
        return _title_case(f"Meet {analysis.brand}") if unnamed else f"Meet {analysis.brand}"
    candidates = [part.strip() for part in re.split(r"[.?!;:](?:\s+|$)", text) if part.strip()]
    after_colon = text.split(":", 1)[1].strip() if ":" in text else ""
    if after_colon and len(after_colon.split()) >= 2:
        candidates.insert(0, after_colon)
    best = ""
    for candidate in candidates:
        phrase = _FILLERS.sub("", candidate).strip(" ,")
        phrase = _FILLERS.sub("", phrase).strip(" ,")
        if len(_content_words(phrase)) > len(_content_words(best)):
            best = phrase
    if not best:
        best = analysis.brand
    title = _trim_dangling(_limit_words(best, 6))
    if len(title.split()) < 2:
        title = f"{title} {analysis.brand}" if analysis.brand.lower() not in title.lower() else f"Meet {title}"
    return _title_case(title)


def _cta_title(analysis: BriefAnalysis) -> str:
    """Return the call to action as a title; an offer after a colon ("$49.99 this week only") is the title itself."""
    action = analysis.call_to_action
    offer = action.split(":", 1)[1].strip() if ":" in action else ""
    if 2 <= len(offer.split()) <= 6:
        return offer
    if len(action.split()) < 2:
        return f"{action} {analysis.brand}"
    return _trim_dangling(_limit_words(action, 6))


def _trim_dangling(title: str) -> str:
    words = title.split()
    while len(words) > 2 and words[-1].lower().strip(",.:;") in _DANGLING:
        words.pop()
    return " ".join(words).rstrip(",:;")


def _content_words(text: str) -> list[str]:
    return [word for word in re.findall(r"[\w$%'.-]+", text) if word.lower() not in _STOPWORDS]


def _limit_words(text: str, limit: int) -> str:
    text = text.rstrip(".!?,")
    head = text.split(",", 1)[0]
    if head != text and 2 <= len(head.split()) <= limit:
        return head
    words = text.split()
    if len(words) <= limit:
        return " ".join(words)
    for index in range(limit, 1, -1):
        if words[index].lower() in _CUT_WORDS:
            return " ".join(words[:index]).rstrip(",")
    return " ".join(words[:limit]).rstrip(",")


def _title_case(text: str) -> str:
    small = {"a", "an", "the", "and", "or", "of", "to", "for", "from", "in", "on", "at", "by", "with"}
    words = text.split()
    result: list[str] = []
    for position, word in enumerate(words):
        if any(char.isupper() for char in word[1:]) or any(char.isdigit() for char in word) or word[:1] in "$€£":
            result.append(word)
        elif position and word.lower() in small:
            result.append(word.lower())
        else:
            result.append("-".join(part[:1].upper() + part[1:] for part in word.split("-")))
    return " ".join(result)


def _colour_words(analysis: BriefAnalysis) -> tuple[str, str, str]:
    palette = analysis.palette
    named = list(palette.named)
    primary = f"{named[0]} ({palette.primary})" if named else palette.primary
    secondary = f"{named[1]} ({palette.secondary})" if len(named) > 1 else palette.secondary
    return primary, secondary, palette.background


def _visual_direction(line: ScriptLine, analysis: BriefAnalysis, motif: str) -> str:
    primary, secondary, background = _colour_words(analysis)
    motion = _STYLE_MOTION.get(analysis.style, _STYLE_MOTION["corporate"])
    shot = _SECTION_SHOTS[line.section]
    mood = _SECTION_MOODS[line.section]
    return (
        f"{shot}: {motif} on a {background} background; {motion}. "
        f"Title in {primary} with {secondary} highlights; {mood}."
    )


def _end_card_direction(analysis: BriefAnalysis) -> str:
    primary, secondary, background = _colour_words(analysis)
    motion = _STYLE_MOTION.get(analysis.style, _STYLE_MOTION["corporate"])
    return (
        f"End card: the {analysis.brand} name centred large in {primary} on a {background} background, "
        f"the call to action beneath it in {secondary}; {motion}, settling to a still hold for the last second."
    )
