"""`usage.threshold` for quotas: a delivery to every webhook subscribed to the event when a
quota's usage first reaches 80 % and 100 % of its limit in a period.

The gate decides "first" (a SET NX per subject, quota, period and level, shared by the
replicas); this writes the deliveries off the request path, in a task of its own, so a slow
database never delays the end of a stream. `close` waits for the ones still being written.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.services.quotas.gate import shown
from bigshot_llm.services.quotas.periods import Window
from bigshot_llm.services.quotas.rules import QuotaRule
from bigshot_llm.services.tasks import TaskSet
from bigshot_llm.services.usage.alerts import EVENT
from bigshot_llm.services.webhooks.dispatcher import EventSource, WebhookDispatcher, enqueue

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


class QuotaAlerts(EventSource):
    """The gate's alert sink: queues the webhook deliveries in the background."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], dispatcher: WebhookDispatcher
    ) -> None:
        super().__init__(sessions, dispatcher)
        self._writes = TaskSet()
        self.sent = 0

    async def __call__(self, rule: QuotaRule, win: Window, level: int, used: float) -> None:
        self._writes.spawn(self._enqueue(alert_data(rule, win, level, used)), "quota-alert")

    async def _enqueue(self, data: dict[str, object]) -> None:
        try:
            async with self._sessions() as session:
                queued = await self._queued(session, len(await enqueue(session, EVENT, data)))
        except Exception:  # an alert lost is logged, never a failed request
            log.warning("quota alert not queued: %s", data.get("quota"), exc_info=True)
            return
        self.sent += queued

    async def close(self) -> None:
        await self._writes.wait()
