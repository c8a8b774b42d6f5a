"""Usage records of LLM requests, written in batches off the request path.

`UsageRecorder.record` is all a finished request costs: an append to an in-memory list and a
few metric updates, no await. A background task writes the list every `interval` seconds or
as soon as `batch_size` records wait, in one multi-row INSERT; `close()` (lifespan exit)
writes whatever is left, so a clean stop loses nothing. If the database is down the records
are kept and retried (up to `max_pending`, then the oldest are dropped with a warning).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.aio import stop_task
from bigshot_llm.db.models import UsageRecord, utcnow
from bigshot_llm.services.usage.metrics import Metrics

log = logging.getLogger(__name__)

AfterFlush = Callable[[Sequence["UsageEvent"]], Awaitable[None]]


@dataclass(slots=True)
class UsageSource:
    """Who asked which provider and model, through which endpoint."""

    user_id: str
    key_id: str | None
    provider_id: str | None
    provider: str | None
    model: str | None
    endpoint: str
    streamed: bool


SOURCE_FIELDS = tuple(UsageSource.__dataclass_fields__)


@dataclass(slots=True)
class UsageEvent(UsageSource):
    """One finished LLM request (a row of `usage_records`, plus what only metrics need)."""

    status: str = "ok"  # ok | an error code | cancelled
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False
    ttft_ms: float | None = None
    duration_ms: float | None = None
    # Accounting (services/usage/gpu_time.py): the request's share of its instance's time,
    # the wait for a GPU slot before it, and what the provider's watts and the model's
    # shadow price made of it when it was recorded (None: not declared).
    gpu_seconds: float = 0.0
    queue_ms: float | None = None
    energy_wh: float | None = None
    shadow_cost: float | None = None
    at: datetime = field(default_factory=utcnow)
    # Not stored: for metrics only.
    upstream_ms: float | None = None
    tokens_per_second: float | None = None
    # The metric labels: a model the provider listed (else "other") and a global provider's
    # name (a user's own is "user"), so callers cannot mint labels that live forever.
    metric_provider: str = "other"
    metric_model: str = "other"

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def row(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in _STORED}


_TABLE = UsageRecord.__table__  # type: ignore[attr-defined]
# What a row gets: every column but the id the database assigns (an event lacking one fails
# its first write, in every test that records usage).
_STORED = tuple(column.name for column in _TABLE.columns if column.name != "id")


@dataclass(eq=False)
class UsageRecorder:
    """Queues usage events in memory and writes them in batches from a background task."""

    sessions: async_sessionmaker[AsyncSession]
    _: KW_ONLY
    metrics: Metrics | None = None
    interval: float = 1.0
    batch_size: int = 200
    max_pending: int = 100_000
    after_flush: list[AfterFlush] = field(default_factory=list, init=False)
    written: int = field(default=0, init=False)
    dropped: int = field(default=0, init=False)
    _pending: list[UsageEvent] = field(default_factory=list, init=False, repr=False)
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False, repr=False)
    _writing: asyncio.Future[None] | None = field(default=None, init=False, repr=False)

    # ---- the hot path ---------------------------------------------------------------------

    def record(self, event: UsageEvent) -> None:
        """Queue one finished request (never blocks, never touches the database)."""
        self._pending.append(event)
        if len(self._pending) >= self.batch_size:
            self._wake.set()
        if self.metrics is not None:
            self._observe(self.metrics, event)

    def stream_opened(self) -> None:
        if self.metrics is not None:
            self.metrics.active_streams.inc()

    def stream_closed(self) -> None:
        if self.metrics is not None:
            self.metrics.active_streams.dec()

    @staticmethod
    def _observe(metrics: Metrics, event: UsageEvent) -> None:
        provider, model = event.metric_provider, event.metric_model
        metrics.llm_requests.labels(provider, model, event.endpoint, event.status).inc()
        if event.prompt_tokens:
            metrics.tokens.labels(model, "in").inc(event.prompt_tokens)
        if event.completion_tokens:
            metrics.tokens.labels(model, "out").inc(event.completion_tokens)
        if event.upstream_ms is not None:
            metrics.upstream_latency.labels(provider, event.endpoint).observe(
                event.upstream_ms / 1000
            )
        if event.ttft_ms is not None:
            metrics.ttft.labels(provider, model).observe(event.ttft_ms / 1000)
        if event.tokens_per_second:
            metrics.tokens_per_second.labels(provider, model).observe(event.tokens_per_second)

    # ---- the background writer ------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="usage-recorder")

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                log.exception("writing usage records failed; will retry")

    async def flush(self) -> int:
        """Write every queued record now; returns how many were written."""
        async with self._lock:
            if self._writing is not None and not self._writing.done():
                await asyncio.wait([self._writing])  # one whose caller was cancelled
            if not self._pending:
                return 0
            batch, self._pending = self._pending, []
            # The write is a task of its own that a cancel of this one does not reach: a
            # statement cancelled while it waits for SQLite's lock goes on in the driver's
            # thread, opens a write transaction nobody ends, and every later write then fails
            # with "database is locked". `close()` waits for it before its final flush.
            self._writing = asyncio.ensure_future(self._write(batch))
            await asyncio.shield(self._writing)
        for hook in self.after_flush:
            try:
                await hook(batch)
            except Exception:
                log.exception("usage after-flush hook failed")
        return len(batch)

    async def _write(self, batch: list[UsageEvent]) -> None:
        try:
            # A Core executemany of plain dicts: the ORM's bulk path costs several times
            # more CPU per row, and this runs in the same process as the hot path.
            async with self.sessions() as session:
                conn = await session.connection()
                await conn.execute(_TABLE.insert(), [e.row() for e in batch])
                await session.commit()
        except BaseException:
            self._requeue(batch)
            raise
        self.written += len(batch)

    def _requeue(self, batch: list[UsageEvent]) -> None:
        self._pending[:0] = batch
        overflow = len(self._pending) - self.max_pending
        if overflow > 0:
            del self._pending[:overflow]
            self.dropped += overflow
            log.warning("usage queue full: dropped the %d oldest records", overflow)

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def close(self) -> None:
        """Stop the writer and write what is left (the lifespan's exit)."""
        await stop_task(self._task)
        self._task = None
        try:  # `flush` first waits for a write the stop interrupted (committed, or requeued)
            await self.flush()
        except Exception:
            log.exception("usage records lost at shutdown: %d", self.pending)
