"""The Anthropic Messages API: `POST /v1/messages` and `POST /v1/messages/count_tokens`.

``Anthropic(base_url="http://<gateway>", api_key=<bigshot key>)`` works unchanged, and so
does Claude Code with ``ANTHROPIC_BASE_URL``. The key comes as ``x-api-key`` (Anthropic's
header) or ``Authorization: Bearer``; ``anthropic-version``, ``anthropic-beta`` and
``?beta=true`` are accepted. The request is translated to chat completions (`translate`) and
runs on the generation pipeline every surface shares; the answer is translated back
(`encoder`). On a provider that speaks the Messages API itself (LM Studio 0.4.1+, its
`native_apis` setting) the client's request is forwarded as it is, model replaced, and the
answer relayed as it comes (`passthrough`), through the same pipeline. Model names go
through the gateway's aliases and `provider/model` routing.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from bigshot_llm.api import generate
from bigshot_llm.api.anthropic.encoder import (
    ANTHROPIC_FAREWELL,
    PING,
    PING_EVENT,
    MessageBuilder,
    anthropic_events,
    error_frame,
    message_from_completion,
)
from bigshot_llm.api.anthropic.translate import chat_body, chat_messages
from bigshot_llm.api.deps import HotCallDep
from bigshot_llm.api.fast_path import hot
from bigshot_llm.api.passthrough import client_json, relay_native_events
from bigshot_llm.api.responses import plain_json
from bigshot_llm.api.routing import api_router
from bigshot_llm.errors import GatewayError
from bigshot_llm.schemas.anthropic import AnthropicCountTokensRequest, AnthropicMessagesRequest
from bigshot_llm.schemas.events import ANTHROPIC_STREAM_DOC
from bigshot_llm.services.generation.native import NativeCall
from bigshot_llm.services.generation.shapes import (
    estimate_prompt_tokens,
    estimate_tokens,
    repair_chat_response,
)

router = api_router("/v1", tags=["anthropic-compatible"])


def _native_failure(error: GatewayError, _last: dict[str, Any]) -> bytes:
    return error_frame(error)


@hot
@router.post("/messages", responses=ANTHROPIC_STREAM_DOC)
async def create_message(body: AnthropicMessagesRequest, call: HotCallDep) -> Response:
    """Create a message (Anthropic Messages API)

    Text, image, `tool_use`/`tool_result` and thinking blocks; `system`, `tools`,
    `tool_choice`, `thinking`, `stop_sequences`, `top_k`. Fields the gateway does not use
    (`metadata`, `context_management`, `cache_control`, …) are ignored.
    """
    chat = chat_body(body)
    estimate = estimate_prompt_tokens(chat)
    request = generate.request(
        call,
        "chat",
        chat,
        model=body.model,
        native=NativeCall("messages", await client_json(call.request)),
        steered=True,
    )
    if not body.stream:
        answer = await generate.one_shot(call, request)
        headers = generate.answer_headers(request, answer)
        if answer.native:
            return Response(answer.result["raw"], media_type="application/json", headers=headers)
        repair_chat_response(answer.result, split_think_tags=answer.target.record.splits_think_tags)
        message = message_from_completion(answer.result, body.model, estimate, body.stop_sequences)
        return plain_json(message, headers)
    generation = await generate.started(call, request)
    events = (
        relay_native_events(aiter(generation), fail=_native_failure, waiting=lambda _: PING_EVENT)
        if generation.native
        else anthropic_events(
            aiter(generation), MessageBuilder(body.model, estimate, body.stop_sequences)
        )
    )
    return generate.sse(call, generation, events, ANTHROPIC_FAREWELL, ping_event=PING)


@router.post("/messages/count_tokens")
async def count_tokens(body: AnthropicCountTokensRequest, call: HotCallDep) -> Response:
    """Count a message's input tokens (an estimate)

    About four characters a token plus each message's template markers and 256 per image:
    no upstream is asked, so it is an estimate, not the model's tokenizer.
    """
    messages = chat_messages(body)
    tokens = estimate_prompt_tokens({"messages": messages})
    for tool in body.tools or ():
        tokens += estimate_tokens(tool.name + (tool.description or ""))
        tokens += estimate_tokens(orjson.dumps(tool.input_schema or {}).decode())
    return plain_json({"input_tokens": tokens})
