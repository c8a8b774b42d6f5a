"""A stop that lands while the usage writer waits on SQLite's lock loses nothing and locks nothing.

Seen once under load: the writer was cancelled (the lifespan's exit) while its INSERT waited in
aiosqlite's thread for another writer's lock. The statement went on in the thread after the
task had gone, opened a write transaction that nobody ended, and the final flush then waited
out the busy timeout, failed with "database is locked" and dropped the records.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from bigshot_llm.db.engine import DatabaseTimeouts, make_engine, make_session_factory
from bigshot_llm.db.migrate import upgrade
from bigshot_llm.services.usage.recorder import UsageEvent, UsageRecorder

BUSY_SECONDS = 3.0  # the statement timeout, which is SQLite's busy timeout


def _event(n: int) -> UsageEvent:
    return UsageEvent(
        user_id=f"user-{n}",
        key_id=None,
        provider_id=None,
        provider="LMStudio Local",
        model="qwen",
        endpoint="/v1/chat/completions",
        streamed=False,
    )


async def _until(condition: object, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.01)


async def test_a_stop_while_the_writer_waits_for_the_lock_writes_every_record(
    tmp_path: Path,
) -> None:
    path = tmp_path / "usage.db"
    engine = make_engine(
        f"sqlite+aiosqlite:///{path}", timeouts=DatabaseTimeouts(statement=BUSY_SECONDS)
    )
    await upgrade(engine)
    recorder = UsageRecorder(make_session_factory(engine), interval=60.0, batch_size=3)
    other_writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        other_writer.execute("BEGIN IMMEDIATE")  # holds SQLite's write lock
        await recorder.start()
        for n in range(3):
            recorder.record(_event(n))  # the third wakes the writer
        # The writer has taken the batch and waits in the driver's thread for the lock.
        await _until(lambda: recorder.pending == 0 and recorder._lock.locked())
        await asyncio.sleep(0.2)
        closing = asyncio.create_task(recorder.close())
        await asyncio.sleep(0.2)
        other_writer.execute("COMMIT")  # the lock is free: the old INSERT can go on
        started = time.monotonic()
        await asyncio.wait_for(closing, timeout=60)
        took = time.monotonic() - started
        stored = other_writer.execute("SELECT user_id FROM usage_records").fetchall()
        assert sorted(row[0] for row in stored) == ["user-0", "user-1", "user-2"]
        assert recorder.pending == 0 and recorder.written == 3
        assert took < BUSY_SECONDS, f"the final flush waited {took:.1f} s for a stale lock"
        # Nobody holds the write lock any more.
        other_writer.execute("BEGIN IMMEDIATE")
        other_writer.execute("ROLLBACK")
    finally:
        other_writer.close()
        await engine.dispose()
