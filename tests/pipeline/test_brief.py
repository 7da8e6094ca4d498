"""Tests for pipeline.brief: reading a brief into brand, audience, benefits, tone, palette and language."""

from __future__ import annotations

import colorsys

import pytest

from pipeline.brief import (
    MIN_GRAPHIC_CONTRAST,
    MIN_TEXT_CONTRAST,
    STYLES,
    analyze_brief,
    apply_modifiers,
    build_palette,
    contrast_ratio,
    find_colours,
    relative_luminance,
)
from pipeline.models import JobRequest, Palette

SEED_BRIEF = (
    "Create a 30-second commercial for Barrios A2I, an AI automation company. Target audience: B2B SaaS "
    "founders and marketing directors. Highlight how AI automation gives startups enterprise-grade "
    "infrastructure. Tone: bold, innovative, cyberpunk aesthetic with cosmic cyan and neon amber colors."
)


def hue_degrees(hex_value: str) -> float:
    red, green, blue = (int(hex_value[index:index + 2], 16) / 255 for index in (1, 3, 5))
    hue, _, _ = colorsys.rgb_to_hls(red, green, blue)
    return hue * 360


def assert_readable(palette: Palette) -> None:
    assert contrast_ratio(palette.text, palette.background) >= MIN_TEXT_CONTRAST
    for colour in (palette.primary, palette.secondary, palette.accent):
        assert contrast_ratio(colour, palette.background) >= MIN_GRAPHIC_CONTRAST, colour


def test_seed_brief_fields() -> None:
    analysis = analyze_brief(JobRequest(brief=SEED_BRIEF))
    assert analysis.brand == "Barrios A2I"
    assert "AI automation" in analysis.product
    assert analysis.audience == "B2B SaaS founders and marketing directors"
    assert analysis.benefits == ("AI automation gives startups enterprise-grade infrastructure",)
    assert analysis.tone == "bold, innovative"
    assert analysis.style == "cyberpunk"
    assert analysis.voice_style == "energetic"
    assert analysis.language == "en"
    assert analysis.industry == "technology"
    assert analysis.call_to_action
    assert analysis.fallbacks == ()


def test_seed_brief_palette_is_cyan_and_amber() -> None:
    palette = analyze_brief(JobRequest(brief=SEED_BRIEF)).palette
    assert palette.named == ("cosmic cyan", "neon amber")
    assert 170 <= hue_degrees(palette.primary) <= 200
    assert 35 <= hue_degrees(palette.secondary) <= 50
    assert_readable(palette)


@pytest.mark.parametrize(
    ("text", "phrases", "hue_ranges"),
    [
        ("cosmic cyan and neon amber colors", ("cosmic cyan", "neon amber"), ((170, 200), (35, 50))),
        ("Use navy and gold.", ("navy", "gold"), ((230, 250), (45, 56))),
        ("electric blue with hot pink accents", ("electric blue", "hot pink"), ((175, 200), (320, 345))),
        ("a deep purple and pastel pink palette", ("deep purple", "pastel pink"), ((290, 310), (340, 360))),
        ("emerald, crimson and ivory tones", ("emerald", "crimson", "ivory"), ((130, 150), (340, 355), (55, 65))),
        ("colors: dark slate blue", ("dark slate blue",), ((240, 255),)),
    ],
)
def test_find_colours_table(text: str, phrases: tuple[str, ...], hue_ranges: tuple[tuple[int, int], ...]) -> None:
    found = find_colours(text)
    assert tuple(colour.phrase for colour in found) == phrases
    for colour, (low, high) in zip(found, hue_ranges):
        assert low <= hue_degrees(colour.hex) <= high, (colour, low, high)


@pytest.mark.parametrize(
    "text",
    ["Black Friday deals on every laptop", "Read our white paper", "the gold standard of service", "chocolate cake for everyone"],
)
def test_find_colours_ignores_non_colour_phrases(text: str) -> None:
    assert find_colours(text) == ()


def test_modifiers_move_lightness() -> None:
    base = find_colours("blue")[0].hex
    assert contrast_ratio(apply_modifiers(base, ("dark",)), "#000000") < contrast_ratio(base, "#000000")
    assert contrast_ratio(apply_modifiers(base, ("light",)), "#000000") > contrast_ratio(base, "#000000")


def test_navy_and_gold_palette_keeps_both_colours() -> None:
    palette = analyze_brief(JobRequest(brief="A bank ad. Use navy and gold.", industry="finance")).palette
    assert palette.named == ("navy", "gold")
    assert palette.background == "#000080"
    assert palette.primary == "#ffd700"
    assert 230 <= hue_degrees(palette.secondary) <= 250
    assert_readable(palette)


@pytest.mark.parametrize("style", STYLES)
def test_no_colours_gives_readable_style_palette(style: str) -> None:
    analysis = analyze_brief(JobRequest(brief="Launch video for Brightly, the smart lamp.", style=style))
    assert analysis.style == style
    assert analysis.palette.named == ()
    assert analysis.palette == build_palette((), style)
    assert_readable(analysis.palette)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("colours", ["black and white", "yellow and white", "navy", "pastel pink and mint", "neon green"])
def test_named_colours_stay_readable_in_every_style(style: str, colours: str) -> None:
    palette = build_palette(find_colours(f"colors: {colours}"), style)
    assert palette.named
    assert_readable(palette)


def test_unknown_style_falls_back_and_is_recorded() -> None:
    analysis = analyze_brief(JobRequest(brief="Ad for Brightly, the smart lamp.", style="vaporwave"))
    assert analysis.style in STYLES
    assert any("vaporwave" in note for note in analysis.fallbacks)


def test_unknown_industry_falls_back_and_is_recorded() -> None:
    analysis = analyze_brief(JobRequest(brief="Ad for Brightly, the smart lamp.", industry="underwater basket weaving"))
    assert analysis.industry == "general"
    assert any("underwater basket weaving" in note for note in analysis.fallbacks)
    assert analysis.call_to_action


def test_industry_alias_resolves() -> None:
    assert analyze_brief(JobRequest(brief="Ad for Fitly.", industry="Gym")).industry == "fitness"


def test_unknown_voice_style_falls_back_and_is_recorded() -> None:
    analysis = analyze_brief(JobRequest(brief="Ad for Brightly.", voice_style="sultry"))
    assert analysis.voice_style == "professional"
    assert any("sultry" in note for note in analysis.fallbacks)


def test_industry_steers_call_to_action() -> None:
    fitness = analyze_brief(JobRequest(brief="Ad for Fitly.", industry="fitness"))
    finance = analyze_brief(JobRequest(brief="Ad for Fitly.", industry="finance"))
    assert fitness.call_to_action != finance.call_to_action


def test_brief_call_to_action_is_used() -> None:
    analysis = analyze_brief(JobRequest(brief="Ad for Brightly. Call to action: Order yours at brightly.com"))
    assert analysis.call_to_action == "Order yours at brightly.com"


def test_benefit_list_is_split() -> None:
    analysis = analyze_brief(JobRequest(brief="Promote Dr. Smith Dental in NYC. Highlight 4K scans, same-day crowns from $49.99 and gentle care."))
    assert analysis.brand == "Dr. Smith Dental"
    assert analysis.benefits == ("4K scans", "same-day crowns from $49.99", "gentle care")


@pytest.mark.parametrize("brief", ["Don't miss Joe's 5 deals", "2025's best laptop for students", "Big sale 🔥🔥 50% off!", "x"])
def test_short_briefs_complete_with_fallbacks(brief: str) -> None:
    analysis = analyze_brief(JobRequest(brief=brief))
    assert analysis.brand
    assert analysis.benefits
    assert analysis.audience
    assert analysis.fallbacks


def test_offer_brief_finds_product_and_audience() -> None:
    analysis = analyze_brief(JobRequest(brief="2025's best laptop for students"))
    assert analysis.product == "laptop"
    assert analysis.audience == "students"


@pytest.mark.parametrize(
    ("brief", "language", "brand", "benefit"),
    [
        ("为忙碌的家庭打造的“晨光咖啡”智能咖啡机。突出：一键冲泡、静音设计和手机远程控制。", "zh", "晨光咖啡", "静音设计"),
        ("忙しい家族のための「朝光コーヒー」スマートコーヒーメーカー。特徴：ワンタッチ抽出、静音設計。", "ja", "朝光コーヒー", "静音設計"),
        ('바쁜 가족을 위한 스마트 커피 메이커 "모닝빈". 강조: 원터치 추출, 저소음 설계.', "ko", "모닝빈", "저소음 설계"),
    ],
)
def test_cjk_brief_language_brand_and_benefits(brief: str, language: str, brand: str, benefit: str) -> None:
    analysis = analyze_brief(JobRequest(brief=brief))
    assert analysis.language == language
    assert analysis.brand == brand
    assert benefit in analysis.benefits
    assert analysis.audience
    assert analysis.call_to_action


def test_analysis_is_deterministic() -> None:
    request = JobRequest(brief=SEED_BRIEF, style="luxury", industry="finance")
    assert analyze_brief(request) == analyze_brief(request)


COFFEE_BRIEF = (
    "A 15-second Instagram ad for Bean There, a neighbourhood coffee roaster in Portland. Audience: remote workers. "
    "Fresh single-origin beans roasted daily, free wifi, quiet corners. Warm and friendly."
)
RING_BRIEF = (
    "Promote FitPulse, a smart ring that tracks sleep, heart rate and recovery for busy parents. Energetic, playful. "
    "Don't miss our launch deal: $49.99 this week only 🔥"
)


def test_coffee_brief_reads_its_own_features() -> None:
    analysis = analyze_brief(JobRequest(brief=COFFEE_BRIEF, industry="food", style="minimal"))
    assert analysis.brand == "Bean There"
    assert analysis.product == "neighbourhood coffee roaster"
    assert analysis.audience == "remote workers"
    assert analysis.benefits == ("Fresh single-origin beans roasted daily", "free wifi", "quiet corners")
    assert not any("meal" in benefit for benefit in analysis.benefits)
    assert analysis.tone == "warm, friendly"


def test_ring_brief_keeps_features_audience_and_offer() -> None:
    analysis = analyze_brief(JobRequest(brief=RING_BRIEF, industry="fitness"))
    assert analysis.product == "smart ring"
    assert analysis.audience == "busy parents"
    features = " ".join(analysis.benefits)
    for feature in ("sleep", "heart rate", "recovery"):
        assert feature in features
    assert "workouts" not in features
    assert "$49.99 this week only" in analysis.call_to_action
    assert "🔥" not in analysis.call_to_action


def test_industry_default_benefits_never_contradict_product() -> None:
    coffee = analyze_brief(JobRequest(brief="Ad for Bean There, a coffee roaster.", industry="food"))
    ring = analyze_brief(JobRequest(brief="Ad for FitPulse, a smart ring.", industry="fitness"))
    assert coffee.benefits
    assert not any("meal" in benefit for benefit in coffee.benefits)
    assert ring.benefits
    assert not any("coach" in benefit or "workout" in benefit for benefit in ring.benefits)


@pytest.mark.parametrize(
    ("brief", "offer"),
    [
        (RING_BRIEF, "$49.99 this week only"),
        ("Ad for Glowra, a vitamin C serum. 20% off your first order.", "20% off your first order"),
        ("Ad for Nonna's Table, an Italian restaurant. Free delivery on orders over $30.", "free delivery on orders over $30"),
        ("Ad for Summit Motors, a car dealer. Spring sale: 0% APR for 60 months.", "0% APR for 60 months"),
        ("Ad for Crate Co. Free shipping this weekend only!", "free shipping this weekend only"),
    ],
)
def test_offer_joins_call_to_action(brief: str, offer: str) -> None:
    assert offer in analyze_brief(JobRequest(brief=brief)).call_to_action


def test_price_in_benefit_is_not_an_offer() -> None:
    analysis = analyze_brief(JobRequest(brief="Promote Dr. Smith Dental in NYC. Highlight 4K scans, same-day crowns from $49.99 and gentle care."))
    assert "$49.99" not in analysis.call_to_action


@pytest.mark.parametrize(
    ("brief", "expected"),
    [
        ("Launch video for Ledgerly, a bookkeeping app for freelancers. It sorts receipts automatically. "
         "Key benefits: bank-grade security, tax-ready reports.", ("sorts receipts automatically", "bank-grade security", "tax-ready reports")),
        ("Promote Harbor Credit Union, a local bank with no monthly fees and free ATMs nationwide so you can keep more "
         "of every paycheck.", ("no monthly fees", "free ATMs nationwide", "you can keep more of every paycheck")),
        ("Create an ad for Paws Haven, an animal shelter that rescues abandoned dogs. Heartfelt.", ("rescues abandoned dogs",)),
        ("Ad for Glowra, a vitamin C serum. Fades dark spots, calms redness, no fragrance. Elegant and calm.",
         ("Fades dark spots", "calms redness", "no fragrance")),
    ],
)
def test_benefits_from_every_brief_shape(brief: str, expected: tuple[str, ...]) -> None:
    assert analyze_brief(JobRequest(brief=brief)).benefits == expected


@pytest.mark.parametrize(
    ("brief", "audience"),
    [
        ("Launch video for Ledgerly, a bookkeeping app for freelancers.", "freelancers"),
        (RING_BRIEF, "busy parents"),
        ("Ad for Nova. Target audience: first-time home buyers.", "first-time home buyers"),
    ],
)
def test_audience_keeps_its_qualifiers(brief: str, audience: str) -> None:
    assert analyze_brief(JobRequest(brief=brief)).audience == audience


def test_closing_imperative_is_call_to_action() -> None:
    analysis = analyze_brief(JobRequest(brief="Ad for Starfall Odyssey, a co-op space RPG. Epic and bold. Pre-order now."))
    assert analysis.call_to_action == "Pre-order now"


def _hex_hls(hex_value: str) -> tuple[float, float, float]:
    red, green, blue = (int(hex_value[index:index + 2], 16) / 255 for index in (1, 3, 5))
    return colorsys.rgb_to_hls(red, green, blue)


def test_cream_and_espresso_brown_are_found() -> None:
    found = find_colours("A cafe ad in cream and espresso brown.")

    assert tuple(colour.phrase for colour in found) == ("cream", "espresso brown")
    cream, espresso = (colour.hex for colour in found)
    assert relative_luminance(cream) > 0.85
    assert relative_luminance(espresso) < 0.05
    assert 20 <= hue_degrees(espresso) <= 40


@pytest.mark.parametrize(
    ("name", "hue_range", "lightness_range"),
    [
        ("cream", (40, 70), (0.85, 1.0)),
        ("ivory", (40, 70), (0.9, 1.0)),
        ("espresso", (20, 40), (0.05, 0.25)),
        ("mocha", (10, 40), (0.35, 0.6)),
        ("coffee", (15, 35), (0.2, 0.4)),
        ("caramel", (30, 50), (0.35, 0.55)),
        ("champagne", (30, 50), (0.85, 1.0)),
        ("blush", (330, 360), (0.5, 0.8)),
        ("sage", (80, 110), (0.5, 0.7)),
        ("mint", (110, 130), (0.7, 0.9)),
        ("teal", (170, 190), (0.2, 0.3)),
        ("lime", (110, 130), (0.4, 0.6)),
        ("electric lime", (65, 80), (0.45, 0.55)),
        ("neon green", (100, 120), (0.5, 0.6)),
        ("burgundy", (330, 360), (0.2, 0.3)),
        ("terracotta", (5, 20), (0.5, 0.7)),
        ("charcoal", (190, 215), (0.2, 0.3)),
        ("sand", (40, 60), (0.55, 0.75)),
        ("rose gold", (340, 360), (0.5, 0.65)),
    ],
)
def test_marketing_colour_names(name: str, hue_range: tuple[int, int], lightness_range: tuple[float, float]) -> None:
    found = find_colours(f"Brand colours: {name}.")

    assert [colour.phrase for colour in found] == [name]
    _, lightness, _ = _hex_hls(found[0].hex)
    assert hue_range[0] <= hue_degrees(found[0].hex) <= hue_range[1], found[0]
    assert lightness_range[0] <= lightness <= lightness_range[1], found[0]


def test_electric_lime_is_bright_yellow_green() -> None:
    [colour] = find_colours("An energy drink ad in electric lime.")

    assert colour.hex == "#ccff00"


@pytest.mark.parametrize("modifier", ["neon", "electric", "glowing", "bright", "vivid", "hot"])
@pytest.mark.parametrize("base", ["#008000", "#ffc0cb", "#808080", "#00ff00", "#4b3621", "#fffdd0", "#0000ff"])
def test_brightening_modifiers_never_darken(modifier: str, base: str) -> None:
    result = apply_modifiers(base, (modifier,))

    assert relative_luminance(result) >= relative_luminance(base) - 1e-9, result
    assert _hex_hls(result)[2] >= _hex_hls(base)[2] - 1e-9, result


@pytest.mark.parametrize("colours", [
    "electric lime and lime", "lime, electric lime and black", "white", "black", "gray", "gray and silver",
    "cream", "ivory and cream", "gold", "red", "black and white", "charcoal",
])
@pytest.mark.parametrize("style", ["cyberpunk", "minimal", "corporate", "playful", "luxury", "cinematic"])
def test_palette_never_repeats_a_colour(style: str, colours: str) -> None:
    palette = build_palette(find_colours(f"colors: {colours}"), style)

    values = [palette.primary, palette.secondary, palette.accent, palette.background, palette.text]
    assert len(set(values)) == len(values), values
    assert_readable(palette)


def test_same_colour_named_twice_is_found_once() -> None:
    found = find_colours("Lime cans, lime labels and a lime logo.")

    assert [colour.phrase for colour in found] == ["lime"]


@pytest.mark.parametrize("text", ["Try our new ice cream.", "Cream cheese for busy mornings.", "Fresh coffee beans daily."])
def test_ambiguous_colour_words_alone_are_not_colours(text: str) -> None:
    assert find_colours(text) == ()


def test_unrecognised_colour_is_noted() -> None:
    analysis = analyze_brief(JobRequest(brief="A sneaker ad for Zoomers. Brand colours: zorblax and teal."))

    assert analysis.palette.named == ("teal",)
    notes = [note for note in analysis.fallbacks if "zorblax" in note]
    assert len(notes) == 1
    assert "not a known colour name" in notes[0]


def test_unrecognised_only_colour_notes_style_palette() -> None:
    analysis = analyze_brief(JobRequest(brief="A fashion ad for Velour in fuchsine colours.", style="luxury"))

    assert analysis.palette.named == ()
    assert any("'fuchsine'" in note and "luxury" in note for note in analysis.fallbacks), analysis.fallbacks


@pytest.mark.parametrize("brief", [
    "A cafe ad in cream and espresso brown.",
    "Tone: bold, innovative, cyberpunk aesthetic with cosmic cyan and neon amber colors.",
    "A drink in a can with blue tones.",
    "Use warm earthy tones.",
])
def test_recognised_colours_add_no_note(brief: str) -> None:
    analysis = analyze_brief(JobRequest(brief=brief))

    assert not [note for note in analysis.fallbacks if "colour" in note], analysis.fallbacks


@pytest.mark.parametrize(
    ("text", "phrases", "hexes"),
    [
        ("Brand colours: #1E90FF and teal.", ("#1E90FF", "teal"), ("#1e90ff", "#008080")),
        ("Use #f60 for buttons.", ("#f60",), ("#ff6600",)),
        ("Colours: rgb(255, 99, 71) and navy.", ("rgb(255, 99, 71)", "navy"), ("#ff6347", "#000080")),
        ("Colours: RGB(100%, 50%, 0%).", ("RGB(100%, 50%, 0%)",), ("#ff8000",)),
        ("Palette: navy, rgb(0,128,0) and #FFD700.", ("navy", "rgb(0,128,0)", "#FFD700"), ("#000080", "#008000", "#ffd700")),
    ],
)
def test_exact_colours_found_in_order(text: str, phrases: tuple[str, ...], hexes: tuple[str, ...]) -> None:
    found = find_colours(text)

    assert tuple(colour.phrase for colour in found) == phrases
    assert tuple(colour.hex for colour in found) == hexes


@pytest.mark.parametrize("text", ["Share it with #ad and #Decade.", "We are #1 in town.", "Follow #bad for more."])
def test_hashtags_are_not_colours(text: str) -> None:
    assert find_colours(text) == ()


def test_hex_colour_reaches_palette_first() -> None:
    analysis = analyze_brief(JobRequest(brief="A 30-second ad for Brightly, a sunrise lamp. Brand colours: #1E90FF and teal-green."))

    assert analysis.palette.named[0] == "#1E90FF"
    assert analysis.palette.primary == "#1e90ff"
    assert "teal" in analysis.palette.named
    assert not [note for note in analysis.fallbacks if "colour" in note], analysis.fallbacks


def test_rgb_colour_is_not_split_at_commas() -> None:
    analysis = analyze_brief(JobRequest(brief="A 30-second ad for Brightly, a sunrise lamp. Colours: rgb(255, 99, 71) and navy."))

    assert analysis.palette.named == ("rgb(255, 99, 71)", "navy")
    assert analysis.palette.primary == "#ff6347"
    assert not [note for note in analysis.fallbacks if "colour" in note], analysis.fallbacks


def test_unknown_word_beside_rgb_is_noted_whole() -> None:
    analysis = analyze_brief(JobRequest(brief="An ad for Brightly. Colours: rgb(255, 99, 71), zorblax and navy."))

    notes = [note for note in analysis.fallbacks if "colour" in note]
    assert len(notes) == 1, notes
    assert "'zorblax'" in notes[0]


@pytest.mark.parametrize(
    ("colour", "fix"),
    [("#12345", "#RRGGBB"), ("#GG0000", "#RRGGBB"), ("rgb(300, 0, 0)", "0 to 255"), ("rgb(10%, 0, 0)", "0 to 255")],
)
def test_invalid_exact_colour_is_noted(colour: str, fix: str) -> None:
    analysis = analyze_brief(JobRequest(brief=f"An ad for Brightly. Brand colours: {colour} and teal."))

    notes = [note for note in analysis.fallbacks if colour in note]
    assert len(notes) == 1, analysis.fallbacks
    assert fix in notes[0]
    assert analysis.palette.named == ("teal",)


@pytest.mark.parametrize(
    ("brief", "audience"),
    [
        ("Meet Brightly, a sunrise lamp. For young professionals who hate alarms.", "young professionals who hate alarms"),
        ("Ad for Kiln Studio, a pottery studio. For collectors who value craft over trends.", "collectors who value craft over trends"),
        ("A 15-second ad for Brightly, a sunrise lamp for night-shift nurses.", "night-shift nurses"),
        ("Brightly is a gentle lamp for night-shift nurses who sleep by day, with a warm glow.", "night-shift nurses who sleep by day"),
        ("Ad for Brightly, a lamp for nurses and paramedics on long shifts.", "nurses and paramedics"),
        ("Ad for Loop, a budgeting app for first-time renters.", "first-time renters"),
    ],
)
def test_audience_after_for(brief: str, audience: str) -> None:
    analysis = analyze_brief(JobRequest(brief=brief))

    assert analysis.audience == audience
    assert not [note for note in analysis.fallbacks if "audience" in note], analysis.fallbacks


@pytest.mark.parametrize(
    "brief",
    [
        "Ad for Brightly, a sunrise lamp. Run it for 30 seconds.",
        "Make an ad for a lamp.",
        "Create a commercial for Brightly.",
        "Ad for Glowra, a serum. Try a sample for free.",
        "Ad for Brightly, a lamp whose battery lasts for days.",
        "Ad for Brightly, a lamp that glows for hours.",
        "Ad for Brightly, a lamp for bedrooms and offices.",
    ],
)
def test_for_phrase_that_is_no_audience(brief: str) -> None:
    analysis = analyze_brief(JobRequest(brief=brief))

    assert analysis.audience == "teams that want to move faster"
    assert [note for note in analysis.fallbacks if "names no audience" in note]


@pytest.mark.parametrize(
    ("brief", "brand"),
    [
        ("Brightly is a smart lamp that wakes you gently.", "Brightly"),
        ("Meet Brightly, the lamp that wakes you gently.", "Brightly"),
        ("Brightly: the lamp that wakes you gently.", "Brightly"),
        ("Brightly, a smart lamp that wakes you gently.", "Brightly"),
        ("Brightly - a smart lamp that wakes you gently.", "Brightly"),
        ("Tone: warm. Brightly is a smart lamp.", "Brightly"),
        ("Kiln & Co makes stoneware mugs.", "Kiln & Co"),
        ("Kiln and Co makes stoneware mugs.", "Kiln and Co"),
        ("Introducing Kiln & Co, handmade stoneware mugs.", "Kiln & Co"),
        ("Ben & Jerry's makes ice cream for late nights.", "Ben & Jerry's"),
        ("An ad for Ben & Jerry's new flavour.", "Ben & Jerry's"),
        ("Procter & Gamble makes soap that lasts.", "Procter & Gamble"),
        ("AT&T keeps you connected.", "AT&T"),
        ("Create an ad for AT&T, a phone network.", "AT&T"),
        ("A video about new lamps from Kiln & Co for busy parents.", "Kiln & Co"),
        ("Create a 30-second commercial for Barrios A2I, an AI automation company.", "Barrios A2I"),
        ("Promote Dr. Smith Dental in NYC.", "Dr. Smith Dental"),
    ],
)
def test_brand_found_wherever_brief_names_it(brief: str, brand: str) -> None:
    analysis = analyze_brief(JobRequest(brief=brief))
    assert analysis.brand == brand
    assert not any("names no brand" in note for note in analysis.fallbacks)


@pytest.mark.parametrize(
    ("brief", "product"),
    [
        ("an ad for an AI scheduling platform", "AI scheduling platform"),
        ("An ad for an SEO tool that ranks you higher.", "SEO tool"),
        ("Make a video about a B2B CRM for small teams.", "B2B CRM"),
        ("A 15-second ad for a new SaaS app. Tone: calm.", "new SaaS app"),
        ("We need a video for our AI scheduling platform.", ""),
        ("Highlight AI features and GPS tracking.", ""),
    ],
)
def test_acronym_in_product_is_not_brand(brief: str, product: str) -> None:
    analysis = analyze_brief(JobRequest(brief=brief))
    assert any("names no brand" in note for note in analysis.fallbacks), analysis.brand
    assert analysis.brand.startswith("This ")
    if product:
        assert analysis.product == product


@pytest.mark.parametrize(
    ("brief", "product"),
    [
        ("Brightly is a smart lamp that wakes you gently.", "smart lamp"),
        ("Brightly: the lamp that wakes you gently.", "lamp"),
        ("Kiln & Co, a pottery studio in Leeds.", "pottery studio"),
    ],
)
def test_product_read_after_leading_brand(brief: str, product: str) -> None:
    analysis = analyze_brief(JobRequest(brief=brief))
    assert analysis.product == product


@pytest.mark.parametrize(
    "brief",
    [
        "Busy parents love a calm morning. Create an ad that makes people smile.",
        "Everyone makes mistakes. An ad that makes people smile.",
        "Product: a smart lamp that wakes you gently.",
        "Benefits: the calm of a slow sunrise.",
    ],
)
def test_sentence_opening_word_is_not_brand(brief: str) -> None:
    analysis = analyze_brief(JobRequest(brief=brief))
    assert any("names no brand" in note for note in analysis.fallbacks), analysis.brand
