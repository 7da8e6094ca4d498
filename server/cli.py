"""The `ragnarok` command: `serve` runs the service, `generate` submits a brief and follows it."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.config import PipelineConfig

logger = logging.getLogger(__name__)


def _add_serve_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("serve", help="run the gRPC server, the workers and the REST gateway")
    parser.add_argument("--grpc-port", type=int, help="gRPC port; 0 picks a free one (default 50051)")
    parser.add_argument("--http-port", type=int, help="REST gateway port; 0 picks a free one (default 8000)")
    parser.add_argument("--data-dir", type=Path, help="directory for the job database and job files (default ./data)")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--workers", type=int, help="jobs rendered at the same time (default 1)")
    parser.add_argument("--ready-file", type=Path,
                        help='write {"grpc_port", "http_port", "pid"} as JSON here once serving')
    parser.add_argument("--no-http", action="store_true", help="do not start the REST gateway")
    parser.add_argument("--allow-insecure-no-auth", action="store_true", default=None,
                        help="serve on a non-loopback --host without API keys (anyone who reaches it gets in)")
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    providers = parser.add_argument_group(
        "providers", "Optional model providers; each flag overrides the environment variable in brackets. "
        "The API key is read only from OPENAI_API_KEY, so it never shows in the process list.")
    for flag, variable, meaning in _PROVIDER_FLAGS:
        providers.add_argument(flag, dest=variable, metavar="VALUE", help=f"{meaning} [{variable}]")


# Flags of `ragnarok serve` that set a pipeline setting otherwise read from the environment.
_PROVIDER_FLAGS = (
    ("--openai-base-url", "OPENAI_BASE_URL", "base URL of OpenAI or an OpenAI-compatible server"),
    ("--copy-model", "RAGNAROK_COPY_MODEL", "model that writes the brief analysis, script and shots; empty stays offline"),
    ("--speech-model", "RAGNAROK_SPEECH_MODEL", "model that reads the voiceover; empty stays offline"),
    ("--image-model", "RAGNAROK_IMAGE_MODEL", "model that paints scene backgrounds; empty stays offline"),
    ("--x264-preset", "RAGNAROK_X264_PRESET", "x264 speed preset: veryfast, faster, fast, medium or slow"),
    ("--x264-crf", "RAGNAROK_X264_CRF", "x264 constant-quality factor, 0 to 23; lower is better"),
)


def _pipeline_config(args: argparse.Namespace) -> PipelineConfig:
    """Build the pipeline settings from the environment with the provider flags on top."""
    from pipeline.config import PipelineConfig

    environ = dict(os.environ)
    for _, variable, _ in _PROVIDER_FLAGS:
        value = getattr(args, variable, None)
        if value is not None:
            environ[variable] = value
    return PipelineConfig.from_env(environ)


def _add_generate_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("generate", help="submit a brief and optionally wait for the video")
    parser.add_argument("--brief", required=True, help="what the commercial is about, 10 to 2000 characters")
    parser.add_argument("--platform", help="output preset, for example youtube_1080p or tiktok")
    parser.add_argument("--duration", type=int, help="video length in seconds, 15 to 120 (default 30)")
    parser.add_argument("--style", help="visual style, for example cyberpunk")
    parser.add_argument("--voice-style", help="voice style, for example professional")
    parser.add_argument("--industry", help="industry, for example technology")
    parser.add_argument("--seed", type=int, help="seed for every random choice, 0 to 4294967295")
    parser.add_argument("--metadata", help="JSON object stored with the job")
    parser.add_argument("--request-id", help="idempotency key: repeating it returns the same job")
    parser.add_argument("--server", help="gRPC address HOST:PORT (default 127.0.0.1:$RAGNAROK_GRPC_PORT or 50051)")
    parser.add_argument("--gateway-url", help="REST gateway base URL, used to print the video's URL")
    parser.add_argument("--data-dir", type=Path, help="the server's data directory, used to print the job's path")
    parser.add_argument("--api-key", default=os.environ.get("RAGNAROK_API_KEY"), help="API key (or RAGNAROK_API_KEY)")
    parser.add_argument("--wait", action="store_true", help="follow the job with a progress bar until it ends")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ragnarok", description="Turn a marketing brief into a video commercial.")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_serve_parser(commands)
    _add_generate_parser(commands)
    return parser


def _run_serve(args: argparse.Namespace) -> int:
    import asyncio

    from server.serve import serve
    from server.settings import SettingsError, load_settings

    from server.tracing import TraceIdFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(TraceIdFilter())
    logging.basicConfig(
        level=args.log_level.upper(), handlers=[handler],
        format="%(asctime)s %(levelname)s %(name)s [%(trace_id)s]: %(message)s",
    )
    try:
        try:
            pipeline_config = _pipeline_config(args)
        except ValueError as error:
            # ConfigError names the environment variable; the flag of the same setting is listed in --help.
            raise SettingsError(f"Invalid settings: {error}") from None
        settings = load_settings(
            grpc_port=args.grpc_port, http_port=args.http_port, data_dir=args.data_dir,
            grpc_host=args.host, max_concurrent_jobs=args.workers,
            allow_insecure_no_auth=args.allow_insecure_no_auth, pipeline=pipeline_config,
        )
        asyncio.run(serve(settings, ready_file=args.ready_file, http=not args.no_http))
    except SettingsError as error:
        print(f"ragnarok serve: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"ragnarok serve: cannot start: {error}", file=sys.stderr)
        return 1
    return 0


def _run_generate(args: argparse.Namespace) -> int:
    from server.client import GenerateError, run_generate

    try:
        return run_generate(args)
    except GenerateError as error:
        print(f"ragnarok generate: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ragnarok generate: interrupted; the job keeps running on the server", file=sys.stderr)
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return _run_serve(args)
    return _run_generate(args)


__all__ = ["build_parser", "main"]
