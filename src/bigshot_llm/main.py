"""`create_app()`: the routers in order, the middleware stack and the error handlers.

The long-lived resources are built by `lifespan` (see `bigshot_llm.lifespan`).
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI
from starlette.middleware.cors import CORSMiddleware

from bigshot_llm import __version__
from bigshot_llm.api.anthropic import ANTHROPIC_PREFIX, render_anthropic_error
from bigshot_llm.api.anthropic import router as anthropic_router
from bigshot_llm.api.deps import enforce_rate_limit
from bigshot_llm.api.errors import install_error_handlers
from bigshot_llm.api.fast_path import FastPathMiddleware, hot_routes
from bigshot_llm.api.middleware.body_limit import BodyLimitMiddleware
from bigshot_llm.api.middleware.edge import EdgeMiddleware
from bigshot_llm.api.native import (
    aliases,
    audit,
    chat_streams,
    compare,
    conversations,
    discovery,
    gpu,
    health,
    keys,
    llm,
    metrics,
    model_ops,
    preferences,
    providers,
    quotas,
    usage,
    webhooks,
)
from bigshot_llm.api.openai import OPENAI_PREFIX, render_openai_error
from bigshot_llm.api.openai import router as openai_router
from bigshot_llm.api.responses import ANTHROPIC_ERRORS, NATIVE_ERRORS, OPENAI_ERRORS
from bigshot_llm.api.responses_api import RESPONSES_PREFIX, render_responses_error
from bigshot_llm.api.responses_api import router as responses_router
from bigshot_llm.lifespan import lifespan
from bigshot_llm.schemas.events import add_event_schemas
from bigshot_llm.services.telemetry import build_tracing
from bigshot_llm.settings import Settings, get_settings
from bigshot_llm.web import mount_ui
from bigshot_llm.web.docs import mount_docs

DESCRIPTION = """
One fast, safe, streaming-first API in front of LM Studio and OpenAI-compatible servers.

Authenticate with `Authorization: Bearer <key>` or `X-API-Key: <key>`. Every JSON answer of
the native API is an envelope: `{"success": true, "data": ...}` or
`{"success": false, "error": {"code", "message", "details"}}`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="bigshot-llm",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # ours, from the installed Swagger UI package (web/docs.py)
        redoc_url=None,  # ReDoc exists only on a CDN
        # FastAPI's own OpenTelemetry support would trace whenever any library configured a
        # global provider, and looks the providers up on every request; the gateway's traces
        # are its own, opt-in and on its own provider (README "Traces").
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    # None unless an OTLP endpoint is set; the lifespan shuts it down (README "Traces").
    app.state.tracing = tracing = build_tracing(settings)
    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_event_schemas(default_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    install_error_handlers(
        app,
        renderers={
            OPENAI_PREFIX: render_openai_error,
            ANTHROPIC_PREFIX: render_anthropic_error,
            RESPONSES_PREFIX: render_responses_error,
        },
    )
    rate_limited = [Depends(enforce_rate_limit)]
    errors = NATIVE_ERRORS
    # Routes are matched in order: the hot LLM routes come first.
    app.include_router(openai_router, dependencies=rate_limited, responses=OPENAI_ERRORS)
    app.include_router(anthropic_router, dependencies=rate_limited, responses=ANTHROPIC_ERRORS)
    app.include_router(responses_router, dependencies=rate_limited, responses=OPENAI_ERRORS)
    app.include_router(llm.router, dependencies=rate_limited, responses=errors)
    app.include_router(health.router, responses=errors)
    app.include_router(keys.router, responses=errors)
    # Before providers: `/kinds` and `/discover` must not be read as a provider id.
    app.include_router(model_ops.router, dependencies=rate_limited, responses=errors)
    app.include_router(gpu.router, dependencies=rate_limited, responses=errors)
    app.include_router(discovery.router, dependencies=rate_limited, responses=errors)
    app.include_router(compare.router, dependencies=rate_limited, responses=errors)
    # Before the provider configs: their `/llm-providers/{name}` would take `/quotas`.
    app.include_router(quotas.router, responses=errors)
    app.include_router(aliases.router, responses=errors)  # before `/{provider_id}`
    app.include_router(providers.router, responses=errors)
    app.include_router(audit.router, responses=errors)
    app.include_router(conversations.router, responses=errors)
    app.include_router(chat_streams.router, responses=errors)
    app.include_router(preferences.router, responses=errors)
    app.include_router(usage.router, responses=errors)
    app.include_router(webhooks.router, responses=errors)
    app.include_router(metrics.router)
    mount_docs(app)
    mount_ui(app)  # the UI and its SPA fallback: after every API router
    if settings.fast_path:  # innermost: see api.fast_path
        app.add_middleware(FastPathMiddleware, routes=hot_routes(app.routes))
    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["*"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "Last-Event-ID"],
        )
    app.add_middleware(  # and the JSON-only check (415), in the same pass over the headers
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        timeout=settings.request_timeout_seconds,
        json_only=True,
    )
    app.add_middleware(EdgeMiddleware)  # request id, security headers, access log
    if tracing is not None:  # outermost: the server span covers the whole request
        tracing.instrument_app(app)
    return app
