"""The exclusive loading policy for requests, and the models the gateway itself loaded.

LM Studio's auto-evict never unloads models loaded through its API, so on a server with
`exclusive_loading` a chat naming a second model would JIT-load it beside the first. Before
such a generation the gateway does it properly instead: it waits until the other models'
generations (counted by admission) have ended, unloads them, loads the model with its
preset (`presets`), and reports the load as `Loading` events, so the waiting client sees
progress instead of a silent minute: LM Studio's own progress when the load goes through
`/api/v1/chat` (a preset with nothing but `context_length`), else `None` while the REST load
runs (it reports none). One switch per server runs at a time.

`IdleModels` remembers what the gateway loaded (here or through `POST …/load`) and when a
request last used it, and unloads a model nobody used for its idle TTL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from bigshot_llm.aio import stop_task
from bigshot_llm.errors import GatewayError, ServiceUnavailable
from bigshot_llm.providers.lmstudio_load import CHAT_LOAD_OPTIONS
from bigshot_llm.providers.pool import PooledProvider
from bigshot_llm.services.generation.admission import Admission
from bigshot_llm.services.generation.events import Loading
from bigshot_llm.services.generation.routing import Router, Target
from bigshot_llm.services.providers.lifecycle import (
    ModelLoader,
    exclusive_policy,
    supports_loading,
)

__all__ = ["IdleModels", "ModelSwitcher", "PresetLookup"]

log = logging.getLogger(__name__)

PresetLookup = Callable[[Target, str], Awaitable[dict[str, Any]]]
REPORT_SECONDS = 0.5


class IdleModels:
    """Gateway-loaded models and their last use, per server (each pool member by itself: a
    model one member keeps busy does not keep the others' copies loaded); `sweep` unloads
    the idle ones."""

    def __init__(
        self,
        router: Router,
        admission: Admission | None,
        *,
        ttl: float,
        per_model: dict[str, float] | None = None,
        interval: float = 5.0,
    ) -> None:
        self.router = router
        self.admission = admission
        self.ttl = ttl
        self.per_model = per_model or {}
        self.interval = interval
        # (provider id, server URL, model) → last use (by requests admission did not see)
        self.loaded: dict[tuple[str, str, str], float] = {}
        self._task: asyncio.Task[None] | None = None

    def ttl_for(self, model: str) -> float:
        return self.per_model.get(model, self.ttl)

    def loaded_by_gateway(self, target: Target, model: str) -> None:
        """`model` was loaded: on every up member of a pool (as the pool loads), else on
        the provider's server."""
        now = time.monotonic()
        for server in _servers(target, loaded=True):
            self.loaded[(target.record.id, server, model)] = now

    def forget(self, target: Target, model: str) -> None:
        for key in [k for k in self.loaded if k[0] == target.record.id and k[2] == model]:
            del self.loaded[key]

    def touch(self, target: Target, model: str) -> None:
        """A request for `model` is coming. Admission knows which server runs it (and tells
        `sweep`); without admission every server's copy counts as used."""
        if self.admission is not None and self.admission.capacity.controlled(target, model):
            return
        now = time.monotonic()
        for key in self.loaded:
            if key[0] == target.record.id and key[2] == model:
                self.loaded[key] = now

    async def sweep(self) -> list[tuple[str, str]]:
        """Unload every gateway-loaded model idle past its TTL on each server; returns
        (provider, model) of each unload."""
        now = time.monotonic()
        gone: list[tuple[str, str]] = []
        for (provider_id, server, model), used in list(self.loaded.items()):
            ttl = self.ttl_for(model)
            if ttl <= 0:
                continue
            if self.admission is not None:
                if self.admission.busy_on(provider_id, model, server):
                    continue
                last = self.admission.last_used(provider_id, model, server)
                used = max(used, last or 0.0)
            if now - used < ttl:
                continue
            record = self.router.registry.get(provider_id)
            self.loaded.pop((provider_id, server, model), None)
            if record is None:
                continue
            provider = self.router.registry.provider(record)
            if isinstance(provider, PooledProvider):
                member = provider.member(server)
                provider = member.provider if member is not None else provider
            if not supports_loading(provider):
                continue
            try:
                await provider.unload_model(model)  # type: ignore[attr-defined]
            except GatewayError as exc:
                log.warning("idle unload of %s on %s failed: %s", model, server, exc)
                continue
            finally:
                await self.router.catalog.invalidate(record)
            log.info("unloaded %s on %s: idle for %.0f s", model, server, now - used)
            gone.append((record.name, model))
        return gone

    async def start(self) -> None:
        if self._task is None and (self.ttl > 0 or any(v > 0 for v in self.per_model.values())):
            self._task = asyncio.create_task(self._loop(), name="idle-models")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.sweep()
            except Exception:
                log.exception("idle model sweep failed")

    async def close(self) -> None:
        await stop_task(self._task)
        self._task = None


def _servers(target: Target, *, loaded: bool = False) -> list[str]:
    """The servers behind a provider: a pool's members (the up ones, when `loaded`: those a
    pool load reaches), else its base URL."""
    provider = target.provider
    if not isinstance(provider, PooledProvider):
        return [target.record.base_url]
    members = provider.members
    if loaded:
        members = [m for m in members if m.up] or members
    return [m.url for m in members]


@dataclass(eq=False)
class ModelSwitcher:
    router: Router
    admission: Admission | None
    idle: IdleModels
    _: KW_ONLY
    presets: PresetLookup | None = None
    drain_timeout: float = 120.0
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict, init=False, repr=False)

    async def prepare(self, target: Target, model: str) -> AsyncGenerator[Loading, None]:
        """Make `model` the one loaded model of an exclusive server, reporting the load; a
        no-op for servers without the policy or a model already loaded."""
        self.idle.touch(target, model)
        provider = target.provider
        if not supports_loading(provider):
            return
        record = target.record
        if not await exclusive_policy(record, self.router.registry):
            return
        state = await self.router.catalog.state_of(record, provider, model)
        if state == "loaded" and not await self._others(target, model, refresh=False):
            return
        lock = self._locks.setdefault(record.base_url, asyncio.Lock())
        async with lock:
            others = await self._others(target, model, refresh=True)
            state = await self.router.catalog.state_of(record, provider, model)
            if state == "loaded" and not others:
                return
            loader: ModelLoader = provider  # type: ignore[assignment]
            yield Loading(model, 0.0, tuple(others))
            await self._drain(target, others)
            for other in others:
                await loader.unload_model(other)
                self.idle.forget(target, other)
            if state != "loaded":
                async with contextlib.aclosing(
                    self._load(target, loader, model, tuple(others))
                ) as loads:
                    async for event in loads:
                        yield event
            await self.router.catalog.invalidate(record)
            yield Loading(model, 1.0, tuple(others))

    async def _others(self, target: Target, model: str, *, refresh: bool) -> list[str]:
        listing = await self.router.models(target, detailed=True, refresh=refresh)
        return [
            str(m["id"])
            for m in listing.models
            if m.get("state") == "loaded"
            and m.get("type", "llm") in ("llm", "vlm")
            and m["id"] != model
        ]

    async def _drain(self, target: Target, others: list[str]) -> None:
        """Wait until no generation of this gateway runs on the models about to go."""
        if self.admission is None or not others:
            return
        deadline = time.monotonic() + self.drain_timeout
        while True:
            busy = self.admission.busy_models(target.record.id)
            if not any(busy.get(other) for other in others):
                return
            if time.monotonic() >= deadline:
                raise ServiceUnavailable(
                    f"model {', '.join(others)} is still generating on provider "
                    f"'{target.record.name}' (exclusive loading); try again shortly",
                    code="model_busy",
                    headers={"Retry-After": "10"},
                )
            await asyncio.sleep(0.05)

    async def _load(
        self, target: Target, loader: ModelLoader, model: str, unloaded: tuple[str, ...]
    ) -> AsyncGenerator[Loading, None]:
        options = await self.presets(target, model) if self.presets is not None else {}
        chat_load = getattr(loader, "load_with_progress", None)
        if chat_load is not None and set(options) <= CHAT_LOAD_OPTIONS:
            reported = 0.0
            try:
                async with contextlib.aclosing(chat_load(model, **options)) as progress:
                    async for fraction in progress:
                        # A step worth telling (1.0 comes from `prepare` once all is done).
                        if fraction - reported >= 0.01 and fraction < 1.0:
                            reported = fraction
                            yield Loading(model, fraction, unloaded)
            except GatewayError as exc:
                if reported > 0:
                    raise  # the load itself failed: loading again would fail the same way
                # An LM Studio before 0.4 has no /api/v1/chat: the REST load, without progress.
                log.info("load of %s with progress failed (%s); loading without", model, exc)
            else:
                self.idle.loaded_by_gateway(target, model)
                return
        task = asyncio.ensure_future(loader.load_model(model, **options))
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=REPORT_SECONDS)
                if done:
                    break
                yield Loading(model, None, unloaded)  # LM Studio's REST load reports nothing
            task.result()
        finally:
            if not task.done():
                task.cancel()
        self.idle.loaded_by_gateway(target, model)
