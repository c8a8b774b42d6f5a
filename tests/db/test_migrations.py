"""The migrations build exactly the schema the models declare, and take it all down again."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import bigshot_llm.db.models
from bigshot_llm.db.migrate import alembic_config, upgrade


async def _run(url: str, revision: str, *, down: bool = False) -> None:
    engine = create_async_engine(url)
    try:
        if not down:
            await upgrade(engine, revision)
            return

        def _downgrade(connection: sa.Connection) -> None:
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, revision)

        async with engine.begin() as conn:
            await conn.run_sync(_downgrade)
    finally:
        await engine.dispose()


async def _differences_and_tables(url: str) -> tuple[list[object], set[str]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:

            def _inspect(connection: sa.Connection) -> tuple[list[object], set[str]]:
                context = MigrationContext.configure(connection, opts={"compare_type": True})
                diffs = compare_metadata(context, SQLModel.metadata)
                return list(diffs), set(sa.inspect(connection).get_table_names())

            return await conn.run_sync(_inspect)
    finally:
        await engine.dispose()


async def test_migrations_match_the_models_and_downgrade_to_nothing(database_url: str) -> None:
    await _run(database_url, "head")
    differences, tables = await _differences_and_tables(database_url)
    assert differences == []
    assert set(SQLModel.metadata.tables) <= tables
    await _run(database_url, "base", down=True)
    _, tables = await _differences_and_tables(database_url)
    assert tables <= {"alembic_version"}
    await _run(database_url, "head")
    differences, _ = await _differences_and_tables(database_url)
    assert differences == []


def test_every_revision_file_is_in_one_chain() -> None:
    versions = Path(bigshot_llm.db.models.__file__).parent.parent / "migrations" / "versions"
    files = sorted(p.stem for p in versions.glob("0*.py"))
    script = ScriptDirectory.from_config(alembic_config())
    chain = [rev.revision for rev in script.walk_revisions()]
    assert len(script.get_heads()) == 1
    assert sorted(chain) == sorted(name.split("_", 1)[0] for name in files)
