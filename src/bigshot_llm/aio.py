"""Small asyncio helpers shared by the background services."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any


async def stop_task(task: asyncio.Task[Any] | None) -> None:
    """Cancel a background task and wait until it has ended (its `finally` blocks ran)."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def close_iterator(iterator: AsyncIterator[Any], *, quiet: bool = True) -> None:
    """Close an async generator (running its `finally`, which closes an upstream request).

    Plain iterators without `aclose` are left alone; `quiet` swallows errors raised while
    closing, for callers already on their way out of a failure.
    """
    aclose = getattr(iterator, "aclose", None)
    if aclose is None:
        return
    if quiet:
        with contextlib.suppress(Exception):
            await aclose()
    else:
        await aclose()
