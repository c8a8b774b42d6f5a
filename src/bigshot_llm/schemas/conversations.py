"""Request and answer models of conversations, chat streams and user preferences (strict)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from bigshot_llm.schemas.base import Strict, Trimmed

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
    role: Literal["system", "user", "assistant"]
    content: str
    status: MessageStatus
    model: str | None
    usage: dict[str, Any] | None
    stats: dict[str, Any] | None = Field(
        None, description="ttft_ms, duration_ms, tokens_per_second, finish_reason, context …"
    )
    error: dict[str, Any] | None
    created_at: datetime


class StreamCreate(Strict):
    conversation_id: Trimmed | None = Field(default=None, min_length=1, max_length=32)
    provider: Trimmed | None = Field(
        default=None, min_length=1, max_length=100, description="id or name"
    )
    model: Trimmed | None = Field(default=None, min_length=1, max_length=256)
    message: Trimmed = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1, le=32768)
    system: Trimmed | None = Field(default=None, max_length=MAX_SYSTEM_CHARS)


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
