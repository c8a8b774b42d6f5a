"""What the Messages and Responses encoders share: one open block, and the stream loop.

A generation's typed parts arrive in order; an answer of blocks (Anthropic's content blocks,
the Responses API's output items) holds one block open at a time. `BlockBuilder.feed` gives
each part to the open block when it continues it (reasoning after reasoning, text after text,
the same tool call's arguments) or closes that block and opens the next; a subclass says what
opening (`_begin`), growing (`_extend`) and closing (`_closed`) a block write on its wire.

`block_events` is the stream both encoders send: the builder's `start`, its frames for every
chunk, then the end (`on_done`) or the in-band failure; a wait for a GPU slot or a model load
becomes the builder's keep-alive (`waiting`), and an event it does not know is ignored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

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

__all__ = ["BlockBuilder", "BlockKey", "block_events"]

BlockKey = tuple[str, int]  # ("reasoning" | "text" | "tool", tool call index)


def block_key(part: Part) -> BlockKey | None:
    """The block a part belongs to; None when it adds nothing (empty text, an unknown part)."""
    if isinstance(part, ReasoningDelta | TextDelta):
        if not part.text:
            return None
        return ("reasoning" if isinstance(part, ReasoningDelta) else "text", 0)
    if isinstance(part, ToolCallDelta):
        return ("tool", part.index)
    return None  # a part type the block surfaces do not know yet


class BlockBuilder:
    """Parts in, wire frames out, one block open at a time."""

    def __init__(self) -> None:
        self._open: BlockKey | None = None

    def feed(self, part: Part) -> bytes:
        key = block_key(part)
        if key is None:
            return b""
        out = b""
        if self._open != key:
            out = self._close() + self._begin(part)
            self._open = key
        return out + self._extend(part)

    def feed_completion(self, result: dict[str, Any]) -> dict[str, Any]:
        """A whole chat completion's message fed at once; its first choice is returned."""
        choices = result.get("choices") or [{}]
        choice = choices[0] if isinstance(choices[0], dict) else {}
        for part in message_deltas(choice.get("message")):
            self.feed(part)
        return choice

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        self._open = None
        return self._closed()

    # ---- what a surface writes -------------------------------------------------------------

    def start(self) -> bytes:
        raise NotImplementedError

    def _begin(self, part: Part) -> bytes:
        """Open the block `part` starts (the previous one is closed)."""
        raise NotImplementedError

    def _extend(self, part: Part) -> bytes:
        """Add `part` to the open block."""
        raise NotImplementedError

    def _closed(self) -> bytes:
        """The last block is done."""
        raise NotImplementedError

    def fail(self, error: GatewayError) -> bytes:
        raise NotImplementedError

    def waiting(self, event: Queued | Loading) -> bytes:
        raise NotImplementedError


async def block_events(
    events: AsyncIterator[Event],
    builder: BlockBuilder,
    on_done: Callable[[Done], Awaitable[bytes]],
) -> AsyncIterator[bytes]:
    """The stream: `start`, the blocks, then what `on_done` ends it with, or the failure."""
    yield builder.start()
    async for event in events:
        if isinstance(event, Chunk):
            out = b"".join(builder.feed(part) for part in event.parts)
            if out:
                yield out
        elif isinstance(event, Done):
            yield await on_done(event)
            return
        elif isinstance(event, Failed):
            yield builder.fail(event.error)
            return
        elif isinstance(event, Queued | Loading):
            yield builder.waiting(event)
        # anything else has no place in these streams
