"""The typed events of a generation: what every surface's encoder turns into its wire format.

A generation yields one `Chunk` per upstream chunk, then exactly one terminal event: `Done`
(with usage and timings) or `Failed` (with the gateway error). A chunk keeps the upstream's
exact bytes, so `/v1` relays them unchanged, and carries the typed parts it contained (answer
text today), so the native API, chat streams, compare and later surfaces never parse
upstream JSON themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bigshot_llm.errors import GatewayError

__all__ = ["Chunk", "Done", "Event", "Failed", "TextDelta"]


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer's text."""

    text: str


Part = TextDelta


@dataclass(slots=True)
class Chunk:
    """One upstream chunk: its bytes as sent, its parsed form, and the parts it carries."""

    raw: bytes
    data: dict[str, Any]
    parts: tuple[Part, ...] = ()
    usage: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, TextDelta))

    @property
    def usage_only(self) -> bool:
        """OpenAI's final usage chunk: usage and no choices."""
        return self.usage is not None and not self.data.get("choices")


@dataclass(slots=True)
class Done:
    """The generation finished: why, what it cost, how fast, and which model answered."""

    finish_reason: str | None
    usage: dict[str, Any]
    usage_estimated: bool
    stats: dict[str, Any]
    model: str | None
    extra: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """The native API's `done` event."""
        return {
            "finish_reason": self.finish_reason,
            "usage": self.usage,
            "usage_estimated": self.usage_estimated,
            "stats": self.stats,
            "model": self.model,
            **self.extra,
        }


@dataclass(slots=True)
class Failed:
    """The generation ended with an error (before or after its first token)."""

    error: GatewayError


Event = Chunk | Done | Failed
