"""Request and answer models of conversations, chat streams and user preferences (strict)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from bigshot_llm.schemas.base import Strict, Trimmed
from bigshot_llm.schemas.chat import ChatOptions, ContentPart, ImagePart, TextPart, ToolCallIn

MAX_MESSAGE_CHARS = 200_000
MAX_SYSTEM_CHARS = 8000
MAX_PREFERENCES_BYTES = 16 * 1024
MAX_TOKENS_LIMIT = 262_144  # the largest model contexts; the UI offers up to the model's own
MAX_PRESETS = 20
MAX_IMPORT_MESSAGES = 5000
EXPORT_FORMAT = "bigshot-llm.conversation"

MessageStatus = Literal["complete", "cancelled", "error"]
StreamStatus = Literal["running", "complete", "cancelled", "error"]


class ConversationSettings(Strict):
    """Defaults of every turn of a conversation; a stream request may override them."""

    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS_LIMIT)
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
    head_message_id: str | None = Field(
        default=None, description="the last message of the branch on show"
    )


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
    parent_id: str | None = Field(None, description="the message this one follows")
    siblings: list[str] = Field(
        default_factory=list,
        description="every version of this turn (this one included), oldest first: "
        "regenerated answers and edited questions",
    )


class SearchHit(BaseModel):
    """A conversation whose title or a message matches, with the first matching message."""

    conversation: ConversationPublic
    message_id: str | None = Field(description="the first matching message (none: the title)")
    role: str | None
    snippet: str = Field(description="the matching text around the match, on one line")


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
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS_LIMIT)
    system: Trimmed | None = Field(default=None, max_length=MAX_SYSTEM_CHARS)
    regenerate_message_id: Trimmed | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        description="answer again: a new version of this assistant message (no `message`)",
    )
    edit_message_id: Trimmed | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        description="`message` replaces this user message as a new version (a new branch)",
    )
    continue_message_id: Trimmed | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        description="go on writing this answer (the last one, cut at max tokens; no `message`)",
    )

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
        redo = [
            name
            for name in ("regenerate_message_id", "edit_message_id", "continue_message_id")
            if getattr(self, name) is not None
        ]
        if len(redo) > 1:
            raise ValueError(f"give at most one of {', '.join(redo)}")
        if redo and self.conversation_id is None:
            raise ValueError(f"{redo[0]} names a message of a conversation: give its id")
        if redo and self.tool_results is not None:
            raise ValueError(f"tool_results cannot go with {redo[0]}")
        if redo and redo[0] != "edit_message_id":
            if self.message is not None:
                raise ValueError(f"{redo[0]} takes no `message`")
            return self
        if redo and self.message is None:
            raise ValueError("edit_message_id needs the new `message`")
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
    continues_message_id: str | None = Field(
        default=None, description="the answer this stream goes on writing (its text follows it)"
    )


class StreamCreated(StreamPublic):
    events_url: str = Field(
        description="relative URL for EventSource; carries a token valid for this stream only"
    )
    expires_in: float = Field(
        description="seconds without a connected client before generation stops (the grace)"
    )


class Preset(Strict):
    """Saved chat parameters a user applies to a conversation."""

    name: Trimmed = Field(min_length=1, max_length=60)
    system_prompt: Trimmed | None = Field(default=None, max_length=MAX_SYSTEM_CHARS)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS_LIMIT)


class Preferences(Strict):
    """What the web UI remembers for a user; unknown keys are refused."""

    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS_LIMIT)
    system_prompt: Trimmed | None = Field(default=None, max_length=MAX_SYSTEM_CHARS)
    model: Trimmed | None = Field(default=None, max_length=256)
    provider: Trimmed | None = Field(default=None, max_length=100)
    theme: Literal["system", "light", "dark"] | None = None
    presets: list[Preset] | None = Field(default=None, max_length=MAX_PRESETS)

    @field_validator("presets")
    @classmethod
    def _unique_names(cls, value: list[Preset] | None) -> list[Preset] | None:
        names = [p.name.casefold() for p in value or ()]
        if len(set(names)) != len(names):
            raise ValueError("preset names must be unique")
        return value


# ---- export and import ------------------------------------------------------------------


class ExportedMessage(Strict):
    """One message of an exported conversation; `parent_id` names an earlier one."""

    id: str = Field(min_length=1, max_length=64)
    parent_id: str | None = Field(default=None, min_length=1, max_length=64)
    role: Literal["system", "user", "assistant", "tool"]
    content: str = Field(max_length=MAX_MESSAGE_CHARS)
    parts: list[ContentPart] | None = Field(default=None, min_length=1, max_length=64)
    reasoning: str | None = Field(default=None, max_length=MAX_MESSAGE_CHARS)
    tool_calls: list[ToolCallIn] | None = Field(default=None, max_length=128)
    tool_call_id: str | None = Field(default=None, min_length=1, max_length=128)
    status: MessageStatus = "complete"
    model: str | None = Field(default=None, max_length=256)
    usage: dict[str, Any] | None = None
    stats: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    created_at: datetime | None = None

    @model_validator(mode="after")
    def _fits_role(self) -> ExportedMessage:
        if self.role == "tool" and self.tool_call_id is None:
            raise ValueError("a tool message needs the tool_call_id it answers")
        if self.role != "tool" and self.tool_call_id is not None:
            raise ValueError("only tool messages have a tool_call_id")
        if self.tool_calls is not None and self.role != "assistant":
            raise ValueError("only assistant messages have tool_calls")
        if self.role != "user" and any(isinstance(p, ImagePart) for p in self.parts or ()):
            raise ValueError("only user messages may contain images")
        return self


class ExportedConversation(Strict):
    id: str | None = Field(default=None, max_length=64, description="ignored on import")
    title: Trimmed | None = Field(default=None, max_length=200)
    provider: Trimmed | None = Field(default=None, max_length=100)
    model: Trimmed | None = Field(default=None, max_length=256)
    settings: ConversationSettings = Field(default_factory=ConversationSettings)
    created_at: datetime | None = None
    updated_at: datetime | None = None


class ConversationFile(Strict):
    """A conversation as a JSON file: what export writes and import reads.

    Version 1 files (the UI's earlier export) have no `parent_id`s: their messages are read as
    one branch in file order.
    """

    format: Literal["bigshot-llm.conversation"]
    version: Literal[1, 2] = 2
    exported_at: datetime | None = None
    conversation: ExportedConversation
    messages: list[ExportedMessage] = Field(max_length=MAX_IMPORT_MESSAGES)
    head_message_id: str | None = Field(
        default=None, max_length=64, description="the branch on show (default: the last message)"
    )

    @model_validator(mode="after")
    def _a_tree(self) -> ConversationFile:
        seen: set[str] = set()
        for i, message in enumerate(self.messages):
            if message.id in seen:
                raise ValueError(f"messages.{i}.id: '{message.id}' appears twice")
            if message.parent_id is not None and message.parent_id not in seen:
                raise ValueError(
                    f"messages.{i}.parent_id: '{message.parent_id}' is not an earlier message"
                )
            seen.add(message.id)
        if self.head_message_id is not None and self.head_message_id not in seen:
            raise ValueError(f"head_message_id: '{self.head_message_id}' is not a message")
        return self
