"""`/metrics`: parsed with Prometheus' own text parser, access rules, multi-process mode."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from bigshot_llm.main import create_app
from bigshot_llm.settings import Settings
from tests.conftest import ADMIN_KEY, auth
from tests.usage.helpers import CHAT_MODEL, NATIVE

ADMIN = auth(ADMIN_KEY)
MESSAGES = [{"role": "user", "content": "Name three primes."}]


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return sum(
        v for lab, v in found.get(name, []) if all(lab.get(k) == x for k, x in labels.items())
    )


async def test_metrics_after_streamed_and_plain_calls(
    client: httpx.AsyncClient, sim: Any, user_headers: dict[str, str]
) -> None:
    for stream in (False, True):
        response = await client.post(
            f"{NATIVE}/chat/completions",
            json={"messages": MESSAGES, "stream": stream},
            headers=user_headers,
        )
        assert response.status_code == 200
    response = await client.get("/metrics")  # the test client comes from 127.0.0.1
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    route = "/api/v1/llm-providers/chat/completions"
    assert value(found, "bigshot_http_requests_total", route=route, status="200") == 2
    assert value(found, "bigshot_http_request_duration_seconds_count", route=route) == 2
    assert value(found, "bigshot_llm_requests_total", model=CHAT_MODEL, status="ok") == 2
    tokens = sim.state.tokens
    assert value(found, "bigshot_tokens_total", model=CHAT_MODEL, direction="out") == 2 * tokens
    assert value(found, "bigshot_tokens_total", model=CHAT_MODEL, direction="in") == 14
    assert value(found, "bigshot_ttft_seconds_count", model=CHAT_MODEL) == 1
    assert value(found, "bigshot_tokens_per_second_count", model=CHAT_MODEL) == 1
    assert value(found, "bigshot_upstream_latency_seconds_count", endpoint=route) == 2
    assert value(found, "bigshot_gateway_overhead_seconds_count", route=route) == 1
    assert value(found, "bigshot_active_streams") == 0
    assert value(found, "bigshot_model_cache_misses_total") >= 1
    assert "bigshot_model_cache_hits_total" in found
    # Route templates, never concrete paths or query strings.
    labels = {lab.get("route") for lab, _ in found["bigshot_http_requests_total"]}
    assert all(r is None or "?" not in r for r in labels)


async def test_rate_limit_rejections_are_counted(settings: Settings, sim: Any) -> None:
    app = create_app(settings.model_copy(update={"rate_limit_user": 1}))
    async with app.router.lifespan_context(app):
        async with client_for(app) as client:
            key = (
                await client.post(
                    "/api/v1/keys", json={"name": "k", "user": "carol"}, headers=ADMIN
                )
            ).json()["data"]["key"]
            statuses = [
                (await client.get(f"{NATIVE}/models", headers=auth(key))).status_code
                for _ in range(2)
            ]
            assert statuses == [200, 429]
            found = samples((await client.get("/metrics")).text)
    assert value(found, "bigshot_rate_limit_rejections_total", route=f"{NATIVE}/models") == 1


def client_for(app: FastAPI, host: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(host, 4321))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway.test")


async def test_remote_scrapers_need_an_admin_key(
    app: FastAPI, client: httpx.AsyncClient, user_headers: dict[str, str]
) -> None:
    async with client_for(app, "203.0.113.9") as remote:
        assert (await remote.get("/metrics")).status_code == 401
        assert (await remote.get("/metrics", headers=user_headers)).status_code == 403
        assert (await remote.get("/metrics", headers=ADMIN)).status_code == 200
    assert "/metrics" not in app.openapi()["paths"]


async def test_loopback_can_be_closed_too(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"metrics_loopback_open": False}))
    async with app.router.lifespan_context(app):
        async with client_for(app) as client:
            assert (await client.get("/metrics")).status_code == 401
            assert (await client.get("/metrics", headers=ADMIN)).status_code == 200


WORKER = """
from bigshot_llm.services.usage.metrics import Metrics
m = Metrics()
m.http_requests.labels("GET", "/x", "200").inc()
m.active_streams.inc()
"""
SCRAPE = """
import sys
from bigshot_llm.services.usage.metrics import Metrics
sys.stdout.write(Metrics().exposition().decode())
"""


def test_multiprocess_mode_adds_up_every_worker(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):  # two "workers", each its own process
        subprocess.run([sys.executable, "-c", WORKER], env=env, check=True, timeout=60)
    scraped = subprocess.run(
        [sys.executable, "-c", SCRAPE], env=env, check=True, timeout=60, capture_output=True
    )
    found = samples(scraped.stdout.decode())
    assert value(found, "bigshot_http_requests_total", route="/x") == 2


async def test_only_listed_models_become_labels(
    client: httpx.AsyncClient, sim: Any, user_headers: dict[str, str]
) -> None:
    """Made-up model names (the provider never listed them) are labelled `other`: 50 calls
    must not grow /metrics by 50 series."""
    for i in range(20):
        await client.post(
            f"{NATIVE}/chat/completions",
            json={"messages": MESSAGES, "model": f"made-up-model-{i}"},
            headers=user_headers,
        )
    listed = await client.post(
        f"{NATIVE}/chat/completions",
        json={"messages": MESSAGES, "model": CHAT_MODEL},
        headers=user_headers,
    )
    assert listed.status_code == 200, listed.text
    text = (await client.get("/metrics")).text
    assert "made-up-model" not in text  # the GPU queue gauges included
    assert "bigshot_gpu_slots{" in text  # which exist: the listed model was admitted
    found = samples(text)
    models = {lab.get("model") for lab, _ in found["bigshot_llm_requests_total"]}
    assert models <= {CHAT_MODEL, "other"}
    # the first reached the upstream (404) as `other`; once the list was known the rest
    # were refused before any upstream call
    assert value(found, "bigshot_llm_requests_total", model="other") >= 1
    assert value(found, "bigshot_llm_requests_total", model=CHAT_MODEL, status="ok") == 1
