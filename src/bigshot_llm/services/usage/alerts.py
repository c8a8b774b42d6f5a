"""`usage.threshold` webhooks: a key's tokens of the UTC day crossing a webhook's threshold.

Runs after each usage batch is written (`UsageRecorder.after_flush`). A crossing is detected
from the database total of the day and the batch's own share (before < threshold <= after),
so it fires once per key, day and webhook without remembering anything in memory.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import col, select

from bigshot_llm.db.models import UsageRecord, Webhook, utcnow
from bigshot_llm.services.usage.recorder import UsageEvent
from bigshot_llm.services.webhooks.dispatcher import EventSource, enqueue

EVENT = "usage.threshold"


def day_start(now: datetime | None = None) -> datetime:
    now = now or utcnow()
    return datetime(now.year, now.month, now.day, tzinfo=UTC)


class UsageThresholds(EventSource):
    """The recorder's after-flush hook that emits `usage.threshold`."""

    async def __call__(self, batch: Sequence[UsageEvent]) -> None:
        start = day_start()
        added: Counter[str] = Counter()
        users: dict[str, str] = {}
        for event in batch:
            if event.key_id and event.at >= start and event.total_tokens:
                added[event.key_id] += event.total_tokens
                users[event.key_id] = event.user_id
        if not added:
            return
        async with self._sessions() as session:
            hooks = [
                h
                for h in (
                    await session.exec(select(Webhook).where(col(Webhook.enabled).is_(True)))
                ).all()
                if EVENT in h.events and h.usage_threshold_tokens
            ]
            if not hooks:
                return
            tokens = func.sum(UsageRecord.prompt_tokens + UsageRecord.completion_tokens)
            stmt = (
                select(UsageRecord.key_id, tokens)
                .where(col(UsageRecord.key_id).in_(list(added)))
                .where(col(UsageRecord.at) >= start)
                .group_by(col(UsageRecord.key_id))
            )
            totals = {key: int(total or 0) for key, total in (await session.exec(stmt)).all()}
            queued = 0
            for hook in hooks:
                threshold = int(hook.usage_threshold_tokens or 0)
                for key_id, total in totals.items():
                    if key_id is None or not total - added[key_id] < threshold <= total:
                        continue
                    data = {
                        "key_id": key_id,
                        "user_id": users.get(key_id),
                        "day": start.date().isoformat(),
                        "tokens": total,
                        "threshold": threshold,
                    }
                    queued += len(await enqueue(session, EVENT, data, hooks=[hook]))
            await self._queued(session, queued)
