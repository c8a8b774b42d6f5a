"""Redis and Postgres failing under a running gateway: degrade, never 500, recover unaided.

* Redis stopped (a throwaway `redis-server` of the test's own): rate limits fail open and
  count the failure (or refuse with 429 when `BIGSHOT_RATE_LIMIT_FAIL_OPEN=false`); stream
  slots, the model cache and the pub/sub bus degrade to local behaviour. When Redis is back,
  the same process uses it again without a restart.
* Postgres "restarted" (a fault proxy in front of the shared server is cut, then restored):
  requests that need the database get 503 during the outage only, LLM calls with cached
  config keep working, and the gateway recovers by itself.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bigshot_llm.main import create_app
from tests.conftest import make_settings
from tests.reliability.helpers import (
    ADMIN,
    ADMIN_KEY,
    NATIVE_CHAT,
    OPENAI_CHAT,
    chat_body,
    parse_stream,
)
from tests.support.fault_proxy import FaultProxy, wait_until
from tests.support.servers import ThreadedServer, free_port
from tests.support.services import PG_HOST, PG_PORT, require_binary, require_service

pytestmark = pytest.mark.timeout(120)


class OwnRedis:
    """A throwaway `redis-server` on a free loopback port (never the shared one)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> OwnRedis:
        cmd = [
            "redis-server",
            *("--port", str(self.port), "--bind", "127.0.0.1", "--save", ""),
            *("--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"),
        ]
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_until(self.ping, timeout=10):
            raise RuntimeError("redis-server did not start")
        return self

    def ping(self) -> bool:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def keys(self, pattern: str) -> list[bytes]:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)
        try:
            return list(client.scan_iter(match=pattern))
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    require_binary("redis-server")  # a skip, or a failure under BIGSHOT_REQUIRE_SERVICES=1
    server = OwnRedis().start()
    try:
        yield server
    finally:
        server.stop()


def traffic(client: httpx.Client, headers: dict[str, str]) -> dict[str, Any]:
    """One of each: chat on both APIs, a stream on both, model lists, an admin write."""
    seen: dict[str, Any] = {}
    for path, openai in ((NATIVE_CHAT, False), (OPENAI_CHAT, True)):
        answer = client.post(path, json=chat_body("dependency", stream=False), headers=headers)
        seen[f"chat {path}"] = answer.status_code
        with client.stream(
            "POST", path, json=chat_body("dependency", stream=True, openai=openai), headers=headers
        ) as response:
            raw = response.read()
        ending = parse_stream(raw, openai=openai)[1] if response.status_code == 200 else None
        seen[f"stream {path}"] = (response.status_code, ending)
    seen["models"] = client.get("/api/v1/llm-providers/models", headers=headers).status_code
    seen["v1 models"] = client.get("/v1/models", headers=headers).status_code
    provider = client.get("/api/v1/llm-providers", headers=ADMIN).json()["data"][0]["id"]
    seen["admin write"] = client.patch(
        f"/api/v1/llm-providers/{provider}",
        json={"default_model": "qwen2.5-7b-instruct"},
        headers=ADMIN,
    ).status_code
    return seen


HEALTHY = {
    f"chat {NATIVE_CHAT}": 200,
    f"chat {OPENAI_CHAT}": 200,
    f"stream {NATIVE_CHAT}": (200, "done"),
    f"stream {OPENAI_CHAT}": (200, "done"),
    "models": 200,
    "v1 models": 200,
    "admin write": 200,
}


def user_key(client: httpx.Client) -> dict[str, str]:
    response = client.post(
        "/api/v1/keys",
        json={"name": "redis-user", "user": f"u-{uuid.uuid4().hex[:6]}", "role": "user"},
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['data']['key']}"}


def redis_gateway(tmp_path: Path, sim: Any, redis_url: str, **overrides: Any) -> ThreadedServer:
    settings = make_settings(
        tmp_path,
        bootstrap_admin_key=ADMIN_KEY,
        lmstudio_api_base=f"{sim.url}/v1",
        redis_url=redis_url,
        redis_prefix=f"rel-{uuid.uuid4().hex[:8]}",
        rate_limit_user=10_000,
        max_streams_user=4,
        health_check_seconds=0,
        **overrides,
    )
    return ThreadedServer(create_app(settings))


def test_redis_down_degrades_and_recovers_without_restart(
    tmp_path: Path, sim: Any, own_redis: OwnRedis
) -> None:
    with (
        redis_gateway(tmp_path, sim, own_redis.url) as gateway,
        httpx.Client(base_url=gateway.url, timeout=30) as client,
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
        errors = limits.storage_errors
        assert wait_until(lambda: traffic(client, user) == HEALTHY, timeout=10)
        assert traffic(client, user) == HEALTHY
        assert limits.storage_errors == errors, "Redis is back: no more failures"
        assert own_redis.keys(f"{prefix}:limits*"), "rate limits are in Redis again"


def test_redis_down_fails_closed_when_configured(
    tmp_path: Path, sim: Any, own_redis: OwnRedis
) -> None:
    with (
        redis_gateway(tmp_path, sim, own_redis.url, rate_limit_fail_open=False) as gateway,
        httpx.Client(base_url=gateway.url, timeout=30) as client,
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
            timeout=10,
        )


def test_postgres_outage_gives_503_and_recovers_by_itself(tmp_path: Path, sim: Any) -> None:
    require_service("PostgreSQL", PG_HOST, PG_PORT)
    import asyncio

    from tests.support.services import temporary_postgres_database

    async def body() -> None:
        async with temporary_postgres_database() as url:
            await asyncio.to_thread(postgres_outage, tmp_path, sim, url)

    asyncio.run(body())


def postgres_outage(tmp_path: Path, sim: Any, url: str) -> None:
    with FaultProxy(PG_PORT, idle_timeout=3600) as proxy:
        proxied = url.replace(f"{PG_HOST}:{PG_PORT}", f"127.0.0.1:{proxy.port}")
        settings = make_settings(
            tmp_path,
            bootstrap_admin_key=ADMIN_KEY,
            lmstudio_api_base=f"{sim.url}/v1",
            database_url=proxied,
            health_check_seconds=0,
        )
        with (
            ThreadedServer(create_app(settings)) as gateway,
            httpx.Client(base_url=gateway.url, timeout=30) as client,
        ):
            assert client.get("/ready").status_code == 200
            assert client.get("/api/v1/keys", headers=ADMIN).status_code == 200
            assert traffic(client, ADMIN) == HEALTHY  # caches the key and the configs

            # The once-a-minute "last used" write of the key will fall in the outage.
            gateway.config.app.state.resources.auth._last_used.clear()
            proxy.cut()  # the database goes away: connections reset, new ones refused
            cut_at = time.monotonic()
            assert client.get("/ready").status_code == 503
            needs_db = client.get("/api/v1/keys", headers=ADMIN)
            assert needs_db.status_code == 503, needs_db.text
            write = client.post(
                "/api/v1/keys", json={"name": "during-outage"}, headers=ADMIN
            ).status_code
            assert write == 503
            for path, openai in ((NATIVE_CHAT, False), (OPENAI_CHAT, True)):
                answer = client.post(path, json=chat_body("outage", stream=False), headers=ADMIN)
                assert answer.status_code == 200, answer.text  # cached key and config
                streamed = client.post(
                    path, json=chat_body("outage", stream=True, openai=openai), headers=ADMIN
                )
                assert parse_stream(streamed.content, openai=openai)[1] == "done"
            assert time.monotonic() - cut_at < 10, "the outage answers must be quick"

            proxy.restore()  # the database is back: no restart of the gateway
            assert wait_until(lambda: client.get("/ready").status_code == 200, timeout=10)
            assert client.get("/api/v1/keys", headers=ADMIN).status_code == 200
            created = client.post("/api/v1/keys", json={"name": "after-outage"}, headers=ADMIN)
            assert created.status_code == 201, created.text
            assert traffic(client, ADMIN) == HEALTHY
