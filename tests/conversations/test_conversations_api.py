"""Conversation CRUD and preferences, on SQLite and Postgres; private to their owner."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conversations.helpers import CONVERSATIONS, messages_of, read_all, start_stream

BOTH_DATABASES = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
PREFS = "/api/v1/me/preferences"


@BOTH_DATABASES
async def test_conversation_crud(client: httpx.AsyncClient, user_headers: dict[str, str]) -> None:
    body = {"title": "Plans", "model": "qwen2.5-7b-instruct", "settings": {"temperature": 0.3}}
    created = await client.post(CONVERSATIONS, json=body, headers=user_headers)
    assert created.status_code == 201, created.text
    conv = created.json()["data"]
    assert conv["title"] == "Plans"
    assert conv["settings"] == {"temperature": 0.3}
    assert conv["active_stream_id"] is None

    second = (await client.post(CONVERSATIONS, json={}, headers=user_headers)).json()["data"]
    listing = (await client.get(CONVERSATIONS, headers=user_headers)).json()["data"]
    assert listing["total"] == 2
    assert [c["id"] for c in listing["items"]] == [second["id"], conv["id"]]  # newest first
    page = (await client.get(f"{CONVERSATIONS}?limit=1&offset=1", headers=user_headers)).json()
    assert [c["id"] for c in page["data"]["items"]] == [conv["id"]]

    url = f"{CONVERSATIONS}/{conv['id']}"
    patched = await client.patch(
        url,
        json={"title": "Renamed", "model": None, "settings": {"system": "be brief"}},
        headers=user_headers,
    )
    assert patched.status_code == 200, patched.text
    data = patched.json()["data"]
    assert (data["title"], data["model"], data["settings"]) == (
        "Renamed",
        None,
        {"system": "be brief"},
    )
    assert (await client.get(url, headers=user_headers)).json()["data"]["title"] == "Renamed"
    listing = (await client.get(CONVERSATIONS, headers=user_headers)).json()["data"]
    assert listing["items"][0]["id"] == conv["id"]  # touched: most recent again

    assert (await client.delete(url, headers=user_headers)).json()["data"]["deleted"] is True
    assert (await client.get(url, headers=user_headers)).status_code == 404
    assert (await client.get(CONVERSATIONS, headers=user_headers)).json()["data"]["total"] == 1


@BOTH_DATABASES
async def test_messages_are_paged_oldest_first_and_deleted_with_the_conversation(
    client: httpx.AsyncClient, user_headers: dict[str, str], sim: Any
) -> None:
    sim.state.tokens = 5
    first = await start_stream(client, user_headers, message="first question")
    await read_all(client, first["events_url"])
    second = await start_stream(
        client, user_headers, message="second question", conversation_id=first["conversation_id"]
    )
    await read_all(client, second["events_url"])
    conv_id = first["conversation_id"]
    messages = await messages_of(client, conv_id, user_headers)
    assert [(m["role"], m["status"]) for m in messages] == [
        ("user", "complete"),
        ("assistant", "complete"),
        ("user", "complete"),
        ("assistant", "complete"),
    ]
    assert messages[2]["content"] == "second question"
    page = await client.get(
        f"{CONVERSATIONS}/{conv_id}/messages?limit=2&offset=2", headers=user_headers
    )
    assert [m["id"] for m in page.json()["data"]["items"]] == [m["id"] for m in messages[2:]]
    assert page.json()["data"]["total"] == 4
    conv = (await client.get(f"{CONVERSATIONS}/{conv_id}", headers=user_headers)).json()["data"]
    assert conv["title"] == "first question"

    await client.delete(f"{CONVERSATIONS}/{conv_id}", headers=user_headers)
    gone = await client.get(f"{CONVERSATIONS}/{conv_id}/messages", headers=user_headers)
    assert gone.status_code == 404


async def test_conversations_are_private_even_from_admins(
    client: httpx.AsyncClient,
    user_headers: dict[str, str],
    other_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    conv = (await client.post(CONVERSATIONS, json={}, headers=user_headers)).json()["data"]
    url = f"{CONVERSATIONS}/{conv['id']}"
    for headers in (other_headers, admin_headers):
        assert (await client.get(url, headers=headers)).status_code == 404
        assert (await client.get(f"{url}/messages", headers=headers)).status_code == 404
        patched = await client.patch(url, json={"title": "mine"}, headers=headers)
        assert patched.status_code == 404
        assert (await client.delete(url, headers=headers)).status_code == 404
        assert (await client.get(CONVERSATIONS, headers=headers)).json()["data"]["total"] == 0
        stolen = await client.post(
            "/api/v1/chat/streams",
            json={"conversation_id": conv["id"], "message": "hi"},
            headers=headers,
        )
        assert stolen.status_code == 404
    assert (await client.get(url, headers=user_headers)).json()["data"]["title"] is None
    assert (await client.get(CONVERSATIONS)).status_code == 401


async def test_a_turn_on_a_deleted_conversation_names_the_field(
    client: httpx.AsyncClient, user_headers: dict[str, str]
) -> None:
    """The UI tells "that chat is gone" (start a new one) from "that model is gone"."""
    conv = (await client.post(CONVERSATIONS, json={}, headers=user_headers)).json()["data"]
    assert (await client.delete(f"{CONVERSATIONS}/{conv['id']}", headers=user_headers)).is_success
    answer = await client.post(
        "/api/v1/chat/streams",
        json={"conversation_id": conv["id"], "message": "hi"},
        headers=user_headers,
    )
    assert answer.status_code == 404
    error = answer.json()["error"]
    assert error["code"] == "not_found"
    assert [d["field"] for d in error["details"]] == ["conversation_id"]


@pytest.mark.parametrize(
    "body",
    [
        {"title": ""},
        {"settings": {"temperature": 3}},
        {"settings": {"max_tokens": 0}},
        {"settings": {"system": "x" * 8001}},
        {"colour": "red"},
    ],
)
async def test_conversation_validation(
    client: httpx.AsyncClient, user_headers: dict[str, str], body: dict[str, Any]
) -> None:
    response = await client.post(CONVERSATIONS, json=body, headers=user_headers)
    assert response.status_code == 422, response.text


@BOTH_DATABASES
async def test_preferences_round_trip(
    client: httpx.AsyncClient, user_headers: dict[str, str], other_headers: dict[str, str]
) -> None:
    assert (await client.get(PREFS, headers=user_headers)).json()["data"] == {}
    prefs = {"temperature": 0.7, "max_tokens": 512, "system_prompt": "be kind", "theme": "dark"}
    put = await client.put(PREFS, json=prefs, headers=user_headers)
    assert put.status_code == 200, put.text
    assert put.json()["data"] == prefs
    assert (await client.get(PREFS, headers=user_headers)).json()["data"] == prefs
    assert (await client.get(PREFS, headers=other_headers)).json()["data"] == {}
    replaced = await client.put(PREFS, json={"model": "m"}, headers=user_headers)
    assert replaced.json()["data"] == {"model": "m"}
    assert (await client.get(PREFS, headers=user_headers)).json()["data"] == {"model": "m"}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"temperature": 2.5}, 422),
        ({"max_tokens": 262_145}, 422),
        ({"system_prompt": "x" * 8001}, 422),
        ({"theme": "neon"}, 422),
        ({"unknown": 1}, 422),
        ([1, 2], 422),
        ({"system_prompt": "€" * 8000}, 413),  # 24 000 bytes of UTF-8
    ],
)
async def test_preferences_validation(
    client: httpx.AsyncClient, user_headers: dict[str, str], body: Any, status: int
) -> None:
    response = await client.put(PREFS, json=body, headers=user_headers)
    assert response.status_code == status, response.text
    assert (await client.get(PREFS, headers=user_headers)).json()["data"] == {}
