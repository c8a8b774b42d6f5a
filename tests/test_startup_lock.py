"""Replicas that start together on Postgres take turns migrating: the one that waits for the
start-up lock waits as long as the other one migrates, not only one statement timeout."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from bigshot_llm.cli import STARTUP_LOCK_ID, _prepare
from tests.conftest import make_settings
from tests.support.services import temporary_postgres_database


async def test_a_replica_waits_past_the_statement_timeout_for_the_startup_lock(
    tmp_path: Path,
) -> None:
    """The lock was taken with one `pg_advisory_lock` statement, so a replica waiting while
    another migrated for longer than the statement timeout (5 s; a busy machine) exited with
    asyncpg's TimeoutError instead of starting."""
    async with temporary_postgres_database() as url:
        settings = make_settings(tmp_path, database_url=url, db_statement_timeout=0.5)
        other = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            await other.execute("SELECT pg_advisory_lock($1)", STARTUP_LOCK_ID)  # migrating
            waiting = asyncio.create_task(_prepare(settings))
            await asyncio.sleep(1.5)  # three statement timeouts
            assert not waiting.done(), waiting.exception() if waiting.done() else None
            await other.execute("SELECT pg_advisory_unlock($1)", STARTUP_LOCK_ID)
            await asyncio.wait_for(waiting, 60)  # then it migrates and bootstraps
        finally:
            await other.close()
        check = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            assert await check.fetchval("SELECT count(*) FROM alembic_version") == 1
        finally:
            await check.close()
