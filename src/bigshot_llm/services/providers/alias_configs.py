"""Creating, changing and deleting model aliases, each change audited and announced.

Who may do what follows provider ownership: admins manage global aliases and any user's
own; a user manages their own (a per-user alias overrides a global one of the same name for
that user alone). A global alias may name only a global provider (everyone must be able to
use it); a user's alias a global provider or one of that user's own.

The model is checked against the provider's model list when that list can be read (an
unknown model is a 422 naming the available ones); when it cannot (the server is down), the
alias is stored anyway and the answer carries a warning: a provider being offline must not
stop an admin from configuring it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.db.models import GLOBAL_SCOPE, ModelAlias, User
from bigshot_llm.errors import Conflict, Forbidden, GatewayError, NotFound, RequestValidationFailed
from bigshot_llm.schemas.aliases import AliasCreate, AliasPublic, AliasUpdate, AliasWritten
from bigshot_llm.services.access.auth import Principal
from bigshot_llm.services.generation.routing import Router, qualified_id
from bigshot_llm.services.providers.alias_book import AliasRecord
from bigshot_llm.services.providers.configs import ConfigWrites
from bigshot_llm.services.providers.registry import ProviderRecord, ProviderRegistry

MAX_ALIASES_PER_USER = 200  # a user's own; admins are not capped
SHOWN_MODELS = 50  # of the available ones, in a 422


def _invalid(field: str, reason: str, **details: Any) -> RequestValidationFailed:
    return RequestValidationFailed(
        f"{field}: {reason}",
        details=[{"loc": ["body", field], "field": field, "msg": reason, **details}],
    )


def _name_taken() -> Conflict:
    return Conflict(
        "an alias with this name already exists in this scope",
        details=[{"loc": ["body", "name"], "field": "name", "msg": "must be unique per owner"}],
    )


def alias_public(record: AliasRecord, registry: ProviderRegistry) -> AliasPublic:
    provider = registry.get(record.provider_id)
    return AliasPublic(
        id=record.id,
        name=record.name,
        scope="global" if record.owner_id is None else "user",
        owner_id=record.owner_id,
        provider_id=record.provider_id,
        provider_name=provider.name if provider else None,
        model=record.model,
        target=qualified_id(provider.name, record.model) if provider else None,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def _snapshot(row: ModelAlias) -> dict[str, Any]:
    return row.model_dump(exclude={"created_at", "updated_at"})


class AliasService(ConfigWrites[ModelAlias]):
    """The write side; every method commits its change and its audit event together."""

    noun: ClassVar[str] = "alias"
    target_type: ClassVar[str] = "model_alias"
    row_type: ClassVar[type[Any]] = ModelAlias

    def __init__(self, session: AsyncSession, router: Router) -> None:
        self.session = session
        self.router = router
        self.registry = router.registry

    # ---- reading --------------------------------------------------------------------------

    def visible(self, principal: Principal) -> list[AliasRecord]:
        """Admins see every alias; users the global ones and their own."""
        book = self.registry.aliases
        return book.all() if principal.is_admin else book.visible_to(principal.user_id)

    def one(self, principal: Principal, alias_id: str) -> AliasRecord:
        record = self.registry.aliases.get(alias_id)
        if record is None or not (
            principal.is_admin or record.owner_id in (None, principal.user_id)
        ):
            raise NotFound(f"alias '{alias_id}' not found", details={"alias": alias_id})
        return record

    def written(self, alias_id: str, warnings: list[str]) -> AliasWritten:
        record = self.registry.aliases.get(alias_id)
        if record is None:  # pragma: no cover - the reload just ran
            raise NotFound(f"alias '{alias_id}' not found")
        public = alias_public(record, self.registry)
        return AliasWritten(**public.model_dump(), warnings=warnings)

    # ---- checks ---------------------------------------------------------------------------

    async def _owner(self, principal: Principal, body: AliasCreate) -> str | None:
        """The alias's owner: None for a global alias, else a user id."""
        if body.owner_id is not None:
            if body.scope == "global":
                raise _invalid("owner_id", "a global alias has no owner; leave owner_id out")
            if body.owner_id != principal.user_id and not principal.is_admin:
                raise Forbidden("only admins can manage other users' aliases")
            if await self.session.get(User, body.owner_id) is None:
                raise _invalid("owner_id", f"no user with id '{body.owner_id}'")
            return body.owner_id
        if body.scope == "global" and not principal.is_admin:
            raise Forbidden("only admins can create global aliases")
        is_global = principal.is_admin and body.scope != "user"
        return None if is_global else principal.user_id

    def _provider(self, owner_id: str | None, ref: str) -> ProviderRecord:
        """The target provider, by id or name, among those every user of the alias may use."""
        record = self.registry.get(ref)
        if record is None or record.owner_id not in (None, owner_id):
            usable = [r for r in self.registry.all_records() if r.owner_id in (None, owner_id)]
            named = sorted((r for r in usable if r.name == ref), key=lambda r: r.owner_id is None)
            record = named[0] if named else None
        if record is None or record.owner_id not in (None, owner_id):
            reason = (
                "no such global provider (a global alias may name only a global provider)"
                if owner_id is None
                else "no such provider among the global ones and the alias owner's own"
            )
            raise _invalid("provider_id", reason, value=ref)
        return record

    async def _check_model(self, record: ProviderRecord, model: str) -> list[str]:
        """422 when the provider's list is known and lacks `model`; a warning when unknown."""
        try:
            listing = await self.router.catalog.get(
                record, self.registry.provider(record), detailed=False
            )
        except GatewayError as exc:
            return [
                f"model '{model}' not checked: provider '{record.name}' did not list its "
                f"models ({exc.message})"
            ]
        ids = listing.ids()
        if model in ids:
            return []
        if listing.stale:
            return [f"model '{model}' is not in provider '{record.name}''s last known list"]
        raise _invalid(
            "model",
            f"provider '{record.name}' has no model '{model}'",
            available=sorted(ids)[:SHOWN_MODELS],
        )

    def _check_cap(self, principal: Principal, owner_id: str | None) -> None:
        if principal.is_admin or owner_id is None:
            return
        own = [r for r in self.registry.aliases.all() if r.owner_id == owner_id]
        if len(own) >= MAX_ALIASES_PER_USER:
            raise Conflict(
                f"you already have {len(own)} aliases, the most a user may have; delete one",
                code="too_many_aliases",
            )

    def _manageable(self, principal: Principal, alias_id: str) -> AliasRecord:
        record = self.one(principal, alias_id)
        if record.owner_id is None and not principal.is_admin:
            raise Forbidden("only admins can change global aliases")
        return record

    def _snapshot(self, row: ModelAlias) -> dict[str, Any]:
        return _snapshot(row)

    def _name_taken(self) -> Conflict:
        return _name_taken()

    # ---- writing --------------------------------------------------------------------------

    async def create(self, principal: Principal, body: AliasCreate) -> AliasWritten:
        owner_id = await self._owner(principal, body)
        self._check_cap(principal, owner_id)
        provider = self._provider(owner_id, body.provider_id)
        warnings = await self._check_model(provider, body.model)
        row = ModelAlias(
            scope=owner_id or GLOBAL_SCOPE,
            owner_id=owner_id,
            name=body.name,
            provider_id=provider.id,
            model=body.model,
        )
        self.session.add(row)
        await self._created(principal, row)
        return self.written(row.id, warnings)

    async def update(self, principal: Principal, alias_id: str, body: AliasUpdate) -> AliasWritten:
        record = self._manageable(principal, alias_id)
        row = await self._stored(alias_id)
        before = _snapshot(row)
        changes = body.model_dump(exclude_unset=True)
        for name, value in changes.items():
            if value is None:
                raise _invalid(name, "may not be null")
        warnings: list[str] = []
        if "provider_id" in changes or "model" in changes:
            provider = self._provider(record.owner_id, changes.get("provider_id", row.provider_id))
            model = changes.get("model", row.model)
            warnings = await self._check_model(provider, model)
            row.provider_id, row.model = provider.id, model
        if "name" in changes:
            row.name = changes["name"]
        await self._updated(principal, row, before)
        return self.written(row.id, warnings)

    async def delete(self, principal: Principal, alias_id: str) -> None:
        self._manageable(principal, alias_id)
        row = await self._stored(alias_id)
        await self._deleted(principal, row, _snapshot(row))
