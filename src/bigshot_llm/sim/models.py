"""Model endpoints: ``/v1/models``, ``/api/v0/models`` and ``/api/v1/models`` (+ load/unload)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bigshot_llm.sim.common import (
    JSON,
    get_state,
    http_fault_response,
    model_not_found,
    openai_error,
    v1_error,
    v1_request,
)
from bigshot_llm.sim.state import ModelSpec, SimState

LIST_FAULTS: frozenset[str] = frozenset({"slow_headers", "http_500", "http_503", "empty_models"})


async def _listed(request: Request) -> tuple[SimState, list[ModelSpec]] | Response:
    """The state and the models a listing shows, after a model-list fault: ``slow_headers``
    waits, ``empty_models`` shows none, ``http_500`` / ``http_503`` are the answer instead."""
    state = get_state(request)
    fault = state.take_fault(LIST_FAULTS, "models")
    if fault is not None and fault.name == "slow_headers":
        await asyncio.sleep(fault.headers_delay)
    elif fault is not None and fault.name == "empty_models":
        return state, []
    elif fault is not None:
        return http_fault_response(fault)
    return state, list(state.models)


def v0_model(state: SimState, spec: ModelSpec) -> dict[str, Any]:
    """A model in the REST v0 shape."""
    item: dict[str, Any] = {
        "id": spec.key,
        "object": "model",
        "type": spec.type,
        "publisher": spec.publisher,
        "arch": spec.arch,
        "compatibility_type": spec.format,
        "quantization": spec.quantization,
        "state": "loaded" if spec.key in state.loaded else "not-loaded",
        "max_context_length": spec.max_context_length,
    }
    if spec.key in state.loaded:
        item["loaded_context_length"] = state.loaded[spec.key]
    if spec.trained_for_tool_use:
        item["capabilities"] = ["tool_use"]
    return item


def _instance_config(state: SimState, key: str, instance: str, context: int) -> dict[str, Any]:
    """A loaded instance's `config`: its context, slots, and the options it was loaded with."""
    config: dict[str, Any] = {"context_length": context, "parallel": state.slots_of(instance)}
    config.update(state.load_configs.get(key, {}))
    return config


def v1_model(state: SimState, spec: ModelSpec) -> dict[str, Any]:
    """A model in the REST v1 shape (``vlm`` appears as ``llm`` with vision)."""
    loaded = state.loaded.get(spec.key)
    item: dict[str, Any] = {
        "type": "embedding" if spec.type == "embeddings" else "llm",
        "publisher": spec.publisher,
        "key": spec.key,
        "display_name": spec.display_name,
        "architecture": spec.arch,
        "quantization": {"name": spec.quantization, "bits_per_weight": spec.bits_per_weight},
        "size_bytes": spec.size_bytes,
        "params_string": spec.params_string,
        "loaded_instances": []
        if loaded is None
        else [
            {"id": instance, "config": _instance_config(state, spec.key, instance, loaded)}
            for instance in state.instances_of(spec.key)
        ],
        "max_context_length": spec.max_context_length,
        "format": spec.format,
    }
    if spec.is_llm:
        capabilities: dict[str, Any] = {
            "vision": spec.type == "vlm",
            "trained_for_tool_use": spec.trained_for_tool_use,
        }
        if spec.reasoning_options:
            capabilities["reasoning"] = {
                "allowed_options": list(spec.reasoning_options),
                "default": spec.reasoning_default,
            }
        item["capabilities"] = capabilities
    return item


async def list_openai_models(request: Request) -> Response:
    """``GET /v1/models``: every downloaded model with JIT on, loaded ones with JIT off."""
    listed = await _listed(request)
    if isinstance(listed, Response):
        return listed
    state, models = listed
    if not state.jit_loading:
        models = [m for m in models if m.key in state.loaded]
    data = [{"id": m.key, "object": "model", "owned_by": "organization_owner"} for m in models]
    return JSON({"object": "list", "data": data})


async def list_v0_models(request: Request) -> Response:
    """``GET /api/v0/models``."""
    listed = await _listed(request)
    if isinstance(listed, Response):
        return listed
    state, models = listed
    return JSON({"object": "list", "data": [v0_model(state, m) for m in models]})


async def get_v0_model(request: Request) -> Response:
    """``GET /api/v0/models/{model_id}``."""
    listed = await _listed(request)
    if isinstance(listed, Response):
        return listed
    state, models = listed
    key = request.path_params["model_id"]
    spec = next((m for m in models if m.key == key), None)
    if spec is None:
        return openai_error(404, f"Model '{key}' not found", param="model", code="model_not_found")
    return JSON(v0_model(state, spec))


async def list_v1_models(request: Request) -> Response:
    """``GET /api/v1/models``."""
    listed = await _listed(request)
    if isinstance(listed, Response):
        return listed
    state, models = listed
    return JSON({"models": [v1_model(state, m) for m in models]})


LOAD_OPTIONS: dict[str, tuple[type, ...]] = {
    "eval_batch_size": (int,),
    "flash_attention": (bool,),
    "num_experts": (int,),
    "offload_kv_cache_to_gpu": (bool,),
}


async def load_model(request: Request) -> Response:
    """``POST /api/v1/models/load`` ``{model, context_length?, eval_batch_size?,
    flash_attention?, num_experts?, offload_kv_cache_to_gpu?, echo_load_config?}``; takes
    ``load_delay`` seconds."""
    named = await v1_request(request)
    if isinstance(named, Response):
        return named
    state, body, key = named
    ctx = body.get("context_length")
    if ctx is not None and (not isinstance(ctx, int) or isinstance(ctx, bool) or ctx < 1):
        return v1_error(400, "'context_length' must be a positive integer", code="invalid_request")
    options: dict[str, Any] = {}
    for name, types in LOAD_OPTIONS.items():
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            return v1_error(400, f"'{name}' has the wrong type", code="invalid_request", param=name)
        options[name] = value
    spec = state.get_model(key)
    if spec is None:
        return model_not_found(key)
    started = time.perf_counter()
    state.load_requests = [*state.load_requests, dict(body)]
    if state.load_delay > 0:
        await asyncio.sleep(state.load_delay)
    instance_id = state.load_model(key, ctx)
    state.load_configs = {**state.load_configs, key: options}
    answer: dict[str, Any] = {
        "type": "embedding" if spec.type == "embeddings" else "llm",
        "instance_id": instance_id,
        "load_time_seconds": round(time.perf_counter() - started, 6),
        "status": "loaded",
    }
    if body.get("echo_load_config"):
        answer["load_config"] = {"context_length": state.loaded.get(key), **options}
    return JSON(answer)


async def unload_model(request: Request) -> Response:
    """``POST /api/v1/models/unload`` ``{instance_id}``."""
    named = await v1_request(request, "instance_id", param=None)
    if isinstance(named, Response):
        return named
    state, _, instance_id = named
    try:
        state.unload_model(instance_id)
    except KeyError:
        return v1_error(
            404,
            f"No loaded model instance '{instance_id}'",
            code="model_not_found",
            param="instance_id",
        )
    return JSON({"instance_id": instance_id})
