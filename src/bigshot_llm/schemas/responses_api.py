"""Request models of the OpenAI Responses surface (`POST /v1/responses`).

Unknown fields are accepted and ignored (Codex sends `include`, `prompt_cache_key`,
`client_metadata`, …). Input items stay dicts checked by type: an item or content part of a
type the gateway cannot translate is a 400 naming it and its place.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, StrictBool, field_validator

from bigshot_llm.schemas.base import Open
from bigshot_llm.schemas.openai import MAX_CONTENT, MAX_MESSAGES, MAX_MODEL_ID

__all__ = [
    "CONTENT_TYPES",
    "ITEM_TYPES",
    "ResponsesReasoning",
    "ResponsesRequest",
]

# `reasoning` items sent back are dropped (a local model's template has no place for them).
ITEM_TYPES = frozenset({"message", "function_call", "function_call_output", "reasoning"})
CONTENT_TYPES = frozenset({"input_text", "output_text", "input_image", "refusal", "text"})
MAX_OUTPUT_TOKENS = 1_000_000


def _check_content(content: Any, where: str) -> None:
    if isinstance(content, str):
        if len(content) > MAX_CONTENT:
            raise ValueError(f"{where}: at most {MAX_CONTENT} characters")
        return
    if not isinstance(content, list):
        raise ValueError(f"{where}: content must be a string or a list of content parts")
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in CONTENT_TYPES:
            raise ValueError(
                f"{where}.{j} has type {kind!r}, which this gateway does not support "
                f"(supported: {', '.join(sorted(CONTENT_TYPES))})"
            )


def check_items(items: list[dict[str, Any]]) -> None:
    for i, item in enumerate(items):
        kind = item.get("type", "message" if "role" in item else None)
        if kind not in ITEM_TYPES:
            raise ValueError(
                f"input item {i} has type {kind!r}, which this gateway does not support "
                f"(supported: {', '.join(sorted(ITEM_TYPES))})"
            )
        if kind == "message":
            if item.get("role") not in ("user", "assistant", "system", "developer"):
                raise ValueError(
                    f"input item {i}: role must be user, assistant, system or developer"
                )
            _check_content(item.get("content"), f"input item {i} content")
        elif kind == "function_call":
            for name in ("call_id", "name"):
                if not isinstance(item.get(name), str) or not item[name]:
                    raise ValueError(f"input item {i} (function_call) needs '{name}'")
        elif kind == "function_call_output" and not isinstance(item.get("call_id"), str):
            raise ValueError(f"input item {i} (function_call_output) needs 'call_id'")


class ResponsesReasoning(Open):
    effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None
    summary: str | None = None


class ResponsesRequest(Open):
    model: str = Field(min_length=1, max_length=MAX_MODEL_ID)
    input: str | list[dict[str, Any]] = Field(
        description="a prompt, or input items: messages, function_call, function_call_output"
    )
    instructions: str | None = Field(None, max_length=MAX_CONTENT)
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: StrictBool | None = None
    reasoning: ResponsesReasoning | None = None
    max_output_tokens: int | None = Field(None, ge=1, le=MAX_OUTPUT_TOKENS)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, ge=0.0, le=1.0)
    stream: StrictBool | None = False
    store: StrictBool | None = True
    previous_response_id: str | None = Field(None, min_length=1, max_length=64)
    text: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None

    @field_validator("input")
    @classmethod
    def _known_items(cls, value: str | list[dict[str, Any]]) -> str | list[dict[str, Any]]:
        if isinstance(value, str):
            if len(value) > MAX_CONTENT:
                raise ValueError(f"at most {MAX_CONTENT} characters")
            return value
        if len(value) > MAX_MESSAGES:
            raise ValueError(f"at most {MAX_MESSAGES} input items")
        check_items(value)
        return value
