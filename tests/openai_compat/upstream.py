"""A tiny OpenAI-shaped upstream for what the simulator cannot do: 429s, recording bodies.

Model ``busy`` is rate limited (429 with OpenAI's error body); any other model answers a
fixed chat completion. Every request body is kept in ``seen``.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

RATE_LIMITED_MODEL = "busy"


def recording_upstream() -> tuple[Starlette, list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []

    async def models(request: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": "gpt-x", "object": "model"}]})

    async def chat(request: Request) -> JSONResponse:
        body = await request.json()
        seen.append(body)
        if body.get("model") == RATE_LIMITED_MODEL:
            error = {
                "message": "Rate limit reached; try again in 30s",
                "type": "requests",
                "param": None,
                "code": "rate_limit_exceeded",
            }
            return JSONResponse({"error": error}, status_code=429, headers={"Retry-After": "30"})
        return JSONResponse(
            {
                "id": "chatcmpl-stub",
                "object": "chat.completion",
                "created": 1,
                "model": body.get("model"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "ok"},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )

    app = Starlette(
        routes=[
            Route("/v1/models", models),
            Route("/v1/chat/completions", chat, methods=["POST"]),
        ]
    )
    return app, seen
