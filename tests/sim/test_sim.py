"""Model listings, generation, streaming, loading, embeddings, auth and control endpoints."""

from __future__ import annotations

import asyncio
import json
import math
import time
from typing import Any

import httpx
import pytest

from bigshot_llm.sim import SimServer
from bigshot_llm.sim.generation import EMBEDDING_DIM

QWEN = "qwen2.5-7b-instruct"
LLAMA = "llama-3.2-1b-instruct"
GEMMA = "gemma-3-4b-it"
NOMIC = "text-embedding-nomic-embed-text-v1.5"
REASONERS = {"qwen3-8b", "gpt-oss-20b", "deepseek-r1-distill-qwen-7b"}


def chat_body(content: str = "Hello there", **extra: Any) -> dict[str, Any]:
    return {"model": QWEN, "messages": [{"role": "user", "content": content}], **extra}


async def read_sse(response: httpx.Response) -> list[str]:
    """The ``data:`` payloads of a stream, in order."""
    return [
        line[len("data: ") :] async for line in response.aiter_lines() if line.startswith("data: ")
    ]


async def stream_payloads(
    client: httpx.AsyncClient, path: str, body: dict[str, Any]
) -> tuple[httpx.Response, list[str]]:
    async with client.stream("POST", path, json=body) as response:
        return response, await read_sse(response)


# ---------------------------------------------------------------------------- model listings
async def test_openai_models_list(client: httpx.AsyncClient, sim: SimServer) -> None:
    body = (await client.get("/v1/models")).json()
    assert body["object"] == "list"
    assert {m["id"] for m in body["data"]} == {QWEN, LLAMA, GEMMA, NOMIC, *REASONERS}
    assert all(m == {"id": m["id"], "object": "model", "owned_by": "organization_owner"}
               for m in body["data"])  # fmt: skip
    sim.state.jit_loading = False
    ids = [m["id"] for m in (await client.get("/v1/models")).json()["data"]]
    assert sorted(ids) == sorted([QWEN, NOMIC])


async def test_v0_models(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v0/models")).json()
    assert body["object"] == "list"
    by_id = {m["id"]: m for m in body["data"]}
    qwen = by_id[QWEN]
    assert qwen["type"] == "llm" and qwen["arch"] == "qwen2"
    assert qwen["publisher"] == "lmstudio-community" and qwen["quantization"] == "Q4_K_M"
    assert qwen["compatibility_type"] == "gguf" and qwen["max_context_length"] == 32768
    assert qwen["state"] == "loaded" and qwen["loaded_context_length"] > 0
    assert by_id[LLAMA]["state"] == "not-loaded" and "loaded_context_length" not in by_id[LLAMA]
    assert by_id[LLAMA]["quantization"] == "Q8_0" and by_id[LLAMA]["max_context_length"] == 131072
    assert by_id[GEMMA]["type"] == "vlm" and by_id[GEMMA]["arch"] == "gemma3"
    assert by_id[NOMIC]["type"] == "embeddings" and by_id[NOMIC]["state"] == "loaded"
    single = await client.get(f"/api/v0/models/{GEMMA}")
    assert single.status_code == 200 and single.json() == by_id[GEMMA]
    missing = await client.get("/api/v0/models/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"


async def test_v1_models(client: httpx.AsyncClient) -> None:
    models = {m["key"]: m for m in (await client.get("/api/v1/models")).json()["models"]}
    qwen = models[QWEN]
    assert qwen["type"] == "llm" and qwen["architecture"] == "qwen2" and qwen["format"] == "gguf"
    assert qwen["quantization"]["name"] == "Q4_K_M" and qwen["quantization"]["bits_per_weight"]
    assert qwen["loaded_instances"][0]["id"] == QWEN
    assert qwen["loaded_instances"][0]["config"]["context_length"] > 0
    assert qwen["capabilities"] == {"vision": False, "trained_for_tool_use": True}
    for key in ("publisher", "display_name", "size_bytes", "params_string", "max_context_length"):
        assert qwen[key]
    assert models[GEMMA]["type"] == "llm" and models[GEMMA]["capabilities"]["vision"] is True
    assert models[LLAMA]["loaded_instances"] == []
    assert models[NOMIC]["type"] == "embedding"


# ---------------------------------------------------------------------------- load / unload
async def test_load_unload_one_llm_at_a_time(client: httpx.AsyncClient, sim: SimServer) -> None:
    r = await client.post("/api/v1/models/load", json={"model": LLAMA, "context_length": 8192})
    assert r.status_code == 200
    body = r.json()
    assert body["type"] == "llm" and body["status"] == "loaded" and body["instance_id"] == LLAMA
    assert isinstance(body["load_time_seconds"], float)
    assert sim.state.loaded == {LLAMA: 8192, NOMIC: sim.state.loaded[NOMIC]}
    v0 = {m["id"]: m["state"] for m in (await client.get("/api/v0/models")).json()["data"]}
    assert v0[QWEN] == "not-loaded" and v0[LLAMA] == "loaded" and v0[NOMIC] == "loaded"
    r = await client.post("/api/v1/models/load", json={"model": GEMMA})
    assert r.json()["type"] == "llm" and set(sim.state.loaded) == {GEMMA, NOMIC}

    r = await client.post("/api/v1/models/unload", json={"instance_id": GEMMA})
    assert r.status_code == 200 and r.json() == {"instance_id": GEMMA}
    assert set(sim.state.loaded) == {NOMIC}
    r = await client.post("/api/v1/models/unload", json={"instance_id": GEMMA})
    assert r.status_code == 404 and r.json()["error"]["type"] == "invalid_request"
    r = await client.post("/api/v1/models/load", json={"model": "nope"})
    assert r.status_code == 404 and set(r.json()["error"]) >= {"type", "message", "code"}


# ---------------------------------------------------------------------------- generation
async def test_chat_non_streaming(client: httpx.AsyncClient, sim: SimServer) -> None:
    sim.state.tokens = 7
    r = await client.post("/v1/chat/completions", json=chat_body())
    assert r.status_code == 200
    body = r.json()
    assert body["id"].startswith("chatcmpl-") and body["object"] == "chat.completion"
    assert body["model"] == QWEN and body["system_fingerprint"] == QWEN
    assert isinstance(body["created"], int)
    choice = body["choices"][0]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop" and choice["logprobs"] is None
    assert choice["message"]["role"] == "assistant"
    text = choice["message"]["content"]
    assert len(text.split()) == 7
    assert body["usage"] == {"prompt_tokens": 6, "completion_tokens": 7, "total_tokens": 13}
    again = (await client.post("/v1/chat/completions", json=chat_body())).json()
    assert again["choices"][0]["message"]["content"] == text
    other = (await client.post("/v1/chat/completions", json=chat_body("Other"))).json()
    assert other["choices"][0]["message"]["content"] != text
    assert sim.state.last_request_body["messages"][0]["content"] == "Other"


async def test_max_tokens_and_stop(client: httpx.AsyncClient) -> None:
    full = (await client.post("/v1/chat/completions", json=chat_body())).json()
    text = full["choices"][0]["message"]["content"]
    capped = (await client.post("/v1/chat/completions", json=chat_body(max_tokens=3))).json()
    assert capped["choices"][0]["finish_reason"] == "length"
    assert capped["usage"]["completion_tokens"] == 3
    assert text.startswith(capped["choices"][0]["message"]["content"])
    unlimited = (await client.post("/v1/chat/completions", json=chat_body(max_tokens=-1))).json()
    assert unlimited["choices"][0]["finish_reason"] == "stop"
    stop_word = text.split()[4]
    stopped = (await client.post("/v1/chat/completions", json=chat_body(stop=[stop_word]))).json()
    cut = stopped["choices"][0]["message"]["content"]
    assert cut == text[: text.index(stop_word)] and stopped["choices"][0]["finish_reason"] == "stop"
    async with client.stream("POST", "/v1/chat/completions",
                             json=chat_body(stop=stop_word, stream=True)) as r:  # fmt: skip
        chunks = [json.loads(p) for p in await read_sse(r) if p != "[DONE]"]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == cut


async def test_completions_non_streaming(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/completions", json={"model": QWEN, "prompt": "Once upon a time"})
    body = r.json()
    assert body["id"].startswith("cmpl-") and body["object"] == "text_completion"
    choice = body["choices"][0]
    assert set(choice) == {"index", "text", "finish_reason", "logprobs"}
    assert len(choice["text"].split()) == 20 and choice["finish_reason"] == "stop"
    assert body["usage"]["prompt_tokens"] == 4


async def test_v0_generation_adds_stats(client: httpx.AsyncClient) -> None:
    body = (await client.post("/api/v0/chat/completions", json=chat_body())).json()
    assert set(body["stats"]) >= {"tokens_per_second", "time_to_first_token", "generation_time"}
    assert body["model_info"]["arch"] == "qwen2" and body["model_info"]["quant"] == "Q4_K_M"
    assert body["object"] == "chat.completion"
    body = (await client.post("/api/v0/completions", json={"prompt": "x", "model": QWEN})).json()
    assert body["object"] == "text_completion" and "stats" in body and "model_info" in body
    v1 = (await client.post("/v1/chat/completions", json=chat_body())).json()
    assert "stats" not in v1


async def test_chat_streaming_matches_non_streaming(
    client: httpx.AsyncClient, sim: SimServer
) -> None:
    full = (await client.post("/v1/chat/completions", json=chat_body())).json()
    body = chat_body(stream=True, stream_options={"include_usage": True})
    response, payloads = await stream_payloads(client, "/v1/chat/completions", body)
    assert response.headers["content-type"].startswith("text/event-stream")
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1 and chunks[0]["id"].startswith("chatcmpl-")
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == [] and usage_chunk["usage"] == full["usage"]
    final = chunks[-2]["choices"][0]
    assert final["delta"] == {} and final["finish_reason"] == "stop"
    token_chunks = chunks[1:-2]
    assert len(token_chunks) == 20
    assert all(c["choices"][0]["finish_reason"] is None for c in token_chunks)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks[:-1])
    assert text == full["choices"][0]["message"]["content"]
    await sim.state.wait_for_async(lambda: sim.state.streams_completed == 1)
    assert sim.state.streams_open == 0 and sim.state.streams_aborted == 0

    _, plain = await stream_payloads(client, "/v1/chat/completions", chat_body(stream=True))
    assert plain[-1] == "[DONE]" and all("usage" not in json.loads(p) for p in plain[:-1])


async def test_completions_streaming(client: httpx.AsyncClient) -> None:
    body = {"model": QWEN, "prompt": "Tell me", "max_tokens": 5}
    full = (await client.post("/v1/completions", json=body)).json()
    stream_body = {**body, "stream": True, "stream_options": {"include_usage": True}}
    _, payloads = await stream_payloads(client, "/v1/completions", stream_body)
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert all(c["object"] == "text_completion" for c in chunks)
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 5
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert "".join(c["choices"][0]["text"] for c in chunks[:-1]) == full["choices"][0]["text"]


async def test_token_delay_streams_incrementally(client: httpx.AsyncClient, sim: SimServer) -> None:
    sim.state.tokens = 5
    sim.state.token_delay = 0.1
    arrivals: list[float] = []
    start = time.monotonic()
    async with client.stream("POST", "/v1/chat/completions", json=chat_body(stream=True)) as r:
        async for line in r.aiter_lines():
            if line.startswith("data: "):
                arrivals.append(time.monotonic() - start)
    assert len(arrivals) == 8  # role + 5 tokens + final + [DONE]
    assert arrivals[0] < 0.3
    assert arrivals[-1] >= 0.45
    assert arrivals[-1] - arrivals[0] >= 0.3
    start = time.monotonic()
    await client.post("/v1/chat/completions", json=chat_body())
    assert time.monotonic() - start >= 0.45


# ---------------------------------------------------------------------------- JIT and errors
async def test_jit_loading_on(client: httpx.AsyncClient, sim: SimServer) -> None:
    sim.state.jit_load_delay = 0.2
    start = time.monotonic()
    r = await client.post("/v1/chat/completions", json={**chat_body(), "model": LLAMA})
    assert r.status_code == 200 and r.json()["model"] == LLAMA
    assert time.monotonic() - start >= 0.2
    assert set(sim.state.loaded) == {LLAMA, NOMIC} and sim.state.loads_total == 1


async def test_jit_loading_off(client: httpx.AsyncClient, sim: SimServer) -> None:
    sim.state.jit_loading = False
    r = await client.post("/v1/chat/completions", json={**chat_body(), "model": LLAMA})
    assert r.status_code == 400 and isinstance(r.json()["error"], str)
    await client.post("/api/v1/models/unload", json={"instance_id": QWEN})
    r = await client.post("/v1/chat/completions", json=chat_body())
    assert r.status_code == 400 and r.json()["error"].startswith("No models loaded")


async def test_request_errors(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/chat/completions", json={**chat_body(), "model": "nope"})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "model_not_found"
    assert r.json()["error"]["type"] == "invalid_request_error"
    assert r.json()["error"]["param"] == "model"
    r = await client.post("/v1/chat/completions", json={**chat_body(), "model": NOMIC})
    assert r.status_code == 400 and "message" in r.json()["error"]
    for bad in ({"model": QWEN}, {"model": QWEN, "messages": []}):
        r = await client.post("/v1/chat/completions", json=bad)
        assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    r = await client.post("/v1/chat/completions", content=b"{not json",
                          headers={"content-type": "application/json"})  # fmt: skip
    assert r.status_code == 400 and "error" in r.json()


async def test_unknown_endpoint_quirk(client: httpx.AsyncClient) -> None:
    r = await client.post("/x")
    assert r.status_code == 200
    assert r.json() == {"error": "Unexpected endpoint or method. (POST /x)"}
    r = await client.delete("/v1/models")
    assert r.status_code == 200
    assert r.json() == {"error": "Unexpected endpoint or method. (DELETE /v1/models)"}


# ---------------------------------------------------------------------------- embeddings
async def test_embeddings(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/embeddings", json={"model": NOMIC, "input": ["alpha", "beta"]})
    body = r.json()
    assert body["object"] == "list" and body["model"] == NOMIC
    assert body["usage"] == {"prompt_tokens": 2, "total_tokens": 2}
    assert [d["index"] for d in body["data"]] == [0, 1]
    vectors = [d["embedding"] for d in body["data"]]
    assert all(d["object"] == "embedding" for d in body["data"])
    assert all(len(v) == EMBEDDING_DIM for v in vectors)
    assert all(abs(math.sqrt(sum(x * x for x in v)) - 1.0) < 1e-6 for v in vectors)
    assert vectors[0] != vectors[1]
    single = await client.post("/api/v0/embeddings", json={"model": NOMIC, "input": "beta"})
    assert single.json()["data"][0]["embedding"] == vectors[1]
    rev = await client.post("/v1/embeddings", json={"model": NOMIC, "input": ["beta", "alpha"]})
    assert [d["embedding"] for d in rev.json()["data"]] == vectors[::-1]
    r = await client.post("/v1/embeddings", json={"model": QWEN, "input": "x"})
    assert r.status_code == 400 and "message" in r.json()["error"]


# ---------------------------------------------------------------------------- auth, counters
async def test_require_api_key(client: httpx.AsyncClient, sim: SimServer) -> None:
    sim.state.require_api_key = "s3cret"
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        r = await client.get("/v1/models", headers=headers)
        assert r.status_code == 401
        error = r.json()["error"]
        assert error["type"] == "invalid_request" and error["code"] == "invalid_api_key"
        assert error["message"]
    r = await client.post("/v1/chat/completions", json=chat_body())
    assert r.status_code == 401
    r = await client.get("/api/v1/models", headers={"Authorization": "Bearer s3cret"})
    assert r.status_code == 200
    assert (await client.get("/_sim/state")).status_code == 200  # control stays open


async def test_request_counters(client: httpx.AsyncClient, sim: SimServer) -> None:
    await client.get("/v1/models", headers={"X-Probe": "yes"})
    await client.post("/v1/chat/completions", json=chat_body())
    await client.get("/_sim/state")
    state = sim.state
    await state.wait_for_async(lambda: state.active_requests == 0)
    assert state.requests_total == 2
    assert state.requests_by_path == {"/v1/models": 1, "/v1/chat/completions": 1}
    assert state.last_request_headers["content-type"] == "application/json"
    assert state.counters()["requests_total"] == 2
    with pytest.raises(TimeoutError):
        state.wait_for(lambda: state.requests_total > 5, timeout=0.05)


async def test_streams_aborted_when_client_closes(
    client: httpx.AsyncClient, sim: SimServer
) -> None:
    sim.state.tokens = 50
    sim.state.token_delay = 0.05
    async with client.stream("POST", "/v1/chat/completions", json=chat_body(stream=True)) as r:
        seen = 0
        async for line in r.aiter_lines():
            seen += line.startswith("data: ")
            if seen == 3:
                break
        assert sim.state.streams_open == 1
    start = time.monotonic()
    await sim.state.wait_for_async(lambda: sim.state.streams_aborted == 1, timeout=2.0)
    assert time.monotonic() - start < 1.0
    assert sim.state.streams_open == 0 and sim.state.streams_completed == 0


async def test_aborted_non_streaming_request(client: httpx.AsyncClient, sim: SimServer) -> None:
    sim.state.token_delay = 0.1  # 20 tokens -> 2 s
    with pytest.raises(httpx.ReadTimeout):
        await client.post("/v1/chat/completions", json=chat_body(), timeout=0.3)
    await sim.state.wait_for_async(lambda: sim.state.aborted_requests == 1, timeout=1.5)
    await sim.state.wait_for_async(lambda: sim.state.active_requests == 0, timeout=1.0)


async def test_active_requests_counts_in_flight(client: httpx.AsyncClient, sim: SimServer) -> None:
    sim.state.tokens = 4
    sim.state.token_delay = 0.1
    task = asyncio.create_task(client.post("/v1/chat/completions", json=chat_body()))
    await sim.state.wait_for_async(lambda: sim.state.active_requests == 1, timeout=1.0)
    assert (await task).status_code == 200
    await sim.state.wait_for_async(lambda: sim.state.active_requests == 0, timeout=1.0)


async def test_requests_waiting_inside_for_a_slot_start_in_arrival_order(
    client: httpx.AsyncClient, sim: SimServer
) -> None:
    """LM Studio queues what it cannot run yet and starts it first come, first served. The
    simulator's waiters used to poll for a free slot, so whichever looked first won: on a busy
    machine one waiter lost again and again, and the upstream's order (what the fairness
    tests read) was not the order the gateway sent."""
    sim.state.parallel = 1
    sim.state.tokens, sim.state.token_delay = 3, 0.01
    sim.state.paused = True  # the first holds the slot until everyone waits
    names = [f"r{i}" for i in range(6)]
    tasks = []
    for i, name in enumerate(names):
        body = chat_body(name, stream=True)
        tasks.append(asyncio.create_task(stream_payloads(client, "/v1/chat/completions", body)))
        # The first must hold the slot before the next is sent ("none queued" holds even
        # before it arrived, and the second could then take the slot).
        await sim.state.wait_for_async(
            lambda i=i: sim.state.generating == 1 and sim.state.queued_internally == i,
            timeout=10,
        )
    sim.state.paused = False
    await asyncio.wait_for(asyncio.gather(*tasks), 30)
    assert sim.state.served == names
