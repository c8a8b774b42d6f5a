"""Builds the app's `Resources` in dependency order and closes them in reverse.

Each resource is created once its dependencies exist, and its closing is pushed on one exit
stack, so a failure half-way through start-up closes exactly what was opened, and shutdown
runs in reverse: running generations get the shutdown grace and store their answers, then the
bus, comparisons, the health checks, the usage recorder (its last batch may queue webhook
deliveries), webhooks, the keys' last-use writer, provider clients, the model cache, Redis
and finally the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import fields

from fastapi import FastAPI
from sse_starlette.sse import AppStatus

from bigshot_llm.db.engine import DatabaseTimeouts, make_engine, make_session_factory
from bigshot_llm.logging_setup import configure_logging
from bigshot_llm.providers.base import limits_from_settings
from bigshot_llm.resources import Core, Resources
from bigshot_llm.services.access.auth import Authenticator
from bigshot_llm.services.access.bootstrap import prepare
from bigshot_llm.services.access.rate_limits import RateLimits, make_storage
from bigshot_llm.services.access.secrets import (
    SecretBox,
    load_or_create_key_file,
    secure_data_dir,
    secure_sqlite,
)
from bigshot_llm.services.access.slots import StreamSlots
from bigshot_llm.services.agents.stored_responses import ResponseStore
from bigshot_llm.services.chat.streams import StreamManager
from bigshot_llm.services.cluster import Cluster
from bigshot_llm.services.compare import CompareService
from bigshot_llm.services.generation.admission import Admission
from bigshot_llm.services.generation.aliases import ModelAliases, parse_aliases
from bigshot_llm.services.generation.capacity import Capacity, parse_overrides
from bigshot_llm.services.generation.catalog import ModelCatalog
from bigshot_llm.services.generation.images import ImageFetcher
from bigshot_llm.services.generation.lane_slots import LaneSlots
from bigshot_llm.services.generation.model_switch import IdleModels, ModelSwitcher
from bigshot_llm.services.generation.routing import Router
from bigshot_llm.services.generation.service import GenerationService
from bigshot_llm.services.providers.health import HealthMonitor
from bigshot_llm.services.providers.presets import ModelPresets
from bigshot_llm.services.providers.registry import ProviderRegistry
from bigshot_llm.services.quotas.alerts import QuotaAlerts
from bigshot_llm.services.quotas.counters import MemoryCounters, RedisCounters
from bigshot_llm.services.quotas.gate import QuotaGate
from bigshot_llm.services.telemetry import Tracing
from bigshot_llm.services.usage.alerts import UsageThresholds
from bigshot_llm.services.usage.metrics import Metrics
from bigshot_llm.services.usage.recorder import UsageRecorder
from bigshot_llm.services.webhooks.dispatcher import RetryPolicy, WebhookDispatcher
from bigshot_llm.settings import Settings, parse_name_numbers
from bigshot_llm.shutdown import ShutdownNotice


def ui_base_url(settings: Settings) -> str:
    """Where the UI is reached (for the sign-in link printed on first start)."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    return f"http://{host}:{settings.port}"


def database_timeouts(settings: Settings) -> DatabaseTimeouts:
    return DatabaseTimeouts(
        connect=settings.db_connect_timeout,
        statement=settings.db_statement_timeout,
        pool=settings.db_pool_timeout,
    )


def build_core(settings: Settings, tracing: Tracing | None = None) -> Core:
    """The database, secret box, provider snapshot and key resolver; nothing is contacted
    yet. The caller closes `registry` and disposes of `engine`."""
    secure_data_dir(settings.data_dir)  # 0700: the database and the key file live here
    secure_sqlite(settings.effective_database_url)  # 0600 before SQLite first opens it
    engine = make_engine(settings.effective_database_url, timeouts=database_timeouts(settings))
    sessions = make_session_factory(engine)
    box = SecretBox(settings.secret_key or load_or_create_key_file(settings.data_dir))
    registry = ProviderRegistry(
        sessions,
        box,
        transport=settings.http_transport,
        retry_attempts=settings.retry_attempts,
        pool_health_seconds=settings.pool_health_seconds,
        keepalive_expiry=settings.upstream_keepalive_seconds,
        limits=limits_from_settings(settings),
        allowed_hosts=settings.allowed_upstream_host_set,
        forbidden_ports=frozenset({settings.port}),
        wrap_transport=tracing.wrap_transport if tracing is not None else None,
    )
    return Core(settings, engine, sessions, box, registry, Authenticator(sessions))


async def prepare_core(core: Core) -> None:
    """Migrate (when allowed), load the provider configs and run first-start set-up.

    On Postgres, migrations run on an engine of their own without the statement timeout:
    building an index on a big table may take longer than any request should wait."""
    settings = core.settings
    own = not settings.is_sqlite  # SQLite's only bound is the wait for a writer's lock
    migrations = make_engine(settings.effective_database_url) if own else core.engine
    try:
        await prepare(
            settings,
            migrations,
            core.sessions,
            core.registry,
            core.box,
            migrate_first=settings.auto_migrate,
            ui_base=ui_base_url(settings),
        )
    finally:
        if own:
            await migrations.dispose()


@asynccontextmanager
async def open_resources(
    settings: Settings, tracing: Tracing | None = None
) -> AsyncIterator[Resources]:
    """Every resource, opened in dependency order; closed in reverse on exit."""
    if settings.log_format:
        configure_logging(settings.log_format, settings.log_level)
    async with AsyncExitStack() as stack:
        if tracing is not None:  # last: the spans of the shutdown are exported too
            stack.push_async_callback(asyncio.to_thread, tracing.shutdown)
        core = build_core(settings, tracing)
        stack.push_async_callback(core.engine.dispose)
        cluster = Cluster.connect(settings)
        stack.push_async_callback(cluster.close)
        catalog = ModelCatalog(
            cluster.model_cache(),
            ttl=settings.model_cache_ttl,
            error_ttl=settings.model_error_ttl,
        )
        stack.push_async_callback(catalog.close)
        stack.push_async_callback(core.registry.aclose)
        await prepare_core(core)
        await core.auth.start()  # writes the keys' last-use times in the background
        stack.push_async_callback(core.auth.close)
        router = Router(
            core.registry,
            catalog,
            fallback_model=settings.lmstudio_model,
            aliases=ModelAliases.from_mapping(parse_aliases(settings.model_aliases)),
        )
        rate_limits = RateLimits(
            make_storage(cluster.redis, cluster.key("limits")),
            user_per_minute=settings.rate_limit_user,
            admin_per_minute=settings.rate_limit_admin,
            fail_open=settings.rate_limit_fail_open,
            health=cluster.health,
        )
        slots = StreamSlots(
            cluster.redis,
            prefix=cluster.key("streams"),
            user_limit=settings.max_streams_user,
            fail_open=settings.rate_limit_fail_open,
            health=cluster.health,
        )
        metrics = Metrics() if settings.metrics_enabled else None
        if metrics is not None:
            stack.callback(metrics.process_exited)
        webhooks = WebhookDispatcher(
            core.sessions,
            core.box,
            policy=RetryPolicy(
                timeout=settings.webhook_timeout_seconds,
                backoff=settings.webhook_backoff_seconds,
                max_age=settings.webhook_max_age_seconds,
                poll=settings.webhook_poll_seconds,
            ),
            allowed_hosts=settings.allowed_upstream_host_set,
            metrics=metrics,
        )
        await webhooks.start()
        stack.push_async_callback(webhooks.close)
        usage = UsageRecorder(
            core.sessions,
            metrics=metrics,
            interval=settings.usage_flush_seconds,
            batch_size=settings.usage_batch_size,
        )
        usage.after_flush.append(UsageThresholds(core.sessions, webhooks))
        await usage.start()
        stack.push_async_callback(usage.close)  # its last batch: before webhooks close
        health = HealthMonitor(
            core.registry,
            webhooks,
            interval=settings.health_check_seconds,
            metrics=metrics,
            lock_path=settings.data_dir / "health-monitor.lock",
        )
        await health.start()
        stack.push_async_callback(health.close)
        images = ImageFetcher(
            max_bytes=settings.image_max_bytes,
            timeout=settings.image_fetch_timeout_seconds,
            allowed_hosts=settings.image_fetch_allowed_host_set,
        )
        stack.push_async_callback(images.aclose)
        admission = gpu_admission(settings, cluster, router, metrics)
        idle = IdleModels(
            router,
            admission,
            ttl=settings.model_idle_ttl_seconds,
            per_model=parse_name_numbers(settings.model_idle_ttls),
            interval=settings.model_idle_check_seconds,
        )
        await idle.start()
        stack.push_async_callback(idle.close)
        presets = ModelPresets(core.sessions)
        quotas = quota_gate(cluster, QuotaAlerts(core.sessions, webhooks), stack)
        switcher = ModelSwitcher(router, admission, idle, presets=presets.lookup)
        generation = GenerationService(
            router,
            slots,
            usage,
            images,
            max_choices=settings.max_choices_user,
            admission=admission,
            switcher=switcher,
            quotas=quotas,
            tracing=tracing,
        )
        compare = CompareService(core.sessions, generation)
        stack.push_async_callback(compare.close)  # comparisons store what they have
        streams = StreamManager(
            core.sessions,
            generation,
            grace=settings.stream_grace_seconds,
            keep=settings.stream_buffer_seconds,
            default_context_length=settings.default_context_length,
            buffer_factory=cluster.buffer_factory,
            remote=cluster.store,
        )
        await streams.start()
        stack.push_async_callback(cluster.leave)
        await cluster.join(core.registry, core.auth, streams)
        # Running generations get the shutdown grace, then store their partial answers.
        stack.push_async_callback(streams.close, settings.shutdown_grace_seconds)
        shutdown = ShutdownNotice(settings.shutdown_grace_seconds)
        shutdown.install()
        yield Resources(
            **{f.name: getattr(core, f.name) for f in fields(core)},
            cluster=cluster,
            catalog=catalog,
            router=router,
            rate_limits=rate_limits,
            slots=slots,
            metrics=metrics,
            usage=usage,
            webhooks=webhooks,
            health=health,
            generation=generation,
            admission=admission,
            idle_models=idle,
            presets=presets,
            streams=streams,
            compare=compare,
            shutdown=shutdown,
            quotas=quotas,
            responses=ResponseStore(core.sessions, settings.responses_ttl_seconds),
        )


def quota_gate(cluster: Cluster, alerts: QuotaAlerts, stack: AsyncExitStack) -> QuotaGate:
    """Quotas (README "Quotas"): counted in Redis when the cluster has it, else in process."""
    stack.push_async_callback(alerts.close)  # before webhooks close: alerts still queued
    if cluster.redis is None:
        return QuotaGate(MemoryCounters(), alerts=alerts)
    counters = RedisCounters(cluster.redis, cluster.key("quota"))
    return QuotaGate(counters, shared=True, health=cluster.health, alerts=alerts)


def gpu_admission(
    settings: Settings, cluster: Cluster, router: Router, metrics: Metrics | None
) -> Admission | None:
    """Admission to the GPUs' slots (README "Sharing GPUs"), None when turned off."""
    if not settings.admission_enabled:
        return None
    capacity = Capacity(
        router,
        default_slots=settings.slots_default,
        overrides=parse_overrides(settings.slots_overrides),
    )
    lanes = LaneSlots(cluster.redis, prefix=cluster.key("gpu"), health=cluster.health)
    return Admission(
        capacity,
        lanes,
        max_queue=settings.queue_max_per_model,
        timeout=settings.queue_timeout_seconds,
        sticky_max_queue=settings.sticky_max_queue,
        observe=metrics.observe_queue if metrics is not None else None,
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if settings.shutdown_grace_seconds > 0:
        # sse-starlette ends every SSE response on SIGTERM; let them finish within the grace.
        AppStatus.disable_automatic_graceful_drain()
    async with open_resources(settings, app.state.tracing) as resources:
        app.state.resources = resources
        yield
