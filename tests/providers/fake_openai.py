"""A local HTTP server that speaks the parts of the OpenAI API the providers use.

It serves POST /v1/chat/completions, /v1/audio/speech and /v1/images/generations on
127.0.0.1 with a free port. Each test scripts the replies of a path in order with
`FakeOpenAI.script(path, reply, ...)`; once a script runs out the server responds like
an obedient model: JSON that fits the requested schema and length, a WAV tone, a PNG.
Every request is recorded with its headers and JSON body.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
from PIL import Image

CHAT = "/v1/chat/completions"
SPEECH = "/v1/audio/speech"
IMAGES = "/v1/images/generations"

SPEECH_SAMPLE_RATE = 24_000
# Tone length per character of speech input, and silence the fake puts around each tone.
SECONDS_PER_CHARACTER = 0.02
TONE_PADDING_SECONDS = 0.1
# Usage the fake reports for every chat completion.
PROMPT_TOKENS = 1000
COMPLETION_TOKENS = 500


@dataclass(frozen=True)
class Reply:
    """One scripted response: status, body and headers, sent after `delay` seconds.

    With `close_after` set, the server sends the headers and that many body bytes, then
    closes the connection, as a proxy or server that dies mid-response does.
    """

    status: int = 200
    json_body: Any = None
    body: bytes | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    close_after: int | None = None

    def payload(self) -> bytes:
        if self.body is not None:
            return self.body
        return json.dumps(self.json_body).encode()


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


Responder = Callable[[RecordedRequest], Reply]


def error_reply(status: int, message: str, *, code: str | None = None, kind: str = "invalid_request_error", headers: dict[str, str] | None = None) -> Reply:
    """Return an error in OpenAI's shape: {"error": {"message", "type", "code", "param"}}."""
    return Reply(
        status=status,
        json_body={"error": {"message": message, "type": kind, "code": code, "param": None}},
        headers=headers or {},
    )


def chat_reply(content: str, *, prompt_tokens: int = PROMPT_TOKENS, completion_tokens: int = COMPLETION_TOKENS) -> Reply:
    """Return a chat completion whose one choice contains `content`."""
    return Reply(
        json_body={
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": "fake-model",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )


def valid_brief() -> dict[str, Any]:
    return {
        "brand": "Nimbus",
        "product": "Nimbus Note, a cloud notebook",
        "audience": "busy students",
        "benefits": ["syncs everywhere", "works offline", "free for students"],
        "tone": "upbeat",
        "call_to_action": "Try Nimbus free today",
        "language": "en",
        "palette": {
            "primary": "#1E88E5",
            "secondary": "#00ACC1",
            "accent": "#FFB300",
            "background": "#0b1020",
            "text": "#ffffff",
        },
    }


def valid_script(words: int) -> dict[str, Any]:
    """Return a script in section order with exactly `words` words spread over five lines.

    The words alternate one and two syllables, so their count matches the rate units of the length check,
    which are syllables divided by 1.5, to within one unit.
    """
    sections = ["hook", "problem", "solution", "proof", "cta"]
    per_line = [words // 5 + (1 if index < words % 5 else 0) for index in range(5)]
    lines = []
    spoken = 0
    for section, count in zip(sections, per_line):
        line_words = []
        for _ in range(max(count, 1)):
            line_words.append(("go", "open")[spoken % 2])
            spoken += 1
        text = " ".join(line_words) + "."
        lines.append({"section": section, "text": text})
    return {"lines": lines}


def valid_plan(shots: int) -> dict[str, Any]:
    transitions = ["cut", "crossfade", "wipe", "slide", "zoom", "glitch"]
    return {
        "shots": [
            {
                "on_screen_text": f"Shot {n + 1}",
                "visual_direction": f"wide city skyline at dusk, shot {n + 1}",
                "transition": transitions[n % len(transitions)],
            }
            for n in range(shots)
        ]
    }


def obedient_chat(request: RecordedRequest) -> Reply:
    """Respond to a chat request with valid JSON for the schema it names, sized as its prompt requests."""
    name = request.body.get("response_format", {}).get("json_schema", {}).get("name", "")
    prompt = request.body["messages"][1]["content"]
    if name == "BriefOutput":
        return chat_reply(json.dumps(valid_brief()))
    if name == "ScriptOutput":
        low, high = (int(value) for value in re.search(r"between (\d+) and (\d+)", prompt).groups())  # type: ignore[union-attr]
        return chat_reply(json.dumps(valid_script((low + high) // 2)))
    if name == "PlanOutput":
        count = int(re.search(r"\((\d+) lines", prompt).group(1))  # type: ignore[union-attr]
        return chat_reply(json.dumps(valid_plan(count)))
    return error_reply(400, f"unknown response_format name {name!r}")


def tone_wav(seconds: float, *, sample_rate: int = SPEECH_SAMPLE_RATE, streaming_header: bool = False) -> bytes:
    """Return a 16-bit mono WAV: silence, a 440 Hz tone of `seconds`, silence.

    With `streaming_header`, the RIFF and data sizes are 0xFFFFFFFF, as servers that
    stream WAV write them.
    """
    padding = np.zeros(int(TONE_PADDING_SECONDS * sample_rate), dtype=np.int16)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    tone = (0.5 * 32767 * np.sin(2 * math.pi * 440 * t)).astype(np.int16)
    frames = np.concatenate([padding, tone, padding]).astype("<i2").tobytes()
    data_size = 0xFFFFFFFF if streaming_header else len(frames)
    riff_size = 0xFFFFFFFF if streaming_header else 36 + len(frames)
    header = b"RIFF" + struct.pack("<I", riff_size) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
    header += b"data" + struct.pack("<I", data_size)
    return header + frames


def obedient_speech(request: RecordedRequest) -> Reply:
    seconds = max(0.2, len(request.body["input"]) * SECONDS_PER_CHARACTER)
    return Reply(body=tone_wav(seconds), content_type="audio/wav")


def png_base64(size: str, colour: tuple[int, int, int] = (30, 90, 200)) -> str:
    width, height = (int(value) for value in size.split("x"))
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def obedient_images(request: RecordedRequest) -> Reply:
    size = request.body.get("size", "1024x1024")
    return Reply(json_body={"created": int(time.time()), "data": [{"b64_json": png_base64(size)}]})


class FakeOpenAI:
    """The fake server; use as a context manager or call start() and stop()."""

    def __init__(self) -> None:
        self._scripts: dict[str, deque[Reply | Responder]] = {CHAT: deque(), SPEECH: deque(), IMAGES: deque()}
        self._defaults: dict[str, Responder] = {CHAT: obedient_chat, SPEECH: obedient_speech, IMAGES: obedient_images}
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
        )

    @property
    def base_url(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}/v1"

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def script(self, path: str, *replies: Reply | Responder) -> None:
        """Queue replies for `path`; each request takes the next one."""
        with self._lock:
            self._scripts[path].extend(replies)

    def set_default(self, path: str, responder: Responder) -> None:
        """Answer `path` with `responder` once its script runs out."""
        with self._lock:
            self._defaults[path] = responder

    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [request for request in self.requests if request.path == path]

    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            queue = self._scripts.get(request.path)
            if queue is None:
                return error_reply(404, f"no route {request.path}")
            entry = queue.popleft() if queue else self._defaults[request.path]
        return entry(request) if callable(entry) else entry


def _make_handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (name fixed by BaseHTTPRequestHandler)
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            body = json.loads(raw) if raw else {}
            request = RecordedRequest(
                path=self.path, headers={key.lower(): value for key, value in self.headers.items()}, body=body
            )
            reply = fake._next_reply(request)
            if reply.delay:
                time.sleep(reply.delay)
            try:
                self._send(reply)
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up (a timeout test); nothing is left to answer.
                self.close_connection = True

        def _send(self, reply: Reply) -> None:
            payload = reply.payload()
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if reply.close_after is None:
                self.wfile.write(payload)
                return
            self.wfile.write(payload[: reply.close_after])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output clean; requests are recorded on the fake instead."""

    return Handler
