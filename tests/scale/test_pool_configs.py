"""`pool_urls` on provider configs: stored, shown, cleared, and checked like `base_url`."""

from __future__ import annotations

from typing import Any

import httpx

PROVIDERS = "/api/v1/llm-providers"


async def test_pool_urls_are_normalised_stored_and_cleared(
    client: httpx.AsyncClient, admin_headers: dict[str, str], sim: object
) -> None:
    url = sim.url  # type: ignore[attr-defined]
    created = await client.post(
        PROVIDERS,
        json={
            "name": "farm",
            "kind": "lmstudio",
            "base_url": f"{url}/v1",
            "pool_urls": [f"{url}/v1/", "http://127.0.0.1:9/v1", "http://127.0.0.1:9"],
        },
        headers=admin_headers,
    )
    assert created.status_code == 201, created.text
    provider = created.json()["data"]
    assert provider["pool_urls"] == [url, "http://127.0.0.1:9"]

    models = await client.get(
        f"{PROVIDERS}/models", params={"provider": provider["id"]}, headers=admin_headers
    )
    assert models.status_code == 200, models.text  # one member is down: the pool still lists

    cleared = await client.patch(
        f"{PROVIDERS}/{provider['id']}", json={"pool_urls": None}, headers=admin_headers
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["data"]["pool_urls"] == []


async def test_every_pool_url_passes_the_ssrf_guard(
    client: httpx.AsyncClient, user_headers: dict[str, str], sim: Any
) -> None:
    refused = await client.post(
        PROVIDERS,
        json={
            "name": "mine",
            "kind": "lmstudio",
            "base_url": f"{sim.url}/v1",
            "pool_urls": ["http://169.254.169.254/v1"],
        },
        headers=user_headers,
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["details"][0]["loc"] == ["body", "pool_urls"]

    created = await client.post(
        PROVIDERS,
        json={"name": "mine", "kind": "lmstudio", "base_url": f"{sim.url}/v1"},
        headers=user_headers,
    )
    assert created.status_code == 201, created.text
    private = await client.patch(
        f"{PROVIDERS}/{created.json()['data']['id']}",
        json={"pool_urls": ["http://10.1.2.3:1234/v1"]},  # ssrf: private, refused
        headers=user_headers,
    )
    assert private.status_code == 422, private.text
