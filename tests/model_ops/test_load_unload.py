"""Loading and unloading models through LM Studio's native API (the simulator, real sockets)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bigshot_llm.sim.catalogue import ModelSpec, default_models
from bigshot_llm.sim.testing import running_sim
from tests.conftest import ADMIN_KEY, auth
from tests.support.servers import ThreadedServer

BASE = "/api/v1/llm-providers"
MODELS = f"{BASE}/models?detailed=true"


def state_of(listing: httpx.Response, model: str) -> str | None:
    models = {m["id"]: m for m in listing.json()["data"]["models"]}
    return models[model]["state"]


async def test_admin_loads_a_model_and_the_cached_list_follows(
    client: httpx.AsyncClient, sim: Any, admin_headers: dict
) -> None:
    before = await client.get(MODELS, headers=admin_headers)
    assert state_of(before, "llama-3.2-1b-instruct") == "not-loaded"

    answer = await client.post(f"{BASE}/models/llama-3.2-1b-instruct/load", headers=admin_headers)
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert data["state"] == "loaded"
    assert data["instance_ids"] == ["llama-3.2-1b-instruct"]
    assert data["provider"]["name"] == "LMStudio Local"
    assert sim.state.loads_total == 1 and sim.state.is_loaded("llama-3.2-1b-instruct")

    after = await client.get(MODELS, headers=admin_headers)  # the cache was invalidated
    assert after.json()["data"]["cached"] is False
    assert state_of(after, "llama-3.2-1b-instruct") == "loaded"
    assert state_of(after, "qwen2.5-7b-instruct") == "not-loaded"  # LM Studio swapped it out


async def test_unload_then_unload_again_is_404(
    client: httpx.AsyncClient, sim: Any, admin_headers: dict
) -> None:
    answer = await client.post(f"{BASE}/models/qwen2.5-7b-instruct/unload", headers=admin_headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {
        "model": "qwen2.5-7b-instruct",
        "provider": answer.json()["data"]["provider"],
        "state": "not-loaded",
        "instance_ids": ["qwen2.5-7b-instruct"],
        "unloaded": ["qwen2.5-7b-instruct"],
        "load_time_seconds": None,
        "load_config": None,
    }
    assert sim.state.unloads_total == 1 and not sim.state.is_loaded("qwen2.5-7b-instruct")
    again = await client.post(f"{BASE}/models/qwen2.5-7b-instruct/unload", headers=admin_headers)
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "model_not_found"


async def test_context_length_and_unknown_model(
    client: httpx.AsyncClient, sim: Any, admin_headers: dict
) -> None:
    answer = await client.post(
        f"{BASE}/models/gemma-3-4b-it/load", json={"context_length": 8192}, headers=admin_headers
    )
    assert answer.status_code == 200, answer.text
    assert sim.state.loaded["gemma-3-4b-it"] == 8192
    bad = await client.post(
        f"{BASE}/models/gemma-3-4b-it/load", json={"context_length": 0}, headers=admin_headers
    )
    assert bad.status_code == 422
    extra = await client.post(
        f"{BASE}/models/gemma-3-4b-it/load", json={"ttl": 5}, headers=admin_headers
    )
    assert extra.status_code == 422
    missing = await client.post(f"{BASE}/models/no-such-model/load", headers=admin_headers)
    assert missing.status_code == 404, missing.text


async def test_model_ids_with_slashes_do_not_collide_with_other_routes(
    client: httpx.AsyncClient, admin_headers: dict
) -> None:
    catalogue = [
        *default_models(),
        ModelSpec(
            key="acme/tiny-chat-v2",
            type="llm",
            publisher="acme",
            arch="llama",
            quantization="Q4_K_M",
            bits_per_weight=4.0,
            size_bytes=1000,
            params_string="1B",
            max_context_length=8192,
            display_name="Tiny Chat",
        ),
    ]
    with running_sim(models=catalogue) as other:
        created = await client.post(
            BASE, json={"name": "acme box", "base_url": other.url}, headers=admin_headers
        )
        assert created.status_code == 201, created.text
        answer = await client.post(
            f"{BASE}/models/acme/tiny-chat-v2/load?provider=acme%20box", headers=admin_headers
        )
        assert answer.status_code == 200, answer.text
        assert other.state.is_loaded("acme/tiny-chat-v2")
        unload = await client.post(
            f"{BASE}/models/acme/tiny-chat-v2/unload",
            params={"provider": created.json()["data"]["id"]},
            headers=admin_headers,
        )
        assert unload.status_code == 200, unload.text
        assert not other.state.is_loaded("acme/tiny-chat-v2")
    # The neighbouring routes are untouched.
    assert (await client.get(f"{BASE}/models", headers=admin_headers)).status_code == 200
    assert (await client.get(f"{BASE}/models/all", headers=admin_headers)).status_code == 200
    assert (await client.get(f"{BASE}/kinds", headers=admin_headers)).status_code == 200


async def test_users_may_not_touch_a_global_providers_memory(
    client: httpx.AsyncClient, sim: Any, user_headers: dict
) -> None:
    denied = await client.post(f"{BASE}/models/llama-3.2-1b-instruct/load", headers=user_headers)
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "forbidden"
    denied = await client.post(f"{BASE}/models/qwen2.5-7b-instruct/unload", headers=user_headers)
    assert denied.status_code == 403
    assert sim.state.loads_total == 0 and sim.state.unloads_total == 0


@pytest.mark.parametrize("settings_overrides", [{"allowed_upstream_hosts": "127.0.0.1"}])
async def test_a_user_manages_their_own_provider_and_nobody_elses(
    client: httpx.AsyncClient, second_sim: Any, user_headers: dict, other_headers: dict
) -> None:
    # a server of the user's own (the global provider's server is shared: see
    # test_server_policy.py)
    own = await client.post(
        BASE,
        json={"name": "my lms", "base_url": second_sim.url, "scope": "user"},
        headers=user_headers,
    )
    assert own.status_code == 201, own.text
    path = f"{BASE}/models/llama-3.2-1b-instruct/load?provider=my%20lms"
    answer = await client.post(path, headers=user_headers)
    assert answer.status_code == 200, answer.text
    assert second_sim.state.is_loaded("llama-3.2-1b-instruct")
    by_id = f"{BASE}/models/llama-3.2-1b-instruct/unload?provider={own.json()['data']['id']}"
    assert (await client.post(by_id, headers=other_headers)).status_code == 404


async def test_kinds_without_model_management_answer_409(
    client: httpx.AsyncClient, sim: Any, admin_headers: dict
) -> None:
    created = await client.post(
        BASE,
        json={"name": "plain", "kind": "openai_compatible", "base_url": sim.url},
        headers=admin_headers,
    )
    assert created.status_code == 201, created.text
    answer = await client.post(
        f"{BASE}/models/llama-3.2-1b-instruct/load?provider=plain", headers=admin_headers
    )
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "not_supported"
    assert sim.state.loads_total == 0


async def test_exclusive_loading_unloads_the_other_llms_first(
    client: httpx.AsyncClient, sim: Any, admin_headers: dict
) -> None:
    created = await client.post(
        BASE,
        json={"name": "exclusive", "base_url": sim.url, "exclusive_loading": True},
        headers=admin_headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["data"]["exclusive_loading"] is True
    answer = await client.post(
        f"{BASE}/models/gemma-3-4b-it/load?provider=exclusive", headers=admin_headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["unloaded"] == ["qwen2.5-7b-instruct"]
    # The gateway unloaded it itself (LM Studio proper would have kept both in VRAM) …
    assert sim.state.requests_by_path.get("/api/v1/models/unload") == 1
    # … and left the embeddings model alone.
    assert set(sim.state.loaded) == {"gemma-3-4b-it", "text-embedding-nomic-embed-text-v1.5"}

    turned_off = await client.patch(
        f"{BASE}/{created.json()['data']['id']}",
        json={"exclusive_loading": False},
        headers=admin_headers,
    )
    assert turned_off.json()["data"]["exclusive_loading"] is False
    plain = await client.post(
        f"{BASE}/models/llama-3.2-1b-instruct/load?provider=exclusive", headers=admin_headers
    )
    assert plain.json()["data"]["unloaded"] == []
    assert sim.state.requests_by_path.get("/api/v1/models/unload") == 1


async def test_loads_and_unloads_are_audited(
    client: httpx.AsyncClient, sim: Any, admin_headers: dict
) -> None:
    await client.post(f"{BASE}/models/llama-3.2-1b-instruct/load", headers=admin_headers)
    await client.post(f"{BASE}/models/llama-3.2-1b-instruct/unload", headers=admin_headers)
    trail = await client.get("/api/v1/audit", headers=admin_headers)
    actions = [e["action"] for e in trail.json()["data"]["items"]]
    assert "model.load" in actions and "model.unload" in actions


async def test_a_dead_provider_is_503(client: httpx.AsyncClient, admin_headers: dict) -> None:
    with running_sim() as gone:
        url = gone.url
    await client.post(BASE, json={"name": "gone", "base_url": url}, headers=admin_headers)
    answer = await client.post(
        f"{BASE}/models/llama-3.2-1b-instruct/load?provider=gone", headers=admin_headers
    )
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "provider_unavailable"


@pytest.mark.parametrize("jit_delay", [0.6])
async def test_real_sockets_load_then_chat_and_jit_for_a_model_not_loaded(
    gateway: ThreadedServer, sim: Any, jit_delay: float
) -> None:
    sim.state.jit_load_delay = jit_delay
    async with httpx.AsyncClient(base_url=gateway.url, headers=auth(ADMIN_KEY), timeout=30) as c:
        loaded = await c.post(f"{BASE}/models/llama-3.2-1b-instruct/load")
        assert loaded.status_code == 200, loaded.text
        chat = await c.post(
            f"{BASE}/chat/completions",
            json={
                "model": "llama-3.2-1b-instruct",
                "messages": [{"role": "user", "content": "hi"}],
            },
        )
        assert chat.status_code == 200, chat.text
        assert sim.state.loads_total == 1  # already loaded: no JIT load
        # A model that is not loaded is loaded by LM Studio on first use (JIT).
        jit = await c.post(
            f"{BASE}/chat/completions",
            json={"model": "gemma-3-4b-it", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert jit.status_code == 200, jit.text
        assert sim.state.loads_total == 2 and sim.state.is_loaded("gemma-3-4b-it")
        listing = await c.get(MODELS)
        assert state_of(listing, "gemma-3-4b-it") == "loaded"


async def test_state_changes_fire_webhooks(
    client: httpx.AsyncClient, sim: Any, admin_headers: dict
) -> None:
    hook = await client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": ["model.loaded", "model.unloaded"]},
        headers=admin_headers,
    )
    assert hook.status_code == 201, hook.text
    await client.post(f"{BASE}/models/llama-3.2-1b-instruct/load", headers=admin_headers)
    await client.post(f"{BASE}/models/llama-3.2-1b-instruct/unload", headers=admin_headers)
    deliveries = await client.get(
        f"/api/v1/webhooks/{hook.json()['data']['id']}/deliveries", headers=admin_headers
    )
    assert deliveries.status_code == 200, deliveries.text
    data = deliveries.json()["data"]
    items = data["items"] if isinstance(data, dict) else data
    assert sorted(d["event"] for d in items) == ["model.loaded", "model.unloaded"]
