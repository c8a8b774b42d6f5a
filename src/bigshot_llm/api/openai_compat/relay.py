"""The `/v1` stream relay and the embeddings encoding: OpenAI's wire formats, kept lean.

Streams: each upstream chunk goes out as ``data: <upstream bytes>`` the moment it arrives
(no re-encoding, no buffering). The gateway always asks upstream for usage (for its own
statistics) but forwards the usage chunk only to clients that asked for it; when upstream
sent none, an estimate from `StreamStats` takes its place. Every stream ends with
``data: [DONE]``, also after a failure, which is reported first as ``data: {"error": …}``.
"""

from __future__ import annotations

import base64
import sys
from array import array
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson

from bigshot_llm.api.openai_compat.errors import error_body
from bigshot_llm.errors import GatewayError
from bigshot_llm.providers.base import StreamChunk
from bigshot_llm.services.stream_stats import StreamStats
from bigshot_llm.sse import encode_sse

__all__ = ["DONE_FRAME", "encode_embeddings_base64", "openai_events"]

DONE_FRAME = b"data: [DONE]\n\n"
_BIG_ENDIAN = sys.byteorder == "big"


def _frame(raw: bytes) -> bytes:
    # Upstream JSON is one line; a multi-line payload needs one `data:` line per line.
    return b"data: " + raw + b"\n\n" if b"\n" not in raw else encode_sse(raw)


async def openai_events(
    chunks: AsyncIterator[StreamChunk],
    stats: StreamStats,
    *,
    include_usage: bool,
    prompt_estimate: Callable[[], int],
) -> AsyncIterator[bytes]:
    """Upstream chunks → OpenAI SSE frames, then ``[DONE]``."""
    saw_usage = False
    last: dict[str, Any] = {}
    try:
        async for chunk in chunks:
            data = chunk.data
            stats.observe(data)
            last = data
            if data.get("usage"):
                saw_usage = True
                if not include_usage and not data.get("choices"):
                    continue
            yield _frame(chunk.raw)
        if include_usage and not saw_usage:
            stats.prompt_estimate = prompt_estimate()
            yield _frame(orjson.dumps(usage_chunk(last, stats)))
    except GatewayError as exc:
        yield _frame(orjson.dumps(error_body(exc)))
    yield DONE_FRAME


def usage_chunk(last: dict[str, Any], stats: StreamStats) -> dict[str, Any]:
    """OpenAI's final usage chunk (``choices: []``), shaped like the stream's other chunks."""
    usage, _ = stats.final_usage()
    return {
        "id": last.get("id"),
        "object": last.get("object", "chat.completion.chunk"),
        "created": last.get("created"),
        "model": last.get("model", stats.model),
        "choices": [],
        "usage": usage,
    }


def encode_embeddings_base64(response: dict[str, Any]) -> None:
    """Float vectors → base64 of little-endian float32, in place (as OpenAI answers).

    LM Studio ignores `encoding_format` and always sends floats; vectors that already arrive
    as base64 strings (OpenAI itself) are left alone.
    """
    for item in response.get("data") or ():
        vector = item.get("embedding") if isinstance(item, dict) else None
        if isinstance(vector, list):
            packed = array("f", vector)
            if _BIG_ENDIAN:
                packed.byteswap()
            item["embedding"] = base64.b64encode(packed.tobytes()).decode("ascii")
