"""Side-by-side comparison: one prompt streamed to 2–4 provider/model targets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bigshot_llm.schemas.base import Strict, Trimmed
from bigshot_llm.schemas.chat import ChatOptions
from bigshot_llm.schemas.llm import MAX_STOP, MAX_STOP_LENGTH, ChatMessage


class CompareTarget(Strict):
    provider: Trimmed = Field(min_length=1, max_length=100, description="provider id or name")
    model: Trimmed = Field(min_length=1, max_length=256)


class CompareParams(ChatOptions):
    """Sampling, plus tools, response_format and reasoning_effort, the same for every target."""

    max_tokens: int | None = Field(None, ge=1, le=32768)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, ge=0.0, le=1.0)
    stop: list[str] | None = Field(None, max_length=MAX_STOP)
    seed: int | None = Field(None, ge=-(2**63), le=2**63 - 1)

    @field_validator("stop")
    @classmethod
    def _stop(cls, value: list[str] | None) -> list[str] | None:
        for item in value or []:
            if not item or len(item) > MAX_STOP_LENGTH:
                raise ValueError(f"each stop sequence must have 1 to {MAX_STOP_LENGTH} characters")
        return value


class CompareRequest(Strict):
    prompt: Trimmed | None = Field(None, min_length=1, max_length=1_000_000)
    messages: list[ChatMessage] | None = Field(None, min_length=1, max_length=1000)
    params: CompareParams = Field(default_factory=CompareParams)
    targets: list[CompareTarget] = Field(min_length=2, max_length=4)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "prompt": "Explain SSE in one paragraph.",
                    "params": {"max_tokens": 200, "temperature": 0.7},
                    "targets": [
                        {"provider": "LMStudio Local", "model": "qwen2.5-7b-instruct"},
                        {"provider": "LMStudio Local", "model": "llama-3.2-1b-instruct"},
                    ],
                }
            ]
        },
    )

    @model_validator(mode="after")
    def _one_input(self) -> CompareRequest:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give either `prompt` or `messages`")
        return self

    def chat_messages(self) -> list[dict[str, Any]]:
        if self.messages is not None:
            return [m.upstream() for m in self.messages]
        return [{"role": "user", "content": self.prompt or ""}]


class ComparisonSummary(BaseModel):
    id: str
    prompt: str | None
    targets: list[dict[str, Any]]
    status: str
    created_at: datetime


class ComparisonPublic(ComparisonSummary):
    owner_id: str
    messages: list[dict[str, Any]]
    params: dict[str, Any]
    results: list[dict[str, Any]]
