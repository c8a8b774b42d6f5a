"""Provider kinds: built-ins, entry-point plugins, unknown kinds."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

import pytest

from bigshot_llm.providers import kinds
from bigshot_llm.providers.lmstudio import LMStudioProvider
from bigshot_llm.providers.openai import OpenAIProvider

from .conftest import SpecFactory


class PluginProvider(OpenAIProvider):
    """Stands in for a third-party provider class."""


def _fake_entry_points(monkeypatch: pytest.MonkeyPatch, *eps: EntryPoint) -> None:
    def entry_points(*, group: str) -> list[EntryPoint]:
        assert group == "bigshot_llm.providers"
        return list(eps)

    monkeypatch.setattr(kinds, "entry_points", entry_points)


def test_builtins() -> None:
    assert kinds.provider_class("lmstudio") is LMStudioProvider
    assert kinds.provider_class("openai") is OpenAIProvider
    assert kinds.provider_class("openai_compatible") is OpenAIProvider
    assert {"lmstudio", "openai", "openai_compatible"} <= set(kinds.available_kinds())


def test_plugin_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    ep = EntryPoint("mine", f"{__name__}:PluginProvider", "bigshot_llm.providers")
    _fake_entry_points(monkeypatch, ep)
    assert kinds.provider_class("mine") is PluginProvider
    assert "mine" in kinds.available_kinds()


def test_broken_plugin_and_unknown_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_entry_points(monkeypatch, EntryPoint("bad", "no_such_module_xyz:X", "g"))
    with pytest.raises(ValueError, match="failed to load"):
        kinds.provider_class("bad")
    with pytest.raises(ValueError, match="unknown provider kind 'nope'"):
        kinds.provider_class("nope")


async def test_create_provider(make_spec: SpecFactory) -> None:
    created: list[Any] = []
    for kind in ("lmstudio", "openai", "openai_compatible"):
        for transport in ("aiohttp", "httpx"):
            provider = kinds.create_provider(make_spec(kind=kind, transport=transport))
            created.append(provider)
            assert provider.spec.kind == kind
    try:
        assert isinstance(created[0], LMStudioProvider)
        assert type(created[2]) is OpenAIProvider
    finally:
        for provider in created:
            await provider.aclose()
