"""The async engine and session factory, with SQLite tuned for a safe embedded default.

Every wait on the database is bounded when `timeouts` are given (the app always gives them):
opening a connection, each statement, and checking a connection out of the pool. A database
that is down or blackholed then costs a request a few seconds and a 503, never a minute.
Migrations get an engine without a statement timeout (an index on a big table takes longer).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession


def _json_dumps(value: Any) -> str:
    """JSON columns are encoded with orjson: the stdlib encoder was most of the CPU of storing
    an answer (a Responses API `store`). Non-string keys become strings, as `json.dumps` does;
    what orjson refuses (an integer beyond 64 bits, which a user may send) takes `json.dumps`.
    They are decoded with `json.loads`, which keeps such an integer exact (orjson makes it a
    float)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


# JSON columns (SQLite and Postgres alike) are encoded and decoded with these.
JSON_CODEC: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": json.loads}

# Without timeouts (the migration CLI): the drivers' and the pool's own defaults.
UNBOUNDED_SQLITE_BUSY_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class DatabaseTimeouts:
    """Seconds: to connect, per statement, to get a connection from the pool."""

    connect: float = 3.0
    statement: float = 5.0
    pool: float = 5.0


def make_engine(
    url: str, *, echo: bool = False, timeouts: DatabaseTimeouts | None = None
) -> AsyncEngine:
    """An engine for SQLite (WAL, foreign keys on) or Postgres (pooled, pre-ping)."""
    pool: dict[str, Any] = {} if timeouts is None else {"pool_timeout": timeouts.pool}
    if url.startswith("sqlite"):
        # SQLite has no network to hang on; its one wait is for another writer's lock.
        busy = UNBOUNDED_SQLITE_BUSY_SECONDS if timeouts is None else timeouts.statement
        engine = create_async_engine(
            url, echo=echo, connect_args={"timeout": busy}, **JSON_CODEC, **pool
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(busy))
        return engine
    connect_args: dict[str, Any] = {}
    if timeouts is not None:
        connect_args = {
            "timeout": timeouts.connect,  # asyncpg's connect (default 60 s)
            # Client side, so it also ends a query whose answer never comes (a blackholed
            # network), including the pool's pre-ping; asyncpg then cancels it on the server.
            "command_timeout": timeouts.statement,
        }
    return create_async_engine(
        url,
        echo=echo,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args=connect_args,
        **JSON_CODEC,
        **pool,
    )


def _sqlite_pragmas(busy_seconds: float) -> Any:
    busy_ms = int(busy_seconds * 1000)

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.close()

    return on_connect


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
