"""Input rules for the Ragnarok API, shared by the gRPC service and the REST gateway.

Each rule failure becomes a FieldViolation. Its `field` is the proto field name,
its `reason` uses pydantic's error-type vocabulary ("missing", "string_too_short",
"less_than_equal", "json_invalid", ...), and its `description` states what is
wrong and how to fix it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.platforms import PRESETS

BRIEF_MIN_CHARS = 10
BRIEF_MAX_CHARS = 2000
SHORT_TEXT_MAX_CHARS = 64
DURATION_MIN_SECONDS = 15
DURATION_MAX_SECONDS = 120
DEFAULT_DURATION_SECONDS = 30
DEFAULT_INDUSTRY = "technology"
DEFAULT_PLATFORM = "youtube_1080p"
METADATA_MAX_BYTES = 16 * 1024
METADATA_MAX_DEPTH = 8
REQUEST_ID_MAX_CHARS = 128
PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAX = 100

JOB_ID_PATTERN = re.compile(r"^job_[0-9a-f]{12}$")
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]+$")
# C0 controls other than tab and newline, DEL and C1 controls.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str
    reason: str


class ValidationFailed(ValueError):
    """One or more fields broke a rule; `violations` lists every one of them."""

    def __init__(self, violations: Sequence[FieldViolation]) -> None:
        self.violations = tuple(violations)
        super().__init__("; ".join(f"{item.field}: {item.description}" for item in self.violations))


@dataclass(frozen=True)
class GenerateFields:
    """A Generate request after validation, with defaults applied."""

    brief: str
    industry: str
    duration_seconds: int
    platform: str
    style: str | None
    voice_style: str | None
    metadata_json: str
    request_id: str | None
    seed: int | None

    def request_hash(self) -> str:
        """Hash of everything but request_id, to recognise a repeated request."""
        payload = [
            self.brief, self.industry, self.duration_seconds, self.platform, self.style,
            self.voice_style, self.metadata_json, self.seed,
        ]
        return hashlib.sha256(json.dumps(payload).encode()).hexdigest()


def _check_text(
    violations: list[FieldViolation], field: str, value: str, *, max_chars: int, min_chars: int = 0
) -> None:
    length = len(value)
    if length < min_chars:
        violations.append(FieldViolation(
            field, f"{field} must be at least {min_chars} characters after trimming whitespace, "
            f"got {length}; describe it in more detail", "string_too_short"))
    elif length > max_chars:
        violations.append(FieldViolation(
            field, f"{field} must be at most {max_chars} characters, got {length}; shorten it", "string_too_long"))
    match = CONTROL_CHARACTERS.search(value)
    if match is not None:
        violations.append(FieldViolation(
            field, f"{field} contains the control character {match.group()!r} at position {match.start()}; "
            "remove it (only newline and tab are allowed)", "string_pattern_mismatch"))


def _optional_label(violations: list[FieldViolation], field: str, value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    _check_text(violations, field, value, max_chars=SHORT_TEXT_MAX_CHARS)
    return value


def _json_depth(value: Any) -> int:
    # Iterative, so deeply nested input cannot exhaust the stack.
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in item)
    return deepest


def _check_metadata(violations: list[FieldViolation], metadata_json: str) -> str:
    if not metadata_json.strip():
        return ""
    size = len(metadata_json.encode())
    if size > METADATA_MAX_BYTES:
        violations.append(FieldViolation(
            "metadata_json", f"metadata_json must be at most {METADATA_MAX_BYTES} bytes, got {size}; "
            "store large data elsewhere and keep a reference here", "string_too_long"))
        return ""
    try:
        parsed = json.loads(metadata_json)
    except (ValueError, RecursionError) as error:
        violations.append(FieldViolation(
            "metadata_json", f"metadata_json is not valid JSON ({error}); send a JSON object such as "
            '{"campaign": "spring"}', "json_invalid"))
        return ""
    if not isinstance(parsed, dict):
        violations.append(FieldViolation(
            "metadata_json", f"metadata_json must be a JSON object, got a JSON {type(parsed).__name__}; "
            'wrap the value in an object such as {"value": ...}', "dict_type"))
        return ""
    depth = _json_depth(parsed)
    if depth > METADATA_MAX_DEPTH:
        violations.append(FieldViolation(
            "metadata_json", f"metadata_json nests {depth} levels deep, more than the maximum of "
            f"{METADATA_MAX_DEPTH}; flatten it", "value_error"))
    return metadata_json


def validate_generate(
    *,
    brief: str | None,
    industry: str | None = None,
    duration_seconds: int | None = None,
    platform: str | None = None,
    style: str | None = None,
    voice_style: str | None = None,
    metadata_json: str | None = None,
    request_id: str | None = None,
    seed: int | None = None,
) -> GenerateFields:
    """Check a Generate request and apply defaults. Raises ValidationFailed listing every bad field.

    None, "" and 0 mean "not set", as they do in proto3.
    """
    violations: list[FieldViolation] = []

    brief_text = (brief or "").strip()
    if not brief_text:
        violations.append(FieldViolation(
            "brief", "brief is required; describe the product, audience and tone in "
            f"{BRIEF_MIN_CHARS} to {BRIEF_MAX_CHARS} characters", "missing"))
    else:
        _check_text(violations, "brief", brief_text, min_chars=BRIEF_MIN_CHARS, max_chars=BRIEF_MAX_CHARS)

    industry_text = (industry or "").strip() or DEFAULT_INDUSTRY
    _check_text(violations, "industry", industry_text, max_chars=SHORT_TEXT_MAX_CHARS)

    duration = duration_seconds or DEFAULT_DURATION_SECONDS
    if duration < DURATION_MIN_SECONDS:
        violations.append(FieldViolation(
            "duration_seconds", f"duration_seconds must be at least {DURATION_MIN_SECONDS}, got {duration}; "
            f"use {DURATION_MIN_SECONDS} to {DURATION_MAX_SECONDS}", "greater_than_equal"))
    elif duration > DURATION_MAX_SECONDS:
        violations.append(FieldViolation(
            "duration_seconds", f"duration_seconds must be at most {DURATION_MAX_SECONDS}, got {duration}; "
            f"use {DURATION_MIN_SECONDS} to {DURATION_MAX_SECONDS}", "less_than_equal"))

    platform_name = (platform or "").strip() or DEFAULT_PLATFORM
    if platform_name not in PRESETS:
        violations.append(FieldViolation(
            "platform", f"platform {platform_name!r} is not supported; use one of: {', '.join(PRESETS)}",
            "literal_error"))

    style_name = _optional_label(violations, "style", style)
    voice_name = _optional_label(violations, "voice_style", voice_style)
    metadata = _check_metadata(violations, metadata_json or "")

    key = request_id or None
    if key is not None:
        if len(key) > REQUEST_ID_MAX_CHARS:
            violations.append(FieldViolation(
                "request_id", f"request_id must be at most {REQUEST_ID_MAX_CHARS} characters, got {len(key)}; "
                "use a UUID", "string_too_long"))
        elif not REQUEST_ID_PATTERN.match(key):
            violations.append(FieldViolation(
                "request_id", f"request_id {key!r} may contain only letters, digits and . _ : -; use a UUID",
                "string_pattern_mismatch"))

    if violations:
        raise ValidationFailed(violations)
    return GenerateFields(
        brief=brief_text,
        industry=industry_text,
        duration_seconds=duration,
        platform=platform_name,
        style=style_name,
        voice_style=voice_name,
        metadata_json=metadata,
        request_id=key,
        seed=seed,
    )


def check_job_id(job_id: str, field: str = "job_id") -> str:
    """Return `job_id` if it has the job id form. Raises ValidationFailed naming the field."""
    if not job_id:
        raise ValidationFailed([FieldViolation(
            field, f'{field} is required; pass an id such as "job_8db62df5d9f5"', "missing")])
    if not JOB_ID_PATTERN.match(job_id):
        shown = job_id if len(job_id) <= 40 else job_id[:40] + "..."
        raise ValidationFailed([FieldViolation(
            field, f'{field} {shown!r} is not a job id; job ids are "job_" and 12 lowercase hex digits, '
            'such as "job_8db62df5d9f5"', "string_pattern_mismatch")])
    return job_id


def resolve_page_size(page_size: int) -> int:
    """Apply ListJobs' page-size rules: 0 means the default, above the maximum is lowered to it."""
    if page_size < 0:
        raise ValidationFailed([FieldViolation(
            "page_size", f"page_size must be 0 or more, got {page_size}; use 0 for the default of "
            f"{PAGE_SIZE_DEFAULT}", "greater_than_equal")])
    if page_size == 0:
        return PAGE_SIZE_DEFAULT
    return min(page_size, PAGE_SIZE_MAX)
