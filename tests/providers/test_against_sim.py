"""Both transports end to end against the LM Studio simulator (a real HTTP server).

The abort tests matter most: they prove that giving up on a stream or a request really closes
the upstream socket (LM Studio only stops generating when it sees the disconnect).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bigshot_llm import errors
from bigshot_llm.providers.base import ProviderSpec
from bigshot_llm.providers.lmstudio import LMStudioProvider

pytestmark = pytest.mark.parametrize("transport", ["aiohttp", "httpx"])

CHAT = {
    "model": "qwen2.5-7b-instruct",
    "messages": [{"role": "user", "content": "Tell me about llamas"}],
}


# Bounds are hang catchers: far above what a busy machine needs, far below the failure they
# catch (a stream that is never aborted runs for tens of seconds; a hang never ends).
ABORT_SEEN_WITHIN = 10.0


def provider_on(sim: Any, transport: str, **limits: float) -> LMStudioProvider:
    spec = ProviderSpec(
        id="sim",
        name="sim",
        kind="lmstudio",
        base_url=sim.url,
        api_key="lm-studio",
        transport=transport,  # type: ignore[arg-type]
        **{"stream_idle_timeout": 10.0, "connect_timeout": 10.0, **limits},
    )
    return LMStudioProvider(spec)


@pytest.fixture
async def lms(sim: Any, transport: str) -> AsyncIterator[LMStudioProvider]:
    provider = provider_on(sim, transport)
    yield provider
    await provider.aclose()


def text_of(chunks: list[Any]) -> str:
    return "".join(
        c.data["choices"][0]["delta"].get("content") or "" for c in chunks if c.data["choices"]
    )


async def test_listing(lms: LMStudioProvider, sim: Any) -> None:
    models = {m.id: m for m in await lms.list_models(detailed=True)}
    assert models["qwen2.5-7b-instruct"].type == "llm"
    assert models["qwen2.5-7b-instruct"].state == "loaded"
    assert models["qwen2.5-7b-instruct"].loaded_context_length
    assert models["gemma-3-4b-it"].type == "vlm"
    assert models["gemma-3-4b-it"].state == "not-loaded"
    assert models["text-embedding-nomic-embed-text-v1.5"].type == "embeddings"
    assert models["qwen2.5-7b-instruct"].quantization == "Q4_K_M"
    assert sim.state.requests_by_path.get("/api/v0/models") is None  # v1 answered
    plain = await lms.list_models()
    assert {m.id for m in plain} == set(models)
    assert all(m.state is None for m in plain)


async def test_chat_complete_embed(lms: LMStudioProvider) -> None:
    chat = await lms.chat(CHAT)
    assert chat["choices"][0]["message"]["content"]
    completion = await lms.complete({"model": "qwen2.5-7b-instruct", "prompt": "Once"})
    assert completion["choices"][0]["text"]
    emb = await lms.embed({"model": "text-embedding-nomic-embed-text-v1.5", "input": ["a", "b"]})
    assert len(emb["data"]) == 2 and emb["data"][0]["embedding"]


async def test_stream_matches_non_streaming(lms: LMStudioProvider) -> None:
    whole = (await lms.chat(CHAT))["choices"][0]["message"]["content"]
    body = {**CHAT, "stream_options": {"include_usage": True}}
    chunks = [c async for c in lms.stream_chat(body)]
    assert text_of(chunks) == whole
    assert chunks[-1].data.get("usage", {}).get("completion_tokens")
    assert all(c.raw.startswith(b"{") for c in chunks)
    text = [c async for c in lms.stream_complete({"model": "qwen2.5-7b-instruct", "prompt": "x"})]
    assert "".join(c.data["choices"][0]["text"] for c in text if c.data["choices"])


async def test_closing_stream_early_aborts_upstream(lms: LMStudioProvider, sim: Any) -> None:
    sim.state.tokens, sim.state.token_delay = 2000, 0.02  # 40 s unless aborted
    stream = lms.stream_chat(CHAT)
    await anext(stream)
    await anext(stream)
    assert sim.state.streams_open == 1
    await stream.aclose()  # type: ignore[attr-defined]
    await sim.state.wait_for_async(
        lambda: sim.state.streams_aborted == 1, timeout=ABORT_SEEN_WITHIN
    )
    assert sim.state.streams_open == 0 and sim.state.streams_completed == 0


async def test_cancelled_stream_consumer_aborts_upstream(lms: LMStudioProvider, sim: Any) -> None:
    sim.state.tokens, sim.state.token_delay = 2000, 0.02  # 40 s unless aborted

    async def consume() -> None:
        async for _ in lms.stream_chat(CHAT):
            pass

    task = asyncio.create_task(consume())
    await sim.state.wait_for_async(lambda: sim.state.streams_open == 1)
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await sim.state.wait_for_async(
        lambda: sim.state.streams_aborted == 1, timeout=ABORT_SEEN_WITHIN
    )


async def test_cancelled_request_aborts_upstream(lms: LMStudioProvider, sim: Any) -> None:
    sim.state.tokens, sim.state.token_delay = 1000, 0.05  # 50 s unless aborted
    task = asyncio.create_task(lms.chat(CHAT))
    await sim.state.wait_for_async(lambda: sim.state.active_requests == 1)
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await sim.state.wait_for_async(
        lambda: sim.state.aborted_requests == 1, timeout=ABORT_SEEN_WITHIN
    )


async def test_stopped_upstream_fails_fast(lms: LMStudioProvider, sim: Any) -> None:
    sim.stop()
    started = time.monotonic()
    with pytest.raises(errors.ProviderUnavailable) as info:
        await lms.chat(CHAT)
    assert "lms server start" in info.value.message and sim.url in info.value.message
    with pytest.raises(errors.ProviderUnavailable):
        await lms.list_models(detailed=True)
    with pytest.raises(errors.ProviderUnavailable):
        await anext(lms.stream_chat(CHAT))
    assert time.monotonic() - started < 5.0  # refused at once; a wait would take the 10 s bound


async def test_503_once_is_retried(lms: LMStudioProvider, sim: Any) -> None:
    sim.state.set_fault("http_503", count=1, on="generation")
    chunks = [c async for c in lms.stream_chat(CHAT)]
    assert text_of(chunks)
    assert sim.state.requests_by_path["/v1/chat/completions"] == 2


async def test_persistent_500_is_an_upstream_error(lms: LMStudioProvider, sim: Any) -> None:
    sim.state.set_fault("http_500")
    with pytest.raises(errors.UpstreamError) as info:
        await lms.chat(CHAT)
    assert info.value.status_code == 502
    assert sim.state.requests_by_path["/v1/chat/completions"] == 1


async def test_unknown_model(lms: LMStudioProvider) -> None:
    with pytest.raises(errors.ModelNotFound):
        await lms.chat({**CHAT, "model": "nope"})
    with pytest.raises(errors.ModelNotFound):
        await anext(lms.stream_chat({**CHAT, "model": "nope"}))


async def test_hang_mid_stream_times_out(sim: Any, transport: str) -> None:
    sim.state.set_fault("hang_mid_stream")
    lms = provider_on(sim, transport, stream_idle_timeout=0.5)
    got = []
    started = time.monotonic()
    try:
        with pytest.raises(errors.ProviderTimeout):
            async for c in lms.stream_chat(CHAT):
                got.append(c)
    finally:
        await lms.aclose()
    assert 0.4 < time.monotonic() - started < ABORT_SEEN_WITHIN  # the hang itself never ends
    assert len(got) == 3
    await sim.state.wait_for_async(lambda: sim.state.streams_open == 0, timeout=0.5)


@pytest.mark.parametrize(
    ("fault", "exc_type"),
    [
        ("drop_mid_stream", errors.UpstreamError),
        ("malformed_chunk", errors.UpstreamError),
        ("error_event", errors.ContextLengthExceeded),
    ],
)
async def test_mid_stream_faults(
    fault: str, exc_type: type[Exception], lms: LMStudioProvider, sim: Any
) -> None:
    sim.state.set_fault(fault)
    got = []
    with pytest.raises(exc_type):
        async for c in lms.stream_chat(CHAT):
            got.append(c)
    assert len(got) == 3


async def test_load_and_unload(lms: LMStudioProvider, sim: Any) -> None:
    loaded = await lms.load_model("gemma-3-4b-it", context_length=2048)
    assert loaded["status"] == "loaded"
    assert sim.state.loaded["gemma-3-4b-it"] == 2048
    result = await lms.unload_model("gemma-3-4b-it")
    assert result["instance_ids"] == ["gemma-3-4b-it"]
    assert "gemma-3-4b-it" not in sim.state.loaded


async def test_read_timeout_honoured(sim: Any, transport: str) -> None:
    spec = ProviderSpec(
        id="sim", name="sim", kind="lmstudio", base_url=sim.url, read_timeout=0.3,
        transport=transport,  # type: ignore[arg-type]
    )  # fmt: skip
    provider = LMStudioProvider(spec)
    sim.state.set_fault("slow_headers", delay=30.0)
    started = time.monotonic()
    try:
        with pytest.raises(errors.ProviderTimeout):
            await provider.chat(CHAT)
    finally:
        await provider.aclose()
    assert time.monotonic() - started < ABORT_SEEN_WITHIN  # the headers would take 30 s


async def test_an_answer_cut_empty_by_a_stop_string_is_not_a_context_overflow(
    lms: LMStudioProvider,
) -> None:
    """The silent-overflow rule must leave a legitimately empty answer alone."""
    whole = await lms.chat(CHAT)
    first_word = whole["choices"][0]["message"]["content"].split()[0]
    body = {**CHAT, "stop": [first_word], "stream_options": {"include_usage": True}}
    empty = await lms.chat(body)
    assert empty["choices"][0]["message"]["content"] == ""
    assert empty["usage"]["completion_tokens"] >= 1
    chunks = [c async for c in lms.stream_chat(body)]
    assert text_of(chunks) == ""
    assert chunks[-1].data["usage"]["completion_tokens"] >= 1
