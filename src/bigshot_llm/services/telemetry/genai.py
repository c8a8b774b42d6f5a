"""One generation's spans, by the OpenTelemetry GenAI semantic conventions.

A `GenerationTrace` is made once a generation is resolved, with the span current then (the
request's server span) as its parent. Its span is named ``{gen_ai.operation.name}
{gen_ai.request.model}`` (kind CLIENT) and carries the ``gen_ai.*`` attributes plus the
gateway's own (``bigshot.*``: provider id and name, queue wait, time to first token). Its
children: ``bigshot.admission`` (the wait for a GPU slot in the fair queue, and a model
load), the upstream HTTP call (the httpx instrumentation's span, whose id the `traceparent`
header carries upstream) and, for a stream, ``bigshot.stream`` (the relay to the client).

A streamed generation is an async generator whose steps run in whichever task iterates it,
so nothing is made current across a `yield`: the admission and stream spans are recorded
when they are over, with their own start and end times, and the generation's span is current
only while the upstream request is sent (`upstream`). Prompt and answer text are recorded
(``gen_ai.input.messages`` / ``gen_ai.output.messages``, each text cut to a bound) only with
``BIGSHOT_OTEL_CAPTURE_CONTENT=true``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import orjson
from opentelemetry import context, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from bigshot_llm.aio import close_iterator

if TYPE_CHECKING:
    from bigshot_llm.services.generation.admission import Pass
    from bigshot_llm.services.generation.stats import StreamStats
    from bigshot_llm.services.providers.registry import ProviderRecord
    from bigshot_llm.services.telemetry.setup import Tracing

T = TypeVar("T")
OPERATIONS = {"chat": "chat", "completion": "text_completion", "embeddings": "embeddings"}
# Request parameters recorded when the body has them (numbers only).
_REQUEST_NUMBERS = {
    "max_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens",
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "top_k": "gen_ai.request.top_k",
    "seed": "gen_ai.request.seed",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
}
ADMISSION_SPAN = "bigshot.admission"
STREAM_SPAN = "bigshot.stream"


def _epoch_ns(at: float) -> int:
    """A `time.perf_counter()` reading as the wall-clock nanoseconds spans are timed in."""
    return time.time_ns() - int((time.perf_counter() - at) * 1e9)


class GenerationTrace:
    """The spans of one generation (see the module docstring); ended exactly once."""

    def __init__(
        self,
        tracing: Tracing,
        *,
        operation: str,
        record: ProviderRecord,
        model: str,
        body: dict[str, Any],
        streamed: bool,
        endpoint: str,
    ) -> None:
        self._tracer = tracing.tracer
        self._max_chars = tracing.content_max_chars if tracing.capture_content else 0
        self._parent = context.get_current()
        self._body = body if self._max_chars else None
        op = OPERATIONS.get(operation, operation)
        self.name = f"{op} {model}"
        url = urlsplit(record.base_url)
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": op,
            "gen_ai.provider.name": record.kind,
            "gen_ai.request.model": model,
            "bigshot.provider.id": record.id,
            "bigshot.provider.name": record.name,
            "bigshot.endpoint": endpoint,
            "bigshot.stream": streamed,
        }
        if url.hostname:
            attributes["server.address"] = url.hostname
            port = url.port or (443 if url.scheme == "https" else 80)
            attributes["server.port"] = port
        for key, name in _REQUEST_NUMBERS.items():
            value = body.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                attributes[name] = value
        self._attributes = attributes
        self.span: Span | None = None
        self._context: context.Context | None = None
        self._ended = False

    def begin(self) -> None:
        """Start the generation's span (once): the request reaches the gateway's pipeline."""
        if self.span is not None:
            return
        span = self._tracer.start_span(
            self.name, context=self._parent, kind=SpanKind.CLIENT, attributes=self._attributes
        )
        self.span = span
        self._context = trace.set_span_in_context(span, self._parent)
        if self._body is not None and span.is_recording():
            span.set_attribute("gen_ai.input.messages", self._input_messages(self._body))

    def admitted(self, started_ns: int, admitted: Pass | None, error: BaseException | None) -> None:
        """Record the admission span (from `started_ns` to now) and the queue wait."""
        span = self.span
        if span is None:
            return
        attributes: dict[str, Any] = {}
        waited = admitted.waited if admitted is not None else None
        if waited is not None:
            attributes["bigshot.queue.wait_ms"] = round(waited * 1000, 1)
        lane = admitted.lane if admitted is not None else None
        if lane is not None:
            attributes["bigshot.lane.server"] = lane.server
            attributes["bigshot.lane.instance"] = lane.instance
        span.set_attributes(attributes)
        child = self._tracer.start_span(
            ADMISSION_SPAN, context=self._context, start_time=started_ns, attributes=attributes
        )
        if error is not None:
            _failed(child, error)
        child.end()

    async def upstream(self, chunks: AsyncIterator[T]) -> AsyncIterator[T]:
        """Relay `chunks` with this span current while the first is awaited: the request is
        sent then, so the HTTP client span is a child and its `traceparent` goes upstream."""
        try:
            token = context.attach(self._context or self._parent)
            try:
                first = await chunks.__anext__()
            except StopAsyncIteration:
                return
            finally:
                context.detach(token)
            yield first
            async for chunk in chunks:
                yield chunk
        finally:
            await close_iterator(chunks)

    async def call(self, run: Callable[[], Awaitable[T]]) -> T:
        """Run a one-shot generation inside the span (current throughout: no generator)."""
        self.begin()
        token = context.attach(self._context or self._parent)
        try:
            result = await run()
        except BaseException as exc:
            self.end(_status(exc), error=exc)
            raise
        finally:
            context.detach(token)
        answer = getattr(result, "result", None)
        self._answered(answer if isinstance(answer, dict) else {})
        self.end("ok")
        return result

    def stream_ended(
        self, status: str, stats: StreamStats, ended: float, *, relayed: bool = True
    ) -> None:
        """A stream settled with `status`: its answer, usage, timings and (when the upstream
        was called) the relay's span."""
        span = self.span
        if span is None or self._ended:
            return
        usage, estimated = stats.final_usage()
        attributes: dict[str, Any] = _usage(usage)
        attributes["bigshot.usage.estimated"] = estimated
        if stats.model:
            attributes["gen_ai.response.model"] = stats.model
        if stats.finish_reason:
            attributes["gen_ai.response.finish_reasons"] = [stats.finish_reason]
        if stats.first_token_at is not None:
            ttft = stats.first_token_at - stats.started
            attributes["gen_ai.response.time_to_first_chunk"] = round(ttft, 6)
            attributes["bigshot.ttft_ms"] = round(ttft * 1000, 1)
        span.set_attributes(attributes)
        if self._max_chars and span.is_recording():
            span.set_attribute(
                "gen_ai.output.messages",
                self._output_messages(stats.text, stats.finish_reason),
            )
        if not relayed:
            self.end(status)
            return
        relay = self._tracer.start_span(
            STREAM_SPAN,
            context=self._context,
            start_time=_epoch_ns(stats.first_token_at or stats.started),
            attributes={"bigshot.stream.chunks": stats.chunks, "bigshot.outcome": status},
        )
        relay.end(end_time=_epoch_ns(ended))
        self.end(status)

    def end(self, status: str, error: BaseException | None = None) -> None:
        """End the generation's span (once) with its outcome."""
        span = self.span
        if span is None or self._ended:
            return
        self._ended = True
        span.set_attribute("bigshot.outcome", status)
        if error is not None:
            _failed(span, error)
        elif status not in ("ok", "cancelled"):
            span.set_attribute("error.type", status)
            span.set_status(Status(StatusCode.ERROR, status))
        span.end()

    # -- one-shot answers and content ------------------------------------------------------

    def _answered(self, result: dict[str, Any]) -> None:
        span = self.span
        if span is None:
            return
        attributes = _usage(result.get("usage"))
        if isinstance(result.get("model"), str):
            attributes["gen_ai.response.model"] = result["model"]
        if isinstance(result.get("id"), str):
            attributes["gen_ai.response.id"] = result["id"]
        choices = result.get("choices")
        reasons = [
            str(c["finish_reason"])
            for c in choices or ()
            if isinstance(c, dict) and c.get("finish_reason")
        ]
        if reasons:
            attributes["gen_ai.response.finish_reasons"] = reasons
        span.set_attributes(attributes)
        if self._max_chars and span.is_recording() and choices:
            first = choices[0] if isinstance(choices[0], dict) else {}
            message = first.get("message")
            text = message.get("content") if isinstance(message, dict) else first.get("text")
            span.set_attribute(
                "gen_ai.output.messages",
                self._output_messages(
                    text if isinstance(text, str) else "", first.get("finish_reason")
                ),
            )

    def _cut(self, text: str) -> str:
        return text if len(text) <= self._max_chars else text[: self._max_chars] + "…"

    def _input_messages(self, body: dict[str, Any]) -> str:
        messages = body.get("messages")
        if not isinstance(messages, list):
            prompt = body.get("prompt", body.get("input"))
            messages = [{"role": "user", "content": prompt}]
        out = [
            {"role": str(m.get("role", "user")), "parts": self._parts(m.get("content"))}
            for m in messages
            if isinstance(m, dict)
        ]
        return orjson.dumps(out).decode()

    def _parts(self, content: Any) -> list[dict[str, Any]]:
        if isinstance(content, str):
            return [{"type": "text", "content": self._cut(content)}]
        if isinstance(content, list):
            parts: list[dict[str, Any]] = []
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    parts.append({"type": "text", "content": self._cut(part["text"])})
                elif isinstance(part, str):
                    parts.append({"type": "text", "content": self._cut(part)})
                elif isinstance(part, dict):  # an image or audio: its kind, never its bytes
                    parts.append({"type": str(part.get("type", "unknown"))})
            return parts
        return [{"type": "text", "content": self._cut(str(content))}] if content is not None else []

    def _output_messages(self, text: str, finish_reason: Any) -> str:
        message: dict[str, Any] = {
            "role": "assistant",
            "parts": [{"type": "text", "content": self._cut(text)}],
        }
        if finish_reason:
            message["finish_reason"] = str(finish_reason)
        return orjson.dumps([message]).decode()


def _usage(usage: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not isinstance(usage, dict):
        return out
    for key, name in (
        ("prompt_tokens", "gen_ai.usage.input_tokens"),
        ("completion_tokens", "gen_ai.usage.output_tokens"),
    ):
        value = usage.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            out[name] = value
    return out


def _status(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    if isinstance(code, str):
        return "cancelled" if code == "client_closed_request" else code
    return "cancelled" if isinstance(exc, asyncio.CancelledError) else "internal_error"


def _failed(span: Span, error: BaseException) -> None:
    code = getattr(error, "code", None)
    if _status(error) == "cancelled":
        span.set_attribute("bigshot.outcome", "cancelled")
        return
    span.set_attribute("error.type", code if isinstance(code, str) else type(error).__qualname__)
    span.set_status(Status(StatusCode.ERROR, str(getattr(error, "message", error))[:200]))
