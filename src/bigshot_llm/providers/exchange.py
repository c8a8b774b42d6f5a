"""One non-streaming exchange with an upstream: a connection slot, the retries, a bounded body.

Shared by chat completions and the forwarded agent APIs: the request is sent (retried before
any body byte, see `send_with_retries`), its body read up to `limit` bytes, and the response
closed however that ends (on cancellation too: a half-read response is closed, never pooled).
An answer that comes as an event stream is the error it carries (LM Studio reports some
failures, a context overflow for one, that way with HTTP 200).
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from bigshot_llm.errors import GatewayError, UpstreamError
from bigshot_llm.providers.admission import ConnectionSlots
from bigshot_llm.providers.base import ProviderSpec
from bigshot_llm.providers.http import read_body, send_with_retries
from bigshot_llm.providers.stream_relay import stream_error
from bigshot_llm.sse import SSEDecoder, SSEEventTooLarge

__all__ = ["event_stream_answer", "exchange"]


async def exchange(
    client: httpx.AsyncClient,
    slots: ConnectionSlots,
    request: httpx.Request,
    spec: ProviderSpec,
    limit: int,
) -> tuple[httpx.Response, bytes]:
    """The (2xx) response and its body."""
    await slots.acquire()
    try:
        response = await send_with_retries(client, request, spec)
        try:
            raw = await read_body(response, limit, spec, "an answer")
        finally:
            await response.aclose()
    finally:
        slots.release()
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        raise event_stream_answer(raw, spec)
    return response, raw


def event_stream_answer(raw: bytes, spec: ProviderSpec) -> GatewayError:
    """A non-streaming request answered with an event stream: the error it carries."""
    decoder = SSEDecoder(spec.limits.max_sse_event_bytes)
    try:
        events = decoder.feed(raw + b"\n\n")
    except SSEEventTooLarge:
        events = []
    for event in events:
        if event.event == "error" or '"error"' in event.data:
            try:
                payload: Any = orjson.loads(event.data)
            except orjson.JSONDecodeError:
                payload = event.data
            return stream_error(payload, spec)
    return UpstreamError(f"{spec.name} answered a non-streaming request with an event stream")
