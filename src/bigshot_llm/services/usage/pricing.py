"""What a request's GPU time and tokens are worth: energy from the provider's watts, and a
shadow cost from the model's declared price ("what this would have cost" at a cloud model's
rates). Computed once, when the request is recorded, so a later price change leaves history
as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Rates"]

SECONDS_PER_HOUR = 3600.0
TOKENS_PER_PRICE_UNIT = 1_000_000.0  # prices are per million tokens


@dataclass(frozen=True, slots=True)
class Rates:
    """A provider's watts per busy instance and one model's shadow price (None: undeclared)."""

    watts: float | None = None
    input_per_mtok: float | None = None
    output_per_mtok: float | None = None

    def energy_wh(self, gpu_seconds: float) -> float | None:
        """Watt-hours: the request's GPU-seconds at the instance's power draw."""
        if self.watts is None:
            return None
        return round(gpu_seconds * self.watts / SECONDS_PER_HOUR, 9)

    def shadow_cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """USD at the declared price per million input and output tokens."""
        if self.input_per_mtok is None and self.output_per_mtok is None:
            return None
        cost = (
            prompt_tokens * (self.input_per_mtok or 0.0)
            + completion_tokens * (self.output_per_mtok or 0.0)
        ) / TOKENS_PER_PRICE_UNIT
        return round(cost, 9)
