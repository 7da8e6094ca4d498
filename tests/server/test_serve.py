"""`ragnarok serve` runs the gRPC server and the REST gateway in one process."""

from __future__ import annotations

import httpx

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
