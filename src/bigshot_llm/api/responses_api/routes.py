"""The OpenAI Responses API: `POST /v1/responses`, `GET` and `DELETE /v1/responses/{id}`.

``OpenAI(base_url="http://<gateway>/v1").responses.create(...)`` works unchanged, and so does
Codex with a provider whose `wire_api` is `responses`. The request is translated to chat
completions (`translate`) and runs on the generation pipeline every surface shares, so it
works on every upstream; the answer is translated back (`encoder`). With `store` (the
default) the gateway keeps the response for its owner (`services.agents.stored_responses`),
and `previous_response_id` continues its conversation on any upstream.

On a provider that speaks the Responses API itself (LM Studio 0.3.29+, its `native_apis`
setting) the client's request is forwarded as it is, model replaced, and the answer relayed
as it comes (`passthrough`). The gateway still keeps the responses: the upstream does not
know the gateway's ids, so a `previous_response_id` is expanded into the stored history as
input items before the new input, and forwarded without it; the answer stored is the
upstream's, under the upstream's id.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import Depends, Path
from starlette.responses import Response

from bigshot_llm.api import generate
from bigshot_llm.api.deps import CurrentUser, HotCallDep, ResourcesDep
from bigshot_llm.api.fast_path import hot
from bigshot_llm.api.passthrough import client_json, relay_native_events
from bigshot_llm.api.responses import plain_json
from bigshot_llm.api.responses_api.encoder import (
    RESPONSES_FAREWELL,
    ResponseBuilder,
    build_from_completion,
    response_events,
    waiting,
)
from bigshot_llm.api.responses_api.translate import chat_body, input_messages, native_body
from bigshot_llm.api.routing import api_router
from bigshot_llm.errors import GatewayError, NotFound
from bigshot_llm.schemas.events import RESPONSES_STREAM_DOC
from bigshot_llm.schemas.responses_api import ResponsesRequest
from bigshot_llm.services.access.auth import Principal
from bigshot_llm.services.agents.stored_responses import ResponseStore
from bigshot_llm.services.generation.events import Done
from bigshot_llm.services.generation.native import NativeCall
from bigshot_llm.services.generation.shapes import repair_chat_response

log = logging.getLogger(__name__)

router = api_router("/v1", tags=["openai-compatible"])

ResponseId = Annotated[str, Path(min_length=1, max_length=64)]


def _store(resources: ResourcesDep) -> ResponseStore:
    return resources.responses


StoreDep = Annotated[ResponseStore, Depends(_store)]


def _echo(body: ResponsesRequest) -> dict[str, Any]:
    """The request's fields a Response repeats."""
    return {
        "model": body.model,
        "instructions": body.instructions,
        "max_output_tokens": body.max_output_tokens,
        "parallel_tool_calls": body.parallel_tool_calls is not False,
        "previous_response_id": body.previous_response_id,
        "reasoning": {
            "effort": body.reasoning.effort if body.reasoning else None,
            "summary": body.reasoning.summary if body.reasoning else None,
        },
        "store": body.store is not False,
        "temperature": body.temperature,
        "top_p": body.top_p,
        "text": body.text or {"format": {"type": "text"}},
        "tool_choice": body.tool_choice or "auto",
        "tools": [t for t in body.tools or () if t.get("type") == "function"],
        "truncation": "disabled",
        "metadata": body.metadata or {},
        "user": None,
    }


def output_messages(output: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A response's output items as the assistant message a chained request continues from."""
    calls = [
        {
            "id": item.get("call_id"),
            "type": "function",
            "function": {"name": item.get("name"), "arguments": item.get("arguments") or "{}"},
        }
        for item in output
        if item.get("type") == "function_call"
    ]
    text = "".join(
        str(part.get("text") or "")
        for item in output
        if item.get("type") == "message"
        for part in item.get("content") or ()
        if isinstance(part, dict) and part.get("type") == "output_text"
    )
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if calls:
        message["tool_calls"] = calls
    return [message] if calls or text else []


def _native_failure(error: GatewayError, last: dict[str, Any]) -> bytes:
    """The upstream failed mid-stream: `response.failed`, numbered after its last event."""
    sequence = last.get("sequence_number")
    builder = ResponseBuilder(
        {},
        response_id=last.get("id") if isinstance(last.get("id"), str) else None,
        sequence=sequence + 1 if isinstance(sequence, int) else 0,
    )
    return builder.fail(error)


async def _history(
    store: ResponseStore, principal: Principal, body: ResponsesRequest
) -> list[dict[str, Any]] | None:
    """The stored conversation `previous_response_id` continues (None: no such id given)."""
    if not body.previous_response_id:
        return None
    previous = await store.get(principal.user_id, body.previous_response_id)
    if previous is None:
        raise NotFound(
            f"previous response '{body.previous_response_id}' not found (it belongs to "
            "another user, expired, was deleted, or was created with store: false)",
            code="previous_response_not_found",
            param="previous_response_id",
        )
    return list(previous.history)


@hot
@router.post("/responses", responses=RESPONSES_STREAM_DOC)
async def create_response(body: ResponsesRequest, call: HotCallDep) -> Response:
    """Create a response (OpenAI Responses API)

    `input` as a string or items (messages, `function_call`, `function_call_output`,
    `input_image`), `instructions`, function `tools`, `tool_choice`, `reasoning.effort`,
    `max_output_tokens`, `text.format`, `store`, `previous_response_id`. Unknown fields
    (`include`, `prompt_cache_key`, …) are ignored.
    """
    principal = call.principal
    store = _store(call.resources)
    history = await _history(store, principal, body)
    conversation = (history or []) + input_messages(body.input)
    warnings: list[str] = []
    chat = chat_body(body, conversation, warnings)
    raw = await client_json(call.request)
    request = generate.request(
        call,
        "chat",
        chat,
        model=body.model,
        warnings=warnings,
        native=NativeCall("responses", native_body(raw, history)),
        steered=True,
    )
    keep = body.store is not False
    builder = ResponseBuilder(_echo(body))

    async def keep_response(response: dict[str, Any]) -> None:
        if not keep or not isinstance(response.get("id"), str):
            return
        output = response.get("output")
        history = conversation + output_messages(output if isinstance(output, list) else [])
        try:
            await store.save(principal.user_id, response, history)
        except Exception:
            log.warning("could not store response %s", response.get("id"), exc_info=True)

    async def save(done: ResponseBuilder) -> None:
        await keep_response(done.response())

    async def save_native(event: dict[str, Any]) -> None:
        response = event.get("response")
        if isinstance(response, dict):
            stored = {**response, "previous_response_id": body.previous_response_id}
            await keep_response(stored)

    if not body.stream:
        answer = await generate.one_shot(call, request)
        headers = generate.answer_headers(request, answer)
        if answer.native:
            native = answer.result["native"]
            await keep_response({**native, "previous_response_id": body.previous_response_id})
            return Response(answer.result["raw"], media_type="application/json", headers=headers)
        result = answer.result
        repair_chat_response(result, split_think_tags=answer.target.record.splits_think_tags)
        usage = result.get("usage") or {}
        details = usage.get("completion_tokens_details") or {}
        choice = (result.get("choices") or [{}])[0]
        done = Done(
            choice.get("finish_reason"),
            usage,
            False,
            {},
            result.get("model"),
            reasoning_tokens=details.get("reasoning_tokens"),
        )
        payload = build_from_completion(builder, result, done)
        await save(builder)
        return plain_json(payload, headers)
    generation = await generate.started(call, request)
    events = (
        relay_native_events(
            aiter(generation), fail=_native_failure, waiting=waiting, on_final=save_native
        )
        if generation.native
        else response_events(aiter(generation), builder, save)
    )
    return generate.sse(call, generation, events, RESPONSES_FAREWELL)


@router.get("/responses/{response_id}")
async def get_response(
    response_id: ResponseId, principal: CurrentUser, store: StoreDep
) -> Response:
    """A stored response (yours only)"""
    row = await store.get(principal.user_id, response_id)
    if row is None:
        raise NotFound(f"response '{response_id}' not found", param="response_id")
    return plain_json(row.response)


@router.delete("/responses/{response_id}")
async def delete_response(
    response_id: ResponseId, principal: CurrentUser, store: StoreDep
) -> Response:
    """Delete a stored response (yours only)"""
    if not await store.delete(principal.user_id, response_id):
        raise NotFound(f"response '{response_id}' not found", param="response_id")
    return plain_json({"id": response_id, "object": "response.deleted", "deleted": True})
