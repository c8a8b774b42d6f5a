"""What of a caller's request body reaches the upstream, for keys that are not an admin's.

The `/v1` surface accepts OpenAI's fields it does not model and used to pass every one
through, so a user could send an upstream's own controls: `n: 1000000` or `best_of` (a
thousand generations for one request), LM Studio's `ttl` (how long a model stays in memory)
or `draft_model` (a second model loaded for speculative decoding). For non-admin keys only
the fields a chat, completion or embeddings call needs are forwarded (the lists below, also
in the README), `n` is clamped to `max_choices` (`BIGSHOT_MAX_CHOICES_USER`, default 1) and
everything else is dropped. Admin keys are forwarded as sent.
"""

from __future__ import annotations

from typing import Any, Literal

Operation = Literal["chat", "completion", "embeddings"]

_SAMPLING = frozenset(
    {
        "model",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "stop",
        "seed",
        "stream",
        "stream_options",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "n",
        "user",
        # LM Studio's and llama.cpp's extra sampling knobs: per request, nothing persists
        "top_k",
        "min_p",
        "repeat_penalty",
    }
)
CHAT_FIELDS = _SAMPLING | {
    "messages",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "functions",
    "function_call",
    "response_format",
    "reasoning_effort",
    "modalities",
    "metadata",
}
COMPLETION_FIELDS = _SAMPLING | {"prompt", "suffix", "echo"}
EMBEDDING_FIELDS = frozenset({"model", "input", "encoding_format", "dimensions", "user"})
FIELDS: dict[str, frozenset[str]] = {
    "chat": CHAT_FIELDS,
    "completion": COMPLETION_FIELDS,
    "embeddings": EMBEDDING_FIELDS,
}


def restrict(body: dict[str, Any], operation: Operation, *, max_choices: int = 1) -> dict[str, Any]:
    """The body with only the allowed fields, `n` at most `max_choices` (in place)."""
    allowed = FIELDS[operation]
    for name in [name for name in body if name not in allowed]:
        del body[name]
    n = body.get("n")
    if isinstance(n, int) and not isinstance(n, bool) and n > max(1, max_choices):
        body["n"] = max(1, max_choices)
    elif "n" in body and not (isinstance(n, int) and not isinstance(n, bool) and n >= 1):
        del body["n"]  # null or nonsense: the upstream's default (1)
    return body
