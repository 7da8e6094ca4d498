"""GET /jobs/{job_id}, GET /jobs and DELETE /jobs/{job_id} over HTTP against a real server."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from tests.gateway.conftest import GatewayFactory
from tests.gateway.helpers import (
    API,
    JOB_KEYS,
    TERMINAL,
    TIMESTAMP,
    UNKNOWN_JOB_ID,
    completed_job,
    submit,
    wait_for_status,
)
from tests.support.servers import ServerHandle

RESULT_KEYS = [
    "video_url", "thumbnail_url", "script", "duration_seconds", "cost_usd", "generation_time_seconds", "metadata",
    "storyboard", "captions", "palette", "style", "voice", "stage_seconds", "warnings", "details",
]
SCENE_KEYS = ["index", "start_seconds", "duration_seconds", "narration", "on_screen_text", "visual_direction",
              "transition"]


def _parse_utc(text: str) -> datetime:
    assert TIMESTAMP.match(text), text
    return datetime.fromisoformat(text)


def test_get_job_returns_contract_shape(client: httpx.Client) -> None:
    job = submit(client)

    response = client.get(f"{API}/jobs/{job['job_id']}")

    assert response.status_code == 200
    fetched = response.json()
    assert list(fetched) == JOB_KEYS
    assert fetched["job_id"] == job["job_id"]
    assert fetched["brief"] == job["brief"]
    assert fetched["status"] in {"pending", "running"}
    assert 0 <= fetched["progress"] <= 100


def test_get_job_timestamps_are_utc_with_microseconds(client: httpx.Client) -> None:
    # The contract's timestamps are naive UTC, so compare with naive UTC times.
    before = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(seconds=5)
    done = completed_job(client)
    after = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(seconds=5)

    created = _parse_utc(done["created_at"])
    updated = _parse_utc(done["updated_at"])
    assert before <= created <= updated <= after


def test_completed_job_has_full_result(client: httpx.Client, gateway: Any) -> None:
    done = completed_job(client, metadata={"campaign": "spring"})

    assert done["status"] == "completed"
    assert done["progress"] == 100
    assert done["error"] is None
    result = done["result"]
    assert list(result) == RESULT_KEYS
    job_url = f"{gateway.base_url}{API}/jobs/{done['job_id']}"
    assert result["video_url"] == f"{job_url}/video"
    assert result["thumbnail_url"] == f"{job_url}/thumbnail"
    assert result["captions"] == {"srt_url": f"{job_url}/captions.srt", "vtt_url": f"{job_url}/captions.vtt"}
    assert result["script"] == "Hello"
    assert result["duration_seconds"] == 1.0
    assert result["cost_usd"] == 0.0
    assert result["generation_time_seconds"] > 0
    assert result["metadata"] == {"campaign": "spring"}
    assert [list(scene) for scene in result["storyboard"]] == [SCENE_KEYS]
    assert result["palette"] == ["#00ffff", "#ffbf00", "#ff00ff", "#000000", "#ffffff"]
    assert result["style"] == "minimal"
    assert result["voice"] == "test:sine"
    assert set(result["stage_seconds"]) == {"script", "voice", "render"}
    assert result["warnings"] == []
    # Struct numbers are doubles in the proto; whole numbers come back as JSON integers.
    assert result["details"] == {"width": 160, "height": 90, "fps": 15}


def test_failed_job_has_error_and_null_result(client: httpx.Client) -> None:
    job = submit(client, "An ad that breaks #fail")

    done = wait_for_status(client, job["job_id"], TERMINAL)

    assert done["status"] == "failed"
    assert done["result"] is None
    assert done["error"] == "voice failed: the voice engine stopped; try again later"


def test_warnings_reach_the_result(client: httpx.Client) -> None:
    job = submit(client, "An ad with a fallback #warn")

    done = wait_for_status(client, job["job_id"], TERMINAL)

    assert done["result"]["warnings"] == ["fell back to the offline voice"]


@pytest.mark.parametrize("job_id", [UNKNOWN_JOB_ID, "nope", "job_ABCDEF012345", "job_0123456789abc", "x" * 300])
def test_get_unknown_job_returns_404(client: httpx.Client, job_id: str) -> None:
    response = client.get(f"{API}/jobs/{job_id}")

    assert response.status_code == 404
    assert response.json() == {"detail": f"Job not found: {job_id}"}


def test_list_jobs_newest_first(client: httpx.Client) -> None:
    ids = [submit(client, f"A short ad for shop number {index}")["job_id"] for index in range(3)]

    response = client.get(f"{API}/jobs", params={"limit": 3})

    assert response.status_code == 200
    listing = response.json()
    assert list(listing) == ["jobs", "total"]
    assert [job["job_id"] for job in listing["jobs"]] == ids[::-1]
    assert all(list(job) == JOB_KEYS for job in listing["jobs"])
    assert listing["total"] >= 3


def test_list_jobs_default_limit_is_20(client: httpx.Client) -> None:
    for index in range(21 - client.get(f"{API}/jobs").json()["total"]):
        submit(client, f"A short ad for market stall {index}")

    listing = client.get(f"{API}/jobs").json()

    assert len(listing["jobs"]) == 20
    assert listing["total"] >= 21


def test_list_jobs_filters_by_status(client: httpx.Client) -> None:
    done = completed_job(client)

    listing = client.get(f"{API}/jobs", params={"status": "completed", "limit": 100}).json()
    all_jobs = client.get(f"{API}/jobs", params={"limit": 100}).json()

    assert {job["status"] for job in listing["jobs"]} == {"completed"}
    assert done["job_id"] in {job["job_id"] for job in listing["jobs"]}
    assert listing["total"] < all_jobs["total"]


def test_list_jobs_empty_status_means_all(client: httpx.Client) -> None:
    with_empty = client.get(f"{API}/jobs", params={"status": ""}).json()
    without = client.get(f"{API}/jobs").json()

    assert with_empty["total"] == without["total"]


@pytest.mark.parametrize("status", ["done", "COMPLETED", "job_status_pending", " pending"])
def test_list_jobs_rejects_unknown_status(client: httpx.Client, status: str) -> None:
    response = client.get(f"{API}/jobs", params={"status": status})

    assert response.status_code == 400
    assert response.json() == {"detail": f"Invalid status: {status}"}


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        ("0", {"loc": ["query", "limit"], "msg": "Input should be greater than or equal to 1",
               "type": "greater_than_equal"}),
        ("101", {"loc": ["query", "limit"], "msg": "Input should be less than or equal to 100",
                 "type": "less_than_equal"}),
        ("ten", {"loc": ["query", "limit"], "msg": "Input should be a valid integer, unable to parse string as an "
                 "integer", "type": "int_parsing"}),
    ],
)
def test_list_jobs_rejects_bad_limit(client: httpx.Client, limit: str, expected: dict[str, Any]) -> None:
    response = client.get(f"{API}/jobs", params={"limit": limit})

    assert response.status_code == 422
    assert response.json() == {"detail": [expected]}


def test_cancel_completed_job_returns_400(client: httpx.Client) -> None:
    done = completed_job(client)

    response = client.delete(f"{API}/jobs/{done['job_id']}")

    assert response.status_code == 400
    assert response.json() == {"detail": "Cannot cancel job in completed status"}


def test_cancel_failed_job_returns_400(client: httpx.Client) -> None:
    job = submit(client, "An ad that breaks #fail")
    wait_for_status(client, job["job_id"], TERMINAL)

    response = client.delete(f"{API}/jobs/{job['job_id']}")

    assert response.status_code == 400
    assert response.json() == {"detail": "Cannot cancel job in failed status"}


@pytest.mark.parametrize("job_id", [UNKNOWN_JOB_ID, "nope"])
def test_cancel_unknown_job_returns_404(client: httpx.Client, job_id: str) -> None:
    response = client.delete(f"{API}/jobs/{job_id}")

    assert response.status_code == 404
    assert response.json() == {"detail": f"Job not found: {job_id}"}


def test_cancel_pending_and_running_jobs(server_factory: Any, gateway_factory: GatewayFactory) -> None:
    # One worker: the hanging job occupies it, so the second job stays pending.
    single: ServerHandle = server_factory(extra_args=["--workers", "1"])
    gateway = gateway_factory(single.grpc_target)
    with gateway.client() as client:
        running = submit(client, "An ad that never finishes #hang")
        wait_for_status(client, running["job_id"], {"running"})
        pending = submit(client, "An ad that waits in the queue")
        assert client.get(f"{API}/jobs/{pending['job_id']}").json()["status"] == "pending"

        cancel_pending = client.delete(f"{API}/jobs/{pending['job_id']}")
        cancel_running = client.delete(f"{API}/jobs/{running['job_id']}")

        assert cancel_pending.status_code == 200
        assert cancel_pending.json() == {"message": f"Job {pending['job_id']} cancelled", "job_id": pending["job_id"]}
        assert cancel_running.status_code == 200
        assert cancel_running.json() == {"message": f"Job {running['job_id']} cancelled", "job_id": running["job_id"]}
        assert wait_for_status(client, pending["job_id"], TERMINAL, timeout=10)["status"] == "cancelled"
        stopped = wait_for_status(client, running["job_id"], TERMINAL, timeout=10)
        assert stopped["status"] == "cancelled"
        assert stopped["result"] is None

        again = client.delete(f"{API}/jobs/{running['job_id']}")
        assert again.status_code == 200
        assert again.json() == {"message": f"Job {running['job_id']} cancelled", "job_id": running["job_id"]}
