"""Model-alias API: CRUD, validation (field and reason), audit, who may manage which alias,
per-user over global over `BIGSHOT_MODEL_ALIASES`, and the listings that show them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_KEY, auth

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)

ADMIN = auth(ADMIN_KEY)
ALIASES = "/api/v1/llm-providers/aliases"
CHAT_MODEL = "qwen2.5-7b-instruct"
REASONING_MODEL = "qwen3-8b"
OTHER_MODEL = "llama-3.2-1b-instruct"


@pytest.fixture
def settings_overrides(sim: Any) -> dict[str, Any]:
    return {
        "model_aliases": f"default={OTHER_MODEL},from-setting={OTHER_MODEL}",
        "allowed_upstream_hosts": f"127.0.0.1:{sim.port}",
    }


async def local_id(client: httpx.AsyncClient) -> str:
    listing = (await client.get("/api/v1/llm-providers", headers=ADMIN)).json()["data"]
    return str(next(p["id"] for p in listing if p["name"] == "LMStudio Local"))


async def create(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> httpx.Response:
    body = {"name": "default", "provider_id": "LMStudio Local", "model": CHAT_MODEL, **fields}
    return await client.post(ALIASES, json=body, headers=headers)


async def user_id(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    return str((await client.get("/api/v1/me", headers=headers)).json()["data"]["user_id"])


async def chat_model(
    client: httpx.AsyncClient, headers: dict[str, str], model: str, sim: Any
) -> str:
    """The model upstream was asked for when the caller sent `model`."""
    response = await client.post(
        "/api/v1/llm-providers/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return str(sim.state.last_request_body["model"])


async def test_crud_is_enveloped_and_audited(client: httpx.AsyncClient, sim: Any) -> None:
    provider_id = await local_id(client)
    created = await create(client, ADMIN, name="gpt-5-codex", provider_id=provider_id)
    assert created.status_code == 201, created.text
    alias = created.json()["data"]
    assert created.json()["success"] is True
    assert alias["scope"] == "global" and alias["owner_id"] is None
    assert alias["provider_name"] == "LMStudio Local" and alias["model"] == CHAT_MODEL
    assert alias["target"] == f"LMStudio Local/{CHAT_MODEL}" and alias["warnings"] == []

    listing = (await client.get(ALIASES, headers=ADMIN)).json()["data"]
    assert [a["name"] for a in listing] == ["gpt-5-codex"]
    one = await client.get(f"{ALIASES}/{alias['id']}", headers=ADMIN)
    assert one.json()["data"]["model"] == CHAT_MODEL

    patched = await client.patch(
        f"{ALIASES}/{alias['id']}", json={"model": REASONING_MODEL}, headers=ADMIN
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["model"] == REASONING_MODEL
    assert await chat_model(client, ADMIN, "gpt-5-codex", sim) == REASONING_MODEL

    deleted = await client.delete(f"{ALIASES}/{alias['id']}", headers=ADMIN)
    assert deleted.json()["data"] == {"id": alias["id"], "deleted": True}
    assert (await client.get(f"{ALIASES}/{alias['id']}", headers=ADMIN)).status_code == 404
    # Gone: the name is a model id again, which the provider does not have.
    gone = await client.post(
        "/api/v1/llm-providers/chat/completions",
        json={"model": "gpt-5-codex", "messages": [{"role": "user", "content": "hi"}]},
        headers=ADMIN,
    )
    assert gone.status_code == 404

    events = (await client.get("/api/v1/audit?target_type=model_alias", headers=ADMIN)).json()
    items = [e for e in events["data"]["items"] if e["target_type"] == "model_alias"]
    assert [e["action"] for e in items] == ["alias.delete", "alias.update", "alias.create"]
    update = items[1]
    assert update["before"]["model"] == CHAT_MODEL and update["after"]["model"] == REASONING_MODEL
    assert update["actor_name"] == "admin"


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"name": "has/slash"}, "name", "no '/'"),
        ({"name": "two words"}, "name", "letters, digits"),
        ({"name": "a*b"}, "name", "final '*'"),
        ({"name": "-dash-first"}, "name", "starting with a letter"),
        ({"name": "x" * 129}, "name", "at most 128"),
        ({"provider_id": "nope"}, "provider_id", "no such global provider"),
        ({"model": "not-a-model"}, "model", "has no model 'not-a-model'"),
        ({"model": ""}, "model", "at least 1"),
        ({"surprise": 1}, "surprise", "Extra inputs"),
    ],
)
async def test_bad_input_is_422_with_field_and_reason(
    client: httpx.AsyncClient, fields: dict[str, Any], field: str, reason: str
) -> None:
    response = await create(client, ADMIN, **fields)
    assert response.status_code == 422, response.text
    detail = response.json()["error"]["details"][0]
    assert detail["field"] == field
    assert reason in detail["msg"]


async def test_unknown_model_names_the_available_ones(client: httpx.AsyncClient) -> None:
    response = await create(client, ADMIN, model="not-a-model")
    assert CHAT_MODEL in response.json()["error"]["details"][0]["available"]


async def test_duplicate_name_is_409_and_null_is_422(client: httpx.AsyncClient) -> None:
    first = (await create(client, ADMIN)).json()["data"]
    again = await create(client, ADMIN, model=REASONING_MODEL)
    assert again.status_code == 409
    assert again.json()["error"]["details"][0]["field"] == "name"
    nulled = await client.patch(f"{ALIASES}/{first['id']}", json={"model": None}, headers=ADMIN)
    assert nulled.status_code == 422
    assert nulled.json()["error"]["details"][0]["field"] == "model"


async def test_an_unreachable_provider_is_accepted_with_a_warning(
    client: httpx.AsyncClient,
) -> None:
    made = await client.post(
        "/api/v1/llm-providers",
        json={"name": "offline", "base_url": "http://127.0.0.1:9", "connect_timeout": 1},
        headers=ADMIN,
    )
    assert made.status_code == 201, made.text
    response = await create(client, ADMIN, provider_id="offline", model="whatever")
    assert response.status_code == 201, response.text
    warnings = response.json()["data"]["warnings"]
    assert len(warnings) == 1 and "not checked" in warnings[0]


async def test_who_may_manage_which_alias(
    client: httpx.AsyncClient, user_headers: dict[str, str], other_headers: dict[str, str]
) -> None:
    glob = (await create(client, ADMIN, name="shared")).json()["data"]
    # A user may not create or change global aliases, but sees them.
    assert (await create(client, user_headers, scope="global")).status_code == 403
    assert (
        await client.patch(
            f"{ALIASES}/{glob['id']}", json={"model": OTHER_MODEL}, headers=user_headers
        )
    ).status_code == 403
    assert (await client.delete(f"{ALIASES}/{glob['id']}", headers=user_headers)).status_code == 403
    # A user's own alias is theirs by default, invisible to others.
    own = await create(client, user_headers, name="mine")
    assert own.status_code == 201, own.text
    mine = own.json()["data"]
    assert mine["scope"] == "user" and mine["owner_id"] == await user_id(client, user_headers)
    assert (await client.get(f"{ALIASES}/{mine['id']}", headers=other_headers)).status_code == 404
    others = [a["name"] for a in (await client.get(ALIASES, headers=other_headers)).json()["data"]]
    assert others == ["shared"]
    theirs = [a["name"] for a in (await client.get(ALIASES, headers=user_headers)).json()["data"]]
    assert theirs == ["shared", "mine"]
    # Nor may a user make one for somebody else.
    bob = await user_id(client, other_headers)
    assert (await create(client, user_headers, name="x", owner_id=bob)).status_code == 403
    # Admins see and manage everyone's, and make per-user ones.
    for_bob = await create(client, ADMIN, name="bobs", owner_id=bob)
    assert for_bob.status_code == 201 and for_bob.json()["data"]["owner_id"] == bob
    everything = (await client.get(ALIASES, headers=ADMIN)).json()["data"]
    assert {a["name"] for a in everything} == {"shared", "mine", "bobs"}
    only_bob = (await client.get(f"{ALIASES}?owner_id={bob}", headers=ADMIN)).json()["data"]
    assert [a["name"] for a in only_bob] == ["bobs"]
    assert (await client.delete(f"{ALIASES}/{mine['id']}", headers=ADMIN)).status_code == 200
    missing = await create(client, ADMIN, name="ghost", owner_id="0" * 32)
    assert missing.status_code == 422
    assert missing.json()["error"]["details"][0]["field"] == "owner_id"


async def test_a_global_alias_may_not_name_a_users_provider(
    client: httpx.AsyncClient, user_headers: dict[str, str], sim: Any
) -> None:
    made = await client.post(
        "/api/v1/llm-providers", json={"name": "alices", "base_url": sim.url}, headers=user_headers
    )
    assert made.status_code == 201, made.text
    provider_id = made.json()["data"]["id"]
    refused = await create(client, ADMIN, provider_id=provider_id)
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["field"] == "provider_id"
    # Alice's own alias may name her own provider (by name too) and routes there.
    own = await create(client, user_headers, name="mine", provider_id="alices")
    assert own.status_code == 201, own.text
    assert own.json()["data"]["provider_id"] == provider_id
    # Deleting the provider deletes the aliases that name it.
    await client.delete(f"/api/v1/llm-providers/{provider_id}", headers=user_headers)
    assert (await client.get(ALIASES, headers=user_headers)).json()["data"] == []


async def test_per_user_overrides_global_overrides_the_setting(
    client: httpx.AsyncClient, user_headers: dict[str, str], other_headers: dict[str, str], sim: Any
) -> None:
    for model in (OTHER_MODEL, REASONING_MODEL):  # users may not make the server load one
        sim.state.loaded[model] = 4096
    # Only the setting: `default` → OTHER_MODEL for everyone.
    assert await chat_model(client, user_headers, "default", sim) == OTHER_MODEL
    assert (await create(client, ADMIN, name="default", model=CHAT_MODEL)).status_code == 201
    assert await chat_model(client, user_headers, "default", sim) == CHAT_MODEL
    own = await create(client, user_headers, name="default", model=REASONING_MODEL)
    assert own.status_code == 201, own.text
    assert await chat_model(client, user_headers, "default", sim) == REASONING_MODEL
    assert await chat_model(client, other_headers, "default", sim) == CHAT_MODEL
    # A name only the setting defines still works.
    assert await chat_model(client, user_headers, "from-setting", sim) == OTHER_MODEL


async def test_prefix_aliases_match_the_longest_prefix(client: httpx.AsyncClient, sim: Any) -> None:
    assert (await create(client, ADMIN, name="claude-*", model=CHAT_MODEL)).status_code == 201
    made = await create(client, ADMIN, name="claude-opus-*", model=REASONING_MODEL)
    assert made.status_code == 201
    assert await chat_model(client, ADMIN, "claude-haiku-4-5", sim) == CHAT_MODEL
    assert await chat_model(client, ADMIN, "claude-opus-4-1", sim) == REASONING_MODEL


async def test_listings_show_the_callers_aliases(
    client: httpx.AsyncClient, user_headers: dict[str, str], other_headers: dict[str, str]
) -> None:
    await create(client, ADMIN, name="gpt-5-codex", model=REASONING_MODEL)
    await create(client, ADMIN, name="claude-*")  # a prefix: not listable
    await create(client, user_headers, name="gpt-5-codex", model=CHAT_MODEL)

    data = (await client.get("/v1/models", headers=user_headers)).json()["data"]
    codex = [m for m in data if m["id"] == "gpt-5-codex"]
    assert len(codex) == 1  # the user's own wins; the global one is not listed twice
    assert codex[0]["alias_for"] == f"LMStudio Local/{CHAT_MODEL}"
    assert codex[0]["owned_by"] == "LMStudio Local"
    assert not any(m["id"] == "claude-*" for m in data)
    setting = next(m for m in data if m["id"] == "default")
    assert setting["owned_by"] == "bigshot-alias" and setting["alias_for"] == OTHER_MODEL

    other = (await client.get("/v1/models", headers=other_headers)).json()["data"]
    assert next(m for m in other if m["id"] == "gpt-5-codex")["alias_for"].endswith(REASONING_MODEL)

    native = (await client.get("/api/v1/llm-providers/models", headers=user_headers)).json()
    entries = {a["name"]: a for a in native["data"]["aliases"]}
    assert entries["gpt-5-codex"]["scope"] == "user"
    assert entries["gpt-5-codex"]["model"] == CHAT_MODEL
    assert entries["default"]["scope"] == "setting"

    # A user's prefix alias wins over a global exact one (and the setting's): only what the
    # caller's names resolve to is listed.
    await create(client, ADMIN, name="claude-opus-4-1", model=REASONING_MODEL)
    await create(client, user_headers, name="de*", model=CHAT_MODEL)
    shown = {m["id"] for m in (await client.get("/v1/models", headers=user_headers)).json()["data"]}
    assert "claude-opus-4-1" in shown and "default" not in shown
    await create(client, user_headers, name="claude-*", model=CHAT_MODEL)
    shown = {m["id"] for m in (await client.get("/v1/models", headers=user_headers)).json()["data"]}
    assert "claude-opus-4-1" not in shown
    others = {
        m["id"] for m in (await client.get("/v1/models", headers=other_headers)).json()["data"]
    }
    assert {"claude-opus-4-1", "default"} <= others
