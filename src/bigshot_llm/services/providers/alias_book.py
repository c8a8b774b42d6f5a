"""The model aliases stored in the database, as an in-process snapshot the hot path reads.

Three layers resolve a name, first match wins: the caller's own aliases, then the global ones
(both kept here, reloaded with the provider snapshot, so the bus that tells replicas about
provider changes covers aliases too), then `BIGSHOT_MODEL_ALIASES` (the lowest-priority
default, in `generation.aliases`). Inside a layer an exact name wins over a `*` prefix, and
the longest prefix over shorter ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bigshot_llm.db.models import ModelAlias

__all__ = ["AliasBook", "AliasRecord", "Layer"]


@dataclass(frozen=True, slots=True)
class AliasRecord:
    """One stored alias: `name` → (`provider_id`, `model`), global when `owner_id` is None."""

    id: str
    name: str
    owner_id: str | None
    provider_id: str
    model: str
    created_at: datetime
    updated_at: datetime

    @property
    def is_prefix(self) -> bool:
        return self.name.endswith("*")

    @classmethod
    def of(cls, row: ModelAlias) -> AliasRecord:
        return cls(
            row.id,
            row.name,
            row.owner_id,
            row.provider_id,
            row.model,
            row.created_at,
            row.updated_at,
        )


@dataclass(frozen=True, slots=True)
class Layer:
    """One owner's aliases (or the global ones), ready to match."""

    exact: dict[str, AliasRecord] = field(default_factory=dict)
    prefixes: tuple[AliasRecord, ...] = ()  # longest first

    @classmethod
    def of(cls, records: Iterable[AliasRecord]) -> Layer:
        items = list(records)
        exact = {r.name: r for r in items if not r.is_prefix}
        prefixes = sorted((r for r in items if r.is_prefix), key=lambda r: -len(r.name))
        return cls(exact, tuple(prefixes))

    def match(self, model: str) -> AliasRecord | None:
        found = self.exact.get(model)
        if found is not None:
            return found
        for record in self.prefixes:
            if model.startswith(record.name[:-1]):
                return record
        return None


_EMPTY = Layer()


class AliasBook:
    """Every stored alias, by owner; immutable once built (a reload swaps the whole book)."""

    def __init__(self, records: Iterable[AliasRecord] = ()) -> None:
        by_owner: dict[str | None, list[AliasRecord]] = {}
        for record in records:
            by_owner.setdefault(record.owner_id, []).append(record)
        self._layers = {owner: Layer.of(items) for owner, items in by_owner.items()}
        self._by_id = {r.id: r for items in by_owner.values() for r in items}

    def match(self, user_id: str | None, model: str | None) -> AliasRecord | None:
        """The caller's own alias for `model`, else the global one (None: no alias)."""
        if not model:
            return None
        if user_id is not None:
            own = self._layers.get(user_id, _EMPTY).match(model)
            if own is not None:
                return own
        return self._layers.get(None, _EMPTY).match(model)

    def get(self, alias_id: str) -> AliasRecord | None:
        return self._by_id.get(alias_id)

    def all(self) -> list[AliasRecord]:
        return sorted(self._by_id.values(), key=lambda r: (r.owner_id is not None, r.name))

    def visible_to(self, user_id: str | None) -> list[AliasRecord]:
        """The global aliases and the user's own."""
        return [r for r in self.all() if r.owner_id in (None, user_id)]
