"""Cost in USD of provider calls, computed from the usage each provider reports.

Chat calls are priced by the prompt and completion tokens in the response's `usage`,
speech by the characters sent, images by count and size. A model missing from the
price table costs 0, as a local server does, and so does a chat response without `usage`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from pipeline.config import ModelPrice

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CostItem:
    """The cost of one provider call."""

    stage: str
    model: str
    # "tokens", "characters" or "images"
    unit: str
    quantity: int
    cost_usd: float


def chat_cost(price: ModelPrice | None, prompt_tokens: int, completion_tokens: int) -> float:
    if price is None:
        return 0.0
    return (
        prompt_tokens * price.input_per_million_tokens + completion_tokens * price.output_per_million_tokens
    ) / 1_000_000


def speech_cost(price: ModelPrice | None, characters: int) -> float:
    if price is None:
        return 0.0
    return characters * price.per_million_characters / 1_000_000


def image_cost(price: ModelPrice | None, size: str, count: int) -> float:
    if price is None:
        return 0.0
    return count * price.per_image.get(size, 0.0)


class CostMeter:
    """Adds up the cost of one job's provider calls; safe to use from several threads."""

    def __init__(self, prices: Mapping[str, ModelPrice]) -> None:
        self._prices = prices
        self._items: list[CostItem] = []
        self._lock = threading.Lock()

    @property
    def total_usd(self) -> float:
        with self._lock:
            return round(float(sum(item.cost_usd for item in self._items)), 6)

    @property
    def items(self) -> tuple[CostItem, ...]:
        with self._lock:
            return tuple(self._items)

    def add_chat(self, stage: str, model: str, usage: object | None) -> float:
        """Record a chat completion from its `usage` (prompt_tokens, completion_tokens)."""
        prompt = _count(usage, "prompt_tokens")
        completion = _count(usage, "completion_tokens")
        cost = chat_cost(self._price(model), prompt, completion)
        return self._add(CostItem(stage, model, "tokens", prompt + completion, cost))

    def add_speech(self, stage: str, model: str, characters: int) -> float:
        cost = speech_cost(self._price(model), characters)
        return self._add(CostItem(stage, model, "characters", characters, cost))

    def add_images(self, stage: str, model: str, size: str, count: int) -> float:
        price = self._price(model)
        if price is not None and price.per_image and size not in price.per_image:
            logger.warning("%s: no price for %s images of size %s; counted as 0 USD", stage, model, size)
        cost = image_cost(price, size, count)
        return self._add(CostItem(stage, model, "images", count, cost))

    def _price(self, model: str) -> ModelPrice | None:
        return self._prices.get(model)

    def _add(self, item: CostItem) -> float:
        with self._lock:
            self._items.append(item)
        return item.cost_usd


def _count(usage: object | None, name: str) -> int:
    value = getattr(usage, name, None) if usage is not None else None
    return value if isinstance(value, int) and value > 0 else 0
