"""Request models of the Anthropic Messages surface (`POST /v1/messages`).

Unknown fields are accepted and ignored (Claude Code sends `context_management`,
`output_config`, `cache_control` markers and more on its first request); what the gateway
translates is bounded and typed here. Content blocks stay dicts, checked by type, so a block
of a type the gateway cannot translate is a 400 naming it, while the fields inside a known
block that it does not use (`cache_control`, `citations`) pass.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictBool, field_validator

from bigshot_llm.schemas.base import Open
from bigshot_llm.schemas.openai import MAX_MESSAGES, MAX_MODEL_ID

__all__ = [
    "ANTHROPIC_BLOCK_TYPES",
    "AnthropicCountTokensRequest",
    "AnthropicErrorEnvelope",
    "AnthropicMessage",
    "AnthropicMessagesRequest",
    "AnthropicThinking",
    "AnthropicTool",
]

# Blocks the gateway translates (thinking blocks sent back by a client are dropped: a local
# model's chat template has no place for them).
ANTHROPIC_BLOCK_TYPES = frozenset(
    {"text", "image", "tool_use", "tool_result", "thinking", "redacted_thinking"}
)
MAX_OUTPUT_TOKENS = 1_000_000
MAX_STOP_SEQUENCES = 16


def _check_blocks(value: str | list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    if isinstance(value, str):
        return value
    for i, block in enumerate(value):
        kind = block.get("type")
        if kind not in ANTHROPIC_BLOCK_TYPES:
            raise ValueError(
                f"content block {i} has type {kind!r}, which this gateway does not support "
                f"(supported: {', '.join(sorted(ANTHROPIC_BLOCK_TYPES))})"
            )
    return value


class AnthropicMessage(Open):
    # `system` mid-conversation: Claude Code's `mid-conversation-system` beta
    role: Literal["user", "assistant", "system"]
    content: str | list[dict[str, Any]] = Field(
        description="text, or content blocks (text, image, tool_use, tool_result, thinking)"
    )

    @field_validator("content")
    @classmethod
    def _known_blocks(cls, value: str | list[dict[str, Any]]) -> str | list[dict[str, Any]]:
        return _check_blocks(value)


class AnthropicTool(Open):
    """A client tool; server tools (`web_search_…`, `bash_…`) have a `type` and no schema."""

    name: str = Field(min_length=1, max_length=128)
    description: str | None = None
    input_schema: dict[str, Any] | None = None
    type: str | None = None


class AnthropicThinking(Open):
    type: Literal["enabled", "disabled", "adaptive"]
    budget_tokens: int | None = Field(None, ge=0)


class AnthropicMessagesRequest(Open):
    model: str = Field(min_length=1, max_length=MAX_MODEL_ID)
    messages: list[AnthropicMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    system: str | list[dict[str, Any]] | None = None
    max_tokens: int = Field(ge=1, le=MAX_OUTPUT_TOKENS)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, ge=0.0, le=1.0)
    top_k: int | None = Field(None, ge=0)
    stop_sequences: list[str] | None = Field(None, max_length=MAX_STOP_SEQUENCES)
    stream: StrictBool | None = False
    tools: list[AnthropicTool] | None = None
    tool_choice: dict[str, Any] | None = None
    thinking: AnthropicThinking | None = None
    metadata: dict[str, Any] | None = None


class AnthropicCountTokensRequest(Open):
    """`POST /v1/messages/count_tokens`: a message request without `max_tokens`."""

    model: str = Field(min_length=1, max_length=MAX_MODEL_ID)
    messages: list[AnthropicMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    system: str | list[dict[str, Any]] | None = None
    tools: list[AnthropicTool] | None = None
    tool_choice: dict[str, Any] | None = None
    thinking: AnthropicThinking | None = None


class AnthropicErrorBody(BaseModel):
    type: str
    message: str


class AnthropicErrorEnvelope(BaseModel):
    """Anthropic's error shape, used on `/v1/messages`."""

    type: Literal["error"] = "error"
    error: AnthropicErrorBody
