"""JSON rendering for the gateway, with orjson so metadata can be embedded as the exact text sent."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


def dump_json(content: Any) -> bytes:
    """Serialise `content` compactly, on one line; orjson.Fragment values are embedded verbatim."""
    return orjson.dumps(content)


class JsonResponse(JSONResponse):
    """application/json response rendered by orjson.

    It subclasses JSONResponse because FastAPI documents a route's response_model
    in /openapi.json only for JSONResponse classes; for any other class the
    schema would read {"type": "string"}.
    """

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dump_json(content)
