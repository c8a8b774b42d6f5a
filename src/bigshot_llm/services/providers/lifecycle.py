"""Loading and unloading models on a provider (LM Studio's native `/api/v1/models/load|unload`).

Who may: admins on any provider, users on their own providers only (a global provider's
VRAM is shared by everyone). With the provider's `exclusive_loading` policy the other loaded
LLMs are unloaded first, so exactly one model occupies VRAM. Every change drops the
provider's cached model list, is audited, and is announced as a `model.loaded` /
`model.unloaded` webhook when the webhook service is present.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.errors import Conflict, Forbidden
from bigshot_llm.providers.kinds import available_kinds, provider_class
from bigshot_llm.schemas.model_ops import ModelOpAnswer
from bigshot_llm.schemas.providers import ProviderKindPublic
from bigshot_llm.services.access import audit
from bigshot_llm.services.access.auth import Principal
from bigshot_llm.services.generation.routing import Router, Target

log = logging.getLogger(__name__)

Notify = Callable[[str, dict[str, Any]], Awaitable[object]]


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


def check_may_manage(principal: Principal, target: Target) -> None:
    """Admins anywhere; users only on a provider they own."""
    if principal.is_admin:
        return
    if target.record.owner_id != principal.user_id:
        raise Forbidden(
            "only admins can load or unload models on a global provider",
            code="forbidden",
        )


def _loader(target: Target) -> ModelLoader:
    provider = target.provider
    if not supports_loading(provider):
        raise Conflict(
            f"provider '{target.record.name}' ({target.record.kind}) cannot load or unload "
            "models; LM Studio providers can",
            code="not_supported",
        )
    return provider  # type: ignore[return-value]


class ModelOps:
    """Load/unload on one provider, then invalidate, audit and notify."""

    def __init__(self, router: Router, session: AsyncSession, notify: Notify | None) -> None:
        self.router = router
        self.session = session
        self.notify = notify

    async def load(
        self, principal: Principal, target: Target, model: str, *, context_length: int | None
    ) -> ModelOpAnswer:
        check_may_manage(principal, target)
        loader = _loader(target)
        unloaded: list[str] = []
        if target.record.exclusive_loading:
            unloaded = await self._unload_others(target, loader, keep=model)
        opts: dict[str, Any] = {}
        if context_length is not None:
            opts["context_length"] = context_length
        try:
            answer = await loader.load_model(model, **opts)
        finally:
            await self.router.catalog.invalidate(target.record)
        instance = answer.get("instance_id")
        load_time = answer.get("load_time_seconds")
        result = ModelOpAnswer(
            model=model,
            provider=target.record.summary(),
            state="loaded",
            instance_ids=[instance] if isinstance(instance, str) else [],
            unloaded=unloaded,
            load_time_seconds=load_time if isinstance(load_time, int | float) else None,
        )
        await self._record(principal, target, "model.load", result, context_length)
        for other in unloaded:
            await self._notify("model.unloaded", target, other, reason="exclusive_loading")
        await self._notify("model.loaded", target, model, instance_ids=result.instance_ids)
        return result

    async def unload(self, principal: Principal, target: Target, model: str) -> ModelOpAnswer:
        check_may_manage(principal, target)
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
