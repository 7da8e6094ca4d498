"""Fuzz the live REST gateway from its own OpenAPI schema: never a 5xx, always the documented shape."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.servers import running_server

# Bounded so the whole fuzz run stays well under a minute on two cores.
EXAMPLES_PER_OPERATION = 50
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def gateway_url(tmp_path_factory: pytest.TempPathFactory):
    # A roomy queue: a 429 is documented, but the point here is every other answer.
    env = {"RAGNAROK_MAX_QUEUED_JOBS": "1000"}
    with running_server(tmp_path_factory.mktemp("fuzz") / "data", env=env) as handle:
        yield handle.http_base_url


def _operations(base_url: str) -> list[schemathesis.APIOperation]:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


def test_schema_lists_every_route(gateway_url: str) -> None:
    labels = {operation.label for operation in _operations(gateway_url)}
    assert "POST /api/nexus/ragnarok/generate" in labels
    assert "GET /api/nexus/ragnarok/jobs/{job_id}/events" in labels
    assert len(labels) >= 8


def test_gateway_answers_fuzzed_requests_as_documented(gateway_url: str) -> None:
    for operation in _operations(gateway_url):

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                         HealthCheck.data_too_large])
        def answer_as_documented(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=gateway_url, checks=CHECKS, timeout=30)

        answer_as_documented()
