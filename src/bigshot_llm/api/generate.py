"""What the generation routes share (native, OpenAI `/v1`, Messages, Responses).

Each builds its `GenerationRequest` from the call (`generate.request`: the caller, the route
template as endpoint, and on the surfaces that read them the admission headers), then either
waits for the one-shot answer (`one_shot`: cancelled when the client goes away, the upstream
time noted for `X-Bigshot-Overhead-Ms`) or starts the stream (`started`) and answers with its
events (`sse`: the SSE answer, its ping, its farewell at shutdown and the request's
warnings). Only the encoding of the answer is each surface's own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import Response

from bigshot_llm.api import admission_headers
from bigshot_llm.api.deps import HotCall
from bigshot_llm.api.middleware.access_log import note_upstream_ms, route_template
from bigshot_llm.api.responses import warning_headers
from bigshot_llm.api.streaming import sse_response, until_disconnected
from bigshot_llm.services.generation.native import NativeCall
from bigshot_llm.services.generation.service import (
    Answer,
    Generation,
    GenerationRequest,
    Operation,
)

__all__ = ["answer_headers", "one_shot", "request", "sse", "started"]


def request(
    call: HotCall,
    operation: Operation,
    body: dict[str, Any],
    *,
    model: str | None,
    provider: str | None = None,
    steered: bool = False,
    warnings: list[str] | None = None,
    native: NativeCall | None = None,
) -> GenerationRequest:
    """The call's request; `steered` reads `X-Bigshot-Session` and `X-Bigshot-Queue-Timeout`."""
    http = call.request
    return GenerationRequest(
        call.principal,
        operation,
        body,
        endpoint=route_template(http.scope),
        provider=provider,
        model=model,
        session=admission_headers.session(http) if steered else None,
        queue_timeout=admission_headers.queue_timeout(http) if steered else None,
        warnings=[] if warnings is None else warnings,
        native=native,
    )


async def one_shot(call: HotCall, request: GenerationRequest) -> Answer:
    """The answer, cancelled if the client goes away first; its upstream time noted."""
    answer = await until_disconnected(call.request, call.resources.generation.call(request))
    note_upstream_ms(call.request, answer.upstream_ms)
    return answer


def answer_headers(request: GenerationRequest, answer: Answer) -> dict[str, str] | None:
    """`X-Bigshot-Warning` and where the answer came from (`X-Bigshot-Served-By`, …)."""
    headers = {**(warning_headers(request.warnings) or {}), **answer.served_by_header()}
    return headers or None


async def started(call: HotCall, request: GenerationRequest) -> Generation:
    """The stream, past its first event (an early failure is still a JSON error)."""
    generation = await call.resources.generation.stream(request)
    await generation.start()
    return generation


def sse(
    call: HotCall,
    generation: Generation,
    events: AsyncIterator[bytes],
    farewell: bytes,
    *,
    ping_event: tuple[str, str] | None = None,
) -> Response:
    """The SSE answer; a stream still open at the shutdown deadline ends with `farewell`."""
    resources = call.resources
    return sse_response(
        events,
        resources.settings.sse_ping_seconds,
        notice=resources.shutdown,
        farewell=farewell,
        headers=warning_headers(generation.warnings),
        ping_event=ping_event,
    )
