"""Fitting a conversation into a model's context window by dropping its oldest turns.

The prompt gets the system prompt (always kept), then as many of the newest turns as fit in
the model's context length minus the tokens reserved for the answer (`max_tokens`). Turns go
whole: after a user message is dropped, the replies to it go too, so the kept history starts
with a user message. The new user message is never dropped; if even it does not fit, the
request is refused with `context_length_exceeded`.

A turn may carry more than text: content parts (images count a fixed estimate each), an
assistant's tool calls, a tool's answer. When the new turn answers tool calls, the whole tail
from the last user message on is kept (`keep_last`): a tool result without the call it
answers would be refused upstream.

Token counts are estimates (`generation.shapes.estimate_message_tokens`: text, images, tool
calls and a few tokens of chat template per message) except for assistant turns whose
completion tokens upstream reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bigshot_llm.errors import ContextLengthExceeded, GatewayError
from bigshot_llm.services.generation.routing import Router, Target
from bigshot_llm.services.generation.shapes import estimate_message_tokens, estimate_tokens

PER_MESSAGE_OVERHEAD = 4  # role markers of the chat template; as estimate_prompt_tokens counts
MAX_ANSWER_RESERVE = 1024  # reserved for the answer when the request sets no max_tokens


@dataclass(frozen=True, slots=True)
class Turn:
    role: str
    content: str
    tokens: int | None = None  # upstream's count, when it reported one
    parts: list[dict[str, Any]] | None = None  # text and image parts, when not only text
    tool_calls: list[dict[str, Any]] | None = None  # an assistant's, OpenAI-shaped
    tool_call_id: str | None = None  # a tool turn's: the call it answers

    def message(self) -> dict[str, Any]:
        """The OpenAI chat message of this turn."""
        message: dict[str, Any] = {"role": self.role, "content": self.parts or self.content}
        if self.tool_calls:
            message["tool_calls"] = self.tool_calls
        if self.tool_call_id is not None:
            message["tool_call_id"] = self.tool_call_id
        return message

    def cost(self) -> int:
        if self.tokens is not None:
            return self.tokens + PER_MESSAGE_OVERHEAD
        if self.parts is None and not self.tool_calls:
            return estimate_tokens(self.content) + PER_MESSAGE_OVERHEAD
        return estimate_message_tokens(self.message())


@dataclass(frozen=True, slots=True)
class ContextFit:
    messages: list[dict[str, Any]]  # what to send upstream, OpenAI-shaped
    dropped_messages: int
    prompt_tokens_estimate: int
    context_length: int

    def report(self) -> dict[str, int]:
        return {
            "dropped_messages": self.dropped_messages,
            "prompt_tokens_estimate": self.prompt_tokens_estimate,
        }


def answer_reserve(context_length: int, max_tokens: int | None) -> int:
    if max_tokens is not None:
        return max_tokens
    return min(MAX_ANSWER_RESERVE, context_length // 4)


def fit_history(
    system: str | None,
    history: Sequence[Turn],
    *,
    context_length: int,
    max_tokens: int | None,
    keep_last: int = 1,
) -> ContextFit:
    """The newest turns of `history` (oldest first, ending with the new turn: a user message,
    or the `keep_last` turns from one through the tool results) that fit beside `system` in
    `context_length - max_tokens`."""
    if not history or not 1 <= keep_last <= len(history):
        raise ValueError("history must end with the new turn")
    budget = context_length - answer_reserve(context_length, max_tokens)
    head = [Turn("system", system)] if system else []
    tail = list(history[-keep_last:])
    fixed = sum(t.cost() for t in head) + sum(t.cost() for t in tail)
    if fixed > budget:
        raise ContextLengthExceeded(
            f"the message does not fit the model's context: about {fixed} prompt tokens, but "
            f"only {max(budget, 0)} of {context_length} are left after {context_length - budget} "
            "reserved for the answer; shorten the message or the system prompt, or lower "
            "max_tokens",
            details={
                "context_length": context_length,
                "prompt_tokens_estimate": fixed,
                "max_tokens": context_length - budget,
            },
        )
    kept = list(history)
    droppable = len(kept) - keep_last
    used = fixed + sum(t.cost() for t in kept[:droppable])
    start = 0
    while used > budget and start < droppable:
        used -= kept[start].cost()
        start += 1
        # Drop the replies of a dropped user message too: history restarts at a user turn.
        while start < droppable and kept[start].role != "user":
            used -= kept[start].cost()
            start += 1
    chosen = head + kept[start:]
    return ContextFit(
        messages=[t.message() for t in chosen],
        dropped_messages=start,
        prompt_tokens_estimate=used,
        context_length=context_length,
    )


def context_length_of(models: Sequence[dict[str, Any]], model: str) -> int | None:
    """The context a model runs with (its loaded length, else its maximum), when listed."""
    for item in models:
        if item.get("id") == model:
            for key in ("loaded_context_length", "max_context_length"):
                value = item.get(key)
                if isinstance(value, int) and value > 0:
                    return value
    return None


async def context_length_for(router: Router, target: Target, model: str, default: int) -> int:
    """From the detailed (cached) model list; `default` when unknown or the list fails."""
    try:
        listing = await router.models(target, detailed=True)
    except GatewayError:
        return default
    return context_length_of(listing.models, model) or default
