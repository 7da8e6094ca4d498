"""Hand-built RenderSpecs for tests, benchmarks and previews of the renderer, without the earlier stages."""

from __future__ import annotations

from pipeline.fonts import font_for
from pipeline.models import CaptionCue, CaptionLayout, Palette, RenderSpec, Scene, Storyboard, Transition
from pipeline.platforms import get_preset

# One palette per style, close to what the brief stage picks for that look.
SAMPLE_PALETTES: dict[str, Palette] = {
    "cyberpunk": Palette("#00e5ff", "#7b2ff7", "#ff2e88", "#0b0b1a", "#f0f0ff"),
    "minimal": Palette("#1f6feb", "#8b949e", "#ff6b35", "#f7f5f0", "#1a1a1a"),
    "corporate": Palette("#0a4d8c", "#13294b", "#2ec4b6", "#ffffff", "#102030"),
    "playful": Palette("#ff5d8f", "#ffd166", "#06d6a0", "#fff5e6", "#222222"),
    "luxury": Palette("#2b0f3a", "#1a1a2e", "#d4af37", "#0e0a12", "#f5ecd7"),
    "cinematic": Palette("#1b3a4b", "#0b132b", "#f4a259", "#05070a", "#f0e6d2"),
}

_TEXTS = (
    "Wake up to a smarter morning",
    "Tired of harsh alarms?",
    "Brightly simulates a natural dawn",
    "16 million colours, 80% less power",
    "Order today at brightly.com",
)
_DIRECTIONS = ("city skyline at night", "soft sunrise light", "data network", "ocean waves", "stars in space")
_TRANSITIONS: tuple[Transition, ...] = ("crossfade", "wipe", "slide", "zoom", "glitch")
_CAPTIONS = (
    "Meet Brightly, the smart lamp",
    "that wakes you gently every morning.",
    "Sunrise mode simulates dawn",
    "over thirty minutes.",
    "Order today at brightly.com",
)


def caption_layout_for(width: int, height: int, margins: tuple[float, float, float, float], text: str = "") -> CaptionLayout:
    """Return a caption layout in the bottom of the safe area, about a sixth of the frame high."""
    top, right, bottom, left = margins
    box_height = int(height * 0.18)
    box = (int(width * left), int(height * (1 - bottom)) - box_height, int(width * (1 - left - right)), box_height)
    face = font_for(text)
    return CaptionLayout(face.path, max(14, int(min(width, height) * 0.042)), box, 1.25, face.index)


def sample_spec(
    style: str,
    platform: str = "youtube_1080p",
    duration: float = 30.0,
    *,
    scenes: int = 6,
    captions: bool = True,
    seed: int = 42,
    size: tuple[int, int] | None = None,
) -> RenderSpec:
    """Build a commercial for "Brightly" in `style`: `scenes` scenes, the last an end card, with captions.

    `size` overrides the preset's width and height, for quick tests at small sizes.
    """
    preset = get_preset(platform)
    if size is not None:
        preset = type(preset)(preset.name, size[0], size[1], preset.fps, preset.safe_margins, preset.crf, preset.audio_bitrate)
    length = duration / scenes
    storyboard = []
    for index in range(scenes):
        last = index == scenes - 1
        storyboard.append(
            Scene(
                index=index,
                start=index * length,
                duration=length,
                narration=_CAPTIONS[index % len(_CAPTIONS)],
                on_screen_text="" if last else _TEXTS[index % len(_TEXTS)],
                visual_direction="brand logo" if last else _DIRECTIONS[index % len(_DIRECTIONS)],
                transition=_TRANSITIONS[index % len(_TRANSITIONS)],
                kind="end_card" if last else "scene",
            )
        )
    cues: tuple[CaptionCue, ...] = ()
    if captions:
        step = duration / len(_CAPTIONS)
        cues = tuple(CaptionCue(i * step, (i + 1) * step - 0.1, text, (text,)) for i, text in enumerate(_CAPTIONS))
    return RenderSpec(
        preset=preset,
        duration=duration,
        style=style,
        palette=SAMPLE_PALETTES.get(style, SAMPLE_PALETTES["corporate"]),
        storyboard=Storyboard(tuple(storyboard)),
        cues=cues,
        caption_layout=caption_layout_for(preset.width, preset.height, preset.safe_margins),
        brand="Brightly",
        call_to_action="Shop now at brightly.com",
        seed=seed,
    )
