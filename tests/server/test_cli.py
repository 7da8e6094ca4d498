"""`ragnarok generate` submits a brief, follows it and prints where the video is."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from server.cli import _pipeline_config, build_parser
from tests.support.servers import REPO_ROOT, ServerHandle, server_env


def _generate(handle_target: str, *args: str, data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "server", "generate", "--server", handle_target, *args]
    if data_dir is not None:
        command += ["--data-dir", str(data_dir)]
    return subprocess.run(command, cwd=REPO_ROOT, env=server_env(), capture_output=True, text=True, timeout=120)


def test_generate_wait_prints_video_path(server: ServerHandle) -> None:
    completed = _generate(server.grpc_target, "--brief", "A commercial for a bakery #warn", "--duration", "15",
                          "--wait", data_dir=server.data_dir)
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    [mp4_line] = [line for line in lines if line.startswith("MP4: ")]
    video = Path(mp4_line.removeprefix("MP4: "))
    assert video.is_file()
    assert video.is_relative_to(server.data_dir.resolve() / "jobs")
    assert "warning: fell back to the offline voice" in lines


def test_generate_without_wait_prints_job_id(server: ServerHandle) -> None:
    completed = _generate(server.grpc_target, "--brief", "A commercial for a bakery")
    assert completed.returncode == 0, completed.stderr
    assert '"status": "pending"' in completed.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--brief", "short"], "brief must be at least 10 characters"),
        (["--brief", "A commercial for a bakery", "--duration", "500"], "duration_seconds must be at most 120"),
        (["--brief", "A commercial for a bakery #fail", "--wait"], "voice failed: the voice engine stopped"),
    ],
)
def test_generate_errors_are_one_line(server: ServerHandle, args: list[str], expected: str) -> None:
    completed = _generate(server.grpc_target, *args)
    assert completed.returncode == 1
    [line] = [line for line in completed.stderr.splitlines() if line.startswith("ragnarok generate: ")]
    assert expected in line


def test_generate_unreachable_server(tmp_path) -> None:
    completed = _generate("127.0.0.1:1", "--brief", "A commercial for a bakery")
    assert completed.returncode == 1
    assert "ragnarok generate: submitting to 127.0.0.1:1 failed: UNAVAILABLE" in completed.stderr


def test_serve_provider_flags_override_environment(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("RAGNAROK_COPY_MODEL", "from-env")
    args = build_parser().parse_args(
        ["serve", "--copy-model", "from-flag", "--speech-model", "", "--x264-crf", "20"])

    config = _pipeline_config(args)

    assert config.providers.copy_model == "from-flag"
    assert config.providers.speech_model == ""
    assert config.x264_crf == 20


def test_serve_rejects_invalid_provider_flag(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--data-dir", str(tmp_path), "--openai-base-url", "ftp://x"],
        capture_output=True, text=True, timeout=60)

    assert result.returncode == 2
    assert "OPENAI_BASE_URL" in result.stderr
    assert "Traceback" not in result.stderr
