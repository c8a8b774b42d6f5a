"""The generation pipeline on its own: no HTTP, the real simulator behind it.

`GenerationService` is what every surface calls; these tests drive it directly through the
resources the lifespan builds, and check what every surface relies on: typed events in
order, exactly one terminal event, the upstream closed and the usage recorded however the
stream ends, and the stream slot held while it runs and given back after.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bigshot_llm.errors import ProviderUnavailable, RateLimited
from bigshot_llm.lifespan import open_resources
from bigshot_llm.resources import Resources
from bigshot_llm.services.access.auth import Principal
from bigshot_llm.services.generation import (
    Chunk,
    Done,
    Event,
    Failed,
    GenerationRequest,
    TextDelta,
)
from tests.conftest import make_settings

ALICE = Principal(user_id="u-alice", user_name="alice", role="user", key_id="k-alice-1")
MODEL = "qwen2.5-7b-instruct"


@pytest.fixture
async def resources(tmp_path: Path, sim: Any) -> AsyncIterator[Resources]:
    settings = make_settings(tmp_path, lmstudio_api_base=f"{sim.url}/v1", max_streams_user=1)
    async with open_resources(settings) as opened:
        yield opened


def chat(principal: Principal = ALICE, **body: Any) -> GenerationRequest:
    messages = [{"role": "user", "content": "Name three primes."}]
    return GenerationRequest(
        principal, "chat", {"messages": messages, **body}, endpoint="/test", model=MODEL
    )


async def collect(events: AsyncIterator[Event]) -> list[Event]:
    return [event async for event in events]


async def test_a_stream_is_chunks_then_one_done_with_usage(resources: Resources, sim: Any) -> None:
    sim.state.tokens = 6
    generation = await resources.generation.stream(chat())
    assert resources.slots.active(ALICE.user_id) == 1  # admitted: the slot is taken
    events = await collect(aiter(generation))
    chunks = [e for e in events if isinstance(e, Chunk)]
    assert isinstance(events[-1], Done) and not any(isinstance(e, Failed) for e in events)
    texts = [p.text for c in chunks for p in c.parts if isinstance(p, TextDelta)]
    assert len(texts) == 6 and "".join(texts) == generation.stats.text
    assert all(c.raw and c.data for c in chunks)  # the upstream's bytes travel along
    done = events[-1]
    assert done.usage["completion_tokens"] == 6 and done.usage_estimated is False
    assert done.stats["ttft_ms"] is not None and done.model == MODEL
    assert resources.slots.active(ALICE.user_id) == 0  # given back
    assert resources.usage.pending == 1
    await resources.usage.flush()


async def test_a_refused_upstream_is_raised_by_start_and_frees_the_slot(
    resources: Resources, sim: Any
) -> None:
    sim.stop()
    generation = await resources.generation.stream(chat())
    with pytest.raises(ProviderUnavailable):
        await generation.start()
    assert resources.slots.active(ALICE.user_id) == 0
    assert resources.usage.pending == 1  # the failure is recorded too


async def test_a_failure_mid_stream_is_the_terminal_event(resources: Resources, sim: Any) -> None:
    sim.state.tokens = 10
    sim.state.set_fault("drop_mid_stream", after=2)
    generation = await resources.generation.stream(chat())
    await generation.start()
    events = await collect(aiter(generation))
    assert isinstance(events[-1], Failed)
    assert sum(isinstance(e, Failed | Done) for e in events) == 1
    assert resources.slots.active(ALICE.user_id) == 0


async def test_stopping_early_closes_the_upstream_and_records_a_cancel(
    resources: Resources, sim: Any
) -> None:
    sim.state.tokens = 200
    sim.state.token_delay = 0.02
    generation = await resources.generation.stream(chat())
    relay = aiter(generation)
    first = await anext(relay)
    assert isinstance(first, Chunk)
    await relay.aclose()  # what a client that goes away does
    await sim.state.wait_for_async(lambda: sim.state.streams_aborted == 1, timeout=10)
    assert resources.slots.active(ALICE.user_id) == 0
    recorded = resources.usage._pending[-1]
    assert recorded.status == "cancelled" and recorded.streamed


async def test_the_cap_counts_the_user_across_keys_and_surfaces(
    resources: Resources, sim: Any
) -> None:
    sim.state.tokens = 50
    sim.state.token_delay = 0.02
    running = await resources.generation.stream(chat())
    other_key = replace(ALICE, key_id="k-alice-2")
    with pytest.raises(RateLimited) as refused:
        await resources.generation.stream(chat(other_key))
    assert refused.value.code == "too_many_streams" and "1 at a time" in refused.value.message
    # A comparison holds one slot for all its targets: the same cap.
    with pytest.raises(RateLimited):
        await resources.slots.acquire(other_key)
    await running.aclose()
    again = await resources.generation.stream(chat(other_key))
    assert resources.slots.active(ALICE.user_id) == 1
    await again.aclose()
    assert resources.slots.active(ALICE.user_id) == 0


async def test_a_one_shot_call_is_metered(resources: Resources, sim: Any) -> None:
    answer = await resources.generation.call(chat())
    assert answer.result["choices"][0]["message"]["content"]
    assert answer.model == MODEL and answer.upstream_ms is not None
    assert resources.usage._pending[-1].streamed is False


async def test_max_completion_tokens_is_translated_for_lm_studio(
    resources: Resources, sim: Any
) -> None:
    generation = await resources.generation.stream(chat(max_completion_tokens=3, max_tokens=9))
    events = await collect(aiter(generation))
    assert sum(len(e.parts) for e in events if isinstance(e, Chunk)) == 3
    assert isinstance(events[-1], Done) and events[-1].finish_reason == "length"


async def test_a_cancelled_consumer_task_settles_the_generation(
    resources: Resources, sim: Any
) -> None:
    sim.state.tokens = 500
    sim.state.token_delay = 0.02
    generation = await resources.generation.stream(chat())

    async def consume() -> None:
        async for _ in generation:
            pass

    task = asyncio.create_task(consume())
    await sim.state.wait_for_async(lambda: sim.state.streams_open == 1, timeout=10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert resources.slots.active(ALICE.user_id) == 0
    await sim.state.wait_for_async(lambda: sim.state.streams_open == 0, timeout=10)
