"""Authorization for every route, generated from a table: route × role × owner.

No key → 401; a user key on an admin action → 403 (OWASP API5); another user's object → 404,
never its content (OWASP API1, BOLA). A route missing from the table fails the test, so new
endpoints must declare who may call them.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_KEY, auth

ADMIN = auth(ADMIN_KEY)

# (method, path) → who may call it: "public", "user" (any key), "admin"
ACCESS: dict[tuple[str, str], str] = {
    ("GET", "/health"): "public",
    ("GET", "/ready"): "public",
    ("GET", "/api/v1/me"): "user",
    ("GET", "/api/v1/me/preferences"): "user",
    ("PUT", "/api/v1/me/preferences"): "user",
    ("POST", "/api/v1/keys"): "user",
    ("GET", "/api/v1/keys"): "user",
    ("PATCH", "/api/v1/keys/{key_id}"): "user",
    ("DELETE", "/api/v1/keys/{key_id}"): "user",
    ("GET", "/api/v1/users"): "admin",
    ("PATCH", "/api/v1/users/{user_id}"): "admin",
    ("DELETE", "/api/v1/users/{user_id}"): "admin",
    ("GET", "/api/v1/audit"): "admin",
    ("GET", "/api/v1/llm-providers/models"): "user",
    ("GET", "/api/v1/llm-providers/models/all"): "user",
    ("POST", "/api/v1/llm-providers/completions"): "user",
    ("POST", "/api/v1/llm-providers/chat/completions"): "user",
    ("POST", "/api/v1/llm-providers/embeddings"): "user",
    ("GET", "/api/v1/llm-providers"): "user",
    ("POST", "/api/v1/llm-providers"): "user",
    ("GET", "/api/v1/llm-providers/active"): "user",
    ("GET", "/api/v1/llm-providers/aliases"): "user",
    ("POST", "/api/v1/llm-providers/aliases"): "user",
    ("GET", "/api/v1/llm-providers/aliases/{alias_id}"): "user",
    ("PATCH", "/api/v1/llm-providers/aliases/{alias_id}"): "user",
    ("DELETE", "/api/v1/llm-providers/aliases/{alias_id}"): "user",
    ("GET", "/api/v1/llm-providers/{provider_id}"): "user",
    ("PATCH", "/api/v1/llm-providers/{provider_id}"): "user",
    ("DELETE", "/api/v1/llm-providers/{provider_id}"): "user",
    ("POST", "/api/v1/llm-providers/{provider_id}/activate"): "user",
    ("POST", "/api/v1/llm-providers/{provider_id}/test"): "user",
    ("GET", "/api/v1/llm-providers/kinds"): "user",
    ("POST", "/api/v1/llm-providers/models/{model}/load"): "user",  # 403 inside on globals
    ("POST", "/api/v1/llm-providers/models/{model}/unload"): "user",
    ("POST", "/api/v1/llm-providers/discover"): "admin",
    ("GET", "/api/v1/llm-providers/capacity"): "user",
    ("GET", "/api/v1/llm-providers/presets"): "admin",
    ("PUT", "/api/v1/llm-providers/presets/{model}"): "admin",
    ("DELETE", "/api/v1/llm-providers/presets/{model}"): "admin",
    ("POST", "/api/v1/llm-providers/models/{model}/download"): "admin",
    ("GET", "/api/v1/llm-providers/downloads/{job_id}"): "admin",
    ("GET", "/api/v1/llm-providers/quotas"): "admin",
    ("POST", "/api/v1/llm-providers/quotas"): "admin",
    ("PATCH", "/api/v1/llm-providers/quotas/{quota_id}"): "admin",
    ("DELETE", "/api/v1/llm-providers/quotas/{quota_id}"): "admin",
    ("GET", "/api/v1/llm-providers/quota-usage"): "user",
    ("POST", "/api/v1/compare"): "user",
    ("GET", "/api/v1/compare"): "user",
    ("GET", "/api/v1/compare/{comparison_id}"): "user",
    ("GET", "/api/v1/conversations"): "user",
    ("POST", "/api/v1/conversations"): "user",
    ("GET", "/api/v1/conversations/{conversation_id}"): "user",
    ("PATCH", "/api/v1/conversations/{conversation_id}"): "user",
    ("DELETE", "/api/v1/conversations/{conversation_id}"): "user",
    ("GET", "/api/v1/conversations/{conversation_id}/messages"): "user",
    ("GET", "/api/v1/conversations/search"): "user",
    ("POST", "/api/v1/conversations/import"): "user",
    ("GET", "/api/v1/conversations/{conversation_id}/export"): "user",
    ("POST", "/api/v1/conversations/{conversation_id}/messages/{message_id}/select"): "user",
    ("DELETE", "/api/v1/conversations/{conversation_id}/messages/{message_id}"): "user",
    ("POST", "/api/v1/chat/streams"): "user",
    ("GET", "/api/v1/chat/streams/{stream_id}"): "user",
    ("DELETE", "/api/v1/chat/streams/{stream_id}"): "user",
    ("GET", "/api/v1/chat/streams/{stream_id}/events"): "user",
    ("GET", "/v1/models"): "user",
    ("GET", "/v1/models/{model_id}"): "user",
    ("POST", "/v1/chat/completions"): "user",
    ("POST", "/v1/completions"): "user",
    ("POST", "/v1/embeddings"): "user",
    ("POST", "/v1/messages"): "user",
    ("POST", "/v1/messages/count_tokens"): "user",
    ("POST", "/v1/responses"): "user",
    ("GET", "/v1/responses/{response_id}"): "user",
    ("DELETE", "/v1/responses/{response_id}"): "user",
    ("GET", "/api/v1/usage"): "user",
    ("GET", "/api/v1/usage/recent"): "user",
    ("GET", "/api/v1/webhooks"): "admin",
    ("POST", "/api/v1/webhooks"): "admin",
    ("GET", "/api/v1/webhooks/{webhook_id}"): "admin",
    ("PATCH", "/api/v1/webhooks/{webhook_id}"): "admin",
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): "admin",
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): "admin",
    ("POST", "/api/v1/webhooks/{webhook_id}/test"): "admin",
}
OBJECT_PARAMS = (
    "provider_id",
    "key_id",
    "conversation_id",
    "stream_id",
    "model_id",
    "response_id",
    "message_id",
    "alias_id",
)


def api_routes(app: Any) -> list[tuple[str, str]]:
    """Every documented operation (the UI's static routes are not part of the API)."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            found.append((method.upper(), path))
    return found


async def test_every_route_is_in_the_table(app: Any) -> None:
    missing = [r for r in api_routes(app) if r not in ACCESS]
    assert not missing, f"declare who may call these routes: {missing}"


async def test_every_route_in_the_table_exists(app: Any) -> None:
    """A declared route that disappears (renamed, its router dropped) fails here: the table
    must describe the API exactly, or the checks below test less than they claim."""
    routes = set(api_routes(app))
    gone = [r for r in ACCESS if r not in routes]
    assert not gone, f"these declared routes are gone from the API: {gone}"


async def test_no_key_is_401_and_user_key_on_admin_routes_is_403(
    app: Any, client: httpx.AsyncClient, user_headers: dict
) -> None:
    for method, path in api_routes(app):
        access = ACCESS[(method, path)]
        concrete = path
        for param in OBJECT_PARAMS:
            concrete = concrete.replace("{" + param + "}", "x")
        body = {} if method in ("POST", "PUT", "PATCH") else None
        anonymous = await client.request(method, concrete, json=body)
        if access == "public":
            assert anonymous.status_code == 200, (method, path)
            continue
        assert anonymous.status_code == 401, (method, path, anonymous.status_code)
        if access == "admin":
            denied = await client.request(method, concrete, json=body, headers=user_headers)
            assert denied.status_code == 403, (method, path, denied.status_code)


@pytest.fixture
async def alices_objects(client: httpx.AsyncClient, sim: Any, user_headers: dict) -> dict[str, str]:
    provider = await client.post(
        "/api/v1/llm-providers",
        json={"name": "alice-lms", "kind": "lmstudio", "base_url": sim.url},
        headers=user_headers,
    )
    keys = await client.get("/api/v1/keys", headers=user_headers)
    stream = await client.post(
        "/api/v1/chat/streams", json={"message": "hello"}, headers=user_headers
    )
    assert stream.status_code == 201, stream.text
    data = stream.json()["data"]
    response = await client.post(
        "/v1/responses",
        json={"model": "qwen2.5-7b-instruct", "input": "hello"},
        headers=user_headers,
    )
    assert response.status_code == 200, response.text
    alias = await client.post(
        "/api/v1/llm-providers/aliases",
        json={"name": "hello", "provider_id": "alice-lms", "model": "qwen2.5-7b-instruct"},
        headers=user_headers,
    )
    assert alias.status_code == 201, alias.text
    return {
        "alias_id": alias.json()["data"]["id"],
        "response_id": response.json()["id"],
        "provider_id": provider.json()["data"]["id"],
        "key_id": keys.json()["data"][0]["id"],
        "conversation_id": data["conversation_id"],
        "stream_id": data["stream_id"],
        "model_id": "alice-lms/qwen2.5-7b-instruct",
        "message_id": data["user_message_id"],
    }


async def test_another_users_objects_are_404(
    app: Any,
    client: httpx.AsyncClient,
    user_headers: dict,
    other_headers: dict,
    alices_objects: dict[str, str],
) -> None:
    checked = 0
    for method, path in api_routes(app):
        params = [p for p in OBJECT_PARAMS if "{" + p + "}" in path]
        if not params:
            continue
        concrete = path
        for param in params:
            concrete = concrete.replace("{" + param + "}", alices_objects[param])
        body: dict[str, Any] | None = None
        if method in ("POST", "PUT", "PATCH"):
            body = {}
        response = await client.request(method, concrete, json=body, headers=other_headers)
        assert response.status_code == 404, (method, path, response.status_code, response.text)
        for value in alices_objects.values():
            if value.endswith("qwen2.5-7b-instruct"):
                continue
            assert "hello" not in response.text
        checked += 1
    assert checked >= 15
    # and alice still has all of it
    own = await client.get(
        f"/api/v1/conversations/{alices_objects['conversation_id']}", headers=user_headers
    )
    assert own.status_code == 200
