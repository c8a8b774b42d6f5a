"""Side-by-side comparison: one prompt streamed to 2–4 provider/model targets at once.

The targets stream concurrently into one SSE stream whose events name their target:
`start` {id, targets}, `reasoning` {target, text}, `delta` {target, text}, `tool_call`
{target, index, id, type, name, arguments}, `done` {target, finish_reason, usage,
usage_estimated, reasoning_tokens, stats, model}, `error` {target, code, message} (that
target only; the others go on), and a final `end` {id, status}. A supervisor task owns the
upstream streams, so a client that leaves cancels every one of them, and the record (prompt,
parameters, targets, and each target's text, reasoning, tool calls, usage and stats) is
stored however the comparison ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.db.models import Comparison
from bigshot_llm.db.pages import fetch_page
from bigshot_llm.errors import GatewayError, NotFound, RequestValidationFailed
from bigshot_llm.schemas.base import Page
from bigshot_llm.schemas.compare import (
    CompareRequest,
    CompareTarget,
    ComparisonPublic,
    ComparisonSummary,
)
from bigshot_llm.services.access.auth import Principal
from bigshot_llm.services.generation.events import Failed, named_events
from bigshot_llm.services.generation.service import (
    Generation,
    GenerationRequest,
    GenerationService,
)
from bigshot_llm.services.generation.shapes import content_text
from bigshot_llm.services.generation.stats import StreamStats
from bigshot_llm.services.tasks import TaskSet
from bigshot_llm.sse import numbered_event

log = logging.getLogger(__name__)

Release = Callable[[], Awaitable[None]]


def encode_event(event_id: int, name: str, payload: dict[str, Any]) -> bytes:
    return numbered_event(event_id, name.encode(), orjson.dumps(payload))


@dataclass(eq=False)
class _Run:
    """One comparison in flight: per-target tasks feeding one queue of encoded events (the
    compare multiplexer is this surface's encoder)."""

    service: CompareService
    row_id: str
    targets: list[Generation | GatewayError]
    results: list[dict[str, Any]]
    release: Release
    queue: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue, init=False)
    event_id: int = field(default=0, init=False)

    def put(self, name: str, payload: dict[str, Any]) -> None:
        self.event_id += 1
        self.queue.put_nowait(encode_event(self.event_id, name, payload))

    async def supervise(self) -> None:
        status = "cancelled"
        tasks = [asyncio.ensure_future(self.one(i)) for i in range(len(self.targets))]
        try:
            self.put("start", {"id": self.row_id, "targets": [r["target"] for r in self.results]})
            await asyncio.gather(*tasks)
            status = "complete"
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for target in self.targets:  # also the ones whose task never ran
                if not isinstance(target, GatewayError):
                    await target.aclose()
            try:
                await self.service.save(self.row_id, self.results, status)
            finally:
                await self.release()
                self.put("end", {"id": self.row_id, "status": status})
                self.queue.put_nowait(None)

    async def one(self, index: int) -> None:
        target = self.targets[index]
        result = self.results[index]
        if isinstance(target, GatewayError):
            self._failed(index, None, target)
            return
        stats = target.stats
        try:
            # closing the generation (also when cancelled) stops the upstream
            async with aclosing(named_events(aiter(target))) as named:
                async for name, payload, event in named:
                    if name == "error" and isinstance(event, Failed):
                        self._failed(index, stats, event.error)
                        continue
                    if name == "done":
                        result.update(status="done", **_produced(stats), **payload)
                    self.put(name, {"target": index, **payload})
        except asyncio.CancelledError:
            result.update(status="cancelled", **_produced(stats), stats=stats.timings())
            raise

    def _failed(self, index: int, stats: StreamStats | None, exc: GatewayError) -> None:
        error = exc.to_dict()
        self.results[index].update(
            status="error",
            **(_produced(stats) if stats else {"text": ""}),
            error=error,
            stats=stats.timings() if stats else {},
        )
        self.put("error", {"target": index, **error})

    async def events(self, task: asyncio.Task[None]) -> AsyncIterator[bytes]:
        try:
            while (item := await self.queue.get()) is not None:
                yield item
        finally:
            if not task.done():
                task.cancel()  # the supervisor stores the partial results itself


def _input_error(target: Generation | GatewayError) -> bool:
    """A refusal of the request itself rather than of one target (its model, provider)."""
    return isinstance(target, RequestValidationFailed) and target.code == "validation_error"


def _produced(stats: StreamStats) -> dict[str, Any]:
    """What a target generated so far, as stored in its result."""
    produced: dict[str, Any] = {"text": stats.text}
    if stats.reasoning_parts:
        produced["reasoning"] = stats.reasoning
    if stats.tool_calls:
        produced["tool_calls"] = [c.openai() for c in stats.tool_calls]
    return produced


class CompareService:
    """Starts comparisons, keeps their supervisor tasks, and reads the stored records."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], generation: GenerationService
    ) -> None:
        self.sessions = sessions
        self.generation = generation
        self._runs = TaskSet()

    async def _open(
        self, principal: Principal, target: CompareTarget, body: dict[str, Any]
    ) -> Generation | GatewayError:
        """One target's generation (the comparison holds one slot for all of them)."""
        request = GenerationRequest(
            principal,
            "chat",
            {**body},
            endpoint="/api/v1/compare",
            provider=target.provider,
            model=target.model,
            priority="interactive",
        )
        try:
            return await self.generation.stream(request, admit=False)
        except GatewayError as exc:
            return exc

    async def start(
        self, principal: Principal, request: CompareRequest, release: Release
    ) -> AsyncIterator[bytes]:
        """Store the comparison, start its targets, and return its event stream."""
        params = request.params.model_dump(exclude_none=True, by_alias=True)
        messages = request.chat_messages()
        body = {"messages": messages, **params}
        targets = [await self._open(principal, t, body) for t in request.targets]
        bad_input = next((t for t in targets if _input_error(t)), None)
        if isinstance(bad_input, GatewayError):
            # The same for every target (an image that cannot be fetched): a 422, no stream.
            for target in targets:
                if not isinstance(target, GatewayError):
                    await target.aclose()
            raise bad_input
        described = []
        for given, target in zip(request.targets, targets, strict=True):
            entry = {"provider": given.provider, "model": given.model}
            if not isinstance(target, GatewayError):
                record = target.target.record
                entry.update(provider_id=record.id, provider_name=record.name)
            described.append(entry)
        row = Comparison(
            owner_id=principal.user_id,
            prompt=(
                request.prompt
                if request.prompt is not None
                else content_text(messages[-1]["content"])
            ),
            messages=messages,
            params=params,
            targets=described,
            results=[],
        )
        try:
            async with self.sessions() as session:
                session.add(row)
                await session.commit()
                await session.refresh(row)
        except BaseException:
            for target in targets:
                if not isinstance(target, GatewayError):
                    await target.aclose()
            raise
        results = [
            {"target": {**d, "index": i}, "status": "pending", "text": ""}
            for i, d in enumerate(described)
        ]
        run = _Run(self, row.id, targets, results, release)
        return run.events(self._runs.spawn(run.supervise(), f"comparison-{row.id}"))

    async def save(self, row_id: str, results: list[dict[str, Any]], status: str) -> None:
        async with self.sessions() as session:
            row = await session.get(Comparison, row_id)
            if row is None:  # pragma: no cover - its owner was deleted meanwhile
                return
            row.results = [dict(r) for r in results]
            row.status = status
            session.add(row)
            await session.commit()

    async def list_own(
        self, principal: Principal, *, limit: int, offset: int
    ) -> Page[ComparisonSummary]:
        mine = [col(Comparison.owner_id) == principal.user_id]
        newest = [col(Comparison.created_at).desc()]
        async with self.sessions() as session:
            rows, total = await fetch_page(
                session, Comparison, mine, newest, limit=limit, offset=offset
            )
        items = [ComparisonSummary.model_validate(r, from_attributes=True) for r in rows]
        return Page(items=items, total=total, limit=limit, offset=offset)

    async def get_own(self, principal: Principal, comparison_id: str) -> ComparisonPublic:
        async with self.sessions() as session:
            row = await session.get(Comparison, comparison_id)
        if row is None or row.owner_id != principal.user_id:
            raise NotFound(f"comparison '{comparison_id}' not found")
        return ComparisonPublic.model_validate(row, from_attributes=True)

    async def close(self) -> None:
        """Cancel comparisons still running (shutdown); each stores what it has."""
        await self._runs.cancel()
