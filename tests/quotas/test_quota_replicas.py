"""Two gateway replicas sharing the local Redis and one Postgres database: a quota counted on
both refuses the request that would pass it, whichever replica it reaches, in the shape of
every surface; concurrent requests on both never admit more than the limit together."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from bigshot_llm.main import create_app
from tests.conftest import auth, create_user_key, make_settings
from tests.quotas.helpers import SURFACES, me, quota_fields, set_quota
from tests.support.servers import ThreadedServer
from tests.support.services import (
    PG_HOST,
    PG_PORT,
    REDIS_URL,
    require_service,
    temporary_postgres_database,
)


@pytest.fixture
async def shared_database() -> AsyncIterator[str]:
    require_service("PostgreSQL", PG_HOST, PG_PORT)
    require_service("Redis", "127.0.0.1", 6379)
    async with temporary_postgres_database() as url:
        yield url


@pytest.fixture
def replicas(tmp_path: Path, sim: Any, shared_database: str) -> Iterator[list[ThreadedServer]]:
    shared = {
        "database_url": shared_database,
        "redis_url": REDIS_URL,
        "redis_prefix": f"t-{uuid.uuid4().hex}",
        "lmstudio_api_base": f"{sim.url}/v1",
        "allowed_upstream_hosts": f"127.0.0.1:{sim.port}",
        "rate_limit_user": 0,
        "max_streams_user": 0,
    }
    with ExitStack() as stack:
        servers = [
            stack.enter_context(ThreadedServer(create_app(make_settings(tmp_path / n, **shared))))
            for n in ("a", "b")
        ]
        yield servers


@pytest.mark.parametrize("surface", list(SURFACES))
async def test_the_fourth_request_is_refused_on_either_replica(
    replicas: list[ThreadedServer], surface: str
) -> None:
    path, body = SURFACES[surface]
    async with (
        httpx.AsyncClient(base_url=replicas[0].url, timeout=60) as a,
        httpx.AsyncClient(base_url=replicas[1].url, timeout=60) as b,
    ):
        headers = auth(await create_user_key(a, f"user-{surface}"))
        user = await me(a, headers)
        await set_quota(a, "user", user["user_id"], "requests", "day", 3)
        for client in (a, b, a):
            answer = await client.post(path, json=body, headers=headers)
            assert answer.status_code == 200, answer.text
        for client in (b, a):  # the 4th, and again on the other replica
            refused = await client.post(path, json=body, headers=headers)
            assert refused.status_code == 429, refused.text
            fields = quota_fields(surface, refused.json())
            assert fields["quota"]["metric"] == "requests" and fields["quota"]["limit"] == 3
            assert fields["quota"]["period"] == "day" and fields["usage"] == 3
            assert fields["resets_at"].endswith("T00:00:00Z")
            assert int(refused.headers["Retry-After"]) >= 1
        for client in (a, b):  # both replicas count the same three
            [row] = (await client.get("/api/v1/llm-providers/quota-usage", headers=headers)).json()[
                "data"
            ]
            assert row["used"] == 3 and row["remaining"] == 0


async def test_concurrent_requests_on_both_replicas_admit_exactly_the_limit(
    replicas: list[ThreadedServer],
) -> None:
    path, body = SURFACES["openai"]
    async with (
        httpx.AsyncClient(base_url=replicas[0].url, timeout=60) as a,
        httpx.AsyncClient(base_url=replicas[1].url, timeout=60) as b,
    ):
        headers = auth(await create_user_key(a, "racer"))
        user = await me(a, headers)
        await set_quota(a, "key", user["key_id"], "requests", "day", 4)
        answers = await asyncio.gather(
            *(c.post(path, json=body, headers=headers) for c in (a, b) * 5)
        )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * 4 + [429] * 6
