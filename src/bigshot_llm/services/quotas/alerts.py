"""`usage.threshold` for quotas: a delivery to every webhook subscribed to the event when a
quota's usage first reaches 80 % and 100 % of its limit in a period.

The gate decides "first" (a SET NX per subject, quota, period and level, shared by the
replicas); this writes the deliveries off the request path, in a task of its own, so a slow
database never delays the end of a stream. `close` waits for the ones still being written.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.services.quotas.gate import shown
from bigshot_llm.services.quotas.periods import Window
from bigshot_llm.services.quotas.rules import QuotaRule
from bigshot_llm.services.usage.alerts import EVENT
from bigshot_llm.services.webhooks.dispatcher import WebhookDispatcher, enqueue

log = logging.getLogger(__name__)


def alert_data(rule: QuotaRule, win: Window, level: int, used: float) -> dict[str, object]:
    return {
        "kind": "quota",
        "level": level,
        "quota": rule.describe(),
        "usage": shown(used),
        "period_start": win.start.isoformat().replace("+00:00", "Z"),
        "resets_at": win.end.isoformat().replace("+00:00", "Z"),
    }


class QuotaAlerts:
    """The gate's alert sink: queues the webhook deliveries in the background."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], dispatcher: WebhookDispatcher
    ) -> None:
        self._sessions = sessions
        self._dispatcher = dispatcher
        self._tasks: set[asyncio.Task[None]] = set()
        self.sent = 0

    async def __call__(self, rule: QuotaRule, win: Window, level: int, used: float) -> None:
        task = asyncio.get_running_loop().create_task(
            self._enqueue(alert_data(rule, win, level, used)), name="quota-alert"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _enqueue(self, data: dict[str, object]) -> None:
        try:
            async with self._sessions() as session:
                queued = await enqueue(session, EVENT, data)
                if queued:
                    await session.commit()
        except Exception:  # an alert lost is logged, never a failed request
            log.warning("quota alert not queued: %s", data.get("quota"), exc_info=True)
            return
        if queued:
            self.sent += len(queued)
            self._dispatcher.wake()

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
