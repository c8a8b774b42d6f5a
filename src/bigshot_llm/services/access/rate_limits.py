"""Request-rate limits per user (and per key below that), and failed-authentication limits
per address, shared across processes.

A user's requests count together whichever of their keys sends them: the limit is the user's
own `rate_limit_per_minute` when an admin set one (0: unlimited), else the role's default. A
key with a limit of its own is counted per key as well, so it can only lower the user's limit:
making more keys never buys more requests. Routes that make the gateway call upstream on the
caller's behalf may cost more than one request (`/models/all?refresh=true` costs one per
provider it asks).

Failed authentication is limited per client address: past `FAILED_AUTH_PER_MINUTE` failures
in a minute every answer from that address is 429 with `Retry-After`, whether the presented
key is valid or not (else a guesser would still learn which guesses are right). Keys that
authenticated from that address before it was blocked keep working, so the holder of a valid
key is not locked out by someone guessing behind the same address.

Built on `limits` (the library under slowapi) through its asyncio API: slowapi's decorators
take a limit fixed per route and call the storage synchronously, while here the limit depends
on the caller and every check must stay off the event loop's blocking path. Storage is in
process on the embedded default and Redis when `BIGSHOT_REDIS_URL` is set, so a limit of N per
minute admits N in total across workers and replicas.

When Redis fails (down, or no answer within its socket timeout) the limits fall back to an
in-process limiter for as long as `RedisHealth` says to skip Redis: each replica then admits N
per minute by itself. With `fail_open=False` they refuse with 429 instead.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis

from bigshot_llm.errors import RateLimited
from bigshot_llm.services.access.auth import Principal
from bigshot_llm.services.redis_health import RedisHealth

log = logging.getLogger(__name__)

FAILED_AUTH_PER_MINUTE = 30
TRUSTED_SECONDS = 3600.0  # a key that worked from an address stays trusted there this long
MAX_TRACKED = 100_000  # bound on the in-process address bookkeeping


@dataclass(frozen=True, slots=True)
class LimitState:
    """What the X-RateLimit-* headers report."""

    limit: int
    remaining: int
    reset_at: float  # epoch seconds

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.remaining)),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
        }


def make_storage(redis: Redis | None, prefix: str) -> Storage:
    """In process, or in Redis through the process's shared connection pool."""
    if redis is None:
        return MemoryStorage()
    return RedisStorage(
        "async+redis://",  # the pool below decides where; the URI only picks the driver
        implementation="redispy",
        key_prefix=prefix,
        connection_pool=redis.connection_pool,  # type: ignore[arg-type]
    )


class RateLimits:
    """Per-user (and per-key) request limits and failed-authentication limits per address."""

    def __init__(
        self,
        storage: Storage,
        *,
        user_per_minute: int | None,
        admin_per_minute: int | None,
        fail_open: bool = True,
        health: RedisHealth | None = None,
    ) -> None:
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)
        self.shared = not isinstance(storage, MemoryStorage)
        # Counts while the shared storage is skipped (see RedisHealth); never fails itself.
        self.local = MovingWindowRateLimiter(MemoryStorage()) if self.shared else self.limiter
        self.health = health or RedisHealth()
        self.user_per_minute = user_per_minute
        self.admin_per_minute = admin_per_minute
        self.fail_open = fail_open
        self.storage_errors = 0
        self._blocked: dict[str, float] = {}  # address → monotonic time the block ends
        self._trusted: dict[tuple[str, str], float] = {}  # (address, key id) → until

    # ---- requests -------------------------------------------------------------------------

    def limit_for(self, principal: Principal) -> int | None:
        """The caller's user's limit per minute (None: unlimited)."""
        if principal.user_rate_limit_per_minute is not None:
            return principal.user_rate_limit_per_minute or None  # 0 means unlimited
        return self.admin_per_minute if principal.is_admin else self.user_per_minute

    def limits(self, principal: Principal) -> list[tuple[int, str, str]]:
        """(per minute, scope, id) of every counter a request of this caller takes."""
        found: list[tuple[int, str, str]] = []
        user_limit = self.limit_for(principal)
        if user_limit:
            found.append((user_limit, "user", principal.user_id))
        key_limit = principal.rate_limit_per_minute
        if key_limit and (user_limit is None or key_limit < user_limit):
            found.append((key_limit, "key", principal.key_id))
        return found

    async def hit(self, principal: Principal, cost: int = 1) -> LimitState | None:
        """Count a request (of `cost` units) for the caller's user and, when it has a limit of
        its own, its key; raises RateLimited past either. Returns the tighter state."""
        tightest: LimitState | None = None
        for per_minute, scope, ident in self.limits(principal):
            state = await self._hit(RateLimitItemPerMinute(per_minute), scope, ident, cost=cost)
            if tightest is None or state.remaining < tightest.remaining:
                tightest = state
        return tightest

    # ---- failed authentication -------------------------------------------------------------

    def refuses(self, address: str, principal: Principal | None) -> float | None:
        """Seconds to wait when this address is blocked and the caller is not a key already
        trusted from it; None when the request may go on. In process: no I/O per request."""
        until = self._blocked.get(address)
        if until is None:
            return None
        now = time.monotonic()
        if until <= now:
            del self._blocked[address]
            return None
        if principal is not None and self._trusted.get((address, principal.key_id), 0) > now:
            return None
        return max(1.0, until - now)

    def authenticated(self, address: str, principal: Principal) -> None:
        """A key worked from an address: it keeps working there while the address is blocked."""
        key = (address, principal.key_id)
        now = time.monotonic()
        if self._trusted.get(key, 0) > now + TRUSTED_SECONDS / 2:
            return  # fresh enough: no write per request
        if len(self._trusted) >= MAX_TRACKED:
            self._trusted = {k: v for k, v in self._trusted.items() if v > now}
            if len(self._trusted) >= MAX_TRACKED:
                self._trusted.clear()
        self._trusted[key] = now + TRUSTED_SECONDS

    async def hit_failed_auth(self, address: str) -> None:
        """Count one failed authentication from an address; past the limit the address is
        blocked (here at once, on other replicas at their next failure from it) and this
        raises RateLimited with the time left."""
        item = RateLimitItemPerMinute(FAILED_AUTH_PER_MINUTE)
        try:
            await self._hit(item, "auth-fail", address)
        except RateLimited as exc:
            if "X-RateLimit-Limit" not in exc.headers:
                raise  # the storage is down and limits fail closed: not this address's doing
            retry = float(exc.headers.get("Retry-After", "60"))
            self._block(address, retry)
            raise RateLimited(
                "too many failed authentication attempts from this address; "
                f"retry in {math.ceil(retry)} s",
                headers={"Retry-After": str(math.ceil(retry))},
            ) from None

    def _block(self, address: str, seconds: float) -> None:
        if len(self._blocked) >= MAX_TRACKED:
            now = time.monotonic()
            self._blocked = {a: t for a, t in self._blocked.items() if t > now}
        self._blocked[address] = time.monotonic() + seconds

    # ---- storage --------------------------------------------------------------------------

    async def _hit(self, item: RateLimitItemPerMinute, *scope: str, cost: int = 1) -> LimitState:
        if self._use_shared():
            try:
                return await self._count(self.limiter, item, scope, cost)
            except RateLimited:
                raise
            except Exception as exc:  # noqa: BLE001 - storage down: see fail_open
                self._storage_down(exc)
        if not self.fail_open:
            raise RateLimited(
                "rate limiting is unavailable; try again shortly", headers={"Retry-After": "5"}
            )
        return await self._count(self.local, item, scope, cost)

    @staticmethod
    async def _count(
        limiter: MovingWindowRateLimiter,
        item: RateLimitItemPerMinute,
        scope: tuple[str, ...],
        cost: int,
    ) -> LimitState:
        allowed = await limiter.hit(item, *scope, cost=cost)
        stats = await limiter.get_window_stats(item, *scope)
        state = LimitState(item.amount, stats.remaining, stats.reset_time)
        if not allowed:
            retry_after = max(1, math.ceil(stats.reset_time - time.time()))
            who = "per user" if scope[0] == "user" else "for this key"
            if scope[0] == "auth-fail":
                who = "from this address"
            raise RateLimited(
                f"rate limit of {item.amount} requests per minute {who} exceeded "
                f"(all your keys count together); retry in {retry_after} s",
                headers={"Retry-After": str(retry_after), **state.headers()},
            )
        return state

    def _use_shared(self) -> bool:
        """The shared storage, unless Redis failed moments ago (then the local one)."""
        return self.shared and self.health.available

    def _storage_down(self, exc: BaseException) -> None:
        """Count the failure (a warning, once per period); Redis is skipped for a while."""
        self.storage_errors += 1
        self.health.failed("rate limits", exc)
