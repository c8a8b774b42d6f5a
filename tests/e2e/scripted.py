"""A scripted OpenAI-compatible upstream: it streams exactly the answer a test sets.

The LM Studio simulator answers with generated words; tests of how the UI renders code,
math or links need a given Markdown text, so this server (a real HTTP server on a loopback
port, run by `ThreadedServer`) streams `answer` in small pieces as OpenAI chat chunks.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

MODEL = "scripted-model"


class Script:
    """What the upstream answers; tests change `answer` between requests."""

    def __init__(self) -> None:
        self.answer = "Hello."
        self.piece_chars = 12
        self.delay = 0.01
        self.requests: list[dict[str, Any]] = []


def _chunk(delta: dict[str, Any], finish: str | None) -> bytes:
    body = {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def scripted_app(script: Script) -> Starlette:
    async def models(_: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": MODEL, "object": "model"}]})

    async def chat(request: Request) -> StreamingResponse | JSONResponse:
        body = await request.json()
        script.requests.append(body)
        text = script.answer
        if not body.get("stream"):
            message = {"role": "assistant", "content": text}
            return JSONResponse(
                {
                    "id": "chatcmpl-scripted",
                    "object": "chat.completion",
                    "model": MODEL,
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                }
            )

        async def events() -> AsyncIterator[bytes]:
            yield _chunk({"role": "assistant", "content": ""}, None)
            size = max(1, script.piece_chars)
            for start in range(0, len(text), size):
                await asyncio.sleep(script.delay)
                yield _chunk({"content": text[start : start + size]}, None)
            yield _chunk({}, "stop")
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(
        routes=[
            Route("/v1/models", models),
            Route("/v1/chat/completions", chat, methods=["POST"]),
        ]
    )
