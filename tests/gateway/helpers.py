"""Shared values and polling helpers for the gateway tests."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

API = "/api/nexus/ragnarok"

# The request body of the original service's own Swagger example.
EXAMPLE_BODY: dict[str, Any] = {
    "brief": (
        "Create a 30-second commercial for Barrios A2I, an AI automation company. Target audience: "
        "B2B SaaS founders and marketing directors. Highlight how AI automation gives startups "
        "enterprise-grade infrastructure. Tone: bold, innovative, cyberpunk aesthetic with cosmic "
        "cyan and neon amber colors."
    ),
    "industry": "technology",
    "duration_seconds": 30,
    "platform": "youtube_1080p",
    "style": "cyberpunk",
    "voice_style": "professional",
}

JOB_KEYS = ["job_id", "status", "created_at", "updated_at", "progress", "brief", "result", "error"]
JOB_ID = re.compile(r"^job_[0-9a-f]{12}$")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$")
TRACE_ID = re.compile(r"^nxs_\d+_[0-9a-f]{8}$")
TERMINAL = {"completed", "failed", "cancelled"}
# An id of the right form that no test creates.
UNKNOWN_JOB_ID = "job_000000000000"

POLL_TIMEOUT_SECONDS = 60.0


def submit(client: httpx.Client, brief: str = "A short ad for a coffee shop #slow", **fields: Any) -> dict[str, Any]:
    """POST /generate and return the job, failing with the response body on any error."""
    response = client.post(f"{API}/generate", json={"brief": brief, **fields})
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    return job


def wait_for_status(
    client: httpx.Client, job_id: str, statuses: set[str], timeout: float = POLL_TIMEOUT_SECONDS
) -> dict[str, Any]:
    """Poll GET /jobs/{job_id} until its status is in `statuses`; return the job."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"{API}/jobs/{job_id}")
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        if job["status"] in statuses:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s, expected {statuses}")
        time.sleep(0.05)


def completed_job(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    """Submit a fast job and wait until it completes."""
    job = submit(client, "A short ad for a bakery in the old town", **fields)
    done = wait_for_status(client, job["job_id"], TERMINAL)
    assert done["status"] == "completed", done
    return done
