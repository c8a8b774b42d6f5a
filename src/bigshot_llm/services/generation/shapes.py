"""The native API's request/answer shapes, translated to and from OpenAI's.

Providers speak OpenAI; the native API answers with flatter shapes
(`{id, model, message, finish_reason, usage, created}` …). These pure functions do the
translation so `/api/v1` and `/v1` share everything below the HTTP layer.
"""

from __future__ import annotations

import math
from typing import Any

from bigshot_llm.errors import UpstreamError
from bigshot_llm.services.generation.extract import message_parts
from bigshot_llm.services.generation.structured import check_answer


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate (about four characters a token for English text)."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


IMAGE_TOKENS_ESTIMATE = 256  # what one image costs a typical VLM (Gemma 3: 256 tokens)


def content_text(content: Any) -> str:
    """The text of a message's content: a string, or the text of its parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""


def image_count(content: Any) -> int:
    if not isinstance(content, list):
        return 0
    return sum(1 for p in content if isinstance(p, dict) and p.get("type") == "image_url")


def estimate_message_tokens(message: dict[str, Any]) -> int:
    """Text, images and tool calls of one chat message, plus its template markers."""
    content = message.get("content")
    tokens = estimate_tokens(content_text(content)) + 4
    tokens += IMAGE_TOKENS_ESTIMATE * image_count(content)
    for call in message.get("tool_calls") or ():
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            called = f"{function.get('name') or ''}{function.get('arguments') or ''}"
            tokens += estimate_tokens(called)
    return tokens


def estimate_prompt_tokens(body: dict[str, Any]) -> int:
    if "messages" in body:
        return sum(estimate_message_tokens(m) for m in body["messages"] if isinstance(m, dict))
    prompt = body.get("prompt", "")
    if isinstance(prompt, list):
        return sum(estimate_tokens(str(p)) for p in prompt)
    return estimate_tokens(str(prompt))


def _choice(response: dict[str, Any]) -> dict[str, Any]:
    choices = response.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise UpstreamError("the provider answered without any choices")
    return choices[0]


def chat_answer(
    response: dict[str, Any],
    *,
    split_think_tags: bool = False,
    response_format: Any = None,
) -> dict[str, Any]:
    """The native chat answer: the message's text, reasoning and (repaired) tool calls, and
    for a strict `json_schema` request whether the text is what the schema asked for."""
    choice = _choice(response)
    message = choice.get("message") or {}
    parts = message_parts(message, split_think_tags=split_think_tags)
    answer_message: dict[str, Any] = {
        "role": message.get("role", "assistant"),
        "content": parts.content,
    }
    if parts.reasoning:
        answer_message["reasoning"] = parts.reasoning
    if parts.tool_calls:
        answer_message["tool_calls"] = [c.openai() for c in parts.tool_calls]
    answer: dict[str, Any] = {
        "id": response.get("id"),
        "model": response.get("model"),
        "message": answer_message,
        "finish_reason": choice.get("finish_reason"),
        "usage": response.get("usage"),
        "created": response.get("created"),
    }
    checked = check_answer(parts.content, response_format)
    if checked is not None:
        answer.update(checked)
    return answer


def repair_chat_response(response: dict[str, Any], *, split_think_tags: bool) -> None:
    """A `/v1` chat answer with LM Studio's quirks repaired, in place (see `extract`)."""
    for choice in response.get("choices") or ():
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            continue
        parts = message_parts(message, split_think_tags=split_think_tags)
        if not parts.repaired:
            continue
        message["content"] = parts.content
        if parts.reasoning:
            message.pop("reasoning", None)
            message["reasoning_content"] = parts.reasoning
        if parts.tool_calls:
            message["tool_calls"] = [c.openai() for c in parts.tool_calls]
        else:
            message.pop("tool_calls", None)


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
