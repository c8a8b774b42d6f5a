"""A gateway whose Redis stops: quotas fail open (admitted uncounted, a warning logged), never
a 5xx; once Redis is back the same process counts and refuses again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.reliability.dependencies import CLIENT_TIMEOUT, redis_gateway, user_key
from tests.reliability.helpers import ADMIN, NATIVE_CHAT, chat_body
from tests.support.fault_proxy import wait_until
from tests.support.redis_server import OwnRedis, require_redis_server

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    require_redis_server()
    server = OwnRedis().start()
    try:
        yield server
    finally:
        server.stop()


def test_redis_down_fails_open_and_recovers(
    tmp_path: Path, sim: Any, own_redis: OwnRedis, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        redis_gateway(tmp_path, sim, own_redis.url) as gateway,
        httpx.Client(base_url=gateway.url, timeout=CLIENT_TIMEOUT) as client,
    ):
        quotas = gateway.config.app.state.resources.quotas
        user = user_key(client)
        key_id = client.get("/api/v1/me", headers=user).json()["data"]["key_id"]
        created = client.post(
            "/api/v1/llm-providers/quotas",
            json={
                "subject": "key",
                "subject_id": key_id,
                "metric": "requests",
                "period": "day",
                "limit": 1,
            },
            headers=ADMIN,
        )
        assert created.status_code == 201, created.text

        def chat() -> int:
            body = chat_body("quota", stream=False)
            return client.post(NATIVE_CHAT, json=body, headers=user).status_code

        assert chat() == 200
        assert chat() == 429
        own_redis.stop()
        assert [chat(), chat()] == [200, 200]  # fails open, uncounted
        # Whichever Redis user met the failure first opened the shared breaker, with a warning.
        assert quotas.health.failures >= 1
        warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
        assert any("Redis unavailable" in message for message in warnings), warnings
        mine = client.get("/api/v1/llm-providers/quota-usage", headers=user)
        assert mine.status_code == 200 and mine.json()["data"][0]["used"] is None
        own_redis.start()  # a fresh, empty Redis on the same port
        assert wait_until(lambda: chat() == 429, timeout=20, interval=0.2), "counted again"
