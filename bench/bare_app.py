"""A bare FastAPI endpoint on uvicorn, the yardstick for the REST gateway's throughput.

    python -m bench.bare_app --body-file JOB.json --ready-file READY.json

It serves GET /api/nexus/ragnarok/jobs/{job_id} with a fixed JSON body (the gateway's own
answer for a real job), on 127.0.0.1 and a free port written to the ready file, with the
uvicorn options the gateway uses (no access log, no log config).
"""

from __future__ import annotations

import argparse
import json
import logging
import socket
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.responses import Response

logger = logging.getLogger(__name__)


def create_app(body: bytes) -> FastAPI:
    app = FastAPI()

    @app.get("/api/nexus/ragnarok/jobs/{job_id}")
    async def get_job(job_id: str) -> Response:
        return Response(content=body, media_type="application/json")

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a bare FastAPI job endpoint on a free loopback port.")
    parser.add_argument("--body-file", type=Path, required=True, help="JSON file returned as the response body")
    parser.add_argument("--ready-file", type=Path, required=True, help="file to write {\"port\": N} to once listening")
    args = parser.parse_args()
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on accepted sockets whose protocol is TCP.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(create_app(args.body_file.read_bytes()), log_config=None, access_log=False))
    original_startup = server.startup

    async def startup(sockets: list[socket.socket] | None = None) -> None:
        await original_startup(sockets=sockets)
        args.ready_file.write_text(json.dumps({"port": port}))

    server.startup = startup  # type: ignore[method-assign]
    server.run(sockets=[listener])


if __name__ == "__main__":
    main()
