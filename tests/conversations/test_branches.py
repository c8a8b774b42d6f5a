"""Versions and branches of a conversation: regenerate, edit and resend, continue a cut
answer, choose a version, delete one message (through the ASGI app and the simulator)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conversations.helpers import (
    CONVERSATIONS,
    messages_of,
    read_all,
    start_stream,
    text_of,
)


async def _turn(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    created = await start_stream(client, headers, **body)
    events = await read_all(client, created["events_url"])
    assert events[-1][1] == "done", events[-1]
    return {**created, "events": events, "done": events[-1][2]}


async def test_regenerate_keeps_the_earlier_answer_as_a_version(
    client: httpx.AsyncClient, user_headers: dict[str, str], sim: Any
) -> None:
    first = await _turn(client, user_headers, message="tell me a story")
    conv = first["conversation_id"]
    old = first["done"]["message_id"]
    sim.state.tokens = 7  # the new version is visibly another answer
    again = await _turn(client, user_headers, conversation_id=conv, regenerate_message_id=old)
    new = again["done"]["message_id"]
    assert new != old and again["user_message_id"] == first["user_message_id"]
    assert again["done"]["usage"]["completion_tokens"] == 7

    shown = await messages_of(client, conv, user_headers)
    assert [m["id"] for m in shown] == [first["user_message_id"], new]
    assert shown[1]["siblings"] == [old, new] and shown[1]["parent_id"] == shown[0]["id"]
    # The model saw the question once, and not the earlier answer.
    sent = sim.state.last_request_body["messages"]
    assert [m["role"] for m in sent] == ["user"]

    # Flip back to the first version: it is on show, and the next turn follows it.
    back = await client.post(f"{CONVERSATIONS}/{conv}/messages/{old}/select", headers=user_headers)
    assert back.status_code == 200 and back.json()["data"]["head_message_id"] == old
    shown = await messages_of(client, conv, user_headers)
    assert shown[1]["id"] == old and shown[1]["content"] == text_of(first["events"])
    await _turn(client, user_headers, conversation_id=conv, message="and then?")
    sent = sim.state.last_request_body["messages"]
    assert sent[1] == {"role": "assistant", "content": text_of(first["events"])}


async def test_edit_and_resend_branches_and_keeps_the_earlier_branch(
    client: httpx.AsyncClient, user_headers: dict[str, str], sim: Any
) -> None:
    first = await _turn(client, user_headers, message="first question")
    conv = first["conversation_id"]
    second = await _turn(client, user_headers, conversation_id=conv, message="second question")
    edited = await _turn(
        client,
        user_headers,
        conversation_id=conv,
        edit_message_id=second["user_message_id"],
        message="second question, better",
    )
    shown = await messages_of(client, conv, user_headers)
    assert [m["content"] for m in shown[::2]] == ["first question", "second question, better"]
    assert shown[2]["siblings"] == [second["user_message_id"], edited["user_message_id"]]
    sent = [m["content"] for m in sim.state.last_request_body["messages"]]
    assert sent[-1] == "second question, better" and "second question" not in sent

    # The earlier branch, answer included, is one click away.
    picked = await client.post(
        f"{CONVERSATIONS}/{conv}/messages/{second['user_message_id']}/select",
        headers=user_headers,
    )
    assert picked.json()["data"]["head_message_id"] == second["done"]["message_id"]
    shown = await messages_of(client, conv, user_headers)
    assert [m["content"] for m in shown][2] == "second question"
    assert shown[3]["id"] == second["done"]["message_id"]


async def test_continue_an_answer_cut_at_max_tokens(
    client: httpx.AsyncClient, user_headers: dict[str, str], sim: Any
) -> None:
    cut = await _turn(client, user_headers, message="say a lot", max_tokens=5)
    assert cut["done"]["finish_reason"] == "length"
    conv, answer = cut["conversation_id"], cut["done"]["message_id"]
    start = text_of(cut["events"])
    more = await _turn(
        client, user_headers, conversation_id=conv, continue_message_id=answer, max_tokens=50
    )
    assert more["done"]["message_id"] == answer
    assert more["continues_message_id"] == answer  # so a reloaded page grows it in place
    sent = sim.state.last_request_body["messages"]
    assert sent[-1] == {"role": "assistant", "content": start}  # the model goes on from it
    shown = await messages_of(client, conv, user_headers)
    assert len(shown) == 2
    assert shown[1]["content"] == start + text_of(more["events"])
    assert shown[1]["stats"]["finish_reason"] == more["done"]["finish_reason"] == "stop"
    assert shown[1]["stats"]["continued"] == 1
    assert shown[1]["usage"]["completion_tokens"] == 5 + more["done"]["usage"]["completion_tokens"]

    # A finished answer cannot be continued: a 422 naming the field.
    refused = await client.post(
        "/api/v1/chat/streams",
        json={"conversation_id": conv, "continue_message_id": answer},
        headers=user_headers,
    )
    assert refused.status_code == 422
    assert "continue_message_id" in refused.json()["error"]["message"]


async def test_redo_requests_are_checked(
    client: httpx.AsyncClient, user_headers: dict[str, str], other_headers: dict[str, str]
) -> None:
    turn = await _turn(client, user_headers, message="hello")
    conv, answer, question = (
        turn["conversation_id"],
        turn["done"]["message_id"],
        turn["user_message_id"],
    )
    cases = [
        ({"conversation_id": conv, "regenerate_message_id": question}, "is a user message"),
        ({"conversation_id": conv, "edit_message_id": answer, "message": "x"}, "assistant"),
        ({"conversation_id": conv, "regenerate_message_id": "nope"}, "not a message"),
        ({"conversation_id": conv, "edit_message_id": question}, "needs the new `message`"),
        ({"regenerate_message_id": answer}, "give its id"),
        (
            {"conversation_id": conv, "regenerate_message_id": answer, "message": "x"},
            "takes no `message`",
        ),
    ]
    for body, reason in cases:
        refused = await client.post("/api/v1/chat/streams", json=body, headers=user_headers)
        assert refused.status_code == 422, (body, refused.text)
        assert reason in refused.text, (body, refused.text)
    # Someone else's message: their conversation is not found.
    other = await client.post(
        "/api/v1/chat/streams",
        json={"conversation_id": conv, "regenerate_message_id": answer},
        headers=other_headers,
    )
    assert other.status_code == 404
    assert len(await messages_of(client, conv, user_headers)) == 2  # nothing was stored


async def test_delete_one_message_keeps_what_followed_it(
    client: httpx.AsyncClient, user_headers: dict[str, str], other_headers: dict[str, str]
) -> None:
    one = await _turn(client, user_headers, message="one")
    conv = one["conversation_id"]
    two = await _turn(client, user_headers, conversation_id=conv, message="two")
    url = f"{CONVERSATIONS}/{conv}/messages/{two['user_message_id']}"
    assert (await client.delete(url, headers=other_headers)).status_code == 404
    deleted = await client.delete(url, headers=user_headers)
    assert deleted.status_code == 200 and deleted.json()["data"]["deleted"] is True
    shown = await messages_of(client, conv, user_headers)
    assert [m["id"] for m in shown] == [
        one["user_message_id"],
        one["done"]["message_id"],
        two["done"]["message_id"],
    ]
    assert shown[2]["parent_id"] == one["done"]["message_id"]
    # Deleting the last answer shows the message before it; a second delete is a 404.
    last = f"{CONVERSATIONS}/{conv}/messages/{two['done']['message_id']}"
    assert (await client.delete(last, headers=user_headers)).status_code == 200
    assert (await client.delete(last, headers=user_headers)).status_code == 404
    got = await client.get(f"{CONVERSATIONS}/{conv}", headers=user_headers)
    assert got.json()["data"]["head_message_id"] == one["done"]["message_id"]


async def test_versions_and_deletes_wait_for_a_running_stream(
    client: httpx.AsyncClient, user_headers: dict[str, str], sim: Any
) -> None:
    first = await _turn(client, user_headers, message="hi")
    conv, answer = first["conversation_id"], first["done"]["message_id"]
    sim.state.token_delay = 0.2
    sim.state.tokens = 200
    running = await start_stream(client, user_headers, conversation_id=conv, message="go on")
    try:
        for method, url in (
            ("POST", f"{CONVERSATIONS}/{conv}/messages/{answer}/select"),
            ("DELETE", f"{CONVERSATIONS}/{conv}/messages/{answer}"),
        ):
            busy = await client.request(method, url, headers=user_headers)
            assert busy.status_code == 409 and busy.json()["error"]["code"] == "stream_running"
    finally:
        await client.delete(f"/api/v1/chat/streams/{running['stream_id']}", headers=user_headers)
