"""Output presets for the platforms a commercial can target."""

from __future__ import annotations

from pipeline.models import PlatformPreset

# Safe margins keep captions and titles clear of each platform's own overlays:
# 16:9 uses the broadcast title-safe 5 %, vertical video leaves room for the
# app's top bar and the caption, buttons and progress bar at the bottom.
_WIDE = (0.05, 0.05, 0.08, 0.05)
_VERTICAL = (0.10, 0.12, 0.20, 0.06)
_SQUARE = (0.06, 0.06, 0.10, 0.06)

PRESETS: dict[str, PlatformPreset] = {
    preset.name: preset
    for preset in (
        PlatformPreset("youtube_1080p", 1920, 1080, 30, _WIDE),
        PlatformPreset("youtube_4k", 3840, 2160, 30, _WIDE),
        PlatformPreset("tiktok", 1080, 1920, 30, _VERTICAL),
        PlatformPreset("shorts", 1080, 1920, 30, _VERTICAL),
        PlatformPreset("reels", 1080, 1920, 30, _VERTICAL),
        PlatformPreset("instagram", 1080, 1080, 30, _SQUARE),
        PlatformPreset("instagram_portrait", 1080, 1350, 30, _SQUARE),
        PlatformPreset("linkedin", 1920, 1080, 30, _WIDE),
    )
}


def get_preset(name: str) -> PlatformPreset:
    """Return the preset called `name`, or raise KeyError listing the valid names."""
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown platform {name!r}; use one of: {', '.join(PRESETS)}") from None
