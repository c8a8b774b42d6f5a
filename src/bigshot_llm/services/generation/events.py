"""The typed events of a generation: what every surface's encoder turns into its wire format.

A generation yields one `Chunk` per upstream chunk, then exactly one terminal event: `Done`
(with usage and timings) or `Failed` (with the gateway error). A chunk keeps the upstream's
exact bytes, so `/v1` relays them unchanged, and carries the typed parts it contained, read
once from the upstream JSON: answer text (`TextDelta`), reasoning (`ReasoningDelta`, from
`reasoning_content`, `reasoning` or an inline `<think>` block) and tool-call fragments
(`ToolCallDelta`). Before the first chunk a generation may report that it waits: `Queued`
(its place in the model's queue for a GPU slot) and `Loading` (the gateway loads the model).
The native API, chat streams, compare and later surfaces map parts to
their wire format and never parse upstream JSON themselves.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from bigshot_llm.errors import GatewayError

__all__ = [
    "Chunk",
    "Done",
    "Event",
    "Failed",
    "Loading",
    "Part",
    "Queued",
    "ReasoningDelta",
    "TextDelta",
    "ToolCall",
    "ToolCallAssembler",
    "ToolCallDelta",
]


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer's text."""

    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of the model's reasoning ("thinking"), which is not part of the answer."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A fragment of the tool call at `index`: the first fragment of a call carries its `id`
    (never empty: the gateway fills in LM Studio's empty ids) and `name`; every fragment may
    carry a piece of the JSON `arguments`."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


Part = TextDelta | ReasoningDelta | ToolCallDelta


@dataclass(slots=True)
class ToolCall:
    """A tool call with its arguments assembled from every fragment of its index."""

    index: int
    id: str
    name: str
    arguments: str = ""

    def payload(self) -> dict[str, Any]:
        """The native API's `tool_call` event (and a stored tool call)."""
        return {
            "index": self.index,
            "id": self.id,
            "type": "function",
            "name": self.name,
            "arguments": self.arguments,
        }

    def openai(self) -> dict[str, Any]:
        """OpenAI's shape, as a chat message's `tool_calls` item."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


class ToolCallAssembler:
    """Tool-call fragments → whole calls, by index; a call is complete when a fragment of
    another index arrives or the stream ends (OpenAI and LM Studio stream calls in order)."""

    def __init__(self) -> None:
        self._calls: dict[int, ToolCall] = {}
        self._open: int | None = None
        self._done: set[int] = set()

    def feed(self, delta: ToolCallDelta) -> list[ToolCall]:
        """Add a fragment; returns the calls it completed."""
        completed: list[ToolCall] = []
        if self._open is not None and self._open != delta.index:
            completed = self._close(self._open)
        call = self._calls.get(delta.index)
        if call is None:
            call = self._calls[delta.index] = ToolCall(
                delta.index, delta.id or "", delta.name or ""
            )
        else:
            if delta.id and not call.id:
                call.id = delta.id
            if delta.name and not call.name:
                call.name = delta.name
        call.arguments += delta.arguments
        self._open = delta.index
        return completed

    def _close(self, index: int) -> list[ToolCall]:
        if index in self._done:
            return []
        self._done.add(index)
        return [self._calls[index]]

    def finish(self) -> list[ToolCall]:
        """The calls not reported yet (the stream ended)."""
        self._open = None
        out: list[ToolCall] = []
        for index in sorted(self._calls):
            out.extend(self._close(index))
        return out

    @property
    def calls(self) -> list[ToolCall]:
        """Every call so far, complete or not, by index."""
        return [self._calls[i] for i in sorted(self._calls)]


@dataclass(slots=True)
class Chunk:
    """One upstream chunk: its bytes as sent, its parsed form, and the parts it carries.

    `raw` is None for a chunk the gateway made itself (the tail of a `<think>` split held
    back until the stream ended): there are no upstream bytes to relay for it.
    """

    raw: bytes | None
    data: dict[str, Any]
    parts: tuple[Part, ...] = ()
    usage: dict[str, Any] | None = None
    repaired: bool = False  # the parts differ from what the raw bytes say (see `/v1` repair)

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, TextDelta))

    @property
    def reasoning(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, ReasoningDelta))

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
    reasoning_tokens: int | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    stop_sequence: str | None = None  # the stop string that ended it (if upstream said)

    def payload(self) -> dict[str, Any]:
        """The native API's `done` event."""
        return {
            "finish_reason": self.finish_reason,
            "usage": self.usage,
            "usage_estimated": self.usage_estimated,
            "reasoning_tokens": self.reasoning_tokens,
            "stats": self.stats,
            "model": self.model,
            **self.extra,
        }


@dataclass(slots=True)
class Failed:
    """The generation ended with an error (before or after its first token)."""

    error: GatewayError


@dataclass(frozen=True, slots=True)
class Queued:
    """The generation waits for a free slot of its model: `position` 1 starts next."""

    position: int
    estimate_seconds: float

    def payload(self) -> dict[str, Any]:
        return {"position": self.position, "estimate_seconds": self.estimate_seconds}


@dataclass(frozen=True, slots=True)
class Loading:
    """The gateway is loading the model (after unloading others, under the exclusive policy).

    `progress` is 0–1 when known, None while a load runs without reporting it."""

    model: str
    progress: float | None
    unloaded: tuple[str, ...] = ()

    def payload(self) -> dict[str, Any]:
        return {"model": self.model, "progress": self.progress, "unloaded": list(self.unloaded)}


Event = Chunk | Done | Failed | Queued | Loading


NamedEvent = tuple[str, dict[str, Any], Event]


async def named_events(events: AsyncIterator[Event]) -> AsyncGenerator[NamedEvent, None]:
    """A generation's events as the native names and payloads every native-shaped surface
    sends (the native API, chat streams, compare): `queued`/`loading`, `reasoning`, `delta`,
    whole `tool_call`s (a call goes out once its arguments are complete), then `done` or
    `error`, after which it stops. Each item also carries the event it came from (the
    tool calls completed by the end carry the `Done`: tell the items apart by name)."""
    calls = ToolCallAssembler()
    async for event in events:
        if isinstance(event, Chunk):
            for part in event.parts:
                if isinstance(part, TextDelta):
                    yield "delta", {"text": part.text}, event
                elif isinstance(part, ReasoningDelta):
                    yield "reasoning", {"text": part.text}, event
                elif isinstance(part, ToolCallDelta):
                    for call in calls.feed(part):
                        yield "tool_call", call.payload(), event
        elif isinstance(event, Queued | Loading):
            yield ("queued" if isinstance(event, Queued) else "loading"), event.payload(), event
        elif isinstance(event, Done):
            for call in calls.finish():
                yield "tool_call", call.payload(), event
            yield "done", event.payload(), event
            return
        elif isinstance(event, Failed):
            yield "error", event.error.to_dict(), event
            return
