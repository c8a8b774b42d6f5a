"""Helpers shared by the usage, metrics and webhook tests."""

from __future__ import annotations

from typing import Any

import httpx

USAGE = "/api/v1/usage"
NATIVE = "/api/v1/llm-providers"
CHAT_MODEL = "qwen2.5-7b-instruct"
EMBED_MODEL = "text-embedding-nomic-embed-text-v1.5"


def prompt_tokens(*contents: str) -> int:
    """The simulator's deterministic prompt count: words of every message + 4 per message."""
    return sum(len(text.split()) + 4 for text in contents)


async def recent(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[dict]:
    response = await client.get(f"{USAGE}/recent", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["data"]["items"])


async def summary(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    response = await client.get(USAGE, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])
