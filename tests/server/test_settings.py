"""Settings come from RAGNAROK_* variables and fail at start-up naming the bad one."""

from __future__ import annotations

import subprocess
import sys

import pytest

from server.settings import SettingsError, load_settings
from tests.support.servers import REPO_ROOT, server_env


def test_defaults(monkeypatch) -> None:
    for name in ("RAGNAROK_GRPC_PORT", "RAGNAROK_MAX_CONCURRENT_JOBS", "RAGNAROK_API_KEYS", "RAGNAROK_PIPELINE_ENTRY"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.grpc_host == "127.0.0.1"
    assert settings.max_concurrent_jobs == 1
    assert settings.pipeline_entry == "pipeline.run:run_job"
    assert settings.api_keys == ()


def test_environment_and_overrides(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("RAGNAROK_GRPC_PORT", "6000")
    monkeypatch.setenv("RAGNAROK_API_KEYS", "alpha, beta")
    settings = load_settings(data_dir=tmp_path, max_concurrent_jobs=None)
    assert settings.grpc_port == 6000
    assert settings.api_keys == ("alpha", "beta")
    assert settings.data_dir == tmp_path
    assert load_settings(grpc_port=0).grpc_port == 0


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("RAGNAROK_GRPC_PORT", "70000", "RAGNAROK_GRPC_PORT"),
        ("RAGNAROK_MAX_CONCURRENT_JOBS", "0", "RAGNAROK_MAX_CONCURRENT_JOBS"),
        ("RAGNAROK_LEASE_SECONDS", "abc", "RAGNAROK_LEASE_SECONDS"),
        ("RAGNAROK_PIPELINE_ENTRY", "no colon here", "RAGNAROK_PIPELINE_ENTRY"),
        ("RAGNAROK_HEARTBEAT_SECONDS", "60", "RAGNAROK_HEARTBEAT_SECONDS"),
    ],
)
def test_invalid_setting_is_named(monkeypatch, variable: str, value: str, expected: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=expected):
        load_settings()


def test_api_keys_are_never_echoed(monkeypatch) -> None:
    monkeypatch.setenv("RAGNAROK_API_KEYS", "secret-key-1")
    monkeypatch.setenv("RAGNAROK_HEARTBEAT_SECONDS", "60")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "secret-key-1" not in str(caught.value)


def test_serve_exits_with_named_setting(tmp_path) -> None:
    env = server_env({"RAGNAROK_PIPELINE_ENTRY": "no_such_module:run_job"})
    completed = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--grpc-port", "0", "--data-dir", str(tmp_path), "--no-http"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert completed.returncode == 2
    assert "RAGNAROK_PIPELINE_ENTRY" in completed.stderr
    assert "no_such_module" in completed.stderr
