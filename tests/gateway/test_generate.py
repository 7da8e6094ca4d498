"""POST /generate over HTTP: defaults, every validation rule with its exact 422 body, metadata and idempotency."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest

from gateway.schemas import Platform
from pipeline.platforms import PRESETS
from ragnarok.v1 import ragnarok_pb2, ragnarok_pb2_grpc
from tests.gateway.helpers import API, EXAMPLE_BODY, JOB_ID, JOB_KEYS, TERMINAL, TIMESTAMP, wait_for_status
from tests.support.servers import ServerHandle

VALID_BRIEF = "A short ad for a bakery in the old town"
PLATFORM_LIST = "'youtube_1080p', 'youtube_4k', 'tiktok', 'shorts', 'reels', 'instagram', 'instagram_portrait' or 'linkedin'"


@pytest.fixture(scope="module")
def grpc_stub(server: ServerHandle) -> Iterator[ragnarok_pb2_grpc.RagnarokServiceStub]:
    with grpc.insecure_channel(server.grpc_target) as channel:
        yield ragnarok_pb2_grpc.RagnarokServiceStub(channel)


def _item(field: str, msg: str, kind: str, where: str = "body") -> dict[str, Any]:
    return {"loc": [where, field], "msg": msg, "type": kind}


def test_generate_returns_pending_job(client: httpx.Client) -> None:
    response = client.post(f"{API}/generate", json=EXAMPLE_BODY)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    job = response.json()
    assert list(job) == JOB_KEYS
    assert JOB_ID.match(job["job_id"])
    assert job["status"] == "pending"
    assert job["progress"] == 0
    assert job["brief"] == EXAMPLE_BODY["brief"]
    assert job["result"] is None
    assert job["error"] is None
    assert TIMESTAMP.match(job["created_at"])
    assert job["updated_at"] == job["created_at"]
    # The contract's sample shows explicit nulls and an integer 0, not 0.0.
    assert '"result":null' in response.text
    assert '"error":null' in response.text
    assert '"progress":0,' in response.text


def test_generate_applies_defaults(client: httpx.Client, grpc_stub: ragnarok_pb2_grpc.RagnarokServiceStub) -> None:
    job = client.post(f"{API}/generate", json={"brief": VALID_BRIEF}).json()

    stored = grpc_stub.GetJob(ragnarok_pb2.GetJobRequest(job_id=job["job_id"]), timeout=5).job
    assert stored.industry == "technology"
    assert stored.duration_seconds == 30
    assert stored.platform == "youtube_1080p"
    assert not stored.HasField("style")
    assert not stored.HasField("voice_style")
    assert stored.metadata_json == ""


def test_generate_passes_every_field(client: httpx.Client, grpc_stub: ragnarok_pb2_grpc.RagnarokServiceStub) -> None:
    body = {**EXAMPLE_BODY, "industry": "fitness", "duration_seconds": 45, "platform": "tiktok",
            "metadata": {"campaign": "spring"}}
    job = client.post(f"{API}/generate", json=body).json()

    stored = grpc_stub.GetJob(ragnarok_pb2.GetJobRequest(job_id=job["job_id"]), timeout=5).job
    assert stored.industry == "fitness"
    assert stored.duration_seconds == 45
    assert stored.platform == "tiktok"
    assert stored.style == "cyberpunk"
    assert stored.voice_style == "professional"
    assert json.loads(stored.metadata_json) == {"campaign": "spring"}


@pytest.mark.parametrize("platform", list(PRESETS))
def test_generate_accepts_every_platform(client: httpx.Client, platform: str) -> None:
    response = client.post(f"{API}/generate", json={"brief": VALID_BRIEF, "platform": platform})

    assert response.status_code == 200, response.text


def test_platform_literal_matches_presets() -> None:
    assert set(Platform.__args__) == set(PRESETS)


@pytest.mark.parametrize("brief", ["x" * 10, "x" * 2000])
def test_generate_accepts_brief_length_limits(client: httpx.Client, brief: str) -> None:
    response = client.post(f"{API}/generate", json={"brief": brief})

    assert response.status_code == 200, response.text


def test_generate_ignores_unknown_fields(client: httpx.Client) -> None:
    response = client.post(f"{API}/generate", json={"brief": VALID_BRIEF, "priority": "high", "extra": [1, 2]})

    assert response.status_code == 200, response.text


def test_generate_accepts_numeric_string_duration(
    client: httpx.Client, grpc_stub: ragnarok_pb2_grpc.RagnarokServiceStub
) -> None:
    job = client.post(f"{API}/generate", json={"brief": VALID_BRIEF, "duration_seconds": "45"}).json()

    stored = grpc_stub.GetJob(ragnarok_pb2.GetJobRequest(job_id=job["job_id"]), timeout=5).job
    assert stored.duration_seconds == 45


# Rules the gateway checks itself, with pydantic's messages.
GATEWAY_RULES = [
    pytest.param({}, [_item("brief", "Field required", "missing")], id="brief-missing"),
    pytest.param({"brief": "too short"},
                 [_item("brief", "String should have at least 10 characters", "string_too_short")],
                 id="brief-too-short"),
    pytest.param({"brief": "x" * 2001},
                 [_item("brief", "String should have at most 2000 characters", "string_too_long")],
                 id="brief-too-long"),
    pytest.param({"brief": 12345678901}, [_item("brief", "Input should be a valid string", "string_type")],
                 id="brief-number"),
    pytest.param({"brief": None}, [_item("brief", "Input should be a valid string", "string_type")],
                 id="brief-null"),
    pytest.param({"brief": VALID_BRIEF, "industry": 5},
                 [_item("industry", "Input should be a valid string", "string_type")], id="industry-number"),
    pytest.param({"brief": VALID_BRIEF, "duration_seconds": 14},
                 [_item("duration_seconds", "Input should be greater than or equal to 15", "greater_than_equal")],
                 id="duration-below-15"),
    pytest.param({"brief": VALID_BRIEF, "duration_seconds": 121},
                 [_item("duration_seconds", "Input should be less than or equal to 120", "less_than_equal")],
                 id="duration-above-120"),
    pytest.param({"brief": VALID_BRIEF, "duration_seconds": 30.5},
                 [_item("duration_seconds", "Input should be a valid integer, got a number with a fractional part",
                        "int_from_float")], id="duration-fraction"),
    pytest.param({"brief": VALID_BRIEF, "duration_seconds": "thirty"},
                 [_item("duration_seconds", "Input should be a valid integer, unable to parse string as an integer",
                        "int_parsing")], id="duration-word"),
    pytest.param({"brief": VALID_BRIEF, "duration_seconds": True},
                 [_item("duration_seconds", "Input should be a valid integer", "int_type")], id="duration-bool"),
    pytest.param({"brief": VALID_BRIEF, "duration_seconds": None},
                 [_item("duration_seconds", "Input should be a valid integer", "int_type")], id="duration-null"),
    pytest.param({"brief": VALID_BRIEF, "platform": "vhs"},
                 [_item("platform", f"Input should be {PLATFORM_LIST}", "literal_error")], id="platform-unknown"),
    pytest.param({"brief": VALID_BRIEF, "style": 7},
                 [_item("style", "Input should be a valid string", "string_type")], id="style-number"),
    pytest.param({"brief": VALID_BRIEF, "voice_style": ["calm"]},
                 [_item("voice_style", "Input should be a valid string", "string_type")], id="voice-style-list"),
    pytest.param({"brief": VALID_BRIEF, "metadata": "campaign=spring"},
                 [_item("metadata", "Input should be a valid dictionary", "dict_type")], id="metadata-string"),
    pytest.param({"brief": VALID_BRIEF, "metadata": [1, 2]},
                 [_item("metadata", "Input should be a valid dictionary", "dict_type")], id="metadata-list"),
    pytest.param({"brief": VALID_BRIEF, "seed": -1},
                 [_item("seed", "Input should be greater than or equal to 0", "greater_than_equal")], id="seed-negative"),
    pytest.param({"brief": "short", "duration_seconds": 500},
                 [_item("brief", "String should have at least 10 characters", "string_too_short"),
                  _item("duration_seconds", "Input should be less than or equal to 120", "less_than_equal")],
                 id="two-fields"),
]

# Rules the job service checks; the gateway translates its BadRequest details.
SERVER_RULES = [
    pytest.param({"brief": "    padded x     "},
                 [_item("brief", "brief must be at least 10 characters after trimming whitespace, got 8; "
                        "describe it in more detail", "string_too_short")], id="brief-short-after-trim"),
    pytest.param({"brief": "An ad with a bell\x07 inside"},
                 [_item("brief", "brief contains the control character '\\x07' at position 17; remove it "
                        "(only newline and tab are allowed)", "string_pattern_mismatch")], id="brief-control-char"),
    pytest.param({"brief": VALID_BRIEF, "industry": "i" * 65},
                 [_item("industry", "industry must be at most 64 characters, got 65; shorten it", "string_too_long")],
                 id="industry-too-long"),
    pytest.param({"brief": VALID_BRIEF, "metadata": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {}}}}}}}}}},
                 [_item("metadata", "metadata_json nests 9 levels deep, more than the maximum of 8; flatten it",
                        "value_error")], id="metadata-too-deep"),
    pytest.param({"brief": VALID_BRIEF, "metadata": {"blob": "x" * 17000}},
                 [_item("metadata", "metadata_json must be at most 16384 bytes, got 17011; store large data "
                        "elsewhere and keep a reference here", "string_too_long")], id="metadata-too-large"),
]


@pytest.mark.parametrize(("body", "expected"), GATEWAY_RULES + SERVER_RULES)
def test_generate_rejects_invalid_field(client: httpx.Client, body: dict[str, Any], expected: list[Any]) -> None:
    response = client.post(f"{API}/generate", json=body)

    assert response.status_code == 422
    assert response.json() == {"detail": expected}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(b'{"brief": "An ad for tea",', [{"loc": ["body", 26], "msg": "JSON decode error",
                                                       "type": "json_invalid"}], id="truncated-json"),
        pytest.param(b'["An ad for a tea house"]', [{"loc": ["body"], "msg": "Input should be a valid dictionary "
                                                      "or object to extract fields from",
                                                      "type": "model_attributes_type"}], id="list-body"),
        pytest.param(b"", [{"loc": ["body"], "msg": "Field required", "type": "missing"}], id="empty-body"),
        pytest.param(b'{"brief": "An ad for a tea house", "metadata": {"ratio": NaN}}',
                     [{"loc": ["body", "metadata"], "msg": "metadata must be standard JSON; NaN and Infinity are "
                       "not allowed, send them as strings or null", "type": "json_invalid"}], id="metadata-nan"),
    ],
)
def test_generate_rejects_malformed_body(client: httpx.Client, content: bytes, expected: list[Any]) -> None:
    response = client.post(f"{API}/generate", content=content, headers={"content-type": "application/json"})

    assert response.status_code == 422
    assert response.json() == {"detail": expected}


def test_generate_rejects_five_mebibyte_brief(client: httpx.Client) -> None:
    content = json.dumps({"brief": "x" * (5 * 1024 * 1024)}).encode()

    response = client.post(f"{API}/generate", content=content, headers={"content-type": "application/json"})

    assert response.status_code == 413
    assert response.json() == {
        "detail": f"Request body too large: {len(content)} bytes, the maximum is 1048576; "
        "shorten the brief or the metadata"
    }


def test_generate_rejects_large_chunked_body(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"brief": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    response = client.post(f"{API}/generate", content=chunks(), headers={"content-type": "application/json"})

    assert response.status_code == 413
    assert response.json()["detail"].startswith("Request body too large: ")


def test_generate_keeps_metadata_text_exactly(client: httpx.Client) -> None:
    metadata = '{"price": 1.50, "big": 12345678901234567890, "e": 1e5, "nested": {"list": [true, null, "caf\\u00e9"]}}'
    content = '{"brief": "A short ad for a bakery in the old town", "metadata": ' + metadata + "}"

    job = client.post(f"{API}/generate", content=content, headers={"content-type": "application/json"}).json()
    done = wait_for_status(client, job["job_id"], TERMINAL)
    response = client.get(f"{API}/jobs/{job['job_id']}")

    assert done["status"] == "completed"
    minified = '{"price":1.50,"big":12345678901234567890,"e":1e5,"nested":{"list":[true,null,"caf\\u00e9"]}}'
    assert f'"metadata":{minified}' in response.text
    assert response.json()["result"]["metadata"]["nested"] == {"list": [True, None, "café"]}


def test_generate_without_metadata_returns_null_metadata(client: httpx.Client) -> None:
    job = client.post(f"{API}/generate", json={"brief": VALID_BRIEF, "metadata": None}).json()

    done = wait_for_status(client, job["job_id"], TERMINAL)

    assert done["result"]["metadata"] is None


def test_idempotency_key_returns_same_job(client: httpx.Client) -> None:
    key = str(uuid.uuid4())
    first = client.post(f"{API}/generate", json={"brief": VALID_BRIEF}, headers={"Idempotency-Key": key})
    second = client.post(f"{API}/generate", json={"brief": VALID_BRIEF}, headers={"Idempotency-Key": key})

    assert first.status_code == 200
    assert second.status_code == 200
    assert second.json()["job_id"] == first.json()["job_id"]


def test_idempotency_key_with_other_body_is_rejected(client: httpx.Client) -> None:
    key = str(uuid.uuid4())
    client.post(f"{API}/generate", json={"brief": VALID_BRIEF}, headers={"Idempotency-Key": key})

    response = client.post(f"{API}/generate", json={"brief": VALID_BRIEF + "!"}, headers={"Idempotency-Key": key})

    assert response.status_code == 422
    [item] = response.json()["detail"]
    assert item["loc"] == ["header", "idempotency-key"]
    assert item["type"] == "value_error"
    assert key in item["msg"]
    assert "use a new Idempotency-Key" in item["msg"]
    assert "request_id" not in item["msg"]


def test_idempotency_key_with_bad_characters_is_rejected(client: httpx.Client) -> None:
    response = client.post(f"{API}/generate", json={"brief": VALID_BRIEF}, headers={"Idempotency-Key": "bad key!"})

    assert response.status_code == 422
    assert response.json() == {"detail": [_item(
        "idempotency-key", "Idempotency-Key 'bad key!' may contain only letters, digits and . _ : -; use a UUID",
        "string_pattern_mismatch", where="header",
    )]}
