"""What the migrations share, so that each file says only what it changes.

The helpers emit exactly the DDL Alembic's autogenerate wrote for the first revisions (the
column types, batch mode for SQLite, index names); a migration imports them instead of
repeating `op.batch_alter_table(...)` blocks and twenty `sa.Column(..., nullable=False)`.

A migration lists its changes once (`new_table`, `new_columns`, `data`) and `reversible` makes
both `upgrade` (the changes in order) and `downgrade` (each undone, last first) from that list,
so a downgrade cannot forget a column or drop them in the wrong order. Revisions that already
ran depend on these helpers: change what they emit only together with a new revision.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

__all__ = [
    "Change",
    "Changes",
    "add_columns",
    "create_table",
    "data",
    "drop_columns",
    "drop_table",
    "name",
    "new_columns",
    "new_table",
    "owner",
    "reversible",
    "stream_limits",
    "when",
]

Index = tuple[str, list[str]] | tuple[str, list[str], bool]
Step = Callable[[], None]
Change = tuple[Step, Step]
"""One schema change: how to make it, how to undo it."""
Changes = Iterator[Change]


def name(column: str, length: int, *, nullable: bool = False) -> sa.Column[str]:
    """A string column as SQLModel declares it (`AutoString`, a VARCHAR of `length`)."""
    return sa.Column(column, AutoString(length=length), nullable=nullable)


def when(column: str, *, nullable: bool = False) -> sa.Column[object]:
    """A timezone-aware timestamp column."""
    return sa.Column(column, sa.DateTime(timezone=True), nullable=nullable)


def owner(
    column: str, table: str = "users", *, nullable: bool = False
) -> tuple[sa.Column[str], sa.ForeignKeyConstraint]:
    """A 32-character reference to `table.id` that is deleted with the row it points at."""
    return (
        sa.Column(column, sa.String(length=32), nullable=nullable),
        sa.ForeignKeyConstraint([column], [f"{table}.id"], ondelete="CASCADE"),
    )


def stream_limits() -> tuple[sa.Column[int], sa.Column[int]]:
    """The per-minute request limit and the concurrent-stream cap a key (0003) or a user (0007)
    may carry; none when null."""
    return (
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=True),
        sa.Column("max_streams", sa.Integer(), nullable=True),
    )


Item = sa.schema.SchemaItem | tuple[sa.schema.SchemaItem, ...]


def create_table(
    table: str,
    *items: Item,
    primary_key: str = "id",
    indexes: tuple[Index, ...] = (),
) -> None:
    """Create `table` from columns and constraints (tuples are flattened), then its indexes."""
    flat: list[sa.schema.SchemaItem] = []
    for item in items:
        flat.extend(item if isinstance(item, tuple) else (item,))
    # Where autogenerate put it: after the columns and foreign keys, before unique constraints.
    at = next((i for i, x in enumerate(flat) if isinstance(x, sa.UniqueConstraint)), len(flat))
    flat.insert(at, sa.PrimaryKeyConstraint(primary_key))
    op.create_table(table, *flat)
    if indexes:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for index in indexes:
                index_name, columns, *unique = index
                batch_op.create_index(index_name, columns, unique=bool(unique and unique[0]))


def drop_table(table: str, *indexes: str) -> None:
    """Drop the named indexes of `table`, then the table."""
    if indexes:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for index_name in indexes:
                batch_op.drop_index(index_name)
    op.drop_table(table)


def add_columns(table: str, *columns: sa.Column[object]) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.add_column(column)


def drop_columns(table: str, *columns: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.drop_column(column)


def new_table(
    table: str,
    *items: Item,
    key: sa.Column[Any] | str | None = None,
    indexes: tuple[Index, ...] = (),
) -> Change:
    """A new table and its indexes; undone by dropping the indexes (last first), then the table.

    Its primary key: by default the 32-character `id` the models make with `new_id()` (the
    first column); a column given as `key` (first too); or the name of one of the `items`.
    """
    if not isinstance(key, str):
        items = (name("id", 32) if key is None else key, *items)
    primary_key = key if isinstance(key, str) else "id"
    return (
        lambda: create_table(table, *items, primary_key=primary_key, indexes=indexes),
        lambda: drop_table(table, *(index[0] for index in reversed(indexes))),
    )


def new_columns(table: str, *columns: sa.Column[Any]) -> Change:
    """Columns added to `table`; undone by dropping them, last first."""
    return (
        lambda: add_columns(table, *columns),
        lambda: drop_columns(table, *(column.name for column in reversed(columns))),
    )


def data(step: Step) -> Change:
    """A step on the rows (after the columns it fills exist); nothing to undo: the downgrade
    drops what it filled in."""
    return step, lambda: None


def reversible(changes: Callable[[], Iterable[Change]]) -> tuple[Step, Step]:
    """`upgrade` and `downgrade` from one list of changes. `changes` is called afresh for each
    (a column belongs to the one table it was created for)."""

    def upgrade() -> None:
        for make, _ in changes():
            make()

    def downgrade() -> None:
        for _, undo in reversed(list(changes())):
            undo()

    return upgrade, downgrade
