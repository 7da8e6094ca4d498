"""Colour arithmetic for building layers: mixing, lightness and contrast of "#rrggbb" colours."""

from __future__ import annotations

import colorsys

from pipeline.visual_canvas import hex_to_rgb

RGB = tuple[int, int, int]


def rgb(colour: str | RGB) -> RGB:
    return hex_to_rgb(colour) if isinstance(colour, str) else colour


def mix(first: str | RGB, second: str | RGB, amount: float) -> RGB:
    """Return first*(1-amount) + second*amount."""
    a, b = rgb(first), rgb(second)
    return tuple(int(round(a[i] + (b[i] - a[i]) * amount)) for i in range(3))  # type: ignore[return-value]


def luminance(colour: str | RGB) -> float:
    """Return WCAG relative luminance, 0 for black to 1 for white."""

    def channel(value: int) -> float:
        scaled = value / 255.0
        return scaled / 12.92 if scaled <= 0.03928 else ((scaled + 0.055) / 1.055) ** 2.4

    red, green, blue = rgb(colour)
    return 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)


def contrast(first: str | RGB, second: str | RGB) -> float:
    """Return the WCAG contrast ratio, from 1 (same) to 21 (black on white)."""
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def readable_on(background: str | RGB, preferred: str | RGB, minimum: float = 4.5) -> RGB:
    """Return `preferred` when it reads on `background`, else white or near-black, whichever contrasts more."""
    if contrast(background, preferred) >= minimum:
        return rgb(preferred)
    white, ink = (255, 255, 255), (18, 18, 24)
    return white if contrast(background, white) >= contrast(background, ink) else ink


def with_lightness(colour: str | RGB, lightness: float, saturation_scale: float = 1.0) -> RGB:
    """Return the colour with its HLS lightness set to `lightness` (0..1)."""
    red, green, blue = (channel / 255.0 for channel in rgb(colour))
    hue, _, saturation = colorsys.rgb_to_hls(red, green, blue)
    out = colorsys.hls_to_rgb(hue, max(0.0, min(1.0, lightness)), max(0.0, min(1.0, saturation * saturation_scale)))
    return tuple(int(round(channel * 255)) for channel in out)  # type: ignore[return-value]


def lightness(colour: str | RGB) -> float:
    red, green, blue = (channel / 255.0 for channel in rgb(colour))
    return colorsys.rgb_to_hls(red, green, blue)[1]


def vivid(colour: str | RGB, minimum_saturation: float = 0.75, target_lightness: float = 0.58) -> RGB:
    """Return a saturated, mid-light version of the colour, for neon lines and glows."""
    red, green, blue = (channel / 255.0 for channel in rgb(colour))
    hue, light, saturation = colorsys.rgb_to_hls(red, green, blue)
    if saturation < 0.15:
        return rgb(colour)
    out = colorsys.hls_to_rgb(hue, max(light, target_lightness) if light < 0.85 else light, max(saturation, minimum_saturation))
    return tuple(int(round(channel * 255)) for channel in out)  # type: ignore[return-value]
