"""`PooledProvider` in memory: which member it picks, when it fails over, and when not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bigshot_llm.errors import ModelNotFound, ProviderTimeout, ProviderUnavailable, UpstreamError
from bigshot_llm.providers.base import ModelInfo, ProviderSpec, StreamChunk
from bigshot_llm.providers.pool import PooledProvider, is_transient


class FakeMember:
    """A provider that answers, or raises `fail`, and can fail mid-stream."""

    def __init__(self, url: str, models: dict[str, str] | None = None) -> None:
        self.spec = ProviderSpec(id="p", name="pool", kind="fake", base_url=url)
        self.models = models if models is not None else {"m": "loaded"}
        self.fail: Exception | None = None
        self.fail_after_first_chunk = False
        self.calls = 0

    async def list_models(self, detailed: bool = False) -> list[ModelInfo]:
        if self.fail is not None:
            raise self.fail
        return [ModelInfo(id=k, state=v) for k, v in self.models.items()]  # type: ignore[arg-type]

    async def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        return {"served_by": self.spec.base_url}

    complete = embed = chat

    async def _stream(self, body: dict[str, Any]) -> AsyncIterator[StreamChunk]:
        self.calls += 1
        if self.fail is not None and not self.fail_after_first_chunk:
            raise self.fail
        yield StreamChunk(b"{}", {"served_by": self.spec.base_url})
        if self.fail is not None:
            raise self.fail
        yield StreamChunk(b"{}", {"served_by": self.spec.base_url})

    def stream_chat(self, body: dict[str, Any]) -> AsyncIterator[StreamChunk]:
        return self._stream(body)

    stream_complete = stream_chat

    async def aclose(self) -> None:
        pass


def pool(*members: FakeMember) -> PooledProvider:
    spec = ProviderSpec(id="p", name="pool", kind="fake", base_url=members[0].spec.base_url)
    return PooledProvider(spec, list(members), health_interval=3600)


def test_transient_errors_are_refusals_502_503_and_drops_not_timeouts() -> None:
    assert is_transient(ProviderUnavailable("refused"))
    assert is_transient(UpstreamError("bad gateway", details={"upstream_status": 502}))
    assert not is_transient(UpstreamError("teapot", details={"upstream_status": 418}))
    assert not is_transient(ProviderTimeout("slow"))
    assert not is_transient(ModelNotFound("no such model"))
    try:
        raise UpstreamError("closed") from ConnectionResetError()
    except UpstreamError as dropped:
        assert is_transient(dropped)


async def test_requests_spread_over_members_and_prefer_one_that_has_the_model() -> None:
    a, b = FakeMember("http://a"), FakeMember("http://b")
    p = pool(a, b)
    served = [(await p.chat({"model": "m"}))["served_by"] for _ in range(4)]
    assert sorted(served) == ["http://a", "http://a", "http://b", "http://b"]

    a.models, b.models = {"m": "loaded"}, {"other": "loaded"}
    await p.check_health()
    served = [(await p.chat({"model": "m"}))["served_by"] for _ in range(3)]
    assert served == ["http://a"] * 3
    await p.aclose()


async def test_the_least_busy_member_is_chosen() -> None:
    a, b = FakeMember("http://a"), FakeMember("http://b")
    p = pool(a, b)
    p.members[0].inflight = 3
    assert [m.url for m in p.ranked("m")] == ["http://b", "http://a"]
    await p.aclose()


async def test_a_member_that_refuses_is_skipped_and_marked_down_until_healthy() -> None:
    a, b = FakeMember("http://a"), FakeMember("http://b")
    a.fail = ProviderUnavailable("refused")
    p = pool(a, b)
    for _ in range(3):
        assert (await p.chat({"model": "m"}))["served_by"] == "http://b"
    assert not p.members[0].up and a.calls == 1  # down members go last
    a.fail = None
    await p.check_health()
    assert p.members[0].up
    await p.aclose()


async def test_streams_fail_over_before_the_first_chunk_only() -> None:
    a, b = FakeMember("http://a"), FakeMember("http://b")
    a.fail = ProviderUnavailable("refused")
    p = pool(a, b)
    chunks = [c.data["served_by"] async for c in p.stream_chat({"model": "m"})]
    assert chunks == ["http://b", "http://b"]

    a.fail, b.fail = None, ProviderUnavailable("gone mid-stream")
    b.fail_after_first_chunk = True
    p.members[0].up, p.members[1].up = False, True  # b first
    received = []
    with pytest.raises(ProviderUnavailable):
        async for chunk in p.stream_chat({"model": "m"}):
            received.append(chunk.data["served_by"])
    assert received == ["http://b"]  # no second generation elsewhere after a token
    await p.aclose()


async def test_other_errors_are_not_retried_elsewhere() -> None:
    a, b = FakeMember("http://a"), FakeMember("http://b")
    a.fail = b.fail = ModelNotFound("no such model")
    p = pool(a, b)
    with pytest.raises(ModelNotFound):
        await p.chat({"model": "m"})
    assert a.calls + b.calls == 1
    await p.aclose()


async def test_when_every_member_is_down_the_last_error_is_raised() -> None:
    a, b = FakeMember("http://a"), FakeMember("http://b")
    a.fail = b.fail = ProviderUnavailable("refused")
    p = pool(a, b)
    with pytest.raises(ProviderUnavailable):
        await p.chat({})
    assert a.calls == b.calls == 1
    await p.aclose()


async def test_the_model_list_is_the_union_and_loaded_anywhere_counts() -> None:
    a = FakeMember("http://a", {"m": "not-loaded", "x": "loaded"})
    b = FakeMember("http://b", {"m": "loaded", "y": "not-loaded"})
    b.fail = None
    p = pool(a, b)
    models = {m.id: m.state for m in await p.list_models(detailed=True)}
    assert models == {"m": "loaded", "x": "loaded", "y": "not-loaded"}
    a.fail = ProviderUnavailable("refused")
    assert {m.id for m in await p.list_models()} == {"m", "y"}
    b.fail = ProviderUnavailable("refused")
    with pytest.raises(ProviderUnavailable):
        await p.list_models()
    await p.aclose()
