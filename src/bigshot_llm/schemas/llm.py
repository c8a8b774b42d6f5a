"""Native LLM request and answer models; bounds per the API contract (422 with the field)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bigshot_llm.schemas.aliases import AliasEntry
from bigshot_llm.schemas.base import Strict
from bigshot_llm.schemas.chat import ChatMessage, ChatOptions

__all__ = [
    "ChatAnswer",
    "ChatMessage",
    "ChatRequest",
    "CompletionAnswer",
    "CompletionRequest",
    "EmbeddingAnswer",
    "EmbeddingRequest",
    "GenerationParams",
    "ModelListAnswer",
    "Usage",
]

MAX_STOP = 4
MAX_STOP_LENGTH = 256
MAX_EMBEDDING_INPUTS = 2048


def check_stop(cls: type, value: str | list[str] | None) -> str | list[str] | None:
    """At most four stop sequences of 1 to 256 characters (shared by both API surfaces)."""
    items = [value] if isinstance(value, str) else value or []
    if len(items) > MAX_STOP:
        raise ValueError(f"at most {MAX_STOP} stop sequences")
    for item in items:
        if not item or len(item) > MAX_STOP_LENGTH:
            raise ValueError(f"each stop sequence must have 1 to {MAX_STOP_LENGTH} characters")
    return value


class GenerationParams(Strict):
    model: str | None = Field(None, min_length=1, max_length=256)
    provider: str | None = Field(
        None, min_length=1, max_length=100, description="provider id or name; default: active"
    )
    max_tokens: int | None = Field(None, ge=1, le=32768)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, ge=0.0, le=1.0)
    stop: str | list[str] | None = Field(None, description="up to 4 strings of ≤ 256 characters")
    stream: bool = False
    seed: int | None = Field(None, ge=-(2**63), le=2**63 - 1)

    _check_stop = field_validator("stop")(check_stop)

    def upstream_params(self) -> dict[str, Any]:
        """The sampling fields to send upstream (unset ones are left to the provider)."""
        return self.model_dump(
            include={"max_tokens", "temperature", "top_p", "stop", "seed"}, exclude_none=True
        )


class CompletionRequest(GenerationParams):
    prompt: str | list[str] = Field(description="a prompt, or a list of prompts")

    @field_validator("prompt")
    @classmethod
    def _non_empty(cls, value: str | list[str]) -> str | list[str]:
        items = [value] if isinstance(value, str) else value
        if not items or any(not p for p in items):
            raise ValueError("prompt must not be empty")
        if len(items) > 64:
            raise ValueError("at most 64 prompts per request")
        return value

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"prompt": "The meaning of life is", "max_tokens": 100, "temperature": 0.7}
            ]
        },
    )


class ChatRequest(GenerationParams, ChatOptions):
    messages: list[ChatMessage] = Field(min_length=1, max_length=1000)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "messages": [
                        {"role": "system", "content": "You are concise."},
                        {"role": "user", "content": "Name three primes."},
                    ],
                    "temperature": 0.7,
                    "max_tokens": 200,
                    "stream": False,
                }
            ]
        },
    )


class EmbeddingRequest(Strict):
    input: str | list[str]
    model: str | None = Field(None, min_length=1, max_length=256)
    provider: str | None = Field(None, min_length=1, max_length=100)

    @field_validator("input")
    @classmethod
    def _non_empty(cls, value: str | list[str]) -> str | list[str]:
        items = [value] if isinstance(value, str) else value
        if not items:
            raise ValueError("input must not be empty")
        if len(items) > MAX_EMBEDDING_INPUTS:
            raise ValueError(f"at most {MAX_EMBEDDING_INPUTS} inputs per request")
        if any(not item for item in items):
            raise ValueError("inputs must not be empty strings")
        return value

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"input": ["first text", "second text"]}]},
    )


class Usage(BaseModel):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    completion_tokens_details: dict[str, Any] | None = Field(
        None, description="upstream's breakdown, e.g. reasoning_tokens"
    )


class ToolCallOut(BaseModel):
    id: str = Field(description="never empty: the gateway fills in ids upstream left empty")
    type: Literal["function"] = "function"
    function: dict[str, str] = Field(examples=[{"name": "get_weather", "arguments": "{}"}])


class AnswerMessage(BaseModel):
    role: str
    content: str = Field(description="the answer's text (reasoning is not part of it)")
    reasoning: str | None = Field(
        None, description="the model's reasoning (reasoning_content, reasoning or <think>)"
    )
    tool_calls: list[ToolCallOut] | None = None


class ChatAnswer(BaseModel):
    id: str | None
    model: str | None
    message: AnswerMessage = Field(examples=[{"role": "assistant", "content": "2, 3, 5."}])
    finish_reason: str | None = Field(description="stop, length, tool_calls …")
    usage: Usage | None
    created: int | None
    parsed: Any = Field(
        None, description="strict json_schema only: the answer as JSON, null when invalid"
    )
    parse_error: str | None = Field(
        None, description="strict json_schema only: why the answer is not what it asked for"
    )


class CompletionAnswer(BaseModel):
    id: str | None
    model: str | None
    text: str
    finish_reason: str | None
    usage: Usage | None
    created: int | None


class EmbeddingAnswer(BaseModel):
    model: str | None
    embeddings: list[list[float]]
    dimensions: int
    usage: Usage | None


class ModelListAnswer(BaseModel):
    models: list[dict[str, Any]] = Field(
        examples=[
            [
                {
                    "id": "qwen2.5-7b-instruct",
                    "type": "llm",
                    "arch": "qwen2",
                    "state": "loaded",
                    "max_context_length": 32768,
                    "quantization": "Q4_K_M",
                    "publisher": "lmstudio-community",
                    "vision": False,
                    "tool_use": True,
                    "reasoning": None,
                },
                {
                    "id": "qwen3-8b",
                    "type": "llm",
                    "state": "not-loaded",
                    "vision": False,
                    "tool_use": True,
                    "reasoning": {"allowed_options": ["off", "on"], "default": "on"},
                },
            ]
        ]
    )
    provider: dict[str, Any]
    cached: bool
    stale: bool
    fetched_at: str
    error: dict[str, Any] | None = None
    aliases: list[AliasEntry] = Field(
        default_factory=list,
        description="the model aliases you can use (on any provider): a name to send as `model`",
    )


class ProviderModels(BaseModel):
    """One provider's models in the list of every provider (a dead one reports itself)."""

    provider: dict[str, Any]
    status: Literal["ok", "stale", "unavailable"]
    models: list[dict[str, Any]]
    cached: bool | None = None
    stale: bool | None = None
    fetched_at: str | None = None
    error: dict[str, Any] | None = None
    message: str | None = None
    latency_ms: float


class AllModelsAnswer(BaseModel):
    providers: list[ProviderModels]
