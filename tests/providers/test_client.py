"""Network behaviour of provider calls against the fake OpenAI server: retries, fast failures, secrecy."""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import Callable

import httpx2
import openai
import pytest

from pipeline.config import ProviderSettings
from pipeline.models import JobRequest
from pipeline.providers import ProviderUnavailable, Providers
from pipeline.providers.client import ProviderAuthError, RetryPolicy, redact, retry_after_seconds
from tests.providers.conftest import SECRET_KEY, RecordedSleep, baseline_analysis
from tests.providers.fake_openai import CHAT, FakeOpenAI, Reply, chat_reply, error_reply, valid_brief

REQUEST = JobRequest(brief="A cloud notebook for busy students who lose their notes.")


def analyze(providers: Providers) -> object:
    return providers.analyze_brief(REQUEST, baseline_analysis())


def test_success_sends_key_and_schema(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    providers = make_providers()

    analysis = analyze(providers)

    assert analysis is not None
    [request] = fake.requests_to(CHAT)
    assert request.headers["authorization"] == f"Bearer {SECRET_KEY}"
    assert request.body["model"] == "fake-chat"
    assert request.body["response_format"]["type"] == "json_schema"
    assert request.body["response_format"]["json_schema"]["strict"] is True
    assert providers.warnings == ()
    assert providers.fallbacks == ()


def test_rate_limit_honours_retry_after(
    fake: FakeOpenAI, make_providers: Callable[..., Providers], sleep: RecordedSleep
) -> None:
    fake.script(CHAT, error_reply(429, "Rate limit reached", code="rate_limit_exceeded", headers={"Retry-After": "3"}))
    providers = make_providers()

    analysis = analyze(providers)

    assert analysis is not None
    assert len(fake.requests_to(CHAT)) == 2
    assert sleep.waits == [3.0]
    assert providers.warnings == ()


def test_retry_after_is_capped(fake: FakeOpenAI, make_providers: Callable[..., Providers], sleep: RecordedSleep) -> None:
    fake.script(CHAT, error_reply(429, "slow down", headers={"Retry-After": "3600"}))
    providers = make_providers(max_retry_wait_seconds=2.5)

    assert analyze(providers) is not None
    assert sleep.waits == [2.5]


def test_server_error_retried_with_jitter(
    fake: FakeOpenAI, make_providers: Callable[..., Providers], sleep: RecordedSleep
) -> None:
    fake.script(CHAT, error_reply(500, "internal error", kind="server_error"), error_reply(503, "overloaded"))
    providers = make_providers(backoff_seconds=0.5)

    assert analyze(providers) is not None
    assert len(fake.requests_to(CHAT)) == 3
    assert len(sleep.waits) == 2
    # Full jitter: each wait lies between 0 and the doubled step.
    assert 0 <= sleep.waits[0] <= 0.5
    assert 0 <= sleep.waits[1] <= 1.0


def test_retries_exhausted_fall_back(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    fake.script(CHAT, *[error_reply(500, "internal error")] * 3)
    providers = make_providers(max_retries=2)

    assert analyze(providers) is None
    assert len(fake.requests_to(CHAT)) == 3
    [fallback] = providers.fallbacks
    assert fallback.stage == "brief"
    assert "server error (500), after 3 attempts" in fallback.reason
    [warning] = providers.warnings
    assert warning.startswith("brief: provider 127.0.0.1:")
    assert "Used the offline writer instead" in warning


def test_unauthorized_fails_fast(fake: FakeOpenAI, make_providers: Callable[..., Providers], sleep: RecordedSleep) -> None:
    fake.script(CHAT, error_reply(401, f"Incorrect API key provided: {SECRET_KEY}.", code="invalid_api_key"))
    providers = make_providers()

    assert analyze(providers) is None

    assert len(fake.requests_to(CHAT)) == 1
    assert sleep.waits == []
    [warning] = providers.warnings
    assert "rejected the API key (401): check OPENAI_API_KEY" in warning


def test_unauthorized_skips_later_stages(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    fake.script(CHAT, error_reply(401, "Incorrect API key provided", code="invalid_api_key"))
    providers = make_providers()

    assert analyze(providers) is None
    script = providers.write_script(baseline_analysis(), duration_seconds=15, words_per_minute=150)

    assert script is None
    assert len(fake.requests_to(CHAT)) == 1
    assert [fallback.stage for fallback in providers.fallbacks] == ["brief", "script"]


def test_insufficient_quota_fails_fast(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    fake.script(
        CHAT,
        error_reply(429, "You exceeded your current quota.", code="insufficient_quota", kind="insufficient_quota"),
    )
    providers = make_providers()

    assert analyze(providers) is None

    assert len(fake.requests_to(CHAT)) == 1
    [fallback] = providers.fallbacks
    assert "quota exhausted" in fallback.reason
    assert "billing" in fallback.reason


def test_payment_required_is_quota(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    fake.script(CHAT, error_reply(402, "Insufficient Balance", kind="unknown_error"))
    providers = make_providers()

    assert analyze(providers) is None
    script = providers.write_script(baseline_analysis(), duration_seconds=15, words_per_minute=150)

    assert script is None
    assert len(fake.requests_to(CHAT)) == 1
    assert "quota exhausted (402 payment required)" in providers.fallbacks[0].reason


def test_bad_request_not_retried(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    fake.script(CHAT, error_reply(400, "response_format json_schema is not supported"))
    providers = make_providers()

    assert analyze(providers) is None

    assert len(fake.requests_to(CHAT)) == 1
    [fallback] = providers.fallbacks
    assert "request rejected (400): response_format json_schema is not supported" in fallback.reason


def test_unknown_model_hint(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    fake.script(CHAT, error_reply(404, "The model `fake-chat` does not exist", code="model_not_found"))
    providers = make_providers()

    assert analyze(providers) is None
    assert "RAGNAROK_*_MODEL" in providers.fallbacks[0].reason


def test_timeout_retried_then_falls_back(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    fake.script(CHAT, Reply(json_body={}, delay=2.0), Reply(json_body={}, delay=2.0))
    providers = make_providers(timeout_seconds=0.2, max_retries=1)

    assert analyze(providers) is None

    assert len(fake.requests_to(CHAT)) == 2
    assert "timed out after 0.2 s, after 2 attempts" in providers.fallbacks[0].reason


def test_timeout_then_success(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    fake.script(CHAT, Reply(json_body={}, delay=2.0))
    providers = make_providers(timeout_seconds=0.3)

    assert analyze(providers) is not None
    assert len(fake.requests_to(CHAT)) == 2


def test_closed_mid_response_retried(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    fake.script(CHAT, Reply(json_body=chat_reply(json.dumps(valid_brief())).json_body, close_after=40))
    providers = make_providers()

    assert analyze(providers) is not None
    assert len(fake.requests_to(CHAT)) == 2
    assert providers.warnings == ()


def test_closed_every_time_falls_back(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    broken = Reply(json_body={"choices": []}, close_after=5)
    fake.script(CHAT, broken, broken, broken)
    providers = make_providers(max_retries=2)

    assert analyze(providers) is None
    assert len(fake.requests_to(CHAT)) == 3
    assert "connection failed" in providers.fallbacks[0].reason


def test_stage_deadline_stops_retries(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    fake.script(CHAT, *[Reply(json_body={}, delay=1.0)] * 5)
    providers = make_providers(timeout_seconds=0.5, stage_timeout_seconds=0.8, max_retries=5)

    assert analyze(providers) is None

    # The second request gets only the 0.3 s left of the deadline; no third one starts.
    assert len(fake.requests_to(CHAT)) == 2
    assert "stage time limit of 0.8 s" in providers.fallbacks[0].reason


def test_fallback_fail_raises(fake: FakeOpenAI, make_providers: Callable[..., Providers]) -> None:
    fake.script(CHAT, error_reply(429, "You exceeded your current quota.", code="insufficient_quota"))
    providers = make_providers(fallback="fail")

    with pytest.raises(ProviderUnavailable) as caught:
        analyze(providers)

    assert caught.value.stage == "brief"
    assert str(caught.value).startswith("brief failed: provider 127.0.0.1:")
    assert "quota exhausted" in str(caught.value)
    assert providers.warnings == ()


@pytest.mark.parametrize(
    "reply",
    [
        error_reply(401, f"Incorrect API key provided: {SECRET_KEY}"),
        error_reply(400, f"bad key {SECRET_KEY} in request"),
        error_reply(403, f"key sk-test-SECRE*****cdef may not use this model"),
        error_reply(500, f"crash while handling {SECRET_KEY}"),
    ],
    ids=["401", "400", "403-masked", "500"],
)
def test_key_never_leaks(
    fake: FakeOpenAI, make_providers: Callable[..., Providers], caplog: pytest.LogCaptureFixture, reply: Reply
) -> None:
    fake.set_default(CHAT, lambda request: reply)
    providers = make_providers(max_retries=1)
    caplog.set_level(logging.DEBUG)

    assert analyze(providers) is None
    with pytest.raises(ProviderUnavailable) as caught:
        make_providers(fallback="fail", max_retries=0).analyze_brief(REQUEST, baseline_analysis())

    texts = [*providers.warnings, *(f.reason for f in providers.fallbacks), str(caught.value), caplog.text]
    texts += [repr(providers.settings), str(providers.details())]
    for text in texts:
        assert SECRET_KEY not in text
        assert "SECRE" not in text
    assert providers.warnings


def test_redact_removes_key_shapes() -> None:
    assert redact(f"key {SECRET_KEY} is bad", SECRET_KEY) == "key [redacted] is bad"
    assert redact("Incorrect API key provided: sk-abc1***********wxyz.", None) == "Incorrect API key provided: [redacted]"
    assert len(redact("x" * 1000, None)) == 300


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_parsing(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(headers) == expected


def test_retry_after_http_date() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)

    wait = retry_after_seconds({"retry-after": when})

    assert wait is not None
    assert 25 <= wait <= 31


def test_openai_key_rejection_message(make_settings: Callable[..., ProviderSettings]) -> None:
    policy = RetryPolicy(make_settings(base_url="https://api.openai.com/v1"))
    request = httpx2.Request("POST", "https://api.openai.com/v1/chat/completions")
    calls: list[float] = []

    def reject(timeout: float) -> None:
        calls.append(timeout)
        raise openai.AuthenticationError(
            "Incorrect API key provided", response=httpx2.Response(401, request=request), body=None
        )

    with pytest.raises(ProviderAuthError) as caught:
        policy.call("script", reject, deadline=policy.deadline())

    assert len(calls) == 1
    assert str(caught.value) == (
        "script failed: provider api.openai.com: OpenAI rejected the API key (401): check OPENAI_API_KEY"
    )
