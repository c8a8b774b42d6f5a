"""Provider kinds → classes: the built-ins, plus plugins from an entry-point group.

A plugin package declares ``[project.entry-points."bigshot_llm.providers"] mykind =
"pkg.module:MyProvider"``; the class takes ``(spec, client=None)`` like the built-ins.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from bigshot_llm.providers.base import Provider, ProviderSpec
from bigshot_llm.providers.lmstudio import LMStudioProvider
from bigshot_llm.providers.openai import OpenAIProvider
from bigshot_llm.providers.pool import create_pool

__all__ = ["ENTRY_POINT_GROUP", "available_kinds", "create_provider", "provider_class"]

ENTRY_POINT_GROUP = "bigshot_llm.providers"

_BUILTIN: dict[str, type] = {
    "lmstudio": LMStudioProvider,
    "openai": OpenAIProvider,
    "openai_compatible": OpenAIProvider,
}


def provider_class(kind: str) -> type:
    """The class implementing `kind`; `ValueError` when no built-in or plugin provides it."""
    if kind in _BUILTIN:
        return _BUILTIN[kind]
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == kind:
            try:
                cls = ep.load()
            except Exception as exc:  # a broken plugin must not take the gateway down
                raise ValueError(f"provider plugin {kind!r} failed to load: {exc}") from exc
            if not isinstance(cls, type):
                raise ValueError(f"provider plugin {kind!r} is not a class")
            return cls
    raise ValueError(f"unknown provider kind {kind!r}; available: {', '.join(available_kinds())}")


def available_kinds() -> list[str]:
    """Every kind `create_provider` accepts, sorted."""
    plugins = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return sorted(set(_BUILTIN) | plugins)


def create_provider(spec: ProviderSpec, *, health_interval: float = 5.0) -> Provider:
    """A provider for `spec`, with its own pooled client (close it with `aclose()`).

    With `spec.pool_urls` set it is a `PooledProvider` over every URL (health-checked each
    `health_interval` seconds).
    """
    if spec.pool_urls:
        return create_pool(spec, provider_class(spec.kind), health_interval=health_interval)
    provider: Provider = provider_class(spec.kind)(spec)
    return provider
