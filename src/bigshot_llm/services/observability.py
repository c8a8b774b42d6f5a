"""The lifespan's observability bundle: metrics, the usage recorder, webhooks, health checks.

Created before the routers need them and closed in order on exit: the usage recorder writes
its last batch (which may queue `usage.threshold` deliveries) before the dispatcher stops and
long before the engine is disposed.
"""

from __future__ import annotations

from dataclasses import dataclass

from bigshot_llm.logging_setup import configure_logging
from bigshot_llm.services.app_state import AppState
from bigshot_llm.services.health_monitor import HealthMonitor
from bigshot_llm.services.metrics import Metrics
from bigshot_llm.services.usage import UsageRecorder
from bigshot_llm.services.usage_alerts import UsageThresholds
from bigshot_llm.services.webhooks import RetryPolicy, WebhookDispatcher


@dataclass
class Observability:
    metrics: Metrics | None
    usage: UsageRecorder
    webhooks: WebhookDispatcher
    health: HealthMonitor

    @classmethod
    def create(cls, state: AppState) -> Observability:
        settings = state.settings
        if settings.log_format:
            configure_logging(settings.log_format, settings.log_level)
        metrics = Metrics() if settings.metrics_enabled else None
        usage = UsageRecorder(
            state.sessions,
            metrics=metrics,
            interval=settings.usage_flush_seconds,
            batch_size=settings.usage_batch_size,
        )
        policy = RetryPolicy(
            timeout=settings.webhook_timeout_seconds,
            backoff=settings.webhook_backoff_seconds,
            max_age=settings.webhook_max_age_seconds,
            poll=settings.webhook_poll_seconds,
        )
        webhooks = WebhookDispatcher(
            state.sessions,
            state.box,
            policy=policy,
            allowed_hosts=settings.allowed_upstream_host_set,
            metrics=metrics,
        )
        usage.after_flush.append(UsageThresholds(state.sessions, webhooks))
        health = HealthMonitor(
            state.registry,
            webhooks,
            interval=settings.health_check_seconds,
            metrics=metrics,
            lock_path=settings.data_dir / "health-monitor.lock",
        )
        return cls(metrics, usage, webhooks, health)

    async def start(self) -> None:
        await self.usage.start()
        await self.webhooks.start()
        await self.health.start()

    async def close(self) -> None:
        await self.health.close()
        await self.usage.close()
        await self.webhooks.close()
        if self.metrics is not None:
            self.metrics.process_exited()
