"""API keys, roles and identity: 401 / 403 / cross-user 404, revocation, secrecy."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ADMIN_KEY, auth, create_user_key

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)


async def test_me_with_bearer_and_x_api_key(client: httpx.AsyncClient) -> None:
    for headers in (auth(ADMIN_KEY), {"X-API-Key": ADMIN_KEY}):
        response = await client.get("/api/v1/me", headers=headers)
        assert response.status_code == 200
        body = response.json()
        assert body["success"] is True
        assert body["data"]["role"] == "admin"
        assert body["data"]["name"] == "admin"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}, {"X-API-Key": ""}],
)
async def test_missing_or_invalid_key_is_401(client: httpx.AsyncClient, headers: dict) -> None:
    response = await client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_created_key_is_random_prefixed_and_hashed(client: httpx.AsyncClient, app) -> None:
    key = await create_user_key(client, "carol")
    assert key.startswith("bsk_") and len(key) >= 40
    listing = await client.get("/api/v1/keys", headers=auth(ADMIN_KEY))
    assert listing.status_code == 200
    text = listing.text
    assert key not in text  # never returned again
    row = next(k for k in listing.json()["data"] if k["user_name"] == "carol")
    assert row["prefix"] == key[:12]
    from sqlmodel import select

    from bigshot_llm.db.models import ApiKey

    async with app.state.resources.sessions() as session:
        stored = (await session.exec(select(ApiKey))).all()
    assert all(key not in (k.key_hash, k.prefix) for k in stored)


async def test_user_cannot_create_keys_for_others_or_pick_roles(
    client: httpx.AsyncClient, user_headers: dict
) -> None:
    response = await client.post(
        "/api/v1/keys", json={"name": "x", "user": "mallory", "role": "admin"}, headers=user_headers
    )
    assert response.status_code == 403
    own = await client.post("/api/v1/keys", json={"name": "second"}, headers=user_headers)
    assert own.status_code == 201
    me = await client.get("/api/v1/me", headers=auth(own.json()["data"]["key"]))
    assert me.json()["data"]["name"] == "alice"
    assert me.json()["data"]["role"] == "user"


async def test_users_see_only_their_keys_and_cannot_revoke_others(
    client: httpx.AsyncClient, user_headers: dict, other_headers: dict
) -> None:
    mine = (await client.get("/api/v1/keys", headers=user_headers)).json()["data"]
    assert {k["user_name"] for k in mine} == {"alice"}
    bobs = (await client.get("/api/v1/keys", headers=other_headers)).json()["data"]
    response = await client.delete(f"/api/v1/keys/{bobs[0]['id']}", headers=user_headers)
    assert response.status_code == 404
    assert (await client.get("/api/v1/me", headers=other_headers)).status_code == 200


async def test_revoked_key_stops_working_at_once(
    client: httpx.AsyncClient, user_headers: dict
) -> None:
    assert (await client.get("/api/v1/me", headers=user_headers)).status_code == 200  # cached
    keys = (await client.get("/api/v1/keys", headers=user_headers)).json()["data"]
    response = await client.delete(f"/api/v1/keys/{keys[0]['id']}", headers=user_headers)
    assert response.status_code == 200
    assert response.json()["data"]["revoked_at"] is not None
    assert (await client.get("/api/v1/me", headers=user_headers)).status_code == 401


async def test_users_listing_and_audit_are_admin_only(
    client: httpx.AsyncClient, user_headers: dict
) -> None:
    for path in ("/api/v1/users", "/api/v1/audit"):
        assert (await client.get(path, headers=user_headers)).status_code == 403
        assert (await client.get(path, headers=auth(ADMIN_KEY))).status_code == 200


async def test_key_create_validation(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/keys", json={"name": ""}, headers=auth(ADMIN_KEY))
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "name"
    response = await client.post(
        "/api/v1/keys", json={"name": "a", "role": "root"}, headers=auth(ADMIN_KEY)
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "role"
    response = await client.post(
        "/api/v1/keys", json={"name": "a", "surprise": 1}, headers=auth(ADMIN_KEY)
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "surprise"
