"""The payloads of the native API's server-sent events, as models.

Streams are encoded straight to bytes for speed (`api.native.encoder`), so these models are
the contract rather than the encoder: they are published in the OpenAPI schema (each
streaming route's `text/event-stream` answer names the events it sends) and the tests
validate what the gateway actually sends against them. The streaming answer of every surface
(`OPENAI_STREAM_DOC` … `COMPARE_STREAM_DOC`) is declared here too, so each wire format's
description and example sit next to the events it names.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class StreamTimings(BaseModel):
    """How fast a generation was."""

    ttft_ms: float | None = Field(description="time to the first token of any kind")
    time_to_answer_ms: float | None = Field(
        None, description="time to the first answer token (text or tool call), after reasoning"
    )
    duration_ms: float
    tokens_per_second: float | None


class TokenUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int = Field(description="answer, reasoning and tool calls")
    total_tokens: int
    completion_tokens_details: dict[str, Any] | None = None


class DeltaEvent(BaseModel):
    """`event: delta`: a piece of the answer's text."""

    text: str


class ReasoningEvent(BaseModel):
    """`event: reasoning`: a piece of the model's reasoning ("thinking"), which comes before
    the answer and is not part of it."""

    text: str


class ToolCallEvent(BaseModel):
    """`event: tool_call`: one whole tool call, sent once its arguments are complete."""

    index: int = Field(description="the call's position in this answer")
    id: str = Field(description="never empty: ids upstream left empty are filled in")
    type: Literal["function"] = "function"
    name: str
    arguments: str = Field(description="JSON text, as the model wrote it")


class QueuedEvent(BaseModel):
    """`event: queued`: the generation waits for a free GPU slot of its model (sent when it
    starts waiting and whenever its place changes)."""

    position: int = Field(description="1 starts next")
    estimate_seconds: float = Field(description="a guess from recent generations' length")


class LoadingEvent(BaseModel):
    """`event: loading`: the gateway is loading the model before the generation starts."""

    model: str
    progress: float | None = Field(description="0–1 when known; null while not reported")
    unloaded: list[str] = Field(description="models unloaded to make room (exclusive policy)")


class FallbackAttempt(BaseModel):
    """A target that failed before the first byte, so the next fallback was tried."""

    provider: str
    model: str | None
    code: str = Field(description="the error it failed with")


class ServedBy(BaseModel):
    """Where a generation ran: the provider and model, the server (the pool member that
    answered) and the loaded instance."""

    provider: str
    model: str | None = None
    server: str
    instance: str
    queued_ms: float | None = Field(description="time spent waiting for a slot")
    fallback_from: list[FallbackAttempt] | None = Field(
        None, description="the targets that failed before this fallback answered"
    )


class DoneEvent(BaseModel):
    """`event: done`: the last event of a generation that finished (or was stopped)."""

    finish_reason: str | None = Field(description="stop, length, tool_calls … or cancelled")
    usage: TokenUsage
    usage_estimated: bool = Field(description="counted by the gateway: upstream sent none")
    reasoning_tokens: int | None = Field(
        None, description="upstream's count; estimated when usage_estimated; else null"
    )
    stats: StreamTimings
    model: str | None
    parsed: Any = Field(None, description="strict json_schema only: the answer as JSON")
    parse_error: str | None = Field(
        None, description="strict json_schema only: why the answer is not valid"
    )
    served_by: ServedBy | None = Field(
        None, description="where it ran: admission-controlled generations and fallbacks only"
    )


class ChatDoneEvent(DoneEvent):
    """`event: done` of a chat stream: also the stored answer and the context report."""

    context: dict[str, int] = Field(description="dropped_messages, prompt_tokens_estimate")
    message_id: str | None = None
    conversation_id: str | None = None
    cancel_reason: str | None = Field(None, description="stopped, abandoned or shutdown")


class ErrorEvent(BaseModel):
    """`event: error`: the last event of a generation that failed after it started."""

    code: str
    message: str
    details: Any = None


class CompareStartEvent(BaseModel):
    """`event: start` of a comparison."""

    id: str
    targets: list[dict[str, Any]]


class CompareQueuedEvent(QueuedEvent):
    target: int = Field(description="the target's index")


class CompareLoadingEvent(LoadingEvent):
    target: int


class CompareDeltaEvent(DeltaEvent):
    target: int = Field(description="the target's index")


class CompareReasoningEvent(ReasoningEvent):
    target: int


class CompareToolCallEvent(ToolCallEvent):
    target: int


class CompareDoneEvent(DoneEvent):
    target: int


class CompareErrorEvent(ErrorEvent):
    target: int


class CompareEndEvent(BaseModel):
    """`event: end`: the comparison is over (and stored)."""

    id: str
    status: str = Field(description="complete or cancelled")


EVENT_MODELS: tuple[type[BaseModel], ...] = (
    QueuedEvent,
    LoadingEvent,
    DeltaEvent,
    ReasoningEvent,
    ToolCallEvent,
    DoneEvent,
    ChatDoneEvent,
    ErrorEvent,
    CompareStartEvent,
    CompareQueuedEvent,
    CompareLoadingEvent,
    CompareDeltaEvent,
    CompareReasoningEvent,
    CompareToolCallEvent,
    CompareDoneEvent,
    CompareErrorEvent,
    CompareEndEvent,
)

EventModels = dict[str, type[BaseModel]]

NATIVE_EVENTS: EventModels = {
    "queued": QueuedEvent,
    "loading": LoadingEvent,
    "reasoning": ReasoningEvent,
    "delta": DeltaEvent,
    "tool_call": ToolCallEvent,
    "done": DoneEvent,
    "error": ErrorEvent,
}
CHAT_EVENTS: EventModels = {**NATIVE_EVENTS, "done": ChatDoneEvent}
COMPARE_EVENTS: EventModels = {
    "start": CompareStartEvent,
    "queued": CompareQueuedEvent,
    "loading": CompareLoadingEvent,
    "reasoning": CompareReasoningEvent,
    "delta": CompareDeltaEvent,
    "tool_call": CompareToolCallEvent,
    "done": CompareDoneEvent,
    "error": CompareErrorEvent,
    "end": CompareEndEvent,
}


def stream_doc(
    description: str,
    example: str,
    events: EventModels | None = None,
) -> dict[int | str, dict[str, Any]]:
    """An OpenAPI `responses` entry for a 200 that may be a `text/event-stream`; with
    `events`, the schema names each event's payload model (`x-events`)."""
    content: dict[str, Any] = {"example": example}
    if events:
        content["x-events"] = {
            name: {"$ref": f"#/components/schemas/{model.__name__}"}
            for name, model in events.items()
        }
    return {200: {"description": description, "content": {"text/event-stream": content}}}


# The streaming answers, one per surface, next to the events they name: the OpenAPI
# `responses` entry of every route that may answer with a `text/event-stream`.

OPENAI_STREAM_DOC = stream_doc(
    "OpenAI's JSON, or with `stream: true` a `text/event-stream` of upstream's chunks ending "
    "with `data: [DONE]`.",
    'data: {"choices":[...]}\n\n',
)

ANTHROPIC_STREAM_DOC = stream_doc(
    "An Anthropic `message`, or with `stream: true` Anthropic's event stream "
    "(`message_start` … `message_stop`).",
    'event: message_start\ndata: {"type":"message_start","message":{...}}\n\n',
)

RESPONSES_STREAM_DOC = stream_doc(
    "A Response object, or with `stream: true` the Responses event stream "
    "(`response.created` … `response.completed`).",
    'event: response.created\ndata: {"type":"response.created","sequence_number":0,...}\n\n',
)

NATIVE_STREAM_DOC = stream_doc(
    "JSON envelope, or with `stream: true` a `text/event-stream` of `reasoning`, `delta` and "
    "`tool_call` events, then `done` or `error`.",
    'id: 1\nevent: reasoning\ndata: {"text":"The user wants"}\n\n'
    'id: 2\nevent: delta\ndata: {"text":"Hello"}\n\n'
    'id: 3\nevent: done\ndata: {"finish_reason":"stop","usage":{...},'
    '"usage_estimated":false,"reasoning_tokens":12,"stats":{"ttft_ms":120.0,'
    '"time_to_answer_ms":480.0,"duration_ms":900.0,"tokens_per_second":35.2},'
    '"model":"qwen3-8b"}\n\n',
    NATIVE_EVENTS,
)

CHAT_STREAM_DOC = stream_doc(
    "`text/event-stream` of `reasoning`, `delta` and `tool_call`, then `done` or `error`; "
    "204 when the "
    "stream is over and nothing follows `Last-Event-ID` (EventSource then stops).",
    'id: 1\nevent: delta\ndata: {"text":"Hello"}\n\n'
    'id: 2\nevent: done\ndata: {"finish_reason":"stop","usage":{...},'
    '"context":{"dropped_messages":0,"prompt_tokens_estimate":12},...}\n\n',
    CHAT_EVENTS,
)

COMPARE_STREAM_DOC = stream_doc(
    "A `text/event-stream`: `start`, then `delta` / `done` / `error` events "
    "each naming its `target` index, then `end`.",
    'id: 1\nevent: start\ndata: {"id":"…","targets":[…]}\n\n'
    'id: 2\nevent: delta\ndata: {"target":0,"text":"Hello"}\n\n'
    'id: 3\nevent: done\ndata: {"target":0,"finish_reason":"stop","usage":{…},'
    '"usage_estimated":false,"stats":{"ttft_ms":120.0,"duration_ms":900.0,'
    '"tokens_per_second":35.2},"model":"qwen2.5-7b-instruct"}\n\n'
    'id: 4\nevent: error\ndata: {"target":1,"code":"provider_unavailable",'
    '"message":"…"}\n\nid: 5\nevent: end\ndata: {"id":"…","status":"complete"}\n\n',
    COMPARE_EVENTS,
)


def add_event_schemas(openapi: dict[str, Any]) -> dict[str, Any]:
    """Put every event model into the schema's components (FastAPI adds only the models
    routes declare as bodies or answers)."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    for model in EVENT_MODELS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(name, definition)
        schemas[model.__name__] = schema
    return openapi
