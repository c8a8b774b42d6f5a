"""Every LLM surface leaves exactly one usage record, with the simulator's exact token counts."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conversations.helpers import STREAMS, read_all, start_stream
from tests.usage.helpers import CHAT_MODEL, EMBED_MODEL, NATIVE, prompt_tokens, recent

QUESTION = "Name three primes."


async def test_non_streamed_native_chat(
    client: httpx.AsyncClient, sim: Any, user_headers: dict[str, str]
) -> None:
    response = await client.post(
        f"{NATIVE}/chat/completions",
        json={"messages": [{"role": "user", "content": QUESTION}], "max_tokens": 7},
        headers=user_headers,
    )
    assert response.status_code == 200, response.text
    assert float(response.headers["x-bigshot-overhead-ms"]) >= 0
    [record] = await recent(client, user_headers)
    assert record["prompt_tokens"] == prompt_tokens(QUESTION) == 7
    assert record["completion_tokens"] == 7
    assert record["estimated"] is False and record["streamed"] is False
    assert record["status"] == "ok"
    assert record["endpoint"] == "/api/v1/llm-providers/chat/completions"
    assert record["model"] == CHAT_MODEL and record["provider"] == "LMStudio Local"
    assert record["duration_ms"] > 0 and record["ttft_ms"] is None
    assert record["key_id"] and record["user_id"]


async def test_streamed_native_chat(
    client: httpx.AsyncClient, sim: Any, user_headers: dict[str, str]
) -> None:
    response = await client.post(
        f"{NATIVE}/chat/completions",
        json={"messages": [{"role": "user", "content": QUESTION}], "stream": True},
        headers=user_headers,
    )
    assert response.status_code == 200
    assert "x-bigshot-overhead-ms" not in response.headers
    [record] = await recent(client, user_headers)
    assert record["streamed"] is True and record["status"] == "ok"
    assert record["prompt_tokens"] == 7
    assert record["completion_tokens"] == sim.state.tokens
    assert record["estimated"] is False
    assert record["ttft_ms"] is not None and record["ttft_ms"] <= record["duration_ms"]


async def test_native_completion_and_embeddings(
    client: httpx.AsyncClient, sim: Any, user_headers: dict[str, str]
) -> None:
    prompt = "The meaning of life is"
    streamed = await client.post(
        f"{NATIVE}/completions", json={"prompt": prompt, "stream": True}, headers=user_headers
    )
    assert streamed.status_code == 200
    embedded = await client.post(
        f"{NATIVE}/embeddings", json={"input": ["alpha beta", "gamma"]}, headers=user_headers
    )
    assert embedded.status_code == 200, embedded.text
    embed, complete = await recent(client, user_headers)
    assert complete["endpoint"] == "/api/v1/llm-providers/completions"
    assert complete["prompt_tokens"] == len(prompt.split())
    assert complete["completion_tokens"] == sim.state.tokens
    assert embed["endpoint"] == "/api/v1/llm-providers/embeddings"
    assert embed["model"] == EMBED_MODEL
    assert embed["prompt_tokens"] == embedded.json()["data"]["usage"]["prompt_tokens"] > 0
    assert embed["completion_tokens"] == 0


async def test_openai_surface_streamed_and_not(
    client: httpx.AsyncClient, sim: Any, user_headers: dict[str, str]
) -> None:
    body = {"model": CHAT_MODEL, "messages": [{"role": "user", "content": QUESTION}]}
    plain = await client.post("/v1/chat/completions", json=body, headers=user_headers)
    assert plain.status_code == 200
    assert "x-bigshot-overhead-ms" in plain.headers
    streamed = await client.post(
        "/v1/chat/completions", json={**body, "stream": True}, headers=user_headers
    )
    assert streamed.status_code == 200
    assert b"[DONE]" in streamed.content
    stream_record, plain_record = await recent(client, user_headers)
    for record in (stream_record, plain_record):
        assert record["endpoint"] == "/v1/chat/completions"
        assert record["prompt_tokens"] == plain.json()["usage"]["prompt_tokens"] == 7
        assert record["completion_tokens"] == sim.state.tokens
        assert record["estimated"] is False and record["status"] == "ok"
    assert stream_record["streamed"] and not plain_record["streamed"]


async def test_background_chat_stream(
    client: httpx.AsyncClient, sim: Any, user_headers: dict[str, str]
) -> None:
    created = await start_stream(client, user_headers, message="hello there")
    events = await read_all(client, created["events_url"])
    done = events[-1][2]
    [record] = await recent(client, user_headers)
    assert record["endpoint"] == STREAMS and record["streamed"] is True
    assert record["status"] == "ok"
    assert record["completion_tokens"] == done["usage"]["completion_tokens"] == sim.state.tokens
    assert record["prompt_tokens"] == done["usage"]["prompt_tokens"]
    assert record["estimated"] is done["usage_estimated"] is False


async def test_stopped_chat_stream_is_cancelled(
    client: httpx.AsyncClient, sim: Any, user_headers: dict[str, str]
) -> None:
    sim.state.token_delay = 0.05
    created = await start_stream(client, user_headers, message="hello there")
    stopped = await client.delete(f"{STREAMS}/{created['stream_id']}", headers=user_headers)
    assert stopped.status_code == 200, stopped.text
    [record] = await recent(client, user_headers)
    assert record["status"] == "cancelled"
    assert record["completion_tokens"] < sim.state.tokens


async def test_upstream_failure_is_recorded_with_its_code(
    client: httpx.AsyncClient, sim: Any, user_headers: dict[str, str]
) -> None:
    # the model list first (a user's request checks the model is loaded), then the fault
    assert (await client.get(f"{NATIVE}/models?detailed=true", headers=user_headers)).is_success
    sim.state.set_fault("http_500", count=1, on="generation")
    response = await client.post(
        f"{NATIVE}/chat/completions",
        json={"model": CHAT_MODEL, "messages": [{"role": "user", "content": QUESTION}]},
        headers=user_headers,
    )
    assert response.status_code == 502
    [record] = await recent(client, user_headers)
    assert record["status"] == response.json()["error"]["code"]
    assert record["prompt_tokens"] == record["completion_tokens"] == 0
