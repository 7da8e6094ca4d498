"""Headers every response carries (x-trace-id, CORS), unhandled errors, and the OpenAPI docs."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from tests.gateway.conftest import GatewayHandle, serve_in_thread
from tests.gateway.helpers import API, TRACE_ID, UNKNOWN_JOB_ID, submit
from tests.support.servers import ServerHandle

ORIGIN = "https://ads.example.com"


@pytest.mark.parametrize(
    ("method", "path", "status_code"),
    [
        ("GET", f"{API}/jobs", 200),
        ("GET", f"{API}/jobs/{UNKNOWN_JOB_ID}", 404),
        ("GET", f"{API}/jobs?status=bogus", 400),
        ("POST", f"{API}/generate", 422),
        ("GET", f"{API}/no-such-route", 404),
        ("PUT", f"{API}/jobs", 405),
        ("GET", "/openapi.json", 200),
    ],
)
def test_every_response_has_trace_id(client: httpx.Client, method: str, path: str, status_code: int) -> None:
    response = client.request(method, path)

    assert response.status_code == status_code
    assert TRACE_ID.match(response.headers["x-trace-id"])


def test_trace_ids_differ_per_request(client: httpx.Client) -> None:
    ids = {client.get(f"{API}/jobs").headers["x-trace-id"] for _ in range(5)}

    assert len(ids) == 5


def test_well_formed_incoming_trace_id_is_kept(client: httpx.Client) -> None:
    response = client.get(f"{API}/jobs", headers={"x-trace-id": "nxs_1766127730_9650a22c"})

    assert response.headers["x-trace-id"] == "nxs_1766127730_9650a22c"


@pytest.mark.parametrize("incoming", ["abc", "nxs_1766127730_9650A22C", "nxs_1_9650a22c\nforged"])
def test_malformed_incoming_trace_id_is_replaced(client: httpx.Client, incoming: str) -> None:
    response = client.get(f"{API}/jobs", headers={"x-trace-id": incoming.replace("\n", " ")})

    assert response.headers["x-trace-id"] != incoming.replace("\n", " ")
    assert TRACE_ID.match(response.headers["x-trace-id"])


def test_trace_id_appears_in_gateway_log(client: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="gateway"):
        response = client.post(f"{API}/generate", json={"brief": "A short ad for a flower shop"})

        trace_id = response.headers["x-trace-id"]
        # The access line is written once the response is sent, so it can trail the client a little.
        deadline = time.monotonic() + 5
        while not _access_line_logged(caplog, trace_id) and time.monotonic() < deadline:
            time.sleep(0.02)

    assert _access_line_logged(caplog, trace_id)


def _access_line_logged(caplog: pytest.LogCaptureFixture, trace_id: str) -> bool:
    lines = [record.getMessage() for record in caplog.records if record.name == "gateway.tracing"]
    return any(f"POST {API}/generate -> 200" in line and f"trace_id={trace_id}" in line for line in lines)


def test_cors_preflight_allows_any_origin(client: httpx.Client) -> None:
    response = client.options(f"{API}/generate", headers={
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, idempotency-key",
    })

    assert response.status_code == 200
    # With credentials allowed, a preflight names the origin: browsers reject "*" there.
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "idempotency-key" in response.headers["access-control-allow-headers"].lower()
    assert TRACE_ID.match(response.headers["x-trace-id"])


def test_cors_simple_request_matches_original(client: httpx.Client) -> None:
    response = client.post(f"{API}/generate", json={"brief": "A short ad for a flower shop"},
                           headers={"Origin": ORIGIN})

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "x-trace-id" in response.headers["access-control-expose-headers"]


def test_cors_headers_on_errors(client: httpx.Client) -> None:
    response = client.get(f"{API}/jobs/{UNKNOWN_JOB_ID}", headers={"Origin": ORIGIN})

    assert response.status_code == 404
    assert response.headers["access-control-allow-origin"] == "*"


def test_unhandled_error_returns_json_500(server: ServerHandle) -> None:
    app = create_app(server.grpc_target)

    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken)
    with serve_in_thread(app) as base_url, httpx.Client(base_url=base_url) as client:
        response = client.get("/broken", headers={"Origin": ORIGIN})

    assert response.status_code == 500
    assert response.json() == {
        "detail": "Internal server error; the gateway log has the details under this x-trace-id"
    }
    assert TRACE_ID.match(response.headers["x-trace-id"])
    assert response.headers["access-control-allow-origin"] == "*"


def test_json_responses_are_gzipped_when_large(client: httpx.Client) -> None:
    for index in range(5):
        submit(client, f"A short ad for a tailor, variant {index}")

    response = client.get(f"{API}/jobs", params={"limit": 50}, headers={"Accept-Encoding": "gzip"})

    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.json()["jobs"]


def test_docs_page_is_served(client: httpx.Client) -> None:
    response = client.get("/docs")

    assert response.status_code == 200
    assert "swagger-ui" in response.text.lower()
    assert "/openapi.json" in response.text


def _operation(spec: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    operation: dict[str, Any] = spec["paths"][f"{API}{path}"][method]
    return operation


def test_openapi_documents_every_route(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()

    assert {path: sorted(methods) for path, methods in spec["paths"].items()} == {
        f"{API}/generate": ["post"],
        f"{API}/jobs": ["get"],
        f"{API}/jobs/{{job_id}}": ["delete", "get"],
        f"{API}/jobs/{{job_id}}/events": ["get"],
        f"{API}/jobs/{{job_id}}/video": ["get", "head"],
        f"{API}/jobs/{{job_id}}/thumbnail": ["get", "head"],
        f"{API}/jobs/{{job_id}}/captions.srt": ["get", "head"],
        f"{API}/jobs/{{job_id}}/captions.vtt": ["get", "head"],
        f"{API}/jobs/{{job_id}}/artifacts/{{artifact}}": ["get", "head"],
    }


def test_openapi_documents_bodies_and_errors(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]

    generate = _operation(spec, "/generate", "post")
    assert generate["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/GenerateBody"
    }
    assert set(generate["responses"]) >= {"200", "413", "422", "429", "503"}
    assert generate["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ValidationErrorOut"
    }
    assert list(schemas["JobOut"]["properties"]) == [
        "job_id", "status", "created_at", "updated_at", "progress", "brief", "result", "error",
    ]
    assert schemas["GenerateBody"]["properties"]["duration_seconds"]["default"] == 30
    assert schemas["ValidationErrorItem"]["required"] == ["loc", "msg", "type"]
    assert set(_operation(spec, "/jobs/{job_id}", "get")["responses"]) >= {"200", "404"}
    assert set(_operation(spec, "/jobs/{job_id}", "delete")["responses"]) >= {"200", "400", "404"}
    assert set(_operation(spec, "/jobs", "get")["responses"]) >= {"200", "400", "422"}
    events = _operation(spec, "/jobs/{job_id}/events", "get")
    assert set(events["responses"]["200"]["content"]) == {"application/x-ndjson", "text/event-stream"}
    video = _operation(spec, "/jobs/{job_id}/video", "get")
    assert set(video["responses"]) >= {"200", "206", "404", "416"}
    assert "video/mp4" in video["responses"]["200"]["content"]


def test_openapi_response_models_match_responses(client: httpx.Client, gateway: GatewayHandle) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    done = submit(client, "A short ad for a bakery in the old town")
    from tests.gateway.helpers import TERMINAL, wait_for_status

    job = wait_for_status(client, done["job_id"], TERMINAL)

    assert list(job) == list(schemas["JobOut"]["properties"])
    assert list(job["result"]) == list(schemas["JobResultOut"]["properties"])
    assert list(job["result"]["storyboard"][0]) == list(schemas["SceneOut"]["properties"])


def test_cors_mirrors_origin_for_cookie_requests(client: httpx.Client) -> None:
    response = client.get(f"{API}/jobs", headers={"Origin": ORIGIN, "Cookie": "session=1"})

    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "Origin" in response.headers["vary"]
