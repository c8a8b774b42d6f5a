"""Three replicas behave as one: shared rate limits, and writes on one replica reach the
others' in-process caches over Redis pub/sub, long before those caches would expire."""

from __future__ import annotations

import itertools
import time
import uuid
from typing import Any

import httpx

from bigshot_llm.services.access.auth import AUTH_CACHE_SECONDS
from tests.scale.cluster import Cluster, auth
from tests.support.servers import free_port

# Well under a second on a quiet machine; the bound only has to tell the bus from the key
# cache's expiry (30 s), and a loaded machine takes more than a second (a timing target
# would belong in benchmarks/).
PROPAGATION_SECONDS = AUTH_CACHE_SECONDS / 3
PROVIDERS = "/api/v1/llm-providers"


def chat_status(base: str, body: dict[str, Any]) -> int:
    response = httpx.post(
        f"{base}{PROVIDERS}/chat/completions", json=body, headers=auth(), timeout=10
    )
    return response.status_code


def create_key(base: str, *, limit: int | None = None) -> dict[str, Any]:
    name = f"u-{uuid.uuid4().hex[:8]}"
    body: dict[str, Any] = {"name": name, "user": name, "role": "user"}
    if limit is not None:
        body["rate_limit_per_minute"] = limit
    response = httpx.post(f"{base}/api/v1/keys", json=body, headers=auth(), timeout=10)
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def wait_until(check: Any, timeout: float = PROPAGATION_SECONDS) -> float:
    """Seconds until `check()` held (polling every 20 ms); fails after `timeout`."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, "the change never arrived"
        time.sleep(0.02)
    return time.monotonic() - started


def test_a_rate_limit_of_n_per_minute_admits_n_across_replicas(cluster: Cluster) -> None:
    a, b, c = cluster.replicas[:3]
    key = create_key(a.url, limit=5)["key"]
    statuses = []
    for replica in itertools.islice(itertools.cycle([a, b, c]), 12):
        response = httpx.get(f"{replica.url}/v1/models", headers=auth(key), timeout=10)
        statuses.append(response.status_code)
    assert statuses.count(200) == 5, statuses
    assert statuses.count(429) == 7, statuses


def test_a_provider_edited_on_one_replica_is_used_by_another_over_the_bus(
    cluster: Cluster,
) -> None:
    a, b = cluster.replicas[:2]
    created = httpx.post(
        f"{a.url}{PROVIDERS}",
        json={
            "name": f"edited-{uuid.uuid4().hex[:6]}",
            "kind": "lmstudio",
            "base_url": f"{cluster.sim_url}/v1",
        },
        headers=auth(),
        timeout=10,
    )
    assert created.status_code == 201, created.text
    provider = created.json()["data"]
    chat = {
        "provider": provider["id"],
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 3,
    }
    # B learns of the new provider from the bus (well within a second on a quiet machine).
    assert wait_until(lambda: chat_status(b.url, chat) == 200, timeout=30) < 30

    dead = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens: B must fail once it knows
    edited = httpx.patch(
        f"{a.url}{PROVIDERS}/{provider['id']}",
        json={"base_url": dead},
        headers=auth(),
        timeout=10,
    )
    assert edited.status_code == 200, edited.text

    def b_uses_it() -> bool:
        shown = httpx.get(f"{b.url}{PROVIDERS}/{provider['id']}", headers=auth(), timeout=5)
        return bool(shown.json()["data"]["base_url"] == dead.removesuffix("/v1"))

    assert wait_until(b_uses_it) < PROPAGATION_SECONDS
    assert chat_status(b.url, chat) == 503  # B now sends to the dead address


def test_a_key_revoked_on_one_replica_is_refused_by_another_before_its_cache_expires(
    cluster: Cluster,
) -> None:
    a, b, c = cluster.replicas[:3]
    key = create_key(a.url)
    for replica in (b, c):  # both now hold the key in their auth cache (30 s)
        me = httpx.get(f"{replica.url}/api/v1/me", headers=auth(key["key"]), timeout=5)
        assert me.status_code == 200, me.text
    revoked = httpx.delete(f"{a.url}/api/v1/keys/{key['id']}", headers=auth(), timeout=10)
    assert revoked.status_code == 200, revoked.text
    for replica in (b, c):
        url = f"{replica.url}/api/v1/me"
        elapsed = wait_until(
            lambda url=url: httpx.get(url, headers=auth(key["key"]), timeout=5).status_code == 401
        )
        assert elapsed < PROPAGATION_SECONDS
