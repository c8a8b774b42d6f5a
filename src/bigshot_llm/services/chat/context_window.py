"""Fitting a conversation into a model's context window by dropping its oldest turns.

The prompt gets the system prompt (always kept), then as many of the newest turns as fit in
the model's context length minus the tokens reserved for the answer (`max_tokens`). Turns go
whole: after a user message is dropped, the replies to it go too, so the kept history starts
with a user message. The new user message is never dropped; if even it does not fit, the
request is refused with `context_length_exceeded`.

Token counts are estimates (`generation.shapes.estimate_tokens`, plus a few tokens of chat
template per message) except for assistant turns whose completion tokens upstream reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bigshot_llm.errors import ContextLengthExceeded, GatewayError
from bigshot_llm.services.generation.routing import Router, Target
from bigshot_llm.services.generation.shapes import estimate_tokens

PER_MESSAGE_OVERHEAD = 4  # role markers of the chat template; as estimate_prompt_tokens counts
MAX_ANSWER_RESERVE = 1024  # reserved for the answer when the request sets no max_tokens


@dataclass(frozen=True, slots=True)
class Turn:
    role: str
    content: str
    tokens: int | None = None  # upstream's count, when it reported one

    def cost(self) -> int:
        known = self.tokens if self.tokens is not None else estimate_tokens(self.content)
        return known + PER_MESSAGE_OVERHEAD


@dataclass(frozen=True, slots=True)
class ContextFit:
    messages: list[dict[str, str]]  # what to send upstream, OpenAI-shaped
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
    system: str | None, history: Sequence[Turn], *, context_length: int, max_tokens: int | None
) -> ContextFit:
    """The newest turns of `history` (oldest first, ending with the new user message) that
    fit beside `system` in `context_length - max_tokens`."""
    if not history:
        raise ValueError("history must end with the new user message")
    budget = context_length - answer_reserve(context_length, max_tokens)
    head = [Turn("system", system)] if system else []
    fixed = sum(t.cost() for t in head) + history[-1].cost()
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
    used = fixed + sum(t.cost() for t in kept[:-1])
    start = 0
    while used > budget:
        used -= kept[start].cost()
        start += 1
        # Drop the replies of a dropped user message too: history restarts at a user turn.
        while start < len(kept) - 1 and kept[start].role != "user":
            used -= kept[start].cost()
            start += 1
    chosen = head + kept[start:]
    return ContextFit(
        messages=[{"role": t.role, "content": t.content} for t in chosen],
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
