"""The part every model provider shares: its client, settings, retry policy and cost meter."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

if TYPE_CHECKING:
    import openai

    from pipeline.config import ProviderSettings
    from pipeline.providers.client import RetryPolicy
    from pipeline.providers.cost import CostMeter


class ModelProvider:
    """Base of the copy, speech and image providers; `use` names the settings' model for it."""

    use: ClassVar[Literal["copy", "speech", "image"]]

    def __init__(self, client: openai.OpenAI, settings: ProviderSettings, policy: RetryPolicy, meter: CostMeter) -> None:
        self._client = client
        self._settings = settings
        self._policy = policy
        self._meter = meter

    @property
    def model(self) -> str:
        return self._settings.model_for(self.use)
