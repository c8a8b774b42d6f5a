"""The provider health check: up/down and model load-state changes become webhook events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
from fastapi import FastAPI
from sqlmodel import col, select

from bigshot_llm.db.models import WebhookDelivery
from bigshot_llm.services.providers.health import HealthMonitor
from tests.conftest import ADMIN_KEY, auth
from tests.usage.test_metrics import samples, value

ADMIN = auth(ADMIN_KEY)
EVENTS = ["provider.up", "provider.down", "model.loaded", "model.unloaded"]


async def queued(app: FastAPI) -> list[dict[str, Any]]:
    async with app.state.resources.sessions() as session:
        rows = (
            await session.exec(select(WebhookDelivery).order_by(col(WebhookDelivery.created_at)))
        ).all()
    return [{"event": r.event, **orjson.loads(r.body)["data"]} for r in rows]


async def test_changes_are_announced_and_the_gauge_follows(
    app: FastAPI, client: httpx.AsyncClient, sim: Any
) -> None:
    # Nobody listens on :9, so deliveries stay queued in the table for inspection.
    response = await client.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/", "events": EVENTS}, headers=ADMIN
    )
    assert response.status_code == 201
    await app.state.resources.webhooks.close()  # keep the rows pending
    monitor = HealthMonitor(
        app.state.resources.registry,
        app.state.resources.webhooks,
        interval=30,
        metrics=app.state.resources.metrics,
    )
    await monitor.check_all()  # the first look only records the state
    assert await queued(app) == []

    sim.state.load_model("gemma-3-4b-it")
    await monitor.check_all()
    sim.state.unload_model("gemma-3-4b-it")
    await monitor.check_all()
    sim.state.set_fault("http_500")
    await monitor.check_all()
    scraped = samples((await client.get("/metrics")).text)
    assert value(scraped, "bigshot_provider_up", provider="LMStudio Local") == 0
    sim.state.set_fault(None)
    await monitor.check_all()

    events = await queued(app)
    # Loading gemma unloads qwen (one LLM at a time in LM Studio), then gemma goes again.
    changes = sorted((e["event"], e.get("model")) for e in events if e["event"].startswith("model"))
    assert changes == [
        ("model.loaded", "gemma-3-4b-it"),
        ("model.unloaded", "gemma-3-4b-it"),
        ("model.unloaded", "qwen2.5-7b-instruct"),
    ]
    health = [e for e in events if e["event"].startswith("provider")]
    assert [e["event"] for e in health] == ["provider.down", "provider.up"]
    assert health[0]["provider"]["name"] == "LMStudio Local" and health[0]["error"]
    scraped = samples((await client.get("/metrics")).text)
    assert value(scraped, "bigshot_provider_up", provider="LMStudio Local") == 1


async def test_one_process_checks(tmp_path: Path, app: FastAPI) -> None:
    lock = tmp_path / "health.lock"
    args = (app.state.resources.registry, app.state.resources.webhooks)
    first = HealthMonitor(*args, interval=30, lock_path=lock)
    second = HealthMonitor(*args, interval=30, lock_path=lock)
    try:
        assert first._leader() is True
        assert second._leader() is False
        await first.close()
        assert second._leader() is True
    finally:
        await first.close()
        await second.close()
