"""API keys and principals: random high-entropy keys, stored only as SHA-256 hashes.

Keys are 256-bit random tokens, so a fast hash is safe (no password stretching needed) and
lets the hot path authenticate with one dictionary lookup: resolved principals are cached
briefly in process and dropped at once when a key is revoked: on this replica directly, on the
others through the listeners (the Redis bus) that `invalidate_everywhere` calls.

A database outage does not sign anyone out: a key this process resolved before is served from
its last known state while the database is unreachable (nothing can revoke it meanwhile), and
a background probe asks the database again every `retry_seconds`, so the outage costs the one
request that met it a bounded wait, not each one. A key never seen gets 503
`database_unavailable`. The "last used" time of a key is queued and written in batches by a
background task, never on the request.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.aio import stop_task
from bigshot_llm.db.models import ApiKey, User, utcnow
from bigshot_llm.db.outage import database_unavailable, is_database_outage
from bigshot_llm.services.quotas.rules import QuotaRule, load_rules

log = logging.getLogger(__name__)

KEY_PREFIX = "bsk_"
SHOWN_PREFIX_LENGTH = 12
AUTH_CACHE_SECONDS = 30.0
LAST_USED_RESOLUTION_SECONDS = 60.0
LAST_USED_FLUSH_SECONDS = 5.0
DATABASE_RETRY_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's user and role."""

    user_id: str
    user_name: str
    role: str
    key_id: str
    # The key's own lower limits (None or 0: none), counted per key on top of the user's.
    rate_limit_per_minute: int | None = None
    max_streams: int | None = None
    # The user's limits over all their keys (None: the role's default; 0: unlimited).
    user_rate_limit_per_minute: int | None = None
    user_max_streams: int | None = None
    # The key's class in the GPU queues (interactive | normal | batch); None: the surface's.
    priority: str | None = None
    # The quotas on the key and on its user (README "Quotas"), loaded with the key.
    quotas: tuple[QuotaRule, ...] = ()

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def shown_prefix(key: str) -> str:
    return key[:SHOWN_PREFIX_LENGTH]


async def ensure_user(session: AsyncSession, name: str, role: str) -> User:
    """The user called `name`, created with `role` if missing."""
    user = (await session.exec(select(User).where(User.name == name))).first()
    if user is None:
        user = User(name=name, role=role)
        session.add(user)
        await session.flush()
    return user


async def create_key(
    session: AsyncSession, user: User, name: str, key: str | None = None
) -> tuple[ApiKey, str]:
    """Store a new key for `user`; returns the row and the clear key (shown once)."""
    clear = key or generate_key()
    row = ApiKey(name=name, prefix=shown_prefix(clear), key_hash=hash_key(clear), user_id=user.id)
    session.add(row)
    await session.flush()
    return row, clear


class Authenticator:
    """Resolves a presented key to a principal, with a short in-process cache."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        cache_seconds: float = AUTH_CACHE_SECONDS,
        retry_seconds: float = DATABASE_RETRY_SECONDS,
        flush_seconds: float = LAST_USED_FLUSH_SECONDS,
    ) -> None:
        self._sessions = sessions
        self.cache_seconds = cache_seconds
        self.retry_seconds = retry_seconds
        self.flush_seconds = flush_seconds
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._last_used: dict[str, float] = {}  # digest → when its use was last queued
        self._pending_use: dict[str, datetime] = {}  # key id → last use, not yet written
        self._database_down = False
        self._retry_at = 0.0
        self._probe: asyncio.Task[None] | None = None
        # One lookup per key at a time: a burst of first requests with one key (a thousand
        # streams opened at once) waits for one query, not for a thousand pool checkouts.
        self._lookups: dict[str, asyncio.Future[Principal | None]] = {}
        self._generation = 0  # bumped by `invalidate`: a lookup begun before it is not kept
        self._listeners: list[Callable[[str | None], Awaitable[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.stale_served = 0

    def on_invalidate(self, listener: Callable[[str | None], Awaitable[None]]) -> None:
        """Also call `listener(key_hash)` from `invalidate_everywhere` (other replicas)."""
        self._listeners.append(listener)

    async def invalidate_everywhere(self, key_hash: str | None = None) -> None:
        """Forget a key here and tell every other replica to forget it too."""
        self.invalidate(key_hash)
        for listener in self._listeners:
            await listener(key_hash)

    def invalidate(self, key_hash: str | None = None) -> None:
        """Forget one cached key (or all): called on revoke and on user changes."""
        self._generation += 1
        if key_hash is None:
            self._lookups.clear()
            self._cache.clear()
        else:
            self._cache.pop(key_hash, None)
            self._lookups.pop(key_hash, None)

    def expire(self) -> None:
        """Look every cached key up again on its next use, but keep each as its last known
        state for a database outage (a bus resync: messages may have been missed)."""
        for digest, (_, principal) in list(self._cache.items()):
            self._cache[digest] = (0.0, principal)

    async def resolve(self, presented: str) -> Principal | None:
        """The key's principal, None for an unknown or revoked key; `ServiceUnavailable`
        (database_unavailable) when the database cannot tell and the key was never seen."""
        digest = hash_key(presented)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            principal = hit[1]
        else:
            principal = await self._refresh(digest, hit, now)
        if (
            principal is not None
            and now - self._last_used.get(digest, 0.0) > LAST_USED_RESOLUTION_SECONDS
        ):
            self._last_used[digest] = now
            self._pending_use[principal.key_id] = utcnow()
        return principal

    async def _refresh(
        self, digest: str, hit: tuple[float, Principal | None] | None, now: float
    ) -> Principal | None:
        """Look the key up again; during a database outage, its last known state."""
        if self._database_down:
            if hit is not None:  # serve it at once; a background probe finds the way back
                self._probe_soon(digest, now)
                return self._last_known(hit)
            if now < self._retry_at:
                return self._last_known(hit)  # 503 at once: the database was just down
        lookup = self._lookups.get(digest)
        if lookup is None:
            lookup = asyncio.ensure_future(self._lookup(digest, hit))
            self._lookups[digest] = lookup
            lookup.add_done_callback(lambda done: self._lookup_done(digest, done))
        # Shielded: a caller that goes away does not cancel the others' lookup.
        return await asyncio.shield(lookup)

    async def _lookup(
        self, digest: str, hit: tuple[float, Principal | None] | None
    ) -> Principal | None:
        generation = self._generation
        try:
            principal = await self._load(digest)
        except Exception as exc:
            if not is_database_outage(exc):
                raise
            self._mark_down(exc)
            return self._last_known(hit)
        if generation == self._generation:
            self._remember(digest, principal)
        return principal

    def _lookup_done(self, digest: str, done: asyncio.Future[Principal | None]) -> None:
        if self._lookups.get(digest) is done:
            del self._lookups[digest]
        if not done.cancelled():
            done.exception()  # retrieved: every waiter may have gone away

    def _remember(self, digest: str, principal: Principal | None) -> None:
        self._database_down = False
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (time.monotonic() + self.cache_seconds, principal)

    def _mark_down(self, exc: BaseException) -> None:
        if not self._database_down:
            log.warning("database unavailable (%s): serving known keys", type(exc).__name__)
        self._database_down = True
        self._retry_at = time.monotonic() + self.retry_seconds

    def _probe_soon(self, digest: str, now: float) -> None:
        """At most one lookup in flight while the database is down, one per `retry_seconds`."""
        if now < self._retry_at or (self._probe is not None and not self._probe.done()):
            return
        self._retry_at = now + self.retry_seconds
        self._probe = asyncio.get_running_loop().create_task(self._run_probe(digest))

    async def _run_probe(self, digest: str) -> None:
        try:
            principal = await self._load(digest)
        except Exception as exc:  # noqa: BLE001 - still down (or worse): keep serving
            self._mark_down(exc)
            return
        log.info("database reachable again: keys are looked up afresh")
        self._remember(digest, principal)

    def _last_known(self, hit: tuple[float, Principal | None] | None) -> Principal | None:
        if hit is None:
            raise database_unavailable(
                "the database is unavailable, so this key cannot be checked; try again shortly"
            )
        self.stale_served += 1
        return hit[1]

    async def _load(self, digest: str) -> Principal | None:
        async with self._sessions() as session:
            stmt = (
                select(ApiKey, User)
                .join(User, User.id == ApiKey.user_id)  # type: ignore[arg-type]
                .where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None))  # type: ignore[union-attr]
            )
            row = (await session.exec(stmt)).first()
            if row is None:
                return None
            key, user = row
            quotas = await load_rules(session, user.id, key.id)
        return Principal(
            user_id=user.id,
            user_name=user.name,
            role=user.role,
            key_id=key.id,
            rate_limit_per_minute=key.rate_limit_per_minute,
            max_streams=key.max_streams,
            priority=key.priority,
            user_rate_limit_per_minute=user.rate_limit_per_minute,
            user_max_streams=user.max_streams,
            quotas=quotas,
        )

    # ---- "last used", written in the background -----------------------------------------

    async def start(self) -> None:
        """Write queued last-use times every `flush_seconds` (the lifespan starts this)."""
        self._writer = asyncio.create_task(self._write_last_used(), name="key-last-used")

    async def close(self) -> None:
        await stop_task(self._probe)
        await stop_task(self._writer)
        self._writer = None
        try:
            await self.flush_last_used()
        except Exception:  # noqa: BLE001 - bookkeeping: shutdown goes on
            log.warning("last-use times of %d keys not written", len(self._pending_use))

    async def _write_last_used(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            try:
                await self.flush_last_used()
            except Exception:  # noqa: BLE001 - kept and retried next round (DB outage)
                log.warning("could not record the last use of %d keys", len(self._pending_use))

    async def flush_last_used(self) -> int:
        """Write every queued last-use time in one statement; returns how many."""
        if not self._pending_use:
            return 0
        batch, self._pending_use = self._pending_use, {}
        try:
            async with self._sessions() as session:
                conn = await session.connection()
                await conn.execute(_TOUCH, [{"b_id": k, "b_at": t} for k, t in batch.items()])
                await session.commit()
        except BaseException:
            for key_id, used_at in batch.items():  # a newer use queued meanwhile wins
                self._pending_use.setdefault(key_id, used_at)
            raise
        return len(batch)


_KEYS = ApiKey.__table__  # type: ignore[attr-defined]
_TOUCH = (
    _KEYS.update().where(_KEYS.c.id == bindparam("b_id")).values(last_used_at=bindparam("b_at"))
)


def is_revoked(key: ApiKey) -> bool:
    return isinstance(key.revoked_at, datetime)
