"""A generation's typed parts → Anthropic's Messages stream, or one `message` object.

`MessageBuilder` is the one state machine for both: each part either continues the open
content block (thinking, text, or the tool call of the same index) or closes it and opens the
next, so a stream reads exactly as Anthropic's: `message_start`, `ping`, then per block
`content_block_start` / `content_block_delta` (`thinking_delta`, `text_delta`,
`input_json_delta`) / `content_block_stop`, then `message_delta` (stop reason, usage) and
`message_stop`. A failure after the 200 is Anthropic's in-band `error` event. Events the
pipeline may add later (queueing, model loading) are ignored.

`stop_sequence` is filled (and `stop_reason` is `stop_sequence`) when the generation ended
with "stop" and the upstream said which of the request's `stop_sequences` matched (vLLM's
`stop_reason`, the simulator's too); LM Studio's chat completions do not say, and the text
cannot tell (the stop string is not in it, and a natural end looks the same), so it stays
null there rather than be guessed. A native upstream's answer carries its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from bigshot_llm.api.anthropic.errors import error_body
from bigshot_llm.api.anthropic.translate import (
    message_id,
    parse_arguments,
    stop_reason,
    tool_use_id,
)
from bigshot_llm.errors import GatewayError
from bigshot_llm.services.generation.events import (
    Chunk,
    Done,
    Event,
    Failed,
    Loading,
    Part,
    Queued,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
)
from bigshot_llm.services.generation.extract import message_deltas, stop_string

__all__ = ["MessageBuilder", "anthropic_events", "frame"]


def frame(event: str, data: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


PING_EVENT = frame("ping", {"type": "ping"})


def usage_of(usage: dict[str, Any] | None, input_estimate: int) -> dict[str, int]:
    usage = usage or {}
    return {
        "input_tokens": int(usage.get("prompt_tokens") or input_estimate),
        "output_tokens": int(usage.get("completion_tokens") or 0),
    }


class MessageBuilder:
    """Parts in, Anthropic events out; `message()` is the whole answer so far."""

    def __init__(
        self, model: str, input_tokens: int, stop_sequences: list[str] | None = None
    ) -> None:
        self.id = message_id()
        self.stop_sequences = stop_sequences or []
        self.stop_sequence: str | None = None
        self.model = model
        self.input_tokens = input_tokens
        self.blocks: list[dict[str, Any]] = []
        self._open: tuple[str, int] | None = None  # ("thinking"|"text"|"tool", tool index)
        self._arguments: dict[int, str] = {}  # block index → JSON arguments so far
        self.stop_reason: str | None = None
        self.usage: dict[str, int] = {"input_tokens": input_tokens, "output_tokens": 0}

    def start(self) -> bytes:
        head = {**self.message(), "content": [], "stop_reason": None}
        return frame("message_start", {"type": "message_start", "message": head}) + PING_EVENT

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        index = len(self.blocks) - 1
        self._open = None
        block = self.blocks[index]
        if block["type"] == "tool_use":
            block["input"] = parse_arguments(self._arguments.pop(index, ""))
        return frame("content_block_stop", {"type": "content_block_stop", "index": index})

    def _begin(self, key: tuple[str, int], block: dict[str, Any]) -> bytes:
        out = self._close()
        self.blocks.append(block)
        self._open = key
        start = {"type": "content_block_start", "index": len(self.blocks) - 1}
        shown = {**block, "input": {}} if block["type"] == "tool_use" else dict(block)
        return out + frame("content_block_start", {**start, "content_block": shown})

    def _delta(self, delta: dict[str, Any]) -> bytes:
        index = len(self.blocks) - 1
        return frame(
            "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        )

    def feed(self, part: Part) -> bytes:
        if isinstance(part, ReasoningDelta):
            if not part.text:
                return b""
            out = b""
            if self._open != ("thinking", 0):
                out = self._begin(
                    ("thinking", 0), {"type": "thinking", "thinking": "", "signature": ""}
                )
            self.blocks[-1]["thinking"] += part.text
            return out + self._delta({"type": "thinking_delta", "thinking": part.text})
        if isinstance(part, TextDelta):
            if not part.text:
                return b""
            out = b""
            if self._open != ("text", 0):
                out = self._begin(("text", 0), {"type": "text", "text": ""})
            self.blocks[-1]["text"] += part.text
            return out + self._delta({"type": "text_delta", "text": part.text})
        if isinstance(part, ToolCallDelta):
            out = b""
            if self._open != ("tool", part.index):
                block = {
                    "type": "tool_use",
                    "id": part.id or tool_use_id(),
                    "name": part.name or "",
                    "input": {},
                }
                out = self._begin(("tool", part.index), block)
            index = len(self.blocks) - 1
            if not part.arguments:
                return out
            self._arguments[index] = self._arguments.get(index, "") + part.arguments
            return out + self._delta({"type": "input_json_delta", "partial_json": part.arguments})
        return b""  # a part type this surface does not know yet

    def finish(
        self, finish_reason: str | None, usage: dict[str, int], matched: str | None = None
    ) -> bytes:
        """End the message; `matched` is the stop string upstream says ended it."""
        out = self._close()
        self.stop_reason = stop_reason(finish_reason)
        if finish_reason in (None, "stop") and matched and matched in self.stop_sequences:
            self.stop_reason, self.stop_sequence = "stop_sequence", matched
        self.usage = usage
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": self.stop_reason, "stop_sequence": self.stop_sequence},
            "usage": usage,
        }
        return out + frame("message_delta", delta) + frame("message_stop", {"type": "message_stop"})

    def fail(self, error: GatewayError) -> bytes:
        """Close the open block and end with Anthropic's in-band `error` event."""
        return self._close() + frame("error", error_body(error))

    def message(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": self.blocks,
            "stop_reason": self.stop_reason,
            "stop_sequence": self.stop_sequence,
            "usage": self.usage,
        }


async def anthropic_events(
    events: AsyncIterator[Event], builder: MessageBuilder
) -> AsyncIterator[bytes]:
    """The stream: `message_start`, the blocks, then `message_delta`/`message_stop` or `error`."""
    yield builder.start()
    async for event in events:
        if isinstance(event, Chunk):
            out = b"".join(builder.feed(part) for part in event.parts)
            if out:
                yield out
        elif isinstance(event, Done):
            usage = usage_of(event.usage, builder.input_tokens)
            yield builder.finish(event.finish_reason, usage, event.stop_sequence)
            return
        elif isinstance(event, Failed):
            yield builder.fail(event.error)
            return
        elif isinstance(event, Queued | Loading):
            # Anthropic's own keep-alive: the client sees the stream is alive while it waits for
            # a GPU slot or a model load (position and progress have no place in its events).
            yield PING_EVENT
        # anything else has no place in Anthropic's stream


def message_from_completion(
    result: dict[str, Any], model: str, input_estimate: int, stop_sequences: list[str] | None
) -> dict[str, Any]:
    """A (repaired) chat completion → the Messages answer."""
    choices = result.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    builder = MessageBuilder(model, input_estimate, stop_sequences)
    for part in message_deltas(choice.get("message")):
        builder.feed(part)
    usage = usage_of(result.get("usage"), input_estimate)
    builder.finish(choice.get("finish_reason"), usage, stop_string(choice))
    return builder.message()
