"""The native LLM endpoints against the LM Studio simulator (non-streaming and streaming)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson
import pytest

from bigshot_llm.sse import SSEDecoder
from tests.conftest import ADMIN_KEY, auth

ADMIN = auth(ADMIN_KEY)
BASE = "/api/v1/llm-providers"


def sse_events(body: bytes) -> list[tuple[str, dict[str, Any], str | None]]:
    decoder = SSEDecoder()
    events = decoder.feed(body) + decoder.feed(b"\n\n")
    return [(e.event or "message", orjson.loads(e.data), e.id) for e in events if e.data]


async def add_provider(client: httpx.AsyncClient, name: str, base_url: str) -> str:
    response = await client.post(
        BASE, json={"name": name, "kind": "lmstudio", "base_url": base_url}, headers=ADMIN
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


async def test_models_plain_detailed_and_cached(client: httpx.AsyncClient, sim: Any) -> None:
    plain = (await client.get(f"{BASE}/models", headers=ADMIN)).json()["data"]
    assert {"id": "qwen2.5-7b-instruct"} in plain["models"]
    assert plain["provider"]["name"] == "LMStudio Local"
    assert plain["provider"]["base_url"] == sim.url
    assert plain["cached"] is False and plain["stale"] is False

    detailed = (await client.get(f"{BASE}/models?detailed=true", headers=ADMIN)).json()["data"]
    qwen = next(m for m in detailed["models"] if m["id"] == "qwen2.5-7b-instruct")
    assert qwen["type"] == "llm" and qwen["state"] == "loaded"
    assert qwen["arch"] == "qwen2" and qwen["max_context_length"] == 32768
    assert qwen["quantization"] == "Q4_K_M" and qwen["publisher"] == "lmstudio-community"
    embed = next(m for m in detailed["models"] if m["type"] == "embeddings")
    assert embed["id"] == "text-embedding-nomic-embed-text-v1.5"

    before = sim.state.requests_total
    again = (await client.get(f"{BASE}/models?detailed=true", headers=ADMIN)).json()["data"]
    assert again["cached"] is True and sim.state.requests_total == before
    refreshed = await client.get(f"{BASE}/models?detailed=true&refresh=true", headers=ADMIN)
    assert refreshed.json()["data"]["cached"] is False and sim.state.requests_total > before


async def test_stale_list_served_when_upstream_dies(client: httpx.AsyncClient, sim: Any) -> None:
    await client.get(f"{BASE}/models", headers=ADMIN)
    sim.stop()
    started = time.monotonic()
    response = await client.get(f"{BASE}/models?refresh=true", headers=ADMIN)
    assert time.monotonic() - started < 5.5
    data = response.json()["data"]
    assert response.status_code == 200 and data["stale"] is True
    assert data["error"]["code"] == "provider_unavailable"
    assert {"id": "qwen2.5-7b-instruct"} in data["models"]


async def test_dead_provider_without_history_is_503_quickly(client: httpx.AsyncClient) -> None:
    dead = await add_provider(client, "dead", "http://127.0.0.1:9")
    started = time.monotonic()
    response = await client.get(f"{BASE}/models?provider={dead}", headers=ADMIN)
    assert time.monotonic() - started < 5.5
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "provider_unavailable"
    assert "127.0.0.1:9" in error["message"]


async def test_models_all_reports_each_provider(client: httpx.AsyncClient, sim: Any) -> None:
    await add_provider(client, "dead", "http://127.0.0.1:9")
    sim.state.set_fault("slow_headers", delay=1.0)
    started = time.monotonic()
    response = await client.get(f"{BASE}/models/all", headers=ADMIN)
    elapsed = time.monotonic() - started
    entries = {e["provider"]["name"]: e for e in response.json()["data"]["providers"]}
    assert entries["dead"]["status"] == "unavailable"
    assert entries["dead"]["error"]["code"] == "provider_unavailable"
    assert entries["LMStudio Local"]["status"] == "ok"
    assert entries["LMStudio Local"]["models"]
    assert elapsed < 3  # queried concurrently: the dead one does not add to the slow one


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
async def test_every_base_url_form_works(client: httpx.AsyncClient, sim: Any, suffix: str) -> None:
    provider_id = await add_provider(client, "p", sim.url + suffix)
    response = await client.post(
        f"{BASE}/chat/completions?provider={provider_id}",
        json={"messages": [{"role": "user", "content": "hi"}]},
        headers=ADMIN,
    )
    assert response.status_code == 200, response.text
    assert sim.state.last_request_path == "/v1/chat/completions"


async def test_chat_completion(client: httpx.AsyncClient, sim: Any) -> None:
    response = await client.post(
        f"{BASE}/chat/completions",
        json={
            "messages": [{"role": "user", "content": "Name three primes."}],
            "temperature": 0.5,
            "max_tokens": 7,
            "top_p": 0.9,
            "seed": 3,
            "stop": ["zzz"],
        },
        headers=ADMIN,
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["model"] == "qwen2.5-7b-instruct"  # the first loaded LLM
    assert data["message"]["role"] == "assistant" and data["message"]["content"]
    assert data["finish_reason"] == "length"
    assert data["usage"]["completion_tokens"] == 7
    assert set(data) >= {"id", "created"}
    sent = sim.state.last_request_body
    assert sent["temperature"] == 0.5 and sent["top_p"] == 0.9 and sent["seed"] == 3
    assert sent["stop"] == ["zzz"] and sent["max_tokens"] == 7


async def test_completion_with_prompt_list(client: httpx.AsyncClient, sim: Any) -> None:
    single = await client.post(
        f"{BASE}/completions", json={"prompt": "The meaning of life is"}, headers=ADMIN
    )
    assert single.status_code == 200
    data = single.json()["data"]
    assert data["text"] and data["finish_reason"] == "stop"
    assert data["usage"]["completion_tokens"] == sim.state.tokens


async def test_embeddings_keep_order(client: httpx.AsyncClient) -> None:
    texts = ["alpha", "beta", "gamma"]
    response = await client.post(f"{BASE}/embeddings", json={"input": texts}, headers=ADMIN)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["model"] == "text-embedding-nomic-embed-text-v1.5"
    assert data["dimensions"] == 768 and len(data["embeddings"]) == 3
    single = await client.post(f"{BASE}/embeddings", json={"input": "beta"}, headers=ADMIN)
    assert single.json()["data"]["embeddings"][0] == data["embeddings"][1]


async def test_unknown_model_is_404_listing_available(client: httpx.AsyncClient) -> None:
    await client.get(f"{BASE}/models", headers=ADMIN)  # the list becomes known
    response = await client.post(
        f"{BASE}/chat/completions",
        json={"model": "nope", "messages": [{"role": "user", "content": "x"}]},
        headers=ADMIN,
    )
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "model_not_found"
    assert "qwen2.5-7b-instruct" in error["details"]["available"]


async def test_upstream_model_not_found_without_known_list(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{BASE}/chat/completions",
        json={"model": "nope", "messages": [{"role": "user", "content": "x"}]},
        headers=ADMIN,
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"messages": [{"role": "user", "content": "x"}], "temperature": 2.5}, "temperature"),
        ({"messages": [{"role": "user", "content": "x"}], "top_p": -0.1}, "top_p"),
        ({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, "max_tokens"),
        ({"messages": [{"role": "user", "content": "x"}], "max_tokens": 40000}, "max_tokens"),
        ({"messages": [{"role": "user", "content": "x"}], "stop": ["a"] * 5}, "stop"),
        ({"messages": [{"role": "user", "content": "x"}], "stop": "s" * 300}, "stop"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages.0.role"),
        ({"messages": [{"role": "user", "content": "x"}], "bogus": 1}, "bogus"),
    ],
)
async def test_chat_validation(client: httpx.AsyncClient, body: dict, field: str) -> None:
    response = await client.post(f"{BASE}/chat/completions", json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"].startswith(field)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("completions", {"prompt": ""}, "prompt"),
        ("completions", {"prompt": []}, "prompt"),
        ("embeddings", {"input": []}, "input"),
        ("embeddings", {"input": ["x"] * 2049}, "input"),
    ],
)
async def test_prompt_and_input_validation(
    client: httpx.AsyncClient, path: str, body: dict, field: str
) -> None:
    response = await client.post(f"{BASE}/{path}", json=body, headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"].startswith(field)


async def test_llm_endpoints_need_a_key(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/models"),
        ("GET", "/models/all"),
        ("POST", "/completions"),
        ("POST", "/chat/completions"),
        ("POST", "/embeddings"),
    ]:
        response = await client.request(method, BASE + path, json={})
        assert response.status_code == 401, path


async def test_users_cannot_use_other_users_providers(
    client: httpx.AsyncClient, sim: Any, user_headers: dict, other_headers: dict
) -> None:
    created = await client.post(
        BASE, json={"name": "mine", "base_url": sim.url}, headers=user_headers
    )
    provider_id = created.json()["data"]["id"]
    ok = await client.get(f"{BASE}/models?provider={provider_id}", headers=user_headers)
    assert ok.status_code == 200
    by_name = await client.get(f"{BASE}/models?provider=mine", headers=user_headers)
    assert by_name.status_code == 200
    for query in (provider_id, "mine"):
        denied = await client.get(f"{BASE}/models?provider={query}", headers=other_headers)
        assert denied.status_code == 404


async def test_errors_before_first_byte_are_json(client: httpx.AsyncClient, sim: Any) -> None:
    body = {"messages": [{"role": "user", "content": "x"}], "stream": True}
    sim.state.set_fault("http_500")
    response = await client.post(f"{BASE}/chat/completions", json=body, headers=ADMIN)
    assert response.status_code == 502
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == "bad_upstream_response"
    sim.state.set_fault("http_503")
    response = await client.post(f"{BASE}/chat/completions", json=body, headers=ADMIN)
    assert response.status_code == 503
    sim.state.set_fault(None)
    sim.stop()
    response = await client.post(f"{BASE}/chat/completions", json=body, headers=ADMIN)
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "provider_unavailable" and "LM Studio" in error["message"]


async def test_streaming_chat_events(client: httpx.AsyncClient, sim: Any) -> None:
    body = {"messages": [{"role": "user", "content": "stream please"}], "stream": True}
    response = await client.post(f"{BASE}/chat/completions", json=body, headers=ADMIN)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert sim.state.last_request_body["stream_options"] == {"include_usage": True}
    events = sse_events(response.content)
    names = [name for name, _, _ in events]
    assert names[:-1] == ["delta"] * (len(names) - 1) and names[-1] == "done"
    ids = [int(event_id) for _, _, event_id in events]
    assert ids == list(range(1, len(ids) + 1))
    text = "".join(data["text"] for name, data, _ in events if name == "delta")
    plain = await client.post(
        f"{BASE}/chat/completions", json={**body, "stream": False}, headers=ADMIN
    )
    assert text == plain.json()["data"]["message"]["content"]
    done = events[-1][1]
    assert done["finish_reason"] == "stop" and done["usage_estimated"] is False
    assert done["usage"]["completion_tokens"] == sim.state.tokens
    assert done["model"] == "qwen2.5-7b-instruct"
    assert (
        done["stats"]["ttft_ms"] >= 0 and done["stats"]["duration_ms"] >= done["stats"]["ttft_ms"]
    )


async def test_streaming_completion(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{BASE}/completions",
        json={"prompt": "Once", "stream": True, "max_tokens": 4},
        headers=ADMIN,
    )
    events = sse_events(response.content)
    assert [n for n, _, _ in events] == ["delta"] * 4 + ["done"]
    assert events[-1][1]["finish_reason"] == "length"


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("drop_mid_stream", "bad_upstream_response"),
        ("malformed_chunk", "bad_upstream_response"),
        ("error_event", "context_length_exceeded"),
    ],
)
async def test_mid_stream_failures_end_with_an_error_event(
    client: httpx.AsyncClient, sim: Any, fault: str, code: str
) -> None:
    sim.state.set_fault(fault, after=3)
    body = {"messages": [{"role": "user", "content": "x"}], "stream": True}
    response = await client.post(f"{BASE}/chat/completions", json=body, headers=ADMIN)
    assert response.status_code == 200
    events = sse_events(response.content)
    assert events[-1][0] == "error"
    assert events[-1][1]["code"] == code
    assert [n for n, _, _ in events[:-1]] == ["delta"] * len(events[:-1])
