"""GET /jobs/{job_id}/events: NDJSON and SSE framing, live delivery, heartbeats, resume and disconnects."""

from __future__ import annotations

import json
import signal
import time
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from tests.gateway.conftest import TEST_HEARTBEAT_SECONDS, GatewayFactory, GatewayHandle
from tests.gateway.helpers import API, JOB_KEYS, TERMINAL, TIMESTAMP, UNKNOWN_JOB_ID, submit, wait_for_status
from tests.support.servers import ServerHandle

LINE_KEYS = ["sequence", "type", "stage", "progress", "message", "time", "job", "status_code"]
DISCONNECT_DEADLINE_SECONDS = 5.0


def _utc_seconds(text: str) -> float:
    assert TIMESTAMP.match(text), text
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


def _read_lines(response: httpx.Response) -> list[tuple[float, dict[str, Any]]]:
    """Read every NDJSON line with the wall-clock time it arrived."""
    lines = []
    for text in response.iter_lines():
        lines.append((time.time(), json.loads(text)))
    return lines


def test_events_arrive_live_with_gzip_requested(client: httpx.Client) -> None:
    job = submit(client, "An ad that takes a few seconds #slow")

    with client.stream("GET", f"{API}/jobs/{job['job_id']}/events", headers={"Accept-Encoding": "gzip"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        assert "content-encoding" not in response.headers
        lines = _read_lines(response)

    events = [(arrived, line) for arrived, line in lines if line["type"] != "heartbeat"]
    assert all(list(line) == LINE_KEYS for _, line in lines)
    assert events[0][1]["type"] == "snapshot"
    assert events[-1][1]["type"] == "completed"
    assert {line["type"] for _, line in events} >= {"stage_started", "progress"}
    sequences = [line["sequence"] for _, line in events]
    assert sequences == sorted(set(sequences))
    progress = [line["progress"] for _, line in events]
    assert progress == sorted(progress)
    assert progress[-1] == 100
    # Buffered delivery would bring every line after the job finished. Live delivery
    # brings each earlier event before the terminal event is even recorded.
    finished_at = _utc_seconds(events[-1][1]["time"])
    early = [(arrived, line) for arrived, line in events[:-1] if _utc_seconds(line["time"]) < finished_at - 1.0]
    assert len(early) >= 3
    assert all(arrived < finished_at for arrived, _ in early)
    # Arrival spacing follows the spacing of the events themselves.
    event_spread = _utc_seconds(events[-2][1]["time"]) - _utc_seconds(events[1][1]["time"])
    arrival_spread = events[-2][0] - events[1][0]
    assert arrival_spread > event_spread / 2


def test_event_lines_carry_contract_job(client: httpx.Client) -> None:
    job = submit(client, "A short ad for a bakery in the old town")

    with client.stream("GET", f"{API}/jobs/{job['job_id']}/events") as response:
        lines = [line for _, line in _read_lines(response) if line["type"] != "heartbeat"]

    for line in lines:
        assert list(line["job"]) == JOB_KEYS
        assert line["job"]["job_id"] == job["job_id"]
        assert line["job"]["status"] in {"pending", "running", "completed"}
        assert line["status_code"] is None
        assert TIMESTAMP.match(line["time"])
    stage_lines = [line for line in lines if line["type"] == "stage_started"]
    assert [line["stage"] for line in stage_lines] == ["script", "voice", "render"]
    final = lines[-1]["job"]
    assert final["status"] == "completed"
    assert final["result"]["video_url"].endswith(f"/jobs/{job['job_id']}/video")


def test_failed_job_stream_ends_with_failed_event(client: httpx.Client) -> None:
    job = submit(client, "An ad that breaks #fail")

    with client.stream("GET", f"{API}/jobs/{job['job_id']}/events") as response:
        lines = [line for _, line in _read_lines(response) if line["type"] != "heartbeat"]

    assert lines[-1]["type"] == "failed"
    assert lines[-1]["job"]["error"] == "voice failed: the voice engine stopped; try again later"
    assert all(line["type"] != "error" for line in lines)


def test_heartbeat_lines_fill_quiet_periods(client: httpx.Client) -> None:
    job = submit(client, "An ad that never finishes #hang")
    heartbeats: list[tuple[float, dict[str, Any]]] = []
    last_event: dict[str, Any] = {}

    with client.stream("GET", f"{API}/jobs/{job['job_id']}/events") as response:
        for text in response.iter_lines():
            line = json.loads(text)
            if line["type"] != "heartbeat":
                last_event = line
                heartbeats.clear()
                continue
            heartbeats.append((time.monotonic(), line))
            if len(heartbeats) == 3:
                break
    client.delete(f"{API}/jobs/{job['job_id']}")

    assert last_event["stage"] == "render"
    for _, line in heartbeats:
        assert list(line) == LINE_KEYS
        assert line["sequence"] == last_event["sequence"]
        assert (line["stage"], line["progress"], line["message"], line["job"], line["status_code"]) == (
            None, None, None, None, None)
        assert TIMESTAMP.match(line["time"])
    # Three heartbeats in a row need at least two full intervals of silence between them.
    assert heartbeats[-1][0] - heartbeats[0][0] >= 2 * TEST_HEARTBEAT_SECONDS * 0.9


def test_disconnect_cancels_watch_but_not_job(client: httpx.Client, gateway: GatewayHandle) -> None:
    job = submit(client, "An ad that never finishes #hang")
    wait_for_status(client, job["job_id"], {"running"})

    with gateway.client() as watcher, watcher.stream("GET", f"{API}/jobs/{job['job_id']}/events") as response:
        # Keep a reference to the line iterator: when it is finalized, httpx closes the
        # connection, and the gateway would see the disconnect before the check below.
        lines = response.iter_lines()
        for text in lines:
            # A heartbeat proves the stream is live and waiting on its WatchJob call.
            if json.loads(text)["type"] == "heartbeat":
                break
        calls = set(gateway.backend.open_watches)
        assert calls, text
    # Leaving both blocks closed the connection.
    deadline = time.monotonic() + DISCONNECT_DEADLINE_SECONDS
    while time.monotonic() < deadline and (
        not all(call.done() for call in calls) or calls & gateway.backend.open_watches
    ):
        time.sleep(0.02)

    assert all(call.done() for call in calls), calls
    assert not calls & gateway.backend.open_watches, gateway.backend.open_watches
    assert client.get(f"{API}/jobs/{job['job_id']}").json()["status"] == "running"
    client.delete(f"{API}/jobs/{job['job_id']}")


def test_resume_replays_events_after_sequence(client: httpx.Client) -> None:
    job = submit(client, "A short ad for a bakery in the old town")
    wait_for_status(client, job["job_id"], TERMINAL)

    with client.stream("GET", f"{API}/jobs/{job['job_id']}/events", params={"after_sequence": 3}) as response:
        lines = [line for _, line in _read_lines(response) if line["type"] != "heartbeat"]

    assert lines[0]["type"] == "snapshot"
    assert lines[0]["sequence"] == 3
    replayed = [line["sequence"] for line in lines[1:]]
    assert replayed == list(range(4, lines[-1]["sequence"] + 1))
    assert lines[-1]["type"] == "completed"
    assert lines[0]["job"] == lines[-1]["job"]


def test_finished_job_stream_sends_snapshot_and_end(client: httpx.Client) -> None:
    job = submit(client, "A short ad for a bakery in the old town")
    wait_for_status(client, job["job_id"], TERMINAL)

    with client.stream("GET", f"{API}/jobs/{job['job_id']}/events") as response:
        lines = [line for _, line in _read_lines(response)]

    assert [line["type"] for line in lines] == ["snapshot", "completed"]


def test_sse_stream_on_request(client: httpx.Client) -> None:
    job = submit(client, "A short ad for a bakery in the old town")
    wait_for_status(client, job["job_id"], TERMINAL)

    with client.stream("GET", f"{API}/jobs/{job['job_id']}/events",
                       headers={"Accept": "text/event-stream", "Last-Event-ID": "3"}) as response:
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        body = response.read().decode()

    frames = _sse_frames(body)
    parsed = []
    for fields in frames:
        data = json.loads(fields["data"])
        assert fields["event"] == data["type"]
        if data["type"] == "snapshot":
            assert "id" not in fields
        else:
            assert fields["id"] == str(data["sequence"])
        parsed.append(data)
    assert parsed[0]["type"] == "snapshot"
    assert [data["sequence"] for data in parsed[1:]] == list(range(4, parsed[-1]["sequence"] + 1))
    assert parsed[-1]["type"] == "completed"


def _sse_frames(body: str) -> list[dict[str, str]]:
    return [dict(line.split(": ", 1) for line in frame.split("\n")) for frame in body.split("\n\n") if frame]


@pytest.mark.parametrize("resume", [
    {"headers": {"Last-Event-ID": "3"}},
    {"params": {"after_sequence": 3}},
    {"headers": {"Last-Event-ID": "999"}},
    {},
])
def test_sse_ids_never_decrease_on_resume(client: httpx.Client, resume: dict[str, Any]) -> None:
    job = submit(client, "A short ad for a bakery in the old town")
    wait_for_status(client, job["job_id"], TERMINAL)
    headers = {"Accept": "text/event-stream", **resume.get("headers", {})}

    with client.stream("GET", f"{API}/jobs/{job['job_id']}/events", headers=headers,
                       params=resume.get("params")) as response:
        frames = _sse_frames(response.read().decode())

    ids = [int(fields["id"]) for fields in frames if "id" in fields]
    assert ids, frames
    assert ids == sorted(set(ids))
    assert frames[-1]["event"] == "completed"


@pytest.mark.parametrize("after_sequence", [None, 2, 999])
def test_ndjson_sequences_never_decrease_on_resume(client: httpx.Client, after_sequence: int | None) -> None:
    job = submit(client, "A short ad for a bakery in the old town")
    wait_for_status(client, job["job_id"], TERMINAL)
    params = {} if after_sequence is None else {"after_sequence": after_sequence}

    with client.stream("GET", f"{API}/jobs/{job['job_id']}/events", params=params) as response:
        lines = [line for _, line in _read_lines(response)]

    sequences = [line["sequence"] for line in lines]
    assert lines[0]["type"] == "snapshot"
    assert sequences == sorted(set(sequences))
    assert lines[-1]["type"] == "completed"


def test_sse_heartbeats_carry_no_id(client: httpx.Client) -> None:
    job = submit(client, "An ad that never finishes #hang")
    frames: list[dict[str, str]] = []

    with client.stream("GET", f"{API}/jobs/{job['job_id']}/events",
                       headers={"Accept": "text/event-stream"}) as response:
        buffer = ""
        for text in response.iter_text():
            buffer += text
            *complete, buffer = buffer.split("\n\n")
            frames.extend(_sse_frames("\n\n".join(complete)))
            if sum(fields["event"] == "heartbeat" for fields in frames) >= 2:
                break
    client.delete(f"{API}/jobs/{job['job_id']}")

    heartbeats = [fields for fields in frames if fields["event"] == "heartbeat"]
    assert len(heartbeats) >= 2
    assert all("id" not in fields for fields in heartbeats)
    ids = [int(fields["id"]) for fields in frames if "id" in fields]
    assert ids == sorted(set(ids))


@pytest.mark.parametrize("job_id", [UNKNOWN_JOB_ID, "nope"])
def test_events_of_unknown_job_return_404(client: httpx.Client, job_id: str) -> None:
    response = client.get(f"{API}/jobs/{job_id}/events")

    assert response.status_code == 404
    assert response.json() == {"detail": f"Job not found: {job_id}"}


def test_events_reject_negative_after_sequence(client: httpx.Client) -> None:
    response = client.get(f"{API}/jobs/{UNKNOWN_JOB_ID}/events", params={"after_sequence": -1})

    assert response.status_code == 422
    assert response.json() == {"detail": [{"loc": ["query", "after_sequence"],
                                           "msg": "Input should be greater than or equal to 0",
                                           "type": "greater_than_equal"}]}


def test_server_loss_ends_stream_with_one_error_line(server_factory: Any, gateway_factory: GatewayFactory) -> None:
    doomed: ServerHandle = server_factory()
    gateway = gateway_factory(doomed.grpc_target, heartbeat_seconds=TEST_HEARTBEAT_SECONDS)
    with gateway.client() as client:
        job = submit(client, "An ad that never finishes #hang")
        lines = []
        with client.stream("GET", f"{API}/jobs/{job['job_id']}/events") as response:
            for text in response.iter_lines():
                line = json.loads(text)
                lines.append(line)
                if line["type"] == "heartbeat" and doomed.process.poll() is None:
                    doomed.stop(signal.SIGKILL)

    errors = [line for line in lines if line["type"] == "error"]
    assert len(errors) == 1
    assert lines[-1] is errors[0]
    assert errors[0]["status_code"] == 503
    assert errors[0]["message"] == "Job service unavailable; retry shortly"
    last_event = [line for line in lines if line["type"] not in {"heartbeat", "error"}][-1]
    assert errors[0]["sequence"] == last_event["sequence"]
