"""An upstream SSE body → checked `StreamChunk`s, with every bound an untrusted stream needs.

* **Size**: a line or an event past `limits.max_sse_event_bytes` ends the stream with an
  `UpstreamError` (the caller closes the response, so the upstream connection goes too).
* **Idle time**: `stream_idle_timeout` counts the time since the last event that carried data.
  Comments (keep-alives) and a line trickled byte by byte are not activity: after a piece of
  the body that completed no data event, the next read is bounded by what is left of the idle
  time; after one that did, by the transport's read timeout (the same length), so the usual
  path costs no timer of its own.
* **Shape**: each chunk is checked (`shapes.check_stream_chunk`) before anyone reads it.
* **Breakage**: whatever a read raises (aiohttp's `RuntimeError("Connection closed.")` on
  broken chunked framing included) becomes a mapped `GatewayError`, which the relays above
  turn into their terminal error event.
* **Empty answers**: chunks are held back until the first one that carries output (text,
  reasoning, tool calls), so a stream that ends without any can be judged as a whole by the
  provider's `empty_answer` rule (LM Studio's silent context overflow) and fail as one
  error before its first byte reaches a client.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson

from bigshot_llm.errors import ContextLengthExceeded, GatewayError, ProviderTimeout, UpstreamError
from bigshot_llm.providers.admission import ConnectionSlots
from bigshot_llm.providers.base import ProviderSpec, StreamChunk
from bigshot_llm.providers.client import body_pieces
from bigshot_llm.providers.http import (
    READ_ERRORS,
    error_text,
    is_context_error,
    map_transport_error,
    send_with_retries,
    shown_upstream_text,
)
from bigshot_llm.providers.shapes import check_stream_chunk, has_output
from bigshot_llm.sse import ServerSentEvent, SSEDecoder, SSEEventTooLarge

__all__ = ["EmptyAnswerRule", "feed", "relay_stream", "relayed", "stream_error"]

_DRAIN_SECONDS = 0.5

# Given the chunks of a stream that carried no output at all, the error it stands for (or None
# when an empty answer is legitimate).
EmptyAnswerRule = Callable[[list[StreamChunk]], GatewayError | None]


def _idle_error(spec: ProviderSpec) -> ProviderTimeout:
    return ProviderTimeout(
        f"{spec.name} sent no data for {spec.stream_idle_timeout:g}s in the middle of a stream"
    )


async def relay_stream(
    response: httpx.Response, spec: ProviderSpec, empty_answer: EmptyAnswerRule | None = None
) -> AsyncIterator[StreamChunk]:
    """The chunks of `response` (a 2xx event stream). The caller closes `response`."""
    decoder = SSEDecoder(spec.limits.max_sse_event_bytes)
    pieces = body_pieces(response)
    loop = asyncio.get_running_loop()
    idle = spec.stream_idle_timeout
    deadline = loop.time() + idle
    partial = False  # the last piece completed no data event
    held: list[StreamChunk] | None = []  # chunks before the first one with output
    finished = False
    while True:
        try:
            if partial:
                async with asyncio.timeout_at(deadline):
                    piece = await anext(pieces)
            else:
                piece = await anext(pieces)
        except StopAsyncIteration:
            break
        except (httpx.ReadTimeout, TimeoutError) as exc:
            raise _idle_error(spec) from exc
        except READ_ERRORS as exc:
            raise map_transport_error(exc, spec) from exc
        events = feed(decoder, piece, spec)
        if not events:
            partial = True
            if loop.time() >= deadline:
                raise _idle_error(spec)
            continue
        partial = False
        deadline = loop.time() + idle
        for event in events:
            data = event.data
            if data == "[DONE]":
                await _drain(pieces)
                if held is not None:
                    _judge_empty(held, empty_answer)
                    for chunk in held:
                        yield chunk
                return
            if event.event == "error":
                raise stream_error(_loads_or_text(data), spec)
            chunk = _parse(data, spec)
            if not finished:
                finished = _has_finish_reason(chunk.data)
            if held is None:
                yield chunk
            elif has_output(chunk.data):
                for earlier in held:
                    yield earlier
                held = None
                yield chunk
            else:
                held.append(chunk)
    if not finished:
        raise UpstreamError(f"{spec.name} ended the stream before it was complete")
    if held is not None:
        _judge_empty(held, empty_answer)
        for chunk in held:
            yield chunk


def feed(decoder: SSEDecoder, piece: bytes, spec: ProviderSpec) -> list[ServerSentEvent]:
    """The events `piece` completes; an event past the size cap ends the stream."""
    try:
        return decoder.feed(piece)
    except SSEEventTooLarge as exc:
        raise UpstreamError(
            f"{spec.name} sent a stream event or line larger than {exc.limit} bytes "
            "(BIGSHOT_MAX_SSE_EVENT_BYTES); the stream was closed",
            details={"limit_bytes": exc.limit},
        ) from None


async def relayed(
    client: httpx.AsyncClient,
    slots: ConnectionSlots,
    request: httpx.Request,
    spec: ProviderSpec,
    relay: Callable[[httpx.Response], AsyncIterator[StreamChunk]],
) -> AsyncIterator[StreamChunk]:
    """Send a streaming request and relay its answer: the connection slot is held for the
    whole stream, errors before the first chunk (non-2xx, refused, retries exhausted) surface
    first, and the response is closed however it ends (on aclose and cancellation too, so the
    socket is closed rather than pooled half-read, which makes the upstream stop)."""
    await slots.acquire()
    try:
        response = await send_with_retries(client, request, spec)
        try:
            async for chunk in relay(response):
                yield chunk
        finally:
            await response.aclose()
    finally:
        slots.release()


def _parse(data: str, spec: ProviderSpec) -> StreamChunk:
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise UpstreamError(f"{spec.name} sent a malformed stream chunk (not JSON)") from None
    if type(parsed) is not dict:
        raise UpstreamError(f"{spec.name} sent a stream chunk that is not an object")
    if "error" in parsed:
        raise stream_error(parsed, spec)
    check_stream_chunk(parsed, spec)
    return StreamChunk(raw=data.encode(), data=parsed)


def _judge_empty(held: list[StreamChunk], rule: EmptyAnswerRule | None) -> None:
    if rule is not None:
        error = rule(held)
        if error is not None:
            raise error


async def _drain(pieces: AsyncIterator[bytes]) -> None:
    """Read what follows `[DONE]` (the body's last chunk marker) so the connection goes back
    to the pool instead of being closed; give up quickly if upstream keeps it open."""
    with contextlib.suppress(TimeoutError, *READ_ERRORS):
        async with asyncio.timeout(_DRAIN_SECONDS):
            async for _ in pieces:
                pass


def _has_finish_reason(chunk: dict[str, Any]) -> bool:
    choices = chunk.get("choices")
    if not choices:
        return False
    return any(c.get("finish_reason") for c in choices)


def _loads_or_text(data: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return data


def stream_error(payload: Any, spec: ProviderSpec) -> GatewayError:
    """LM Studio reports failures inside a 200: an `error` event or an `error` key."""
    raw, fields = error_text(payload)
    message = shown_upstream_text(raw, spec)
    context = is_context_error(f"{raw or ''} {fields.get('code') or ''}")
    if not spec.echo_upstream_errors:
        fields = {}
    if context:
        return ContextLengthExceeded(message or "the input does not fit in the context length")
    return UpstreamError(
        message or f"{spec.name} reported an error mid-stream", details=fields or None
    )
