"""The engine's SQLite tuning, read back from the database itself."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from bigshot_llm.db.engine import make_engine


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'wal.db'}")
    try:
        async with engine.connect() as conn:
            mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
            keys = (await conn.execute(text("PRAGMA foreign_keys"))).scalar()
            sync = (await conn.execute(text("PRAGMA synchronous"))).scalar()
    finally:
        await engine.dispose()
    assert mode == "wal"  # readers never block the writer; crash-safe with synchronous=NORMAL
    assert keys == 1
    assert sync == 1  # NORMAL
