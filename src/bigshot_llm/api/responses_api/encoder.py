"""A generation's typed parts → the Responses API's event stream, or one Response object.

`ResponseBuilder` is the one state machine for both. Each part continues the open output
item (reasoning, the assistant message, or the function call of the same tool index) or
closes it (`….done` events, `response.output_item.done`) and opens the next
(`response.output_item.added`, then `response.content_part.added` for text). The stream
starts with `response.created` and `response.in_progress` and ends with exactly one of
`response.completed`, `response.incomplete` (the token limit) or `response.failed` (an
upstream failure after the 200); every event carries its `sequence_number`. Events the
pipeline may add later (queueing, model loading) are ignored.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson

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
from bigshot_llm.services.generation.extract import message_deltas

__all__ = ["ResponseBuilder", "new_id", "response_events"]

Finished = Callable[["ResponseBuilder"], Awaitable[None]]


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(16)}"


def usage_of(usage: dict[str, Any] | None, reasoning_tokens: int | None) -> dict[str, Any]:
    usage = usage or {}
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": int(reasoning_tokens or 0)},
        "total_tokens": int(usage.get("total_tokens") or prompt + completion),
    }


class ResponseBuilder:
    """Parts in, Responses events (SSE frames) out; `response()` is the object so far."""

    def __init__(
        self, echo: dict[str, Any], *, response_id: str | None = None, sequence: int = 0
    ) -> None:
        self.id = response_id or new_id("resp")
        self.created_at = int(time.time())
        self.echo = echo  # the request's fields a Response repeats (model, tools, …)
        self.output: list[dict[str, Any]] = []
        self.status = "in_progress"
        self.error: dict[str, Any] | None = None
        self.incomplete: dict[str, Any] | None = None
        self.usage: dict[str, Any] | None = None
        self._seq = sequence  # a relayed stream's events come first (`passthrough`)
        self._open: tuple[str, int] | None = None

    # ---- the wire --------------------------------------------------------------------------

    def _event(self, kind: str, **fields: Any) -> bytes:
        data = {"type": kind, "sequence_number": self._seq, **fields}
        self._seq += 1
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"

    def response(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": self.status,
            "error": self.error,
            "incomplete_details": self.incomplete,
            "output": self.output,
            "usage": self.usage,
            **self.echo,
        }

    def start(self) -> bytes:
        snapshot = self.response()
        return self._event("response.created", response=snapshot) + self._event(
            "response.in_progress", response=snapshot
        )

    # ---- items -----------------------------------------------------------------------------

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        self._open = None
        index = len(self.output) - 1
        item = self.output[index]
        out = b""
        if item["type"] in ("message", "reasoning"):
            part = item["content"][0]
            where = {"item_id": item["id"], "output_index": index, "content_index": 0}
            if item["type"] == "message":
                done = self._event(
                    "response.output_text.done", **where, text=part["text"], logprobs=[]
                )
            else:
                done = self._event("response.reasoning_text.done", **where, text=part["text"])
            out += done + self._event("response.content_part.done", **where, part=part)
        else:
            out += self._event(
                "response.function_call_arguments.done",
                item_id=item["id"],
                output_index=index,
                name=item["name"],
                arguments=item["arguments"],
            )
        item["status"] = "completed"
        return out + self._event("response.output_item.done", output_index=index, item=item)

    def _begin(self, key: tuple[str, int], item: dict[str, Any]) -> bytes:
        out = self._close()
        self.output.append(item)
        self._open = key
        index = len(self.output) - 1
        out += self._event("response.output_item.added", output_index=index, item=_copy(item))
        if item["type"] in ("message", "reasoning"):
            out += self._event(
                "response.content_part.added",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                part=dict(item["content"][0]),
            )
        return out

    def feed(self, part: Part) -> bytes:
        index = len(self.output) - 1
        if isinstance(part, ReasoningDelta):
            if not part.text:
                return b""
            out = b""
            if self._open != ("reasoning", 0):
                out = self._begin(
                    ("reasoning", 0),
                    {
                        "id": new_id("rs"),
                        "type": "reasoning",
                        "summary": [],
                        "content": [{"type": "reasoning_text", "text": ""}],
                        "status": "in_progress",
                    },
                )
                index = len(self.output) - 1
            item = self.output[index]
            item["content"][0]["text"] += part.text
            return out + self._event(
                "response.reasoning_text.delta",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                delta=part.text,
            )
        if isinstance(part, TextDelta):
            if not part.text:
                return b""
            out = b""
            if self._open != ("message", 0):
                out = self._begin(
                    ("message", 0),
                    {
                        "id": new_id("msg"),
                        "type": "message",
                        "status": "in_progress",
                        "role": "assistant",
                        "content": [
                            {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
                        ],
                    },
                )
                index = len(self.output) - 1
            item = self.output[index]
            item["content"][0]["text"] += part.text
            return out + self._event(
                "response.output_text.delta",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                delta=part.text,
                logprobs=[],
            )
        if isinstance(part, ToolCallDelta):
            out = b""
            if self._open != ("function_call", part.index):
                out = self._begin(
                    ("function_call", part.index),
                    {
                        "id": new_id("fc"),
                        "type": "function_call",
                        "status": "in_progress",
                        "call_id": part.id or new_id("call"),
                        "name": part.name or "",
                        "arguments": "",
                    },
                )
                index = len(self.output) - 1
            if not part.arguments:
                return out
            item = self.output[index]
            item["arguments"] += part.arguments
            return out + self._event(
                "response.function_call_arguments.delta",
                item_id=item["id"],
                output_index=index,
                delta=part.arguments,
            )
        return b""  # a part type this surface does not know yet

    # ---- the end ---------------------------------------------------------------------------

    def finish(self, done: Done) -> bytes:
        out = self._close()
        self.usage = usage_of(done.usage, done.reasoning_tokens)
        if done.finish_reason == "length":
            self.status = "incomplete"
            self.incomplete = {"reason": "max_output_tokens"}
            return out + self._event("response.incomplete", response=self.response())
        self.status = "completed"
        return out

    def completed(self) -> bytes:
        return self._event(f"response.{self.status}", response=self.response())

    def fail(self, error: GatewayError) -> bytes:
        out = self._close()
        self.status = "failed"
        self.error = {"code": error.code, "message": error.message}
        return out + self._event("response.failed", response=self.response())

    @property
    def text(self) -> str:
        return "".join(
            c["text"] for item in self.output if item["type"] == "message" for c in item["content"]
        )


def _copy(item: dict[str, Any]) -> dict[str, Any]:
    copy = dict(item)
    if "content" in copy:
        copy["content"] = []
    return copy


async def response_events(
    events: AsyncIterator[Event], builder: ResponseBuilder, finished: Finished | None = None
) -> AsyncIterator[bytes]:
    """The stream; `finished` (storing the response) runs before the final event is sent,
    so a client that chains at once finds it."""
    yield builder.start()
    async for event in events:
        if isinstance(event, Chunk):
            out = b"".join(builder.feed(part) for part in event.parts)
            if out:
                yield out
        elif isinstance(event, Done):
            out = builder.finish(event)
            if builder.status == "incomplete":
                if finished is not None:
                    await finished(builder)
                yield out
                return
            if finished is not None:
                await finished(builder)
            yield out + builder.completed()
            return
        elif isinstance(event, Failed):
            yield builder.fail(event.error)
            return
        elif isinstance(event, Queued | Loading):
            # The Responses API has no waiting event: an SSE comment, which its clients skip,
            # keeps the connection visibly alive while the request waits for a GPU slot.
            yield b": queued\n\n" if isinstance(event, Queued) else b": loading\n\n"


def build_from_completion(
    builder: ResponseBuilder, result: dict[str, Any], done: Done
) -> dict[str, Any]:
    """A (repaired) chat completion → the Response object."""
    choices = result.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    for part in message_deltas(choice.get("message")):
        builder.feed(part)
    builder.finish(done)
    return builder.response()
