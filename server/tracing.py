"""Trace ids on the server's log lines.

The REST gateway gives every HTTP request a trace id and forwards it as the
"x-trace-id" gRPC metadata entry. Each RPC handler sets it as the current trace id,
so every line logged while handling that call can carry it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from contextvars import ContextVar, Token

import grpc

TRACE_METADATA_KEY = "x-trace-id"
# Same form as the gateway's ids; anything else is ignored rather than logged.
_TRACE_ID_PATTERN = re.compile(r"^nxs_[0-9]{1,12}_[0-9a-f]{8}$")

_current_trace_id: ContextVar[str | None] = ContextVar("ragnarok_server_trace_id", default=None)

# Other sources of a current trace id, such as the gateway running in the same process.
_extra_sources: list[Callable[[], str | None]] = []


def bind_trace_id(context: grpc.aio.ServicerContext) -> Token[str | None]:
    """Make the call's x-trace-id (if well formed) the current trace id; reset with the returned token."""
    trace_id = None
    for key, value in context.invocation_metadata() or ():
        if key == TRACE_METADATA_KEY and _TRACE_ID_PATTERN.match(str(value)):
            trace_id = str(value)
            break
    return _current_trace_id.set(trace_id)


def reset_trace_id(token: Token[str | None]) -> None:
    """Restore the trace id that was current before bind_trace_id."""
    _current_trace_id.reset(token)


def add_trace_source(source: Callable[[], str | None]) -> None:
    """Also read trace ids from `source` when no RPC set one (the in-process gateway's requests)."""
    _extra_sources.append(source)


class TraceIdFilter(logging.Filter):
    """Set `record.trace_id` on every record: the current trace id, or "-" when there is none."""

    def filter(self, record: logging.LogRecord) -> bool:
        trace_id = _current_trace_id.get()
        for source in _extra_sources:
            if trace_id:
                break
            trace_id = source()
        record.trace_id = trace_id or "-"
        return True
