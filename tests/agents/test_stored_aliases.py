"""Stored model aliases (made through the API, no setting): Claude Code's and Codex's model
names reach a local model on every surface, over real sockets with the official SDKs."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import pytest
from openai import OpenAI

from tests.agents.conftest import CHAT_MODEL, REASONING_MODEL, sse_events

ALIASES = "/api/v1/llm-providers/aliases"
EMBED_MODEL = "text-embedding-nomic-embed-text-v1.5"


@pytest.fixture
def aliased(http: httpx.Client) -> dict[str, str]:
    """Global aliases for the names the agents send by default."""
    made = {}
    for name, model in (
        ("claude-sonnet-4-5", CHAT_MODEL),
        ("claude-*", CHAT_MODEL),
        ("gpt-5-codex", REASONING_MODEL),
        ("text-embedding-3-small", EMBED_MODEL),
    ):
        answer = http.post(
            ALIASES, json={"name": name, "provider_id": "LMStudio Local", "model": model}
        )
        assert answer.status_code == 201, answer.text
        made[name] = answer.json()["data"]["id"]
    return made


def test_messages_resolve_exact_and_prefix_names(
    claude: anthropic.Anthropic, sim: Any, aliased: dict[str, str]
) -> None:
    for name in ("claude-sonnet-4-5", "claude-haiku-4-5-20251001"):
        message = claude.messages.create(
            model=name, max_tokens=16, messages=[{"role": "user", "content": "hi"}]
        )
        assert message.model == name
        assert sim.state.last_request_body["model"] == CHAT_MODEL
    with claude.messages.stream(
        model="claude-sonnet-4-5", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        text = "".join(stream.text_stream)
    assert text and sim.state.last_request_body["model"] == CHAT_MODEL


def test_responses_chat_and_embeddings_resolve(
    codex: OpenAI, sim: Any, aliased: dict[str, str]
) -> None:
    response = codex.responses.create(model="gpt-5-codex", input="What is 2+2?")
    assert response.model == "gpt-5-codex"
    assert sim.state.last_request_body["model"] == REASONING_MODEL
    assert [o.type for o in response.output] == ["reasoning", "message"]

    events = list(codex.responses.create(model="gpt-5-codex", input="hi", stream=True))
    assert events[-1].type == "response.completed"
    assert sim.state.last_request_body["model"] == REASONING_MODEL

    chat = codex.chat.completions.create(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "hi"}]
    )
    assert chat.choices[0].message.content
    assert sim.state.last_request_body["model"] == CHAT_MODEL

    vectors = codex.embeddings.create(model="text-embedding-3-small", input="hello")
    assert len(vectors.data[0].embedding) > 0
    assert sim.state.last_request_body["model"] == EMBED_MODEL


def test_models_lists_name_the_target(
    codex: OpenAI, claude: anthropic.Anthropic, aliased: dict[str, str]
) -> None:
    entries = {m.id: m for m in codex.models.list()}
    assert entries["gpt-5-codex"].owned_by == "LMStudio Local"
    assert entries["gpt-5-codex"].model_extra == {"alias_for": f"LMStudio Local/{REASONING_MODEL}"}
    assert "claude-*" not in entries
    assert codex.models.retrieve("claude-sonnet-4-5").id == "claude-sonnet-4-5"
    assert "claude-sonnet-4-5" in [m.id for m in claude.models.list().data]


def test_native_generate_chat_streams_and_compare_resolve(
    http: httpx.Client, sim: Any, aliased: dict[str, str]
) -> None:
    native = http.post(
        "/api/v1/llm-providers/chat/completions",
        json={"model": "gpt-5-codex", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert native.status_code == 200, native.text
    assert sim.state.last_request_body["model"] == REASONING_MODEL

    started = http.post(
        "/api/v1/chat/streams",
        json={"message": "hello", "model": "claude-sonnet-4-5", "provider": "LMStudio Local"},
    )
    assert started.status_code == 201, started.text
    stream = started.json()["data"]
    events = sse_events(http.get(stream["events_url"]).text)
    assert events[-1][0] == "done"
    assert sim.state.last_request_body["model"] == CHAT_MODEL
    # The conversation remembers the alias (it follows the alias when that changes), the
    # answer the model that wrote it.
    conversation = http.get(f"/api/v1/conversations/{stream['conversation_id']}").json()["data"]
    assert conversation["model"] == "claude-sonnet-4-5"
    messages = http.get(f"/api/v1/conversations/{stream['conversation_id']}/messages")
    assert messages.json()["data"]["items"][-1]["model"] == CHAT_MODEL

    with http.stream(
        "POST",
        "/api/v1/compare",
        json={
            "prompt": "hi",
            "params": {"max_tokens": 8},
            "targets": [
                {"provider": "LMStudio Local", "model": "gpt-5-codex"},
                {"provider": "LMStudio Local", "model": "claude-sonnet-4-5"},
            ],
        },
    ) as response:
        assert response.status_code == 200
        body = response.read().decode()
    compared = [(name, json.loads(data)) for name, data in sse_events(body)]
    assert compared[-1][0] == "end" and compared[-1][1]["status"] == "complete"
    done = {d["target"]: d["model"] for name, d in compared if name == "done"}
    assert done == {0: REASONING_MODEL, 1: CHAT_MODEL}


def test_a_changed_alias_applies_to_the_next_request(
    codex: OpenAI, http: httpx.Client, sim: Any, aliased: dict[str, str]
) -> None:
    changed = http.patch(f"{ALIASES}/{aliased['gpt-5-codex']}", json={"model": CHAT_MODEL})
    assert changed.status_code == 200, changed.text
    codex.chat.completions.create(model="gpt-5-codex", messages=[{"role": "user", "content": "x"}])
    assert sim.state.last_request_body["model"] == CHAT_MODEL
    assert http.delete(f"{ALIASES}/{aliased['gpt-5-codex']}").status_code == 200
    with pytest.raises(Exception, match="gpt-5-codex"):
        codex.chat.completions.create(
            model="gpt-5-codex", messages=[{"role": "user", "content": "x"}]
        )
