"""The native API's request/answer shapes, translated to and from OpenAI's.

Providers speak OpenAI; the native API answers with flatter shapes
(`{id, model, message, finish_reason, usage, created}` …). These pure functions do the
translation so `/api/v1` and `/v1` share everything below the HTTP layer.
"""

from __future__ import annotations

import math
from typing import Any

from bigshot_llm.errors import UpstreamError


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate (about four characters a token for English text)."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


def estimate_prompt_tokens(body: dict[str, Any]) -> int:
    if "messages" in body:
        return sum(estimate_tokens(str(m.get("content") or "")) + 4 for m in body["messages"])
    prompt = body.get("prompt", "")
    if isinstance(prompt, list):
        return sum(estimate_tokens(str(p)) for p in prompt)
    return estimate_tokens(str(prompt))


def _choice(response: dict[str, Any]) -> dict[str, Any]:
    choices = response.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise UpstreamError("the provider answered without any choices")
    return choices[0]


def chat_answer(response: dict[str, Any]) -> dict[str, Any]:
    choice = _choice(response)
    message = choice.get("message") or {}
    answer: dict[str, Any] = {
        "id": response.get("id"),
        "model": response.get("model"),
        "message": {
            "role": message.get("role", "assistant"),
            "content": message.get("content") or "",
        },
        "finish_reason": choice.get("finish_reason"),
        "usage": response.get("usage"),
        "created": response.get("created"),
    }
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if reasoning:
        answer["message"]["reasoning"] = reasoning
    return answer


def completion_answer(response: dict[str, Any]) -> dict[str, Any]:
    choice = _choice(response)
    answer: dict[str, Any] = {
        "id": response.get("id"),
        "model": response.get("model"),
        "text": choice.get("text") or "",
        "finish_reason": choice.get("finish_reason"),
        "usage": response.get("usage"),
        "created": response.get("created"),
    }
    choices = response.get("choices") or []
    if len(choices) > 1:
        answer["choices"] = [
            {
                "index": c.get("index", i),
                "text": c.get("text") or "",
                "finish_reason": c.get("finish_reason"),
            }
            for i, c in enumerate(choices)
        ]
    return answer


def embedding_answer(response: dict[str, Any]) -> dict[str, Any]:
    data = response.get("data")
    if not isinstance(data, list):
        raise UpstreamError("the provider's embeddings answer has no data list")
    ordered = sorted(data, key=lambda item: item.get("index", 0))
    vectors = [item.get("embedding") for item in ordered]
    return {
        "model": response.get("model"),
        "embeddings": vectors,
        "dimensions": len(vectors[0]) if vectors and isinstance(vectors[0], list) else 0,
        "usage": response.get("usage"),
    }


def chat_delta_text(chunk: dict[str, Any]) -> str:
    choices = chunk.get("choices")
    if not choices:
        return ""
    delta = choices[0].get("delta") or {}
    return delta.get("content") or ""


def completion_delta_text(chunk: dict[str, Any]) -> str:
    choices = chunk.get("choices")
    if not choices:
        return ""
    return choices[0].get("text") or ""
