"""Helpers of the quota tests: setting a quota, the request every surface refuses."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import ADMIN_KEY, auth

ADMIN = auth(ADMIN_KEY)
QUOTAS = "/api/v1/llm-providers/quotas"
CHAT_MODEL = "qwen2.5-7b-instruct"
MESSAGES = [{"role": "user", "content": "Name three primes."}]

# One request per surface, in its own shape.
SURFACES: dict[str, tuple[str, dict[str, Any]]] = {
    "native": ("/api/v1/llm-providers/chat/completions", {"messages": MESSAGES}),
    "openai": ("/v1/chat/completions", {"model": CHAT_MODEL, "messages": MESSAGES}),
    "anthropic": (
        "/v1/messages",
        {"model": CHAT_MODEL, "max_tokens": 32, "messages": MESSAGES},
    ),
    "responses": ("/v1/responses", {"model": CHAT_MODEL, "input": "Name three primes."}),
}


async def me(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get("/api/v1/me", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


async def set_quota(
    client: httpx.AsyncClient, subject: str, subject_id: str, metric: str, period: str, limit: float
) -> dict[str, Any]:
    response = await client.post(
        QUOTAS,
        json={
            "subject": subject,
            "subject_id": subject_id,
            "metric": metric,
            "period": period,
            "limit": limit,
        },
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def quota_fields(surface: str, body: dict[str, Any]) -> dict[str, Any]:
    """The quota facts of a 429 in the surface's own error shape."""
    if surface == "native":
        assert body["success"] is False and body["error"]["code"] == "quota_exceeded"
        return dict(body["error"]["details"])
    if surface == "anthropic":
        assert body["type"] == "error" and body["error"]["type"] == "rate_limit_error"
        return dict(body["error"])
    error = body["error"]
    assert error["code"] == "quota_exceeded" and error["type"] == "rate_limit_error"
    return dict(error)
