"""Provider settings read from the environment by PipelineConfig.from_env."""

from __future__ import annotations

import json

import pytest

from pipeline.config import ConfigError, PipelineConfig
from pipeline.models import JobRequest
from pipeline.providers import Providers
from tests.providers.conftest import SECRET_KEY, baseline_analysis


def test_empty_environment_is_offline() -> None:
    config = PipelineConfig.from_env({})

    assert config == PipelineConfig()
    assert config.providers.enabled is False
    assert config.providers.api_key is None
    with Providers.from_config(config) as providers:
        assert providers.analyze_brief(JobRequest(brief="A brief of some length."), baseline_analysis()) is None
        assert providers.cost_usd == 0.0
        assert providers.details()["providers"] == {"copy": "offline", "speech": "offline", "image": "offline"}


def test_key_alone_uses_openai_defaults() -> None:
    settings = PipelineConfig.from_env({"OPENAI_API_KEY": SECRET_KEY}).providers

    assert settings.base_url == "https://api.openai.com/v1"
    assert settings.is_openai
    assert (settings.copy_model, settings.speech_model, settings.image_model) == ("gpt-4o-mini", "tts-1", "gpt-image-1")
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == SECRET_KEY


def test_empty_model_keeps_use_offline() -> None:
    settings = PipelineConfig.from_env({"OPENAI_API_KEY": SECRET_KEY, "RAGNAROK_IMAGE_MODEL": ""}).providers

    assert settings.image_model == ""
    assert settings.copy_model == "gpt-4o-mini"


def test_custom_server_has_no_default_models() -> None:
    settings = PipelineConfig.from_env({"OPENAI_BASE_URL": "http://127.0.0.1:11434/v1"}).providers

    assert settings.enabled is False
    assert settings.host == "127.0.0.1:11434"


def test_custom_server_with_model_needs_no_key() -> None:
    settings = PipelineConfig.from_env(
        {"OPENAI_BASE_URL": "http://localhost:8000", "RAGNAROK_COPY_MODEL": "Qwen/Qwen2.5-7B-Instruct"}
    ).providers

    assert settings.base_url == "http://localhost:8000/v1"
    assert settings.copy_model == "Qwen/Qwen2.5-7B-Instruct"
    assert settings.speech_model == ""
    assert settings.api_key is None


def test_numbers_and_fallback_read() -> None:
    settings = PipelineConfig.from_env(
        {
            "OPENAI_BASE_URL": "http://127.0.0.1:8080/v1",
            "RAGNAROK_PROVIDER_TIMEOUT_SECONDS": "12.5",
            "RAGNAROK_PROVIDER_MAX_RETRIES": "4",
            "RAGNAROK_PROVIDER_VALIDATION_RETRIES": "1",
            "RAGNAROK_PROVIDER_FALLBACK": "fail",
        }
    ).providers

    assert settings.timeout_seconds == 12.5
    assert settings.max_retries == 4
    assert settings.max_validation_retries == 1
    assert settings.fallback == "fail"


def test_price_override_merges() -> None:
    prices = {"my-model": {"input_per_million_tokens": 1.0, "output_per_million_tokens": 2.0}}

    settings = PipelineConfig.from_env({"RAGNAROK_PROVIDER_PRICES": json.dumps(prices)}).providers

    assert settings.prices["my-model"].output_per_million_tokens == 2.0
    assert settings.prices["gpt-4o-mini"].input_per_million_tokens == 0.15


def test_reads_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9999/v1")
    monkeypatch.setenv("RAGNAROK_COPY_MODEL", "local-model")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    assert PipelineConfig.from_env().providers.copy_model == "local-model"


@pytest.mark.parametrize(
    ("environ", "setting", "fix"),
    [
        ({"OPENAI_BASE_URL": "ftp://example"}, "OPENAI_BASE_URL", "use an http:// or https:// URL"),
        ({"OPENAI_BASE_URL": "localhost:8000"}, "OPENAI_BASE_URL", "use an http:// or https:// URL"),
        ({"OPENAI_BASE_URL": "http://user:pw@127.0.0.1/v1"}, "OPENAI_BASE_URL", "put the key in OPENAI_API_KEY"),
        ({"RAGNAROK_COPY_MODEL": "llama3"}, "RAGNAROK_COPY_MODEL", "set OPENAI_API_KEY"),
        (
            {"OPENAI_BASE_URL": "https://api.openai.com/v1", "RAGNAROK_SPEECH_MODEL": "tts-1"},
            "OPENAI_API_KEY",
            "set OPENAI_API_KEY",
        ),
        ({"RAGNAROK_PROVIDER_TIMEOUT_SECONDS": "soon"}, "RAGNAROK_PROVIDER_TIMEOUT_SECONDS", "valid number"),
        ({"RAGNAROK_PROVIDER_TIMEOUT_SECONDS": "0"}, "RAGNAROK_PROVIDER_TIMEOUT_SECONDS", "greater than 0"),
        ({"RAGNAROK_PROVIDER_MAX_RETRIES": "-1"}, "RAGNAROK_PROVIDER_MAX_RETRIES", "greater than or equal to 0"),
        ({"RAGNAROK_PROVIDER_FALLBACK": "maybe"}, "RAGNAROK_PROVIDER_FALLBACK", "'offline' or 'fail'"),
        ({"RAGNAROK_IMAGE_SIZE": "big"}, "RAGNAROK_IMAGE_SIZE", "use WIDTHxHEIGHT"),
        ({"RAGNAROK_PROVIDER_PRICES": "{nope"}, "RAGNAROK_PROVIDER_PRICES", "invalid JSON"),
        ({"RAGNAROK_PROVIDER_PRICES": "[1]"}, "RAGNAROK_PROVIDER_PRICES", "keyed by model name"),
        (
            {"RAGNAROK_PROVIDER_PRICES": '{"m": {"per_image": {"1024x1024": -1}}}'},
            "RAGNAROK_PROVIDER_PRICES",
            "must not be negative",
        ),
        ({"RAGNAROK_X264_CRF": "40"}, "RAGNAROK_X264_CRF", "less than or equal to 23"),
    ],
)
def test_invalid_setting_named(environ: dict[str, str], setting: str, fix: str) -> None:
    with pytest.raises(ConfigError) as caught:
        PipelineConfig.from_env(environ)

    assert caught.value.setting == setting
    assert str(caught.value).startswith(f"{setting}: ")
    assert fix in str(caught.value)


def test_invalid_key_not_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        PipelineConfig.from_env({"OPENAI_API_KEY": SECRET_KEY, "OPENAI_BASE_URL": f"http://127.0.0.1/{SECRET_KEY}?k=1"})

    assert caught.value.setting == "OPENAI_BASE_URL"
    assert SECRET_KEY not in str(caught.value)


def test_key_hidden_in_repr() -> None:
    config = PipelineConfig.from_env({"OPENAI_API_KEY": SECRET_KEY})

    assert SECRET_KEY not in repr(config)
    assert SECRET_KEY not in str(config)
    assert SECRET_KEY not in config.model_dump_json()
