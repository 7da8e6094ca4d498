"""`ragnarok serve` runs the gRPC server and the REST gateway in one process."""

from __future__ import annotations

import asyncio
import socket

import httpx

from server.serve import gateway_listener
from tests.support.servers import ServerHandle


def test_ready_file_and_gateway(server: ServerHandle) -> None:
    assert server.http_base_url is not None
    response = httpx.get(f"{server.http_base_url}/api/nexus/ragnarok/jobs/job_000000000000", timeout=10)
    assert response.status_code == 404
    assert response.json() == {"detail": "Job not found: job_000000000000"}


def test_gateway_job_matches_grpc_job(server: ServerHandle) -> None:
    assert server.http_base_url is not None
    body = {"brief": "A commercial for a bakery", "duration_seconds": 15, "metadata": {"campaign": "spring"}}
    created = httpx.post(f"{server.http_base_url}/api/nexus/ragnarok/generate", json=body, timeout=10)
    assert created.status_code == 200
    job = created.json()
    assert (job["status"], job["progress"]) == ("pending", 0)
    listed = httpx.get(f"{server.http_base_url}/api/nexus/ragnarok/jobs", timeout=10).json()
    assert job["job_id"] in [item["job_id"] for item in listed["jobs"]]


def test_gateway_connections_have_nodelay() -> None:
    """asyncio turns Nagle off on the gateway's accepted connections."""

    async def accepted_nodelay() -> int:
        seen: asyncio.Queue[int] = asyncio.Queue()

        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            sock = writer.get_extra_info("socket")
            await seen.put(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        listener = gateway_listener("127.0.0.1", 0)
        server = await asyncio.start_server(on_connect, sock=listener)
        async with server:
            port = listener.getsockname()[1]
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            value = await asyncio.wait_for(seen.get(), 10)
            writer.close()
            return value

    assert asyncio.run(accepted_nodelay()) != 0
