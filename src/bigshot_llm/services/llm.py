"""The LLM service: picks the provider and model for a request and calls the `Provider`.

Both API surfaces (native `/api/v1` and OpenAI-compatible `/v1`) call this; nothing below it
knows which one asked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from bigshot_llm.errors import GatewayError, ModelNotFound, ServiceUnavailable
from bigshot_llm.providers.base import Provider, StreamChunk
from bigshot_llm.services.auth import Principal
from bigshot_llm.services.model_catalog import ModelCatalog, ModelListing, first_loaded_llm
from bigshot_llm.services.provider_registry import ProviderRecord, ProviderRegistry


@dataclass(frozen=True, slots=True)
class Target:
    """The provider a request goes to."""

    record: ProviderRecord
    provider: Provider


class LLMService:
    def __init__(
        self, registry: ProviderRegistry, catalog: ModelCatalog, *, fallback_model: str | None
    ) -> None:
        self.registry = registry
        self.catalog = catalog
        self.fallback_model = fallback_model

    # ---- choosing provider and model ------------------------------------------------------

    def resolve(self, principal: Principal, provider_ref: str | None = None) -> Target:
        """The named provider (by id or name), else the caller's active one."""
        if provider_ref:
            record = self.registry.lookup(principal, provider_ref)
        else:
            active = self.registry.active_for(principal)
            if active is None:
                raise ServiceUnavailable(
                    "no active provider: create one and activate it with "
                    "POST /api/v1/llm-providers/{id}/activate",
                    code="no_active_provider",
                )
            record = active
        if not record.enabled:
            raise ServiceUnavailable(
                f"provider '{record.name}' is disabled", code="provider_disabled"
            )
        return Target(record, self.registry.provider(record))

    async def pick_model(
        self, target: Target, requested: str | None, *, embeddings: bool = False
    ) -> str:
        """request → provider default → LMSTUDIO_MODEL → first loaded LLM; checked when known."""
        if requested:
            known = self.catalog.known_ids(target.record)
            if known is not None and requested not in known:
                raise ModelNotFound(
                    f"model '{requested}' is not available on provider '{target.record.name}'",
                    details={"model": requested, "available": sorted(known)},
                    param="model",
                )
            return requested
        if not embeddings:  # configured defaults name chat models
            for candidate in (target.record.default_model, self.fallback_model):
                if candidate:
                    return candidate
        listing = await self.catalog.get(target.record, target.provider, detailed=True)
        if embeddings:
            chosen = next((m["id"] for m in listing.models if m.get("type") == "embeddings"), None)
        else:
            chosen = first_loaded_llm(listing.models)
        if chosen is None:
            raise ModelNotFound(
                f"provider '{target.record.name}' has no {'embeddings' if embeddings else 'chat'} "
                "model: load one in LM Studio or name one in 'model'",
                details={"available": listing.ids()},
                param="model",
            )
        return chosen

    # ---- model lists ----------------------------------------------------------------------

    async def models(
        self, target: Target, *, detailed: bool, refresh: bool = False
    ) -> ModelListing:
        return await self.catalog.get(
            target.record, target.provider, detailed=detailed, refresh=refresh
        )

    async def models_all(
        self, principal: Principal, *, detailed: bool, refresh: bool = False
    ) -> list[dict[str, Any]]:
        """Every usable provider's models, concurrently; a dead one only reports itself."""
        records = [r for r in self.registry.usable_by(principal) if r.enabled]
        results = await asyncio.gather(*(self._one_provider(r, detailed, refresh) for r in records))
        return list(results)

    async def _one_provider(
        self, record: ProviderRecord, detailed: bool, refresh: bool
    ) -> dict[str, Any]:
        started = time.perf_counter()
        entry: dict[str, Any] = {"provider": record.summary()}
        try:
            listing = await self.catalog.get(
                record, self.registry.provider(record), detailed=detailed, refresh=refresh
            )
        except GatewayError as exc:
            entry.update(status="unavailable", models=[], error=exc.to_dict())
            entry["message"] = exc.message
        else:
            entry.update(
                status="stale" if listing.stale else "ok",
                models=listing.models,
                cached=listing.cached,
                stale=listing.stale,
                fetched_at=listing.fetched_at,
            )
            if listing.error:
                entry["error"] = listing.error
                entry["message"] = listing.error.get("message")
        entry["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
        return entry

    # ---- generation -----------------------------------------------------------------------

    async def chat(self, target: Target, body: dict[str, Any]) -> dict[str, Any]:
        return await target.provider.chat(body)

    async def complete(self, target: Target, body: dict[str, Any]) -> dict[str, Any]:
        return await target.provider.complete(body)

    async def embed(self, target: Target, body: dict[str, Any]) -> dict[str, Any]:
        return await target.provider.embed(body)

    def stream_chat(self, target: Target, body: dict[str, Any]) -> AsyncIterator[StreamChunk]:
        return target.provider.stream_chat(body)

    def stream_complete(self, target: Target, body: dict[str, Any]) -> AsyncIterator[StreamChunk]:
        return target.provider.stream_complete(body)
