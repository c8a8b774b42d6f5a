"""Tests written to catch deliberate small breaks that went unnoticed before: keys verified on
their shown prefix only, audit redaction switched off, a config change without its audit
event (the SSRF guard's every-address check and the ciphertext check live with their
subjects, test_ssrf_guard.py and test_secrets_at_rest.py)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from bigshot_llm.services.access.audit import REDACTED, redact
from bigshot_llm.services.access.auth import SHOWN_PREFIX_LENGTH
from tests.conftest import ADMIN_KEY, auth, create_user_key

ADMIN = auth(ADMIN_KEY)
PROVIDERS = "/api/v1/llm-providers"
UPSTREAM_SECRET = "sk-audit-secret-0123456789abcdef"


async def test_a_wrong_key_with_a_valid_keys_prefix_is_401(client: httpx.AsyncClient) -> None:
    key = await create_user_key(client, "prefixed")
    assert (await client.get("/api/v1/me", headers=auth(key))).status_code == 200
    shown = (await client.get("/api/v1/keys", headers=auth(key))).json()["data"][0]["prefix"]
    assert key.startswith(shown) and len(shown) == SHOWN_PREFIX_LENGTH
    last = "A" if key[-1] != "A" else "B"
    for forged in (
        shown,  # the prefix itself, which GET /api/v1/keys shows
        shown + "x" * (len(key) - len(shown)),  # the prefix, padded to a key's length
        key[:-1] + last,  # all but the last character
        key + "x",
    ):
        answer = await client.get("/api/v1/me", headers=auth(forged))
        assert answer.status_code == 401, forged
        fast = await client.get(f"{PROVIDERS}/models", headers=auth(forged))
        assert fast.status_code == 401, forged  # the hot path's own lookup too


def test_redact_replaces_every_secret_field_at_any_depth() -> None:
    values: dict[str, Any] = {
        "name": "n",
        "api_key": UPSTREAM_SECRET,
        "key_hash": "abc",
        "nested": {"token": "t0k", "secret": "s3", "kept": 1, "deeper": {"key": "k"}},
        "members": [{"api_key": "in-a-list"}, "plain"],
        "empty": {"api_key": ""},
    }
    clean = redact(values)
    assert clean is not None
    assert clean["name"] == "n" and clean["api_key"] == REDACTED and clean["key_hash"] == REDACTED
    assert clean["nested"]["token"] == REDACTED and clean["nested"]["secret"] == REDACTED
    assert clean["nested"]["kept"] == 1 and clean["nested"]["deeper"]["key"] == REDACTED
    assert clean["members"] == [{"api_key": REDACTED}, "plain"]
    assert clean["empty"]["api_key"] is None  # presence kept, value gone
    assert values["api_key"] == UPSTREAM_SECRET  # a copy: the caller's dict is untouched
    for secret in (UPSTREAM_SECRET, "abc", "t0k", "s3", "in-a-list"):
        assert secret not in str(clean)


async def test_the_stored_audit_trail_holds_no_secret(client: httpx.AsyncClient, app: Any) -> None:
    created = await client.post(
        PROVIDERS,
        json={
            "name": "audited",
            "kind": "openai",
            "base_url": "http://127.0.0.1:9",
            "api_key": UPSTREAM_SECRET,
        },
        headers=ADMIN,
    )
    provider_id = created.json()["data"]["id"]
    await client.patch(
        f"{PROVIDERS}/{provider_id}", json={"api_key": UPSTREAM_SECRET + "-2"}, headers=ADMIN
    )
    key = await client.post("/api/v1/keys", json={"name": "k"}, headers=ADMIN)
    clear_key = key.json()["data"]["key"]
    async with app.state.resources.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT before, after FROM audit_events"))).all()
    stored = " ".join(str(r) for r in rows)
    assert UPSTREAM_SECRET not in stored and clear_key not in stored
    assert REDACTED in stored


Change = Callable[[httpx.AsyncClient, dict[str, str]], Awaitable[str]]


async def _provider(client: httpx.AsyncClient, ids: dict[str, str]) -> str:
    created = await client.post(
        PROVIDERS,
        json={
            "name": f"p-{uuid.uuid4().hex[:6]}",
            "kind": "openai",
            "base_url": "http://127.0.0.1:9",
        },
        headers=ADMIN,
    )
    ids["provider"] = created.json()["data"]["id"]
    return ids["provider"]


async def _provider_update(client: httpx.AsyncClient, ids: dict[str, str]) -> str:
    provider_id = await _provider(client, ids)
    await client.patch(f"{PROVIDERS}/{provider_id}", json={"read_timeout": 77}, headers=ADMIN)
    return provider_id


async def _provider_activate(client: httpx.AsyncClient, ids: dict[str, str]) -> str:
    provider_id = await _provider(client, ids)
    await client.post(f"{PROVIDERS}/{provider_id}/activate", headers=ADMIN)
    return provider_id


async def _provider_delete(client: httpx.AsyncClient, ids: dict[str, str]) -> str:
    provider_id = await _provider(client, ids)
    await client.delete(f"{PROVIDERS}/{provider_id}", headers=ADMIN)
    return provider_id


async def _key(client: httpx.AsyncClient, ids: dict[str, str]) -> str:
    made = await client.post("/api/v1/keys", json={"name": "audit-me"}, headers=ADMIN)
    return str(made.json()["data"]["id"])


async def _key_update(client: httpx.AsyncClient, ids: dict[str, str]) -> str:
    key_id = await _key(client, ids)
    await client.patch(f"/api/v1/keys/{key_id}", json={"name": "renamed"}, headers=ADMIN)
    return key_id


async def _key_revoke(client: httpx.AsyncClient, ids: dict[str, str]) -> str:
    key_id = await _key(client, ids)
    await client.delete(f"/api/v1/keys/{key_id}", headers=ADMIN)
    return key_id


async def _user(client: httpx.AsyncClient) -> str:
    key = await create_user_key(client, f"u-{uuid.uuid4().hex[:6]}")
    return str((await client.get("/api/v1/me", headers=auth(key))).json()["data"]["user_id"])


async def _user_update(client: httpx.AsyncClient, ids: dict[str, str]) -> str:
    user_id = await _user(client)
    await client.patch(f"/api/v1/users/{user_id}", json={"max_streams": 2}, headers=ADMIN)
    return user_id


async def _user_delete(client: httpx.AsyncClient, ids: dict[str, str]) -> str:
    user_id = await _user(client)
    await client.delete(f"/api/v1/users/{user_id}", headers=ADMIN)
    return user_id


async def _webhook(client: httpx.AsyncClient, ids: dict[str, str]) -> str:
    made = await client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": ["config.changed"]},
        headers=ADMIN,
    )
    return str(made.json()["data"]["id"])


async def _webhook_update(client: httpx.AsyncClient, ids: dict[str, str]) -> str:
    hook_id = await _webhook(client, ids)
    await client.patch(f"/api/v1/webhooks/{hook_id}", json={"enabled": False}, headers=ADMIN)
    return hook_id


async def _webhook_delete(client: httpx.AsyncClient, ids: dict[str, str]) -> str:
    hook_id = await _webhook(client, ids)
    await client.delete(f"/api/v1/webhooks/{hook_id}", headers=ADMIN)
    return hook_id


async def _model_load(client: httpx.AsyncClient, ids: dict[str, str]) -> str:
    await client.post(f"{PROVIDERS}/models/gemma-3-4b-it/load", headers=ADMIN)
    return str(
        (await client.get(f"{PROVIDERS}/active", headers=ADMIN)).json()["data"]["provider"]["id"]
    )


async def _model_unload(client: httpx.AsyncClient, ids: dict[str, str]) -> str:
    await client.post(f"{PROVIDERS}/models/qwen2.5-7b-instruct/unload", headers=ADMIN)
    return str(
        (await client.get(f"{PROVIDERS}/active", headers=ADMIN)).json()["data"]["provider"]["id"]
    )


CHANGES: list[tuple[str, Change]] = [
    ("provider.create", _provider),
    ("provider.update", _provider_update),
    ("provider.activate", _provider_activate),
    ("provider.delete", _provider_delete),
    ("key.create", _key),
    ("key.update", _key_update),
    ("key.revoke", _key_revoke),
    ("user.update", _user_update),
    ("user.delete", _user_delete),
    ("webhook.create", _webhook),
    ("webhook.update", _webhook_update),
    ("webhook.delete", _webhook_delete),
    ("model.load", _model_load),
    ("model.unload", _model_unload),
]


@pytest.mark.parametrize(("action", "change"), CHANGES, ids=[a for a, _ in CHANGES])
async def test_every_config_change_writes_its_audit_event(
    client: httpx.AsyncClient, action: str, change: Change
) -> None:
    target = await change(client, {})
    trail = await client.get("/api/v1/audit", params={"action": action}, headers=ADMIN)
    assert trail.status_code == 200, trail.text
    events = trail.json()["data"]["items"]
    assert [e for e in events if e["target_id"] == target], (action, events)
