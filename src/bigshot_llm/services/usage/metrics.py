"""Prometheus metrics of the gateway, one `Metrics` object per app (no module globals).

Single process: the metrics live in the app's own `CollectorRegistry`. Several workers
(`PROMETHEUS_MULTIPROC_DIR` set, as `bigshot-llm serve --workers N` does): prometheus-client
writes every value to per-process files in that directory and `/metrics` aggregates them
all, whichever worker answers. Gauges say how their values combine across workers.
"""

from __future__ import annotations

import os
from functools import partial
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prom_multiprocess

__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "multiprocess_dir"]

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
OVERHEAD_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1)
RATE_BUCKETS = (1, 5, 10, 20, 30, 50, 75, 100, 150, 250, 500, 1000)


def multiprocess_dir() -> str | None:
    """The directory of multi-process mode, if this process runs in it."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class LabelCache:
    """A labelled metric whose `labels(...)` children are remembered.

    prometheus-client validates and hashes the label values on every `labels()` call; the
    request path makes several per request, so the children are kept in a dictionary.
    """

    MAX_CHILDREN = 10_000

    def __init__(self, metric: Any) -> None:
        self.metric = metric
        self._children: dict[tuple[str, ...], Any] = {}

    def labels(self, *values: str) -> Any:
        child = self._children.get(values)
        if child is None:
            if len(self._children) >= self.MAX_CHILDREN:
                self._children.clear()
            child = self._children[values] = self.metric.labels(*values)
        return child

    def __getattr__(self, name: str) -> Any:
        return getattr(self.metric, name)


def _labelled(kind: Any, name: str, doc: str, labels: tuple[str, ...], **options: Any) -> Any:
    """A metric; a labelled one is wrapped in a `LabelCache`."""
    metric = kind(name, doc, list(labels), **options)
    return LabelCache(metric) if labels else metric


class Metrics:
    """Every metric the gateway exports, bound to one registry (or to the multiprocess files)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.multiprocess = multiprocess_dir() is not None
        # In multi-process mode values go to files; the objects need no registry at all.
        self.registry = registry if registry is not None else CollectorRegistry()
        reg: Any = None if self.multiprocess else self.registry
        counter = partial(_labelled, Counter, registry=reg)
        histogram = partial(_labelled, Histogram, registry=reg)
        gauge = partial(_labelled, Gauge, registry=reg)
        http = ("method", "route")
        by_provider = ("provider", "model")
        self.http_requests = counter(
            "bigshot_http_requests",
            "HTTP requests by route template, method and status",
            (*http, "status"),
        )
        self.http_duration = histogram(
            "bigshot_http_request_duration_seconds",
            "Time to the end of the answer, by route template",
            http,
            buckets=LATENCY_BUCKETS,
        )
        self.upstream_latency = histogram(
            "bigshot_upstream_latency_seconds",
            "Time spent waiting for the provider (a whole stream for streamed calls)",
            ("provider", "endpoint"),
            buckets=LATENCY_BUCKETS,
        )
        self.overhead = histogram(
            "bigshot_gateway_overhead_seconds",
            "Non-streaming LLM calls: total time minus upstream time",
            ("route",),
            buckets=OVERHEAD_BUCKETS,
        )
        self.ttft = histogram(
            "bigshot_ttft_seconds",
            "Time to first token of streamed generations",
            by_provider,
            buckets=LATENCY_BUCKETS,
        )
        self.tokens_per_second = histogram(
            "bigshot_tokens_per_second",
            "Generation speed of streamed generations",
            by_provider,
            buckets=RATE_BUCKETS,
        )
        self.tokens = counter(
            "bigshot_tokens",
            "Tokens by model and direction (in = prompt, out = completion)",
            ("model", "direction"),
        )
        self.llm_requests = counter(
            "bigshot_llm_requests",
            "LLM requests by provider, model, endpoint and outcome (ok, an error code, cancelled)",
            (*by_provider, "endpoint", "status"),
        )
        self.active_streams = gauge(
            "bigshot_active_streams",
            "Generations streaming right now",
            (),
            multiprocess_mode="livesum",
        )
        self.queue_depth = gauge(
            "bigshot_gpu_queue_depth",
            "Generations waiting for a free slot of their model",
            by_provider,
            multiprocess_mode="livesum",
        )
        self.gpu_slots_in_use = gauge(
            "bigshot_gpu_slots_in_use",
            "Generations holding a slot of their model (this process)",
            by_provider,
            multiprocess_mode="livesum",
        )
        self.gpu_slots = gauge(
            "bigshot_gpu_slots",
            "Parallel slots of a model over its instances and pool members",
            by_provider,
            multiprocess_mode="livemostrecent",
        )
        self.queue_wait = histogram(
            "bigshot_gpu_queue_wait_seconds",
            "Time generations waited for a slot",
            by_provider,
            buckets=LATENCY_BUCKETS,
        )
        self.cache_hits = counter("bigshot_model_cache_hits", "Model-list cache hits", ())
        self.cache_misses = counter("bigshot_model_cache_misses", "Model-list cache misses", ())
        self.provider_up = gauge(
            "bigshot_provider_up",
            "1 when the last health check of the provider succeeded, else 0",
            ("provider", "provider_id"),
            multiprocess_mode="livemostrecent",
        )
        self.rate_limited = counter(
            "bigshot_rate_limit_rejections",
            "Requests answered 429 (request rate or concurrent-stream limits)",
            ("route",),
        )
        self.webhook_deliveries = counter(
            "bigshot_webhook_deliveries",
            "Webhook delivery attempts by event and outcome",
            ("event", "outcome"),
        )
        self.dependency_errors = counter(
            "bigshot_dependency_errors",
            "Failed calls to a dependency the gateway degrades without (Redis: rate limits, "
            "stream slots)",
            ("dependency", "use"),
        )
        self._cache_seen = (0, 0)
        self._dependency_seen: dict[tuple[str, str], int] = {}

    def observe_queue(self, group: Any, waited: float | None) -> None:
        """A GPU queue changed (admission's `Group`): depth and slots, and a finished wait."""
        labels = group.labels  # never a made-up model name or a user's provider name
        self.queue_depth.labels(*labels).set(len(group.queue))
        self.gpu_slots_in_use.labels(*labels).set(group.running)
        self.gpu_slots.labels(*labels).set(group.slots)
        if waited is not None:
            self.queue_wait.labels(*labels).observe(waited)

    def sync_cache(self, hits: int, misses: int) -> None:
        """Carry the model catalog's plain counters over (they count in process)."""
        seen_hits, seen_misses = self._cache_seen
        if hits > seen_hits:
            self.cache_hits.inc(hits - seen_hits)
        if misses > seen_misses:
            self.cache_misses.inc(misses - seen_misses)
        self._cache_seen = (max(hits, seen_hits), max(misses, seen_misses))

    def sync_dependency_errors(self, dependency: str, use: str, total: int) -> None:
        """Carry a plain failure counter (e.g. `RateLimits.storage_errors`) over."""
        seen = self._dependency_seen.get((dependency, use), 0)
        if total > seen:
            self.dependency_errors.labels(dependency, use).inc(total - seen)
            self._dependency_seen[(dependency, use)] = total

    def exposition(self) -> bytes:
        """The text format of every metric (all workers' in multi-process mode)."""
        if self.multiprocess:
            registry = CollectorRegistry()
            prom_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)

    def process_exited(self) -> None:
        """Drop this worker's live gauges from the shared files (called on shutdown)."""
        if self.multiprocess:
            prom_multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
