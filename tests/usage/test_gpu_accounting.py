"""GPU accounting against the simulator: two overlapping requests share their instance's time,
a queued one records its wait apart, and each record carries energy and shadow cost from the
provider's watts and the model's price as they were when it was recorded."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_KEY, auth
from tests.usage.helpers import CHAT_MODEL, NATIVE, USAGE, recent, summary

ADMIN = auth(ADMIN_KEY)
CHAT = f"{NATIVE}/chat/completions"
DEADLINE = 60.0  # generous: the machine may be busy
ADMISSION = pytest.mark.parametrize(
    "settings_overrides",
    [{"admission_enabled": True}, {"admission_enabled": False}],
    ids=["admission-on", "admission-off"],
)


async def wait_until(check: Any, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def chat(
    client: httpx.AsyncClient, headers: dict[str, str], prompt: str = "hi", **extra: Any
) -> dict[str, Any]:
    body = {"model": CHAT_MODEL, "messages": [{"role": "user", "content": prompt}], **extra}
    response = await client.post(CHAT, json=body, headers=headers, timeout=DEADLINE)
    assert response.status_code == 200, response.text
    return response.json() if not extra.get("stream") else {}


async def local_provider(client: httpx.AsyncClient) -> str:
    listed = await client.get(NATIVE, headers=ADMIN)
    assert listed.status_code == 200, listed.text
    [provider] = [p for p in listed.json()["data"] if p["name"] == "LMStudio Local"]
    return str(provider["id"])


async def set_rates(client: httpx.AsyncClient, provider: str, **fields: Any) -> dict[str, Any]:
    answer = await client.patch(f"{NATIVE}/{provider}", json=fields, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["data"])


@ADMISSION
async def test_two_overlapping_requests_share_the_instance(
    client: httpx.AsyncClient, sim: Any
) -> None:
    """A (streamed, 60 tokens) runs; B (one-shot, 10 tokens) starts while A generates and ends
    well before it. B ran beside A all its time: about half its slot time is its share. A is
    charged its own time less that half; together exactly the time the instance was busy."""
    sim.state.tokens, sim.state.token_delay = 60, 0.05  # A ≈ 3 s, B ≈ 0.5 s
    a = asyncio.create_task(chat(client, ADMIN, "long", stream=True))
    await wait_until(lambda: sim.state.generating == 1, "A to generate")
    await asyncio.sleep(0.2)
    await chat(client, ADMIN, "short", max_tokens=10)
    await asyncio.wait_for(a, DEADLINE)
    records = {r["completion_tokens"]: r for r in await recent(client, ADMIN)}
    long, short = records[60], records[10]
    long_s, short_s = long["duration_ms"] / 1000, short["duration_ms"] / 1000
    assert 0.35 <= short["gpu_seconds"] / short_s <= 0.7, short  # ≈ 0.5: always shared
    assert long["gpu_seconds"] < long_s - 0.3 * short_s, long  # gave up some of its time
    # The two shares add up to the busy time, which is A's (B ran inside it).
    assert long["gpu_seconds"] + short["gpu_seconds"] == pytest.approx(long_s, rel=0.15)
    assert long["queue_ms"] is None or long["queue_ms"] < 1000


async def test_a_request_alone_is_charged_its_slot_time_and_queue_time_is_apart(
    client: httpx.AsyncClient, sim: Any
) -> None:
    """One slot: the second request waits for the first; its wait is `queue_ms`, and its GPU
    time is its own run (alone), not the wait."""
    sim.state.parallel = 1
    sim.state.tokens, sim.state.token_delay = 20, 0.05  # ≈ 1 s each
    listing = await client.get(
        f"{NATIVE}/models", params={"detailed": "true", "refresh": "true"}, headers=ADMIN
    )
    assert listing.status_code == 200, listing.text  # the gateway learns the one slot
    first = asyncio.create_task(chat(client, ADMIN, "first"))
    await wait_until(lambda: sim.state.generating == 1, "the first to run")
    await chat(client, ADMIN, "second")
    await asyncio.wait_for(first, DEADLINE)
    assert sim.state.peak_generating == 1
    newest, oldest = await recent(client, ADMIN)
    for record in (newest, oldest):
        slot_s = record["duration_ms"] / 1000
        assert 0.8 <= record["gpu_seconds"] / slot_s <= 1.05, record  # alone: all of it
    assert newest["queue_ms"] > 0.5 * oldest["duration_ms"], newest  # waited for the first
    assert oldest["queue_ms"] < newest["queue_ms"]


async def test_a_stream_that_timed_out_in_the_queue_records_its_wait_and_no_gpu_time(
    client: httpx.AsyncClient, sim: Any
) -> None:
    sim.state.parallel = 1
    sim.state.paused = True
    listing = await client.get(
        f"{NATIVE}/models", params={"detailed": "true", "refresh": "true"}, headers=ADMIN
    )
    assert listing.status_code == 200, listing.text
    holder = asyncio.create_task(chat(client, ADMIN, "holds", stream=True))
    await wait_until(lambda: sim.state.generating == 1, "the first to run")
    body = {"model": CHAT_MODEL, "messages": [{"role": "user", "content": "late"}], "stream": True}
    refused = await client.post(
        CHAT, json=body, headers={**ADMIN, "X-Bigshot-Queue-Timeout": "0.4"}
    )
    assert refused.status_code == 503, refused.text
    sim.state.paused = False
    await asyncio.wait_for(holder, DEADLINE)
    records = {r["status"]: r for r in await recent(client, ADMIN)}
    late = records["queue_timeout"]
    assert late["gpu_seconds"] == 0.0  # it never reached the upstream
    assert late["queue_ms"] >= 350, late  # but it waited its 0.4 s
    assert records["ok"]["gpu_seconds"] > 0


async def test_energy_and_shadow_cost_come_from_the_declared_rates(
    client: httpx.AsyncClient, sim: Any
) -> None:
    sim.state.token_delay = 0.02
    provider = await local_provider(client)
    shown = await set_rates(
        client,
        provider,
        watts_per_instance=360.0,
        model_prices={CHAT_MODEL: {"input_per_mtok": 3.0, "output_per_mtok": 15.0}},
    )
    assert shown["watts_per_instance"] == 360.0
    assert shown["model_prices"] == {CHAT_MODEL: {"input_per_mtok": 3.0, "output_per_mtok": 15.0}}
    await chat(client, ADMIN, "priced")
    [record] = await recent(client, ADMIN)
    assert record["gpu_seconds"] > 0
    assert record["energy_wh"] == pytest.approx(record["gpu_seconds"] * 360 / 3600, rel=1e-3)
    expected = (record["prompt_tokens"] * 3.0 + record["completion_tokens"] * 15.0) / 1e6
    assert record["shadow_cost"] == pytest.approx(expected)
    # A later price change does not rewrite history; clearing them records no cost at all.
    await set_rates(client, provider, watts_per_instance=None, model_prices=None)
    await chat(client, ADMIN, "unpriced")
    newest, older = await recent(client, ADMIN)
    assert older["shadow_cost"] == pytest.approx(expected)
    assert newest["energy_wh"] is None and newest["shadow_cost"] is None
    report = await summary(client, ADMIN, group_by="model")
    [group] = report["groups"]
    assert group["shadow_cost"] == pytest.approx(expected)  # the unpriced one adds nothing
    assert group["energy_wh"] == pytest.approx(older["energy_wh"], rel=1e-4)
    assert group["gpu_seconds"] == pytest.approx(
        older["gpu_seconds"] + newest["gpu_seconds"], abs=2e-3
    )


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"watts_per_instance": -5}, "watts_per_instance"),
        ({"watts_per_instance": 0}, "watts_per_instance"),
        ({"watts_per_instance": "lots"}, "watts_per_instance"),
        ({"model_prices": {"m": {"input_per_mtok": -1, "output_per_mtok": 2}}}, "input_per_mtok"),
        ({"model_prices": {"m": {"input_per_mtok": 1}}}, "output_per_mtok"),
        ({"model_prices": {"m": {"input_per_mtok": 1, "output_per_mtok": 1, "x": 1}}}, "x"),
        ({"model_prices": {" ": {"input_per_mtok": 1, "output_per_mtok": 1}}}, "model_prices"),
        ({"model_prices": {"m": 3}}, "model_prices.m"),
    ],
)
async def test_bad_rates_are_422_naming_the_field(
    client: httpx.AsyncClient, fields: dict[str, Any], where: str
) -> None:
    provider = await local_provider(client)
    answer = await client.patch(f"{NATIVE}/{provider}", json=fields, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert any(where in (d.get("field") or "") for d in error["details"]), error
    assert all(d["msg"] for d in error["details"])
    created = await client.post(
        NATIVE,
        json={"name": "priced", "base_url": "http://127.0.0.1:9/v1", **fields},
        headers=ADMIN,
    )
    assert created.status_code == 422, created.text


async def test_grouped_by_user_model_day_with_csv_and_ownership(
    client: httpx.AsyncClient,
    sim: Any,
    user_headers: dict[str, str],
    other_headers: dict[str, str],
) -> None:
    provider = await local_provider(client)
    await set_rates(
        client,
        provider,
        watts_per_instance=100.0,
        model_prices={CHAT_MODEL: {"input_per_mtok": 1.0, "output_per_mtok": 2.0}},
    )
    await chat(client, user_headers, "alice one")
    await chat(client, user_headers, "alice two", stream=True)
    await chat(client, other_headers, "bob one")
    dims = "user,model,day"

    mine = await summary(client, user_headers, group_by=dims)
    assert mine["group_by"] == ["user", "model", "day"]
    [group] = mine["groups"]
    assert group["user_name"] == "alice" and group["model"] == CHAT_MODEL
    assert group["requests"] == 2 and group["day"] == mine["until"][:10]
    for field in ("gpu_seconds", "energy_wh", "shadow_cost"):
        assert group[field] > 0, field
    assert group["queue_ms"] is not None and group["avg_queue_ms"] is not None
    assert mine["totals"]["requests"] == 2  # not bob's
    assert mine["totals"]["shadow_cost"] == pytest.approx(group["shadow_cost"])

    forbidden = await client.get(
        USAGE, params={"group_by": dims, "user_id": "someone-else"}, headers=user_headers
    )
    assert forbidden.status_code == 403, forbidden.text

    everyone = await summary(client, ADMIN, group_by=dims)
    names = sorted(g["user_name"] for g in everyone["groups"])
    assert names == ["alice", "bob"]
    assert everyone["totals"]["requests"] == 3

    raw = await client.get(USAGE, params={"group_by": dims, "format": "csv"}, headers=ADMIN)
    assert raw.status_code == 200 and raw.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(raw.text)))
    header = list(rows[0])
    assert header[:4] == ["user", "model", "day", "user_name"]
    for column in ("gpu_seconds", "queue_ms", "energy_wh", "shadow_cost", "total_tokens"):
        assert column in header, column
    by_user = {r["user_name"]: r for r in rows}
    assert set(by_user) == {"alice", "bob"}
    assert float(by_user["alice"]["shadow_cost"]) == pytest.approx(group["shadow_cost"])
    own_csv = await client.get(
        USAGE, params={"group_by": dims, "format": "csv"}, headers=user_headers
    )
    assert [r["user_name"] for r in csv.DictReader(io.StringIO(own_csv.text))] == ["alice"]
