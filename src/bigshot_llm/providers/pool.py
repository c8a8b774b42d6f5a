"""A provider pool: several upstream servers serving the same models behind one config.

`PooledProvider` implements the `Provider` protocol by wrapping one provider per member (each
with its own connection pool), so the LLM service and both API surfaces see a single provider.

* **Choice**: the member with the fewest in-flight requests among those that have the model,
  loaded ones first (each member's last model list, from the health check or a listing).
  Ties rotate, so sequential requests spread out too.
* **Failover**: a member that fails *before the first byte* reached the client in a way
  `send_with_retries` treats as transient (connection refused, 502, 503), or that drops the
  connection (it was stopped), is marked down and the request goes to the next member. Once
  a stream has yielded a chunk it is never retried elsewhere: the client has already seen
  tokens, and a second generation would not continue the first.
* **Health**: a background task lists every member's models each `health_interval` seconds,
  marking members down or up again; it runs while the pool is in use and stops on `aclose`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from bigshot_llm.aio import close_iterator, stop_task
from bigshot_llm.errors import GatewayError, ProviderTimeout, ProviderUnavailable, UpstreamError
from bigshot_llm.providers.base import ModelInfo, Provider, ProviderSpec, StreamChunk
from bigshot_llm.providers.http import TRANSPORT_ERRORS

log = logging.getLogger(__name__)

TRANSIENT_STATUSES = frozenset({502, 503})
_MISSING = object()


def is_transient(exc: GatewayError) -> bool:
    """Failures worth trying on another member, since the client has received nothing yet:
    refused, 502/503, or the member dropped the connection (it was stopped). Timeouts are not:
    a slow member may still be generating, and a second generation would double the cost."""
    if isinstance(exc, ProviderTimeout):
        return False
    if isinstance(exc, ProviderUnavailable):
        return True
    details = exc.details if isinstance(exc.details, dict) else {}
    if isinstance(exc, UpstreamError) and details.get("upstream_status") in TRANSIENT_STATUSES:
        return True
    # `map_transport_error` already sorted timeouts (ProviderTimeout, above) from drops.
    return type(exc) is UpstreamError and isinstance(exc.__cause__, TRANSPORT_ERRORS)


@dataclass(slots=True)
class Member:
    """One server of the pool and what the pool knows about it."""

    url: str
    provider: Provider
    up: bool = True
    inflight: int = 0
    models: dict[str, str | None] = field(default_factory=dict)  # id -> state
    instances: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # id -> loaded
    checked_at: float | None = None
    last_error: str | None = None

    def rank(self, model: str | None) -> int:
        """0: has the model loaded, 1: has it (or the list is unknown), 2: lacks it."""
        if model is None or not self.models:
            return 1 if model is not None else 0
        state = self.models.get(model, _MISSING)
        if state is _MISSING:
            return 2
        return 0 if state == "loaded" else 1

    def public(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "up": self.up,
            "inflight": self.inflight,
            "models": len(self.models),
            "last_error": self.last_error,
        }


class PooledProvider:
    """The `Provider` protocol over several members of one kind."""

    def __init__(
        self, spec: ProviderSpec, members: list[Provider], *, health_interval: float = 5.0
    ) -> None:
        if not members:
            raise ValueError("a pool needs at least one member")
        self.spec = spec
        self.members = [Member(m.spec.base_url, m) for m in members]
        self.health_interval = health_interval
        self._turn = itertools.count()
        self._health: asyncio.Task[None] | None = None
        self._closed = False

    # ---- choosing a member ----------------------------------------------------------------

    def ranked(self, model: str | None, prefer: str | None = None) -> list[Member]:
        """Members in the order to try: up ones by (has model, in-flight, rotation), then down;
        the `prefer`red member (the one admission gave a slot, or a conversation's last) first
        while it is up."""
        self._ensure_health()
        turn = next(self._turn)
        size = len(self.members)
        order = {id(m): (i - turn) % size for i, m in enumerate(self.members)}

        def key(m: Member) -> tuple[int, int, int, int, int]:
            preferred = 0 if prefer is not None and m.url == prefer else 1
            return (0 if m.up else 1, preferred, m.rank(model), m.inflight, order[id(m)])

        return sorted(self.members, key=key)

    def member(self, url: str) -> Member | None:
        return next((m for m in self.members if m.url == url), None)

    def _mark_down(self, member: Member, exc: GatewayError) -> None:
        if member.up:
            log.warning("pool %s: member %s is down (%s)", self.spec.name, member.url, exc)
        member.up = False
        member.last_error = exc.message

    async def _call(
        self,
        body: dict[str, Any],
        op: Callable[[Provider], Awaitable[Any]],
        prefer: str | None = None,
        served: Callable[[str], None] | None = None,
    ) -> Any:
        last: GatewayError | None = None
        for member in self.ranked(body.get("model"), prefer):
            member.inflight += 1
            try:
                result = await op(member.provider)
                if served is not None:
                    served(member.url)
                return result
            except GatewayError as exc:
                if not is_transient(exc):
                    raise
                self._mark_down(member, exc)
                last = exc
            finally:
                member.inflight -= 1
        raise last or ProviderUnavailable(f"no member of {self.spec.name} is available")

    async def _stream(
        self,
        body: dict[str, Any],
        name: str,
        prefer: str | None = None,
        served: Callable[[str], None] | None = None,
    ) -> AsyncIterator[StreamChunk]:
        last: GatewayError | None = None
        for member in self.ranked(body.get("model"), prefer):
            member.inflight += 1
            chunks: AsyncIterator[StreamChunk] = getattr(member.provider, name)(body)
            try:
                try:
                    first = await chunks.__anext__()
                except StopAsyncIteration:
                    return
                except GatewayError as exc:
                    if not is_transient(exc):
                        raise
                    self._mark_down(member, exc)
                    last = exc
                    continue
                if served is not None:
                    served(member.url)  # the member that answers, maybe not the preferred one
                yield first  # from here on, no failover: the client has seen tokens
                async for chunk in chunks:
                    yield chunk
                return
            finally:
                member.inflight -= 1
                await close_iterator(chunks)
        raise last or ProviderUnavailable(f"no member of {self.spec.name} is available")

    # ---- the Provider protocol ------------------------------------------------------------

    async def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(body, lambda p: p.chat(body))
        return result

    async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(body, lambda p: p.complete(body))
        return result

    async def embed(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(body, lambda p: p.embed(body))
        return result

    def stream_chat(self, body: dict[str, Any]) -> AsyncIterator[StreamChunk]:
        return self._stream(body, "stream_chat")

    def stream_complete(self, body: dict[str, Any]) -> AsyncIterator[StreamChunk]:
        return self._stream(body, "stream_complete")

    # ---- on a chosen member (admission's slot, a conversation's member) ---------------------

    def stream_on(
        self,
        url: str,
        body: dict[str, Any],
        *,
        chat: bool,
        served: Callable[[str], None] | None = None,
    ) -> AsyncIterator[StreamChunk]:
        """A stream on the member at `url` (others only if it fails before the first byte);
        `served` is told the URL of the member that answered."""
        return self._stream(body, "stream_chat" if chat else "stream_complete", url, served)

    async def call_on(
        self,
        url: str,
        body: dict[str, Any],
        op: str,
        served: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        """A one-shot `op` (chat, complete) on the member at `url`, failing over like `_call`;
        `served` is told the URL of the member that answered."""
        result: dict[str, Any] = await self._call(
            body, lambda p: getattr(p, op)(body), prefer=url, served=served
        )
        return result

    async def list_models(self, detailed: bool = False) -> list[ModelInfo]:
        """The union of the members' lists (a model is loaded when any member has it loaded)."""
        self._ensure_health()
        results = await asyncio.gather(
            *(self._list(m) for m in self.members), return_exceptions=True
        )
        merged: dict[str, ModelInfo] = {}
        errors = [r for r in results if isinstance(r, BaseException)]
        for result in results:
            if isinstance(result, BaseException):
                continue
            for info in result:
                known = merged.get(info.id)
                if known is None:
                    merged[info.id] = replace(info)
                elif info.state == "loaded":
                    known.state = "loaded"
        if not merged and len(errors) == len(results):
            raise errors[0]
        models = list(merged.values())
        return models if detailed else [ModelInfo(id=m.id, type=m.type) for m in models]

    async def _list(self, member: Member) -> list[ModelInfo]:
        try:
            models = await member.provider.list_models(detailed=True)
        except GatewayError as exc:
            self._mark_down(member, exc)
            raise
        if not member.up:
            log.info("pool %s: member %s is up again", self.spec.name, member.url)
        member.up, member.last_error = True, None
        member.models = {m.id: m.state for m in models}
        member.instances = {m.id: m.instances for m in models if m.instances}
        member.checked_at = time.monotonic()
        return models

    # ---- health ---------------------------------------------------------------------------

    def _ensure_health(self) -> None:
        if self._health is None and not self._closed:
            self._health = asyncio.get_running_loop().create_task(
                self._health_loop(), name=f"pool-health-{self.spec.id}"
            )

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self.health_interval)
            await self.check_health()

    async def check_health(self) -> None:
        """List every member's models once: the up/down marks and model lists follow."""
        await asyncio.gather(*(self._list(m) for m in self.members), return_exceptions=True)

    def retire(self) -> None:
        """The config changed or was deleted: no new requests come here. Stop the health
        checks now (they would go on asking servers nobody uses); `aclose` follows once the
        streams still running on the members have ended."""
        self._closed = True
        if self._health is not None:
            self._health.cancel()

    async def aclose(self) -> None:
        self._closed = True
        await stop_task(self._health)
        self._health = None
        for member in self.members:
            try:
                await member.provider.aclose()
            except Exception:
                log.warning("closing pool member %s failed", member.url, exc_info=True)


class LoadablePooledProvider(PooledProvider):
    """A pool of servers that load and unload models (LM Studio): applied to every up member."""

    async def load_model(self, model: str, **opts: Any) -> dict[str, Any]:
        return await self._everywhere(lambda p: p.load_model(model, **opts))  # type: ignore[attr-defined]

    async def unload_model(self, model_or_instance_id: str) -> dict[str, Any]:
        return await self._everywhere(lambda p: p.unload_model(model_or_instance_id))  # type: ignore[attr-defined]

    async def _everywhere(self, op: Callable[[Provider], Awaitable[Any]]) -> dict[str, Any]:
        members = [m for m in self.members if m.up] or self.members
        results = await asyncio.gather(*(op(m.provider) for m in members), return_exceptions=True)
        for result in results:
            if not isinstance(result, BaseException):
                return dict(result)
        raise results[0]


def create_pool(spec: ProviderSpec, cls: type, *, health_interval: float = 5.0) -> Provider:
    """A pool over `spec.base_url` and `spec.pool_urls`, one `cls` provider per member."""
    urls = list(dict.fromkeys((spec.base_url, *spec.pool_urls)))
    members = [cls(replace(spec, base_url=url, pool_urls=())) for url in urls]
    loadable = callable(getattr(cls, "load_model", None))
    pool_cls = LoadablePooledProvider if loadable else PooledProvider
    pool: Provider = pool_cls(spec, members, health_interval=health_interval)
    return pool
