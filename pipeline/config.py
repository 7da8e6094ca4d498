"""Settings that change how the pipeline renders and which providers it calls.

`PipelineConfig.from_env()` reads them once at start-up. With no OPENAI_API_KEY and
no OPENAI_BASE_URL every stage runs offline. The environment variables are:

| variable | setting | default |
|---|---|---|
| RAGNAROK_X264_PRESET | x264 speed preset | veryfast |
| RAGNAROK_X264_CRF | x264 constant-quality factor, 0 to 23 | 23 |
| OPENAI_API_KEY | API key sent as a bearer token | none |
| OPENAI_BASE_URL | OpenAI-compatible server, for example http://127.0.0.1:11434/v1 | https://api.openai.com/v1 when a key is set |
| RAGNAROK_COPY_MODEL | chat model for brief analysis, script and storyboard plan | gpt-4o-mini on api.openai.com, else none |
| RAGNAROK_SPEECH_MODEL | speech model for the voiceover | tts-1 on api.openai.com, else none |
| RAGNAROK_SPEECH_VOICE | voice name that replaces the one chosen from voice_style | none |
| RAGNAROK_IMAGE_MODEL | image model for scene backgrounds | gpt-image-1 on api.openai.com, else none |
| RAGNAROK_IMAGE_SIZE | image size such as 1536x1024 | chosen from the platform's orientation |
| RAGNAROK_PROVIDER_TIMEOUT_SECONDS | time limit of one HTTP request | 60 |
| RAGNAROK_PROVIDER_STAGE_TIMEOUT_SECONDS | time limit of all requests of one stage, retries included | 240 |
| RAGNAROK_PROVIDER_MAX_RETRIES | retries of a request after a transient failure | 2 |
| RAGNAROK_PROVIDER_MAX_RETRY_WAIT_SECONDS | longest wait before a retry, Retry-After included | 20 |
| RAGNAROK_PROVIDER_BACKOFF_SECONDS | first backoff step, doubled on each retry | 0.5 |
| RAGNAROK_PROVIDER_VALIDATION_RETRIES | extra requests after a model response fails validation | 2 |
| RAGNAROK_PROVIDER_FALLBACK | `offline` to use the offline stage after a failure, `fail` to fail the job | offline |
| RAGNAROK_PROVIDER_PRICES | JSON price table merged over the built-in one, by model name | none |

A model variable set to the empty string keeps that use offline even when a key is set.
"""

from __future__ import annotations

import json
import os
import re
import logging
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

logger = logging.getLogger(__name__)

OPENAI_HOST = "api.openai.com"
OPENAI_BASE_URL = "https://api.openai.com/v1"

# Models used on api.openai.com when a key is set and the model variable is unset.
DEFAULT_OPENAI_MODELS = {"copy": "gpt-4o-mini", "speech": "tts-1", "image": "gpt-image-1"}


# Things shaped like API keys ("sk-..."), removed from messages that echo a setting's value.
KEY_PATTERN = re.compile(r"\b(sk|rk|pk)-[A-Za-z0-9_\-*.]{4,}")


class ConfigError(ValueError):
    """A setting read from the environment is invalid; the message names the variable and the fix."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"{setting}: {message}")
        self.setting = setting


class ModelPrice(BaseModel):
    """Prices of one model in USD; a use the model does not have stays 0."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input_per_million_tokens: float = Field(default=0.0, ge=0)
    output_per_million_tokens: float = Field(default=0.0, ge=0)
    per_million_characters: float = Field(default=0.0, ge=0)
    # USD per generated image, by size such as "1024x1024".
    per_image: dict[str, float] = Field(default_factory=dict)

    @field_validator("per_image")
    @classmethod
    def _check_image_prices(cls, value: dict[str, float]) -> dict[str, float]:
        for size, price in value.items():
            if price < 0:
                raise ValueError(f"price of size {size!r} must not be negative, got {price!r}")
        return value


# Published list prices in USD (OpenAI pricing page as of 2025); override with
# RAGNAROK_PROVIDER_PRICES when they change. gpt-image-1 prices are for quality "medium",
# the quality the image provider requests. A model missing here costs 0, as local servers do.
DEFAULT_PRICES: dict[str, ModelPrice] = {
    "gpt-4o-mini": ModelPrice(input_per_million_tokens=0.15, output_per_million_tokens=0.60),
    "gpt-4o": ModelPrice(input_per_million_tokens=2.50, output_per_million_tokens=10.00),
    "gpt-4.1-mini": ModelPrice(input_per_million_tokens=0.40, output_per_million_tokens=1.60),
    "gpt-4.1": ModelPrice(input_per_million_tokens=2.00, output_per_million_tokens=8.00),
    "tts-1": ModelPrice(per_million_characters=15.00),
    "tts-1-hd": ModelPrice(per_million_characters=30.00),
    "gpt-image-1": ModelPrice(per_image={"1024x1024": 0.042, "1024x1536": 0.063, "1536x1024": 0.063}),
    "dall-e-3": ModelPrice(per_image={"1024x1024": 0.040, "1024x1792": 0.080, "1792x1024": 0.080}),
}


class ProviderSettings(BaseModel):
    """Settings of the OpenAI-compatible provider: its URL and key, the model of each use, and call limits.

    An empty model name keeps that use offline. `enabled` is False when no use has a model.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key: SecretStr | None = None
    # Base URL of the OpenAI-compatible API, ending in the version path (".../v1").
    base_url: str = OPENAI_BASE_URL
    copy_model: str = ""
    speech_model: str = ""
    speech_voice: str = ""
    image_model: str = ""
    # Image size such as "1536x1024"; empty chooses one from the platform's orientation.
    image_size: str = ""
    timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    stage_timeout_seconds: float = Field(default=240.0, gt=0, le=3600)
    max_retries: int = Field(default=2, ge=0, le=10)
    max_retry_wait_seconds: float = Field(default=20.0, ge=0, le=600)
    backoff_seconds: float = Field(default=0.5, ge=0, le=60)
    max_validation_retries: int = Field(default=2, ge=0, le=5)
    fallback: Literal["offline", "fail"] = "offline"
    prices: dict[str, ModelPrice] = Field(default_factory=lambda: dict(DEFAULT_PRICES), repr=False)

    @field_validator("image_size")
    @classmethod
    def _check_image_size(cls, value: str) -> str:
        if value and not re.fullmatch(r"[1-9]\d{1,4}x[1-9]\d{1,4}", value):
            raise ValueError(f"invalid image size {value!r}: use WIDTHxHEIGHT, for example 1536x1024")
        return value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return normalize_base_url(value)

    @property
    def enabled(self) -> bool:
        return bool(self.copy_model or self.speech_model or self.image_model)

    @property
    def host(self) -> str:
        """Host (and port, when given) of the provider, used to name it in messages."""
        return urlsplit(self.base_url).netloc

    @property
    def is_openai(self) -> bool:
        return urlsplit(self.base_url).hostname == OPENAI_HOST

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ProviderSettings:
        """Build the provider settings from environment variables; raise ConfigError naming a bad one."""
        key = environ.get("OPENAI_API_KEY", "").strip()
        raw_base_url = environ.get("OPENAI_BASE_URL", "").strip()
        base_url = OPENAI_BASE_URL
        if raw_base_url:
            try:
                base_url = normalize_base_url(raw_base_url)
            except ValueError as error:
                message = str(error).replace(key, "[redacted]") if key else str(error)
                raise ConfigError("OPENAI_BASE_URL", KEY_PATTERN.sub("[redacted]", message)) from None

        uses_openai = urlsplit(base_url).hostname == OPENAI_HOST
        values: dict[str, Any] = {
            "api_key": SecretStr(key) if key else None,
            "base_url": base_url,
        }
        for use in ("copy", "speech", "image"):
            variable = f"RAGNAROK_{use.upper()}_MODEL"
            if variable in environ:
                model = environ[variable].strip()
            elif key and uses_openai:
                model = DEFAULT_OPENAI_MODELS[use]
            else:
                model = ""
            if model and not key and not raw_base_url:
                raise ConfigError(
                    variable,
                    f"model {model!r} is set but neither OPENAI_API_KEY nor OPENAI_BASE_URL is: "
                    "set OPENAI_API_KEY to use OpenAI, OPENAI_BASE_URL to use an OpenAI-compatible "
                    f"server, or unset {variable} to stay offline",
                )
            if model and uses_openai and not key:
                raise ConfigError(
                    "OPENAI_API_KEY",
                    f"missing, but {variable} asks {OPENAI_HOST} for model {model!r}: "
                    "set OPENAI_API_KEY, or point OPENAI_BASE_URL at a server that needs no key",
                )
            values[f"{use}_model"] = model

        for variable, field_name in _PLAIN_SETTINGS.items():
            if variable in environ and environ[variable].strip():
                values[field_name] = environ[variable].strip()

        prices_json = environ.get("RAGNAROK_PROVIDER_PRICES", "").strip()
        if prices_json:
            values["prices"] = {**DEFAULT_PRICES, **_parse_prices(prices_json)}

        try:
            return cls(**values)
        except ValidationError as error:
            raise _config_error(error, _FIELD_SETTINGS) from None

    def model_for(self, use: Literal["copy", "speech", "image"]) -> str:
        return {"copy": self.copy_model, "speech": self.speech_model, "image": self.image_model}[use]


# Environment variable of each provider setting read as a plain value.
_PLAIN_SETTINGS = {
    "RAGNAROK_SPEECH_VOICE": "speech_voice",
    "RAGNAROK_IMAGE_SIZE": "image_size",
    "RAGNAROK_PROVIDER_TIMEOUT_SECONDS": "timeout_seconds",
    "RAGNAROK_PROVIDER_STAGE_TIMEOUT_SECONDS": "stage_timeout_seconds",
    "RAGNAROK_PROVIDER_MAX_RETRIES": "max_retries",
    "RAGNAROK_PROVIDER_MAX_RETRY_WAIT_SECONDS": "max_retry_wait_seconds",
    "RAGNAROK_PROVIDER_BACKOFF_SECONDS": "backoff_seconds",
    "RAGNAROK_PROVIDER_VALIDATION_RETRIES": "max_validation_retries",
    "RAGNAROK_PROVIDER_FALLBACK": "fallback",
}
_FIELD_SETTINGS = {field: variable for variable, field in _PLAIN_SETTINGS.items()} | {
    "api_key": "OPENAI_API_KEY",
    "base_url": "OPENAI_BASE_URL",
    "copy_model": "RAGNAROK_COPY_MODEL",
    "speech_model": "RAGNAROK_SPEECH_MODEL",
    "image_model": "RAGNAROK_IMAGE_MODEL",
    "prices": "RAGNAROK_PROVIDER_PRICES",
    "x264_preset": "RAGNAROK_X264_PRESET",
    "x264_crf": "RAGNAROK_X264_CRF",
}


def normalize_base_url(value: str) -> str:
    """Check that `value` is an http(s) URL with a host; append "/v1" when it has no path.

    OpenAI-compatible servers (vLLM, Ollama, llama.cpp server, LiteLLM) serve the API under
    "/v1", so "http://127.0.0.1:8000" means "http://127.0.0.1:8000/v1".
    """
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"invalid URL {value!r}: use an http:// or https:// URL with a host, "
            "for example http://127.0.0.1:11434/v1"
        )
    if parts.username or parts.password:
        raise ValueError("must not contain a user name or password: put the key in OPENAI_API_KEY")
    if parts.query or parts.fragment:
        raise ValueError(f"invalid URL {value!r}: remove the query string and fragment")
    try:
        parts.port
    except ValueError:
        raise ValueError(f"invalid port in URL {value!r}") from None
    path = parts.path.rstrip("/")
    if not path:
        path = "/v1"
    return f"{parts.scheme}://{parts.netloc}{path}"


def _parse_prices(text: str) -> dict[str, ModelPrice]:
    setting = "RAGNAROK_PROVIDER_PRICES"
    example = '{"gpt-4o-mini": {"input_per_million_tokens": 0.15, "output_per_million_tokens": 0.6}}'
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(setting, f"invalid JSON ({error.msg} at character {error.pos}): use for example {example}") from None
    if not isinstance(data, dict):
        raise ConfigError(setting, f"must be a JSON object keyed by model name, for example {example}")
    prices: dict[str, ModelPrice] = {}
    for model, entry in data.items():
        try:
            prices[model] = ModelPrice.model_validate(entry)
        except ValidationError as error:
            problem = error.errors()[0]
            where = ".".join(str(part) for part in problem["loc"]) or "entry"
            raise ConfigError(
                setting,
                f"invalid price for model {model!r} at {where}: {problem['msg']}; allowed keys are "
                "input_per_million_tokens, output_per_million_tokens, per_million_characters, per_image",
            ) from None
    return prices


def _config_error(error: ValidationError, settings: Mapping[str, str]) -> ConfigError:
    problem = error.errors()[0]
    field = str(problem["loc"][0]) if problem["loc"] else ""
    setting = settings.get(field, field)
    # Never echo the input of the key setting back.
    shown_input = "" if field == "api_key" else KEY_PATTERN.sub("[redacted]", f" (got {problem.get('input')!r})")
    message = problem["msg"].removeprefix("Value error, ")
    return ConfigError(setting, f"invalid value{shown_input}: {message}")


class PipelineConfig(BaseModel):
    """Pipeline settings; the defaults run fully offline."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # x264 speed preset; nothing faster than veryfast, to keep quality.
    x264_preset: str = Field(default="veryfast", pattern="^(veryfast|faster|fast|medium|slow)$")
    # x264 constant-quality factor: lower is better quality and larger files.
    x264_crf: int = Field(default=23, ge=0, le=23)
    # OpenAI-compatible providers; with the default no stage calls one.
    providers: ProviderSettings = Field(default_factory=ProviderSettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PipelineConfig:
        """Build the configuration from `environ` (the process environment when None).

        Raises ConfigError naming the environment variable that is invalid and how to fix it.
        """
        if environ is None:
            environ = os.environ
        values: dict[str, Any] = {"providers": ProviderSettings.from_env(environ)}
        for variable, field_name in (("RAGNAROK_X264_PRESET", "x264_preset"), ("RAGNAROK_X264_CRF", "x264_crf")):
            if environ.get(variable, "").strip():
                values[field_name] = environ[variable].strip()
        try:
            config = cls(**values)
        except ValidationError as error:
            raise _config_error(error, _FIELD_SETTINGS) from None
        settings = config.providers
        logger.info(
            "Providers: copy=%s speech=%s image=%s at %s",
            settings.copy_model or "offline",
            settings.speech_model or "offline",
            settings.image_model or "offline",
            settings.host if settings.enabled else "none",
        )
        return config
