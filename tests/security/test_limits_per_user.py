"""Limits count people, not keys: a user's keys share one request limit and one stream cap
(a key's own limit only lowers them), what one user may own is capped, routes that make the
gateway call upstream count against the limit, and failed-auth limiting leaves no oracle."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from bigshot_llm.main import create_app
from tests.conftest import ADMIN_KEY, auth, create_user_key, make_settings
from tests.support.servers import ThreadedServer
from tests.support.services import REDIS_URL, require_service

ADMIN = auth(ADMIN_KEY)
MODELS = "/api/v1/llm-providers/models"
CHAT = "/api/v1/llm-providers/chat/completions"
PROVIDERS = "/api/v1/llm-providers"
STREAM_BODY = {"messages": [{"role": "user", "content": "x"}], "stream": True}


@pytest.fixture
def settings_overrides(sim: Any) -> dict[str, Any]:
    return {
        "rate_limit_user": 3,
        "max_streams_user": 1,
        "max_keys_per_user": 3,
        "max_providers_per_user": 2,
        "max_pool_urls_per_user": 2,
        "allowed_upstream_hosts": f"127.0.0.1:{sim.port}",
    }


async def own_key(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> dict:
    """A key the user makes for itself (no admin involved)."""
    response = await client.post("/api/v1/keys", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text
    return auth(response.json()["data"]["key"])


async def test_self_made_keys_share_the_users_request_limit(
    client: httpx.AsyncClient, user_headers: dict
) -> None:
    second = await own_key(client, user_headers, "second")
    third = await own_key(client, user_headers, "third")
    codes = [
        (await client.get(MODELS, headers=h)).status_code for h in (user_headers, second, third)
    ]
    assert codes == [200, 200, 200]
    for headers in (user_headers, second, third):
        refused = await client.get(MODELS, headers=headers)
        assert refused.status_code == 429
        assert "all your keys count together" in refused.json()["error"]["message"]
    # another user is untouched
    other = auth(await create_user_key(client, "carol"))
    assert (await client.get(MODELS, headers=other)).status_code == 200


async def test_an_admin_sets_a_users_limits(client: httpx.AsyncClient, user_headers: dict) -> None:
    me = (await client.get("/api/v1/me", headers=user_headers)).json()["data"]
    denied = await client.patch(
        f"/api/v1/users/{me['user_id']}", json={"rate_limit_per_minute": 0}, headers=user_headers
    )
    assert denied.status_code == 403
    changed = await client.patch(
        f"/api/v1/users/{me['user_id']}", json={"rate_limit_per_minute": 5}, headers=ADMIN
    )
    assert changed.status_code == 200 and changed.json()["data"]["rate_limit_per_minute"] == 5
    listed = (await client.get("/api/v1/users", headers=ADMIN)).json()["data"]
    assert any(u["id"] == me["user_id"] and u["rate_limit_per_minute"] == 5 for u in listed)
    codes = [(await client.get(MODELS, headers=user_headers)).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    assert (await client.get(MODELS, headers=user_headers)).headers["x-ratelimit-limit"] == "5"
    audit = await client.get("/api/v1/audit", params={"action": "user.update"}, headers=ADMIN)
    assert audit.json()["data"]["items"][0]["after"]["rate_limit_per_minute"] == 5


async def test_keys_providers_and_pool_members_are_capped_per_user(
    client: httpx.AsyncClient, user_headers: dict, sim: Any
) -> None:
    me = (await client.get("/api/v1/me", headers=user_headers)).json()["data"]
    unlimited = {"rate_limit_per_minute": 0}  # creating providers counts as requests
    await client.patch(f"/api/v1/users/{me['user_id']}", json=unlimited, headers=ADMIN)
    await own_key(client, user_headers, "two")
    await own_key(client, user_headers, "three")
    fourth = await client.post("/api/v1/keys", json={"name": "four"}, headers=user_headers)
    assert fourth.status_code == 409 and fourth.json()["error"]["code"] == "too_many_keys"
    # an admin is not held to it when it makes keys for someone
    assert (await client.post("/api/v1/keys", json={"name": "x"}, headers=ADMIN)).status_code == 201

    def provider(name: str, pool: list[str] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "kind": "lmstudio", "base_url": sim.url}
        if pool is not None:
            body["pool_urls"] = pool
        return body

    many = [f"http://127.0.0.1:{sim.port}/p{i}" for i in range(3)]
    too_big = await client.post(PROVIDERS, json=provider("p0", many), headers=user_headers)
    assert too_big.status_code == 422 and too_big.json()["error"]["details"][0]["loc"] == [
        "body",
        "pool_urls",
    ]
    first = await client.post(PROVIDERS, json=provider("p1", many[:1]), headers=user_headers)
    assert first.status_code == 201, first.text
    second = await client.post(PROVIDERS, json=provider("p2"), headers=user_headers)
    assert second.status_code == 201, second.text
    third = await client.post(PROVIDERS, json=provider("p3"), headers=user_headers)
    assert third.status_code == 409 and third.json()["error"]["code"] == "too_many_providers"
    # the pool cap counts over all the user's providers, on update too
    grown = await client.patch(
        f"{PROVIDERS}/{second.json()['data']['id']}",
        json={"pool_urls": many[1:3]},
        headers=user_headers,
    )
    assert grown.status_code == 422, grown.text
    fits = await client.patch(
        f"{PROVIDERS}/{second.json()['data']['id']}",
        json={"pool_urls": many[1:2]},
        headers=user_headers,
    )
    assert fits.status_code == 200, fits.text


async def test_provider_test_and_writes_count_against_the_limit(
    client: httpx.AsyncClient, user_headers: dict, sim: Any
) -> None:
    created = await client.post(
        PROVIDERS,
        json={"name": "mine", "kind": "lmstudio", "base_url": sim.url},
        headers=user_headers,
    )
    assert created.status_code == 201
    provider_id = created.json()["data"]["id"]
    tested = [
        (await client.post(f"{PROVIDERS}/{provider_id}/test", headers=user_headers)).status_code
        for _ in range(3)
    ]
    assert tested == [200, 200, 429]  # create + 2 tests = the user's 3 a minute
    patched = await client.patch(
        f"{PROVIDERS}/{provider_id}", json={"read_timeout": 9}, headers=user_headers
    )
    assert patched.status_code == 429


async def test_refreshing_every_providers_models_costs_one_request_each(
    client: httpx.AsyncClient, sim: Any
) -> None:
    user = auth(await create_user_key(client, "refresher"))
    changed = await client.get("/api/v1/me", headers=user)
    user_id = changed.json()["data"]["user_id"]
    await client.patch(f"/api/v1/users/{user_id}", json={"rate_limit_per_minute": 4}, headers=ADMIN)
    await client.post(
        PROVIDERS, json={"name": "own", "kind": "lmstudio", "base_url": sim.url}, headers=user
    )  # 1 of 4
    before = sim.state.requests_total
    refreshed = await client.get(f"{MODELS}/all", params={"refresh": "true"}, headers=user)
    assert refreshed.status_code == 200, refreshed.text  # 2 providers: 3 of 4
    assert len(refreshed.json()["data"]["providers"]) == 2
    again = await client.get(f"{MODELS}/all", params={"refresh": "true"}, headers=user)
    assert again.status_code == 429  # would need 2 more
    assert sim.state.requests_total - before <= 2  # the refused refresh asked nobody
    # the refused refresh's own request counted (4 of 4): the limit is spent
    assert (await client.get(f"{MODELS}/all", headers=user)).status_code == 429


async def test_failed_auth_blocks_every_new_key_but_not_a_key_in_use(
    client: httpx.AsyncClient,
) -> None:
    unused = auth(await create_user_key(client, "fresh"))  # valid, never used from here
    for i in range(30):
        assert (await client.get("/api/v1/me", headers=auth(f"bsk_guess{i}"))).status_code == 401
    refused = await client.get("/api/v1/me", headers=auth("bsk_guess-more"))
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    # a right guess looks exactly like a wrong one while the address is blocked: no oracle
    right_guess = await client.get("/api/v1/me", headers=unused)
    assert right_guess.status_code == 429
    assert right_guess.headers["retry-after"]
    fast = await client.get(MODELS, headers=unused)  # the hot path's shortcut too
    assert fast.status_code == 429
    # the holder of a key already in use from this address is not locked out
    assert (await client.get("/api/v1/me", headers=ADMIN)).status_code == 200
    assert (await client.get(MODELS, headers=ADMIN)).status_code == 200


async def test_one_stream_cap_for_all_keys_and_surfaces(tmp_path: Path, sim: Any) -> None:
    sim.state.token_delay = 0.05
    sim.state.tokens = 40
    settings = make_settings(
        tmp_path, lmstudio_api_base=f"{sim.url}/v1", max_streams_user=1, rate_limit_user=100
    )
    with ThreadedServer(create_app(settings)) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            first = auth(await create_user_key(client, "streamer"))
            second = await own_key(client, first, "second")
            third = await own_key(client, first, "third")
            async with client.stream("POST", CHAT, json=STREAM_BODY, headers=first) as running:
                assert running.status_code == 200
                for headers in (second, third):
                    refused = await client.post(CHAT, json=STREAM_BODY, headers=headers)
                    assert refused.status_code == 429
                    assert refused.json()["error"]["code"] == "too_many_streams"
                chat = await client.post(
                    "/api/v1/chat/streams", json={"message": "hi"}, headers=second
                )
                assert chat.status_code == 429, chat.text
                v1 = await client.post(
                    "/v1/chat/completions", json={**STREAM_BODY, "model": None}, headers=third
                )
                assert v1.status_code == 429
                async for _ in running.aiter_raw():
                    pass


async def test_a_keys_own_stream_cap_only_lowers_the_users(tmp_path: Path, sim: Any) -> None:
    sim.state.token_delay = 0.05
    sim.state.tokens = 40
    settings = make_settings(
        tmp_path, lmstudio_api_base=f"{sim.url}/v1", max_streams_user=2, rate_limit_user=100
    )
    with ThreadedServer(create_app(settings)) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            made = await client.post(
                "/api/v1/keys",
                json={"name": "k", "user": "capped", "max_streams": 1},
                headers=ADMIN,
            )
            capped = auth(made.json()["data"]["key"])
            big = await client.post(
                "/api/v1/keys",
                json={"name": "k2", "user": "capped", "max_streams": 50},
                headers=ADMIN,
            )
            roomy = auth(big.json()["data"]["key"])
            async with client.stream("POST", CHAT, json=STREAM_BODY, headers=capped) as one:
                assert one.status_code == 200
                again = await client.post(CHAT, json=STREAM_BODY, headers=capped)
                assert again.status_code == 429  # the key's own 1
                async with client.stream("POST", CHAT, json=STREAM_BODY, headers=roomy) as two:
                    assert two.status_code == 200  # the user's 2nd
                    third = await client.post(CHAT, json=STREAM_BODY, headers=roomy)
                    assert third.status_code == 429  # 50 on the key adds nothing to 2
                    async for _ in two.aiter_raw():
                        pass
                async for _ in one.aiter_raw():
                    pass


@pytest.mark.redis
async def test_the_stream_cap_is_shared_across_replicas(tmp_path: Path, sim: Any) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    sim.state.token_delay = 0.05
    sim.state.tokens = 40
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
                max_streams_user=1,
                rate_limit_user=100,
            )
        )

    with ThreadedServer(replica("a")) as a, ThreadedServer(replica("b")) as b:
        async with httpx.AsyncClient(timeout=30) as client:
            first = auth(await create_user_key_at(client, a.url, "spread"))
            made = await client.post(f"{b.url}/api/v1/keys", json={"name": "b"}, headers=first)
            second = auth(made.json()["data"]["key"])
            chat = await client.post(
                f"{a.url}/api/v1/chat/streams", json={"message": "hi"}, headers=first
            )
            assert chat.status_code == 201, chat.text
            direct = await client.post(f"{b.url}{CHAT}", json=STREAM_BODY, headers=second)
            assert direct.status_code == 429, direct.text
            await client.delete(
                f"{a.url}/api/v1/chat/streams/{chat.json()['data']['stream_id']}", headers=first
            )


async def create_user_key_at(client: httpx.AsyncClient, base: str, name: str) -> str:
    response = await client.post(
        f"{base}/api/v1/keys", json={"name": name, "user": name}, headers=ADMIN
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["key"])
