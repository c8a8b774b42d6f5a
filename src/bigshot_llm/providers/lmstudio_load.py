"""Loading a model on LM Studio with progress: through `POST /api/v1/chat`.

LM Studio's REST load (`/api/v1/models/load`) answers only when the model is in memory; the
one API that reports how far a load has got is the native chat, whose stream carries
`model_load.start`, `model_load.progress` (0–1) and `model_load.end` before the prompt is
processed. So a load that needs nothing the chat does not take (it takes `context_length`)
is a one-token chat whose stream is read up to the end of the load and then closed, which
makes LM Studio stop before it generates anything worth the name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

from bigshot_llm.errors import UpstreamError
from bigshot_llm.providers.base import ProviderSpec
from bigshot_llm.providers.http import error_from_response, read_body, send_with_retries
from bigshot_llm.providers.stream_relay import stream_error
from bigshot_llm.sse import SSEDecoder

__all__ = ["CHAT_LOAD_OPTIONS", "load_through_chat"]

CHAT_LOAD_OPTIONS = frozenset({"context_length"})  # the load options `/api/v1/chat` takes
_HEADERS = {"Content-Type": "application/json", "Accept": "text/event-stream"}
# Events that come before (or during) the load; anything else means the model is loaded.
_BEFORE_LOAD = frozenset({"chat.start", "model_load.start", "model_load.progress"})


async def load_through_chat(
    client: httpx.AsyncClient,
    url: httpx.URL,
    spec: ProviderSpec,
    model: str,
    context_length: int | None = None,
) -> AsyncIterator[float]:
    """Load `model`, yielding LM Studio's load progress (0–1) as it comes; returns once the
    model is loaded (at once when it already was)."""
    body: dict[str, Any] = {
        "model": model,
        "input": ".",
        "stream": True,
        "store": False,
        "max_output_tokens": 1,
    }
    if context_length is not None:
        body["context_length"] = context_length
    timeout = httpx.Timeout(
        connect=spec.connect_timeout,
        read=spec.read_timeout,
        write=30.0,
        pool=spec.limits.pool_timeout,
    )
    request = client.build_request(
        "POST", url, content=orjson.dumps(body), headers=_HEADERS, timeout=timeout
    )
    response = await send_with_retries(client, request, spec)
    try:
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            raw = await read_body(response, spec.limits.max_error_body_bytes, spec, "an answer")
            raise error_from_response(response.status_code, raw, spec)
        decoder = SSEDecoder(spec.limits.max_sse_event_bytes)
        async for raw in response.aiter_raw():
            for event in decoder.feed(raw):
                try:
                    data: Any = orjson.loads(event.data) if event.data else {}
                except orjson.JSONDecodeError:
                    data = event.data
                if event.event == "error" or (isinstance(data, dict) and "error" in data):
                    raise stream_error(data, spec)
                if event.event == "model_load.progress" and isinstance(data, dict):
                    progress = data.get("progress")
                    if isinstance(progress, int | float) and not isinstance(progress, bool):
                        yield min(max(float(progress), 0.0), 1.0)
                elif event.event not in _BEFORE_LOAD:
                    return  # `model_load.end`, or the prompt already being processed: loaded
        raise UpstreamError(f"{spec.name} ended the load's stream before the model was loaded")
    finally:
        await response.aclose()  # closing the stream stops the one-token chat
