"""The OpenAI client and the retry policy every provider call goes through.

The SDK's own retries are off (max_retries=0) so that one policy applies everywhere:
- each request has its own timeout, and every stage has a deadline for all its requests;
- 429 rate limits, 5xx responses, connection errors and resets and timeouts are retried
  with exponential backoff and full jitter, waiting the Retry-After time when the server
  sends one, never longer than `max_retry_wait_seconds`;
- any other 4xx is not retried. A rejected key (401) and an exhausted quota (429 with code
  "insufficient_quota", or 402 from services that report an empty balance that way) raise
  ProviderAuthError and ProviderQuotaError at once.

Errors name the stage and the provider (the host of the base URL) and never carry the key.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from pipeline.config import KEY_PATTERN, ProviderSettings
from pipeline.errors import StageError

# The OpenAI SDK takes about 0.4 s to import, so it loads in the functions that need it:
# an offline job never imports it.
if TYPE_CHECKING:
    import openai

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Sent as the bearer token to servers that need no key (most local servers ignore it).
NO_KEY_PLACEHOLDER = "no-key"

_MAX_MESSAGE_CHARS = 300


class ProviderError(StageError):
    """A provider call failed; the message names the stage and the provider, never the key."""

    def __init__(self, stage: str, provider: str, message: str) -> None:
        super().__init__(stage, f"provider {provider}: {message}")
        self.provider = provider
        self.reason = message


class ProviderAuthError(ProviderError):
    """The provider rejected the API key (401) or refused access (403); retrying cannot help."""


class ProviderQuotaError(ProviderError):
    """The account's quota or balance is used up (429 insufficient_quota or 402), so retrying cannot help."""


class ProviderOutputError(ProviderError):
    """The model's response stayed invalid after the allowed validation retries."""


def redact(text: str, secret: str | None) -> str:
    """Remove `secret` and anything shaped like an API key from `text`, and shorten it."""
    if secret:
        text = text.replace(secret, "[redacted]")
    text = KEY_PATTERN.sub("[redacted]", text)
    text = " ".join(text.split())
    if len(text) > _MAX_MESSAGE_CHARS:
        text = text[: _MAX_MESSAGE_CHARS - 3] + "..."
    return text


def build_client(settings: ProviderSettings) -> openai.OpenAI:
    """Create the OpenAI client for `settings`, with the SDK's retries off."""
    import openai

    key = settings.api_key.get_secret_value() if settings.api_key else NO_KEY_PLACEHOLDER
    return openai.OpenAI(
        api_key=key,
        base_url=settings.base_url,
        timeout=settings.timeout_seconds,
        max_retries=0,
    )


@dataclass
class RetryPolicy:
    """Runs one request with the retry rules above, within a stage deadline."""

    settings: ProviderSettings
    sleep: Callable[[float], None] = time.sleep
    uniform: Callable[[float, float], float] = random.uniform
    clock: Callable[[], float] = time.monotonic
    # Waits taken before retries, in seconds, in order; read by tests and diagnostics.
    waits: list[float] = field(default_factory=list)

    @property
    def provider(self) -> str:
        return self.settings.host

    def deadline(self) -> float:
        """Return the clock time by which a stage starting now must finish its requests."""
        return self.clock() + self.settings.stage_timeout_seconds

    def call(self, stage: str, request: Callable[[float], T], *, deadline: float) -> T:
        """Call `request(timeout_seconds)` and retry it on transient failures until `deadline`.

        Raises ProviderAuthError, ProviderQuotaError or ProviderError once retrying cannot help.
        """
        import openai

        attempts = self.settings.max_retries + 1
        for attempt in range(1, attempts + 1):
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise ProviderError(stage, self.provider, self._deadline_message())
            try:
                return request(min(self.settings.timeout_seconds, remaining))
            except openai.APIError as error:
                failure = self._classify(stage, error)
                if failure is not None:
                    raise failure from None
                reason = self._describe(error)
                if attempt == attempts:
                    raise ProviderError(stage, self.provider, f"{reason}, after {attempts} attempts") from None
                wait = self._wait_before_retry(error, attempt)
                if self.clock() + wait >= deadline:
                    raise ProviderError(stage, self.provider, f"{reason}; {self._deadline_message()}") from None
                logger.warning(
                    "%s: %s failed (%s); retrying in %.2f s (attempt %d of %d)",
                    stage, self.provider, reason, wait, attempt + 1, attempts,
                )
                self.waits.append(wait)
                self.sleep(wait)
        raise AssertionError("unreachable: the loop returns or raises")

    def _deadline_message(self) -> str:
        return (
            f"no answer within the stage time limit of {self.settings.stage_timeout_seconds:g} s; "
            "raise RAGNAROK_PROVIDER_STAGE_TIMEOUT_SECONDS or check the server's load"
        )

    def _classify(self, stage: str, error: openai.APIError) -> ProviderError | None:
        """Return the error to raise at once, or None when `error` is transient and worth a retry."""
        import openai

        if isinstance(error, openai.APIConnectionError):  # includes timeouts
            return None
        if not isinstance(error, openai.APIStatusError):
            return ProviderError(stage, self.provider, f"invalid response: {self._detail(error)}")

        status = error.status_code
        if status == 401:
            rejecter = "OpenAI" if self.settings.is_openai else "the server"
            return ProviderAuthError(stage, self.provider, f"{rejecter} rejected the API key (401): check OPENAI_API_KEY")
        if status == 403:
            return ProviderAuthError(
                stage, self.provider,
                f"access denied (403): {self._detail(error)}; check that the key may use this model",
            )
        # Some OpenAI-compatible services report an empty balance as 402 Payment Required.
        if status == 402 or (status == 429 and _error_code(error) == "insufficient_quota"):
            cause = "402 payment required" if status == 402 else "429 insufficient_quota"
            return ProviderQuotaError(
                stage, self.provider,
                f"quota exhausted ({cause}): add credit or raise the usage limit in "
                "the provider's billing settings, or unset OPENAI_API_KEY to run offline",
            )
        if status == 429 or status >= 500:
            return None
        hint = " (check the RAGNAROK_*_MODEL setting)" if status == 404 else ""
        return ProviderError(stage, self.provider, f"request rejected ({status}): {self._detail(error)}{hint}")

    def _describe(self, error: openai.APIError) -> str:
        import openai

        if isinstance(error, openai.APITimeoutError):
            return f"timed out after {self.settings.timeout_seconds:g} s"
        if isinstance(error, openai.APIConnectionError):
            cause = error.__cause__
            return f"connection failed ({type(cause).__name__ if cause else 'no response'})"
        if isinstance(error, openai.APIStatusError):
            if error.status_code == 429:
                return "rate limited (429)"
            return f"server error ({error.status_code})"
        return self._detail(error)

    def _detail(self, error: openai.APIError) -> str:
        body = error.body
        message = body.get("message") if isinstance(body, dict) else None
        text = message if isinstance(message, str) and message else error.message
        secret = self.settings.api_key.get_secret_value() if self.settings.api_key else None
        return redact(text, secret)

    def _wait_before_retry(self, error: openai.APIError, attempt: int) -> float:
        import openai

        cap = self.settings.max_retry_wait_seconds
        if isinstance(error, openai.APIStatusError):
            requested = retry_after_seconds(error.response.headers)
            if requested is not None:
                return min(requested, cap)
        # Full jitter: a uniform wait between 0 and the exponential step.
        step = min(cap, self.settings.backoff_seconds * 2 ** (attempt - 1))
        return self.uniform(0.0, step)


def retry_after_seconds(headers: object) -> float | None:
    """Return the wait in seconds that Retry-After or retry-after-ms requests, or None."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    milliseconds = get("retry-after-ms")
    if milliseconds:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _error_code(error: openai.APIStatusError) -> str | None:
    if error.code:
        return error.code
    body = error.body
    if isinstance(body, dict):
        for key in ("code", "type"):
            value = body.get(key)
            if isinstance(value, str):
                return value
    return None
