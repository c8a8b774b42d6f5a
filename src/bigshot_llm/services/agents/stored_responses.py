"""Stored Responses API answers, owner-scoped, with an expiry.

A response stored with `store: true` (the API's default) can be read back, deleted, and
continued with `previous_response_id`: its `history` (chat-completions messages, output
included) is what a chat-only upstream needs to continue the conversation. Another user's
response, or an expired one, is not found. Expired rows are purged as new ones are saved, at
most once a minute per database (a DELETE per answer was most of a stored answer's CPU).

Saves are group-committed: answers finished while one write is in flight are written together
by the next, in one transaction, and each `save` returns once its own row is committed. So an
answer is never acknowledged before its row is durable, but 32 concurrent answers cost a few
transactions rather than 32 (a transaction per answer was 2.3 ms of CPU each).
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.db.models import StoredResponse, utcnow

__all__ = ["ResponseStore"]

PURGE_SECONDS = 60.0
MAX_BATCH = 500  # rows per transaction
_TABLE = StoredResponse.__table__  # type: ignore[attr-defined]


class ResponseStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], ttl_seconds: int) -> None:
        self._sessions = sessions
        self._engine: AsyncEngine = sessions.kw["bind"]
        self.ttl = timedelta(seconds=ttl_seconds)
        self._purged_at = -PURGE_SECONDS
        self._queued: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.transactions = 0  # written so far (a figure for tests and benchmarks)

    async def save(
        self,
        owner_id: str,
        response: dict[str, Any],
        history: list[dict[str, Any]],
    ) -> None:
        """Store one answer; returns once it is committed (raises what the write raised)."""
        now = utcnow()
        row = {
            "id": response["id"],
            "owner_id": owner_id,
            "model": response.get("model"),
            "response": response,
            "history": history,
            "created_at": now,
            "expires_at": now + self.ttl,
        }
        committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        committed.add_done_callback(_retrieved)
        self._queued.append((row, committed))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write_queued())
        # Shielded: a caller that goes away still has its answer stored, with the others'.
        await asyncio.shield(committed)

    async def _write_queued(self) -> None:
        """Write what is queued, then what was queued meanwhile, until nothing is."""
        while self._queued:
            batch, self._queued = self._queued[:MAX_BATCH], self._queued[MAX_BATCH:]
            try:
                await self._write([row for row, _ in batch])
            except Exception as exc:  # noqa: BLE001 - each waiting save raises it
                for _, committed in batch:
                    if not committed.done():
                        committed.set_exception(exc)
            else:
                for _, committed in batch:
                    if not committed.done():
                        committed.set_result(None)

    async def _write(self, rows: list[dict[str, Any]]) -> None:
        now = utcnow()
        purge = time.monotonic() - self._purged_at >= PURGE_SECONDS
        # A Core transaction, and an executemany of one cached statement: an ORM session
        # around it, and a multi-row VALUES compiled anew for every batch size, were most of
        # a stored answer's CPU.
        async with self._engine.begin() as conn:
            if purge:
                self._purged_at = time.monotonic()
                await conn.execute(_TABLE.delete().where(_TABLE.c.expires_at < now))
            await conn.execute(_TABLE.insert(), rows)
        self.transactions += 1

    async def get(self, owner_id: str, response_id: str) -> StoredResponse | None:
        async with self._sessions() as session:
            row = (
                await session.exec(
                    select(StoredResponse).where(
                        StoredResponse.id == response_id, StoredResponse.owner_id == owner_id
                    )
                )
            ).first()
        if row is None or row.expires_at <= utcnow():
            return None
        return row

    async def delete(self, owner_id: str, response_id: str) -> bool:
        async with self._sessions() as session:
            result = await session.exec(  # type: ignore[call-overload]
                delete(StoredResponse).where(
                    StoredResponse.id == response_id,  # type: ignore[arg-type]
                    StoredResponse.owner_id == owner_id,  # type: ignore[arg-type]
                )
            )
            await session.commit()
        return bool(result.rowcount)


def _retrieved(done: asyncio.Future[None]) -> None:
    """Mark a failed write's exception as seen: its caller may have gone away."""
    if not done.cancelled():
        done.exception()
