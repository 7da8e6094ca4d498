"""Gateway fixtures: the REST gateway served by uvicorn in a thread, talking to a real server.

The gateway runs in this process, so tests can set its heartbeat, read its log
records and inspect its open WatchJob calls. The job service is the real
`ragnarok serve` subprocess from tests/conftest.py, with the pipeline double.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from gateway.app import create_app
from gateway.backend import Backend
from tests.support.servers import ServerHandle

STARTUP_TIMEOUT_SECONDS = 20.0
# Short, so a test receives several heartbeats while a #hang job sits in its last stage.
TEST_HEARTBEAT_SECONDS = 0.3


@dataclass
class GatewayHandle:
    """A gateway served on 127.0.0.1 from a background thread."""

    app: FastAPI
    base_url: str

    @property
    def backend(self) -> Backend:
        backend = self.app.state.backend
        assert isinstance(backend, Backend)
        return backend

    def client(self, **options: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30.0, **options)


@contextlib.contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[str]:
    """Serve `app` with uvicorn on a free 127.0.0.1 port; yield its base URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_config=None, access_log=False, timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name="gateway", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the gateway did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()


GatewayFactory = Callable[..., GatewayHandle]


@pytest.fixture(scope="module")
def gateway(server: ServerHandle) -> Iterator[GatewayHandle]:
    app = create_app(server.grpc_target, heartbeat_seconds=TEST_HEARTBEAT_SECONDS)
    with serve_in_thread(app) as base_url:
        yield GatewayHandle(app, base_url)


@pytest.fixture
def gateway_factory() -> Iterator[GatewayFactory]:
    """Start extra gateways with their own options, for example against another server."""
    with contextlib.ExitStack() as stack:
        def start(grpc_target: str, **options: Any) -> GatewayHandle:
            app = create_app(grpc_target, **options)
            base_url = stack.enter_context(serve_in_thread(app))
            return GatewayHandle(app, base_url)

        yield start


@pytest.fixture
def client(gateway: GatewayHandle) -> Iterator[httpx.Client]:
    with gateway.client() as http:
        yield http
