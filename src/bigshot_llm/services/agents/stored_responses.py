"""Stored Responses API answers, owner-scoped, with an expiry.

A response stored with `store: true` (the API's default) can be read back, deleted, and
continued with `previous_response_id`: its `history` (chat-completions messages, output
included) is what a chat-only upstream needs to continue the conversation. Another user's
response, or an expired one, is not found. Expired rows are purged as new ones are saved, at
most once a minute per database (a DELETE per answer was most of a stored answer's CPU).
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.db.models import StoredResponse, utcnow

__all__ = ["ResponseStore"]

PURGE_SECONDS = 60.0
# When each database (its session factory) was last purged of expired rows.
_purged_at: WeakKeyDictionary[async_sessionmaker[AsyncSession], float] = WeakKeyDictionary()


class ResponseStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], ttl_seconds: int) -> None:
        self._sessions = sessions
        self.ttl = timedelta(seconds=ttl_seconds)

    async def save(
        self,
        owner_id: str,
        response: dict[str, Any],
        history: list[dict[str, Any]],
    ) -> None:
        now = utcnow()
        # A Core insert: no ORM unit of work for a row nothing reads back here.
        row = insert(StoredResponse).values(
            id=response["id"],
            owner_id=owner_id,
            model=response.get("model"),
            response=response,
            history=history,
            created_at=now,
            expires_at=now + self.ttl,
        )
        purge = time.monotonic() - _purged_at.get(self._sessions, -PURGE_SECONDS) >= PURGE_SECONDS
        async with self._sessions() as session:
            if purge:
                _purged_at[self._sessions] = time.monotonic()
                await session.exec(  # type: ignore[call-overload]
                    delete(StoredResponse).where(StoredResponse.expires_at < now)  # type: ignore[arg-type]
                )
            await session.exec(row)  # type: ignore[call-overload]
            await session.commit()

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
