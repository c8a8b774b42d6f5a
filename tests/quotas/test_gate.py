"""The quota gate on a fake clock, in process and on the local Redis: refusals, the rollback
of a refused request, usage added at the end, resets, alerts once per level, Redis down."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import from_url

from bigshot_llm.errors import QuotaExceeded
from bigshot_llm.services.quotas.counters import Counters, MemoryCounters, RedisCounters
from bigshot_llm.services.quotas.gate import QuotaGate
from bigshot_llm.services.quotas.periods import Window
from bigshot_llm.services.quotas.rules import QuotaRule
from bigshot_llm.services.redis_health import RedisHealth
from bigshot_llm.services.usage.recorder import UsageEvent
from tests.support.services import REDIS_URL, require_service


class Clock:
    """A fake clock, set in the future: the counters expire by the real one."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def rule(metric: str, limit: float, period: str = "day", subject: str = "user") -> QuotaRule:
    return QuotaRule(uuid.uuid4().hex, subject, "u1", metric, period, limit)  # type: ignore[arg-type]


def finished(tokens: int = 0, gpu: float = 0.0) -> UsageEvent:
    return UsageEvent(
        "u1", "k1", None, None, None, "chat", False, completion_tokens=tokens, gpu_seconds=gpu
    )


@pytest.fixture(params=["memory", "redis"])
async def counters(request: pytest.FixtureRequest) -> AsyncIterator[Counters]:
    if request.param == "memory":
        yield MemoryCounters()
        return
    require_service("Redis", "127.0.0.1", 6379)
    client: Any = from_url(REDIS_URL)
    prefix = f"bigshot-test-{uuid.uuid4().hex[:10]}"
    yield RedisCounters(client, prefix)
    keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_the_request_past_the_limit_is_refused_and_not_counted(counters: Counters) -> None:
    clock = Clock(datetime(2030, 12, 2, 22, 0, tzinfo=UTC))
    gate = QuotaGate(counters, clock=clock)
    quota = rule("requests", 2)
    for _ in range(2):
        assert await gate.admit([quota]) is not None
    for _ in range(3):  # refusals roll their count back: the usage stays at the limit
        with pytest.raises(QuotaExceeded) as refused:
            await gate.admit([quota])
    error = refused.value
    assert error.status_code == 429 and error.code == "quota_exceeded"
    assert error.details == {
        "quota": quota.describe(),
        "usage": 2,
        "resets_at": "2030-12-03T00:00:00Z",
    }
    assert error.headers["Retry-After"] == str(2 * 3600)
    [used] = await gate.usage([quota]) or []
    assert used.used == 2
    clock.now = datetime(2030, 12, 3, 0, 0, 1, tzinfo=UTC)  # the next UTC day
    assert await gate.admit([quota]) is not None


async def test_a_refund_gives_the_request_back(counters: Counters) -> None:
    gate = QuotaGate(counters)
    quota = rule("requests", 1)
    admitted = await gate.admit([quota])
    assert admitted is not None
    await admitted.refund()
    await admitted.refund()  # once only
    assert await gate.admit([quota]) is not None


async def test_tokens_count_at_the_end_and_refuse_once_reached(counters: Counters) -> None:
    clock = Clock(datetime(2030, 1, 31, 23, 0, tzinfo=UTC))
    gate = QuotaGate(counters, clock=clock)
    quota = rule("tokens", 100, "month")
    first = await gate.admit([quota])
    second = await gate.admit([quota])  # admitted while the first still runs
    assert first is not None and second is not None
    await first.charge(finished(tokens=60))
    await second.charge(finished(tokens=60))  # passes the quota: nothing is cut
    with pytest.raises(QuotaExceeded) as refused:
        await gate.admit([quota])
    assert refused.value.details["usage"] == 120
    assert refused.value.details["resets_at"] == "2030-02-01T00:00:00Z"
    assert refused.value.headers["Retry-After"] == "3600"
    clock.now = datetime(2030, 2, 1, tzinfo=UTC)
    assert await gate.admit([quota]) is not None


async def test_gpu_seconds_count_fractions(counters: Counters) -> None:
    gate = QuotaGate(counters)
    quota = rule("gpu_seconds", 1.5)
    for seconds in (0.75, 0.5):
        admitted = await gate.admit([quota])
        assert admitted is not None
        await admitted.charge(finished(gpu=seconds))
    [used] = await gate.usage([quota]) or []
    assert used.used == pytest.approx(1.25)
    admitted = await gate.admit([quota])
    assert admitted is not None
    await admitted.charge(finished(gpu=0.25))
    with pytest.raises(QuotaExceeded) as refused:
        await gate.admit([quota])
    assert refused.value.details["quota"]["metric"] == "gpu_seconds"


async def test_a_refusal_of_one_quota_leaves_the_others_untouched(counters: Counters) -> None:
    gate = QuotaGate(counters)
    user_requests = rule("requests", 10)
    key_requests = rule("requests", 1, subject="key")
    assert await gate.admit([user_requests, key_requests]) is not None
    with pytest.raises(QuotaExceeded) as refused:
        await gate.admit([user_requests, key_requests])
    assert refused.value.details["quota"]["subject"] == "key"
    used = await gate.usage([user_requests, key_requests]) or []
    assert [u.used for u in used] == [1, 1]


async def test_alerts_fire_at_80_and_100_percent_once_each(counters: Counters) -> None:
    seen: list[tuple[str, int, float]] = []

    async def alert(quota: QuotaRule, win: Window, level: int, used: float) -> None:
        seen.append((quota.metric, level, used))

    gate = QuotaGate(counters, alerts=alert)
    tokens, requests = rule("tokens", 100), rule("requests", 5)
    running = [await gate.admit([tokens]) for _ in range(6)]  # all admitted before any ends
    for admitted, amount in zip(running, (50, 29, 1, 15, 5, 40), strict=True):
        assert admitted is not None
        await admitted.charge(finished(tokens=amount))  # 50, 79, 80, 95, 100, 140
    for _ in range(5):
        await gate.admit([requests])
    with pytest.raises(QuotaExceeded):
        await gate.admit([requests])
    assert seen == [
        ("tokens", 80, 80),
        ("tokens", 100, 100),
        ("requests", 80, 4),
        ("requests", 100, 5),
    ]


async def test_the_counters_expire_at_the_end_of_the_period() -> None:
    counters = MemoryCounters()
    gone = datetime.now(UTC) - timedelta(seconds=1)
    await counters.add([("x", 5, gone)])
    assert await counters.get(["x"]) == [0.0]
    assert await counters.once("y", gone) and await counters.once("y", gone)


async def test_redis_down_fails_open_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    client: Any = from_url("redis://127.0.0.1:9/0", socket_connect_timeout=1)  # nothing listens
    health = RedisHealth(retry_seconds=30)
    gate = QuotaGate(RedisCounters(client, "x"), shared=True, health=health)
    quota = rule("requests", 1)
    with caplog.at_level(logging.WARNING):
        assert await gate.admit([quota]) is None  # admitted, uncounted
        assert await gate.admit([quota]) is None  # skipped at once while Redis is sick
        assert await gate.usage([quota]) is None
    assert gate.failures == 1 and health.failures == 1
    assert any("Redis unavailable" in r.getMessage() for r in caplog.records)
    await client.aclose()
