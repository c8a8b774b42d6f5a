"""Key lookups under a burst: a thousand first requests with one key are one database query.

Found by the 1 000-slow-streams benchmark: every stream opened at once missed the key cache,
each lookup waited for a pooled connection, and past the pool's checkout timeout 187 of them
were answered 503 `database_unavailable` on a healthy database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.db.engine import DatabaseTimeouts, make_engine, make_session_factory
from bigshot_llm.db.migrate import upgrade
from bigshot_llm.services.access.auth import Authenticator, Principal, create_key, ensure_user


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}", timeouts=DatabaseTimeouts())
    await upgrade(engine)
    try:
        yield make_session_factory(engine)
    finally:
        await engine.dispose()


async def _new_key(sessions: async_sessionmaker[AsyncSession]) -> str:
    async with sessions() as session:
        user = await ensure_user(session, "burst", "user")
        _, clear = await create_key(session, user, "burst")
        await session.commit()
    return clear


class CountingAuthenticator(Authenticator):
    """Counts its database lookups; each one takes a while, as under load."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(sessions)
        self.loads = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def _load(self, digest: str) -> Principal | None:
        self.loads += 1
        await self.gate.wait()
        return await super()._load(digest)


async def test_a_burst_of_first_requests_with_one_key_is_one_lookup(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    key = await _new_key(sessions)
    auth = CountingAuthenticator(sessions)
    auth.gate.clear()
    burst = [asyncio.ensure_future(auth.resolve(key)) for _ in range(500)]
    await asyncio.sleep(0.05)
    auth.gate.set()
    principals = await asyncio.gather(*burst)
    assert auth.loads == 1
    assert {p.user_name for p in principals if p is not None} == {"burst"}
    assert all(p is not None for p in principals)
    assert await auth.resolve(key) is principals[0] and auth.loads == 1  # cached


async def test_a_caller_that_goes_away_does_not_cancel_the_others_lookup(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    key = await _new_key(sessions)
    auth = CountingAuthenticator(sessions)
    auth.gate.clear()
    leaving = asyncio.ensure_future(auth.resolve(key))
    staying = asyncio.ensure_future(auth.resolve(key))
    await asyncio.sleep(0.05)
    leaving.cancel()
    auth.gate.set()
    principal: Any = await staying
    assert principal is not None and principal.user_name == "burst"
    assert leaving.cancelled() and auth.loads == 1


async def test_a_lookup_begun_before_a_revocation_is_not_kept(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    key = await _new_key(sessions)
    auth = CountingAuthenticator(sessions)
    auth.gate.clear()
    before = asyncio.ensure_future(auth.resolve(key))
    await asyncio.sleep(0.05)
    auth.invalidate()  # e.g. the key was revoked while its lookup was in flight
    auth.gate.set()
    assert await before is not None  # its caller got what the database said then
    await auth.resolve(key)
    assert auth.loads == 2  # but the next request asks again
