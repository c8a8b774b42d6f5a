"""Request and answer models of conversations, chat streams and user preferences (strict)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from bigshot_llm.schemas.base import Strict, Trimmed
from bigshot_llm.schemas.chat import ChatOptions, ContentPart, ImagePart, TextPart

MAX_MESSAGE_CHARS = 200_000
MAX_SYSTEM_CHARS = 8000
MAX_PREFERENCES_BYTES = 16 * 1024

MessageStatus = Literal["complete", "cancelled", "error"]
StreamStatus = Literal["running", "complete", "cancelled", "error"]


class ConversationSettings(Strict):
    """Defaults of every turn of a conversation; a stream request may override them."""

    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1, le=32768)
    system: Trimmed | None = Field(
        default=None, max_length=MAX_SYSTEM_CHARS, description="system prompt"
    )


class ConversationCreate(Strict):
    title: Trimmed | None = Field(default=None, min_length=1, max_length=200)
    provider: Trimmed | None = Field(
        default=None, min_length=1, max_length=100, description="id or name"
    )
    model: Trimmed | None = Field(default=None, min_length=1, max_length=256)
    settings: ConversationSettings = Field(default_factory=ConversationSettings)


class ConversationUpdate(Strict):
    """Only the fields sent change; `null` clears provider or model."""

    title: Trimmed | None = Field(default=None, min_length=1, max_length=200)
    provider: Trimmed | None = Field(default=None, min_length=1, max_length=100)
    model: Trimmed | None = Field(default=None, min_length=1, max_length=256)
    settings: ConversationSettings | None = None


class ConversationPublic(BaseModel):
    id: str
    title: str | None
    provider: str | None
    model: str | None
    settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    active_stream_id: str | None = Field(default=None, description="a generation still running")


class MessagePublic(BaseModel):
    id: str
    conversation_id: str
    role: Literal["system", "user", "assistant", "tool"]
    content: str = Field(description="the text (of every text part)")
    parts: list[dict[str, Any]] | None = Field(
        None, description="the content parts when not only text (images as data URLs)"
    )
    reasoning: str | None = Field(None, description="the model's reasoning (assistant)")
    tool_calls: list[dict[str, Any]] | None = Field(
        None, description="assistant: [{id, type: function, function: {name, arguments}}]"
    )
    tool_call_id: str | None = Field(None, description="tool: the call this answers")
    status: MessageStatus
    model: str | None
    usage: dict[str, Any] | None
    stats: dict[str, Any] | None = Field(
        None, description="ttft_ms, duration_ms, tokens_per_second, finish_reason, context …"
    )
    error: dict[str, Any] | None
    created_at: datetime


class ToolResult(Strict):
    """A tool's answer to one call of the conversation's last assistant turn."""

    tool_call_id: str = Field(min_length=1, max_length=128)
    content: str = Field(max_length=MAX_MESSAGE_CHARS, description="the result, as text")


class StreamCreate(ChatOptions):
    conversation_id: Trimmed | None = Field(default=None, min_length=1, max_length=32)
    provider: Trimmed | None = Field(
        default=None, min_length=1, max_length=100, description="id or name"
    )
    model: Trimmed | None = Field(default=None, min_length=1, max_length=256)
    message: str | list[ContentPart] | None = Field(
        default=None,
        description="the user's message: text, or parts (text and image_url) to show images",
    )
    tool_results: list[ToolResult] | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="answers to the tool calls of the conversation's last assistant turn",
    )
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1, le=32768)
    system: Trimmed | None = Field(default=None, max_length=MAX_SYSTEM_CHARS)

    @field_validator("message")
    @classmethod
    def _message(cls, value: str | list[Any] | None) -> str | list[Any] | None:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                raise ValueError("message must not be empty")
            if len(value) > MAX_MESSAGE_CHARS:
                raise ValueError(f"message must have at most {MAX_MESSAGE_CHARS} characters")
        elif isinstance(value, list):
            if not 1 <= len(value) <= 64:
                raise ValueError("message must have 1 to 64 parts")
            text = sum(len(p.text) for p in value if isinstance(p, TextPart))
            if text > MAX_MESSAGE_CHARS:
                raise ValueError(f"message must have at most {MAX_MESSAGE_CHARS} characters")
            if not any(isinstance(p, ImagePart) or p.text.strip() for p in value):
                raise ValueError("message must not be empty")
        return value

    @model_validator(mode="after")
    def _something_to_answer(self) -> StreamCreate:
        if self.message is None and self.tool_results is None:
            raise ValueError("give `message` or `tool_results` (or both)")
        if self.tool_results is not None and self.conversation_id is None:
            raise ValueError("tool_results answer a conversation's tool calls: give its id")
        return self

    def message_text(self) -> str:
        """The message's text (of its text parts)."""
        if isinstance(self.message, str):
            return self.message
        return " ".join(p.text for p in self.message or () if isinstance(p, TextPart))

    def message_parts(self) -> list[dict[str, Any]] | None:
        """The message's parts, OpenAI-shaped; None for a text-only message."""
        if not isinstance(self.message, list):
            return None
        return [p.model_dump(exclude_none=True) for p in self.message]


class ContextReport(BaseModel):
    dropped_messages: int
    prompt_tokens_estimate: int


class StreamPublic(BaseModel):
    stream_id: str
    conversation_id: str
    status: StreamStatus
    provider: str
    model: str
    last_event_id: int
    subscribers: int
    context: ContextReport
    user_message_id: str | None = None


class StreamCreated(StreamPublic):
    events_url: str = Field(
        description="relative URL for EventSource; carries a token valid for this stream only"
    )
    expires_in: float = Field(
        description="seconds without a connected client before generation stops (the grace)"
    )


class Preferences(Strict):
    """What the web UI remembers for a user; unknown keys are refused."""

    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1, le=32768)
    system_prompt: Trimmed | None = Field(default=None, max_length=MAX_SYSTEM_CHARS)
    model: Trimmed | None = Field(default=None, max_length=256)
    provider: Trimmed | None = Field(default=None, max_length=100)
    theme: Literal["system", "light", "dark"] | None = None
