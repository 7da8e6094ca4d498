"""Exact JSON text of request members, so metadata reaches the job service exactly as sent."""

from __future__ import annotations

import json

_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\r\n"


def member_text(document: str, key: str) -> str | None:
    """Return the raw JSON text of `key`'s value in the top-level object `document`.

    The last occurrence wins, as with json.loads. Returns None when the key is
    absent. Raises ValueError when `document` is not a JSON object.
    """
    index = _skip_whitespace(document, 0)
    if document[index:index + 1] != "{":
        raise ValueError("the document is not a JSON object")
    index = _skip_whitespace(document, index + 1)
    found: str | None = None
    if document[index:index + 1] == "}":
        return None
    while True:
        name, index = _DECODER.raw_decode(document, index)
        if not isinstance(name, str):
            raise ValueError("an object key is not a string")
        index = _skip_whitespace(document, index)
        if document[index:index + 1] != ":":
            raise ValueError("expected ':' after an object key")
        start = _skip_whitespace(document, index + 1)
        _, end = _DECODER.raw_decode(document, start)
        if name == key:
            found = document[start:end]
        index = _skip_whitespace(document, end)
        separator = document[index:index + 1]
        if separator == "}":
            return found
        if separator != ",":
            raise ValueError("expected ',' or '}' after an object member")
        index = _skip_whitespace(document, index + 1)


def _skip_whitespace(document: str, index: int) -> int:
    while index < len(document) and document[index] in _WHITESPACE:
        index += 1
    return index


def minify_json(text: str) -> str:
    """Remove the whitespace between JSON tokens, keeping every token exactly as written.

    Numbers keep their form ("1.50" stays "1.50"), which re-serialising parsed
    JSON would not guarantee. `text` must be valid JSON: inside strings, raw
    control characters such as newlines are invalid, so only whitespace between
    tokens is dropped.
    """
    kept: list[str] = []
    in_string = False
    escaped = False
    for char in text:
        if in_string:
            kept.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char in " \t\r\n":
            continue
        else:
            kept.append(char)
            if char == '"':
                in_string = True
    return "".join(kept)
