"""A generation's typed parts → the Responses API's event stream, or one Response object.

`ResponseBuilder` is the one state machine for both. Each part continues the open output
item (reasoning, the assistant message, or the function call of the same tool index) or
closes it (`….done` events, `response.output_item.done`) and opens the next
(`response.output_item.added`, then `response.content_part.added` for text). The stream
starts with `response.created` and `response.in_progress` and ends with exactly one of
`response.completed`, `response.incomplete` (the token limit) or `response.failed` (an
upstream failure after the 200); every event carries its `sequence_number`. A wait for a GPU
slot or a model load is an SSE comment, and events it does not know are ignored (`blocks`).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson

from bigshot_llm.api.blocks import BlockBuilder, block_events
from bigshot_llm.errors import GatewayError
from bigshot_llm.services.generation.events import (
    Done,
    Event,
    Loading,
    Part,
    Queued,
    ReasoningDelta,
    TextDelta,
)

__all__ = [
    "RESPONSES_FAREWELL",
    "ResponseBuilder",
    "new_id",
    "response_events",
    "waiting",
]

Finished = Callable[["ResponseBuilder"], Awaitable[None]]

# What a stream still open at the shutdown deadline ends with (see `shutdown`).
RESPONSES_FAREWELL = (
    b'event: error\ndata: {"type":"error","code":"gateway_shutdown",'
    b'"message":"the gateway is restarting; send the request again","param":null,'
    b'"sequence_number":0}\n\n'
)


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


def waiting(event: Queued | Loading) -> bytes:
    # The Responses API has no waiting event: an SSE comment, which its clients skip, keeps
    # the connection visibly alive while the request waits for a GPU slot or a model load.
    return b": queued\n\n" if isinstance(event, Queued) else b": loading\n\n"


class ResponseBuilder(BlockBuilder):
    """Parts in, Responses events (SSE frames) out; `response()` is the object so far."""

    waiting = staticmethod(waiting)

    def __init__(
        self, echo: dict[str, Any], *, response_id: str | None = None, sequence: int = 0
    ) -> None:
        super().__init__()
        self.id = response_id or new_id("resp")
        self.created_at = int(time.time())
        self.echo = echo  # the request's fields a Response repeats (model, tools, …)
        self.output: list[dict[str, Any]] = []
        self.status = "in_progress"
        self.error: dict[str, Any] | None = None
        self.incomplete: dict[str, Any] | None = None
        self.usage: dict[str, Any] | None = None
        self._seq = sequence  # a relayed stream's events come first (`passthrough`)

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

    def _closed(self) -> bytes:
        index = len(self.output) - 1
        item = self.output[index]
        if item["type"] in ("message", "reasoning"):
            part = item["content"][0]
            where = {"item_id": item["id"], "output_index": index, "content_index": 0}
            if item["type"] == "message":
                done = self._event(
                    "response.output_text.done", **where, text=part["text"], logprobs=[]
                )
            else:
                done = self._event("response.reasoning_text.done", **where, text=part["text"])
            out = done + self._event("response.content_part.done", **where, part=part)
        else:
            out = self._event(
                "response.function_call_arguments.done",
                item_id=item["id"],
                output_index=index,
                name=item["name"],
                arguments=item["arguments"],
            )
        item["status"] = "completed"
        return out + self._event("response.output_item.done", output_index=index, item=item)

    def _begin(self, part: Part) -> bytes:
        item: dict[str, Any]
        if isinstance(part, ReasoningDelta):
            item = {
                "id": new_id("rs"),
                "type": "reasoning",
                "summary": [],
                "content": [{"type": "reasoning_text", "text": ""}],
                "status": "in_progress",
            }
        elif isinstance(part, TextDelta):
            item = {
                "id": new_id("msg"),
                "type": "message",
                "status": "in_progress",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "", "annotations": [], "logprobs": []}],
            }
        else:
            item = {
                "id": new_id("fc"),
                "type": "function_call",
                "status": "in_progress",
                "call_id": part.id or new_id("call"),
                "name": part.name or "",
                "arguments": "",
            }
        self.output.append(item)
        index = len(self.output) - 1
        out = self._event("response.output_item.added", output_index=index, item=_copy(item))
        if item["type"] in ("message", "reasoning"):
            out += self._event(
                "response.content_part.added",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                part=dict(item["content"][0]),
            )
        return out

    def _extend(self, part: Part) -> bytes:
        index = len(self.output) - 1
        item = self.output[index]
        where = {"item_id": item["id"], "output_index": index}
        if isinstance(part, ReasoningDelta | TextDelta):
            item["content"][0]["text"] += part.text
            if isinstance(part, ReasoningDelta):
                return self._event(
                    "response.reasoning_text.delta", **where, content_index=0, delta=part.text
                )
            return self._event(
                "response.output_text.delta", **where, content_index=0, delta=part.text, logprobs=[]
            )
        if not part.arguments:
            return b""
        item["arguments"] += part.arguments
        return self._event("response.function_call_arguments.delta", **where, delta=part.arguments)

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


def response_events(
    events: AsyncIterator[Event], builder: ResponseBuilder, finished: Finished | None = None
) -> AsyncIterator[bytes]:
    """The stream; `finished` (storing the response) runs before the final event is sent,
    so a client that chains at once finds it."""

    async def end(done: Done) -> bytes:
        out = builder.finish(done)  # `response.incomplete` already ends it
        if finished is not None:
            await finished(builder)
        return out if builder.status == "incomplete" else out + builder.completed()

    return block_events(events, builder, end)


def build_from_completion(
    builder: ResponseBuilder, result: dict[str, Any], done: Done
) -> dict[str, Any]:
    """A (repaired) chat completion → the Response object."""
    builder.feed_completion(result)
    builder.finish(done)
    return builder.response()
