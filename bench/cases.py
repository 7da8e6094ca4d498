"""The jobs the benchmarks run: the seed brief at several platforms and lengths."""

from __future__ import annotations

from dataclasses import dataclass

SEED_BRIEF = (
    "Create a 30-second commercial for Barrios A2I, an AI automation company. Target audience: B2B SaaS "
    "founders and marketing directors. Highlight how AI automation gives startups enterprise-grade "
    "infrastructure. Tone: bold, innovative, cyberpunk aesthetic with cosmic cyan and neon amber colors."
)


@dataclass(frozen=True)
class Case:
    """One generation request, as sent to Generate."""

    name: str
    platform: str
    duration_seconds: int
    brief: str = SEED_BRIEF
    industry: str = "technology"
    style: str = "cyberpunk"
    voice_style: str = "professional"
    seed: int | None = None
    # Jobs submitted at the same moment; more than one measures concurrent rendering.
    parallel: int = 1


CASES: dict[str, Case] = {
    case.name: case
    for case in (
        Case("seed_1080p_30s", "youtube_1080p", 30),
        Case("tiktok_30s", "tiktok", 30),
        Case("tiktok_60s", "tiktok", 60),
        Case("4k_15s", "youtube_4k", 15),
        Case("two_at_once_1080p_30s", "youtube_1080p", 30, parallel=2),
    )
}
QUICK_CASES = ("seed_1080p_30s",)
