"""Generation endpoints: chat completions, legacy completions and embeddings."""

from __future__ import annotations

import time
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import Response

from bigshot_llm.sim import features, slots
from bigshot_llm.sim import generation as gen
from bigshot_llm.sim.common import (
    JSON,
    NO_MODELS_LOADED,
    bare_error,
    get_state,
    http_fault_response,
    openai_error,
    read_json,
)
from bigshot_llm.sim.state import FaultSpec, ModelSpec, SimState
from bigshot_llm.sim.streaming import (
    CONTEXT_ERROR_MESSAGE,
    MID_STREAM_FAULTS,
    DisconnectWatcher,
    DropResponse,
    SSEResponse,
    sse_frame,
)

GENERATION_FAULTS: frozenset[str] = frozenset({"slow_headers", "http_500", "http_503"}) | (
    MID_STREAM_FAULTS
)
EMBEDDING_FAULTS: frozenset[str] = frozenset({"slow_headers", "http_500", "http_503"})
RUNTIME_INFO: dict[str, Any] = {
    "name": "llama.cpp-linux-x86_64-avx2",
    "version": "1.0.0-sim",
    "supported_formats": ["gguf"],
}


def _gave_up(state: SimState) -> Response:
    """The client left before we answered: count it and return a throwaway response."""
    state.incr("aborted_requests")
    return Response(status_code=499)


async def _resolve(
    state: SimState,
    name: Any,
    watcher: DisconnectWatcher,
    want: Literal["llm", "embeddings"],
) -> ModelSpec | Response:
    """The model to answer with, JIT-loading it if allowed; or an error response."""
    if name is None or name == "":
        for key in list(state.loaded):
            spec = state.get_model(key)
            if spec is not None and (spec.is_llm if want == "llm" else not spec.is_llm):
                return spec
        return bare_error(400, NO_MODELS_LOADED)
    if not isinstance(name, str):
        return openai_error(400, "'model' must be a string", param="model")
    spec = state.get_model(name)
    if spec is None:
        found = state.resolve_instance(name)
        if found is not None:
            return found[0]
    if spec is None:
        return openai_error(
            404,
            f"The model `{name}` does not exist.",
            param="model",
            code="model_not_found",
        )
    if want == "llm" and not spec.is_llm:
        return openai_error(
            400, f"Model '{name}' is an embeddings model, not an LLM", param="model"
        )
    if want == "embeddings" and spec.is_llm:
        return openai_error(400, f"Model '{name}' is not an embedding model", param="model")
    if spec.key not in state.loaded:
        if not state.jit_loading:
            if state.loaded_llm() is None and want == "llm":
                return bare_error(400, NO_MODELS_LOADED)
            return bare_error(
                400, f"Model '{name}' is not loaded. Please load it first or enable JIT loading."
            )
        if await watcher.sleep(state.jit_load_delay):
            return _gave_up(state)
        state.load_model(spec.key)
    return spec


def _stats(answer: gen.Answer, elapsed: float, tokens_delay: float) -> dict[str, Any]:
    stop_reason = {"length": "maxPredictedTokensReached"}.get(answer.finish_reason, "eosFound")
    tps = answer.completion_tokens / elapsed if elapsed > 0 else 1000.0
    return {
        "tokens_per_second": round(tps, 3),
        "time_to_first_token": round(min(tokens_delay, elapsed), 4),
        "generation_time": round(elapsed, 4),
        "stop_reason": stop_reason,
    }


async def _generate(request: Request, chat: bool) -> Response:
    state = get_state(request)
    body = await read_json(request)
    if isinstance(body, Response):
        return body
    fault = state.take_fault(GENERATION_FAULTS)
    watcher = DisconnectWatcher(request.receive)
    handed_over = False
    try:
        if fault is not None and fault.name == "slow_headers":
            if await watcher.sleep(fault.headers_delay):
                return _gave_up(state)
        elif fault is not None and fault.name in ("http_500", "http_503"):
            return http_fault_response(fault)
        response = await _answer(request, state, body, chat, fault, watcher)
        handed_over = isinstance(response, SSEResponse)
        return response
    finally:
        if not handed_over:
            await watcher.aclose()


async def _answer(
    request: Request,
    state: SimState,
    body: dict[str, Any],
    chat: bool,
    fault: FaultSpec | None,
    watcher: DisconnectWatcher,
) -> Response:
    if chat:
        messages = body.get("messages")
        if (
            not isinstance(messages, list)
            or not messages
            or not all(isinstance(m, dict) for m in messages)
        ):
            return openai_error(
                400, "'messages' must be a non-empty array of messages", param="messages"
            )
        key = gen.chat_prompt_key(messages)
        prompt_tokens = gen.chat_prompt_tokens(messages)
    else:
        prompt = body.get("prompt")
        if isinstance(prompt, list) and all(isinstance(p, str) for p in prompt) and prompt:
            prompt = "\n".join(prompt)
        if not isinstance(prompt, str):
            return openai_error(400, "'prompt' must be a string", param="prompt")
        key = prompt
        prompt_tokens = gen.text_tokens(prompt)
    spec = await _resolve(state, body.get("model"), watcher, "llm")
    if isinstance(spec, Response):
        return spec
    seed = f"{state.seed}:{body.get('seed', '')}"
    answer = gen.make_answer(key, seed, state.tokens, body.get("max_tokens"), body.get("stop"))
    reply = features.plan_chat(state, spec, body, body["messages"]) if chat else None
    if isinstance(reply, Response):
        return reply
    instance = _instance(state, body.get("model"), spec)
    tag = request.headers.get("x-sim-tag") or key  # else the prompt (the last user message)
    if not await slots.take(state, instance, tag, watcher):
        return _gave_up(state)
    try:
        response = await _respond(
            request, state, body, chat, fault, watcher, spec, answer, reply, prompt_tokens
        )
    except BaseException:
        slots.release(state, instance)
        raise
    if isinstance(response, SSEResponse):
        response.on_close = lambda: slots.release(state, instance)
    else:
        slots.release(state, instance)
    return response


def _instance(state: SimState, name: Any, spec: ModelSpec) -> str:
    """The instance a request runs on: the one it names, else its model's least busy one."""
    instances = state.instances_of(spec.key) or [spec.key]
    if isinstance(name, str) and name in instances:
        return name
    return min(instances, key=lambda i: state.busy.get(i, 0))


async def _respond(
    request: Request,
    state: SimState,
    body: dict[str, Any],
    chat: bool,
    fault: FaultSpec | None,
    watcher: DisconnectWatcher,
    spec: ModelSpec,
    answer: gen.Answer,
    reply: features.Reply | None,
    prompt_tokens: int,
) -> Response:
    cid = gen.completion_id("chatcmpl" if chat else "cmpl")
    created = gen.now()
    if body.get("stream") is True:
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        if reply is not None:
            tools_given = bool(body.get("tools"))
            chunks = features.chat_chunks(
                cid, created, spec.key, reply, prompt_tokens, include_usage, tools_given
            )
        else:
            chunks = gen.text_chunks(cid, created, spec.key, answer, prompt_tokens, include_usage)
        frames = [(sse_frame(chunk), is_token) for chunk, is_token in chunks]
        return SSEResponse(state, frames, watcher, token_delay=state.token_delay, fault=fault)

    if fault is not None and fault.name == "hang_mid_stream":
        await watcher.wait()
        return _gave_up(state)
    if fault is not None and fault.name == "drop_mid_stream":
        return DropResponse()
    if fault is not None and fault.name == "malformed_chunk":
        return Response(b'{"id": "chatcmpl-x", {not json', media_type="application/json")
    if fault is not None and fault.name == "error_event":
        return JSON({"error": {"message": CONTEXT_ERROR_MESSAGE}}, status_code=400)
    started = time.perf_counter()
    tokens = reply.completion_tokens if reply is not None else answer.completion_tokens
    if await watcher.sleep(tokens * state.token_delay):
        return _gave_up(state)
    if reply is not None:
        result = features.chat_response(cid, created, spec.key, reply, prompt_tokens)
    else:
        result = gen.text_response(cid, created, spec.key, answer, prompt_tokens)
    if request.url.path.startswith("/api/v0/"):
        result["stats"] = _stats(answer, time.perf_counter() - started, state.token_delay)
        result["model_info"] = {
            "arch": spec.arch,
            "quant": spec.quantization,
            "format": spec.format,
            "context_length": state.loaded.get(spec.key, spec.max_context_length),
        }
        result["runtime"] = RUNTIME_INFO
    return JSON(result)


async def chat_completions(request: Request) -> Response:
    """``POST /v1/chat/completions`` and ``/api/v0/chat/completions``."""
    return await _generate(request, chat=True)


async def completions(request: Request) -> Response:
    """``POST /v1/completions`` and ``/api/v0/completions``."""
    return await _generate(request, chat=False)


async def embeddings(request: Request) -> Response:
    """``POST /v1/embeddings`` and ``/api/v0/embeddings``."""
    state = get_state(request)
    body = await read_json(request)
    if isinstance(body, Response):
        return body
    fault = state.take_fault(EMBEDDING_FAULTS)
    watcher = DisconnectWatcher(request.receive)
    try:
        if fault is not None and fault.name == "slow_headers":
            if await watcher.sleep(fault.headers_delay):
                return _gave_up(state)
        elif fault is not None:
            return http_fault_response(fault)
        raw = body.get("input")
        inputs = [raw] if isinstance(raw, str) else raw
        if (
            not isinstance(inputs, list)
            or not inputs
            or not all(isinstance(i, str) for i in inputs)
        ):
            return openai_error(
                400, "'input' must be a string or a non-empty array of strings", param="input"
            )
        spec = await _resolve(state, body.get("model"), watcher, "embeddings")
        if isinstance(spec, Response):
            return spec
        data = [
            {"object": "embedding", "index": i, "embedding": gen.embed(text)}
            for i, text in enumerate(inputs)
        ]
        tokens = sum(gen.text_tokens(text) for text in inputs)
        return JSON(
            {
                "object": "list",
                "data": data,
                "model": spec.key,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )
    finally:
        await watcher.aclose()
