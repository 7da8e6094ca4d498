"""The contract's own example, end to end through the gateway that `ragnarok serve` mounts."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx

from tests.gateway.helpers import API, EXAMPLE_BODY, JOB_KEYS, TERMINAL, TRACE_ID, wait_for_status
from tests.support.servers import ServerHandle


def test_example_body_round_trip(server: ServerHandle, tmp_path: Path) -> None:
    assert server.http_base_url is not None
    with httpx.Client(base_url=server.http_base_url, timeout=30) as client:
        created = client.post(f"{API}/generate", json=EXAMPLE_BODY, headers={"accept": "application/json"})
        job = created.json()
        done = wait_for_status(client, job["job_id"], TERMINAL)
        video = client.get(done["result"]["video_url"])
        thumbnail = client.get(done["result"]["thumbnail_url"])

    assert created.status_code == 200
    assert TRACE_ID.match(created.headers["x-trace-id"])
    assert list(job) == JOB_KEYS
    assert (job["status"], job["progress"], job["result"], job["error"]) == ("pending", 0, None, None)
    assert done["status"] == "completed"
    assert done["result"]["video_url"] == f"{server.http_base_url}{API}/jobs/{job['job_id']}/video"
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    assert thumbnail.status_code == 200
    assert thumbnail.content[:2] == b"\xff\xd8"
    path = tmp_path / "commercial.mp4"
    path.write_bytes(video.content)
    probed = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        check=True, capture_output=True, text=True,
    ).stdout)
    assert {stream["codec_type"] for stream in probed["streams"]} == {"video", "audio"}
    assert float(probed["format"]["duration"]) > 0


def test_trace_id_reaches_serve_log(server: ServerHandle) -> None:
    assert server.http_base_url is not None
    with httpx.Client(base_url=server.http_base_url, timeout=30) as client:
        trace_id = client.get(f"{API}/jobs/job_000000000000").headers["x-trace-id"]

    # The access line is written after the response, so it may trail the client briefly.
    deadline = time.monotonic() + 5
    while trace_id not in server.log() and time.monotonic() < deadline:
        time.sleep(0.05)

    assert f"GET {API}/jobs/job_000000000000 -> 404" in server.log()
    assert f"trace_id={trace_id}" in server.log()


def test_trace_id_tags_grpc_handler_log_lines(server: ServerHandle) -> None:
    assert server.http_base_url is not None
    with httpx.Client(base_url=server.http_base_url, timeout=30) as client:
        created = client.post(f"{API}/generate", json=EXAMPLE_BODY)
    trace_id = created.headers["x-trace-id"]
    job_id = created.json()["job_id"]

    deadline = time.monotonic() + 5
    while f"Job {job_id} queued" not in server.log() and time.monotonic() < deadline:
        time.sleep(0.05)

    queued = [line for line in server.log().splitlines() if f"Job {job_id} queued" in line]
    assert len(queued) == 1
    assert f"[{trace_id}]" in queued[0]
