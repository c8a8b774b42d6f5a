"""Provider-config API: CRUD, activation, masking, normalisation, audit, cross-user rules."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_KEY, auth

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)

ADMIN = auth(ADMIN_KEY)


@pytest.fixture
def settings_overrides(sim: Any) -> dict[str, Any]:
    # users create configs at the discard port below: allow-list it (with its port)
    return {"allowed_upstream_hosts": f"127.0.0.1:9,127.0.0.1:{sim.port}"}


async def create(client: httpx.AsyncClient, headers: dict, **fields: Any) -> httpx.Response:
    body = {"name": "p", "kind": "lmstudio", "base_url": "http://127.0.0.1:9"}
    body.update(fields)
    return await client.post("/api/v1/llm-providers", json=body, headers=headers)


async def test_first_start_creates_the_env_provider_and_activates_it(
    client: httpx.AsyncClient, sim: Any
) -> None:
    listing = (await client.get("/api/v1/llm-providers", headers=ADMIN)).json()["data"]
    assert [p["name"] for p in listing] == ["LMStudio Local"]
    assert listing[0]["base_url"] == sim.url
    active = (await client.get("/api/v1/llm-providers/active", headers=ADMIN)).json()["data"]
    assert active["provider"]["id"] == listing[0]["id"]
    assert active["scope"] == "global"


@pytest.mark.parametrize(
    "given",
    [
        "http://127.0.0.1:1234",
        "http://127.0.0.1:1234/",
        "http://127.0.0.1:1234/v1",
        "http://127.0.0.1:1234/v1/",
    ],
)
async def test_base_url_is_normalised(client: httpx.AsyncClient, given: str) -> None:
    response = await create(client, ADMIN, base_url=given)
    assert response.status_code == 201, response.text
    assert response.json()["data"]["base_url"] == "http://127.0.0.1:1234"


@pytest.mark.parametrize(
    "bad",
    ["ftp://127.0.0.1", "http://", "127.0.0.1:1234", "http://user:pw@127.0.0.1:1234/v1", ""],
)
async def test_bad_base_url_is_422_naming_the_field(client: httpx.AsyncClient, bad: str) -> None:
    response = await create(client, ADMIN, base_url=bad)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "base_url"


async def test_api_key_is_masked_encrypted_and_kept_when_mask_is_sent_back(
    client: httpx.AsyncClient, app: Any
) -> None:
    secret = "sk-live-abcdefghijklmnopqrstuvwxyz-x9Qa"
    created = await create(client, ADMIN, name="openai", kind="openai", api_key=secret)
    data = created.json()["data"]
    assert secret not in created.text
    assert data["api_key"].endswith("x9Qa") and data["has_api_key"] is True
    provider_id = data["id"]

    from bigshot_llm.db.models import ProviderConfig

    async with app.state.resources.sessions() as session:
        row = await session.get(ProviderConfig, provider_id)
    assert row is not None and row.api_key_encrypted and secret not in row.api_key_encrypted

    patched = await client.patch(
        f"/api/v1/llm-providers/{provider_id}",
        json={"api_key": data["api_key"], "default_model": "gpt-x"},
        headers=ADMIN,
    )
    assert patched.status_code == 200
    assert app.state.resources.registry.get(provider_id).api_key == secret
    await client.patch(
        f"/api/v1/llm-providers/{provider_id}", json={"api_key": "sk-new-1234567"}, headers=ADMIN
    )
    assert app.state.resources.registry.get(provider_id).api_key == "sk-new-1234567"

    audit = (await client.get("/api/v1/audit", headers=ADMIN)).text
    assert secret not in audit and "sk-new-1234567" not in audit


async def test_activate_switches_at_runtime_and_is_audited(client: httpx.AsyncClient) -> None:
    created = (await create(client, ADMIN, name="second")).json()["data"]
    response = await client.post(f"/api/v1/llm-providers/{created['id']}/activate", headers=ADMIN)
    assert response.status_code == 200
    assert response.json()["data"]["scope"] == "global"
    active = (await client.get("/api/v1/llm-providers/active", headers=ADMIN)).json()["data"]
    assert active["provider"]["name"] == "second"

    events = (await client.get("/api/v1/audit", headers=ADMIN)).json()["data"]
    actions = [e["action"] for e in events["items"]]
    assert actions[:2] == ["provider.activate", "provider.create"]
    filtered = await client.get("/api/v1/audit?action=provider.activate", headers=ADMIN)
    assert filtered.json()["data"]["total"] == 1
    assert filtered.json()["data"]["items"][0]["actor_name"] == "admin"


async def test_user_providers_are_private_and_user_selection_overrides_global(
    client: httpx.AsyncClient, user_headers: dict, other_headers: dict
) -> None:
    mine = await create(client, user_headers, name="mine", scope="global")
    assert mine.status_code == 403
    mine = (await create(client, user_headers, name="mine")).json()["data"]
    assert mine["scope"] == "user"

    # bob cannot see, change, test, activate or delete alice's provider
    for method, path in [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("POST", "/activate"),
        ("POST", "/test"),
    ]:
        response = await client.request(
            method,
            f"/api/v1/llm-providers/{mine['id']}{path}",
            headers=other_headers,
            json={} if method == "PATCH" else None,
        )
        assert response.status_code == 404, (method, path)
    bobs_list = (await client.get("/api/v1/llm-providers", headers=other_headers)).json()["data"]
    assert "mine" not in [p["name"] for p in bobs_list]

    # users cannot change global providers (403), nor the global selection
    global_id = bobs_list[0]["id"]
    response = await client.patch(
        f"/api/v1/llm-providers/{global_id}", json={"name": "x"}, headers=user_headers
    )
    assert response.status_code == 403
    response = await client.post(
        f"/api/v1/llm-providers/{global_id}/activate",
        json={"scope": "global"},
        headers=user_headers,
    )
    assert response.status_code == 403

    activated = await client.post(
        f"/api/v1/llm-providers/{mine['id']}/activate", headers=user_headers
    )
    assert activated.json()["data"]["scope"] == "user"
    alice = (await client.get("/api/v1/llm-providers/active", headers=user_headers)).json()
    assert alice["data"]["provider"]["name"] == "mine" and alice["data"]["scope"] == "user"
    bob = (await client.get("/api/v1/llm-providers/active", headers=other_headers)).json()
    assert bob["data"]["provider"]["name"] == "LMStudio Local"


async def test_names_unique_per_owner(client: httpx.AsyncClient, user_headers: dict) -> None:
    assert (await create(client, ADMIN, name="dup")).status_code == 201
    duplicate = await create(client, ADMIN, name="dup")
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["details"][0]["loc"] == ["body", "name"]
    assert (await create(client, user_headers, name="dup")).status_code == 201


async def test_validation_and_unknown_kind(client: httpx.AsyncClient) -> None:
    response = await create(client, ADMIN, kind="nonsense")
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["loc"] == ["body", "kind"]
    response = await create(client, ADMIN, read_timeout=-1)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "read_timeout"
    response = await create(client, ADMIN, extra_field=True)
    assert response.status_code == 422


async def test_delete_removes_and_clears_selection(client: httpx.AsyncClient) -> None:
    listing = (await client.get("/api/v1/llm-providers", headers=ADMIN)).json()["data"]
    response = await client.delete(f"/api/v1/llm-providers/{listing[0]['id']}", headers=ADMIN)
    assert response.status_code == 200
    active = (await client.get("/api/v1/llm-providers/active", headers=ADMIN)).json()["data"]
    assert active == {"provider": None, "scope": None}
    response = await client.get(f"/api/v1/llm-providers/{listing[0]['id']}", headers=ADMIN)
    assert response.status_code == 404


async def test_test_endpoint_reports_reachability(client: httpx.AsyncClient, sim: Any) -> None:
    listing = (await client.get("/api/v1/llm-providers", headers=ADMIN)).json()["data"]
    up = await client.post(f"/api/v1/llm-providers/{listing[0]['id']}/test", headers=ADMIN)
    data = up.json()["data"]
    assert data["ok"] is True and data["model_count"] >= 1 and data["latency_ms"] >= 0
    dead = (await create(client, ADMIN, name="dead", base_url="http://127.0.0.1:9")).json()
    down = await client.post(f"/api/v1/llm-providers/{dead['data']['id']}/test", headers=ADMIN)
    result = down.json()["data"]
    assert result["ok"] is False
    assert result["error_code"] == "provider_unavailable"
    assert "127.0.0.1:9" in result["message"]
