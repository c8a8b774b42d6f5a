"""Where a generation goes: the provider and the model, chosen the same way for every surface.

A request names a provider (the native API's `provider`, by id or name) or none (the
caller's active provider). On the OpenAI-compatible surfaces, which have no `provider`
field, a model id may name its provider instead: ``provider-name/model-id``. Model ids may
contain ``/`` themselves (``lmstudio-community/qwen``), so a prefix counts only when a
provider of that name is usable by the caller; anything else is a bare id for the caller's
active provider. The model is the request's, else the provider's default, else
`LMSTUDIO_MODEL`, else the first loaded chat model.

Model aliases come first, on every surface, since every surface routes here: the caller's
own stored alias, else a global stored one (each names a provider and a model, and wins over
the request's provider reference), else `BIGSHOT_MODEL_ALIASES` (a model id or
`provider-name/model-id`, routed as if the client had sent it).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from bigshot_llm.errors import GatewayError, ModelNotFound, ServiceUnavailable
from bigshot_llm.providers.base import Provider
from bigshot_llm.schemas.aliases import AliasEntry
from bigshot_llm.services.access.auth import Principal
from bigshot_llm.services.generation.aliases import ModelAliases
from bigshot_llm.services.generation.catalog import ModelCatalog, ModelListing, first_loaded_llm
from bigshot_llm.services.providers.registry import ProviderRecord, ProviderRegistry

__all__ = ["SEPARATOR", "Route", "Router", "Target", "qualified_id"]

SEPARATOR = "/"


@dataclass(frozen=True, slots=True)
class Target:
    """The provider a request goes to."""

    record: ProviderRecord
    provider: Provider


@dataclass(frozen=True, slots=True)
class Route:
    """A request's destination: the provider, and the model id as that provider knows it."""

    target: Target
    model: str | None
    prefixed: bool = False
    alias: str | None = None  # the alias the request's model name matched, if any


def qualified_id(provider_name: str, model_id: str) -> str:
    """The id that routes to `model_id` on the provider called `provider_name`."""
    return f"{provider_name}{SEPARATOR}{model_id}"


class Router:
    """Resolves providers and models from the provider snapshot and the model catalog."""

    aliases: ModelAliases = ModelAliases()  # none (an immutable default)

    def __init__(
        self,
        registry: ProviderRegistry,
        catalog: ModelCatalog,
        *,
        fallback_model: str | None,
        aliases: ModelAliases | None = None,
    ) -> None:
        self.registry = registry
        self.catalog = catalog
        self.fallback_model = fallback_model
        self.aliases = aliases or ModelAliases()

    # ---- providers ------------------------------------------------------------------------

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
        return self._target(record)

    def _target(self, record: ProviderRecord) -> Target:
        if not record.enabled:
            raise ServiceUnavailable(
                f"provider '{record.name}' is disabled", code="provider_disabled"
            )
        return Target(record, self.registry.provider(record))

    def provider_prefix(self, principal: Principal, model: str) -> str | None:
        """The name of a usable provider that `model` starts with (followed by ``/``), if any.

        The longest name wins, so providers called ``a`` and ``a/b`` can coexist.
        """
        best: str | None = None
        for record in self.registry.usable_by(principal):
            name = record.name
            if (
                len(model) > len(name) + 1
                and model[len(name)] == SEPARATOR
                and model.startswith(name)
                and (best is None or len(name) > len(best))
            ):
                best = name
        return best

    def route(
        self, principal: Principal, model: str | None, provider_ref: str | None = None
    ) -> Route:
        """The target and upstream model id: a stored alias's provider, else a named
        provider, else a `provider/` prefix of the model id, else the caller's active one."""
        stored = self.registry.aliases.match(principal.user_id, model)
        if stored is not None:
            record = self.registry.get(stored.provider_id)
            # Only a provider the caller may use (the API allows no other; this is the
            # belt to its braces); a disabled one is the clear 503, not a silent fall-back.
            if record is not None and record.owner_id in (None, principal.user_id):
                return Route(self._target(record), stored.model, alias=stored.name)
        resolved = self.aliases.resolve(model)
        alias = model if resolved != model else None
        if provider_ref:
            return Route(self.resolve(principal, provider_ref), resolved, alias=alias)
        if resolved and SEPARATOR in resolved:
            name = self.provider_prefix(principal, resolved)
            if name is not None:
                target = self.resolve(principal, name)
                return Route(target, resolved[len(name) + 1 :], True, alias)
        return Route(self.resolve(principal), resolved, alias=alias)

    def listed_aliases(self, principal: Principal) -> list[AliasEntry]:
        """The exact aliases the caller's names resolve to (prefixes cannot be listed): own,
        then global, then `BIGSHOT_MODEL_ALIASES`, each name once (the one that wins)."""
        book, user = self.registry.aliases, principal.user_id
        entries: list[AliasEntry] = []
        for stored in book.visible_to(user):
            record = self.registry.get(stored.provider_id)
            # Listed only where it wins (a user's `claude-*` hides a global `claude-x`).
            if (
                stored.is_prefix
                or book.match(user, stored.name) is not stored
                or record is None
                or record.owner_id not in (None, user)
            ):
                continue
            entries.append(
                AliasEntry(
                    name=stored.name,
                    scope="global" if stored.owner_id is None else "user",
                    provider_id=record.id,
                    provider_name=record.name,
                    model=stored.model,
                )
            )
        for name, target in self.aliases.listed():
            if book.match(user, name) is None:
                entries.append(
                    AliasEntry(
                        name=name,
                        scope="setting",
                        provider_id=None,
                        provider_name=None,
                        model=target,
                    )
                )
        return entries

    # ---- models ---------------------------------------------------------------------------

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
