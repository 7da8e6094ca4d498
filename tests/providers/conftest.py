"""Fixtures for provider tests: the fake OpenAI server and settings that point at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from pipeline.config import ModelPrice, ProviderSettings
from pipeline.models import BriefAnalysis, Palette, Script, ScriptLine
from pipeline.providers import Providers
from tests.providers.fake_openai import FakeOpenAI

# A key the tests look for in every error, warning and log line; it must never appear.
SECRET_KEY = "sk-test-SECRET-0123456789abcdef"

CHAT_MODEL = "fake-chat"
SPEECH_MODEL = "fake-tts"
IMAGE_MODEL = "fake-image"
TEST_PRICES = {
    CHAT_MODEL: ModelPrice(input_per_million_tokens=2.0, output_per_million_tokens=8.0),
    SPEECH_MODEL: ModelPrice(per_million_characters=15.0),
    IMAGE_MODEL: ModelPrice(per_image={"1536x1024": 0.05, "1024x1536": 0.05, "1024x1024": 0.04}),
}


class RecordedSleep:
    """Stands in for time.sleep: records each wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def make_settings(fake: FakeOpenAI) -> Callable[..., ProviderSettings]:
    def build(**overrides: Any) -> ProviderSettings:
        values: dict[str, Any] = {
            "api_key": SecretStr(SECRET_KEY),
            "base_url": fake.base_url,
            "copy_model": CHAT_MODEL,
            "speech_model": SPEECH_MODEL,
            "image_model": IMAGE_MODEL,
            "timeout_seconds": 5.0,
            "max_retries": 2,
            "backoff_seconds": 0.01,
            "max_validation_retries": 2,
            "prices": TEST_PRICES,
        }
        values.update(overrides)
        return ProviderSettings(**values)

    return build


@pytest.fixture
def sleep() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
def make_providers(make_settings: Callable[..., ProviderSettings], sleep: RecordedSleep) -> Iterator[Callable[..., Providers]]:
    opened: list[Providers] = []

    def build(**overrides: Any) -> Providers:
        providers = Providers(make_settings(**overrides), sleep=sleep)
        opened.append(providers)
        return providers

    yield build
    for providers in opened:
        providers.close()


def baseline_analysis() -> BriefAnalysis:
    """An analysis as the offline analyzer might return it."""
    return BriefAnalysis(
        brand="Brand",
        product="product",
        audience="everyone",
        benefits=("good",),
        tone="neutral",
        call_to_action="Buy now",
        palette=Palette("#111111", "#222222", "#333333", "#000000", "#ffffff", named=("cosmic cyan",)),
        industry="education",
        style="minimal",
        voice_style="energetic",
        fallbacks=("style defaulted to minimal",),
    )


def sample_script() -> Script:
    return Script(
        lines=(
            ScriptLine("hook", "Notes everywhere?", "Notes everywhere?"),
            ScriptLine("solution", "Nimbus keeps them in one place.", "Nimbus keeps them in one place."),
            ScriptLine("cta", "Try Nimbus free today.", "Try Nimbus free today."),
        ),
        words_per_minute=150.0,
    )
