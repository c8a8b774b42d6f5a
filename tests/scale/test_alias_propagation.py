"""A model alias written on one replica is resolved by another over the bus: aliases live
in the provider snapshot, which the Redis bus tells every replica to reload."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.scale.cluster import Cluster, auth
from tests.scale.test_shared_state import PROPAGATION_SECONDS, wait_until

ALIASES = "/api/v1/llm-providers/aliases"
CHAT = "/api/v1/llm-providers/chat/completions"


def upstream_model(base: str, sim: Any, model: str) -> str | None:
    """The model the simulator was asked for when `base` got `model` (None: refused)."""
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    response = httpx.post(f"{base}{CHAT}", json=body, headers=auth(), timeout=10)
    if response.status_code != 200:
        return None
    return str(sim.state.last_request_body["model"])


def test_an_alias_made_on_one_replica_is_used_by_another_over_the_bus(
    cluster: Cluster, scale_sim: Any
) -> None:
    a, b = cluster.replicas[:2]
    name = f"agent-{uuid.uuid4().hex[:6]}"
    assert upstream_model(b.url, scale_sim, name) is None  # no such model yet
    created = httpx.post(
        f"{a.url}{ALIASES}",
        json={"name": name, "provider_id": "LMStudio Local", "model": "qwen2.5-7b-instruct"},
        headers=auth(),
        timeout=10,
    )
    assert created.status_code == 201, created.text
    alias = created.json()["data"]

    def b_lists_it() -> bool:
        shown = httpx.get(f"{b.url}{ALIASES}", headers=auth(), timeout=5).json()["data"]
        return any(a["id"] == alias["id"] for a in shown)

    assert wait_until(b_lists_it) < PROPAGATION_SECONDS
    assert upstream_model(b.url, scale_sim, name) == "qwen2.5-7b-instruct"

    deleted = httpx.delete(f"{a.url}{ALIASES}/{alias['id']}", headers=auth(), timeout=10)
    assert deleted.status_code == 200
    assert wait_until(lambda: upstream_model(b.url, scale_sim, name) is None) < PROPAGATION_SECONDS
