"""API keys and principals: random high-entropy keys, stored only as SHA-256 hashes.

Keys are 256-bit random tokens, so a fast hash is safe (no password stretching needed) and
lets the hot path authenticate with one dictionary lookup: resolved principals are cached
briefly in process and dropped at once when a key is revoked: on this replica directly, on the
others through the listeners (the Redis bus) that `invalidate_everywhere` calls.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.db.models import ApiKey, User, utcnow

log = logging.getLogger(__name__)

KEY_PREFIX = "bsk_"
SHOWN_PREFIX_LENGTH = 12
AUTH_CACHE_SECONDS = 30.0
LAST_USED_RESOLUTION_SECONDS = 60.0


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

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._last_used: dict[str, float] = {}
        self._listeners: list[Callable[[str | None], Awaitable[None]]] = []

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
        if key_hash is None:
            self._cache.clear()
        else:
            self._cache.pop(key_hash, None)

    async def resolve(self, presented: str) -> Principal | None:
        digest = hash_key(presented)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            principal = hit[1]
        else:
            principal = await self._load(digest)
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now + AUTH_CACHE_SECONDS, principal)
        if (
            principal is not None
            and now - self._last_used.get(digest, 0.0) > LAST_USED_RESOLUTION_SECONDS
        ):
            self._last_used[digest] = now
            try:
                await self._touch(principal.key_id)
            except Exception:  # noqa: BLE001 - bookkeeping: never fail a request (DB outage)
                log.warning("could not record the last use of key %s", principal.key_id)
        return principal

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
        return Principal(
            user_id=user.id,
            user_name=user.name,
            role=user.role,
            key_id=key.id,
            rate_limit_per_minute=key.rate_limit_per_minute,
            max_streams=key.max_streams,
            user_rate_limit_per_minute=user.rate_limit_per_minute,
            user_max_streams=user.max_streams,
        )

    async def _touch(self, key_id: str) -> None:
        async with self._sessions() as session:
            key = await session.get(ApiKey, key_id)
            if key is not None:
                key.last_used_at = utcnow()
                await session.commit()


def is_revoked(key: ApiKey) -> bool:
    return isinstance(key.revoked_at, datetime)
