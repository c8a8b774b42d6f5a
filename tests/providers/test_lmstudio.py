"""LMStudioProvider: native listing fallbacks, model normalisation, load/unload (respx)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
import respx

from bigshot_llm import errors
from bigshot_llm.providers.base import ModelInfo
from bigshot_llm.providers.lmstudio import LMStudioProvider

from .conftest import SpecFactory

ROOT = "http://lms.test:1234"

V1_MODELS = {
    "models": [
        {
            "type": "llm",
            "publisher": "lmstudio-community",
            "key": "qwen2.5-7b-instruct",
            "display_name": "Qwen2.5 7B Instruct",
            "architecture": "qwen2",
            "quantization": {"name": "Q4_K_M", "bits_per_weight": 4.0},
            "size_bytes": 4683073536,
            "params_string": "7B",
            "loaded_instances": [
                {"id": "qwen2.5-7b-instruct", "config": {"context_length": 8192, "parallel": 2}},
                {"id": "qwen2.5-7b-instruct:2", "config": {"context_length": 8192}},
            ],
            "max_context_length": 32768,
            "format": "gguf",
            "capabilities": {"vision": False, "trained_for_tool_use": True},
        },
        {
            "type": "llm",
            "publisher": "lmstudio-community",
            "key": "gemma-3-4b-it",
            "quantization": {"name": "Q4_K_M"},
            "loaded_instances": [],
            "max_context_length": 131072,
            "capabilities": {"vision": True},
        },
        {
            "type": "llm",
            "key": "qwen3-8b",
            "loaded_instances": [],
            "capabilities": {
                "vision": False,
                "trained_for_tool_use": True,
                "reasoning": {"allowed_options": ["off", "on"], "default": "on"},
            },
        },
        {
            "type": "embedding",
            "publisher": "nomic-ai",
            "key": "text-embedding-nomic-embed-text-v1.5",
            "architecture": "nomic-bert",
            "loaded_instances": [],
            "max_context_length": 2048,
        },
        {"type": "llm"},  # no key: skipped
    ]
}
V0_MODELS = {
    "object": "list",
    "data": [
        {
            "id": "qwen2.5-7b-instruct",
            "object": "model",
            "type": "llm",
            "publisher": "lmstudio-community",
            "arch": "qwen2",
            "compatibility_type": "gguf",
            "quantization": "Q4_K_M",
            "state": "loaded",
            "max_context_length": 32768,
            "loaded_context_length": 4096,
            "capabilities": ["tool_use"],
        },
        {"id": "gemma-3-4b-it", "type": "vlm", "state": "not-loaded"},
        {"id": "nomic-embed", "type": "embeddings", "state": "not-loaded"},
    ],
}
OPENAI_MODELS = {"data": [{"id": "qwen2.5-7b-instruct", "object": "model"}, {"id": "x-embed"}]}
UNEXPECTED = {"error": "Unexpected endpoint or method. (GET /api/v1/models)"}


@pytest.fixture
async def lms(make_spec: SpecFactory) -> AsyncIterator[LMStudioProvider]:
    provider = LMStudioProvider(make_spec(retry_attempts=0))
    yield provider
    await provider.aclose()


@respx.mock
async def test_v1_listing_normalised(lms: LMStudioProvider) -> None:
    respx.get(f"{ROOT}/api/v1/models").respond(json=V1_MODELS)
    v0 = respx.get(f"{ROOT}/api/v0/models")
    models = await lms.list_models(detailed=True)
    assert models == [
        ModelInfo(
            id="qwen2.5-7b-instruct",
            type="llm",
            arch="qwen2",
            state="loaded",
            max_context_length=32768,
            quantization="Q4_K_M",
            publisher="lmstudio-community",
            loaded_context_length=8192,
            vision=False,
            tool_use=True,
            # Each instance with its slots (the duplicate does not report them).
            instances=[
                {"id": "qwen2.5-7b-instruct", "parallel": 2},
                {"id": "qwen2.5-7b-instruct:2", "parallel": None},
            ],
        ),
        ModelInfo(
            id="gemma-3-4b-it",
            type="vlm",
            state="not-loaded",
            max_context_length=131072,
            quantization="Q4_K_M",
            publisher="lmstudio-community",
            vision=True,
            tool_use=False,
        ),
        ModelInfo(
            id="qwen3-8b",
            type="llm",
            state="not-loaded",
            vision=False,
            tool_use=True,
            reasoning={"allowed_options": ["off", "on"], "default": "on"},
        ),
        ModelInfo(
            id="text-embedding-nomic-embed-text-v1.5",
            type="embeddings",
            arch="nomic-bert",
            state="not-loaded",
            max_context_length=2048,
            publisher="nomic-ai",
        ),
    ]
    assert not v0.called


@pytest.mark.parametrize(
    "v1_answer",
    [
        httpx.Response(404, json={"error": "not found"}),
        httpx.Response(200, json=UNEXPECTED),
        httpx.Response(200, json={"something": "else"}),
        httpx.Response(200, content=b"not json"),
    ],
)
@respx.mock
async def test_falls_back_to_v0(v1_answer: httpx.Response, lms: LMStudioProvider) -> None:
    respx.get(f"{ROOT}/api/v1/models").mock(return_value=v1_answer)
    respx.get(f"{ROOT}/api/v0/models").respond(json=V0_MODELS)
    models = await lms.list_models(detailed=True)
    assert [(m.id, m.type, m.state) for m in models] == [
        ("qwen2.5-7b-instruct", "llm", "loaded"),
        ("gemma-3-4b-it", "vlm", "not-loaded"),
        ("nomic-embed", "embeddings", "not-loaded"),
    ]
    assert models[0].loaded_context_length == 4096 and models[0].quantization == "Q4_K_M"
    # v0 tells vision by type and tool use by `capabilities`, nothing of embeddings models.
    assert [(m.vision, m.tool_use) for m in models] == [(False, True), (True, False), (None, None)]


@respx.mock
async def test_falls_back_to_openai_list(lms: LMStudioProvider) -> None:
    respx.get(f"{ROOT}/api/v1/models").respond(json=UNEXPECTED)
    respx.get(f"{ROOT}/api/v0/models").respond(404)
    respx.get(f"{ROOT}/v1/models").respond(json=OPENAI_MODELS)
    models = await lms.list_models(detailed=True)
    assert [(m.id, m.type) for m in models] == [
        ("qwen2.5-7b-instruct", "llm"),
        ("x-embed", "embeddings"),
    ]


@respx.mock
async def test_plain_listing_uses_openai_route(lms: LMStudioProvider) -> None:
    native = respx.get(f"{ROOT}/api/v1/models")
    respx.get(f"{ROOT}/v1/models").respond(json=OPENAI_MODELS)
    assert [m.id for m in await lms.list_models()] == ["qwen2.5-7b-instruct", "x-embed"]
    assert not native.called


@respx.mock
@pytest.mark.parametrize(
    ("side_effect", "exc_type"),
    [
        (httpx.ConnectError("refused"), errors.ProviderUnavailable),
        (httpx.ConnectTimeout("slow"), errors.ProviderTimeout),
        (httpx.Response(401, json={"error": "bad key"}), errors.UpstreamError),
    ],
)
async def test_dead_host_is_not_probed_three_times(
    side_effect: object, exc_type: type[Exception], lms: LMStudioProvider
) -> None:
    v1 = respx.get(f"{ROOT}/api/v1/models").mock(side_effect=[side_effect])
    v0 = respx.get(f"{ROOT}/api/v0/models")
    plain = respx.get(f"{ROOT}/v1/models")
    with pytest.raises(exc_type):
        await lms.list_models(detailed=True)
    assert v1.call_count == 1 and not v0.called and not plain.called


@respx.mock
async def test_load_model(lms: LMStudioProvider) -> None:
    route = respx.post(f"{ROOT}/api/v1/models/load").respond(
        json={"type": "llm", "instance_id": "m", "status": "loaded", "load_time_seconds": 1.5}
    )
    result = await lms.load_model("m", context_length=8192)
    assert result["status"] == "loaded"
    assert orjson.loads(route.calls.last.request.content) == {"model": "m", "context_length": 8192}


@respx.mock
async def test_unload_by_key_and_by_instance(lms: LMStudioProvider) -> None:
    listing = {
        "models": [
            {"key": "m", "loaded_instances": [{"id": "m"}, {"id": "m:2"}]},
            {"key": "other", "loaded_instances": []},
        ]
    }
    respx.get(f"{ROOT}/api/v1/models").respond(json=listing)
    unload = respx.post(f"{ROOT}/api/v1/models/unload").mock(
        side_effect=lambda request: httpx.Response(200, content=request.content)
    )
    assert await lms.unload_model("m") == {"instance_ids": ["m", "m:2"]}
    assert [orjson.loads(c.request.content) for c in unload.calls] == [
        {"instance_id": "m"},
        {"instance_id": "m:2"},
    ]
    assert await lms.unload_model("m:2") == {"instance_ids": ["m:2"], "instance_id": "m:2"}
    with pytest.raises(errors.ModelNotFound):
        await lms.unload_model("other")
    with pytest.raises(errors.ModelNotFound):
        await lms.unload_model("ghost")
