"""Errors the pipeline raises for a person to act on."""

from __future__ import annotations


class StageError(Exception):
    """A pipeline stage failed for a reason the user can act on.

    The job's error reads "<stage> failed: <message>", so the message should say
    what went wrong and what to change, never carry a secret.
    """

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"{stage} failed: {message}")
        self.stage = stage
        self.message = message
