"""Request models of the OpenAI-compatible surface: bounds checked, unknown fields allowed.

These models only validate. The handlers forward the client's own JSON object (FastAPI's
parsed body), so fields OpenAI accepts and we do not model (`tools`, `response_format`,
`logprobs`, `n`, `user`, …) reach the provider untouched, and nothing is re-serialised.
The bounds are the native API's (`bigshot_llm.schemas.llm`), so both surfaces refuse the
same requests with the same status.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, StrictBool, field_validator

from bigshot_llm.schemas.base import Open
from bigshot_llm.schemas.llm import MAX_EMBEDDING_INPUTS, check_stop

MAX_TOKENS = 32768
MAX_PROMPTS = 64
MAX_MESSAGES = 1000
MAX_CONTENT = 1_000_000
MAX_MODEL_ID = 400  # provider name (≤ 100) + "/" + a model id

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]
TokenInput = str | list[str] | list[int] | list[list[int]]


class OpenAIStreamOptions(Open):
    include_usage: StrictBool = False


class OpenAISamplingParams(Open):
    """What chat and legacy completions share."""

    model: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_MODEL_ID,
        description="a model id, or `provider-name/model-id`; default: the provider's default",
    )
    max_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS)
    max_completion_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, ge=0.0, le=1.0)
    stop: str | list[str] | None = Field(None, description="up to 4 strings of ≤ 256 characters")
    seed: int | None = Field(None, ge=-(2**63), le=2**63 - 1)
    stream: StrictBool | None = False
    stream_options: OpenAIStreamOptions | None = None

    _check_stop = field_validator("stop")(check_stop)

    @property
    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage


class OpenAIChatMessage(Open):
    role: Role
    content: str | list[dict[str, Any]] | None = Field(
        None, description="text, or a list of content parts (text, image_url, …)"
    )

    @field_validator("content")
    @classmethod
    def _bounded(cls, value: str | list[dict[str, Any]] | None) -> Any:
        if isinstance(value, str) and len(value) > MAX_CONTENT:
            raise ValueError(f"content must have at most {MAX_CONTENT} characters")
        return value


class OpenAIChatRequest(OpenAISamplingParams):
    messages: list[OpenAIChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "qwen2.5-7b-instruct",
                    "messages": [{"role": "user", "content": "Name three primes."}],
                    "max_completion_tokens": 200,
                }
            ]
        },
    )


def _check_inputs(value: TokenInput, what: str, limit: int) -> TokenInput:
    items: list[Any] = [value] if isinstance(value, str) else value
    if not items:
        raise ValueError(f"{what} must not be empty")
    if len(items) > limit and not isinstance(items[0], int):
        raise ValueError(f"at most {limit} {what}s per request")
    if any(item == "" or item == [] for item in items):
        raise ValueError(f"{what}s must not be empty")
    return value


class OpenAICompletionRequest(OpenAISamplingParams):
    prompt: TokenInput = Field(description="a prompt, a list of prompts, or token ids")

    @field_validator("prompt")
    @classmethod
    def _non_empty(cls, value: TokenInput) -> TokenInput:
        return _check_inputs(value, "prompt", MAX_PROMPTS)


class OpenAIEmbeddingRequest(Open):
    input: TokenInput = Field(description="a text, a list of texts (≤ 2048), or token ids")
    model: str | None = Field(None, min_length=1, max_length=MAX_MODEL_ID)
    encoding_format: Literal["float", "base64"] | None = Field(
        None, description="`base64`: little-endian float32 vectors, base64-encoded"
    )

    @field_validator("input")
    @classmethod
    def _non_empty(cls, value: TokenInput) -> TokenInput:
        return _check_inputs(value, "input", MAX_EMBEDDING_INPUTS)
