"""Stored answers are group-committed: concurrent saves share transactions, and each returns
only once its own row is durable (a failed write fails exactly the saves it carried)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.db.engine import DatabaseTimeouts, make_engine, make_session_factory
from bigshot_llm.db.migrate import upgrade
from bigshot_llm.services.access.auth import ensure_user
from bigshot_llm.services.agents.stored_responses import ResponseStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[tuple[ResponseStore, str]]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", timeouts=DatabaseTimeouts())
    await upgrade(engine)
    sessions: async_sessionmaker[AsyncSession] = make_session_factory(engine)
    async with sessions() as session:
        owner = (await ensure_user(session, "writer", "user")).id
        await session.commit()
    try:
        yield ResponseStore(sessions, ttl_seconds=3600), owner
    finally:
        await engine.dispose()


def _answer(n: int) -> dict[str, object]:
    return {"id": f"resp_{n}", "model": "m", "output": [{"type": "message", "n": n}]}


async def test_concurrent_saves_share_transactions_and_each_is_readable_when_it_returns(
    store: tuple[ResponseStore, str],
) -> None:
    responses, owner = store

    async def save_then_read(n: int) -> object:
        await responses.save(owner, _answer(n), [{"role": "user", "content": str(n)}])
        row = await responses.get(owner, f"resp_{n}")  # durable by the time save returned
        return None if row is None else row.response["output"][0]["n"]

    read = await asyncio.gather(*(save_then_read(n) for n in range(64)))
    assert read == list(range(64))
    assert 1 <= responses.transactions < 64 / 4  # not one transaction per answer


async def test_a_failed_write_fails_the_saves_it_carried_and_the_next_one_succeeds(
    store: tuple[ResponseStore, str],
) -> None:
    responses, owner = store
    await responses.save(owner, _answer(1), [])
    duplicate = [responses.save(owner, _answer(1), []) for _ in range(3)]  # same primary key
    outcomes = await asyncio.gather(*duplicate, return_exceptions=True)
    assert all(isinstance(o, Exception) for o in outcomes), outcomes
    await responses.save(owner, _answer(2), [])
    assert await responses.get(owner, "resp_2") is not None


async def test_a_caller_that_goes_away_still_has_its_answer_stored(
    store: tuple[ResponseStore, str],
) -> None:
    responses, owner = store
    leaving = asyncio.ensure_future(responses.save(owner, _answer(7), []))
    await asyncio.sleep(0)
    leaving.cancel()
    await responses.save(owner, _answer(8), [])  # written after the one that left
    assert await responses.get(owner, "resp_7") is not None
