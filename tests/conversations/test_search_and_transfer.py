"""Search across a user's history; export a conversation as JSON and import it (strictly
validated), and saved parameter presets."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from tests.conversations.helpers import CONVERSATIONS, messages_of, read_all, start_stream

SEARCH = f"{CONVERSATIONS}/search"
IMPORT = f"{CONVERSATIONS}/import"


async def _chat(client: httpx.AsyncClient, headers: dict[str, str], text: str, **body: Any) -> str:
    created = await start_stream(client, headers, message=text, **body)
    await read_all(client, created["events_url"])
    return str(created["conversation_id"])


async def test_search_finds_titles_and_messages_of_your_own_chats_only(
    client: httpx.AsyncClient,
    user_headers: dict[str, str],
    other_headers: dict[str, str],
    sim: Any,
) -> None:
    blue = await _chat(client, user_headers, "Where is the Blue door?")
    await client.patch(f"{CONVERSATIONS}/{blue}", json={"title": "Doors"}, headers=user_headers)
    red = await _chat(client, user_headers, "the red house")
    await _chat(client, user_headers, "something 100% else")
    await _chat(client, other_headers, "my blue door too")

    found = await client.get(SEARCH, params={"q": "blue DOOR"}, headers=user_headers)
    assert found.status_code == 200, found.text
    page = found.json()["data"]
    assert page["total"] == 1 and page["items"][0]["conversation"]["id"] == blue
    hit = page["items"][0]
    assert hit["role"] == "user" and hit["snippet"] == "Where is the Blue door?"
    by_title = (await client.get(SEARCH, params={"q": "doors"}, headers=user_headers)).json()
    assert by_title["data"]["items"][0]["message_id"] is None
    assert by_title["data"]["items"][0]["snippet"] == "Doors"
    # % and _ are matched as themselves, not as wildcards.
    literal = (await client.get(SEARCH, params={"q": "0% e"}, headers=user_headers)).json()
    assert literal["data"]["total"] == 1
    wild = (await client.get(SEARCH, params={"q": "%"}, headers=user_headers)).json()
    assert wild["data"]["total"] == 1

    # Paginated, newest activity first.
    first = (await client.get(SEARCH, params={"q": "e", "limit": 1}, headers=user_headers)).json()
    assert first["data"]["total"] == 3 and len(first["data"]["items"]) == 1
    second = await client.get(
        SEARCH, params={"q": "e", "limit": 1, "offset": 1}, headers=user_headers
    )
    assert second.json()["data"]["items"][0]["conversation"]["id"] == red

    for bad in ({"q": ""}, {"q": "   "}, {}, {"q": "x" * 201}):
        refused = await client.get(SEARCH, params=bad, headers=user_headers)
        assert refused.status_code == 422, (bad, refused.text)
        assert "q" in refused.json()["error"]["message"]


async def test_export_then_import_keeps_every_branch(
    client: httpx.AsyncClient,
    user_headers: dict[str, str],
    other_headers: dict[str, str],
    sim: Any,
) -> None:
    conv = await _chat(client, user_headers, "one", system="be kind", temperature=0.3)
    shown = await messages_of(client, conv, user_headers)
    again = await start_stream(
        client, user_headers, conversation_id=conv, regenerate_message_id=shown[1]["id"]
    )
    await read_all(client, again["events_url"])

    exported = await client.get(f"{CONVERSATIONS}/{conv}/export", headers=user_headers)
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    file = exported.json()
    assert file["format"] == "bigshot-llm.conversation" and file["version"] == 2
    assert [m["role"] for m in file["messages"]] == ["user", "assistant", "assistant"]
    assert (
        await client.get(f"{CONVERSATIONS}/{conv}/export", headers=other_headers)
    ).status_code == 404

    imported = await client.post(IMPORT, json=file, headers=other_headers)
    assert imported.status_code == 201, imported.text
    new = imported.json()["data"]
    assert new["id"] != conv and new["title"] == "one"
    assert new["settings"] == {"system": "be kind", "temperature": 0.3}
    theirs = await messages_of(client, new["id"], other_headers)
    assert [m["content"] for m in theirs] == [
        m["content"] for m in await messages_of(client, conv, user_headers)
    ]
    assert len(theirs[1]["siblings"]) == 2 and conv not in theirs[1]["id"]
    mine = (await client.get(CONVERSATIONS, headers=user_headers)).json()["data"]
    assert new["id"] not in [c["id"] for c in mine["items"]]  # the importer's, not the owner's


async def test_an_earlier_ui_export_imports_as_one_branch(
    client: httpx.AsyncClient, user_headers: dict[str, str]
) -> None:
    file = {
        "format": "bigshot-llm.conversation",
        "version": 1,
        "exported_at": "2026-12-01T10:00:00Z",
        "conversation": {
            "id": "abc",
            "title": "Old",
            "model": "m",
            "provider": None,
            "created_at": "2026-12-01T09:00:00Z",
        },
        "messages": [
            {
                "id": "u1",
                "role": "user",
                "content": "hi",
                "status": "complete",
                "model": None,
                "usage": None,
                "stats": None,
                "error": None,
            },
            {
                "id": "a1",
                "role": "assistant",
                "content": "hello",
                "status": "complete",
                "model": "m",
                "usage": {"completion_tokens": 1},
                "stats": {"finish_reason": "stop"},
                "error": None,
            },
            {
                "id": "u2",
                "role": "user",
                "content": "bye",
                "status": "complete",
                "model": None,
                "usage": None,
                "stats": None,
                "error": None,
            },
        ],
    }
    imported = await client.post(IMPORT, json=file, headers=user_headers)
    assert imported.status_code == 201, imported.text
    shown = await messages_of(client, imported.json()["data"]["id"], user_headers)
    assert [m["content"] for m in shown] == ["hi", "hello", "bye"]
    assert shown[2]["parent_id"] == shown[1]["id"]


GOOD = {
    "format": "bigshot-llm.conversation",
    "version": 2,
    "conversation": {"title": "t"},
    "messages": [
        {"id": "a", "role": "user", "content": "q"},
        {"id": "b", "parent_id": "a", "role": "assistant", "content": "r"},
    ],
}


def _bad(path: str, value: Any) -> dict[str, Any]:
    file = copy.deepcopy(GOOD)
    target: Any = file
    *parents, last = path.split(".")
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    if value is KeyError:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return file


@pytest.mark.parametrize(
    ("file", "names"),
    [
        (_bad("format", "something-else"), "format"),
        (_bad("version", 9), "version"),
        (_bad("messages.1.parent_id", "zzz"), "messages.1.parent_id"),
        (_bad("messages.1.id", "a"), "messages.1.id"),
        (_bad("messages.1.role", "robot"), "role"),
        (_bad("messages.0.content", KeyError), "content"),
        (_bad("messages.0.surprise", 1), "surprise"),
        (_bad("head_message_id", "nope"), "head_message_id"),
        (_bad("conversation.settings", {"temperature": 5}), "temperature"),
        (
            _bad("messages.1.parts", [{"type": "image_url", "image_url": {"url": "data:x"}}]),
            "only user messages may contain images",
        ),
        (_bad("messages.1.role", "tool"), "tool_call_id"),
    ],
)
async def test_bad_import_files_are_refused_with_the_reason(
    client: httpx.AsyncClient, user_headers: dict[str, str], file: Any, names: str
) -> None:
    refused = await client.post(IMPORT, json=file, headers=user_headers)
    assert refused.status_code == 422, refused.text
    assert names in refused.text
    listed = (await client.get(CONVERSATIONS, headers=user_headers)).json()["data"]
    assert listed["total"] == 0  # nothing half-imported


async def test_a_file_that_is_not_json_is_a_4xx(
    client: httpx.AsyncClient, user_headers: dict[str, str]
) -> None:
    refused = await client.post(
        IMPORT,
        content=b"# My chat\n\nnot json",
        headers={**user_headers, "Content-Type": "application/json"},
    )
    assert 400 <= refused.status_code < 500 and refused.json()["success"] is False


async def test_presets_are_saved_with_the_preferences(
    client: httpx.AsyncClient, user_headers: dict[str, str]
) -> None:
    presets = [
        {"name": "Terse", "system_prompt": "Answer in one line.", "temperature": 0.1},
        {"name": "Long", "max_tokens": 100_000},
    ]
    saved = await client.put(
        "/api/v1/me/preferences", json={"presets": presets}, headers=user_headers
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["data"]["presets"] == presets
    twice = await client.put(
        "/api/v1/me/preferences",
        json={"presets": [{"name": "A"}, {"name": "a"}]},
        headers=user_headers,
    )
    assert twice.status_code == 422 and "unique" in twice.text
