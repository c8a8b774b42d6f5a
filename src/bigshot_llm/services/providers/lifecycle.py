"""Loading and unloading models on a provider (LM Studio's native `/api/v1/models/load|unload`).

Who may is decided by the server, not by the record a caller reaches it through: admins on
any server; a user only on a server that only their own providers point at. A user's record
for the server a global provider (or another user's) also uses is treated like that provider:
its VRAM is shared, so 403 (see `services.providers.servers`). The same rule decides whether
a generation may make LM Studio load a model on its own (JIT, `may_load`). With the server's
`exclusive_loading` policy (the global record's, when the server has one) the other loaded
LLMs are unloaded first, so exactly one model occupies VRAM. Every change drops the
provider's cached model list, is audited, and is announced as a `model.loaded` /
`model.unloaded` webhook when the webhook service is present.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import KW_ONLY, dataclass
from typing import Any, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.errors import Conflict, Forbidden
from bigshot_llm.providers.kinds import available_kinds, provider_class
from bigshot_llm.schemas.model_ops import ModelOpAnswer
from bigshot_llm.schemas.providers import ProviderKindPublic
from bigshot_llm.services.access import audit
from bigshot_llm.services.access.auth import Principal
from bigshot_llm.services.generation.routing import Router, Target
from bigshot_llm.services.providers.registry import ProviderRecord, ProviderRegistry
from bigshot_llm.services.providers.servers import sharing

log = logging.getLogger(__name__)

Notify = Callable[[str, dict[str, Any]], Awaitable[object]]
PresetLookup = Callable[[Target, str], Awaitable[dict[str, Any]]]
Loaded = Callable[[Target, str], None]


class ModelLoader(Protocol):
    """What a provider needs for model operations (LM Studio has it; plain OpenAI does not)."""

    async def load_model(self, model: str, **opts: Any) -> dict[str, Any]: ...

    async def unload_model(self, model_or_instance_id: str) -> dict[str, Any]: ...


def supports_loading(provider: object) -> bool:
    return callable(getattr(provider, "load_model", None)) and callable(
        getattr(provider, "unload_model", None)
    )


BUILTIN_DESCRIPTIONS = {
    "lmstudio": "LM Studio: OpenAI-compatible /v1 plus native model listing, load and unload",
    "openai": "OpenAI's API",
    "openai_compatible": "any OpenAI-compatible server (vLLM, llama.cpp server, Ollama's /v1…)",
}


def provider_kinds() -> list[ProviderKindPublic]:
    """The built-in kinds and the installed plugins (a broken plugin is listed, not fatal)."""
    kinds = []
    for kind in available_kinds():
        try:
            cls: type | None = provider_class(kind)
        except ValueError:
            cls = None
        doc = (inspect.getdoc(cls) or "").strip().splitlines() if cls else []
        description = BUILTIN_DESCRIPTIONS.get(kind) or (doc[0] if doc else "plugin provider")
        if cls is None:
            description = "plugin provider (failed to load)"
        kinds.append(
            ProviderKindPublic(
                kind=kind,
                description=description,
                builtin=kind in BUILTIN_DESCRIPTIONS,
                supports_load=cls is not None and supports_loading(cls),
            )
        )
    return kinds


async def refusal(
    principal: Principal, record: ProviderRecord, registry: ProviderRegistry
) -> str | None:
    """Why this caller may not change the state of `record`'s server (None: it may)."""
    if principal.is_admin:
        return None
    if record.owner_id != principal.user_id:
        return "only admins can load or unload models on a global provider"
    shared = [r for r in await sharing(registry, record) if r.owner_id != principal.user_id]
    if not shared:
        return None
    whose = (
        "a global provider"
        if any(r.owner_id is None for r in shared)
        else ("another user's provider")
    )
    return (
        f"provider '{record.name}' points at a server that {whose} also uses; its memory is "
        "shared, so only admins can load or unload models there"
    )


async def check_may_manage(
    principal: Principal, target: Target, registry: ProviderRegistry
) -> None:
    """Admins anywhere; users only on a server no one else's provider points at."""
    reason = await refusal(principal, target.record, registry)
    if reason is not None:
        raise Forbidden(reason, code="forbidden")


async def may_load(
    principal: Principal, record: ProviderRecord, registry: ProviderRegistry
) -> bool:
    """May a request of this caller make the server load a model (LM Studio's JIT)?"""
    return await refusal(principal, record, registry) is None


async def exclusive_policy(record: ProviderRecord, registry: ProviderRegistry) -> bool:
    """The server's `exclusive_loading`: a global provider's on that server wins over the
    record's, since the global one is the server's owner."""
    if record.owner_id is None:  # a global record owns its server (no lookup per request)
        return record.exclusive_loading
    owners = [r for r in await sharing(registry, record) if r.owner_id is None]
    if not owners:
        return record.exclusive_loading
    return any(r.exclusive_loading for r in owners)


def _loader(target: Target) -> ModelLoader:
    provider = target.provider
    if not supports_loading(provider):
        raise Conflict(
            f"provider '{target.record.name}' ({target.record.kind}) cannot load or unload "
            "models; LM Studio providers can",
            code="not_supported",
        )
    return provider  # type: ignore[return-value]


@dataclass(eq=False)
class ModelOps:
    """Load/unload on one provider, then invalidate, audit and notify."""

    router: Router
    session: AsyncSession
    notify: Notify | None
    _: KW_ONLY
    presets: PresetLookup | None = None  # the model's stored load options, under the call's own
    loaded: Loaded | None = None  # told of every load (the idle TTL covers gateway-loaded models)

    async def load(
        self, principal: Principal, target: Target, model: str, *, options: dict[str, Any]
    ) -> ModelOpAnswer:
        """Load with every option LM Studio's load takes: the call's, over the preset's."""
        registry = self.router.registry
        await check_may_manage(principal, target, registry)
        loader = _loader(target)
        unloaded: list[str] = []
        if await exclusive_policy(target.record, registry):
            unloaded = await self._unload_others(target, loader, keep=model)
        preset = await self.presets(target, model) if self.presets is not None else {}
        opts: dict[str, Any] = {**preset, **options}
        context_length = opts.get("context_length")
        try:
            answer = await loader.load_model(model, **opts)
        finally:
            await self.router.catalog.invalidate(target.record)
        if self.loaded is not None:
            self.loaded(target, model)
        instance = answer.get("instance_id")
        load_time = answer.get("load_time_seconds")
        config = answer.get("load_config")
        result = ModelOpAnswer(
            model=model,
            provider=target.record.summary(),
            state="loaded",
            instance_ids=[instance] if isinstance(instance, str) else [],
            unloaded=unloaded,
            load_time_seconds=load_time if isinstance(load_time, int | float) else None,
            load_config=config if isinstance(config, dict) else None,
        )
        await self._record(principal, target, "model.load", result, context_length)
        for other in unloaded:
            await self._notify("model.unloaded", target, other, reason="exclusive_loading")
        await self._notify("model.loaded", target, model, instance_ids=result.instance_ids)
        return result

    async def unload(self, principal: Principal, target: Target, model: str) -> ModelOpAnswer:
        await check_may_manage(principal, target, self.router.registry)
        loader = _loader(target)
        try:
            answer = await loader.unload_model(model)
        finally:
            await self.router.catalog.invalidate(target.record)
        ids = [i for i in answer.get("instance_ids") or () if isinstance(i, str)]
        result = ModelOpAnswer(
            model=model,
            provider=target.record.summary(),
            state="not-loaded",
            instance_ids=ids,
            unloaded=ids,
        )
        await self._record(principal, target, "model.unload", result, None)
        await self._notify("model.unloaded", target, model, instance_ids=ids)
        return result

    async def _unload_others(self, target: Target, loader: ModelLoader, keep: str) -> list[str]:
        """Unload every loaded chat model except `keep` (embeddings models stay)."""
        listing = await self.router.models(target, detailed=True, refresh=True)
        others = [
            str(m["id"])
            for m in listing.models
            if m.get("state") == "loaded"
            and m.get("type", "llm") in ("llm", "vlm")
            and m["id"] != keep
        ]
        for other in others:
            await loader.unload_model(other)
        return others

    async def _record(
        self,
        principal: Principal,
        target: Target,
        action: str,
        result: ModelOpAnswer,
        context_length: int | None,
    ) -> None:
        after: dict[str, Any] = {
            "model": result.model,
            "instance_ids": result.instance_ids,
            "unloaded": result.unloaded,
        }
        if context_length is not None:
            after["context_length"] = context_length
        audit.record(self.session, principal, action, "provider", target.record.id, after=after)
        await self.session.commit()

    async def _notify(self, event: str, target: Target, model: str, **extra: Any) -> None:
        if self.notify is None:
            return
        payload = {"model": model, "provider": target.record.summary(), **extra}
        try:
            await self.notify(event, payload)
        except Exception:
            log.warning("webhook %s could not be queued", event, exc_info=True)
