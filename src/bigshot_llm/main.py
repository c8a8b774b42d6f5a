"""`create_app()` and the lifespan that owns every long-lived resource."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from redis.asyncio import from_url as redis_from_url
from sse_starlette.sse import AppStatus
from starlette.middleware.cors import CORSMiddleware

from bigshot_llm import __version__
from bigshot_llm.api.error_handlers import install_error_handlers
from bigshot_llm.api.fast_path import FastPathMiddleware, hot_routes
from bigshot_llm.api.limits import enforce_rate_limit
from bigshot_llm.api.middleware.access_log import AccessLogMiddleware
from bigshot_llm.api.middleware.body_limit import BodyLimitMiddleware
from bigshot_llm.api.middleware.content_type import JSONContentTypeMiddleware
from bigshot_llm.api.middleware.request_id import RequestIdMiddleware
from bigshot_llm.api.middleware.security_headers import SecurityHeadersMiddleware
from bigshot_llm.api.openai_compat import OPENAI_PREFIX, render_openai_error
from bigshot_llm.api.openai_compat import router as openai_router
from bigshot_llm.api.responses import NATIVE_ERRORS, OPENAI_ERRORS
from bigshot_llm.api.routes import (
    audit,
    chat_streams,
    compare,
    conversations,
    discovery,
    health,
    keys,
    llm,
    metrics,
    model_ops,
    preferences,
    provider_configs,
    usage,
    webhooks,
)
from bigshot_llm.api.shutdown import ShutdownNotice
from bigshot_llm.db.engine import make_engine, make_session_factory
from bigshot_llm.providers.base import limits_from_settings
from bigshot_llm.services.app_state import AppState
from bigshot_llm.services.auth import Authenticator
from bigshot_llm.services.bootstrap import prepare
from bigshot_llm.services.chat_streams import StreamManager
from bigshot_llm.services.compare import CompareService
from bigshot_llm.services.llm import LLMService
from bigshot_llm.services.model_catalog import ModelCatalog
from bigshot_llm.services.observability import Observability
from bigshot_llm.services.provider_registry import ProviderRegistry
from bigshot_llm.services.rate_limits import RateLimits, make_storage
from bigshot_llm.services.scale_out import ScaleOut
from bigshot_llm.services.secrets_box import SecretBox, load_or_create_key_file
from bigshot_llm.services.stream_slots import StreamSlots
from bigshot_llm.settings import Settings, get_settings
from bigshot_llm.web import mount_ui

log = logging.getLogger(__name__)

DESCRIPTION = """
One fast, safe, streaming-first API in front of LM Studio and OpenAI-compatible servers.

Authenticate with `Authorization: Bearer <key>` or `X-API-Key: <key>`. Every JSON answer of
the native API is an envelope: `{"success": true, "data": ...}` or
`{"success": false, "error": {"code", "message", "details"}}`.
"""


def build_state(settings: Settings) -> AppState:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    sessions = make_session_factory(engine)
    secret = settings.secret_key or load_or_create_key_file(settings.data_dir)
    box = SecretBox(secret)
    registry = ProviderRegistry(
        sessions,
        box,
        transport=settings.http_transport,
        retry_attempts=settings.retry_attempts,
        pool_health_seconds=settings.pool_health_seconds,
        keepalive_expiry=settings.upstream_keepalive_seconds,
        limits=limits_from_settings(settings),
    )
    return AppState(
        settings=settings,
        engine=engine,
        sessions=sessions,
        box=box,
        registry=registry,
        auth=Authenticator(sessions),
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if settings.shutdown_grace_seconds > 0:
        # sse-starlette ends every SSE response on SIGTERM; let them finish within the grace.
        AppStatus.disable_automatic_graceful_drain()
    state = build_state(settings)
    app.state.bigshot = state
    app.state.shutdown = ShutdownNotice(settings.shutdown_grace_seconds)
    redis_client = redis_from_url(settings.redis_url) if settings.redis_url else None
    app.state.redis = redis_client
    scale = ScaleOut.create(settings, redis_client)  # Redis-backed cache, buffers and bus
    app.state.scale_out = scale
    catalog = ModelCatalog(scale.model_cache, ttl=settings.model_cache_ttl)
    app.state.rate_limits = RateLimits(
        make_storage(settings.redis_url),
        user_per_minute=settings.rate_limit_user,
        admin_per_minute=settings.rate_limit_admin,
        fail_open=settings.rate_limit_fail_open,
    )
    app.state.stream_slots = StreamSlots(redis_client, fail_open=settings.rate_limit_fail_open)
    app.state.llm = LLMService(state.registry, catalog, fallback_model=settings.lmstudio_model)
    observability = Observability.create(state)
    app.state.metrics = observability.metrics
    app.state.usage = observability.usage
    app.state.webhooks = observability.webhooks
    streams = StreamManager(
        state.sessions,
        app.state.llm,
        grace=settings.stream_grace_seconds,
        keep=settings.stream_buffer_seconds,
        max_per_user=settings.max_streams_user,
        default_context_length=settings.default_context_length,
        usage=observability.usage,
        buffer_factory=scale.buffer_factory,
        remote=scale.store,
    )
    app.state.streams = streams
    app.state.compare = CompareService(state.sessions, app.state.llm, app.state.usage)
    try:
        await prepare(state, migrate_first=settings.auto_migrate, ui_base=ui_base_url(settings))
        await streams.start()
        await scale.start(state, streams)
        await observability.start()
        app.state.shutdown.install()
        yield
    finally:
        # Running generations get the shutdown grace, then store their partial answers.
        await streams.close(drain=settings.shutdown_grace_seconds)
        await scale.close()
        await app.state.compare.close()  # likewise for comparisons still running
        await observability.close()  # writes the last usage batch: before the database goes
        await state.registry.aclose()
        await catalog.close()
        if redis_client is not None:
            await redis_client.aclose()
        await state.engine.dispose()


def ui_base_url(settings: Settings) -> str:
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    return f"http://{host}:{settings.port}"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="bigshot-llm",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app, renderers={OPENAI_PREFIX: render_openai_error})
    rate_limited = [Depends(enforce_rate_limit)]
    errors = NATIVE_ERRORS
    # Routes are matched in order: the hot LLM routes come first.
    app.include_router(openai_router, dependencies=rate_limited, responses=OPENAI_ERRORS)
    app.include_router(llm.router, dependencies=rate_limited, responses=errors)
    app.include_router(health.router, responses=errors)
    app.include_router(keys.router, responses=errors)
    # Before provider_configs: `/kinds` and `/discover` must not be read as a provider id.
    app.include_router(model_ops.router, dependencies=rate_limited, responses=errors)
    app.include_router(discovery.router, dependencies=rate_limited, responses=errors)
    app.include_router(compare.router, dependencies=rate_limited, responses=errors)
    app.include_router(provider_configs.router, responses=errors)
    app.include_router(audit.router, responses=errors)
    app.include_router(conversations.router, responses=errors)
    app.include_router(chat_streams.router, responses=errors)
    app.include_router(preferences.router, responses=errors)
    app.include_router(usage.router, responses=errors)
    app.include_router(webhooks.router, responses=errors)
    app.include_router(metrics.router)
    mount_ui(app)  # the UI and its SPA fallback: after every API router
    app.add_middleware(FastPathMiddleware, routes=hot_routes())  # innermost: see fast_path
    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["*"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "Last-Event-ID"],
        )
    app.add_middleware(JSONContentTypeMiddleware)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        timeout=settings.request_timeout_seconds,
    )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(AccessLogMiddleware)  # inside RequestId: it reads the id
    app.add_middleware(RequestIdMiddleware)
    return app
