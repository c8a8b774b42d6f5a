"""Reading chat-stream events from a replica, synchronously, as EventSource would."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import orjson

from bigshot_llm.sse import SSEDecoder

Event = tuple[int, str, dict[str, Any]]
STREAMS = "/api/v1/chat/streams"


def start(base: str, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = httpx.post(f"{base}{STREAMS}", json=body, headers=headers, timeout=10)
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def read(
    base: str,
    events_url: str,
    *,
    last_id: int = 0,
    limit: int | None = None,
    connected: threading.Event | None = None,
) -> list[Event]:
    """Events after `last_id` (sent as Last-Event-ID), all of them or the first `limit`;
    `connected` is set once the stream's answer has begun."""
    headers = {"Last-Event-ID": str(last_id)} if last_id else {}
    events: list[Event] = []
    decoder = SSEDecoder()
    with httpx.stream("GET", f"{base}{events_url}", headers=headers, timeout=30) as response:
        assert response.status_code == 200, response.read()
        if connected is not None:
            connected.set()
        for chunk in response.iter_bytes():
            for event in decoder.feed(chunk):
                if not event.data:
                    continue  # a keep-alive comment
                events.append((int(event.id or 0), event.event, orjson.loads(event.data)))
                if limit is not None and len(events) >= limit:
                    return events  # closing the connection, as a dropped client would
    return events


def text_of(events: list[Event]) -> str:
    return "".join(data["text"] for _, name, data in events if name == "delta")
