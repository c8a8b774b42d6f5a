"""The route side of usage metering: a request and its target become a `Ticket`.

The native API and `/v1` call `metered_call` around a non-streaming upstream call and
`metered_stream` around the upstream chunk iterator; both report through
`services.metering`. `metered_call` also leaves the upstream time in the request scope, so
the access-log middleware can send `X-Bigshot-Overhead-Ms` (total minus upstream).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.requests import Request

from bigshot_llm.providers.base import StreamChunk
from bigshot_llm.services.llm import Target
from bigshot_llm.services.metering import Ticket, watch_call, watch_stream
from bigshot_llm.services.stream_stats import StreamStats

UPSTREAM_MS = "upstream_ms"


def endpoint_of(request: Request) -> str:
    """The route template (`/v1/chat/completions`), never the concrete path."""
    route = request.scope.get("route")
    return str(getattr(route, "path", None) or request.scope.get("path", ""))[:100]


def ticket_for(
    request: Request,
    target: Target,
    model: str | None,
    *,
    streamed: bool,
    prompt_estimate: Callable[[], int] | None = None,
) -> Ticket | None:
    recorder = getattr(request.app.state, "usage", None)
    principal = getattr(request.state, "principal", None)
    if recorder is None or principal is None:
        return None
    return Ticket(
        recorder=recorder,
        user_id=principal.user_id,
        key_id=principal.key_id,
        provider_id=target.record.id,
        provider=target.record.name,
        model=model,
        endpoint=endpoint_of(request),
        streamed=streamed,
        prompt_estimate=prompt_estimate,
    )


async def metered_call(
    request: Request, target: Target, model: str | None, call: Awaitable[dict[str, Any]]
) -> dict[str, Any]:
    """Await a non-streaming upstream call and record its usage."""
    ticket = ticket_for(request, target, model, streamed=False)
    if ticket is None:
        return await call
    result, upstream_ms = await watch_call(ticket, call)
    request.scope.setdefault("state", {})[UPSTREAM_MS] = upstream_ms
    return result


def metered_stream(
    request: Request,
    target: Target,
    model: str | None,
    chunks: AsyncIterator[StreamChunk],
    stats: StreamStats,
    prompt_estimate: Callable[[], int] | None = None,
) -> AsyncIterator[StreamChunk]:
    """The upstream chunks, recording usage once the stream ends (however it ends)."""
    ticket = ticket_for(request, target, model, streamed=True, prompt_estimate=prompt_estimate)
    return chunks if ticket is None else watch_stream(ticket, chunks, stats)
