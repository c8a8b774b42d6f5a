"""The model lifecycle on a shared GPU, against the simulator over real sockets: the exclusive
policy covers requests (one model loaded, load progress streamed), presets apply to every
load the gateway makes, an idle TTL unloads what the gateway loaded, and admins download."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bigshot_llm.services.generation.model_switch import REPORT_SECONDS
from bigshot_llm.sim.state import SimState
from tests.conftest import ADMIN_KEY, auth
from tests.generation.test_gpu_admission import (
    CHAT,
    DEADLINE,
    gateway_for,
    stream_events,
    user_key,
    wait_until,
)
from tests.support.servers import ThreadedServer

ADMIN = auth(ADMIN_KEY)
BASE = "/api/v1/llm-providers"
MODELS = ("llama-3.2-1b-instruct", "gemma-3-4b-it", "qwen3-8b")


def loaded_llms(state: SimState) -> list[str]:
    return [k for k in state.loaded if (spec := state.get_model(k)) is not None and spec.is_llm]


@pytest.fixture
def gateway(tmp_path: Path, sim: Any) -> Iterator[ThreadedServer]:
    sim.state.auto_evict = False  # like LM Studio's API loads: models pile up
    with gateway_for(tmp_path, sim) as server:
        yield server


async def set_exclusive(client: httpx.AsyncClient, on: bool) -> None:
    providers = (await client.get(BASE, headers=ADMIN)).json()["data"]
    changed = await client.patch(
        f"{BASE}/{providers[0]['id']}", json={"exclusive_loading": on}, headers=ADMIN
    )
    assert changed.status_code == 200, changed.text


async def test_exclusive_policy_leaves_one_model_after_chats_for_three(
    gateway: ThreadedServer, sim: Any
) -> None:
    sim.state.load_delay = 0.6  # long enough for progress events while it loads
    async with httpx.AsyncClient(base_url=gateway.url, timeout=DEADLINE) as client:
        # Without the policy a chat naming a second model JIT-loads it beside the first.
        body = {"model": MODELS[0], "messages": [{"role": "user", "content": "hi"}]}
        assert (await client.post(CHAT, json=body, headers=ADMIN)).status_code == 200
        assert len(loaded_llms(sim.state)) == 2
        await set_exclusive(client, True)
        loading: dict[str, list[dict[str, Any]]] = {}
        for model in MODELS[1:] + MODELS[:1]:
            events = await stream_events(client, ADMIN, "hello", model=model)
            assert events[-1][0] == "done", events[-1]
            loading[model] = [data for name, data in events if name == "loading"]
            assert loaded_llms(sim.state) == [model]
    for model, reports in loading.items():
        # LM Studio's own progress (the simulator's four steps), relayed as it came.
        assert [r["progress"] for r in reports] == [0.0, 0.25, 0.5, 0.75, 1.0], reports
        assert all(r["model"] == model for r in reports)
    # The first switch unloaded both models the JIT left behind.
    assert set(loading[MODELS[1]][0]["unloaded"]) == {"qwen2.5-7b-instruct", MODELS[0]}
    # The gateway loaded them, through /api/v1/chat (no preset asks for more than it takes).
    assert [r["model"] for r in sim.state.chat_loads] == [MODELS[1], MODELS[2], MODELS[0]]
    assert sim.state.load_requests == []


async def test_a_preset_the_chat_cannot_apply_loads_through_rest_without_progress(
    gateway: ThreadedServer, sim: Any
) -> None:
    """`flash_attention` is only for `/api/v1/models/load`, which says nothing until done."""
    # Five report periods: a busy machine that delays one report still sees the others.
    sim.state.load_delay = 5 * REPORT_SECONDS
    async with httpx.AsyncClient(base_url=gateway.url, timeout=DEADLINE) as client:
        preset = {"flash_attention": True}
        put = await client.put(f"{BASE}/presets/{MODELS[1]}", json=preset, headers=ADMIN)
        assert put.status_code == 200, put.text
        await set_exclusive(client, True)
        events = await stream_events(client, ADMIN, "hello", model=MODELS[1])
    assert events[-1][0] == "done", events[-1]
    progress = [data["progress"] for name, data in events if name == "loading"]
    assert progress[0] == 0.0 and progress[-1] == 1.0
    assert set(progress[1:-1]) == {None}, progress
    assert sim.state.load_requests == [{"model": MODELS[1], "flash_attention": True}]
    assert sim.state.chat_loads == []


async def test_the_switch_waits_for_the_other_models_generations(
    gateway: ThreadedServer, sim: Any
) -> None:
    """A model is never unloaded under a running generation of this gateway."""
    sim.state.tokens, sim.state.token_delay = 10, 0.05
    async with httpx.AsyncClient(base_url=gateway.url, timeout=DEADLINE) as client:
        await set_exclusive(client, True)
        sim.state.paused = True
        running = asyncio.create_task(
            stream_events(client, ADMIN, "long", model="qwen2.5-7b-instruct")
        )
        await wait_until(lambda: sim.state.generating == 1, "the first generation to run")
        before = sim.state.requests_by_path.get("/api/v1/models", 0)
        switching = asyncio.create_task(stream_events(client, ADMIN, "next", model=MODELS[0]))
        await wait_until(
            lambda: sim.state.requests_by_path.get("/api/v1/models", 0) > before,
            "the switch to look at what is loaded",
        )
        sim.state.paused = False
        first, second = await asyncio.wait_for(asyncio.gather(running, switching), DEADLINE)
    assert first[-1][0] == "done" and second[-1][0] == "done"
    assert loaded_llms(sim.state) == [MODELS[0]]
    assert sim.state.unloads_total == 1 and sim.state.unloaded_while_busy == 0


async def test_presets_apply_to_every_gateway_load(gateway: ThreadedServer, sim: Any) -> None:
    preset = {"context_length": 8192, "flash_attention": True, "eval_batch_size": 256}
    async with httpx.AsyncClient(base_url=gateway.url, timeout=DEADLINE) as client:
        put = await client.put(f"{BASE}/presets/{MODELS[1]}", json=preset, headers=ADMIN)
        assert put.status_code == 200, put.text
        assert put.json()["data"]["options"] == preset
        bad = await client.put(f"{BASE}/presets/{MODELS[1]}", json={"flash": 1}, headers=ADMIN)
        assert bad.status_code == 422 and "flash" in bad.text
        user = await user_key(client, "dora")
        denied = await client.put(f"{BASE}/presets/{MODELS[1]}", json=preset, headers=user)
        assert denied.status_code == 403
        # Through the load route: the call's own option wins over the preset's.
        loaded = await client.post(
            f"{BASE}/models/{MODELS[1]}/load",
            json={"num_experts": 4, "context_length": 4096, "echo_load_config": True},
            headers=ADMIN,
        )
        assert loaded.status_code == 200, loaded.text
        assert loaded.json()["data"]["load_config"]["flash_attention"] is True
        # Through a request under the exclusive policy.
        await set_exclusive(client, True)
        assert (
            await client.post(
                CHAT,
                json={"model": MODELS[2], "messages": [{"role": "user", "content": "x"}]},
                headers=ADMIN,
            )
        ).status_code == 200
        await client.put(
            f"{BASE}/presets/{MODELS[1]}", json={"context_length": 2048}, headers=ADMIN
        )
        events = await stream_events(client, ADMIN, "again", model=MODELS[1])
        assert events[-1][0] == "done"
        listed = (await client.get(f"{BASE}/presets", headers=ADMIN)).json()["data"]
        assert [p["model"] for p in listed] == [MODELS[1]]
        gone = await client.delete(f"{BASE}/presets/{MODELS[1]}", headers=ADMIN)
        assert gone.status_code == 204
        missing = await client.delete(f"{BASE}/presets/{MODELS[1]}", headers=ADMIN)
        assert missing.status_code == 404
    (first,) = sim.state.load_requests  # the route; the requests' loads went through the chat
    assert first == {
        "model": MODELS[1],
        "context_length": 4096,
        "flash_attention": True,
        "eval_batch_size": 256,
        "num_experts": 4,
        "echo_load_config": True,
    }
    assert sim.state.chat_loads == [
        {"model": MODELS[2], "context_length": None},
        {"model": MODELS[1], "context_length": 2048},
    ]
    assert sim.state.loaded[MODELS[1]] == 2048


async def test_a_gateway_loaded_model_idle_past_its_ttl_is_unloaded(
    tmp_path: Path, sim: Any
) -> None:
    sim.state.auto_evict = False
    overrides = {"model_idle_ttls": f"{MODELS[0]}=1", "model_idle_check_seconds": 0.2}
    with gateway_for(tmp_path, sim, **overrides) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=DEADLINE) as client:
            for model in MODELS[:2]:
                loaded = await client.post(f"{BASE}/models/{model}/load", headers=ADMIN)
                assert loaded.status_code == 200, loaded.text
            await wait_until(lambda: not sim.state.is_loaded(MODELS[0]), "the idle unload")
    # Only the model with a TTL went; the one LM Studio had loaded itself was never touched.
    assert sim.state.is_loaded(MODELS[1]) and sim.state.is_loaded("qwen2.5-7b-instruct")
    assert sim.state.unloads_total == 1


async def test_a_used_model_outlives_its_ttl_while_requests_keep_coming(
    tmp_path: Path, sim: Any
) -> None:
    sim.state.auto_evict = False
    overrides = {"model_idle_ttls": f"{MODELS[0]}=1.5", "model_idle_check_seconds": 0.2}
    with gateway_for(tmp_path, sim, **overrides) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=DEADLINE) as client:
            assert (await client.post(f"{BASE}/models/{MODELS[0]}/load", headers=ADMIN)).is_success
            body = {"model": MODELS[0], "messages": [{"role": "user", "content": "keep"}]}
            loop = asyncio.get_running_loop()
            until = loop.time() + 3.0
            while loop.time() < until:  # a request every 0.3 s: never idle for 1.5 s
                assert (await client.post(CHAT, json=body, headers=ADMIN)).status_code == 200
                assert sim.state.is_loaded(MODELS[0])
                await asyncio.sleep(0.3)
            await wait_until(lambda: not sim.state.is_loaded(MODELS[0]), "the idle unload")


async def test_admins_download_models_and_follow_the_job(gateway: ThreadedServer, sim: Any) -> None:
    sim.state.download_bytes_per_second = 4_000_000.0  # a 4 MB model: about a second
    async with httpx.AsyncClient(base_url=gateway.url, timeout=DEADLINE) as client:
        user = await user_key(client, "erin")
        denied = await client.post(f"{BASE}/models/new/model-x/download", headers=user)
        assert denied.status_code == 403
        started = await client.post(
            f"{BASE}/models/new/model-x/download", json={"quantization": "Q4_K_M"}, headers=ADMIN
        )
        assert started.status_code == 200, started.text
        job = started.json()["data"]
        assert job["status"] == "downloading" and job["total_size_bytes"] == 4_000_000

        async def completed() -> bool:
            answer = await client.get(f"{BASE}/downloads/{job['job_id']}", headers=ADMIN)
            data = answer.json()["data"]
            assert 0.0 <= data["progress"] <= 1.0
            return bool(data["status"] == "completed")

        await wait_until(completed, "the download to complete")
        again = await client.post(f"{BASE}/models/{MODELS[0]}/download", headers=ADMIN)
        assert again.json()["data"]["status"] == "already_downloaded"
        missing = await client.get(f"{BASE}/downloads/job_nope", headers=ADMIN)
        assert missing.status_code in (404, 502), missing.text
    assert sim.state.get_model("new/model-x") is not None
    assert sim.state.downloads[job["job_id"]]["_model"] == "new/model-x"
