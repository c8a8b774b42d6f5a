"""Reading the typed parts out of upstream chunks and answers, once, for every surface.

Upstream reasoning comes in several shapes: `delta.reasoning_content` (DeepSeek-style, LM
Studio's reasoning parser), `delta.reasoning` (gpt-oss), their non-streaming `message`
twins, and an inline `<think>` block at the start of `content` (split out only when the
provider's `split_think_tags` says so). Tool calls arrive as `delta.tool_calls[i]` fragments;
LM Studio's quirks are repaired here: an always-present empty `tool_calls: []` is dropped and
empty call ids are replaced with unique ones (the same id for every fragment of a call).
"""

from __future__ import annotations

import secrets
from typing import Any, Protocol

import orjson

from bigshot_llm.services.generation.events import (
    Part,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolCallDelta,
)
from bigshot_llm.services.generation.think import ThinkSplitter, split_think

__all__ = [
    "ChatExtractor",
    "CompletionExtractor",
    "Extractor",
    "MessageParts",
    "message_deltas",
    "message_parts",
    "new_call_id",
    "stop_string",
]


def new_call_id() -> str:
    """A tool-call id in OpenAI's style, for calls upstream left without one."""
    return f"call_{secrets.token_hex(12)}"


class Extractor(Protocol):
    def parts(self, chunk: dict[str, Any]) -> tuple[tuple[Part, ...], bool]:
        """The parts of one stream chunk, and whether they differ from what its bytes say."""
        ...

    def finish(self) -> tuple[Part, ...]:
        """What was held back until the stream ended."""
        ...


def _first_choice(chunk: dict[str, Any]) -> dict[str, Any] | None:
    choices = chunk.get("choices")
    if not choices or not isinstance(choices, list):
        return None
    first = choices[0]
    return first if isinstance(first, dict) else None


def _reasoning_of(container: dict[str, Any]) -> str:
    for key in ("reasoning_content", "reasoning"):
        value = container.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


class CompletionExtractor:
    """Legacy completions: `choices[0].text`, nothing else."""

    def parts(self, chunk: dict[str, Any]) -> tuple[tuple[Part, ...], bool]:
        choice = _first_choice(chunk)
        text = choice.get("text") if choice else None
        return ((TextDelta(text),) if isinstance(text, str) and text else ()), False

    def finish(self) -> tuple[Part, ...]:
        return ()


class ChatExtractor:
    """Chat completion chunks: reasoning, answer text and tool-call fragments."""

    def __init__(self, *, split_think_tags: bool = False) -> None:
        self._splitter = ThinkSplitter() if split_think_tags else None
        self._ids: dict[int, str] = {}

    def parts(self, chunk: dict[str, Any]) -> tuple[tuple[Part, ...], bool]:
        choice = _first_choice(chunk)
        if choice is None:
            return (), False
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            return (), False
        parts: list[Part] = []
        repaired = False
        reasoning = _reasoning_of(delta)
        if reasoning:
            parts.append(ReasoningDelta(reasoning))
        content = delta.get("content")
        if isinstance(content, str) and content:
            splitter = self._splitter
            if splitter is None or splitter.passthrough:
                parts.append(TextDelta(content))
            else:
                thought, answer = splitter.feed(content)
                repaired = (thought, answer) != ("", content)
                if thought:
                    parts.append(ReasoningDelta(thought))
                if answer:
                    parts.append(TextDelta(answer))
        calls = delta.get("tool_calls")
        if isinstance(calls, list):
            if not calls:
                repaired = True  # LM Studio's always-present `tool_calls: []`
            for position, call in enumerate(calls):
                if isinstance(call, dict):
                    fragment, fixed = self._tool_fragment(call, position)
                    parts.append(fragment)
                    repaired = repaired or fixed
        return tuple(parts), repaired

    def _tool_fragment(self, call: dict[str, Any], position: int) -> tuple[ToolCallDelta, bool]:
        index = call.get("index")
        if not isinstance(index, int) or isinstance(index, bool):
            index = position
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        name = function.get("name")
        arguments = function.get("arguments")
        if not isinstance(arguments, str):
            arguments = ""
        upstream_id = call.get("id")
        fixed = False
        call_id: str | None = None
        if index not in self._ids:
            if isinstance(upstream_id, str) and upstream_id:
                call_id = upstream_id
            else:
                call_id, fixed = new_call_id(), True
            self._ids[index] = call_id
        elif upstream_id not in (None, self._ids[index]):
            fixed = True  # an empty (or repeated) id on a later fragment: not relayed again
        named = name if isinstance(name, str) and name else None
        return ToolCallDelta(index, call_id, named, arguments), fixed

    def finish(self) -> tuple[Part, ...]:
        if self._splitter is None:
            return ()
        thought, answer = self._splitter.finish()
        parts: list[Part] = []
        if thought:
            parts.append(ReasoningDelta(thought))
        if answer:
            parts.append(TextDelta(answer))
        return tuple(parts)


class MessageParts:
    """A non-streaming chat answer's message, read the same way as a stream's parts."""

    __slots__ = ("content", "reasoning", "repaired", "tool_calls")

    def __init__(self, content: str, reasoning: str, tool_calls: list[ToolCall], repaired: bool):
        self.content = content
        self.reasoning = reasoning
        self.tool_calls = tool_calls
        self.repaired = repaired


def message_parts(message: dict[str, Any], *, split_think_tags: bool) -> MessageParts:
    """Answer text, reasoning and repaired tool calls of an OpenAI chat `message`."""
    content = message.get("content")
    content = content if isinstance(content, str) else ""
    reasoning = _reasoning_of(message)
    repaired = False
    if split_think_tags and content:
        thought, answer = split_think(content)
        if thought or answer != content:
            repaired = True
            reasoning = f"{reasoning}\n{thought}" if reasoning and thought else reasoning or thought
            content = answer
    calls: list[ToolCall] = []
    raw_calls = message.get("tool_calls")
    if isinstance(raw_calls, list):
        repaired = repaired or not raw_calls
        for position, call in enumerate(raw_calls):
            if not isinstance(call, dict):
                continue
            function = call.get("function")
            function = function if isinstance(function, dict) else {}
            call_id = call.get("id")
            if not isinstance(call_id, str) or not call_id:
                call_id, repaired = new_call_id(), True
            arguments = function.get("arguments")
            if isinstance(arguments, dict):  # some servers send an object, not a JSON string
                arguments, repaired = orjson.dumps(arguments).decode(), True
            calls.append(
                ToolCall(
                    position,
                    call_id,
                    str(function.get("name") or ""),
                    arguments if isinstance(arguments, str) else "",
                )
            )
    return MessageParts(content, reasoning, calls, repaired)


def message_deltas(message: Any) -> tuple[Part, ...]:
    """A non-streaming `message` as the parts a stream of it would carry, in a stream's
    order (reasoning, text, tool calls), so one builder serves both. Empty pieces give no
    part (no empty block or item is opened); a call without an id gets a fresh one."""
    if not isinstance(message, dict):
        return ()
    parts = message_parts(message, split_think_tags=False)
    out: list[Part] = []
    if parts.reasoning:
        out.append(ReasoningDelta(parts.reasoning))
    if parts.content:
        out.append(TextDelta(parts.content))
    out.extend(ToolCallDelta(c.index, c.id, c.name, c.arguments) for c in parts.tool_calls)
    return tuple(out)


def stop_string(choice: Any) -> str | None:
    """The stop string that ended a choice, when the upstream says (vLLM's `stop_reason`,
    llama.cpp's `stopping_word`); LM Studio does not, and it is never guessed."""
    if not isinstance(choice, dict):
        return None
    for key in ("stop_reason", "stopping_word"):
        value = choice.get(key)
        if isinstance(value, str) and value:
            return value
    return None
