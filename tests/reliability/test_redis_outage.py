"""Redis failing under a running gateway: degrade to in-process state, never 5xx, recover
unaided. Redis is a throwaway `redis-server` of the test's own.

* Stopped: rate limits, stream slots and the model cache fall back to the in-process
  versions and count the failure (or refuse with 429 when `BIGSHOT_RATE_LIMIT_FAIL_OPEN=false`);
  the pub/sub bus waits for Redis. When Redis is back, the same process uses it again.
* Hung (a fault proxy that accepts and never answers): every Redis call is bounded by the
  socket timeout and then treated exactly like a dead Redis, so nothing waits for it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.reliability.dependencies import (
    CLIENT_TIMEOUT,
    HEALTHY,
    redis_gateway,
    traffic,
    user_key,
)
from tests.reliability.helpers import NATIVE_CHAT, chat_body
from tests.support.fault_proxy import FaultProxy, wait_until
from tests.support.redis_server import OwnRedis

pytestmark = pytest.mark.timeout(180)

# A round of `traffic` against a hung Redis: well above a few bounded calls on a busy machine,
# far below what the old unbounded client took (about 5 s per Redis call, several per request).
HUNG_ROUND_SECONDS = 20.0


def test_redis_down_degrades_and_recovers_without_restart(
    tmp_path: Path, sim: Any, own_redis: OwnRedis
) -> None:
    with (
        redis_gateway(tmp_path, sim, own_redis.url) as gateway,
        httpx.Client(base_url=gateway.url, timeout=CLIENT_TIMEOUT) as client,
    ):
        resources = gateway.config.app.state.resources
        limits = resources.rate_limits
        prefix = resources.settings.redis_prefix
        user = user_key(client)
        assert traffic(client, user) == HEALTHY
        assert own_redis.keys(f"{prefix}:limits*"), "rate limits live in Redis, under the prefix"
        assert limits.storage_errors == 0

        own_redis.stop()
        assert traffic(client, user) == HEALTHY  # degraded, never a 5xx
        assert limits.storage_errors > 0  # counted and logged as a warning
        metrics = client.get("/metrics").text
        assert "bigshot_dependency_errors_total" in metrics, metrics[:500]

        own_redis.start()  # same port: the same process must pick it up again
        assert wait_until(
            lambda: traffic(client, user) == HEALTHY and own_redis.keys(f"{prefix}:limits*"),
            timeout=20,
            interval=0.2,
        ), "rate limits are in Redis again"
        errors = limits.storage_errors
        assert traffic(client, user) == HEALTHY
        assert limits.storage_errors == errors, "Redis is back: no more failures"


def test_redis_down_fails_closed_when_configured(
    tmp_path: Path, sim: Any, own_redis: OwnRedis
) -> None:
    with (
        redis_gateway(tmp_path, sim, own_redis.url, rate_limit_fail_open=False) as gateway,
        httpx.Client(base_url=gateway.url, timeout=CLIENT_TIMEOUT) as client,
    ):
        user = user_key(client)
        assert traffic(client, user) == HEALTHY
        own_redis.stop()
        refused = client.post(NATIVE_CHAT, json=chat_body("closed", stream=False), headers=user)
        assert refused.status_code == 429, refused.text
        assert refused.headers.get("Retry-After")
        own_redis.start()
        assert wait_until(
            lambda: (
                client.post(
                    NATIVE_CHAT, json=chat_body("open", stream=False), headers=user
                ).status_code
                == 200
            ),
            timeout=20,
            interval=0.2,
        )


def test_hung_redis_is_bounded_and_handled_like_a_dead_one(
    tmp_path: Path, sim: Any, own_redis: OwnRedis
) -> None:
    with FaultProxy(own_redis.port, idle_timeout=3600) as proxy:
        with (
            redis_gateway(tmp_path, sim, f"redis://127.0.0.1:{proxy.port}/0") as gateway,
            httpx.Client(base_url=gateway.url, timeout=CLIENT_TIMEOUT) as client,
        ):
            resources = gateway.config.app.state.resources
            prefix = resources.settings.redis_prefix
            user = user_key(client)
            assert traffic(client, user) == HEALTHY
            assert own_redis.keys(f"{prefix}:limits*")

            proxy.configure(blackhole=True)  # connections open, nothing ever answered
            for _ in range(2):  # the first round meets the hang, the second the fallback
                started = time.monotonic()
                assert traffic(client, user) == HEALTHY
                took = time.monotonic() - started
                assert took < HUNG_ROUND_SECONDS, f"a round took {took:.1f} s"
            assert resources.rate_limits.storage_errors > 0
            models = client.get("/v1/models", headers=user)
            assert models.status_code == 200, models.text

            proxy.configure()  # Redis answers again
            known = len(own_redis.keys(f"{prefix}:limits*"))
            fresh = user_key(client, "after-the-hang")  # its first hit makes a new key
            assert wait_until(
                lambda: (
                    traffic(client, fresh) == HEALTHY
                    and len(own_redis.keys(f"{prefix}:limits*")) > known
                ),
                timeout=30,
                interval=0.2,
            ), "rate limits are in Redis again after the hang"


def test_hung_redis_falls_back_to_in_process_rate_limits(
    tmp_path: Path, sim: Any, own_redis: OwnRedis
) -> None:
    """Failing open does not mean unlimited: the in-process limiter counts meanwhile."""
    with FaultProxy(own_redis.port, idle_timeout=3600) as proxy:
        with (
            redis_gateway(
                tmp_path, sim, f"redis://127.0.0.1:{proxy.port}/0", rate_limit_user=3
            ) as gateway,
            httpx.Client(base_url=gateway.url, timeout=CLIENT_TIMEOUT) as client,
        ):
            user = user_key(client)
            proxy.configure(blackhole=True)
            codes = [
                client.post(
                    NATIVE_CHAT, json=chat_body(f"limited {n}", stream=False), headers=user
                ).status_code
                for n in range(5)
            ]
            assert codes[:3] == [200, 200, 200], codes
            assert codes[3:] == [429, 429], codes
            assert gateway.config.app.state.resources.rate_limits.storage_errors > 0


def test_chat_streams_without_their_redis_get_a_503_naming_it(
    tmp_path: Path, sim: Any, own_redis: OwnRedis
) -> None:
    """Chat-stream buffers have no in-process stand-in (a reader may be on another replica):
    with Redis gone a new chat stream is refused with 503 `redis_unavailable`, never a 500 or
    a message blaming the database."""
    with (
        redis_gateway(tmp_path, sim, own_redis.url) as gateway,
        httpx.Client(base_url=gateway.url, timeout=CLIENT_TIMEOUT) as client,
    ):
        user = user_key(client)
        started = client.post("/api/v1/chat/streams", json={"message": "hi"}, headers=user)
        assert started.status_code == 201, started.text
        own_redis.stop()
        refused = client.post("/api/v1/chat/streams", json={"message": "hi"}, headers=user)
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "redis_unavailable"
        assert refused.headers.get("Retry-After")
