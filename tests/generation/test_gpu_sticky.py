"""Sticky routing over a pool of two simulators: a conversation's turns go back to the member
that served it (its prompt cache), new conversations spread, and a conversation moves only
when its member is down."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ADMIN_KEY, auth
from tests.generation.test_gpu_admission import (
    CHAT,
    DEADLINE,
    MODEL,
    gateway_over,
    started_running,
    stream_events,
    wait_until,
)
from tests.support.servers import ThreadedServer

ADMIN = auth(ADMIN_KEY)


async def make_pool(client: httpx.AsyncClient, sim: Any, second_sim: Any, **extra: Any) -> str:
    created = await client.post(
        "/api/v1/llm-providers",
        json={"name": "pool", "base_url": sim.url, "pool_urls": [second_sim.url], **extra},
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    provider_id = str(created.json()["data"]["id"])
    listed = await client.get(
        "/api/v1/llm-providers/models",
        params={"provider": provider_id, "detailed": "true", "refresh": "true"},
        headers=ADMIN,
    )
    assert listed.status_code == 200, listed.text
    return provider_id


def turn(conversation: str, n: int) -> list[dict[str, str]]:
    """Turn `n` of a conversation: the same system prompt and first user turn every time."""
    messages = [
        {"role": "system", "content": f"you are helper {conversation}"},
        {"role": "user", "content": f"{conversation}-turn-1"},
    ]
    for k in range(2, n + 1):
        messages += [
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": f"{conversation}-turn-{k}"},
        ]
    return messages


def served_on(member: Any, conversation: str) -> int:
    return sum(1 for tag in member.state.served if tag.startswith(f"{conversation}-"))


async def test_a_conversations_turns_stay_on_one_pool_member(
    two_sim_gateway: ThreadedServer, sim: Any, second_sim: Any
) -> None:
    conversations = [f"c{i}" for i in range(4)]
    async with httpx.AsyncClient(base_url=two_sim_gateway.url, timeout=DEADLINE) as client:
        pool = await make_pool(client, sim, second_sim)
        for n in (1, 2, 3):
            for conversation in conversations:
                body = {"provider": pool, "model": MODEL, "messages": turn(conversation, n)}
                answer = await client.post(CHAT, json=body, headers=ADMIN)
                assert answer.status_code == 200, answer.text
        # /v1 with `prompt_cache_key`: the key decides, whatever the messages say.
        for n in range(3):
            answer = await client.post(
                "/v1/chat/completions",
                json={
                    "model": f"pool/{MODEL}",
                    "messages": [{"role": "user", "content": f"keyed-{n}"}],
                    "prompt_cache_key": "my-session",
                },
                headers=ADMIN,
            )
            assert answer.status_code == 200, answer.text
    for conversation in conversations:
        counts = (served_on(sim, conversation), served_on(second_sim, conversation))
        assert sorted(counts) == [0, 3], (conversation, counts)
    # New conversations spread over both members (they are not all on the first).
    assert all(any(served_on(m, c) for c in conversations) for m in (sim, second_sim))
    keyed = [tag for m in (sim, second_sim) for tag in m.state.served if tag.startswith("keyed")]
    assert sorted(keyed) == ["keyed-0", "keyed-1", "keyed-2"]
    assert served_on(sim, "keyed") in (0, 3)  # all three on one member


async def test_a_conversation_moves_only_when_its_member_is_down(
    two_sim_gateway: ThreadedServer, sim: Any, second_sim: Any
) -> None:
    async with httpx.AsyncClient(base_url=two_sim_gateway.url, timeout=DEADLINE) as client:
        pool = await make_pool(client, sim, second_sim)

        async def say(n: int) -> httpx.Response:
            body = {"provider": pool, "model": MODEL, "messages": turn("m", n), "stream": False}
            answer = await client.post(CHAT, json=body, headers=ADMIN)
            assert answer.status_code == 200, answer.text
            return answer

        await say(1)
        home, other = (sim, second_sim) if served_on(sim, "m") else (second_sim, sim)
        second = await say(2)
        assert served_on(home, "m") == 2
        assert second.headers["X-Bigshot-Served-By"] == f"{home.url} {MODEL}"
        home.stop()
        try:
            await say(3)  # the pool fails over before the first byte, then the turn sticks
            fourth = await say(4)
        finally:
            home.start()
    assert served_on(other, "m") == 2
    assert fourth.headers["X-Bigshot-Served-By"] == f"{other.url} {MODEL}"


async def test_preference_order_fills_the_first_member_first(
    two_sim_gateway: ThreadedServer, sim: Any, second_sim: Any
) -> None:
    """ "The fast box when it has room, else the always-on one": one slot each."""
    for member in (sim, second_sim):
        member.state.parallel = 1
    sim.state.paused = second_sim.state.paused = True
    async with httpx.AsyncClient(base_url=two_sim_gateway.url, timeout=DEADLINE) as client:
        pool = await make_pool(client, sim, second_sim, pool_order="preference")
        first = await started_running(client, sim, "p1", provider=pool)
        second = await started_running(client, second_sim, "p2", provider=pool)
        sim.state.paused = second_sim.state.paused = False
        await asyncio.wait_for(asyncio.gather(first, second), DEADLINE)
        for n in range(3):  # one at a time: always the preferred member
            body = {
                "provider": pool,
                "model": MODEL,
                "messages": [{"role": "user", "content": f"s{n}"}],
            }
            assert (await client.post(CHAT, json=body, headers=ADMIN)).status_code == 200
    assert sim.state.served == ["p1", "s0", "s1", "s2"] and second_sim.state.served == ["p2"]


async def test_weights_share_a_pool_by_their_ratio(
    two_sim_gateway: ThreadedServer, sim: Any, second_sim: Any
) -> None:
    sim.state.paused = second_sim.state.paused = True  # 4 slots each
    async with httpx.AsyncClient(base_url=two_sim_gateway.url, timeout=DEADLINE) as client:
        pool = await make_pool(
            client, sim, second_sim, pool_weights={sim.url: 3, second_sim.url: 1}
        )
        shown = (await client.get(f"/api/v1/llm-providers/{pool}", headers=ADMIN)).json()
        assert shown["data"]["pool_weights"] == {sim.url: 3.0, second_sim.url: 1.0}
        bad = await client.patch(
            f"/api/v1/llm-providers/{pool}", json={"pool_weights": {sim.url: 0}}, headers=ADMIN
        )
        assert bad.status_code == 422 and "pool_weights" in bad.text
        tasks = [
            asyncio.create_task(stream_events(client, ADMIN, f"w{n}", provider=pool))
            for n in range(4)
        ]
        await wait_until(
            lambda: sim.state.generating + second_sim.state.generating == 4, "all four to run"
        )
        running = (sim.state.generating, second_sim.state.generating)
        sim.state.paused = second_sim.state.paused = False
        await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE)
    assert running == (3, 1)


async def test_served_by_names_the_member_that_answered_after_a_failover(
    two_sim_gateway: ThreadedServer, sim: Any, second_sim: Any
) -> None:
    """Admission gave the conversation's member a slot; that member fails before the first
    byte and the pool answers from the other: `served_by` and the header name the other."""
    async with httpx.AsyncClient(base_url=two_sim_gateway.url, timeout=DEADLINE) as client:
        pool = await make_pool(client, sim, second_sim)
        body = {"provider": pool, "model": MODEL, "messages": turn("f", 1), "stream": False}
        first = await client.post(CHAT, json=body, headers=ADMIN)
        assert first.status_code == 200, first.text
        home, other = (sim, second_sim) if served_on(sim, "f") else (second_sim, sim)
        assert first.headers["X-Bigshot-Served-By"] == f"{home.url} {MODEL}"
        # Refused before the first byte, once.
        home.state.set_fault("http_503", count=1, on="generation")
        second = await client.post(CHAT, json={**body, "messages": turn("f", 2)}, headers=ADMIN)
        assert second.status_code == 200, second.text
        assert served_on(other, "f") == 1
        assert second.headers["X-Bigshot-Served-By"] == f"{other.url} {MODEL}"
        # The conversation follows to where it was answered (its prompt is cached there). The
        # next turn, streamed, goes there; that member refuses once, and the pool answers
        # from the first one again (up after a listing).
        listed = await client.get(
            "/api/v1/llm-providers/models",
            params={"provider": pool, "detailed": "true", "refresh": "true"},
            headers=ADMIN,
        )
        assert listed.status_code == 200, listed.text
        other.state.set_fault("http_503", count=1, on="generation")
        events = await stream_events(client, ADMIN, "ignored", provider=pool, messages=turn("f", 3))
    assert events[-1][0] == "done", events
    assert served_on(home, "f") == 2 and served_on(other, "f") == 1
    assert other.state.requests_by_path.get("/v1/chat/completions", 0) == 2  # refused one
    assert dict(events[-1][1])["served_by"]["server"] == home.url


async def test_the_idle_ttl_counts_per_pool_member(
    tmp_path: Path, sim: Any, second_sim: Any
) -> None:
    """A model the gateway loaded on both members, used by a conversation that sticks to one
    of them: the other member's copy goes after its TTL, the used one stays."""
    model = "gemma-3-4b-it"
    overrides = {"model_idle_ttls": f"{model}=1.5", "model_idle_check_seconds": 0.2}
    for member in (sim, second_sim):
        member.state.auto_evict = False
    with gateway_over(tmp_path, sim, second_sim, **overrides) as gateway:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=DEADLINE) as client:
            pool = await make_pool(client, sim, second_sim)
            loaded = await client.post(
                f"/api/v1/llm-providers/models/{model}/load",
                params={"provider": pool},
                headers=ADMIN,
            )
            assert loaded.status_code == 200, loaded.text
            assert sim.state.is_loaded(model) and second_sim.state.is_loaded(model)
            await make_pool_listing(client, pool)
            body = {"provider": pool, "model": model, "messages": turn("idle", 1)}
            first = await client.post(CHAT, json=body, headers=ADMIN)
            assert first.status_code == 200, first.text
            used, unused = (sim, second_sim) if served_on(sim, "idle") else (second_sim, sim)
            # Keep using it (on its member, the conversation sticks) past the TTL.
            for n in range(2, 40):
                answer = await client.post(
                    CHAT, json={**body, "messages": turn("idle", n)}, headers=ADMIN
                )
                assert answer.status_code == 200, answer.text
                if not unused.state.is_loaded(model):
                    break
                await asyncio.sleep(0.2)
            assert not unused.state.is_loaded(model), "the unused member's copy stayed"
            assert used.state.is_loaded(model)
    assert served_on(unused, "idle") == 0


async def make_pool_listing(client: httpx.AsyncClient, pool: str) -> None:
    """A detailed listing after a load: admission sees the new instances on both members."""
    listed = await client.get(
        "/api/v1/llm-providers/models",
        params={"provider": pool, "detailed": "true", "refresh": "true"},
        headers=ADMIN,
    )
    assert listed.status_code == 200, listed.text
