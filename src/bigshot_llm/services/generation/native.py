"""Agent requests forwarded to an upstream that speaks their API (see `providers.native`).

A surface that has the client's own Messages or Responses request attaches it to its
`GenerationRequest` as a `NativeCall` (with the chat-completions translation as the body, for
everything the pipeline decides on: admission's sticky session, the prompt estimate). When the
resolved provider speaks the API, the pipeline forwards the client's JSON with only the model
replaced (the resolved upstream model, or the duplicate instance admission chose) and relays
the answer; otherwise the translation runs, as before. Non-admin keys lose LM Studio's
server-side controls (`ttl`, `draft_model`), as on chat completions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from bigshot_llm.providers.base import StreamChunk
from bigshot_llm.providers.native_relay import responses_usage
from bigshot_llm.providers.openai import encode_body
from bigshot_llm.services.generation.capacity import Lane
from bigshot_llm.services.generation.routing import Target

__all__ = ["NativeCall", "forwarded_body", "native_call", "native_stream", "speaks"]

NativeApi = Literal["messages", "responses"]
SERVER_CONTROLS = frozenset({"ttl", "draft_model"})


@dataclass(slots=True)
class NativeCall:
    """The client's request in its own API (`body` is its JSON, as sent)."""

    api: NativeApi
    body: dict[str, Any]


async def speaks(target: Target, api: NativeApi) -> bool:
    """Whether the target's provider takes `api` requests as they are."""
    check = getattr(target.provider, "speaks_native", None)
    return bool(check is not None and await check(api))


def forwarded_body(native: NativeCall, model: str, lane: Lane | None, admin: bool) -> bytes:
    """The client's JSON with the upstream model (unknown fields kept)."""
    body = {**native.body, "model": lane.instance if lane is not None else model}
    if not admin:
        for name in SERVER_CONTROLS:
            body.pop(name, None)
    return encode_body(body)


def native_stream(target: Target, api: NativeApi, body: bytes) -> AsyncIterator[StreamChunk]:
    stream: AsyncIterator[StreamChunk] = target.provider.stream_native(api, body)  # type: ignore[attr-defined]
    return stream


async def native_call(target: Target, api: NativeApi, body: bytes) -> dict[str, Any]:
    """A one-shot forward: `{"usage": <chat usage>, "native": answer, "raw": bytes}`, so the
    usage record reads it like a chat answer and the surface relays the bytes."""
    raw, answer = await target.provider.forward(api, body)  # type: ignore[attr-defined]
    usage = answer.get("usage")
    return {
        "usage": responses_usage(usage) if isinstance(usage, dict) else None,
        "native": answer,
        "raw": raw,
    }
