"""A long conversation on a small-context model: the oldest turns are dropped, and said so."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bigshot_llm.sim.catalogue import ModelSpec
from bigshot_llm.sim.testing import running_sim
from tests.conversations.helpers import STREAMS, messages_of, read_all, start_stream

SMALL = ModelSpec(
    key="tiny-chat",
    type="llm",
    publisher="test",
    arch="llama",
    quantization="Q4_K_M",
    bits_per_weight=4.0,
    size_bytes=1,
    params_string="1M",
    max_context_length=512,
    display_name="Tiny",
)


@pytest.fixture
def sim() -> Iterator[Any]:
    with running_sim(models=[SMALL], loaded=["tiny-chat"], tokens=20) as server:
        yield server


async def test_oldest_turns_are_dropped_to_fit_the_window(
    client: httpx.AsyncClient, user_headers: dict[str, str], sim: Any
) -> None:
    # 512 tokens of context, 64 reserved for the answer: each turn below costs about 150.
    question = "Please think about this carefully. " * 11  # ~385 characters, ~100 tokens
    conv_id = None
    reports = []
    for turn in range(5):
        body: dict[str, Any] = {"message": f"{turn} {question}", "max_tokens": 64}
        if conv_id:
            body["conversation_id"] = conv_id
        else:
            body["system"] = "You are terse."
        created = await start_stream(client, user_headers, **body)
        conv_id = created["conversation_id"]
        events = await read_all(client, created["events_url"])
        done = events[-1][2]
        assert done["context"] == created["context"]
        reports.append(done["context"])
        sent = sim.state.last_request_body["messages"]
        assert sent[0] == {"role": "system", "content": "You are terse."}
        assert sent[1]["role"] == "user"
        assert sent[-1]["content"] == f"{turn} {question}".strip()
        assert len(sent) == 1 + 2 * turn + 1 - done["context"]["dropped_messages"]
        assert done["context"]["prompt_tokens_estimate"] <= 512 - 64

    assert [r["dropped_messages"] for r in reports[:2]] == [0, 0]
    assert reports[-1]["dropped_messages"] >= 4
    assert all(r["dropped_messages"] % 2 == 0 for r in reports)  # whole turns
    # Nothing is deleted from the conversation itself.
    assert len(await messages_of(client, conv_id, user_headers)) == 10


async def test_a_message_larger_than_the_window_is_refused_before_storing(
    client: httpx.AsyncClient, user_headers: dict[str, str]
) -> None:
    body = {"message": "word " * 500, "max_tokens": 64}
    refused = await client.post(STREAMS, json=body, headers=user_headers)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "context_length_exceeded"
    listing = await client.get("/api/v1/conversations", headers=user_headers)
    assert listing.json()["data"]["total"] == 0


@pytest.mark.parametrize("settings_overrides", [{"default_context_length": 300}])
async def test_unknown_context_lengths_use_the_default(
    client: httpx.AsyncClient, user_headers: dict[str, str], sim: Any
) -> None:
    # OpenAI's model list has no context lengths: the default applies.
    provider = {"name": "plain", "kind": "openai_compatible", "base_url": f"{sim.url}/v1"}
    added = await client.post("/api/v1/llm-providers", json=provider, headers=user_headers)
    assert added.status_code == 201, added.text
    body = {"message": "word " * 300, "provider": "plain", "max_tokens": 64}
    refused = await client.post(STREAMS, json=body, headers=user_headers)
    assert refused.status_code == 400
    assert refused.json()["error"]["details"]["context_length"] == 300
    fits = await start_stream(client, user_headers, message="short", provider="plain")
    assert fits["provider"] == "plain"
    assert fits["model"] == "tiny-chat"
