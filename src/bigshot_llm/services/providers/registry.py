"""In-process snapshot of provider configs and selections, and the live provider clients.

The hot path reads only this snapshot (no database query per request); it includes the
stored model aliases (`aliases`), which name providers. Every write reloads it; on several
replicas a pub/sub message makes the others reload too. A provider client is created on
first use and rebuilt when its config changes; the old one is closed once idle,
so streams already running on it finish undisturbed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.db.models import (
    GLOBAL_SCOPE,
    ModelAlias,
    ProviderConfig,
    ProviderSelection,
    User,
)
from bigshot_llm.errors import GatewayError, NotFound
from bigshot_llm.providers.addresses import PRIVILEGED, AddressPolicy
from bigshot_llm.providers.base import Provider, ProviderLimits, ProviderSpec, TransportName
from bigshot_llm.providers.kinds import create_provider
from bigshot_llm.providers.urls import mask_secret
from bigshot_llm.schemas.providers import ProviderPublic
from bigshot_llm.services.access.auth import Principal
from bigshot_llm.services.access.secrets import SecretBox, SecretUnreadable
from bigshot_llm.services.providers.alias_book import AliasBook, AliasRecord

log = logging.getLogger(__name__)
TransportWrapper = Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport]


@dataclass(frozen=True, slots=True)
class ProviderRecord:
    """A stored provider config with its key decrypted (never serialised as is)."""

    id: str
    scope: str
    owner_id: str | None
    name: str
    kind: str
    base_url: str
    api_key: str | None = field(repr=False)
    default_model: str | None
    connect_timeout: float
    list_timeout: float
    read_timeout: float
    stream_idle_timeout: float
    max_connections: int
    max_keepalive_connections: int
    enabled: bool
    created_at: datetime
    updated_at: datetime
    exclusive_loading: bool = False
    pool_urls: tuple[str, ...] = ()
    # Why the stored API key could not be decrypted (None: it could, or there is none).
    secret_error: str | None = None
    owner_is_admin: bool = False
    split_think_tags: bool | None = None  # None: on for LM Studio, off elsewhere
    repair_v1: bool = False
    # Admission over a pool: member URL → weight (1 when absent); "preference" fills the
    # members in order (base_url first) instead of balancing them.
    pool_weights: tuple[tuple[str, float], ...] = ()  # pairs: the record stays hashable
    pool_order: str = "balanced"
    # Accounting: the watts one busy instance draws, and model id → (input, output) shadow
    # price in USD per million tokens (pairs: the record stays hashable).
    watts_per_instance: float | None = None
    model_prices: tuple[tuple[str, tuple[float, float]], ...] = ()
    native_apis: str = "auto"  # auto | on | off (providers.native)
    # Tried in order when this provider fails before the first byte: (provider, model) pairs,
    # None meaning this provider / the request's model.
    fallbacks: tuple[tuple[str | None, str | None], ...] = ()

    def price_of(self, model: str) -> tuple[float, float] | None:
        """The model's shadow price per million (input, output) tokens, if declared."""
        return dict(self.model_prices).get(model)

    def weight_of(self, url: str) -> float:
        """A pool member's weight in admission (1 unless `pool_weights` names it)."""
        return dict(self.pool_weights).get(url, 1.0)

    @property
    def privileged(self) -> bool:
        """Made by an admin (global, or an admin's own): may reach private hosts."""
        return self.owner_id is None or self.owner_is_admin

    @property
    def splits_think_tags(self) -> bool:
        """Whether an inline `<think>` block at the start of an answer is reasoning."""
        if self.split_think_tags is None:
            return self.kind == "lmstudio"
        return self.split_think_tags

    def spec(
        self,
        transport: TransportName,
        retry_attempts: int,
        keepalive_expiry: float = 4.0,
        limits: ProviderLimits | None = None,
        policy: AddressPolicy | None = None,
        wrap_transport: TransportWrapper | None = None,
    ) -> ProviderSpec:
        shared = {name: getattr(self, name) for name in _SPEC_FIELDS}
        return ProviderSpec(
            **shared,
            retry_attempts=retry_attempts,
            keepalive_expiry=keepalive_expiry,
            transport=transport,
            limits=limits or ProviderLimits(),
            address_policy=policy,
            echo_upstream_errors=self.owner_id is None,
            wrap_transport=wrap_transport,
        )

    def public(self) -> ProviderPublic:
        """The API's view: the key only as a mask."""
        shared = {name: getattr(self, name) for name in _PUBLIC_FIELDS}
        return ProviderPublic(
            **shared,
            provider=self.kind,
            api_key=mask_secret(self.api_key) if self.api_key else None,
            has_api_key=bool(self.api_key),
            scope="global" if self.owner_id is None else "user",
            pool_urls=list(self.pool_urls),
            split_think_tags=self.splits_think_tags,
            pool_weights=dict(self.pool_weights),
            model_prices={
                model: {"input_per_mtok": inp, "output_per_mtok": out}
                for model, (inp, out) in self.model_prices
            },
            fallbacks=[{"provider": p, "model": m} for p, m in self.fallbacks],
        )

    def summary(self) -> dict[str, Any]:
        """Which provider answered: embedded in other answers (model lists, model ops)."""
        return {"id": self.id, "name": self.name, "provider": self.kind, "base_url": self.base_url}


def unreadable_secret(record: ProviderRecord) -> GatewayError:
    """The clear error for a provider whose stored key the current secret cannot open."""
    return GatewayError(
        f"provider '{record.name}' ({record.id}): its stored API key cannot be decrypted; "
        "BIGSHOT_SECRET_KEY changed without `bigshot-llm secrets rotate` (rotate, or set the "
        "provider's api_key again)",
        code="secret_unreadable",
    )


def _decrypted(row: ProviderConfig, box: SecretBox) -> tuple[str | None, str | None]:
    """(the API key, None) or (None, why it cannot be read): one bad row must not take the
    whole snapshot (and with it every provider) down."""
    if not row.api_key_encrypted:
        return None, None
    try:
        return box.decrypt(row.api_key_encrypted), None
    except SecretUnreadable as exc:
        log.error("provider %r (%s): %s", row.name, row.id, exc)
        return None, str(exc)


_RECORD_FIELDS = [f.name for f in fields(ProviderRecord)]
_SPEC_FIELDS = [f.name for f in fields(ProviderSpec) if f.name in _RECORD_FIELDS]
_COMPUTED = {
    "provider",
    "api_key",
    "has_api_key",
    "scope",
    "pool_urls",
    "split_think_tags",
    "pool_weights",
    "model_prices",
    "fallbacks",
}
_PUBLIC_FIELDS = [
    n for n in ProviderPublic.model_fields if n in _RECORD_FIELDS and n not in _COMPUTED
]
_NOT_COPIED = (
    "api_key",
    "exclusive_loading",
    "pool_urls",
    "secret_error",
    "owner_is_admin",
    "repair_v1",
    "pool_weights",
    "model_prices",
    "fallbacks",
)
_ROW_FIELDS = [n for n in _RECORD_FIELDS if n not in _NOT_COPIED]


def record_from_row(
    row: ProviderConfig, box: SecretBox, owner_role: str | None = None
) -> ProviderRecord:
    api_key, secret_error = _decrypted(row, box)
    copied = {name: getattr(row, name) for name in _ROW_FIELDS}
    return ProviderRecord(
        **copied,
        api_key=api_key,
        exclusive_loading=bool(row.exclusive_loading),
        pool_urls=tuple(row.pool_urls or ()),
        secret_error=secret_error,
        owner_is_admin=owner_role == "admin",
        repair_v1=bool(row.repair_v1),
        pool_weights=tuple((row.pool_weights or {}).items()),
        model_prices=_prices(row.model_prices),
        fallbacks=tuple((f.get("provider"), f.get("model")) for f in row.fallbacks or ()),
    )


def _prices(stored: dict[str, Any] | None) -> tuple[tuple[str, tuple[float, float]], ...]:
    """The stored JSON map as hashable pairs; an entry that is not two numbers is skipped
    (the API validates them, but a hand-edited row must not take the snapshot down)."""
    out = []
    for model, price in (stored or {}).items():
        try:
            out.append((model, (float(price["input_per_mtok"]), float(price["output_per_mtok"]))))
        except (KeyError, TypeError, ValueError):
            log.warning("provider model price for %r is malformed; ignored", model)
    return tuple(out)


class ProviderRegistry:
    """The snapshot every request reads, plus one pooled provider client per config."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        *,
        transport: TransportName = "aiohttp",
        retry_attempts: int = 2,
        pool_health_seconds: float = 5.0,
        keepalive_expiry: float = 4.0,
        limits: ProviderLimits | None = None,
        allowed_hosts: frozenset[str] = frozenset(),
        forbidden_ports: frozenset[int] = frozenset(),
        wrap_transport: TransportWrapper | None = None,
    ) -> None:
        self._sessions = sessions
        self.wrap_transport = wrap_transport  # traces: the clients' transports, instrumented
        self._box = box
        self.transport: TransportName = transport
        self.retry_attempts = retry_attempts
        self.keepalive_expiry = keepalive_expiry
        self.limits = limits or ProviderLimits()
        self._records: dict[str, ProviderRecord] = {}
        self._selections: dict[str, str] = {}
        self.aliases = AliasBook()
        self._live: dict[str, tuple[ProviderSpec, Provider]] = {}
        self._retired: list[Provider] = []
        self._lock = asyncio.Lock()
        self.version = 0
        self.pool_health_seconds = pool_health_seconds
        self._change_listeners: list[Callable[[], Awaitable[None]]] = []
        self.allowed_hosts = allowed_hosts
        self.forbidden_ports = forbidden_ports

    async def reload(self) -> None:
        """Re-read every config and selection (they are few) and swap the snapshot."""
        async with self._lock:
            async with self._sessions() as session:
                stmt = select(ProviderConfig, User.role).outerjoin(
                    User,
                    User.id == ProviderConfig.owner_id,  # type: ignore[arg-type]
                )
                rows = (await session.exec(stmt)).all()
                selections = (await session.exec(select(ProviderSelection))).all()
                aliases = (await session.exec(select(ModelAlias))).all()
            self._records = {row.id: record_from_row(row, self._box, role) for row, role in rows}
            self._selections = {sel.scope: sel.provider_id for sel in selections}
            self.aliases = AliasBook(AliasRecord.of(row) for row in aliases)
            self.version += 1
            for provider_id, (spec, _) in list(self._live.items()):
                record = self._records.get(provider_id)
                # Gone, or changed: the next request builds a new client; the old one stops
                # its background work now (a pool's health checks) and closes later.
                if record is None or self._spec(record) != spec:
                    self._retire(self._live.pop(provider_id)[1])

    def on_change(self, listener: Callable[[], Awaitable[None]]) -> None:
        """Call `listener` after every local write (the Redis bus tells the other replicas)."""
        self._change_listeners.append(listener)

    async def changed(self) -> None:
        """A config or selection was written: reload here, then notify the listeners."""
        await self.reload()
        for listener in self._change_listeners:
            try:
                await listener()
            except Exception:
                log.warning("announcing a provider change failed", exc_info=True)

    # ---- reading the snapshot -------------------------------------------------------------

    def all_records(self) -> list[ProviderRecord]:
        return sorted(self._records.values(), key=lambda r: (r.owner_id is not None, r.name))

    def usable_by(self, principal: Principal) -> list[ProviderRecord]:
        """Global providers and the caller's own."""
        return [r for r in self.all_records() if r.owner_id in (None, principal.user_id)]

    def visible_to(self, principal: Principal) -> list[ProviderRecord]:
        """What the config API shows: admins see every config, users their own and globals."""
        if principal.is_admin:
            return self.all_records()
        return self.usable_by(principal)

    def get(self, provider_id: str) -> ProviderRecord | None:
        return self._records.get(provider_id)

    def lookup(self, principal: Principal, id_or_name: str) -> ProviderRecord:
        """A provider the caller may use, by id or name (own names win over global ones)."""
        record = self._records.get(id_or_name)
        if record is not None and record.owner_id in (None, principal.user_id):
            return record
        if record is not None and principal.is_admin:
            return record
        matches = [r for r in self.usable_by(principal) if r.name == id_or_name]
        matches.sort(key=lambda r: r.owner_id is None)
        if matches:
            return matches[0]
        raise NotFound(f"provider '{id_or_name}' not found", details={"provider": id_or_name})

    def selection(self, scope: str) -> str | None:
        return self._selections.get(scope)

    def active_for(self, principal: Principal | None) -> ProviderRecord | None:
        """The caller's own active provider, else the global one (enabled ones only)."""
        scopes = [principal.user_id, GLOBAL_SCOPE] if principal else [GLOBAL_SCOPE]
        for scope in scopes:
            provider_id = self._selections.get(scope)
            record = self._records.get(provider_id) if provider_id else None
            if record is not None and record.enabled:
                return record
        return None

    # ---- live clients ---------------------------------------------------------------------

    def provider(self, record: ProviderRecord) -> Provider:
        """The pooled provider for a config, rebuilt when the config changed."""
        if record.secret_error is not None:
            raise unreadable_secret(record)
        spec = self._spec(record)
        live = self._live.get(record.id)
        if live is not None and live[0] == spec:
            return live[1]
        provider = create_provider(spec, health_interval=self.pool_health_seconds)
        self._live[record.id] = (spec, provider)
        if live is not None:
            self._retire(live[1])
        return provider

    def _spec(self, record: ProviderRecord) -> ProviderSpec:
        return record.spec(
            self.transport,
            self.retry_attempts,
            self.keepalive_expiry,
            self.limits,
            self.policy_for(record),
            self.wrap_transport,
        )

    def policy_for(self, record: ProviderRecord) -> AddressPolicy:
        """What the provider's connections may reach, checked again at connect time."""
        if record.privileged:
            return PRIVILEGED
        return AddressPolicy(False, self.allowed_hosts, self.forbidden_ports)

    def _retire(self, provider: Provider) -> None:
        """Close an outdated client later, letting running streams end on it; its background
        work (a pool's health checks) stops at once."""
        retire = getattr(provider, "retire", None)
        if callable(retire):
            retire()
        self._retired.append(provider)
        loop = asyncio.get_running_loop()
        loop.call_later(
            provider.spec.stream_idle_timeout + 5, lambda: loop.create_task(self._close(provider))
        )

    async def _close(self, provider: Provider) -> None:
        if provider in self._retired:
            self._retired.remove(provider)
            await provider.aclose()

    async def aclose(self) -> None:
        providers = [p for _, p in self._live.values()] + self._retired
        self._live.clear()
        self._retired.clear()
        for provider in providers:
            try:
                await provider.aclose()
            except Exception:
                log.warning("closing a provider client failed", exc_info=True)
