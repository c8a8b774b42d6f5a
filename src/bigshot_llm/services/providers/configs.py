"""Creating, changing, deleting and activating provider configs, each change audited."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from sqlalchemy import delete as sa_delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.db.models import GLOBAL_SCOPE, ProviderConfig, ProviderSelection
from bigshot_llm.errors import Conflict, Forbidden, NotFound, RequestValidationFailed
from bigshot_llm.providers.kinds import available_kinds
from bigshot_llm.providers.urls import mask_secret
from bigshot_llm.schemas.providers import ActivateRequest, ProviderCreate, ProviderUpdate
from bigshot_llm.services.access import audit
from bigshot_llm.services.access.auth import Principal
from bigshot_llm.services.access.secrets import SecretBox
from bigshot_llm.services.access.url_guard import check_url
from bigshot_llm.services.providers.registry import (
    ProviderRecord,
    ProviderRegistry,
    record_from_row,
)
from bigshot_llm.services.webhooks.dispatcher import enqueue_config_changes


def _check_kind(kind: str) -> None:
    kinds = available_kinds()
    if kind not in kinds:
        raise RequestValidationFailed(
            f"unknown provider kind '{kind}'",
            details=[{"loc": ["body", "kind"], "msg": f"must be one of {', '.join(kinds)}"}],
        )


def _name_taken() -> Conflict:
    return Conflict(
        "a provider with this name already exists in this scope",
        details=[{"loc": ["body", "name"], "msg": "must be unique per owner"}],
    )


async def commit_config_change(
    session: AsyncSession, registry: ProviderRegistry, taken: Callable[[], Conflict]
) -> None:
    """Commit a provider or alias write together with its `config.changed` webhooks (one
    transaction; a unique-name clash is `taken()`), then reload the registry here and on every
    other replica (the bus)."""
    await enqueue_config_changes(session)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise taken() from exc
    await registry.changed()


class ConfigRow(Protocol):
    id: str
    updated_at: datetime


RowT = TypeVar("RowT", bound=ConfigRow)


class ConfigWrites(Generic[RowT]):
    """What the provider and the alias services share: a stored row or a 404, and every write
    committed with its audit event and `config.changed`, then the registry reloaded."""

    session: AsyncSession
    registry: ProviderRegistry
    noun: ClassVar[str]  # in the actions ("provider.update") and the 404s
    target_type: ClassVar[str]  # of the audit events
    row_type: ClassVar[type[Any]]

    def _snapshot(self, row: RowT) -> dict[str, Any]:
        raise NotImplementedError

    def _name_taken(self) -> Conflict:
        raise NotImplementedError

    async def _stored(self, row_id: str) -> RowT:
        row: RowT | None = await self.session.get(self.row_type, row_id)
        if row is None:
            raise NotFound(f"{self.noun} '{row_id}' not found")
        return row

    async def _commit(self) -> None:
        await commit_config_change(self.session, self.registry, self._name_taken)

    async def _created(self, principal: Principal, row: RowT) -> None:
        audit.record(
            self.session,
            principal,
            f"{self.noun}.create",
            self.target_type,
            row.id,
            after=self._snapshot(row),
        )
        await self._commit()

    async def _updated(self, principal: Principal, row: RowT, before: dict[str, Any]) -> None:
        action = f"{self.noun}.update"
        after = self._snapshot(row)
        audit.record_change(
            self.session,
            principal,
            row,
            action,
            self.target_type,
            row.id,
            before=before,
            after=after,
        )
        await self._commit()

    async def _deleted(self, principal: Principal, row: RowT, before: dict[str, Any]) -> None:
        await self.session.delete(row)
        action = f"{self.noun}.delete"
        audit.record(self.session, principal, action, self.target_type, row.id, before=before)
        await self._commit()


def can_manage(principal: Principal, record: ProviderRecord) -> bool:
    if record.owner_id is None:
        return principal.is_admin
    return record.owner_id == principal.user_id or principal.is_admin


def _snapshot(row: ProviderConfig) -> dict[str, Any]:
    data = row.model_dump(exclude={"api_key_encrypted", "created_at", "updated_at"})
    data["api_key"] = bool(row.api_key_encrypted)
    return data


@dataclass(eq=False)
class ProviderConfigService(ConfigWrites[ProviderConfig]):
    """The write side; every method commits its change and its audit event together."""

    noun: ClassVar[str] = "provider"
    target_type: ClassVar[str] = "provider"
    row_type: ClassVar[type[Any]] = ProviderConfig

    session: AsyncSession
    registry: ProviderRegistry
    box: SecretBox
    _: KW_ONLY
    allowed_hosts: frozenset[str] = frozenset()
    max_providers: int = 0  # per non-admin user; 0 = unlimited
    max_pool_urls: int = 0  # over all of a non-admin user's providers

    def _check_caps(
        self, principal: Principal, pool_urls: list[str] | None, *, replacing: str | None = None
    ) -> None:
        """What one user may own: providers, and pool members (each one a server the gateway
        health-checks on the user's behalf, every few seconds)."""
        if principal.is_admin:
            return
        own = [
            r
            for r in self.registry.all_records()
            if r.owner_id == principal.user_id and r.id != replacing
        ]
        if replacing is None and self.max_providers and len(own) >= self.max_providers:
            raise Conflict(
                f"you already have {len(own)} providers, the most a user may have "
                f"(BIGSHOT_MAX_PROVIDERS_PER_USER={self.max_providers}); delete one first",
                code="too_many_providers",
            )
        total = sum(len(r.pool_urls) for r in own) + len(pool_urls or ())
        if self.max_pool_urls and total > self.max_pool_urls:
            raise RequestValidationFailed(
                f"pool_urls: your providers would have {total} pool members, more than a user "
                f"may have (BIGSHOT_MAX_POOL_URLS_PER_USER={self.max_pool_urls})",
                details=[{"loc": ["body", "pool_urls"], "msg": "too many pool members"}],
            )

    async def _guard(self, principal: Principal, *urls: str, field: str = "base_url") -> None:
        """The SSRF guard, for the base URL and every pool member alike."""
        for url in urls:
            await check_url(
                url,
                privileged=principal.is_admin,
                allowed_hosts=self.allowed_hosts,
                field=field,
                forbidden_ports=self.registry.forbidden_ports,
            )

    def _manageable(self, principal: Principal, provider_id: str) -> ProviderRecord:
        record = self.registry.get(provider_id)
        if record is None or not (
            record.owner_id in (None, principal.user_id) or principal.is_admin
        ):
            raise NotFound(f"provider '{provider_id}' not found")
        if not can_manage(principal, record):
            raise Forbidden("only admins can change global providers")
        return record

    async def _flush(self) -> None:
        try:
            await self.session.flush()
        except IntegrityError as exc:
            await self.session.rollback()
            raise _name_taken() from exc

    def _snapshot(self, row: ProviderConfig) -> dict[str, Any]:
        return _snapshot(row)

    def _name_taken(self) -> Conflict:
        return _name_taken()

    async def create(self, principal: Principal, body: ProviderCreate) -> ProviderRecord:
        _check_kind(body.kind)
        self._check_caps(principal, body.pool_urls)
        await self._guard(principal, body.base_url)
        await self._guard(principal, *(body.pool_urls or ()), field="pool_urls")
        if body.scope == "global" and not principal.is_admin:
            raise Forbidden("only admins can create global providers")
        is_global = principal.is_admin and body.scope != "user"
        owner_id = None if is_global else principal.user_id
        data = body.model_dump(exclude={"api_key", "scope"})
        row = ProviderConfig(
            **data,
            owner_id=owner_id,
            scope=owner_id or GLOBAL_SCOPE,
            api_key_encrypted=self.box.encrypt(body.api_key) if body.api_key else None,
        )
        self.session.add(row)
        await self._flush()
        await self._created(principal, row)
        return self._record(row.id)

    async def update(
        self, principal: Principal, provider_id: str, body: ProviderUpdate
    ) -> ProviderRecord:
        record = self._manageable(principal, provider_id)
        row = await self._stored(provider_id)
        before = _snapshot(row)
        changes = body.model_dump(exclude_unset=True)
        if "kind" in changes and changes["kind"] is not None:
            _check_kind(changes["kind"])
        if changes.get("base_url"):
            await self._guard(principal, changes["base_url"])
        if changes.get("pool_urls"):
            self._check_caps(principal, changes["pool_urls"], replacing=record.id)
            await self._guard(principal, *changes["pool_urls"], field="pool_urls")
        if "api_key" in changes:
            new_key = changes.pop("api_key")
            if new_key is None or new_key == "":
                row.api_key_encrypted = None
            elif not (record.api_key and new_key == mask_secret(record.api_key)):
                row.api_key_encrypted = self.box.encrypt(new_key)
        for name, value in changes.items():
            nullable = (
                "default_model",
                "pool_urls",
                "split_think_tags",
                "pool_weights",
                "watts_per_instance",
                "model_prices",
                "fallbacks",
            )
            if value is None and name not in nullable:
                raise RequestValidationFailed(
                    f"'{name}' cannot be null",
                    details=[{"loc": ["body", name], "msg": "may not be null"}],
                )
            setattr(row, name, value)
        await self._updated(principal, row, before)
        return self._record(row.id)

    async def delete(self, principal: Principal, provider_id: str) -> None:
        self._manageable(principal, provider_id)
        row = await self._stored(provider_id)
        before = _snapshot(row)
        await self.session.exec(
            sa_delete(ProviderSelection).where(col(ProviderSelection.provider_id) == provider_id)
        )
        await self._deleted(principal, row, before)

    async def activate(
        self, principal: Principal, provider_id: str, body: ActivateRequest
    ) -> tuple[ProviderRecord, str]:
        record = self.registry.lookup(principal, provider_id)
        scope_kind = body.scope or ("global" if principal.is_admin else "user")
        if scope_kind == "global" and not principal.is_admin:
            raise Forbidden("only admins can change the global active provider")
        if scope_kind == "global" and record.owner_id is not None:
            raise Conflict("a user's own provider cannot be the global active provider")
        if not record.enabled:
            raise Conflict(f"provider '{record.name}' is disabled; enable it first")
        scope = GLOBAL_SCOPE if scope_kind == "global" else principal.user_id
        selection = await self.session.get(ProviderSelection, scope)
        before = {"provider_id": selection.provider_id} if selection else None
        if selection is None:
            selection = ProviderSelection(scope=scope, provider_id=record.id)
        else:
            selection.provider_id = record.id
        audit.record_change(
            self.session,
            principal,
            selection,
            "provider.activate",
            "provider",
            record.id,
            before=before,
            after={"provider_id": record.id, "scope": scope_kind},
        )
        await self._commit()
        return self._record(record.id), scope_kind

    def _record(self, provider_id: str) -> ProviderRecord:
        record = self.registry.get(provider_id)
        if record is None:  # pragma: no cover - reload just ran
            raise NotFound(f"provider '{provider_id}' not found")
        return record


async def bootstrap_default_provider(
    session: AsyncSession,
    registry: ProviderRegistry,
    box: SecretBox,
    *,
    kind: str,
    base_url: str,
    api_key: str | None,
    default_model: str | None,
) -> ProviderRecord | None:
    """On first start (no configs at all), create one global provider from the environment."""
    existing = (await session.exec(select(ProviderConfig.id).limit(1))).first()
    if existing is not None:
        return None
    name = "LMStudio Local" if kind == "lmstudio" else "OpenAI"
    row = ProviderConfig(
        name=name,
        kind=kind,
        base_url=base_url,
        api_key_encrypted=box.encrypt(api_key) if api_key else None,
        default_model=default_model,
        scope=GLOBAL_SCOPE,
    )
    session.add(row)
    await session.flush()
    session.add(ProviderSelection(scope=GLOBAL_SCOPE, provider_id=row.id))
    audit.record(session, None, "provider.bootstrap", "provider", row.id, after=_snapshot(row))
    await session.commit()
    await registry.reload()
    return record_from_row(row, box)
