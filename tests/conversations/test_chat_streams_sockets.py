"""Resuming over real sockets: drop the connection halfway, reconnect with Last-Event-ID and
get the rest exactly once; a stream nobody follows is cancelled upstream after the grace."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from bigshot_llm.main import create_app
from bigshot_llm.sse import SSEDecoder
from tests.conftest import ADMIN_KEY, auth, make_settings
from tests.conversations.helpers import STREAMS, messages_of, parse_events, text_of
from tests.support.servers import ThreadedServer

PROMPT = "tell me a long story"
Event = tuple[int, str, dict[str, Any]]


@pytest.fixture
def gateway(tmp_path: Path, sim: Any, request: pytest.FixtureRequest) -> Iterator[ThreadedServer]:
    overrides = getattr(request, "param", {})
    settings = make_settings(tmp_path, lmstudio_api_base=f"{sim.url}/v1", **overrides)
    with ThreadedServer(create_app(settings)) as server:
        yield server


async def user_key(client: httpx.AsyncClient, name: str) -> dict[str, str]:
    body = {"name": f"{name}-key", "user": name}
    response = await client.post("/api/v1/keys", json=body, headers=auth(ADMIN_KEY))
    assert response.status_code == 201, response.text
    return auth(response.json()["data"]["key"])


async def events_of(response: httpx.Response) -> AsyncIterator[Event]:
    decoder = SSEDecoder()
    async for raw in response.aiter_raw():
        for event in decoder.feed(raw):
            if event.data:
                yield int(event.id or 0), event.event, orjson.loads(event.data)


async def reference_text(client: httpx.AsyncClient) -> str:
    """The same prompt streamed by the native endpoint, never interrupted."""
    body = {"messages": [{"role": "user", "content": PROMPT}], "stream": True}
    response = await client.post(
        "/api/v1/llm-providers/chat/completions", json=body, headers=auth(ADMIN_KEY)
    )
    return text_of(parse_events(response.content))


async def test_reconnect_with_last_event_id_gets_the_rest_exactly_once(
    gateway: ThreadedServer, sim: Any
) -> None:
    sim.state.token_delay = 0.05
    sim.state.tokens = 40
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as setup:
        alice = await user_key(setup, "alice")
        expected = await reference_text(setup)
        created = await setup.post(STREAMS, json={"message": PROMPT}, headers=alice)
        assert created.status_code == 201, created.text
        stream = created.json()["data"]

    first: list[Event] = []
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as browser:
        async with browser.stream("GET", stream["events_url"]) as response:
            assert response.status_code == 200
            async for event in events_of(response):
                first.append(event)
                if len(first) == 20:
                    break  # the tab loses its connection
    last_id = first[-1][0]
    assert [e[0] for e in first] == list(range(1, 21))
    assert sim.state.streams_open == 1  # upstream keeps generating meanwhile

    second: list[Event] = []
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as browser:  # new connection
        headers = {"Last-Event-ID": str(last_id)}
        async with browser.stream("GET", stream["events_url"], headers=headers) as response:
            assert response.status_code == 200
            async for event in events_of(response):
                second.append(event)

    assert [e[0] for e in second] == list(range(21, 42))
    assert [e[1] for e in second][-1] == "done"
    assert text_of(first) + text_of(second) == expected
    assert sim.state.streams_completed >= 2
    assert sim.state.streams_aborted == 0

    done = second[-1][2]
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        messages = await messages_of(client, stream["conversation_id"], alice)
    assert [(m["role"], m["status"]) for m in messages] == [
        ("user", "complete"),
        ("assistant", "complete"),
    ]
    assert messages[0]["content"] == PROMPT
    assert messages[1]["content"] == expected
    assert messages[1]["id"] == done["message_id"]
    assert messages[1]["usage"]["completion_tokens"] == 40
    assert messages[1]["usage"]["prompt_tokens"] > 0


@pytest.mark.parametrize("gateway", [{"stream_grace_seconds": 0.5}], indirect=True)
async def test_a_stream_nobody_follows_is_cancelled_after_the_grace(
    gateway: ThreadedServer, sim: Any
) -> None:
    sim.state.token_delay = 0.1
    sim.state.tokens = 100  # ten seconds of generation
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        alice = await user_key(client, "alice")
        stream = (await client.post(STREAMS, json={"message": PROMPT}, headers=alice)).json()[
            "data"
        ]
        seen: list[Event] = []
        async with client.stream("GET", stream["events_url"]) as response:
            async for event in events_of(response):
                seen.append(event)
                if len(seen) == 3:
                    break
        left_at = time.monotonic()
        await sim.state.wait_for_async(lambda: sim.state.streams_aborted == 1, timeout=5)
        waited = time.monotonic() - left_at
        assert 0.4 <= waited < 2.0, waited
        assert sim.state.streams_open == 0

        # The buffer still replays the end, and the partial answer is stored as cancelled.
        rest = await client.get(stream["events_url"], headers={"Last-Event-ID": "3"})
        status = await client.get(f"{STREAMS}/{stream['stream_id']}", headers=alice)
        assert status.json()["data"]["status"] == "cancelled"
        tail = parse_events(rest.content)
        assert tail[0][0] == 4
        assert tail[-1][1] == "done"
        assert tail[-1][2]["finish_reason"] == "cancelled"
        messages = await messages_of(client, stream["conversation_id"], alice)
        answer = messages[-1]
        assert answer["status"] == "cancelled"
        assert answer["stats"]["cancel_reason"] == "abandoned"
        assert answer["content"] == text_of(seen) + text_of(tail)


@pytest.mark.parametrize("gateway", [{"stream_grace_seconds": 0.5}], indirect=True)
async def test_a_connected_client_keeps_the_stream_alive(gateway: ThreadedServer, sim: Any) -> None:
    sim.state.token_delay = 0.05
    sim.state.tokens = 30  # 1.5 s: three grace periods
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        alice = await user_key(client, "alice")
        stream = (await client.post(STREAMS, json={"message": PROMPT}, headers=alice)).json()[
            "data"
        ]
        async with client.stream("GET", stream["events_url"]) as response:
            events = [event async for event in events_of(response)]
    assert events[-1][1] == "done"
    assert events[-1][2]["finish_reason"] == "stop"
    assert sim.state.streams_aborted == 0


@pytest.mark.parametrize("gateway", [{"stream_grace_seconds": 0.5}], indirect=True)
async def test_a_stream_never_opened_is_cancelled_too(gateway: ThreadedServer, sim: Any) -> None:
    sim.state.token_delay = 0.1
    sim.state.tokens = 100
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        alice = await user_key(client, "alice")
        created = await client.post(STREAMS, json={"message": PROMPT}, headers=alice)
        assert created.status_code == 201
        await sim.state.wait_for_async(lambda: sim.state.streams_aborted == 1, timeout=5)
