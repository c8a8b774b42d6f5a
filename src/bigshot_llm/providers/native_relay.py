"""An upstream's Anthropic or Responses event stream → `StreamChunk`s that relay it as it is.

Each event becomes one chunk: `raw` is the event re-framed (`event:` line, `data:` lines) with
its JSON untouched, `data` is what the event means as a chat-completions chunk ("the shadow"):
text, reasoning and tool-call deltas, the finish reason and the usage (Anthropic's
`message_start` input tokens with `message_delta`'s output tokens; `response.completed`'s
usage), so the pipeline's statistics, usage records and metrics need nothing new. Shadow keys
the pipeline does not read: `native_type` (the event's type), `sequence_number` and `id` (of
the response), for the surface's own terminal error event.

The stream is complete at `message_stop` or `response.completed` / `response.incomplete`;
an `error` event (or `response.failed`) raises the mapped error, and so does a stream that
ends before its last event, so the surface can close it with an error in the API's shape.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

from bigshot_llm.errors import GatewayError, UpstreamError
from bigshot_llm.providers.base import ProviderSpec, StreamChunk
from bigshot_llm.providers.http import READ_ERRORS, map_transport_error
from bigshot_llm.providers.stream_relay import feed, stream_error
from bigshot_llm.sse import ServerSentEvent, SSEDecoder

__all__ = ["AnthropicShadow", "ResponsesShadow", "frame_of", "relay_native"]

ANTHROPIC_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_TERMINAL = frozenset({"message_stop", "response.completed", "response.incomplete"})


def frame_of(event: ServerSentEvent) -> bytes:
    """The event as SSE bytes again (its data as received)."""
    head = b"" if event.event == "message" else b"event: " + event.event.encode() + b"\n"
    lines = b"".join(b"data: " + line.encode() + b"\n" for line in event.data.split("\n"))
    return head + lines + b"\n"


def _chunk(delta: dict[str, Any] | None = None, finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}]}


def _tool_start(index: int, call_id: Any, name: Any) -> dict[str, Any]:
    function = {"name": name or "", "arguments": ""}
    call = {"index": index, "id": call_id or "", "type": "function", "function": function}
    return _chunk({"tool_calls": [call]})


def _tool_arguments(index: int, arguments: Any) -> dict[str, Any]:
    fragment = {"index": index, "function": {"arguments": str(arguments or "")}}
    return _chunk({"tool_calls": [fragment]})


class _ToolCalls:
    """The tool calls of one stream, numbered as chat chunks number them: in the order they
    start, whatever the position (content block, output item) the native events give."""

    def __init__(self) -> None:
        self.tools: dict[int, int] = {}  # the native position → tool call index

    def _started(
        self, event: dict[str, Any], field: str, position: str, kind: str, id_field: str
    ) -> dict[str, Any]:
        """A new output item (`event[field]`): a tool call's first chunk when it is of `kind`."""
        item = event.get(field) or {}
        if item.get("type") != kind:
            return _chunk()
        index = self.tools[_int(event.get(position)) or 0] = len(self.tools)
        return _tool_start(index, item.get(id_field), item.get("name"))

    def _arguments(self, position: Any, arguments: Any) -> dict[str, Any]:
        return _tool_arguments(self.tools.get(_int(position) or 0, 0), arguments)


class AnthropicShadow(_ToolCalls):
    """Messages events → chat chunks (one instance per stream: it keeps the block kinds)."""

    def __init__(self) -> None:
        super().__init__()
        self.input_tokens: int | None = None

    def read(self, event: dict[str, Any]) -> dict[str, Any]:
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message") or {}
            usage = message.get("usage") or {}
            self.input_tokens = _int(usage.get("input_tokens"))
            return {"model": message.get("model"), **_chunk()}
        if kind == "content_block_start":
            return self._started(event, "content_block", "index", "tool_use", "id")
        if kind == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta":
                return _chunk({"content": str(delta.get("text") or "")})
            if delta.get("type") == "thinking_delta":
                return _chunk({"reasoning_content": str(delta.get("thinking") or "")})
            if delta.get("type") == "input_json_delta":
                return self._arguments(event.get("index"), delta.get("partial_json"))
            return _chunk()
        if kind == "message_delta":
            reason = (event.get("delta") or {}).get("stop_reason")
            output = _int((event.get("usage") or {}).get("output_tokens"))
            shadow = _chunk(None, ANTHROPIC_FINISH.get(str(reason), "stop"))
            if output is not None:
                prompt = self.input_tokens or 0
                shadow["usage"] = {
                    "prompt_tokens": prompt,
                    "completion_tokens": output,
                    "total_tokens": prompt + output,
                }
            return shadow
        return _chunk()


class ResponsesShadow(_ToolCalls):
    """Responses events → chat chunks."""

    def __init__(self) -> None:
        super().__init__()
        self.id: str | None = None

    def read(self, event: dict[str, Any]) -> dict[str, Any]:
        kind = event.get("type")
        if kind == "response.created":
            response = event.get("response") or {}
            self.id = response.get("id")
            return {"model": response.get("model"), **_chunk()}
        if kind == "response.output_item.added":
            return self._started(event, "item", "output_index", "function_call", "call_id")
        if kind == "response.output_text.delta":
            return _chunk({"content": str(event.get("delta") or "")})
        if kind in ("response.reasoning_text.delta", "response.reasoning.delta"):
            return _chunk({"reasoning_content": str(event.get("delta") or "")})
        if kind == "response.function_call_arguments.delta":
            return self._arguments(event.get("output_index"), event.get("delta"))
        if kind in ("response.completed", "response.incomplete"):
            response = event.get("response") or {}
            if kind == "response.incomplete":
                finish = "length"
            else:
                finish = "tool_calls" if self.tools else "stop"
            shadow = _chunk(None, finish)
            usage = response.get("usage")
            if isinstance(usage, dict):
                shadow["usage"] = responses_usage(usage)
            return shadow
        return _chunk()


def responses_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """A Responses (or Anthropic) `usage` → chat completions' names."""
    prompt = _int(usage.get("input_tokens")) or 0
    completion = _int(usage.get("output_tokens")) or 0
    out: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    details = usage.get("output_tokens_details")
    if isinstance(details, dict) and _int(details.get("reasoning_tokens")) is not None:
        out["completion_tokens_details"] = {"reasoning_tokens": details["reasoning_tokens"]}
    return out


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _failure(event: dict[str, Any], spec: ProviderSpec) -> GatewayError:
    if event.get("type") == "response.failed":
        error = (event.get("response") or {}).get("error") or {}
        return stream_error({"error": error}, spec)
    return stream_error(event, spec)


async def relay_native(
    response: httpx.Response, spec: ProviderSpec, api: str
) -> AsyncIterator[StreamChunk]:
    """The chunks of `response` (a 2xx event stream of `api`). The caller closes it.

    Silence is bounded by the stream's read timeout (`stream_idle_timeout`)."""
    decoder = SSEDecoder(spec.limits.max_sse_event_bytes)
    shadow = AnthropicShadow() if api == "messages" else ResponsesShadow()
    pieces = response.aiter_bytes()
    while True:
        try:
            piece = await anext(pieces)
        except StopAsyncIteration:
            break
        except READ_ERRORS as exc:
            raise map_transport_error(exc, spec) from exc
        for event in feed(decoder, piece, spec):
            if event.data == "[DONE]":
                continue
            try:
                parsed = orjson.loads(event.data)
            except orjson.JSONDecodeError:
                raise UpstreamError(
                    f"{spec.name} sent a malformed stream event (not JSON)"
                ) from None
            if not isinstance(parsed, dict):
                raise UpstreamError(f"{spec.name} sent a stream event that is not an object")
            kind = parsed.get("type")
            if event.event == "error" or kind in ("error", "response.failed"):
                raise _failure(parsed, spec)
            data = shadow.read(parsed)
            data["native_type"] = kind
            if "sequence_number" in parsed:
                data["sequence_number"] = parsed["sequence_number"]
            if isinstance(shadow, ResponsesShadow) and shadow.id:
                data["id"] = shadow.id
            yield StreamChunk(raw=frame_of(event), data=data)
            if kind in _TERMINAL:
                return
    raise UpstreamError(f"{spec.name} ended the stream before it was complete")
