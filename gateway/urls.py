"""Route prefix, job id checks and the absolute URLs the gateway hands out."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import Request

from gateway.errors import job_not_found

API_PREFIX = "/api/nexus/ragnarok"

JOB_ID_PATTERN = re.compile(r"^job_[0-9a-f]{12}$")
_FORWARDED_HOST_PATTERN = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def checked_job_id(job_id: str) -> str:
    """Return `job_id` if it has the form "job_" and 12 lowercase hex digits; otherwise raise a 404.

    A malformed id can name no job, so it gets the contract's "Job not found" response
    without a call to the job service.
    """
    if not JOB_ID_PATTERN.match(job_id):
        raise job_not_found(job_id)
    return job_id


@dataclass(frozen=True)
class UrlBuilder:
    """Builds absolute download URLs on this gateway."""

    base_url: str

    def download(self, job_id: str, name: str) -> str:
        return f"{self.base_url.rstrip('/')}{API_PREFIX}/jobs/{job_id}/{name}"


def url_builder(request: Request, *, trust_forwarded_headers: bool) -> UrlBuilder:
    """Build URLs from the request's own scheme and Host header, so the same client can fetch them.

    With `trust_forwarded_headers`, a well-formed X-Forwarded-Proto (http or https)
    and X-Forwarded-Host replace the scheme and host; malformed values are ignored.
    """
    url = request.base_url
    if trust_forwarded_headers:
        proto = _first_value(request.headers.get("x-forwarded-proto"))
        host = _first_value(request.headers.get("x-forwarded-host"))
        if proto in ("http", "https"):
            url = url.replace(scheme=proto)
        if host and _FORWARDED_HOST_PATTERN.match(host):
            url = url.replace(netloc=host)
    return UrlBuilder(str(url))


def _first_value(header: str | None) -> str:
    # Proxies append to these headers; the first value is the one the client used.
    return (header or "").split(",")[0].strip()


