"""Fault modes of the simulator: their names and the per-request :class:`FaultSpec`."""

from __future__ import annotations

from dataclasses import dataclass

FAULTS: frozenset[str] = frozenset(
    {
        "slow_headers",
        "hang_mid_stream",
        "drop_mid_stream",
        "http_500",
        "http_503",
        "malformed_chunk",
        "error_event",
        "empty_models",
        "stopped",
    }
)
"""Every fault name accepted by :meth:`SimState.set_fault` (``None`` means healthy)."""

FAULT_TARGETS: frozenset[str] = frozenset({"generation", "models", "embeddings"})
"""The kinds of request a fault can be aimed at (``set_fault(on=...)``): chat, completions and
the agent APIs; model listings; embeddings."""

DEFAULT_FAULT_AFTER = 3
DEFAULT_SLOW_HEADERS_DELAY = 2.0


@dataclass(frozen=True)
class FaultSpec:
    """The fault applied to one request (a snapshot taken when the request started)."""

    name: str
    after: int = DEFAULT_FAULT_AFTER
    delay: float | None = None

    @property
    def headers_delay(self) -> float:
        """Delay before headers for ``slow_headers``."""
        return DEFAULT_SLOW_HEADERS_DELAY if self.delay is None else self.delay
