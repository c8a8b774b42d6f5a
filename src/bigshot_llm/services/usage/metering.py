"""Turning one LLM call into one usage record, the same way for every surface.

A `Ticket` says who called which provider and model through which endpoint. `watch_call`
wraps a non-streaming call and `finish_stream` records a stream once it has ended; each
reports the outcome exactly once to the `UsageRecorder`: `ok`, the error code, or
`cancelled` (the client left, the stop button, shutdown). The generation pipeline is their
only caller, so every surface is metered the same way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from bigshot_llm.errors import GatewayError
from bigshot_llm.services.generation.stats import StreamStats
from bigshot_llm.services.usage.gpu_time import GpuTimer
from bigshot_llm.services.usage.pricing import Rates
from bigshot_llm.services.usage.recorder import (
    SOURCE_FIELDS,
    UsageEvent,
    UsageRecorder,
    UsageSource,
)

CANCELLED = "cancelled"
_CLIENT_GONE = "client_closed_request"


def status_of(exc: BaseException) -> str:
    """The usage status of a failed call."""
    if isinstance(exc, asyncio.CancelledError | GeneratorExit):
        return CANCELLED
    if isinstance(exc, GatewayError):
        return CANCELLED if exc.code == _CLIENT_GONE else str(exc.code)
    return "internal_error"


def _tokens(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


@dataclass(slots=True)
class Ticket:
    """Who asked what of whom; `finish` makes it a usage record.

    The pipeline sets `gpu` when the upstream call starts (the slot time it shares) and
    `queue_ms` once the wait for a GPU slot ended; `rates` price the result."""

    recorder: UsageRecorder
    source: UsageSource
    started: float = field(default_factory=time.perf_counter)
    metric_provider: str = "other"
    metric_model: str = "other"
    rates: Rates = field(default_factory=Rates)
    gpu: GpuTimer | None = None
    queue_ms: float | None = None
    event: UsageEvent | None = None  # the record `finish` made (quotas add its usage)

    def finish(
        self,
        status: str,
        *,
        usage: dict[str, Any] | None = None,
        estimated: bool = False,
        ttft_ms: float | None = None,
        duration_ms: float | None = None,
        upstream_ms: float | None = None,
        tokens_per_second: float | None = None,
    ) -> UsageEvent:
        usage = usage or {}
        prompt = _tokens(usage.get("prompt_tokens"))
        completion = _tokens(usage.get("completion_tokens"))
        gpu_seconds = round(self.gpu.stop(), 6) if self.gpu is not None else 0.0
        if duration_ms is None:
            duration_ms = round((time.perf_counter() - self.started) * 1000, 1)
        event = UsageEvent(
            **{name: getattr(self.source, name) for name in SOURCE_FIELDS},
            status=status,
            prompt_tokens=prompt,
            completion_tokens=completion,
            estimated=estimated,
            ttft_ms=ttft_ms,
            duration_ms=duration_ms,
            gpu_seconds=gpu_seconds,
            queue_ms=None if self.queue_ms is None else round(self.queue_ms, 1),
            energy_wh=self.rates.energy_wh(gpu_seconds),
            shadow_cost=self.rates.shadow_cost(prompt, completion),
            upstream_ms=upstream_ms,
            tokens_per_second=tokens_per_second,
            metric_provider=self.metric_provider,
            metric_model=self.metric_model,
        )
        self.recorder.record(event)
        self.event = event
        return event


async def watch_call(
    ticket: Ticket, call: Awaitable[dict[str, Any]]
) -> tuple[dict[str, Any], float]:
    """Await a non-streaming call, record its usage; returns (result, upstream milliseconds)."""
    started = time.perf_counter()
    try:
        result = await call
    except BaseException as exc:
        ticket.finish(status_of(exc), upstream_ms=(time.perf_counter() - started) * 1000)
        raise
    upstream_ms = (time.perf_counter() - started) * 1000
    usage = result.get("usage") if isinstance(result, dict) else None
    ticket.finish(
        "ok",
        usage=usage if isinstance(usage, dict) else None,
        estimated=not isinstance(usage, dict),
        upstream_ms=upstream_ms,
    )
    return result, upstream_ms


def finish_stream(ticket: Ticket, stats: StreamStats, status: str) -> None:
    """Record a stream that ended (`ok`, an error code or `cancelled`) with what `stats` saw."""
    usage, estimated = stats.final_usage()
    timings = stats.timings()
    ticket.finish(
        status,
        usage=usage,
        estimated=estimated,
        ttft_ms=timings["ttft_ms"],
        duration_ms=timings["duration_ms"],
        upstream_ms=timings["duration_ms"],
        tokens_per_second=timings["tokens_per_second"],
    )
