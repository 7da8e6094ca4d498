"""Request decoding that turns a malformed protobuf message into field-level INVALID_ARGUMENT.

grpcio responds to a request its deserializer cannot parse with a bare INTERNAL
status. The deserializers built here return an UndecodableRequest instead, and
the handlers turn it into a google.rpc.BadRequest naming the field, most often
a string field that is not valid UTF-8.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message

from server.validation import FieldViolation

logger = logging.getLogger(__name__)

_WIRE_VARINT, _WIRE_FIXED64, _WIRE_LENGTH, _WIRE_FIXED32 = 0, 1, 2, 5


@dataclass(frozen=True)
class UndecodableRequest:
    """Stands in for a request message whose bytes did not parse; carries what was wrong."""

    violations: tuple[FieldViolation, ...]


def _read_varint(data: bytes, position: int) -> tuple[int, int]:
    value = 0
    for shift in range(0, 64, 7):
        if position >= len(data):
            raise ValueError("truncated varint")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
    raise ValueError("varint longer than 10 bytes")


def find_bad_fields(data: bytes, descriptor: Descriptor) -> list[FieldViolation]:
    """Walk the top-level fields of a serialized message and name each string field that is not UTF-8."""
    violations: list[FieldViolation] = []
    position = 0
    while position < len(data):
        key, position = _read_varint(data, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == _WIRE_VARINT:
            _, position = _read_varint(data, position)
        elif wire_type == _WIRE_FIXED64:
            position += 8
        elif wire_type == _WIRE_FIXED32:
            position += 4
        elif wire_type == _WIRE_LENGTH:
            length, position = _read_varint(data, position)
            chunk = data[position:position + length]
            position += length
            field = descriptor.fields_by_number.get(number)
            if field is None or field.type != FieldDescriptor.TYPE_STRING:
                continue
            try:
                chunk.decode("utf-8")
            except UnicodeDecodeError as error:
                violations.append(FieldViolation(
                    field.name, f"{field.name} is not valid UTF-8 (invalid byte at offset {error.start}); "
                    "send the text encoded as UTF-8", "string_unicode"))
        else:
            raise ValueError(f"unsupported wire type {wire_type}")
        if position > len(data):
            raise ValueError("field runs past the end of the message")
    return violations


def tolerant_deserializer(message_type: type[Message]) -> Callable[[bytes], Any]:
    """Build a request deserializer that returns UndecodableRequest instead of raising."""
    descriptor = message_type.DESCRIPTOR

    def deserialize(data: bytes) -> Any:
        try:
            return message_type.FromString(data)
        except DecodeError as error:
            try:
                violations = find_bad_fields(data, descriptor)
            except ValueError:
                violations = []
            if not violations:
                violations = [FieldViolation(
                    "request", f"the request is not a valid {descriptor.full_name} message ({error}); "
                    "build it with the generated protobuf classes", "value_error")]
            logger.debug("Undecodable %s: %s", descriptor.full_name, error)
            return UndecodableRequest(tuple(violations))

    return deserialize
