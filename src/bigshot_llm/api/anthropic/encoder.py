"""A generation's typed parts → Anthropic's Messages stream, or one `message` object.

`MessageBuilder` is the one state machine for both: each part either continues the open
content block (thinking, text, or the tool call of the same index) or closes it and opens the
next, so a stream reads exactly as Anthropic's: `message_start`, `ping`, then per block
`content_block_start` / `content_block_delta` (`thinking_delta`, `text_delta`,
`input_json_delta`) / `content_block_stop`, then `message_delta` (stop reason, usage) and
`message_stop`. A failure after the 200 is Anthropic's in-band `error` event; a wait for a
GPU slot or a model load is a `ping`, and events it does not know are ignored (`blocks`).

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
from bigshot_llm.api.blocks import BlockBuilder, block_events
from bigshot_llm.errors import GatewayError
from bigshot_llm.services.generation.events import Done, Event, Part, ReasoningDelta, TextDelta
from bigshot_llm.services.generation.extract import stop_string

__all__ = ["ANTHROPIC_FAREWELL", "MessageBuilder", "anthropic_events", "error_frame", "frame"]


def frame(event: str, data: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


PING_EVENT = frame("ping", {"type": "ping"})
PING = ("ping", '{"type": "ping"}')  # the keep-alive `sse_response` sends while idle
# What a stream still open at the shutdown deadline ends with (see `shutdown`).
ANTHROPIC_FAREWELL = frame(
    "error",
    {
        "type": "error",
        "error": {
            "type": "overloaded_error",
            "message": "the gateway is restarting; send the request again",
        },
    },
)


def error_frame(error: GatewayError) -> bytes:
    """Anthropic's in-band `error` event: how a stream reports a failure after the 200."""
    return frame("error", error_body(error))


def usage_of(usage: dict[str, Any] | None, input_estimate: int) -> dict[str, int]:
    usage = usage or {}
    return {
        "input_tokens": int(usage.get("prompt_tokens") or input_estimate),
        "output_tokens": int(usage.get("completion_tokens") or 0),
    }


class MessageBuilder(BlockBuilder):
    """Parts in, Anthropic events out; `message()` is the whole answer so far."""

    def __init__(
        self, model: str, input_tokens: int, stop_sequences: list[str] | None = None
    ) -> None:
        super().__init__()
        self.id = message_id()
        self.stop_sequences = stop_sequences or []
        self.stop_sequence: str | None = None
        self.model = model
        self.input_tokens = input_tokens
        self.blocks: list[dict[str, Any]] = []
        self._arguments: dict[int, str] = {}  # block index → JSON arguments so far
        self.stop_reason: str | None = None
        self.usage: dict[str, int] = {"input_tokens": input_tokens, "output_tokens": 0}

    def start(self) -> bytes:
        head = {**self.message(), "content": [], "stop_reason": None}
        return frame("message_start", {"type": "message_start", "message": head}) + PING_EVENT

    def waiting(self, event: object) -> bytes:
        # Anthropic's own keep-alive: the client sees the stream is alive while it waits for
        # a GPU slot or a model load (position and progress have no place in its events).
        return PING_EVENT

    def _closed(self) -> bytes:
        index = len(self.blocks) - 1
        block = self.blocks[index]
        if block["type"] == "tool_use":
            block["input"] = parse_arguments(self._arguments.pop(index, ""))
        return frame("content_block_stop", {"type": "content_block_stop", "index": index})

    def _begin(self, part: Part) -> bytes:
        block: dict[str, Any]
        if isinstance(part, ReasoningDelta):
            block = {"type": "thinking", "thinking": "", "signature": ""}
        elif isinstance(part, TextDelta):
            block = {"type": "text", "text": ""}
        else:
            block = {
                "type": "tool_use",
                "id": part.id or tool_use_id(),
                "name": part.name or "",
                "input": {},
            }
        self.blocks.append(block)
        start = {"type": "content_block_start", "index": len(self.blocks) - 1}
        shown = {**block, "input": {}} if block["type"] == "tool_use" else dict(block)
        return frame("content_block_start", {**start, "content_block": shown})

    def _extend(self, part: Part) -> bytes:
        index = len(self.blocks) - 1
        delta: dict[str, Any]
        if isinstance(part, ReasoningDelta):
            self.blocks[index]["thinking"] += part.text
            delta = {"type": "thinking_delta", "thinking": part.text}
        elif isinstance(part, TextDelta):
            self.blocks[index]["text"] += part.text
            delta = {"type": "text_delta", "text": part.text}
        elif part.arguments:
            self._arguments[index] = self._arguments.get(index, "") + part.arguments
            delta = {"type": "input_json_delta", "partial_json": part.arguments}
        else:
            return b""
        return frame(
            "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        )

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
        return self._close() + error_frame(error)

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


def anthropic_events(events: AsyncIterator[Event], builder: MessageBuilder) -> AsyncIterator[bytes]:
    """The stream: `message_start`, the blocks, then `message_delta`/`message_stop` or `error`."""

    async def end(done: Done) -> bytes:
        usage = usage_of(done.usage, builder.input_tokens)
        return builder.finish(done.finish_reason, usage, done.stop_sequence)

    return block_events(events, builder, end)


def message_from_completion(
    result: dict[str, Any], model: str, input_estimate: int, stop_sequences: list[str] | None
) -> dict[str, Any]:
    """A (repaired) chat completion → the Messages answer."""
    builder = MessageBuilder(model, input_estimate, stop_sequences)
    choice = builder.feed_completion(result)
    usage = usage_of(result.get("usage"), input_estimate)
    builder.finish(choice.get("finish_reason"), usage, stop_string(choice))
    return builder.message()
