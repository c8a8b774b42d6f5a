"""Migration 0009: existing conversations become one branch (each message follows the one
before it, the last is the head)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from bigshot_llm.db.migrate import upgrade


async def test_existing_messages_are_chained_and_the_last_is_the_head(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        await upgrade(engine, "0008")
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO users (id, name, role, created_at) "
                    "VALUES ('u', 'u', 'user', '2026-01-01')"
                )
            )
            for conv in ("c1", "c2"):
                await conn.execute(
                    sa.text(
                        "INSERT INTO conversations (id, owner_id, settings, created_at, "
                        "updated_at) VALUES (:c, 'u', '{}', '2026-01-01', '2026-01-01')"
                    ),
                    {"c": conv},
                )
            rows = [("m1", "c1", "01"), ("m2", "c1", "02"), ("m3", "c1", "03"), ("n1", "c2", "01")]
            for mid, conv, minute in rows:
                await conn.execute(
                    sa.text(
                        "INSERT INTO messages (id, conversation_id, role, content, status, "
                        "created_at) VALUES (:m, :c, 'user', 'x', 'complete', :t)"
                    ),
                    {"m": mid, "c": conv, "t": f"2026-01-01 10:{minute}:00"},
                )
        await upgrade(engine)
        async with engine.connect() as conn:
            parents = dict(
                (await conn.execute(sa.text("SELECT id, parent_id FROM messages"))).all()
            )
            heads = dict(
                (await conn.execute(sa.text("SELECT id, head_message_id FROM conversations"))).all()
            )
        assert parents == {"m1": None, "m2": "m1", "m3": "m2", "n1": None}
        assert heads == {"c1": "m3", "c2": "n1"}
    finally:
        await engine.dispose()
