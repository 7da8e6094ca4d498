"""Scene background images from the image endpoint, saved under the job's directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from pipeline.models import PlatformPreset, Scene, Storyboard
from pipeline.providers import Providers
from tests.providers.conftest import baseline_analysis
from tests.providers.fake_openai import IMAGES, FakeOpenAI, Reply, error_reply, obedient_images

LANDSCAPE = PlatformPreset(name="youtube_1080p", width=1920, height=1080, fps=30, safe_margins=(0.05, 0.05, 0.05, 0.05))
PORTRAIT = PlatformPreset(name="tiktok", width=1080, height=1920, fps=30, safe_margins=(0.1, 0.05, 0.2, 0.05))


def storyboard() -> Storyboard:
    return Storyboard(
        scenes=(
            Scene(0, 0.0, 5.0, "Notes everywhere?", "Lost notes?", "messy desk covered in paper"),
            Scene(1, 5.0, 5.0, "Nimbus keeps them together.", "One place", "clean laptop on a bright desk"),
            Scene(2, 10.0, 5.0, "", "Nimbus", "brand card", kind="end_card"),
        )
    )


def test_one_image_per_scene(fake: FakeOpenAI, make_providers: Callable[..., Providers], tmp_path: Path) -> None:
    output_dir = tmp_path / "images"

    images = make_providers().generate_images(baseline_analysis(), storyboard(), LANDSCAPE, output_dir)

    assert images is not None
    assert sorted(images) == [0, 1]
    for path in images.values():
        assert path.parent == output_dir
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert image.size == (1536, 1024)
    requests = fake.requests_to(IMAGES)
    assert len(requests) == 2
    assert "messy desk covered in paper" in requests[0].body["prompt"]
    assert "No text" in requests[0].body["prompt"]
    assert requests[0].body["response_format"] == "b64_json"
    assert requests[0].body["size"] == "1536x1024"


def test_portrait_platform_gets_tall_images(
    fake: FakeOpenAI, make_providers: Callable[..., Providers], tmp_path: Path
) -> None:
    images = make_providers().generate_images(baseline_analysis(), storyboard(), PORTRAIT, tmp_path)

    assert images is not None
    with Image.open(images[0]) as image:
        assert image.size == (1024, 1536)


def test_gpt_image_omits_response_format(
    fake: FakeOpenAI, make_providers: Callable[..., Providers], tmp_path: Path
) -> None:
    make_providers(image_model="gpt-image-1").generate_images(baseline_analysis(), storyboard(), LANDSCAPE, tmp_path)

    body = fake.requests_to(IMAGES)[0].body
    assert "response_format" not in body
    assert body["quality"] == "medium"


def test_configured_size_wins(fake: FakeOpenAI, make_providers: Callable[..., Providers], tmp_path: Path) -> None:
    make_providers(image_size="1024x1024").generate_images(baseline_analysis(), storyboard(), LANDSCAPE, tmp_path)

    assert fake.requests_to(IMAGES)[0].body["size"] == "1024x1024"


def test_image_cost_by_count_and_size(fake: FakeOpenAI, make_providers: Callable[..., Providers], tmp_path: Path) -> None:
    providers = make_providers()

    providers.generate_images(baseline_analysis(), storyboard(), LANDSCAPE, tmp_path)

    assert providers.cost_usd == pytest.approx(2 * 0.05)


def test_rate_limited_image_retried(fake: FakeOpenAI, make_providers: Callable[..., Providers], tmp_path: Path) -> None:
    fake.script(IMAGES, error_reply(429, "Rate limit reached for images", headers={"Retry-After": "1"}))

    images = make_providers().generate_images(baseline_analysis(), storyboard(), LANDSCAPE, tmp_path)

    assert images is not None
    assert len(fake.requests_to(IMAGES)) == 3


def test_failed_scene_falls_back_for_all(
    fake: FakeOpenAI, make_providers: Callable[..., Providers], tmp_path: Path
) -> None:
    # The first scene's image succeeds, the second is rejected.
    fake.script(IMAGES, obedient_images, error_reply(400, "Your request was rejected by the safety system."))
    providers = make_providers()

    images = providers.generate_images(baseline_analysis(), storyboard(), LANDSCAPE, tmp_path)

    assert images is None
    assert len(fake.requests_to(IMAGES)) == 2
    [fallback] = providers.fallbacks
    assert fallback.stage == "images"
    assert "safety system" in fallback.reason
    assert providers.warnings[0].endswith("Used the procedural visuals instead.")


def test_unreadable_image_falls_back(fake: FakeOpenAI, make_providers: Callable[..., Providers], tmp_path: Path) -> None:
    fake.set_default(IMAGES, lambda request: Reply(json_body={"created": 0, "data": [{"b64_json": "bm90IGFuIGltYWdl"}]}))
    providers = make_providers()

    assert providers.generate_images(baseline_analysis(), storyboard(), LANDSCAPE, tmp_path) is None
    assert "unreadable image" in providers.fallbacks[0].reason


def test_url_answer_falls_back(fake: FakeOpenAI, make_providers: Callable[..., Providers], tmp_path: Path) -> None:
    fake.set_default(IMAGES, lambda request: Reply(json_body={"created": 0, "data": [{"url": "http://127.0.0.1/x.png"}]}))
    providers = make_providers()

    assert providers.generate_images(baseline_analysis(), storyboard(), LANDSCAPE, tmp_path) is None
    assert "no base64 image" in providers.fallbacks[0].reason
