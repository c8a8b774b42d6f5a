"""The server, not the record: who may change a server's state (load, unload, exclusive
loading, a JIT load by naming a model) is decided by the server a provider points at, and
user keys reach the upstream only with the fields a generation needs (simulator sockets)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_KEY, auth

ADMIN = auth(ADMIN_KEY)
BASE = "/api/v1/llm-providers"
NOT_LOADED = "gemma-3-4b-it"  # in the simulator's catalogue, not loaded at start
LOADED = "qwen2.5-7b-instruct"


@pytest.fixture
def settings_overrides(sim: Any, second_sim: Any) -> dict[str, Any]:
    hosts = [f"{h}:{s.port}" for s in (sim, second_sim) for h in ("127.0.0.1", "localhost")]
    return {"allowed_upstream_hosts": ",".join(hosts)}


async def own(client: httpx.AsyncClient, headers: dict, name: str, url: str, **extra: Any) -> str:
    created = await client.post(
        BASE, json={"name": name, "base_url": url, "scope": "user", **extra}, headers=headers
    )
    assert created.status_code == 201, created.text
    return str(created.json()["data"]["id"])


@pytest.mark.parametrize("spelling", ["{url}", "http://localhost:{port}/v1", "{url}/"])
async def test_a_users_record_for_the_global_server_cannot_change_its_memory(
    client: httpx.AsyncClient, sim: Any, user_headers: dict, spelling: str
) -> None:
    """The issue's repro: 403 on the global provider, then a record of one's own for the
    same LM Studio with exclusive_loading, and a load through it evicted everyone's model."""
    denied = await client.post(f"{BASE}/models/{LOADED}/unload", headers=user_headers)
    assert denied.status_code == 403
    url = spelling.format(url=sim.url, port=sim.port)
    mine = await own(client, user_headers, "mine", url, exclusive_loading=True)
    load = await client.post(
        f"{BASE}/models/{NOT_LOADED}/load?provider={mine}", headers=user_headers
    )
    assert load.status_code == 403, load.text
    assert "global provider also uses" in load.json()["error"]["message"]
    unload = await client.post(
        f"{BASE}/models/{LOADED}/unload?provider={mine}", headers=user_headers
    )
    assert unload.status_code == 403
    assert sim.state.loads_total == 0 and sim.state.unloads_total == 0
    assert sim.state.is_loaded(LOADED)


async def test_a_server_of_ones_own_is_managed_freely_until_someone_else_shares_it(
    client: httpx.AsyncClient,
    second_sim: Any,
    user_headers: dict,
    other_headers: dict,
) -> None:
    mine = await own(client, user_headers, "mine", second_sim.url)
    loaded = await client.post(
        f"{BASE}/models/{NOT_LOADED}/load?provider={mine}", headers=user_headers
    )
    assert loaded.status_code == 200, loaded.text
    assert second_sim.state.is_loaded(NOT_LOADED)
    # another user points a record at the same server: now neither may change it
    theirs = await own(client, other_headers, "theirs", f"http://localhost:{second_sim.port}")
    for headers, provider in ((user_headers, mine), (other_headers, theirs)):
        refused = await client.post(
            f"{BASE}/models/{NOT_LOADED}/unload?provider={provider}", headers=headers
        )
        assert refused.status_code == 403, refused.text
        assert "another user's provider" in refused.json()["error"]["message"]
    assert "/api/v1/models/unload" not in second_sim.state.requests_by_path
    assert second_sim.state.is_loaded(NOT_LOADED)


async def test_exclusive_loading_follows_the_servers_owner(
    client: httpx.AsyncClient, sim: Any, user_headers: dict
) -> None:
    # a user's record for the global server asks for exclusive loading; an admin loading
    # through that record gets the server's (the global record's) policy: nothing evicted
    mine = await own(client, user_headers, "mine", sim.url, exclusive_loading=True)
    loaded = await client.post(f"{BASE}/models/{NOT_LOADED}/load?provider={mine}", headers=ADMIN)
    assert loaded.status_code == 200, loaded.text
    assert loaded.json()["data"]["unloaded"] == []
    assert "/api/v1/models/unload" not in sim.state.requests_by_path  # the gateway evicted none


async def test_naming_an_unloaded_model_follows_the_load_policy(
    client: httpx.AsyncClient, sim: Any, second_sim: Any, user_headers: dict
) -> None:
    """LM Studio loads a model on first use (JIT), evicting others: a user who may not
    `/load` it may not make a generation load it either, on any surface."""
    message = [{"role": "user", "content": "hi"}]
    native = await client.post(
        f"{BASE}/chat/completions",
        json={"model": NOT_LOADED, "messages": message},
        headers=user_headers,
    )
    assert native.status_code == 409, native.text
    assert native.json()["error"]["code"] == "model_not_loaded"
    v1 = await client.post(
        "/v1/chat/completions",
        json={"model": NOT_LOADED, "messages": message, "stream": True},
        headers=user_headers,
    )
    assert v1.status_code == 409 and v1.json()["error"]["code"] == "model_not_loaded"
    chat = await client.post(
        "/api/v1/chat/streams", json={"message": "hi", "model": NOT_LOADED}, headers=user_headers
    )
    assert chat.status_code == 409, chat.text
    assert sim.state.loads_total == 0 and not sim.state.is_loaded(NOT_LOADED)
    # a loaded model is fine, and so is a JIT load on a server of the user's own
    assert (
        await client.post(
            f"{BASE}/chat/completions",
            json={"model": LOADED, "messages": message},
            headers=user_headers,
        )
    ).status_code == 200
    await own(client, user_headers, "mine", second_sim.url)
    jit = await client.post(
        "/v1/chat/completions",
        json={"model": f"mine/{NOT_LOADED}", "messages": message},
        headers=user_headers,
    )
    assert jit.status_code == 200, jit.text
    assert second_sim.state.is_loaded(NOT_LOADED)
    # admins keep LM Studio's JIT behaviour
    admin = await client.post(
        "/v1/chat/completions", json={"model": NOT_LOADED, "messages": message}, headers=ADMIN
    )
    assert admin.status_code == 200 and sim.state.is_loaded(NOT_LOADED)


async def test_user_keys_forward_only_the_fields_a_generation_needs(
    client: httpx.AsyncClient, sim: Any, user_headers: dict
) -> None:
    body = {
        "model": LOADED,
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.5,
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
        "n": 1_000_000,
        "best_of": 7,
        "ttl": 5,
        "draft_model": NOT_LOADED,
        "something_else": True,
    }
    answer = await client.post("/v1/chat/completions", json=body, headers=user_headers)
    assert answer.status_code == 200, answer.text
    sent = sim.state.last_request_body
    assert sent["n"] == 1 and sent["temperature"] == 0.5 and sent["tools"] == body["tools"]
    for dropped in ("best_of", "ttl", "draft_model", "something_else"):
        assert dropped not in sent, dropped
    completion = await client.post(
        "/v1/completions",
        json={"model": LOADED, "prompt": "x", "best_of": 3, "n": 4, "ttl": 1, "echo": True},
        headers=user_headers,
    )
    assert completion.status_code == 200, completion.text
    sent = sim.state.last_request_body
    assert sent["n"] == 1 and sent["echo"] is True and "best_of" not in sent and "ttl" not in sent
    embed = await client.post(
        "/v1/embeddings",
        json={"input": "x", "model": "text-embedding-nomic-embed-text-v1.5", "ttl": 9},
        headers=user_headers,
    )
    assert embed.status_code == 200 and "ttl" not in sim.state.last_request_body
    # an admin's request reaches the upstream as sent
    admin = await client.post("/v1/chat/completions", json={**body, "n": 2}, headers=ADMIN)
    assert admin.status_code == 200, admin.text
    sent = sim.state.last_request_body
    assert sent["n"] == 2 and sent["ttl"] == 5 and sent["draft_model"] == NOT_LOADED


@pytest.mark.parametrize("settings_overrides", [{"max_choices_user": 3}])
async def test_an_admin_may_allow_more_choices(
    client: httpx.AsyncClient, sim: Any, user_headers: dict
) -> None:
    body = {"model": LOADED, "messages": [{"role": "user", "content": "hi"}], "n": 10}
    answer = await client.post("/v1/chat/completions", json=body, headers=user_headers)
    assert answer.status_code == 200, answer.text
    assert sim.state.last_request_body["n"] == 3


def test_every_field_the_native_api_sends_is_forwarded_for_users() -> None:
    """The native API builds its upstream body itself; a field added there must be on the
    allow-list too, or user keys would lose it without a word."""
    from bigshot_llm.schemas.llm import ChatRequest, CompletionRequest
    from bigshot_llm.services.generation.upstream_fields import CHAT_FIELDS, COMPLETION_FIELDS

    sampling = {"max_tokens": 5, "temperature": 0.1, "top_p": 0.5, "stop": ["x"], "seed": 1}
    chat = ChatRequest.model_validate({"messages": [{"role": "user", "content": "hi"}], **sampling})
    completion = CompletionRequest.model_validate({"prompt": "hi", **sampling})
    assert set(chat.upstream_params()) == set(sampling)
    assert {"messages", "model", "stream", "stream_options", *chat.upstream_params()} <= CHAT_FIELDS
    assert {"prompt", "model", "stream", *completion.upstream_params()} <= COMPLETION_FIELDS
