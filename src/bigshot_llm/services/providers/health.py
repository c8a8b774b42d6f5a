"""A light background health check of the enabled providers.

Every `interval` seconds each enabled provider's detailed model list is fetched (the same
`list_models` the API uses, bypassing the cache). The outcome sets the `bigshot_provider_up`
gauge; a change from the last known state emits `provider.up`/`provider.down`, and a model
whose state flips emits `model.loaded`/`model.unloaded`. The first observation of a provider
only records its state. With several workers on one host, a lock file in the data directory
makes one of them the checker, so each change is announced once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import IO, Any

from bigshot_llm.aio import stop_task
from bigshot_llm.errors import GatewayError
from bigshot_llm.providers.base import Provider
from bigshot_llm.schemas.providers import ProviderTestResult
from bigshot_llm.services.providers.registry import ProviderRecord, ProviderRegistry
from bigshot_llm.services.usage.metrics import Metrics
from bigshot_llm.services.webhooks.dispatcher import WebhookDispatcher

log = logging.getLogger(__name__)

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: every worker checks
    fcntl = None  # type: ignore[assignment]


@dataclass(eq=False)
class HealthMonitor:
    """Checks every provider each `interval` seconds (one worker per host holds the lock)."""

    registry: ProviderRegistry
    dispatcher: WebhookDispatcher
    _: KW_ONLY
    interval: float
    metrics: Metrics | None = None
    lock_path: Path | None = None
    up: dict[str, bool] = field(default_factory=dict, init=False)
    models: dict[str, dict[str, str | None]] = field(default_factory=dict, init=False)
    _lock_file: IO[bytes] | None = field(default=None, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)

    async def start(self) -> None:
        if self.interval > 0:
            self._task = asyncio.create_task(self._run(), name="provider-health-monitor")

    async def close(self) -> None:
        await stop_task(self._task)
        self._task = None
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def _leader(self) -> bool:
        """Whether this process is the one that checks (always true without a lock path)."""
        if self.lock_path is None or fcntl is None or self._lock_file is not None:
            return True
        handle = self.lock_path.open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._lock_file = handle
        return True

    async def _run(self) -> None:
        while True:
            # Sleep first: start-up is busy enough, and a restart loop must not hammer upstream.
            await asyncio.sleep(self.interval)
            try:
                if self._leader():
                    await self.check_all()
            except Exception:
                log.exception("provider health check failed")

    async def check_all(self) -> None:
        records = [r for r in self.registry.all_records() if r.enabled]
        await asyncio.gather(*(self.check(r) for r in records))
        known = {r.id for r in records}
        for gone in [pid for pid in self.up if pid not in known]:
            self.up.pop(gone, None)
            self.models.pop(gone, None)

    async def check(self, record: ProviderRecord) -> None:
        provider = self.registry.provider(record)
        error: str | None = None
        states: dict[str, str | None] | None = None
        try:
            models = await asyncio.wait_for(
                provider.list_models(detailed=True), timeout=record.list_timeout + 1
            )
            states = {m.id: m.state for m in models}
        except (GatewayError, TimeoutError) as exc:
            error = exc.message if isinstance(exc, GatewayError) else "timed out"
        is_up = states is not None
        if self.metrics is not None:
            self.metrics.provider_up.labels(record.name, record.id).set(1 if is_up else 0)
        subject = {"provider": record.summary()}
        before = self.up.get(record.id)
        self.up[record.id] = is_up
        if before is not None and before != is_up:
            event = "provider.up" if is_up else "provider.down"
            await self.dispatcher.emit(event, {**subject, "error": error})
        if states is not None:
            await self._model_changes(record, states, subject)

    async def _model_changes(
        self, record: ProviderRecord, states: dict[str, str | None], subject: dict[str, Any]
    ) -> None:
        previous = self.models.get(record.id)
        self.models[record.id] = states
        if previous is None:
            return
        for model_id, state in states.items():
            was = previous.get(model_id)
            if state == was or state is None:
                continue
            if state == "loaded":
                await self.dispatcher.emit("model.loaded", {**subject, "model": model_id})
            elif was == "loaded":
                await self.dispatcher.emit("model.unloaded", {**subject, "model": model_id})
        for model_id, was in previous.items():
            if model_id not in states and was == "loaded":
                await self.dispatcher.emit("model.unloaded", {**subject, "model": model_id})


async def reachability(record: ProviderRecord, provider: Provider) -> ProviderTestResult:
    """One uncached model listing: reachable or not, how fast, how many models."""
    started = time.perf_counter()
    try:
        models = await provider.list_models(detailed=False)
    except GatewayError as exc:
        latency = (time.perf_counter() - started) * 1000
        message, code = exc.message, exc.code
        if record.owner_id is not None:
            # A provider a user made: one answer for every failure (refused, closed, not an
            # LLM server, an error page), so `/test` cannot map local ports or read services.
            message = f"no usable model list from {record.base_url}"
            code = "provider_test_failed"
        return ProviderTestResult(
            ok=False,
            latency_ms=round(latency, 1),
            model_count=None,
            message=message,
            error_code=code,
        )
    latency = (time.perf_counter() - started) * 1000
    return ProviderTestResult(
        ok=True,
        latency_ms=round(latency, 1),
        model_count=len(models),
        message=f"reachable: {len(models)} models at {record.base_url}",
        error_code=None,
    )
