"""The server's settings: one typed object read from RAGNAROK_* variables at start-up."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from pipeline.config import PipelineConfig

logger = logging.getLogger(__name__)

ENV_PREFIX = "RAGNAROK_"


def _default_pipeline_config() -> PipelineConfig:
    """Build the pipeline settings from the environment when the pipeline supports it."""
    from_env = getattr(PipelineConfig, "from_env", None)
    if callable(from_env):
        config = from_env()
        if not isinstance(config, PipelineConfig):
            raise TypeError("PipelineConfig.from_env() must return a PipelineConfig")
        return config
    return PipelineConfig()


class Settings(BaseSettings):
    """Everything the server process needs; each field is set by RAGNAROK_<FIELD NAME>."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    # Directory holding the job database and one working directory per job.
    data_dir: Path = Path("./data")
    grpc_host: str = "127.0.0.1"
    # 0 picks a free port.
    grpc_port: int = Field(default=50051, ge=0, le=65535)
    # Port of the REST gateway; 0 picks a free port.
    http_port: int = Field(default=8000, ge=0, le=65535)
    # Jobs rendered at the same time, each in its own worker process.
    max_concurrent_jobs: int = Field(default=1, ge=1, le=64)
    # Pending jobs allowed before Generate returns RESOURCE_EXHAUSTED.
    max_queued_jobs: int = Field(default=100, ge=1)
    # A worker's claim on a job lasts this long unless the supervisor renews it.
    lease_seconds: float = Field(default=30.0, gt=0)
    # How often the supervisor renews the leases of its running jobs.
    heartbeat_seconds: float = Field(default=5.0, gt=0)
    # Attempts at a job whose worker was lost before it fails with "worker lost".
    max_attempts: int = Field(default=3, ge=1)
    # Wall-clock limit for one attempt at a job.
    job_timeout_seconds: float = Field(default=1800.0, gt=0)
    # Limit for one pipeline stage without a stage change.
    stage_timeout_seconds: float = Field(default=900.0, gt=0)
    # Accepted API keys, comma-separated; empty turns authentication off.
    api_keys: Annotated[tuple[str, ...], NoDecode] = ()
    # The pipeline's job function as "module:function".
    pipeline_entry: str = Field(default="pipeline.run:run_job", pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    pipeline: PipelineConfig = Field(default_factory=_default_pipeline_config)

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_api_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(key.strip() for key in value.split(",") if key.strip())
        return value

    @model_validator(mode="after")
    def _check_heartbeat_within_lease(self) -> Settings:
        if self.heartbeat_seconds >= self.lease_seconds:
            raise ValueError(
                f"heartbeat_seconds ({self.heartbeat_seconds}) must be below lease_seconds "
                f"({self.lease_seconds}), or leases expire between heartbeats; "
                f"lower {ENV_PREFIX}HEARTBEAT_SECONDS or raise {ENV_PREFIX}LEASE_SECONDS"
            )
        return self

    @property
    def database_path(self) -> Path:
        return self.data_dir / "ragnarok.sqlite3"

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"


class SettingsError(ValueError):
    """Settings failed validation; the message names each bad setting and its variable."""


def load_settings(**overrides: Any) -> Settings:
    """Read the settings from the environment, with `overrides` (for example CLI flags) on top."""
    try:
        return Settings(**{key: value for key, value in overrides.items() if value is not None})
    except ValidationError as error:
        problems = []
        for item in error.errors():
            if not item["loc"]:
                problems.append(item["msg"])
                continue
            name = ".".join(str(part) for part in item["loc"])
            variable = f"{ENV_PREFIX}{str(item['loc'][0]).upper()}"
            # API keys are secrets: name the setting but never echo its value.
            shown = "<hidden>" if item["loc"][0] == "api_keys" else repr(item.get("input"))
            problems.append(f"{name} ({variable}) = {shown}: {item['msg']}")
        raise SettingsError("Invalid settings: " + "; ".join(problems)) from None
    except ValueError as error:
        # PipelineConfig.from_env() raises its own errors, which already name the variable.
        raise SettingsError(f"Invalid settings: {error}") from None
