"""Model lists per provider, cached for five minutes (aiocache), served stale when upstream is
down, fetched once for many concurrent callers, and never blocking on a dead provider longer
than its listing budget.

A listing that timed out is remembered too, for `error_ttl` seconds (`BIGSHOT_MODEL_ERROR_TTL`):
until then the provider is not asked again and its last good list is served as stale (or the same
error given at once), so a silent provider costs its list timeout at most once per period,
not once per `/v1/models` call of every user. `refresh=True` always asks upstream.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiocache import BaseCache, SimpleMemoryCache

from bigshot_llm.errors import GatewayError, ProviderTimeout
from bigshot_llm.providers.base import Provider
from bigshot_llm.services.providers.registry import ProviderRecord


@dataclass(slots=True)
class ModelListing:
    """One provider's models, and how fresh they are."""

    models: list[dict[str, Any]]
    fetched_at: str
    cached: bool = False
    stale: bool = False
    error: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def ids(self) -> list[str]:
        return [m["id"] for m in self.models]


def _key(record: ProviderRecord, detailed: bool) -> str:
    # The config's update time is part of the key: any change to it invalidates the list.
    return f"models:{record.id}:{record.updated_at.timestamp():.6f}:{int(detailed)}"


def _last_good_key(record: ProviderRecord, detailed: bool) -> str:
    return f"models-last:{record.id}:{int(detailed)}"


class ModelCatalog:
    def __init__(
        self, cache: BaseCache | None = None, ttl: float = 300.0, error_ttl: float = 15.0
    ) -> None:
        self.cache = cache or SimpleMemoryCache()
        self.ttl = ttl
        self.error_ttl = error_ttl
        # provider id → (config update time, until when, the error): in process, per replica
        self._failures: dict[str, tuple[datetime, float, GatewayError]] = {}
        self._inflight: dict[str, asyncio.Future[ModelListing]] = {}
        self.hits = 0
        self.misses = 0
        self._known: dict[str, tuple[datetime, float, frozenset[str]]] = {}
        # Load states of the last detailed listing, per provider (None: the kind has none).
        self._states: dict[str, tuple[datetime, float, dict[str, str | None]]] = {}
        # Loaded instances (with their slots) of the last detailed listing, however old.
        self._instances: dict[str, tuple[datetime, dict[str, list[dict[str, Any]]]]] = {}

    def known_ids(self, record: ProviderRecord) -> frozenset[str] | None:
        """The model ids this process last saw for a provider while fresh, without any I/O.

        The hot path checks a requested model against this in-process copy instead of asking
        the cache (one dictionary lookup instead of a cache round trip per request).
        """
        known = self._known.get(record.id)
        if known is None or known[0] != record.updated_at or known[1] < time.monotonic():
            return None
        return known[2]

    def listed(self, record: ProviderRecord, model: str) -> bool:
        """Did the provider's last listing seen here name `model` (however old it is)?
        Metrics label only such models: a user's made-up names must not become labels."""
        known = self._known.get(record.id)
        return known is not None and known[0] == record.updated_at and model in known[2]

    def instances(self, record: ProviderRecord, model: str) -> list[dict[str, Any]] | None:
        """The loaded instances of `model` in the last detailed listing seen here, without
        any I/O (None: no detailed listing yet)."""
        known = self._instances.get(record.id)
        if known is None or known[0] != record.updated_at:
            return None
        return known[1].get(model, [])

    async def state_of(self, record: ProviderRecord, provider: Provider, model: str) -> str | None:
        """`loaded`, `not-loaded`, or None when unknown (not listed, or no states): from the
        in-process copy while fresh, else from a detailed listing."""
        known = self._states.get(record.id)
        if known is None or known[0] != record.updated_at or known[1] < time.monotonic():
            try:
                await self.get(record, provider, detailed=True)
            except GatewayError:
                return None  # the generation itself will report the provider's trouble
            known = self._states.get(record.id)
        return known[2].get(model) if known is not None else None

    def _remember(
        self, record: ProviderRecord, listing: ModelListing, detailed: bool = False
    ) -> ModelListing:
        if not listing.stale:
            expires = time.monotonic() + self.ttl
            ids = frozenset(m["id"] for m in listing.models)
            self._known[record.id] = (record.updated_at, expires, ids)
            if detailed:
                states = {str(m["id"]): m.get("state") for m in listing.models}
                self._states[record.id] = (record.updated_at, expires, states)
                instances = {str(m["id"]): list(m.get("instances") or ()) for m in listing.models}
                self._instances[record.id] = (record.updated_at, instances)
        return listing

    async def get(
        self, record: ProviderRecord, provider: Provider, *, detailed: bool, refresh: bool = False
    ) -> ModelListing:
        """The model list: cached, fresh, or the last good one marked stale.

        Raises `ProviderUnavailable`/`ProviderTimeout` when upstream fails and nothing older
        is known.
        """
        key = _key(record, detailed)
        if not refresh:
            cached = await self.cache.get(key)
            if cached is not None:
                self.hits += 1
                return self._remember(record, ModelListing(**cached, cached=True), detailed)
            failure = self._recent_failure(record)
            if failure is not None:
                self.hits += 1
                return await self._after_failure(record, detailed, failure)
        self.misses += 1
        inflight = self._inflight.get(key)
        if inflight is not None:
            return await asyncio.shield(inflight)
        future: asyncio.Future[ModelListing] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            listing = self._remember(
                record, await self._fetch(record, provider, detailed), detailed
            )
            future.set_result(listing)
            return listing
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        finally:
            self._inflight.pop(key, None)

    async def _fetch(
        self, record: ProviderRecord, provider: Provider, detailed: bool
    ) -> ModelListing:
        try:
            models = await provider.list_models(detailed=detailed)
        except GatewayError as exc:
            # Only a timeout is remembered: it is what costs every caller the list budget; a
            # quick refusal or error answer costs nothing and may be over by the next call.
            if isinstance(exc, ProviderTimeout) and self.error_ttl > 0:
                expires = time.monotonic() + self.error_ttl
                self._failures[record.id] = (record.updated_at, expires, exc)
            return await self._after_failure(record, detailed, exc)
        self._failures.pop(record.id, None)
        payload: dict[str, Any] = {
            "models": [m.to_dict(detailed) for m in models],
            "fetched_at": datetime.now(UTC).isoformat(),
        }
        await self.cache.set(_key(record, detailed), payload, ttl=self.ttl)
        await self.cache.set(_last_good_key(record, detailed), payload)
        return ModelListing(**payload)

    def _recent_failure(self, record: ProviderRecord) -> GatewayError | None:
        """The provider's last listing error while it is remembered (same config only)."""
        failure = self._failures.get(record.id)
        if failure is None or failure[0] != record.updated_at or failure[1] < time.monotonic():
            return None
        return failure[2]

    async def _after_failure(
        self, record: ProviderRecord, detailed: bool, error: GatewayError
    ) -> ModelListing:
        """The last good list marked stale, else the error raised again."""
        last = await self.cache.get(_last_good_key(record, detailed))
        if last is None:
            raise _copy(error)
        listing = ModelListing(**last, cached=True, stale=True)
        listing.error = error.to_dict()
        return listing

    async def invalidate(self, record: ProviderRecord, *, instances: bool = False) -> None:
        """Forget the listings (a load or unload changed them); with `instances`, the
        instances' slots too (admission reads them again before its next pass)."""
        self._states.pop(record.id, None)
        if instances:
            self._instances.pop(record.id, None)
        self._failures.pop(record.id, None)
        for detailed in (True, False):
            await self.cache.delete(_key(record, detailed))

    async def close(self) -> None:
        await self.cache.close()


def _copy(error: GatewayError) -> GatewayError:
    """A fresh exception like `error`: one instance raised in many requests would collect
    every request's traceback."""
    return type(error)(
        error.message,
        details=error.details,
        headers=dict(error.headers),
        code=error.code,
        status_code=error.status_code,
        param=error.param,
    )


def first_loaded_llm(models: list[dict[str, Any]]) -> str | None:
    """LM Studio's loaded chat model, else the first chat-capable one."""
    chat = [m for m in models if m.get("type", "llm") in ("llm", "vlm")]
    for model in chat:
        if model.get("state") == "loaded":
            return str(model["id"])
    return str(chat[0]["id"]) if chat else None
