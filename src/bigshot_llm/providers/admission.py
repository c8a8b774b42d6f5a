"""The connection slots of one provider: at most `max_connections` requests at once.

Each request (a whole stream, until it ends) holds a slot, so the HTTP client's own pool never
has to queue. Beyond the slots a request waits, up to `limits.pool_timeout`, and then fails with
`ProviderBusy`, a message that says what happened. Without this the wait happened inside
aiohttp, whose connect timeout covers both the wait for a pooled connection and the connect
itself, and a saturated pool was reported as "timed out connecting".
"""

from __future__ import annotations

import asyncio

from bigshot_llm.errors import ProviderBusy
from bigshot_llm.providers.base import ProviderSpec

__all__ = ["ConnectionSlots"]


class ConnectionSlots:
    """A counting gate with a bounded wait; `acquire` then `release` (in `finally`)."""

    __slots__ = ("_spec", "_free", "waiting")

    def __init__(self, spec: ProviderSpec) -> None:
        self._spec = spec
        self._free = asyncio.Semaphore(spec.max_connections)
        self.waiting = 0

    @property
    def in_use(self) -> int:
        return self._spec.max_connections - self._free._value

    async def acquire(self) -> None:
        if not self._free.locked():
            await self._free.acquire()  # a free slot: returns without suspending
            return
        timeout = self._spec.limits.pool_timeout
        self.waiting += 1
        try:
            async with asyncio.timeout(timeout):
                await self._free.acquire()
        except TimeoutError:
            spec = self._spec
            raise ProviderBusy(
                f"all {spec.max_connections} connections to {spec.name} are in use and none "
                f"came free within {timeout:g}s; try again, or raise the provider's "
                "max_connections (or BIGSHOT_UPSTREAM_POOL_TIMEOUT_SECONDS)",
                headers={"Retry-After": "1"},
                details={"max_connections": spec.max_connections, "waited_seconds": timeout},
            ) from None
        finally:
            self.waiting -= 1

    def release(self) -> None:
        self._free.release()
