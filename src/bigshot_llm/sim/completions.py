"""Generation endpoints: chat completions, legacy completions, embeddings, and the agent APIs
(Anthropic `/v1/messages`, OpenAI `/v1/responses`) on the same chat path."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal, TypeGuard, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from bigshot_llm.sim import agent_answers, features, slots
from bigshot_llm.sim import generation as gen
from bigshot_llm.sim.agent_requests import (
    BadAgentRequest,
    messages_chat_body,
    responses_chat_body,
)
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
_T = TypeVar("_T")
AgentApi = Literal["messages", "responses"]
NOT_FOUND = {"error": {"code": 404, "message": "File Not Found", "type": "not_found_error"}}
ANTHROPIC_ERROR_FRAME = agent_answers.event_frame(
    "error",
    {"type": "error", "error": {"type": "api_error", "message": CONTEXT_ERROR_MESSAGE}},
)
RESPONSES_ERROR_FRAME = agent_answers.event_frame(
    "error",
    {"type": "error", "code": "server_error", "message": CONTEXT_ERROR_MESSAGE, "param": None},
)


@dataclass(frozen=True)
class _Call:
    """A generation request on its way through: what came in and how it is being answered."""

    request: Request
    state: SimState
    body: dict[str, Any]  # chat or completions; for an agent API, its chat translation
    chat: bool
    fault: FaultSpec | None
    watcher: DisconnectWatcher
    original: dict[str, Any] | None = None  # the agent API body as the client sent it
    api: AgentApi | None = None


def _agent_error(api: AgentApi, status: int, message: str, param: str | None) -> Response:
    if api == "messages":
        error = {"type": "invalid_request_error", "message": message}
        return JSON({"type": "error", "error": error}, status_code=status)
    return openai_error(status, message, param=param)


def _all_of(value: object, kind: type[_T]) -> TypeGuard[list[_T]]:
    """Whether ``value`` is a non-empty list of ``kind`` items."""
    return isinstance(value, list) and bool(value) and all(isinstance(v, kind) for v in value)


def _gave_up(state: SimState) -> Response:
    """The client left before we answered: count it and return a throwaway response."""
    state.incr("aborted_requests")
    return Response(status_code=499)


async def _header_fault(
    state: SimState, fault: FaultSpec | None, watcher: DisconnectWatcher
) -> Response | None:
    """What a fault before the headers does: ``slow_headers`` waits (None unless the client
    left meanwhile), ``http_500`` / ``http_503`` answer; None for any other fault."""
    if fault is not None and fault.name == "slow_headers":
        if await watcher.sleep(fault.headers_delay):
            return _gave_up(state)
    elif fault is not None and fault.name in ("http_500", "http_503"):
        return http_fault_response(fault)
    return None


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


async def _generate(request: Request, chat: bool, api: AgentApi | None = None) -> Response:
    state = get_state(request)
    if api is not None and not state.native_apis:
        return JSON(NOT_FOUND, status_code=404)  # llama.cpp's server: chat completions only
    body = await read_json(request)
    if isinstance(body, Response):
        return body
    original: dict[str, Any] | None = None
    if api is not None:
        original = body
        try:
            body = (
                messages_chat_body(body) if api == "messages" else responses_chat_body(state, body)
            )
        except BadAgentRequest as exc:
            return _agent_error(
                api, 400 if exc.param != "previous_response_id" else 404, exc.message, exc.param
            )
    fault = state.take_fault(GENERATION_FAULTS, "generation")
    watcher = DisconnectWatcher(request.receive)
    handed_over = False
    try:
        early = await _header_fault(state, fault, watcher)
        if early is not None:
            return early
        call = _Call(request, state, body, chat, fault, watcher, original, api)
        response = await _answer(call)
        handed_over = isinstance(response, SSEResponse)
        return response
    finally:
        if not handed_over:
            await watcher.aclose()


async def _answer(call: _Call) -> Response:
    state, body, watcher = call.state, call.body, call.watcher
    if call.chat:
        messages = body.get("messages")
        if not _all_of(messages, dict):
            return openai_error(
                400, "'messages' must be a non-empty array of messages", param="messages"
            )
        key = gen.chat_prompt_key(messages)
        prompt_tokens = gen.chat_prompt_tokens(messages)
    else:
        prompt = body.get("prompt")
        if _all_of(prompt, str):
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
    reply = features.plan_chat(state, spec, body, body["messages"]) if call.chat else None
    if isinstance(reply, Response):
        return reply
    instance = _instance(state, body.get("model"), spec)
    tag = call.request.headers.get("x-sim-tag") or key  # else the prompt (the last user message)
    if not await slots.take(state, instance, tag, watcher):
        return _gave_up(state)
    try:
        if call.api is not None and call.original is not None and reply is not None:
            response = await _respond_agent(
                call, call.api, call.original, spec, reply, prompt_tokens
            )
        else:
            response = await _respond(call, spec, answer, reply, prompt_tokens)
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
    call: _Call,
    spec: ModelSpec,
    answer: gen.Answer,
    reply: features.Reply | None,
    prompt_tokens: int,
) -> Response:
    state, body = call.state, call.body
    cid = gen.completion_id("chatcmpl" if call.chat else "cmpl")
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
        return SSEResponse(
            state, frames, call.watcher, token_delay=state.token_delay, fault=call.fault
        )

    started = time.perf_counter()
    tokens = reply.completion_tokens if reply is not None else answer.completion_tokens
    not_yet = await _one_shot(call, tokens)
    if not_yet is not None:
        return not_yet
    if reply is not None:
        result = features.chat_response(cid, created, spec.key, reply, prompt_tokens)
    else:
        result = gen.text_response(cid, created, spec.key, answer, prompt_tokens)
    if call.request.url.path.startswith("/api/v0/"):
        result["stats"] = _stats(answer, time.perf_counter() - started, state.token_delay)
        result["model_info"] = {
            "arch": spec.arch,
            "quant": spec.quantization,
            "format": spec.format,
            "context_length": state.loaded.get(spec.key, spec.max_context_length),
        }
        result["runtime"] = RUNTIME_INFO
    return JSON(result)


async def _one_shot(call: _Call, tokens: int) -> Response | None:
    """Before a one-shot answer of ``tokens`` tokens: what a mid-stream fault makes of it,
    else the time the tokens take (None: answer now; the client may have left meanwhile)."""
    state, fault, watcher = call.state, call.fault, call.watcher
    if fault is not None and fault.name == "hang_mid_stream":
        await watcher.wait()
        return _gave_up(state)
    if fault is not None and fault.name == "drop_mid_stream":
        return DropResponse()
    if fault is not None and fault.name == "malformed_chunk":
        return Response(b'{"id": "chatcmpl-x", {not json', media_type="application/json")
    if fault is not None and fault.name == "error_event":
        return JSON({"error": {"message": CONTEXT_ERROR_MESSAGE}}, status_code=400)
    if await watcher.sleep(tokens * state.token_delay):
        return _gave_up(state)
    return None


async def _respond_agent(
    call: _Call,
    api: AgentApi,
    original: dict[str, Any],
    spec: ModelSpec,
    reply: features.Reply,
    prompt_tokens: int,
) -> Response:
    """The answer of `/v1/messages` or `/v1/responses`: the chat path's reply, rendered."""
    state = call.state
    model = str(original.get("model") or spec.key)
    whole: dict[str, Any]
    if api == "messages":
        whole = agent_answers.anthropic_message(reply, model, prompt_tokens)
    else:
        whole = agent_answers.response_object(reply, model, prompt_tokens, original)
        if original.get("store") is not False:
            history = agent_answers.remembered(call.body["messages"], reply)
            state.stored_responses[whole["id"]] = history
    if original.get("stream") is True:
        if api == "messages":
            frames = agent_answers.anthropic_frames(reply, model, prompt_tokens)
            error = ANTHROPIC_ERROR_FRAME
        else:
            frames = agent_answers.response_frames(whole, reply)
            error = RESPONSES_ERROR_FRAME
        return SSEResponse(
            state,
            frames,
            call.watcher,
            token_delay=state.token_delay,
            fault=call.fault,
            done_frame=None,
            error_frame=error,
        )
    not_yet = await _one_shot(call, reply.completion_tokens)
    if not_yet is not None:
        return not_yet
    return JSON(whole)


async def messages(request: Request) -> Response:
    """``POST /v1/messages`` (Anthropic; 404 unless ``state.native_apis``)."""
    return await _generate(request, chat=True, api="messages")


async def responses(request: Request) -> Response:
    """``POST /v1/responses`` (OpenAI Responses; 404 unless ``state.native_apis``)."""
    return await _generate(request, chat=True, api="responses")


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
    fault = state.take_fault(EMBEDDING_FAULTS, "embeddings")
    watcher = DisconnectWatcher(request.receive)
    try:
        early = await _header_fault(state, fault, watcher)
        if early is not None:
            return early
        raw = body.get("input")
        inputs = [raw] if isinstance(raw, str) else raw
        if not _all_of(inputs, str):
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
