"""ASGI middleware for the gateway: a request body limit, a JSON 500 for unhandled errors, and CORS."""

from __future__ import annotations

import logging

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.responses import JsonResponse

logger = logging.getLogger(__name__)


class BodySizeLimitMiddleware:
    """Reject request bodies larger than `max_bytes` with 413 before they are parsed.

    A declared Content-Length over the limit is rejected at once. A chunked body is
    counted as it arrives; FastAPI passes the HTTPException raised from `receive`
    through to the exception handlers, so the client gets the same 413 body.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            response = JsonResponse({"detail": self._message(int(declared))}, status_code=413)
            await response(scope, receive, send)
            return

        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(status_code=413, detail=self._message(received))
            return message

        await self.app(scope, counting_receive, send)

    def _message(self, size: int) -> str:
        return (
            f"Request body too large: {size} bytes, the maximum is {self.max_bytes}; "
            "shorten the brief or the metadata"
        )


class UnhandledErrorMiddleware:
    """Turn an exception no handler caught into a logged 500 with a JSON body.

    Installed inside the CORS middleware so that browsers can read the error. When
    the response has already started, the exception is re-raised and the server
    closes the connection, which the client sees as a truncated response.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            logger.exception("Unhandled error in %s %s", scope["method"], scope["path"])
            if response_started:
                raise
            response = JsonResponse(
                {"detail": "Internal server error; the gateway log has the details under this x-trace-id"},
                status_code=500,
            )
            await response(scope, receive, send)


class AnyOriginCorsMiddleware(CORSMiddleware):
    """CORS for any origin with credentials, returning "*" as the original service did.

    Starlette 1.x mirrors the request's Origin on every response once credentials
    are allowed. The original responded to simple requests with
    "Access-Control-Allow-Origin: *" and "Access-Control-Allow-Credentials: true",
    and mirrored the origin only for requests carrying cookies, where browsers
    reject "*". This keeps that behaviour; preflights still mirror the origin.
    """

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        if (
            message["type"] != "http.response.start"
            or request_headers.get("origin") is None
            or "cookie" in request_headers
        ):
            await super().send(message, send, request_headers)
            return
        message.setdefault("headers", [])
        headers = MutableHeaders(scope=message)
        headers.update(self.simple_headers)
        headers["Vary"] = ", ".join([*headers.getlist("Vary"), "Origin"])
        await send(message)
