"""The echo provider: no network at all, so it is also a compact template for a real one."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson

from bigshot_llm.errors import BadRequest
from bigshot_llm.providers.base import ModelInfo, ProviderSpec, StreamChunk

MODELS = ("echo-1", "echo-shout")


def _last_text(body: dict[str, Any]) -> str:
    if "messages" in body:
        messages = body.get("messages") or []
        content = messages[-1].get("content", "") if messages else ""
        if isinstance(content, list):  # content parts: keep the text ones
            content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
        return str(content)
    prompt = body.get("prompt", "")
    return " ".join(prompt) if isinstance(prompt, list) else str(prompt)


def _answer(body: dict[str, Any]) -> str:
    text = _last_text(body)
    if body.get("model") == "echo-shout":
        text = text.upper()
    limit = body.get("max_tokens")
    words = text.split()
    if isinstance(limit, int) and limit > 0:
        words = words[:limit]
    return " ".join(words)


def _usage(body: dict[str, Any], text: str) -> dict[str, int]:
    prompt = len(_last_text(body).split())
    completion = len(text.split())
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


class EchoProvider:
    """Echo: answers with the last message, word by word when streaming."""

    def __init__(self, spec: ProviderSpec, client: Any = None) -> None:
        self.spec = spec
        self.word_delay = 0.0

    async def list_models(self, detailed: bool = False) -> list[ModelInfo]:
        return [ModelInfo(id=m, type="llm", state="loaded") for m in MODELS]

    async def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        text = _answer(body)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or MODELS[0],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": _usage(body, text),
        }

    async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        text = _answer(body)
        return {
            "id": f"cmpl-{uuid.uuid4().hex[:12]}",
            "object": "text_completion",
            "created": int(time.time()),
            "model": body.get("model") or MODELS[0],
            "choices": [{"index": 0, "text": text, "finish_reason": "stop"}],
            "usage": _usage(body, text),
        }

    async def embed(self, body: dict[str, Any]) -> dict[str, Any]:
        raise BadRequest("the echo provider has no embeddings model")

    def stream_chat(self, body: dict[str, Any]) -> AsyncIterator[StreamChunk]:
        return self._stream(body, chat=True)

    def stream_complete(self, body: dict[str, Any]) -> AsyncIterator[StreamChunk]:
        return self._stream(body, chat=False)

    async def _stream(self, body: dict[str, Any], *, chat: bool) -> AsyncIterator[StreamChunk]:
        text = _answer(body)
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion.chunk" if chat else "text_completion",
            "created": int(time.time()),
            "model": body.get("model") or MODELS[0],
        }
        words = text.split()
        for i, word in enumerate(words):
            piece = word if i == 0 else f" {word}"
            choice = (
                {"index": 0, "delta": {"content": piece}, "finish_reason": None}
                if chat
                else {"index": 0, "text": piece, "finish_reason": None}
            )
            yield _chunk({**base, "choices": [choice]})
            if self.word_delay:
                await asyncio.sleep(self.word_delay)
        last = {"index": 0, "finish_reason": "stop"}
        last.update({"delta": {}} if chat else {"text": ""})
        yield _chunk({**base, "choices": [last]})
        options = body.get("stream_options") or {}
        if options.get("include_usage"):
            yield _chunk({**base, "choices": [], "usage": _usage(body, text)})

    async def aclose(self) -> None:
        return None


def _chunk(data: dict[str, Any]) -> StreamChunk:
    return StreamChunk(raw=orjson.dumps(data), data=data)
