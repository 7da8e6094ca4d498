"""`ragnarok serve`: the gRPC server, the worker supervisor and the REST gateway in one process."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import importlib
import importlib.util
import json
import logging
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from server.app import create_server
from server.settings import ENV_PREFIX, Settings, SettingsError
from server.tracing import add_trace_source

logger = logging.getLogger(__name__)

# Time the REST gateway gets to finish in-flight requests at shutdown.
HTTP_SHUTDOWN_SECONDS = 5.0


def check_pipeline_entry(settings: Settings) -> None:
    """Fail at start-up, naming the setting, when the pipeline's module cannot be found."""
    module_name = settings.pipeline_entry.partition(":")[0]
    try:
        found = importlib.util.find_spec(module_name) is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        raise SettingsError(
            f"Invalid settings: pipeline_entry ({ENV_PREFIX}PIPELINE_ENTRY) = {settings.pipeline_entry!r}: "
            f"module {module_name!r} is not importable; install it or point the setting at 'module:function'"
        )


def _gateway_factory() -> Any | None:
    """Return gateway.app.create_app, or None while the gateway is not installed."""
    if importlib.util.find_spec("gateway.app") is None:
        logger.warning("gateway.app not found: serving gRPC only")
        return None
    # Log lines written while the in-process gateway handles a request carry its trace id.
    add_trace_source(importlib.import_module("gateway.tracing").current_trace_id)
    return importlib.import_module("gateway.app").create_app


def _make_uvicorn_server(app: Any) -> Any:
    import uvicorn

    class EmbeddedServer(uvicorn.Server):
        """uvicorn without its own signal handling: `serve` owns SIGTERM and SIGINT."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    config = uvicorn.Config(
        app, lifespan="on", log_config=None, access_log=False,
        timeout_graceful_shutdown=int(HTTP_SHUTDOWN_SECONDS),
    )
    return EmbeddedServer(config)


def gateway_listener(host: str, port: int) -> socket.socket:
    """Bind the gateway's listening socket.

    The protocol is given as IPPROTO_TCP rather than 0: asyncio sets TCP_NODELAY only on
    sockets created with that protocol. Without it every keep-alive response waits for a
    delayed ACK (about 40 ms).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    return listener


async def _start_gateway(settings: Settings, grpc_target: str) -> tuple[Any, asyncio.Task[None], int] | None:
    create_app = _gateway_factory()
    if create_app is None:
        return None
    listener = gateway_listener(settings.grpc_host, settings.http_port)
    http_port = int(listener.getsockname()[1])
    http_server = _make_uvicorn_server(create_app(grpc_target))
    task = asyncio.create_task(http_server.serve(sockets=[listener]), name="rest-gateway")
    while not http_server.started:
        if task.done():
            task.result()
            raise RuntimeError("the REST gateway stopped during start-up")
        await asyncio.sleep(0.02)
    logger.info("REST gateway listening on http://%s:%d", settings.grpc_host, http_port)
    return http_server, task, http_port


def write_ready_file(path: Path, grpc_port: int, http_port: int | None) -> None:
    """Write the ready file atomically, so a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps({"grpc_port": grpc_port, "http_port": http_port, "pid": os.getpid()}))
    partial.replace(path)


async def serve(settings: Settings, *, ready_file: Path | None = None, http: bool = True) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully.

    Raises SettingsError before binding any port when the settings are unsafe to serve,
    for example a non-loopback address without API keys.
    """
    settings.check_exposure()
    check_pipeline_entry(settings)
    asyncio.get_running_loop().set_default_executor(
        concurrent.futures.ThreadPoolExecutor(settings.rpc_threads, thread_name_prefix="ragnarok-rpc")
    )
    ragnarok = create_server(settings)
    await ragnarok.start()
    gateway = await _start_gateway(settings, ragnarok.target) if http else None

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if ready_file is not None:
        write_ready_file(ready_file, ragnarok.port, gateway[2] if gateway else None)
    logger.info("Ragnarok serving (pid %d, data in %s)", os.getpid(), settings.data_dir.resolve())

    await stop.wait()
    logger.info("Stop signal received")
    await ragnarok.begin_shutdown()
    if gateway is not None:
        http_server, task, _ = gateway
        http_server.should_exit = True
        try:
            await asyncio.wait_for(task, HTTP_SHUTDOWN_SECONDS + 1)
        except TimeoutError:
            logger.warning("REST gateway did not stop within %.0f s", HTTP_SHUTDOWN_SECONDS + 1)
    await ragnarok.stop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.remove_signal_handler(sig)
    if ready_file is not None:
        with contextlib.suppress(FileNotFoundError):
            ready_file.unlink()
