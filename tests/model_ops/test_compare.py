"""Side-by-side comparison over real sockets: concurrent targets in one SSE stream, errors per
target, cancellation, stored records private to their owner, and stream slots."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from bigshot_llm.sim.testing import running_sim
from tests.conftest import ADMIN_KEY, auth
from tests.model_ops.conftest import sse_events
from tests.support.servers import ThreadedServer

COMPARE = "/api/v1/compare"
ADMIN = auth(ADMIN_KEY)


async def add_provider(client: httpx.AsyncClient, name: str, url: str) -> None:
    answer = await client.post(
        "/api/v1/llm-providers", json={"name": name, "base_url": url}, headers=ADMIN
    )
    assert answer.status_code == 201, answer.text


async def run(client: httpx.AsyncClient, body: dict, headers: dict = ADMIN) -> list[tuple]:
    events = []
    async with client.stream("POST", COMPARE, json=body, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        async for name, data in sse_events(response):
            events.append((name, data))
    return events


async def test_two_targets_stream_concurrently_and_are_stored(
    gateway: ThreadedServer, sim: Any, second_sim: Any
) -> None:
    for server in (sim, second_sim):
        server.state.token_delay = 0.05
        server.state.tokens = 8
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        await add_provider(client, "second box", second_sim.url)
        body = {
            "prompt": "Explain SSE in one paragraph.",
            "params": {"max_tokens": 50, "temperature": 0.2},
            "targets": [
                {"provider": "LMStudio Local", "model": "qwen2.5-7b-instruct"},
                {"provider": "second box", "model": "llama-3.2-1b-instruct"},
            ],
        }
        events = await run(client, body)
        names = [n for n, _ in events]
        assert names[0] == "start" and names[-1] == "end"
        comparison_id = events[0][1]["id"]
        assert events[-1][1] == {"id": comparison_id, "status": "complete"}
        deltas = [d for n, d in events if n == "delta"]
        order = [d["target"] for d in deltas]
        # Concurrent: target 1 starts before target 0 has finished (no one-after-the-other).
        assert order.index(1) < len(order) - 1 - order[::-1].index(0)
        done = {d["target"]: d for n, d in events if n == "done"}
        assert set(done) == {0, 1}
        for index in (0, 1):
            assert done[index]["finish_reason"] == "stop"
            assert done[index]["usage"]["completion_tokens"] == 8
            assert done[index]["stats"]["ttft_ms"] is not None
            assert done[index]["stats"]["tokens_per_second"] > 0
        texts = {i: "".join(d["text"] for d in deltas if d["target"] == i) for i in (0, 1)}

        stored = await client.get(f"{COMPARE}/{comparison_id}", headers=ADMIN)
        assert stored.status_code == 200, stored.text
        record = stored.json()["data"]
        assert record["status"] == "complete"
        assert record["prompt"] == body["prompt"]
        assert record["params"] == body["params"]
        assert record["messages"] == [{"role": "user", "content": body["prompt"]}]
        assert [t["provider"] for t in record["targets"]] == ["LMStudio Local", "second box"]
        for index, result in enumerate(record["results"]):
            assert result["status"] == "done"
            assert result["text"] == texts[index]
            assert result["usage"]["completion_tokens"] == 8
            assert result["stats"]["tokens_per_second"] > 0
        listing = await client.get(COMPARE, headers=ADMIN)
        assert [c["id"] for c in listing.json()["data"]["items"]] == [comparison_id]
        # each target's upstream call is in the usage records, like any other LLM call
        usage = await client.get("/api/v1/usage", params={"group_by": "model"}, headers=ADMIN)
        assert usage.status_code == 200, usage.text
        groups = {g["model"]: g for g in usage.json()["data"]["groups"]}
        for model in ("qwen2.5-7b-instruct", "llama-3.2-1b-instruct"):
            assert groups[model]["requests"] == 1
            assert groups[model]["completion_tokens"] == 8
    assert sim.state.requests_by_path.get("/v1/chat/completions") == 1
    assert second_sim.state.requests_by_path.get("/v1/chat/completions") == 1


async def test_a_failing_target_reports_itself_and_the_others_go_on(
    client: httpx.AsyncClient, sim: Any
) -> None:
    with running_sim() as gone:
        dead_url = gone.url
    await add_provider(client, "dead box", dead_url)
    body = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Name a prime."},
        ],
        "targets": [
            {"provider": "LMStudio Local", "model": "qwen2.5-7b-instruct"},
            {"provider": "no such provider", "model": "qwen2.5-7b-instruct"},
            {"provider": "dead box", "model": "qwen2.5-7b-instruct"},
            {"provider": "LMStudio Local", "model": "gemma-3-4b-it"},
        ],
    }
    events = await run(client, body)
    errors = {d["target"]: d for n, d in events if n == "error"}
    done = {d["target"]: d for n, d in events if n == "done"}
    assert set(done) == {0, 3}
    assert errors[1]["code"] == "not_found"
    assert errors[2]["code"] == "provider_unavailable"
    assert events[-1][0] == "end" and events[-1][1]["status"] == "complete"
    record = (await client.get(f"{COMPARE}/{events[0][1]['id']}", headers=ADMIN)).json()["data"]
    assert [r["status"] for r in record["results"]] == ["done", "error", "error", "done"]
    assert record["prompt"] == "Name a prime."
    assert record["results"][2]["error"]["code"] == "provider_unavailable"


async def test_leaving_cancels_every_target_and_keeps_the_partial_answers(
    gateway: ThreadedServer, sim: Any
) -> None:
    sim.state.token_delay = 0.1
    sim.state.tokens = 200
    body = {
        "prompt": "a long story",
        "targets": [
            {"provider": "LMStudio Local", "model": "qwen2.5-7b-instruct"},
            {"provider": "LMStudio Local", "model": "qwen2.5-7b-instruct"},
        ],
    }
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        async with client.stream("POST", COMPARE, json=body, headers=ADMIN) as response:
            seen = 0
            async for name, data in sse_events(response):
                if name == "start":
                    comparison_id = data["id"]
                seen += name == "delta"
                if seen == 6:
                    break
        await sim.state.wait_for_async(lambda: sim.state.streams_aborted == 2, timeout=3)
        for _ in range(50):
            record = (await client.get(f"{COMPARE}/{comparison_id}", headers=ADMIN)).json()
            if record["data"]["status"] != "running":
                break
            await asyncio.sleep(0.05)
    data = record["data"]
    assert data["status"] == "cancelled"
    assert all(r["status"] == "cancelled" for r in data["results"])
    assert sum(len(r["text"]) for r in data["results"]) > 0


async def test_comparisons_are_private(
    client: httpx.AsyncClient, sim: Any, user_headers: dict, other_headers: dict
) -> None:
    body = {
        "prompt": "secret plans",
        "targets": [
            {"provider": "LMStudio Local", "model": "qwen2.5-7b-instruct"},
            {"provider": "LMStudio Local", "model": "llama-3.2-1b-instruct"},
        ],
    }
    events = await run(client, body, headers=user_headers)
    comparison_id = events[0][1]["id"]
    mine = await client.get(f"{COMPARE}/{comparison_id}", headers=user_headers)
    assert mine.status_code == 200
    for headers in (other_headers, ADMIN):
        theirs = await client.get(f"{COMPARE}/{comparison_id}", headers=headers)
        assert theirs.status_code == 404
        assert "secret" not in theirs.text
        listing = await client.get(COMPARE, headers=headers)
        assert listing.json()["data"]["total"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"prompt": "x", "targets": [{"provider": "a", "model": "m"}]},
        {"prompt": "x", "targets": [{"provider": "a", "model": "m"}] * 5},
        {"targets": [{"provider": "a", "model": "m"}] * 2},
        {
            "prompt": "x",
            "messages": [{"role": "user", "content": "x"}],
            "targets": [{"provider": "a", "model": "m"}] * 2,
        },
        {"prompt": "x", "targets": [{"provider": "a"}] * 2},
        {
            "prompt": "x",
            "params": {"temperature": 3},
            "targets": [{"provider": "a", "model": "m"}] * 2,
        },
        {
            "prompt": "x",
            "params": {"stream": False},
            "targets": [{"provider": "a", "model": "m"}] * 2,
        },
    ],
)
async def test_bad_requests_are_422(client: httpx.AsyncClient, body: dict) -> None:
    answer = await client.post(COMPARE, json=body, headers=ADMIN)
    assert answer.status_code == 422, answer.text


async def test_a_comparison_takes_one_stream_slot(gateway: ThreadedServer, sim: Any) -> None:
    sim.state.token_delay = 0.1
    sim.state.tokens = 100
    body = {
        "prompt": "x",
        "targets": [
            {"provider": "LMStudio Local", "model": "qwen2.5-7b-instruct"},
            {"provider": "LMStudio Local", "model": "llama-3.2-1b-instruct"},
        ],
    }
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        created = await client.post(
            "/api/v1/keys",
            json={"name": "one", "user": "solo", "role": "user", "max_streams": 1},
            headers=ADMIN,
        )
        solo = auth(created.json()["data"]["key"])
        async with client.stream("POST", COMPARE, json=body, headers=solo) as first:
            assert first.status_code == 200
            second = await client.post(COMPARE, json=body, headers=solo)
            assert second.status_code == 429, second.text
        await sim.state.wait_for_async(lambda: sim.state.streams_open == 0, timeout=3)
        for _ in range(50):  # the slot comes back once the comparison has stored its record
            sim.state.tokens = 2
            third = await client.post(COMPARE, json=body, headers=solo)
            if third.status_code == 200:
                break
            await asyncio.sleep(0.05)
        assert third.status_code == 200, third.text
        assert "event: end" in third.text
