"""``POST /api/v1/chat``: LM Studio's native chat, as far as a gateway uses it.

Its stream is named events: ``chat.start``; when the model is not loaded, ``model_load.start``,
``model_load.progress`` (``load_progress_steps`` of them over ``load_delay`` seconds, the last
one 1.0) and ``model_load.end``; then ``prompt_processing.*``, ``message.*`` and ``chat.end``.
Without ``stream`` the answer is the ``chat.end`` result. Loads through it are counted in
``chat_loads``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from bigshot_llm.sim.common import JSON, model_not_found, v1_request
from bigshot_llm.sim.state import SimState


def _event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps({"type": name, **data}) + b"\n\n"


async def _load(state: SimState, key: str, context_length: int | None) -> AsyncIterator[bytes]:
    yield _event("model_load.start", {"model_instance_id": key})
    started = time.perf_counter()
    steps = max(1, state.load_progress_steps)
    for step in range(1, steps + 1):
        await asyncio.sleep(state.load_delay / steps)
        progress = round(step / steps, 4)
        yield _event("model_load.progress", {"model_instance_id": key, "progress": progress})
    state.load_model(key, context_length)
    state.chat_loads = [*state.chat_loads, {"model": key, "context_length": context_length}]
    elapsed = round(time.perf_counter() - started, 6)
    yield _event("model_load.end", {"model_instance_id": key, "load_time_seconds": elapsed})


def _result(key: str, text: str, load_seconds: float | None) -> dict[str, Any]:
    stats: dict[str, Any] = {
        "input_tokens": 1,
        "total_output_tokens": 1,
        "tokens_per_second": 100.0,
        "time_to_first_token_seconds": 0.01,
    }
    if load_seconds is not None:
        stats["model_load_time_seconds"] = load_seconds
    return {
        "model_instance_id": key,
        "output": [{"type": "message", "content": text}],
        "stats": stats,
    }


async def native_chat(request: Request) -> Response:
    named = await v1_request(request)
    if isinstance(named, Response):
        return named
    state, body, key = named
    if state.get_model(key) is None:
        return model_not_found(key)
    ctx = body.get("context_length")
    context_length = ctx if isinstance(ctx, int) and not isinstance(ctx, bool) else None
    text = "ok"

    async def events() -> AsyncIterator[bytes]:
        yield _event("chat.start", {"model_instance_id": key})
        started = time.perf_counter()
        loaded_now = key not in state.loaded
        if loaded_now:
            async for frame in _load(state, key, context_length):
                yield frame
        load_seconds = round(time.perf_counter() - started, 6) if loaded_now else None
        for name in ("prompt_processing.start", "prompt_processing.end", "message.start"):
            yield _event(name, {})
        yield _event("message.delta", {"content": text})
        yield _event("message.end", {})
        yield _event("chat.end", {"result": _result(key, text, load_seconds)})

    if body.get("stream") is True:
        return StreamingResponse(events(), media_type="text/event-stream")
    result: dict[str, Any] = {}
    async for frame in events():
        if frame.startswith(b"event: chat.end"):
            result = orjson.loads(frame.split(b"data: ", 1)[1])["result"]
    return JSON(result)
