"""Small helpers shared by the conversation and chat-stream tests."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from bigshot_llm.sse import SSEDecoder

STREAMS = "/api/v1/chat/streams"
CONVERSATIONS = "/api/v1/conversations"


def parse_events(body: bytes) -> list[tuple[int, str, dict[str, Any]]]:
    """`(id, event, data)` of every event in an SSE body (pings are comments: skipped)."""
    return [
        (int(e.id or 0), e.event, orjson.loads(e.data)) for e in SSEDecoder().feed(body) if e.data
    ]


def text_of(events: list[tuple[int, str, dict[str, Any]]]) -> str:
    return "".join(data["text"] for _, name, data in events if name == "delta")


async def start_stream(
    client: httpx.AsyncClient, headers: dict[str, str], **body: Any
) -> dict[str, Any]:
    response = await client.post(STREAMS, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


async def read_all(
    client: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None
) -> list[tuple[int, str, dict[str, Any]]]:
    response = await client.get(url, headers=headers or {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return parse_events(response.content)


async def messages_of(
    client: httpx.AsyncClient, conversation_id: str, headers: dict[str, str]
) -> list[dict[str, Any]]:
    response = await client.get(f"{CONVERSATIONS}/{conversation_id}/messages", headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["data"]["items"])
