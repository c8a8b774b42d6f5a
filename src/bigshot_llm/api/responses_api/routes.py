"""The OpenAI Responses API: `POST /v1/responses`, `GET` and `DELETE /v1/responses/{id}`.

``OpenAI(base_url="http://<gateway>/v1").responses.create(...)`` works unchanged, and so does
Codex with a provider whose `wire_api` is `responses`. The request is translated to chat
completions (`translate`) and runs on the generation pipeline every surface shares, so it
works on every upstream; the answer is translated back (`encoder`). With `store` (the
default) the gateway keeps the response for its owner (`services.agents.stored_responses`),
and `previous_response_id` continues its conversation on any upstream.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

import orjson
from fastapi import Depends, Path
from starlette.responses import Response

from bigshot_llm.api.deps import CurrentUser, HotCallDep, ResourcesDep
from bigshot_llm.api.fast_path import hot
from bigshot_llm.api.middleware.access_log import note_upstream_ms, route_template
from bigshot_llm.api.responses import warning_headers
from bigshot_llm.api.responses_api.encoder import (
    ResponseBuilder,
    build_from_completion,
    response_events,
)
from bigshot_llm.api.responses_api.translate import chat_body, input_messages
from bigshot_llm.api.routing import api_router
from bigshot_llm.api.streaming import sse_response, until_disconnected
from bigshot_llm.errors import NotFound
from bigshot_llm.schemas.events import stream_doc
from bigshot_llm.schemas.responses_api import ResponsesRequest
from bigshot_llm.services.access.auth import Principal
from bigshot_llm.services.agents.stored_responses import ResponseStore
from bigshot_llm.services.generation.events import Done
from bigshot_llm.services.generation.service import GenerationRequest
from bigshot_llm.services.generation.shapes import repair_chat_response

log = logging.getLogger(__name__)

router = api_router("/v1", tags=["openai-compatible"])

STREAM_DOC = stream_doc(
    "A Response object, or with `stream: true` the Responses event stream "
    "(`response.created` … `response.completed`).",
    'event: response.created\ndata: {"type":"response.created","sequence_number":0,...}\n\n',
)
RESPONSES_FAREWELL = (
    b'event: error\ndata: {"type":"error","code":"gateway_shutdown",'
    b'"message":"the gateway is restarting; send the request again","param":null,'
    b'"sequence_number":0}\n\n'
)
ResponseId = Annotated[str, Path(min_length=1, max_length=64)]


def _store(resources: ResourcesDep) -> ResponseStore:
    return ResponseStore(resources.sessions, resources.settings.responses_ttl_seconds)


StoreDep = Annotated[ResponseStore, Depends(_store)]


def _json(payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json", headers=headers)


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


def output_messages(builder: ResponseBuilder) -> list[dict[str, Any]]:
    """The response's output as the assistant message a chained request continues from."""
    calls = [
        {
            "id": item["call_id"],
            "type": "function",
            "function": {"name": item["name"], "arguments": item["arguments"] or "{}"},
        }
        for item in builder.output
        if item["type"] == "function_call"
    ]
    message: dict[str, Any] = {"role": "assistant", "content": builder.text or None}
    if calls:
        message["tool_calls"] = calls
    return [message] if calls or builder.text else []


async def _conversation(
    store: ResponseStore, principal: Principal, body: ResponsesRequest
) -> list[dict[str, Any]]:
    history: list[dict[str, Any]] = []
    if body.previous_response_id:
        previous = await store.get(principal.user_id, body.previous_response_id)
        if previous is None:
            raise NotFound(
                f"previous response '{body.previous_response_id}' not found (it belongs to "
                "another user, expired, was deleted, or was created with store: false)",
                code="previous_response_not_found",
                param="previous_response_id",
            )
        history = list(previous.history)
    return history + input_messages(body.input)


@hot
@router.post("/responses", responses=STREAM_DOC)
async def create_response(body: ResponsesRequest, call: HotCallDep) -> Response:
    """Create a response (OpenAI Responses API)

    `input` as a string or items (messages, `function_call`, `function_call_output`,
    `input_image`), `instructions`, function `tools`, `tool_choice`, `reasoning.effort`,
    `max_output_tokens`, `text.format`, `store`, `previous_response_id`. Unknown fields
    (`include`, `prompt_cache_key`, …) are ignored.
    """
    request, principal = call.request, call.principal
    store = _store(call.resources)
    conversation = await _conversation(store, principal, body)
    warnings: list[str] = []
    chat = chat_body(body, conversation, warnings)
    generation_request = GenerationRequest(
        principal,
        "chat",
        chat,
        endpoint=route_template(request.scope),
        model=body.model,
        warnings=warnings,
    )
    keep = body.store is not False
    builder = ResponseBuilder(_echo(body))

    async def save(done: ResponseBuilder) -> None:
        if not keep:
            return
        try:
            await store.save(
                principal.user_id, done.response(), conversation + output_messages(done)
            )
        except Exception:
            log.warning("could not store response %s", done.id, exc_info=True)

    service = call.resources.generation
    if not body.stream:
        answer = await until_disconnected(request, service.call(generation_request))
        note_upstream_ms(request, answer.upstream_ms)
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
        return _json(payload, warning_headers(warnings))
    generation = await service.stream(generation_request)
    await generation.start()
    return sse_response(
        response_events(aiter(generation), builder, save),
        call.resources.settings.sse_ping_seconds,
        notice=call.resources.shutdown,
        farewell=RESPONSES_FAREWELL,
        headers=warning_headers(generation.warnings),
    )


@router.get("/responses/{response_id}")
async def get_response(
    response_id: ResponseId, principal: CurrentUser, store: StoreDep
) -> Response:
    """A stored response (yours only)"""
    row = await store.get(principal.user_id, response_id)
    if row is None:
        raise NotFound(f"response '{response_id}' not found", param="response_id")
    return _json(row.response)


@router.delete("/responses/{response_id}")
async def delete_response(
    response_id: ResponseId, principal: CurrentUser, store: StoreDep
) -> Response:
    """Delete a stored response (yours only)"""
    if not await store.delete(principal.user_id, response_id):
        raise NotFound(f"response '{response_id}' not found", param="response_id")
    return _json({"id": response_id, "object": "response.deleted", "deleted": True})
