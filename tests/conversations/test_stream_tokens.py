"""A chat stream's events token: never in a log line, and dead with the key that made it
(revoked, its user removed) or with the stream's buffer, on every replica."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bigshot_llm import logging_setup
from bigshot_llm.main import create_app
from tests.conftest import ADMIN_KEY, auth, create_user_key, make_settings
from tests.conversations.helpers import STREAMS, start_stream
from tests.support.servers import ThreadedServer
from tests.support.services import REDIS_URL, require_service

ADMIN = auth(ADMIN_KEY)


async def finished(client: httpx.AsyncClient, stream_id: str, headers: dict) -> None:
    for _ in range(400):
        status = (await client.get(f"{STREAMS}/{stream_id}", headers=headers)).json()["data"]
        if status["status"] != "running":
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the stream did not finish")


async def test_revoking_the_key_kills_its_stream_tokens(client: httpx.AsyncClient) -> None:
    key = auth(await create_user_key(client, "tok"))
    created = await start_stream(client, key, message="hello")
    await finished(client, created["stream_id"], key)
    url = created["events_url"]
    assert (await client.get(url)).status_code == 200  # no key needed: the token is enough
    keys = (await client.get("/api/v1/keys", headers=key)).json()["data"]
    assert (await client.delete(f"/api/v1/keys/{keys[0]['id']}", headers=key)).status_code == 200
    replayed = await client.get(url)
    assert replayed.status_code == 404, replayed.text
    assert "hello" not in replayed.text


async def test_removing_the_user_kills_its_stream_tokens(client: httpx.AsyncClient) -> None:
    key = auth(await create_user_key(client, "leaver"))
    created = await start_stream(client, key, message="hello")
    await finished(client, created["stream_id"], key)
    me = (await client.get("/api/v1/me", headers=key)).json()["data"]
    assert (await client.get(created["events_url"])).status_code == 200
    removed = await client.delete(f"/api/v1/users/{me['user_id']}", headers=ADMIN)
    assert removed.status_code == 200, removed.text
    assert (await client.get(created["events_url"])).status_code == 404
    assert (await client.get("/api/v1/me", headers=key)).status_code == 401


@pytest.mark.parametrize("settings_overrides", [{"stream_buffer_seconds": 0.3}])
async def test_the_token_expires_with_the_buffer(
    client: httpx.AsyncClient, user_headers: dict
) -> None:
    created = await start_stream(client, user_headers, message="hello")
    await finished(client, created["stream_id"], user_headers)
    assert (await client.get(created["events_url"])).status_code == 200
    for _ in range(200):
        if (await client.get(created["events_url"])).status_code == 404:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the token outlived the stream's buffer")


@pytest.fixture
def production_logging() -> Iterator[list[logging.LogRecord]]:
    """`serve`'s logging (configure_logging in the lifespan) with a collector on the root."""
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    root = logging.getLogger()
    level, collector = root.level, Collect(logging.DEBUG)
    root.addHandler(collector)
    try:
        yield records
    finally:
        root.removeHandler(collector)
        for handler in [h for h in root.handlers if getattr(h, "_bigshot_handler", False)]:
            root.removeHandler(handler)
        logging_setup._stop_listener()
        root.setLevel(level)


def test_stream_tokens_never_reach_a_log_line(
    tmp_path: Path, sim: Any, production_logging: list[logging.LogRecord]
) -> None:
    settings = make_settings(tmp_path, lmstudio_api_base=f"{sim.url}/v1", log_format="json")
    # uvicorn exactly as `bigshot-llm serve` runs it (cli._run_uvicorn)
    server = ThreadedServer(
        create_app(settings), log_config=None, access_log=False, log_level="info"
    )
    with server, httpx.Client(base_url=server.url, timeout=30) as client:
        created = client.post(STREAMS, json={"message": "hello"}, headers=ADMIN)
        assert created.status_code == 201, created.text
        url = created.json()["data"]["events_url"]
        token = url.split("token=", 1)[1]
        events = client.get(url)
        assert events.status_code == 200
        assert client.get(f"{url}&last_event_id=1").status_code in (200, 204)
    lines = [r.getMessage() for r in production_logging]
    assert any("/events" in line for line in lines), lines  # the access line is there …
    assert not [line for line in lines if token in line]  # … without the token
    assert not [r for r in production_logging if r.name == "uvicorn.access"]


def test_secret_query_values_are_masked_whatever_logs_them() -> None:
    line = logging_setup.redact_query_secrets(
        '"GET /api/v1/chat/streams/abc/events?token=s3cr3t&last_event_id=4 HTTP/1.1" 200'
    )
    assert "s3cr3t" not in line and "token=[redacted]&last_event_id=4" in line


@pytest.mark.redis
async def test_a_revoked_keys_token_is_refused_on_every_replica(tmp_path: Path, sim: Any) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    db = tmp_path / "shared.db"
    prefix = f"t-{uuid.uuid4().hex[:8]}"

    def replica(name: str) -> Any:
        return create_app(
            make_settings(
                tmp_path / name,
                lmstudio_api_base=f"{sim.url}/v1",
                database_url=f"sqlite+aiosqlite:///{db}",
                redis_url=REDIS_URL,
                redis_prefix=prefix,
            )
        )

    with ThreadedServer(replica("a")) as a, ThreadedServer(replica("b")) as b:
        async with httpx.AsyncClient(timeout=30) as client:
            made = await client.post(
                f"{a.url}/api/v1/keys", json={"name": "r", "user": "replicated"}, headers=ADMIN
            )
            key = auth(made.json()["data"]["key"])
            created = await client.post(f"{a.url}{STREAMS}", json={"message": "hi"}, headers=key)
            assert created.status_code == 201, created.text
            data = created.json()["data"]
            await client.delete(f"{a.url}{STREAMS}/{data['stream_id']}", headers=key)
            assert (await client.get(f"{b.url}{data['events_url']}")).status_code in (200, 204)
            await client.delete(f"{a.url}/api/v1/keys/{made.json()['data']['id']}", headers=key)
            refused = await client.get(f"{b.url}{data['events_url']}")
            assert refused.status_code == 404, refused.text
