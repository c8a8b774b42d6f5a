"""Chat streams through the ASGI app: events, storage, stop, limits, access and failures."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.conversations.helpers import (
    STREAMS,
    messages_of,
    parse_events,
    read_all,
    start_stream,
    text_of,
)

CHAT = "/api/v1/llm-providers/chat/completions"


async def test_stream_answers_and_stores_both_messages(
    client: httpx.AsyncClient, user_headers: dict[str, str], sim: Any
) -> None:
    created = await start_stream(
        client, user_headers, message="hello there", temperature=0.2, max_tokens=100
    )
    assert created["status"] == "running"
    assert created["context"] == {"dropped_messages": 0, "prompt_tokens_estimate": 7}
    assert created["events_url"].startswith(f"{STREAMS}/{created['stream_id']}/events?token=")
    events = await read_all(client, created["events_url"])
    ids = [event_id for event_id, _, _ in events]
    assert ids == list(range(1, len(events) + 1))
    assert [name for _, name, _ in events] == ["delta"] * 20 + ["done"]
    done = events[-1][2]
    assert done["finish_reason"] == "stop"
    assert done["usage"]["completion_tokens"] == 20
    assert done["context"] == created["context"]
    assert done["conversation_id"] == created["conversation_id"]
    assert sim.state.last_request_body["temperature"] == 0.2
    assert sim.state.last_request_body["max_tokens"] == 100

    messages = await messages_of(client, created["conversation_id"], user_headers)
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[0]["id"] == created["user_message_id"]
    answer = messages[1]
    assert answer["id"] == done["message_id"]
    assert answer["content"] == text_of(events)
    assert answer["status"] == "complete"
    assert answer["usage"]["completion_tokens"] == 20
    assert answer["stats"]["finish_reason"] == "stop"
    assert answer["model"] == "qwen2.5-7b-instruct"

    status = await client.get(f"{STREAMS}/{created['stream_id']}", headers=user_headers)
    assert status.json()["data"]["status"] == "complete"
    assert status.json()["data"]["last_event_id"] == 21
    # Over and fully read: 204 tells EventSource not to reconnect.
    finished = await client.get(created["events_url"], headers={"Last-Event-ID": "21"})
    assert finished.status_code == 204
    replay = await client.get(created["events_url"] + "&last_event_id=19")
    assert [e[0] for e in parse_events(replay.content)] == [20, 21]

    conv = await client.get(
        f"/api/v1/conversations/{created['conversation_id']}", headers=user_headers
    )
    assert conv.json()["data"]["settings"] == {"temperature": 0.2, "max_tokens": 100}


async def test_follow_up_turns_carry_the_history(
    client: httpx.AsyncClient, user_headers: dict[str, str], sim: Any
) -> None:
    sim.state.tokens = 3
    first = await start_stream(client, user_headers, message="one", system="be brief")
    await read_all(client, first["events_url"])
    second = await start_stream(
        client, user_headers, message="two", conversation_id=first["conversation_id"]
    )
    await read_all(client, second["events_url"])
    sent = sim.state.last_request_body["messages"]
    assert [(m["role"], m["content"]) for m in sent][:2] == [
        ("system", "be brief"),
        ("user", "one"),
    ]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert second["conversation_id"] == first["conversation_id"]


async def test_header_auth_works_for_the_owner_only(
    client: httpx.AsyncClient,
    user_headers: dict[str, str],
    other_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    mine = await start_stream(client, user_headers, message="secret")
    theirs = await start_stream(client, other_headers, message="other secret")
    stream_url = f"{STREAMS}/{mine['stream_id']}"
    events = await read_all(client, f"{stream_url}/events", headers=user_headers)
    assert events[-1][1] == "done"

    for headers in (other_headers, admin_headers):
        assert (await client.get(f"{stream_url}/events", headers=headers)).status_code == 404
        assert (await client.get(stream_url, headers=headers)).status_code == 404
        assert (await client.delete(stream_url, headers=headers)).status_code == 404
    # Another stream's token opens nothing here; a token is no API key; nothing is 401.
    their_token = theirs["events_url"].split("token=")[1]
    wrong = await client.get(f"{stream_url}/events?token={their_token}")
    assert wrong.status_code == 404
    assert (await client.get(f"{stream_url}/events?token=forged")).status_code == 404
    assert (await client.get(f"{stream_url}/events")).status_code == 401
    my_token = mine["events_url"].split("token=")[1]
    for path in ("/api/v1/me", stream_url, "/api/v1/conversations"):
        bearer = {"Authorization": f"Bearer {my_token}"}
        assert (await client.get(path, headers=bearer)).status_code == 401
        assert (await client.get(f"{path}?token={my_token}")).status_code == 401


async def test_stop_button_cancels_and_keeps_the_partial_answer(
    client: httpx.AsyncClient, user_headers: dict[str, str], sim: Any
) -> None:
    sim.state.token_delay = 0.05
    sim.state.tokens = 200
    created = await start_stream(client, user_headers, message="a long story")
    await sim.state.wait_for_async(lambda: sim.state.streams_open == 1, timeout=5)
    await asyncio.sleep(0.3)
    stopped = await client.delete(f"{STREAMS}/{created['stream_id']}", headers=user_headers)
    assert stopped.status_code == 200
    assert stopped.json()["data"]["status"] == "cancelled"
    await sim.state.wait_for_async(lambda: sim.state.streams_aborted == 1, timeout=2)

    events = await read_all(client, created["events_url"])
    assert events[-1][1] == "done"
    assert events[-1][2]["finish_reason"] == "cancelled"
    partial = text_of(events)
    assert 0 < len(events) - 1 < 200
    messages = await messages_of(client, created["conversation_id"], user_headers)
    answer = messages[-1]
    assert (answer["role"], answer["status"], answer["content"]) == (
        "assistant",
        "cancelled",
        partial,
    )
    assert answer["stats"]["cancel_reason"] == "stopped"
    assert answer["stats"]["usage_estimated"] is True  # upstream never sent its usage
    assert answer["usage"]["completion_tokens"] >= len(events) - 1
    again = await client.delete(f"{STREAMS}/{created['stream_id']}", headers=user_headers)
    assert again.json()["data"]["status"] == "cancelled"


@pytest.mark.parametrize("settings_overrides", [{"max_streams_user": 2}])
async def test_concurrent_streams_per_user_are_limited(
    client: httpx.AsyncClient,
    user_headers: dict[str, str],
    other_headers: dict[str, str],
    sim: Any,
) -> None:
    sim.state.token_delay = 0.05
    sim.state.tokens = 100
    first = await start_stream(client, user_headers, message="a")
    await start_stream(client, user_headers, message="b")
    refused = await client.post(STREAMS, json={"message": "c"}, headers=user_headers)
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "too_many_streams"  # the one stream cap of every surface
    assert "2 at a time" in error["message"]
    await start_stream(client, other_headers, message="other users are not affected")
    # A running conversation takes one stream at a time.
    busy = await client.post(
        STREAMS,
        json={"message": "again", "conversation_id": first["conversation_id"]},
        headers=other_headers,
    )
    assert busy.status_code == 404
    await client.delete(f"{STREAMS}/{first['stream_id']}", headers=user_headers)
    await start_stream(client, user_headers, message="d")


async def test_one_running_stream_per_conversation(
    client: httpx.AsyncClient, user_headers: dict[str, str], sim: Any
) -> None:
    sim.state.token_delay = 0.05
    sim.state.tokens = 100
    first = await start_stream(client, user_headers, message="a")
    conv_id = first["conversation_id"]
    conv = await client.get(f"/api/v1/conversations/{conv_id}", headers=user_headers)
    assert conv.json()["data"]["active_stream_id"] == first["stream_id"]
    busy = await client.post(
        STREAMS, json={"message": "b", "conversation_id": conv_id}, headers=user_headers
    )
    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "stream_running"
    # Deleting the conversation stops its stream first.
    await client.delete(f"/api/v1/conversations/{conv_id}", headers=user_headers)
    await sim.state.wait_for_async(lambda: sim.state.streams_aborted == 1, timeout=2)
    status = await client.get(f"{STREAMS}/{first['stream_id']}", headers=user_headers)
    assert status.json()["data"]["status"] == "cancelled"


@pytest.mark.parametrize(
    ("fault", "code"),
    [("drop_mid_stream", "bad_upstream_response"), ("http_500", "bad_upstream_response")],
)
async def test_upstream_failure_is_an_error_event_and_an_error_message(
    client: httpx.AsyncClient, user_headers: dict[str, str], sim: Any, fault: str, code: str
) -> None:
    warm_up = await start_stream(client, user_headers, message="hi")  # caches the model list
    await read_all(client, warm_up["events_url"])
    sim.state.set_fault(fault, after=2)
    created = await start_stream(client, user_headers, message="fail please")
    events = await read_all(client, created["events_url"])
    assert events[-1][1] == "error"
    assert events[-1][2]["code"] == code
    messages = await messages_of(client, created["conversation_id"], user_headers)
    answer = messages[-1]
    assert answer["status"] == "error"
    assert answer["error"]["code"] == code
    assert answer["content"] == text_of(events)


async def test_failure_before_generation_stores_nothing(
    client: httpx.AsyncClient, user_headers: dict[str, str], sim: Any
) -> None:
    sim.state.set_fault("http_500")  # the model list cannot be fetched: no model to pick
    refused = await client.post(STREAMS, json={"message": "hi"}, headers=user_headers)
    assert refused.status_code == 502
    listing = await client.get("/api/v1/conversations", headers=user_headers)
    assert listing.json()["data"]["total"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"message": ""},
        {"message": "x", "temperature": 2.5},
        {"message": "x", "max_tokens": 0},
        {"message": "x", "system": "s" * 8001},
        {"message": "x", "stream": True},
        {},
    ],
)
async def test_stream_request_validation(
    client: httpx.AsyncClient, user_headers: dict[str, str], body: dict[str, Any]
) -> None:
    response = await client.post(STREAMS, json=body, headers=user_headers)
    assert response.status_code == 422, response.text


async def test_bad_last_event_id_and_unknown_streams(
    client: httpx.AsyncClient, user_headers: dict[str, str]
) -> None:
    created = await start_stream(client, user_headers, message="hi")
    bad = await client.get(created["events_url"], headers={"Last-Event-ID": "abc"})
    assert bad.status_code == 400
    assert (await client.get(f"{STREAMS}/nope", headers=user_headers)).status_code == 404
    missing = await client.get(f"{STREAMS}/nope/events", headers=user_headers)
    assert missing.status_code == 404
