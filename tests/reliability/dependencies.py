"""What the dependency-outage tests share: a gateway on a given Redis or database, a user key,
and one round of traffic through every kind of request, with what a healthy round gives."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx

from bigshot_llm.main import create_app
from tests.conftest import DEFAULT_DEPENDENCY_TIMEOUTS, make_settings
from tests.reliability.helpers import (
    ADMIN,
    ADMIN_KEY,
    NATIVE_CHAT,
    OPENAI_CHAT,
    chat_body,
    parse_stream,
)
from tests.support.servers import ThreadedServer

# Every wait of these tests: far beyond the bounds the gateway promises (a few seconds),
# far below the minutes the unbounded code took, so a busy machine never fails them.
CLIENT_TIMEOUT = 30.0


def llm_traffic(client: httpx.Client, headers: dict[str, str]) -> dict[str, Any]:
    """Chat on both APIs, a stream on both, and the model lists: what needs no write."""
    seen: dict[str, Any] = {}
    for path, openai in ((NATIVE_CHAT, False), (OPENAI_CHAT, True)):
        answer = client.post(path, json=chat_body("dependency", stream=False), headers=headers)
        seen[f"chat {path}"] = answer.status_code
        with client.stream(
            "POST", path, json=chat_body("dependency", stream=True, openai=openai), headers=headers
        ) as response:
            raw = response.read()
        ending = parse_stream(raw, openai=openai)[1] if response.status_code == 200 else None
        seen[f"stream {path}"] = (response.status_code, ending)
    seen["models"] = client.get("/api/v1/llm-providers/models", headers=headers).status_code
    seen["v1 models"] = client.get("/v1/models", headers=headers).status_code
    return seen


def traffic(client: httpx.Client, headers: dict[str, str]) -> dict[str, Any]:
    """`llm_traffic` and an admin write."""
    seen = llm_traffic(client, headers)
    provider = client.get("/api/v1/llm-providers", headers=ADMIN).json()["data"][0]["id"]
    seen["admin write"] = client.patch(
        f"/api/v1/llm-providers/{provider}",
        json={"default_model": "qwen2.5-7b-instruct"},
        headers=ADMIN,
    ).status_code
    return seen


LLM_HEALTHY = {
    f"chat {NATIVE_CHAT}": 200,
    f"chat {OPENAI_CHAT}": 200,
    f"stream {NATIVE_CHAT}": (200, "done"),
    f"stream {OPENAI_CHAT}": (200, "done"),
    "models": 200,
    "v1 models": 200,
}
HEALTHY = {**LLM_HEALTHY, "admin write": 200}


def user_key(client: httpx.Client, name: str = "dependency-user") -> dict[str, str]:
    response = client.post(
        "/api/v1/keys",
        json={"name": name, "user": f"u-{uuid.uuid4().hex[:6]}", "role": "user"},
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['data']['key']}"}


def gateway(tmp_path: Path, sim: Any, **overrides: Any) -> ThreadedServer:
    """The gateway in process in front of the simulator, health checks off."""
    values: dict[str, Any] = {**DEFAULT_DEPENDENCY_TIMEOUTS, "health_check_seconds": 0}
    values.update(overrides)
    settings = make_settings(
        tmp_path, bootstrap_admin_key=ADMIN_KEY, lmstudio_api_base=f"{sim.url}/v1", **values
    )
    return ThreadedServer(create_app(settings))


def redis_gateway(tmp_path: Path, sim: Any, redis_url: str, **overrides: Any) -> ThreadedServer:
    values: dict[str, Any] = {
        "redis_url": redis_url,
        "redis_prefix": f"rel-{uuid.uuid4().hex[:8]}",
        "rate_limit_user": 10_000,
        "max_streams_user": 4,
    }
    values.update(overrides)
    return gateway(tmp_path, sim, **values)
