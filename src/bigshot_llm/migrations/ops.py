"""What the migrations share, so that each file says only what it changes.

The helpers emit exactly the DDL Alembic's autogenerate wrote for the first revisions (the
column types, batch mode for SQLite, index names); a migration imports them instead of
repeating `op.batch_alter_table(...)` blocks and twenty `sa.Column(..., nullable=False)`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

__all__ = [
    "add_columns",
    "create_table",
    "drop_columns",
    "drop_table",
    "name",
    "owner",
    "when",
]

Index = tuple[str, list[str]] | tuple[str, list[str], bool]


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


def create_table(
    table: str,
    *items: sa.schema.SchemaItem | tuple[sa.schema.SchemaItem, ...],
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
