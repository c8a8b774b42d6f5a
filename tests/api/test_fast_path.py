"""The fast path answers exactly like FastAPI's ordinary path, and defers to it when unsure."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from bigshot_llm.api.fast_path import hot_routes
from bigshot_llm.main import create_app
from tests.conftest import ADMIN_KEY, auth, make_settings

ADMIN = auth(ADMIN_KEY)
CHAT = {"messages": [{"role": "user", "content": "same answer both ways"}], "seed": 1}


def _without_item_ids(value: Any) -> None:
    """Responses and Messages name every output item and message with a fresh id."""
    if isinstance(value, dict):
        for name in ("id", "item_id", "response_id", "created_at"):
            value.pop(name, None)
        for inner in value.values():
            _without_item_ids(inner)
    elif isinstance(value, list):
        for inner in value:
            _without_item_ids(inner)


def without_volatile(body: dict[str, Any]) -> dict[str, Any]:
    data = body["data"] if isinstance(body.get("data"), dict) else body
    for name in ("id", "created", "fetched_at", "cached"):
        data.pop(name, None)
    for name in ("output", "content", "message", "response"):
        _without_item_ids(data.get(name))
    data.pop("created_at", None)
    if isinstance(data.get("provider"), dict):
        data["provider"].pop("id", None)  # two gateways: each bootstrapped its own provider
    return body


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/llm-providers/chat/completions", CHAT),
        ("/api/v1/llm-providers/completions", {"prompt": "p"}),
        ("/api/v1/llm-providers/embeddings", {"input": ["a", "b"]}),
        ("/v1/chat/completions", {**CHAT, "model": "qwen2.5-7b-instruct"}),
        ("/v1/completions", {"prompt": "p", "model": "qwen2.5-7b-instruct"}),
        ("/v1/embeddings", {"input": "a", "model": "text-embedding-nomic-embed-text-v1.5"}),
    ],
)
async def test_fast_and_ordinary_paths_agree(
    client: httpx.AsyncClient, path: str, body: dict
) -> None:
    fast = await client.post(path, json=body, headers=ADMIN)
    # an extra query parameter the fast path does not know sends the request the ordinary way
    ordinary = await client.post(f"{path}?via=router", json=body, headers=ADMIN)
    assert fast.status_code == ordinary.status_code == 200
    assert without_volatile(fast.json()) == without_volatile(ordinary.json())
    assert fast.headers["content-type"] == ordinary.headers["content-type"]


async def test_model_list_with_flags(client: httpx.AsyncClient) -> None:
    path = "/api/v1/llm-providers/models"
    fast = await client.get(f"{path}?detailed=true&refresh=1", headers=ADMIN)
    ordinary = await client.get(f"{path}?detailed=true&refresh=1&via=router", headers=ADMIN)
    assert fast.status_code == ordinary.status_code == 200
    assert without_volatile(fast.json()) == without_volatile(ordinary.json())
    assert fast.json()["data"]["models"][0]["type"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b'{"messages": [{"role": "wizard", "content": "x"}]}', 422, "messages.0.role"),
        (b'{"messages": [', 422, None),
        (b'{"messages": [], "temperature": 9}', 422, "temperature"),
    ],
)
async def test_invalid_bodies_get_the_ordinary_422(
    client: httpx.AsyncClient, body: bytes, status: int, field: str | None
) -> None:
    response = await client.post(
        "/api/v1/llm-providers/chat/completions",
        content=body,
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    assert response.status_code == status
    if field:
        assert response.json()["error"]["details"][0]["field"] == field


async def test_missing_or_bad_keys_and_odd_queries_get_ordinary_answers(
    client: httpx.AsyncClient,
) -> None:
    path = "/api/v1/llm-providers/chat/completions"
    assert (await client.post(path, json=CHAT)).status_code == 401
    assert (await client.post(path, json=CHAT, headers=auth("bsk_nope"))).status_code == 401
    odd = await client.get("/api/v1/llm-providers/models?detailed=maybe", headers=ADMIN)
    assert odd.status_code == 422
    assert odd.json()["error"]["details"][0]["field"] == "detailed"


async def test_upstream_errors_render_in_each_surface_shape(
    client: httpx.AsyncClient, sim: Any
) -> None:
    sim.stop()
    native = await client.post("/api/v1/llm-providers/chat/completions", json=CHAT, headers=ADMIN)
    assert native.status_code == 503
    assert native.json()["error"]["code"] == "provider_unavailable"
    v1 = await client.post("/v1/chat/completions", json={**CHAT, "model": "m"}, headers=ADMIN)
    assert v1.status_code == 503
    assert v1.json()["error"]["code"] == "provider_unavailable" and "success" not in v1.json()


def test_every_shortcut_is_a_documented_route(app: Any) -> None:
    paths = app.openapi()["paths"]
    for method, path in hot_routes(app.routes):
        assert method.lower() in paths[path], (method, path)


# One request per hot route: a route marked @hot without a case here fails the test below.
HOT_CASES: dict[tuple[str, str], dict[str, Any] | None] = {
    ("POST", "/api/v1/llm-providers/chat/completions"): CHAT,
    ("POST", "/api/v1/llm-providers/completions"): {"prompt": "p", "seed": 1},
    ("POST", "/api/v1/llm-providers/embeddings"): {"input": ["a", "b"]},
    ("GET", "/api/v1/llm-providers/models"): None,
    ("POST", "/v1/chat/completions"): {**CHAT, "model": "qwen2.5-7b-instruct"},
    ("POST", "/v1/completions"): {"prompt": "p", "model": "qwen2.5-7b-instruct", "seed": 1},
    ("POST", "/v1/embeddings"): {"input": "a", "model": "text-embedding-nomic-embed-text-v1.5"},
    ("POST", "/v1/messages"): {
        "model": "qwen2.5-7b-instruct",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
    },
    ("POST", "/v1/responses"): {"model": "qwen2.5-7b-instruct", "input": "hi", "store": False},
}
STREAMING = {key for key, body in HOT_CASES.items() if body and "embeddings" not in key[1]}


@pytest.fixture
async def ordinary_client(tmp_path: Any, sim: Any) -> Any:
    """The same gateway with the fast path switched off: FastAPI answers everything."""
    settings = make_settings(
        tmp_path / "ordinary", lmstudio_api_base=f"{sim.url}/v1", fast_path=False
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
            yield c


def test_every_hot_route_has_a_case(app: Any) -> None:
    assert set(hot_routes(app.routes)) == set(HOT_CASES)


def sse_events(text: str) -> list[tuple[str | None, str]]:
    """(event name, data) per event, ids and comments left out."""
    events = []
    for block in text.strip().split("\n\n"):
        name, data = None, []
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        if data:
            events.append((name, "\n".join(data)))
    return events


def stable(data: str) -> Any:
    """An event's JSON without what differs between two runs (ids, times, timings)."""
    if data == "[DONE]":
        return data
    value = json.loads(data)
    if isinstance(value, dict):
        for name in ("id", "created", "stats", "system_fingerprint"):
            value.pop(name, None)
        _without_item_ids(value)
        served_by = value.get("served_by")
        if isinstance(served_by, dict):
            served_by.pop("queued_ms", None)  # a time, like the stats
    return value


@pytest.mark.parametrize(("method", "path"), sorted(HOT_CASES))
async def test_both_paths_answer_every_hot_route_alike(
    client: httpx.AsyncClient, ordinary_client: httpx.AsyncClient, method: str, path: str
) -> None:
    body = HOT_CASES[(method, path)]
    fast = await client.request(method, path, json=body, headers=ADMIN)
    ordinary = await ordinary_client.request(method, path, json=body, headers=ADMIN)
    assert fast.status_code == ordinary.status_code == 200, (fast.text, ordinary.text)
    assert without_volatile(fast.json()) == without_volatile(ordinary.json())
    assert fast.headers["content-type"] == ordinary.headers["content-type"]


@pytest.mark.parametrize(("method", "path"), sorted(STREAMING))
async def test_both_paths_stream_every_hot_route_alike(
    client: httpx.AsyncClient, ordinary_client: httpx.AsyncClient, method: str, path: str
) -> None:
    body = {**(HOT_CASES[(method, path)] or {}), "stream": True}
    fast = await client.request(method, path, json=body, headers=ADMIN)
    ordinary = await ordinary_client.request(method, path, json=body, headers=ADMIN)
    assert fast.status_code == ordinary.status_code == 200
    assert fast.headers["content-type"].startswith("text/event-stream")
    fast_events, ordinary_events = sse_events(fast.text), sse_events(ordinary.text)
    assert len(fast_events) > 2
    assert [(n, stable(d)) for n, d in fast_events] == [(n, stable(d)) for n, d in ordinary_events]
