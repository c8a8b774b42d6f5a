"""Across replicas the GPU slots are counted in Redis: two gateways sharing one simulator
never run more generations on it than its slots, together."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ADMIN_KEY, auth
from tests.generation.test_gpu_admission import (
    DEADLINE,
    capacity_of,
    gateway_for,
    learn_slots,
    stream_events,
    wait_until,
)
from tests.support.services import require_service

ADMIN = auth(ADMIN_KEY)


async def test_two_replicas_share_the_slots_through_redis(tmp_path: Path, sim: Any) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    shared = {"redis_url": "redis://127.0.0.1:6379/0", "redis_prefix": f"t-{uuid.uuid4().hex}"}
    sim.state.parallel = 2
    sim.state.paused = True
    first_dir, second_dir = tmp_path / "a", tmp_path / "b"
    with (
        gateway_for(first_dir, sim, **shared) as one,
        gateway_for(second_dir, sim, **shared) as two,
    ):
        async with (
            httpx.AsyncClient(base_url=one.url, timeout=DEADLINE * 2) as a,
            httpx.AsyncClient(base_url=two.url, timeout=DEADLINE * 2) as b,
        ):
            for client in (a, b):
                await learn_slots(client)
            tasks = [
                asyncio.create_task(stream_events(client, ADMIN, f"{name}-{n}"))
                for n in range(3)
                for client, name in ((a, "a"), (b, "b"))
            ]

            async def queued_on_both() -> bool:
                waiting = [(await capacity_of(c))["queued"] for c in (a, b)]
                return sum(waiting) == 4

            await wait_until(queued_on_both, "four requests to wait over both replicas")
            # The two given slots reach the upstream a moment after they left the queues.
            await wait_until(lambda: sim.state.generating == 2, "two requests to run")
            sim.state.paused = False
            results = await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE * 2)
    assert all(events[-1][0] == "done" for events in results)
    assert sim.state.peak_generating == 2 and len(sim.state.served) == 6
