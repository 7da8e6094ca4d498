"""The server's settings: one typed object read from RAGNAROK_* variables at start-up."""

from __future__ import annotations

import ipaddress
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
    # Accepted API keys, comma-separated; empty (and no api_keys_file) turns authentication off.
    api_keys: Annotated[tuple[str, ...], NoDecode] = ()
    # A file of accepted API keys, one a line; blank lines and lines starting with # are skipped.
    # Its keys are added to api_keys. Read once at start-up.
    api_keys_file: Path | None = None
    # Serve on a non-loopback address without API keys. Without this, such a server refuses to start.
    allow_insecure_no_auth: bool = False
    # RPCs served at the same time; one more is rejected with RESOURCE_EXHAUSTED by gRPC.
    # Every open WatchJob stream counts as one.
    max_concurrent_rpcs: int = Field(default=1000, ge=1)
    # Threads that run the job store's blocking SQLite calls for the RPC handlers.
    rpc_threads: int = Field(default=16, ge=1, le=256)
    # Seconds a client should wait before retrying when the queue is full, sent as
    # google.rpc.RetryInfo over gRPC and Retry-After over HTTP.
    queue_full_retry_seconds: float = Field(default=5.0, gt=0)
    # Finished jobs, their events and their files are deleted this long after they finished.
    job_retention_seconds: float = Field(default=7 * 24 * 3600.0, gt=0)
    # A job submitted with a request_id is kept at least this long, so a repeated request
    # finds it. The API promises at least 24 hours, so lower values are rejected.
    request_id_retention_seconds: float = Field(default=24 * 3600.0, ge=24 * 3600.0)
    # How often the retention sweep runs and logs the disk use of the job files.
    retention_sweep_seconds: float = Field(default=60.0, gt=0)
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
    def _read_api_keys_file(self) -> Settings:
        if self.api_keys_file is None:
            return self
        try:
            lines = self.api_keys_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(
                f"api_keys_file ({ENV_PREFIX}API_KEYS_FILE) = {str(self.api_keys_file)!r} cannot be read: {error}"
            ) from None
        keys = tuple(line.strip() for line in lines if line.strip() and not line.strip().startswith("#"))
        if not keys:
            raise ValueError(
                f"api_keys_file ({ENV_PREFIX}API_KEYS_FILE) = {str(self.api_keys_file)!r} contains no keys; "
                "write one key a line, or unset the setting"
            )
        # The model is frozen, so the merged tuple is stored the way pydantic stores fields.
        object.__setattr__(self, "api_keys", tuple(dict.fromkeys((*self.api_keys, *keys))))
        return self

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

    @property
    def listens_on_loopback(self) -> bool:
        """Whether grpc_host (which the REST gateway shares) is a loopback address."""
        host = self.grpc_host.strip("[]")
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    def check_exposure(self) -> None:
        """Raise SettingsError when the server would listen beyond loopback with no API keys."""
        if self.api_keys or self.allow_insecure_no_auth or self.listens_on_loopback:
            return
        raise SettingsError(
            f"Refusing to listen on {self.grpc_host!r} without API keys: anyone who can reach it could submit, "
            f"read and cancel jobs. Set {ENV_PREFIX}API_KEYS or {ENV_PREFIX}API_KEYS_FILE, listen on 127.0.0.1, "
            "or pass --allow-insecure-no-auth to accept the risk"
        )


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
