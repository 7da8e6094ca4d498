"""Write the voiceover: hook, problem, solution, proof and call to action, sized to the time available.

No language model: sentence patterns per section and tone are filled with the
brand, audience, benefits and industry vocabulary from the brief, chosen with
the seed, and the number of lines is fitted to the spoken time. Longer ads get
more benefit and proof lines, never repeated ones.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.brief import CLAUSE_VERBS, IndustryProfile, copy_profile, fallback_brand, industry_profile, is_clause, is_feature_verb
from pipeline.models import BriefAnalysis, Script, ScriptLine, ScriptSection
from pipeline.textnorm import to_spoken

logger = logging.getLogger(__name__)

# Silence the voice stage puts between two lines, in seconds.
LINE_PAUSE_SECONDS = 0.3
# Silence before the first line, in seconds.
LEAD_IN_SECONDS = 0.2
# Fraction of the speech time the script aims at, and the band it must land in.
TARGET_FILL = 0.88
MIN_FILL = 0.80
MAX_FILL = 0.95


def end_card_seconds(duration_seconds: float) -> float:
    """Return the length of the silent brand end card: 2.5 s for a 15 s ad, rising linearly to 4 s at 120 s."""
    clamped = min(max(duration_seconds, 15.0), 120.0)
    return round(2.5 + (clamped - 15.0) * (1.5 / 105.0), 2)


def speech_seconds_available(duration_seconds: float) -> float:
    """Return the seconds from the start of the video to the start of the end card."""
    return duration_seconds - end_card_seconds(duration_seconds)


# Average syllables in an English word of ad copy, to express syllable counts as words.
SYLLABLES_PER_WORD = 1.5


def spoken_units(spoken: str, language: str = "en") -> float:
    """Measure spoken text in the units speaking rates use here.

    English is measured in syllables divided by SYLLABLES_PER_WORD, so "infrastructure" weighs more than
    "the" and rates stay steady across copy with long words. Chinese counts syllables, Japanese kana,
    Korean Hangul syllables.
    """
    if language == "zh":
        return float(len(re.findall(r"[a-z]+[1-5]?", spoken.lower())))
    if language == "ja":
        return float(len(re.findall(r"[\u3041-\u3096\u30a1-\u30fa\u30fc]", spoken)) or len(spoken.split()))
    if language == "ko":
        return float(len(re.findall(r"[\uac00-\ud7a3]", spoken)) or len(spoken.split()))
    return sum(count_syllables(word) for word in re.findall(r"[A-Za-z0-9']+", spoken)) / SYLLABLES_PER_WORD


def count_syllables(word: str) -> int:
    """Estimate the syllables of an English word from its vowel groups, with a silent final "e"."""
    lowered = word.lower().strip("'")
    if not lowered:
        return 0
    if lowered.isdigit():
        return len(lowered)
    groups = len(re.findall(r"[aeiouy]+", lowered))
    if lowered.endswith("e") and not lowered.endswith(("le", "ee", "ye")) and groups > 1:
        groups -= 1
    return max(groups, 1)


def estimate_speech_seconds(lines: tuple[ScriptLine, ...] | list[ScriptLine], words_per_minute: float, language: str = "en") -> float:
    """Estimate how long the voice stage takes to read `lines`, pauses included."""
    units = sum(spoken_units(line.spoken, language) for line in lines)
    pauses = LINE_PAUSE_SECONDS * max(len(lines) - 1, 0)
    return LEAD_IN_SECONDS + units * 60.0 / words_per_minute + pauses


# Copy ingredients


@dataclass(frozen=True)
class _Benefit:
    """One benefit from the brief, as written and broken into parts that patterns can use."""

    text: str
    clause: bool
    # What the benefit delivers, as a noun phrase ("enterprise-grade infrastructure"); empty when
    # the benefit has no noun phrase to reuse ("you can keep more of every paycheck").
    payoff: str
    # A feature written without its subject ("tracks sleep"), read after the brand: "FitPulse tracks sleep".
    verb: bool = False


_TONE_FAMILIES = {
    "bold": ("bold", "innovative", "edgy", "futuristic", "energetic", "urgent", "rebellious", "exciting", "empowering", "dramatic"),
    "warm": ("warm", "friendly", "playful", "fun", "cheerful", "heartfelt", "casual", "quirky", "upbeat", "witty", "emotional"),
    "refined": ("luxurious", "elegant", "premium", "calm", "minimal", "sophisticated", "assured", "clear", "reassuring"),
}

_WITHOUT = {
    "technology": "the overhead", "finance": "the hidden fees", "fitness": "the guesswork", "health": "the waiting room",
    "food": "the wait", "fashion": "the markup", "beauty": "the guesswork", "real_estate": "the runaround",
    "education": "the lecture hall", "travel": "the hassle", "automotive": "the compromise", "retail": "the markup",
    "gaming": "the lag", "general": "the hassle",
}

_TAGLINES = {
    "bold": ("built for what's next", "the future, on your side", "made for the bold"),
    "warm": ("made with you in mind", "here for every day", "the good stuff, made easy"),
    "refined": ("made to last", "quietly exceptional", "crafted for the few who notice"),
    "assured": ("built to deliver", "the partner you can count on", "results you can trust"),
}

# Sentence patterns per section. A pattern is used only when every field it names has a value.
_HOOKS = {
    "bold": (
        "{Audience}, the next leap starts with {brand}.",
        "{Audience_hook}, the future doesn't wait, and neither does {brand}.",
        "{Audience_hook}, tired of {pain}? Meet {brand}.",
        "Big ambitions need a bigger engine. {Audience_hook}, meet {brand}.",
        "{Audience_hook}, forget what you think {product_plural} can do. This is {brand}.",
    ),
    "warm": (
        "{Audience}, meet your new favourite: {brand}.",
        "Here's a little good news for {audience}: {brand}.",
        "{Audience_hook}, say hello to {brand}.",
        "What if every day felt easier for {audience_short}? Meet {brand}.",
    ),
    "refined": (
        "{Audience_hook}, some things are simply made better. {brand} is one of them.",
        "For {audience_short} who notice the difference, there is {brand}.",
        "{Audience_hook}, this is {brand}.",
        "Tired of {pain}? {brand} speaks for itself.",
    ),
    "assured": (
        "{Audience}, meet {brand}.",
        "{Audience_hook}: no more {pain}. Meet {brand}.",
        "{Audience_hook}, there's a better way, and it's called {brand}.",
        "Introducing {brand}, {a_product} built for {audience}.",
    ),
}

# Used only when nothing else fits a 15 s ad.
_SHORTEST_HOOKS = ("Meet {brand}.",)
_SHORT_HOOKS = ("{Audience_short}, meet {brand}.", "{Audience_short}, this is {brand}.")

_SECOND_HOOKS = (
    "This is what {audience_short} have been waiting for.",
    "You've never seen {a_product} quite like this.",
    "And it's ready when you are.",
    "Give it thirty seconds, and you'll see why.",
)

_PROBLEMS = (
    "Right now, too many {audience} lose ground to {pain}.",
    "You know the feeling: {pain}, and {pain2}.",
    "{Pain}? It costs more than you think.",
    "Let's be honest: nobody has time for {pain}.",
    "Every day brings {pain} and {pain2}.",
)

_SHORT_PROBLEMS = ("{Pain}? Not anymore.", "Tired of {pain}?")

_MORE_PROBLEMS = (
    "On top of that: {pain3}.",
    "And the longer it goes on, the more it costs.",
)

_INTROS = (
    "{brand} changes that.",
    "That's where {brand} comes in.",
    "Enter {brand}, {a_product} built for {audience_short}.",
    "{brand} was built to fix exactly that.",
)

_CLAUSE_BENEFITS = (
    "With {brand}, {benefit}.",
    "Here's the shift: {benefit}.",
    "Put simply, {benefit}.",
    "And here's the best part: {benefit}.",
)

_VERB_BENEFITS = (
    "{brand} {benefit}.",
    "Simply put, {brand} {benefit}.",
    "Every day, {brand} {benefit}.",
    "Here's the difference: {brand} {benefit}.",
)

_PHRASE_BENEFITS = (
    "{brand} gives you {benefit}.",
    "You get {benefit}.",
    "Think {benefit}.",
    "{Benefit}, right from day one.",
    "Count on {benefit}.",
    "Plus {benefit}.",
)

_PAYOFFS = (
    "{Payoff}, without {without}.",
    "That means {payoff} for {audience}.",
    "{Payoff}, on your terms.",
)

# How it works, by the kind of thing sold: a service you set up, or a product or place you buy from.
_HOW_IT_WORKS = {
    "service": (
        "Getting started takes minutes, not months.",
        "Tell {brand} what matters, and it handles the rest.",
        "You stay in control while {brand} does the heavy lifting.",
        "No steep learning curve, no long contracts.",
    ),
    "product": (
        "It takes one look to see the difference.",
        "Everything about {brand} is made to be simple from the first moment.",
        "No fine print, no runaround.",
        "Once you've tried it, you'll know.",
    ),
}
_PRODUCT_INDUSTRIES = frozenset({"coffee", "wearable", "car_dealer", "food", "fashion", "beauty", "retail", "gaming", "automotive", "real_estate", "travel"})

_IMAGINE = (
    "Imagine starting every week with {payoff} already in place.",
    "Now picture what {audience_short} could do with {payoff}.",
    "Think about what changes when you have {payoff}.",
)

# Lines that go deeper on one benefit, for long ads.
_DEPTH = (
    "Why does {payoff} matter? Because your time is worth more than {pain}.",
    "Plenty of {product_plural} promise {payoff}. {brand} delivers it.",
    "It's not magic. It's {payoff}, done right.",
    "{brand} was designed around one question: what do {audience_short} actually need?",
    "From the first day, you'll notice the difference.",
    "Less time lost to {pain2}, more time for what matters.",
    "Every detail of {brand} is there to make {payoff} simple.",
    "It's the kind of change you feel in the first week.",
)

# Lines that speak to the audience directly.
_AUDIENCE_LINES = (
    "Made for {audience_short}, by people who get it.",
    "If you're among the {audience_short} who want more, this is for you.",
    "{Audience_short} told us what they needed. {brand} is the answer.",
)

_URGENCY = (
    "The sooner you start, the sooner you feel the difference.",
    "Your next chapter starts with one step.",
)

_PROOFS = (
    "The result? {Proof}.",
    "It shows up as {proof}.",
    "Picture {proof}.",
    "That's {proof}, week after week.",
    "Ask around, and you'll hear about {proof}.",
)

_MORE_PROOFS = (
    "Once you switch, you won't look back.",
    "Built by people who faced the same problems you do.",
    "Real results, not promises.",
)

_CTAS = (
    "{cta} with {brand}.",
    "{brand}. {cta}.",
    "Ready? {cta} with {brand}.",
    "Don't wait. {cta} with {brand}.",
)
# For a call to action that carries an offer after a colon, the offer must end the sentence.
_CTAS_ENDING_ON_OFFER = (
    "{brand}. {cta}.",
    "Ready? {brand}. {cta}.",
    "Don't wait. {brand}. {cta}.",
)

_SIGN_OFFS = (
    "{brand}: {tagline}.",
    "{brand}, {tagline}.",
)


def write_script(analysis: BriefAnalysis, *, duration_seconds: float, words_per_minute: float, seed: int) -> Script:
    """Write an ad voiceover for `analysis` whose spoken length fills 80 to 95 % of the time before the end card.

    `words_per_minute` is the voice's measured rate (syllables or kana per minute for Chinese and Japanese).
    """
    if words_per_minute <= 0:
        raise ValueError(f"words_per_minute must be positive, got {words_per_minute!r}")
    if duration_seconds <= end_card_seconds(duration_seconds) + 2:
        raise ValueError(f"duration_seconds {duration_seconds!r} leaves no time for speech; use 15 to 120 seconds")
    if analysis.language in ("zh", "ja", "ko"):
        lines, notes = _write_cjk_lines(analysis, duration_seconds=duration_seconds, words_per_minute=words_per_minute, seed=seed)
        return Script(lines=lines, words_per_minute=words_per_minute, language=analysis.language, fallbacks=notes)

    writer = _CopyWriter(analysis, random.Random(seed))
    available = speech_seconds_available(duration_seconds)
    lines, notes = _fit(writer, available, words_per_minute)
    script = Script(lines=tuple(lines), words_per_minute=words_per_minute, language="en", fallbacks=tuple(notes))
    logger.info("script written: %d lines, %.1f s of %.1f s speech time", len(lines),
                estimate_speech_seconds(lines, words_per_minute), available)
    return script


class _CopyWriter:
    """Fills sentence patterns for one brief; each pattern is used at most once."""

    def __init__(self, analysis: BriefAnalysis, rng: random.Random) -> None:
        self.analysis = analysis
        self.rng = rng
        self.profile: IndustryProfile = copy_profile(analysis.product, analysis.industry)
        self.industry: IndustryProfile = industry_profile(analysis.industry)
        self.family = _tone_family(analysis.tone, analysis.style)
        self.benefits = tuple(_read_benefit(text) for text in analysis.benefits)
        pains = list(self.profile.pains)
        proofs = list(self.profile.proof)
        rng.shuffle(pains)
        rng.shuffle(proofs)
        payoff = next((benefit.payoff for benefit in self.benefits if benefit.payoff), self.profile.benefits[0])
        # A brief with no brand gets "This platform", which reads "this platform" mid-sentence.
        self.brand_is_phrase = analysis.brand == fallback_brand(analysis.product)
        self.brand = _lower_first(analysis.brand) if self.brand_is_phrase else analysis.brand
        self.fields: dict[str, str] = {
            "brand": self.brand,
            "audience": _lower_first(analysis.audience),
            "audience_short": _lower_first(_short_audience(analysis.audience)),
            "audience_hook": _lower_first(analysis.audience if len(analysis.audience.split()) <= 6 else _short_audience(analysis.audience)),
            "product_plural": _plural(_strip_article(analysis.product)),
            "a_product": _with_article(_strip_article(analysis.product)),
            "pain": pains[0],
            "pain2": pains[1 % len(pains)],
            "pain3": pains[2 % len(pains)],
            "proof": proofs[0],
            "payoff": payoff,
            "without": _WITHOUT.get(self.profile.name, "the hassle"),
            "cta": analysis.call_to_action.rstrip(".!"),
            "tagline": rng.choice(_TAGLINES[self.family]),
        }
        self.proofs = proofs
        self.ctas = _CTAS_ENDING_ON_OFFER if ":" in analysis.call_to_action else _CTAS
        # Sentences and patterns already in the script; neither is used twice.
        self.used: set[str] = set()
        self.used_patterns: set[str] = set()
        self.missing_problem = False
        self._pattern_of: dict[str, str] = {}

    def render(self, pattern: str, **extra: str) -> str | None:
        fields = {**self.fields, **extra}
        names = re.findall(r"{(\w+)}", pattern)
        values: dict[str, str] = {}
        for name in names:
            base = name[0].lower() + name[1:]
            if name == "audience_cap_first":
                values[name] = _upper_first(fields["audience"])
                continue
            value = fields.get(base, "")
            if not value:
                return None
            values[name] = _upper_first(value) if name[0].isupper() else value
        sentence = pattern.format(**values)
        sentence = re.sub(r"\s+", " ", sentence).strip()
        sentence = re.sub(r"([.!?])\.$", r"\1", sentence)
        if sentence.lower() in self.used or pattern in self.used_patterns:
            return None
        if self.brand_is_phrase and f"this is {self.brand.lower()}" in sentence.lower():
            # "This is this platform" repeats "this", so another pattern is used instead.
            return None
        self._pattern_of[sentence.lower()] = pattern
        return sentence

    def options(self, patterns: tuple[str, ...], **extra: str) -> list[str]:
        order = list(patterns)
        self.rng.shuffle(order)
        rendered = (self.render(pattern, **extra) for pattern in order)
        return [sentence for sentence in rendered if sentence]

    def line(self, section: ScriptSection, sentence: str) -> ScriptLine:
        """Record `sentence` as used and return it as a script line with its spoken form."""
        sentence = self.case_brand(sentence)
        self.used.add(sentence.lower())
        pattern = self._pattern_of.get(sentence.lower())
        if pattern:
            self.used_patterns.add(pattern)
        return ScriptLine(section=section, text=sentence, spoken=to_spoken(sentence))

    def case_brand(self, sentence: str) -> str:
        """Capitalise a brand that is an ordinary phrase ("this platform") where it starts a sentence, and only there.

        A real brand keeps the brief's spelling everywhere, so "eBay" never becomes "EBay".
        """
        if not self.brand_is_phrase:
            return sentence
        pattern = re.compile(rf"(^|[.!?]\s+)?\b{re.escape(self.brand)}\b", re.IGNORECASE)
        return pattern.sub(lambda match: (match.group(1) or "") + (_upper_first(self.brand) if match.group(1) is not None else self.brand), sentence)

    def available(self, sentence: str) -> bool:
        """Return True if neither the sentence nor the pattern it came from is in the script yet."""
        pattern = self._pattern_of.get(sentence.lower())
        return sentence.lower() not in self.used and (pattern is None or pattern not in self.used_patterns)

    def release(self, sentence: str) -> None:
        """Forget a sentence that was tried and taken out again."""
        self.used.discard(sentence.lower())
        pattern = self._pattern_of.get(sentence.lower())
        if pattern:
            self.used_patterns.discard(pattern)

    def reset(self) -> None:
        """Forget every used sentence, for another attempt at fitting."""
        self.used.clear()
        self.used_patterns.clear()


def _fit(writer: _CopyWriter, available: float, wpm: float) -> tuple[list[ScriptLine], list[str]]:
    """Choose lines so the estimated speech time lands between MIN_FILL and MAX_FILL of `available`.

    The core (hook, problem, solution, proof, call to action) is built at the lowest compression level
    that fits; then extra proof, payoff and depth lines are added until the target is reached.
    """
    notes: list[str] = []
    low, target, high = available * MIN_FILL, available * TARGET_FILL, available * MAX_FILL
    sections: dict[ScriptSection, list[ScriptLine]] = {}
    for level in range(6):
        writer.reset()
        sections = _core(writer, level)
        if estimate_speech_seconds(_assemble(sections), wpm) <= high:
            break

    writer.missing_problem = not sections["problem"]
    for section, candidate in _extra_lines(writer):
        if estimate_speech_seconds(_assemble(sections), wpm) >= target:
            break
        trial = writer.line(section, candidate)
        sections[section].append(trial)
        if estimate_speech_seconds(_assemble(sections), wpm) > high:
            sections[section].pop()
            writer.release(trial.text)

    final = _assemble(sections)
    if not sections["problem"]:
        notes.append("The problem line was left out so the copy fits the time before the end card.")
    seconds = estimate_speech_seconds(final, wpm)
    if seconds < low:
        notes.append(
            f"The copy runs about {seconds:.0f} s of the {available:.0f} s available: "
            "the brief gave too little to say more without repeating."
        )
    if seconds > high:
        notes.append(f"The copy runs about {seconds:.0f} s, over the {high:.0f} s aimed at; the voice stage speeds it up.")
    return final, notes


def _assemble(sections: dict[ScriptSection, list[ScriptLine]]) -> list[ScriptLine]:
    order: tuple[ScriptSection, ...] = ("hook", "problem", "solution", "proof", "cta")
    return [line for section in order for line in sections[section]]


def _core(writer: _CopyWriter, level: int) -> dict[ScriptSection, list[ScriptLine]]:
    """Build the five sections at a compression level.

    Level 1 picks the shortest patterns, 2 also drops the intro, 3 lists all benefits in one sentence,
    4 drops the problem line and takes the shortest proof, and 5 lets the hook be just the brand.
    """
    short = level >= 1

    def pick(options: list[str]) -> str:
        if not options:
            return ""
        return min(options, key=lambda text: len(text.split())) if short else options[0]

    hooks = _HOOKS[writer.family] + (_SHORT_HOOKS if short else ()) + (_SHORTEST_HOOKS if level >= 5 else ())
    problems = _PROBLEMS + (_SHORT_PROBLEMS if short else ())
    sections: dict[ScriptSection, list[ScriptLine]] = {
        "hook": [writer.line("hook", pick(writer.options(hooks)))],
        "problem": [] if level >= 4 else [writer.line("problem", pick(writer.options(problems)))],
        "solution": [],
        "proof": [],
        "cta": [],
    }
    if level < 2 or not writer.benefits:
        sections["solution"].append(writer.line("solution", pick(writer.options(_INTROS))))
    sections["solution"].extend(_benefit_lines(writer, merge=level >= 3, short=short))
    proofs = writer.proofs if level >= 4 else writer.proofs[:1]
    proof_options = [option for proof in proofs for option in writer.options(_PROOFS, proof=proof)]
    sections["proof"].append(writer.line("proof", pick(proof_options)))
    sections["cta"].append(writer.line("cta", pick(writer.options(writer.ctas))))
    return sections


def _benefit_lines(writer: _CopyWriter, *, merge: bool, short: bool) -> list[ScriptLine]:
    benefits = writer.benefits
    phrases = [benefit for benefit in benefits if not benefit.clause and not benefit.verb]
    brand = writer.brand
    lines: list[ScriptLine] = []
    if merge:
        # One list sentence keeps every benefit when time is short.
        if phrases:
            listed = _join_list([_lower_first(benefit.text) for benefit in phrases])
            lines.append(writer.line("solution", f"You get {listed}."))
        for benefit in benefits:
            if benefit.verb:
                lines.append(writer.line("solution", f"{brand} {_lower_first(benefit.text)}."))
            elif benefit.clause:
                lines.append(writer.line("solution", _upper_first(benefit.text) + "."))
        return lines
    for benefit in benefits:
        patterns = _VERB_BENEFITS if benefit.verb else _CLAUSE_BENEFITS if benefit.clause else _PHRASE_BENEFITS
        options = writer.options(patterns, benefit=_lower_first(benefit.text))
        if short:
            options.sort(key=lambda option: len(option.split()))
        if options:
            lines.append(writer.line("solution", options[0]))
    return lines


def _extra_lines(writer: _CopyWriter) -> Iterator[tuple[ScriptSection, str]]:
    """Yield further lines in the order they add the most.

    First come lines that say something new: proof, the audience, how it works, a second hook, the
    sign-off. Lines that return to a benefit already stated (payoffs, "imagine" and depth lines) come
    only after those run out, which happens in ads of a minute or more.
    """
    pools: list[tuple[ScriptSection, list[str]]] = []
    if writer.missing_problem:
        pools.append(("problem", writer.options(_SHORT_PROBLEMS)[:1]))
    proof_lines: list[str] = []
    for offset, proof in enumerate(writer.proofs[1:], start=1):
        options = writer.options(_PROOFS, proof=proof)
        proof_lines.extend(options[offset % len(options):][:1] if options else [])
    pools.append(("proof", proof_lines))
    audience_lines: list[str] = []
    groups = [group.strip() for group in re.split(r",|\s+and\s+", writer.analysis.audience) if group.strip()]
    if len(groups) >= 2:
        audience_lines.append(f"For {_lower_first(groups[0])} and {_lower_first(groups[1])} alike, {writer.brand} fits the way you work.")
    audience_lines.extend(writer.options(_AUDIENCE_LINES)[:1])
    pools.append(("solution", audience_lines))
    pools.append(("cta", writer.options(_SIGN_OFFS)[:1]))
    kind = "product" if writer.profile.name in _PRODUCT_INDUSTRIES else "service"
    pools.append(("solution", writer.options(_HOW_IT_WORKS[kind])))
    pools.append(("problem", writer.options(_MORE_PROBLEMS)[:2]))
    pools.append(("proof", writer.options(_MORE_PROOFS)))
    pools.append(("hook", writer.options(_SECOND_HOOKS)[:1]))
    pools.append(("cta", writer.options(_URGENCY)[:1]))
    depth_order = list(_DEPTH)
    writer.rng.shuffle(depth_order)
    pools.append(("solution", [line for line in (writer.render(pattern) for pattern in depth_order if "{payoff}" not in pattern) if line]))
    yield from _round_robin(writer, pools)

    # Lines that revisit a benefit, for long ads only.
    payoffs = [benefit.payoff for benefit in writer.benefits if benefit.payoff] or [writer.profile.benefits[0]]
    revisits: list[tuple[ScriptSection, list[str]]] = []
    payoff_lines: list[str] = []
    imagine_lines: list[str] = []
    for payoff in payoffs:
        payoff_lines.extend(writer.options(_PAYOFFS, payoff=payoff)[:1])
        imagine_lines.extend(writer.options(_IMAGINE, payoff=payoff)[:1])
    depth_lines: list[str] = []
    for offset, pattern in enumerate(pattern for pattern in depth_order if "{payoff}" in pattern):
        rendered = writer.render(pattern, payoff=payoffs[offset % len(payoffs)])
        if rendered:
            depth_lines.append(rendered)
    revisits.append(("solution", payoff_lines))
    revisits.append(("solution", imagine_lines))
    revisits.append(("solution", depth_lines))
    yield from _round_robin(writer, revisits)


def _round_robin(writer: _CopyWriter, pools: list[tuple[ScriptSection, list[str]]]) -> Iterator[tuple[ScriptSection, str]]:
    """Take one line from each pool in turn, so a long ad grows every section instead of exhausting one."""
    index = 0
    while any(pool for _, pool in pools):
        section, pool = pools[index % len(pools)]
        if pool:
            candidate = pool.pop(0)
            if writer.available(candidate):
                yield section, candidate
        index += 1


# Small language helpers


# Words after a plural noun rather than a verb: "coaches who know your name", "sessions with a coach".
_NOUN_FOLLOWERS = frozenset("who that which with for and of on in at from".split())


def _read_benefit(text: str) -> _Benefit:
    clean = text.strip().rstrip(".!")
    words = clean.split()
    if len(words) >= 2 and is_feature_verb(words[0]) and words[1].lower() not in _NOUN_FOLLOWERS:
        return _Benefit(text=clean, clause=False, payoff="", verb=True)
    clause = is_clause(clean)
    if clause and re.match(r"(?i)(?:you|your team|we)\s+(?:can|will|could)\b", clean):
        return _Benefit(text=clean, clause=True, payoff="")
    return _Benefit(text=clean, clause=clause, payoff=_payoff(clean) if clause else _lower_first(clean))


_RECIPIENTS = frozenset(
    "you your teams startups businesses founders customers people users companies brands families students "
    "owners marketers buyers shoppers travellers travelers drivers players members patients clients everyone".split()
)


def _payoff(clause: str) -> str:
    """Return what a clause delivers: "AI automation gives startups enterprise-grade infrastructure" -> "enterprise-grade infrastructure"."""
    words = clause.split()
    for index, word in enumerate(words[1:], start=1):
        if word.lower() in CLAUSE_VERBS:
            rest = words[index + 1:]
            if len(rest) > 1 and rest[0].lower() in _RECIPIENTS:
                rest = rest[1:]
            if rest and rest[0].lower() in ("a", "an", "the"):
                rest = rest[1:]
            return _lower_first(" ".join(rest)) if rest else _lower_first(clause)
    return _lower_first(clause)


def _short_audience(audience: str) -> str:
    """Return the first group of an audience list: "B2B SaaS founders and marketing directors" -> "B2B SaaS founders"."""
    first = re.split(r",|\s+and\s+|\s+or\s+|\s+who\s+|\s+that\s+", audience.strip(), maxsplit=1)[0]
    return first if len(first.split()) >= 1 else audience


def _tone_family(tone: str, style: str) -> str:
    words = re.findall(r"[a-z]+", tone.lower())
    for family, family_words in _TONE_FAMILIES.items():
        if any(word in family_words for word in words):
            return family
    return {"cyberpunk": "bold", "playful": "warm", "luxury": "refined", "minimal": "refined"}.get(style, "assured")


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _lower_first(text: str) -> str:
    """Lower-case the first letter unless the first word is an acronym or a name ("AI", "B2B", "Joe's")."""
    if not text:
        return text
    first = text.split()[0]
    if len(first) > 1 and (any(char.isupper() for char in first[1:]) or any(char.isdigit() for char in first)):
        return text
    return text[:1].lower() + text[1:]


def _strip_article(text: str) -> str:
    return re.sub(r"^(?:a|an|the)\s+", "", text.strip(), flags=re.IGNORECASE)


def _with_article(noun_phrase: str) -> str:
    """Prefix "a" or "an" by sound: "an AI platform", "a smart lamp", "a unique blend", "an hour"."""
    if not noun_phrase:
        return ""
    first = noun_phrase.split()[0]
    if re.match(r"[AEFHILMNORSX][A-Z0-9]", first):
        vowel_sound = True
    elif re.match(r"[A-Z][A-Z0-9]", first):
        vowel_sound = False
    else:
        lowered = first.lower()
        vowel_sound = lowered[:1] in "aeiou" and not lowered.startswith(("uni", "use", "usu", "one", "eu"))
        vowel_sound = vowel_sound or lowered.startswith(("hour", "honest", "honor", "honour"))
    return f"{'an' if vowel_sound else 'a'} {noun_phrase}"


def _plural(noun_phrase: str) -> str:
    if not noun_phrase:
        return ""
    if noun_phrase.endswith(("s", "x", "ch", "sh")):
        return noun_phrase + "es" if not noun_phrase.endswith("s") else noun_phrase
    if noun_phrase.endswith("y") and noun_phrase[-2:-1] not in "aeiou":
        return noun_phrase[:-1] + "ies"
    return noun_phrase + "s"


def _join_list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# Chinese, Japanese and Korean copy: fewer patterns than English, filled with the brand, audience and
# benefits read from the brief. The voice reads these through espeak-ng (see pipeline.voice).

_CJK_PATTERNS: dict[str, dict[ScriptSection, tuple[str, ...]]] = {
    "zh": {
        "hook": ("{audience}，{brand}来了。", "还在等什么？{brand}，为{audience}而生。", "{brand}，来了。"),
        "problem": ("每天的忙碌，让美好的事情一再被推迟。", "时间总是不够用，选择总是太复杂。"),
        "solution": ("{brand}带来{benefit}。", "有了{brand}，{benefit}变得轻而易举。", "{benefit}，从第一天开始。"),
        "proof": ("越来越多的{audience}已经选择了{brand}。", "用过的人，都不想再回到从前。", "用过的人都说好。"),
        "cta": ("{cta}，体验{brand}。", "{brand}，{cta}。"),
    },
    "ja": {
        "hook": ("{audience}へ。{brand}、誕生。", "{brand}が、毎日を変えます。", "{brand}、誕生。"),
        "problem": ("忙しい毎日、大切なことが後回しになっていませんか。", "時間が足りない。選ぶのも面倒。"),
        "solution": ("{brand}なら、{benefit}。", "{benefit}を、もっと手軽に。", "{benefit}も、{brand}におまかせ。"),
        "proof": ("多くの{audience}が、すでに{brand}を選んでいます。", "一度使えば、もう手放せません。", "評判、上々です。"),
        "cta": ("{brand}。{cta}。", "{cta}、{brand}で。"),
    },
    "ko": {
        "hook": ("{audience}{audience_eul} 위한 {brand}.", "{brand}{brand_ga} 하루를 바꿉니다.", "{brand}, 등장."),
        "problem": ("바쁜 하루, 소중한 일은 늘 뒤로 밀립니다.", "시간은 부족하고, 선택은 너무 복잡합니다."),
        "solution": ("{brand}{brand_wa} 함께라면 {benefit}도 간편합니다.", "{benefit}, 이제 더 쉽게.", "{benefit}까지 {brand}에 맡기세요."),
        "proof": ("이미 많은 분들이 {brand}{brand_eul} 선택했습니다.", "한 번 써 보면 다시는 돌아갈 수 없습니다.", "써 보면 압니다."),
        "cta": ("{brand}. {cta}.", "{cta}. {brand}."),
    },
}


def _write_cjk_lines(analysis: BriefAnalysis, *, duration_seconds: float, words_per_minute: float, seed: int) -> tuple[tuple[ScriptLine, ...], tuple[str, ...]]:
    """Write the script in the brief's language; the rate is in syllables (zh, ko) or kana (ja) per minute."""
    language = analysis.language
    patterns = _CJK_PATTERNS[language]
    rng = random.Random(seed)
    fields = {
        "brand": analysis.brand,
        "audience": analysis.audience,
        "cta": analysis.call_to_action.rstrip("。.!！"),
    }
    if language == "ko":
        fields.update(_korean_particles("brand", analysis.brand))
        fields.update(_korean_particles("audience", analysis.audience))
    notes: list[str] = []
    available = speech_seconds_available(duration_seconds)
    high, target = available * MAX_FILL, available * TARGET_FILL

    def make(section: ScriptSection, pattern: str, **extra: str) -> ScriptLine:
        text = pattern.format(**fields, **extra)
        return ScriptLine(section=section, text=text, spoken=to_spoken(text, language))

    order: dict[ScriptSection, list[str]] = {section: list(options) for section, options in patterns.items()}
    for options in order.values():
        rng.shuffle(options)
    benefits = list(analysis.benefits)
    lines: dict[ScriptSection, list[ScriptLine]] = {
        "hook": [make("hook", order["hook"][0])],
        "problem": [make("problem", order["problem"][0])],
        "solution": [make("solution", order["solution"][index % len(order["solution"])], benefit=benefit) for index, benefit in enumerate(benefits)],
        "proof": [make("proof", order["proof"][0])],
        "cta": [make("cta", order["cta"][0])],
    }

    def seconds() -> float:
        return estimate_speech_seconds(_assemble(lines), words_per_minute, language)

    while seconds() > high and len(lines["solution"]) > 1:
        lines["solution"].pop()
        if not notes:
            notes.append("Benefits were left out so the copy fits the time before the end card.")
    if seconds() > high and lines["problem"]:
        lines["problem"] = []
        notes.append("The problem line was left out so the copy fits the time before the end card.")
    if seconds() > high:
        # Still long: use the shortest pattern in every section.
        for section in ("hook", "proof", "cta", "solution"):
            for position, line in enumerate(lines[section]):
                shortest = min(
                    (make(section, pattern, benefit=benefits[position % len(benefits)] if benefits else "") for pattern in order[section]),
                    key=lambda candidate: spoken_units(candidate.spoken, language),
                )
                lines[section][position] = shortest
    for section in ("problem", "proof", "hook", "cta"):
        for pattern in order[section][1:]:
            if seconds() >= target:
                break
            lines[section].append(make(section, pattern))
            if seconds() > high:
                lines[section].pop()
    if seconds() < available * MIN_FILL:
        notes.append(
            f"The {language} copy runs about {seconds():.0f} s of the {available:.0f} s available: "
            "there are fewer sentence patterns for this language than for English."
        )
    return tuple(_assemble(lines)), tuple(notes)


def _korean_particles(name: str, word: str) -> dict[str, str]:
    """Return the particles that follow `word`: 이/가, 과/와, 을/를, chosen by whether its last syllable ends in a consonant."""
    last = word.strip()[-1:] if word.strip() else ""
    closed = bool(last) and "\uac00" <= last <= "\ud7a3" and (ord(last) - 0xAC00) % 28 != 0
    return {
        f"{name}_ga": "이" if closed else "가",
        f"{name}_wa": "과" if closed else "와",
        f"{name}_eul": "을" if closed else "를",
    }
