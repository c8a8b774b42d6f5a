"""A provider that accepts connections and never answers must not slow down everyone's model
lists: its failure is remembered for `BIGSHOT_MODEL_ERROR_TTL`, so it is asked (and costs its
list timeout) at most once per period, and its last good list is served as stale meanwhile.

The silent providers are fault proxies in blackhole mode; what the assertions count is the
connections they were asked on, not how long anything took.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.reliability.dependencies import CLIENT_TIMEOUT, gateway
from tests.reliability.helpers import ADMIN, MODEL
from tests.support.fault_proxy import FaultProxy, wait_until

pytestmark = pytest.mark.timeout(180)

LISTS = ("/v1/models", "/api/v1/llm-providers/models/all")


def add_provider(client: httpx.Client, name: str, url: str) -> None:
    created = client.post(
        "/api/v1/llm-providers",
        json={"name": name, "base_url": f"{url}/v1", "list_timeout": 1.0, "connect_timeout": 1.0},
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text


def model_ids(client: httpx.Client) -> list[str]:
    answer = client.get("/v1/models", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return [m["id"] for m in answer.json()["data"]]


def entries(client: httpx.Client) -> dict[str, dict[str, Any]]:
    answer = client.get("/api/v1/llm-providers/models/all", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return {e["provider"]["name"]: e for e in answer.json()["data"]["providers"]}


def test_a_silent_provider_is_asked_once_per_error_period(tmp_path: Path, sim: Any) -> None:
    with (
        FaultProxy(sim.port) as silent,
        gateway(tmp_path, sim, model_error_ttl=600) as server,
        httpx.Client(base_url=server.url, timeout=CLIENT_TIMEOUT) as client,
    ):
        silent.configure(blackhole=True)
        add_provider(client, "silent", silent.url)
        assert MODEL in model_ids(client)  # the others' models; the silent one left out
        asked = silent.total_connections
        assert asked >= 1, "the first list asked the silent provider"
        for _ in range(3):
            ids = model_ids(client)
            assert MODEL in ids and not any(i.startswith("silent/") for i in ids), ids
            listed = entries(client)
            assert listed["silent"]["status"] == "unavailable", listed["silent"]
            assert listed["silent"]["error"]["code"] == "provider_timeout"
        assert silent.total_connections == asked, "asked again within the error period"

        refreshed = client.get(
            "/api/v1/llm-providers/models/all", params={"refresh": "true"}, headers=ADMIN
        )
        assert refreshed.status_code == 200
        assert silent.total_connections > asked, "refresh=true asks upstream whatever it knows"


def test_a_provider_gone_silent_keeps_its_stale_list(tmp_path: Path, sim: Any) -> None:
    with (
        FaultProxy(sim.port) as flaky,
        gateway(tmp_path, sim, model_error_ttl=600, model_cache_ttl=0.2) as server,
        httpx.Client(base_url=server.url, timeout=CLIENT_TIMEOUT) as client,
    ):
        add_provider(client, "flaky", flaky.url)
        assert f"flaky/{MODEL}" in model_ids(client)  # a good list, remembered
        flaky.configure(blackhole=True)
        # Once the fresh entry expired (0.2 s), a list meets the silence: stale from then on.
        assert wait_until(lambda: entries(client)["flaky"]["status"] == "stale", timeout=30)
        asked = flaky.total_connections
        for _ in range(3):
            assert f"flaky/{MODEL}" in model_ids(client)
            listed = entries(client)["flaky"]
            assert listed["status"] == "stale", listed
            assert listed["stale"] is True and listed["error"]["code"], listed
        assert flaky.total_connections == asked, "asked again within the error period"
