"""Shared fixtures: real `ragnarok serve` processes on free ports.

- `server`: one server per test module (3 concurrent jobs, pipeline double), for tests
  that do not stop or restart it.
- `server_factory(data_dir=None, extra_args=(), env=None)`: start a dedicated server
  for this test; stopped when the test ends.
- `grpc_channel` / `stub`: a grpc.aio channel and RagnarokService stub to `server`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from pathlib import Path

import grpc
import pytest
from ragnarok.v1 import ragnarok_pb2_grpc

from tests.support.servers import ServerHandle, running_server

ServerFactory = Callable[..., ServerHandle]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    with running_server(tmp_path_factory.mktemp("server") / "data", extra_args=["--workers", "3"]) as handle:
        yield handle


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[ServerFactory]:
    with contextlib.ExitStack() as stack:
        def start(
            data_dir: Path | None = None,
            extra_args: Sequence[str] = (),
            env: Mapping[str, str] | None = None,
        ) -> ServerHandle:
            return stack.enter_context(
                running_server(data_dir or tmp_path / "data", extra_args=extra_args, env=env)
            )

        yield start


@pytest.fixture
async def grpc_channel(server: ServerHandle) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(server.grpc_target) as channel:
        yield channel


@pytest.fixture
def stub(grpc_channel: grpc.aio.Channel) -> ragnarok_pb2_grpc.RagnarokServiceStub:
    return ragnarok_pb2_grpc.RagnarokServiceStub(grpc_channel)
