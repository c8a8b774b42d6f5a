"""`make bench`: the gateway against the simulator (zero token delay) on loopback, side by side
with direct calls; prints a Markdown table and writes benchmarks/results/latest.md (+ a plot).

The gateway runs at its defaults (the JSON access log on, at INFO), as users run it; the main
figures are repeated with `BIGSHOT_LOG_LEVEL=WARNING` (no access log) beside them. CPU is the
gateway process's CPU seconds (/proc) divided by the requests or chunks it served: on a busy
machine that moves far less than requests per second do.

Every run is bounded in time, talks only to 127.0.0.1, and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import re
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

from benchmarks.load import (
    CHAT_BODY,
    cpu_seconds,
    mean,
    percentile,
    sequential,
    streams,
    wrk,
)
from benchmarks.processes import BENCH_KEY, gateway, simulator

RESULTS = Path(__file__).resolve().parent / "results"
ADMIN = {"Authorization": f"Bearer {BENCH_KEY}"}
NATIVE_CHAT = "/api/v1/llm-providers/chat/completions"
V1_CHAT = "/v1/chat/completions"
DIRECT_CHAT = "/v1/chat/completions"
# The other surfaces, the same question (judged against chat completions' CPU per request).
SURFACES = {
    "messages": (
        "/v1/messages",
        {"model": CHAT_BODY["model"], "max_tokens": 256, "messages": CHAT_BODY["messages"]},
    ),
    "responses": (
        "/v1/responses",
        {"model": CHAT_BODY["model"], "input": CHAT_BODY["messages"][0]["content"]},
    ),
}


def _cpu_wrk(pid: int, url: str, body: dict[str, Any], seconds: int) -> dict[str, Any]:
    """wrk at 32 connections, with the gateway's CPU per request."""
    before = cpu_seconds(pid)
    res = wrk(url, connections=32, seconds=seconds, key=BENCH_KEY, body=body)
    cpu = cpu_seconds(pid) - before
    return {
        "rps": res.requests_per_second,
        "p50_ms": res.p50_ms,
        "p99_ms": res.p99_ms,
        "errors": res.errors,
        "requests": res.requests,
        "cpu_ms_per_request": cpu * 1000 / max(1, res.requests),
    }


def _cpu_streams(pid: int, url: str, count: int) -> dict[str, Any]:
    """`count` streams, 16 at a time, with the gateway's CPU per relayed chunk."""
    before = cpu_seconds(pid)
    rate = asyncio.run(streams(url, V1_CHAT, ADMIN, count=count, concurrency=16))
    cpu = cpu_seconds(pid) - before
    return {
        "chunks_per_second": rate.chunks_per_second,
        "streams_per_second": rate.streams_per_second,
        "errors": rate.errors,
        "cpu_us_per_chunk": cpu * 1e6 / max(1, rate.chunks),
    }


def machine_info() -> str:
    cpu = platform.processor() or platform.machine()
    return (
        f"{psutil.cpu_count()} cores ({cpu}), {psutil.virtual_memory().total / 2**30:.0f} GiB, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def fast_scenarios(args: argparse.Namespace, out: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp, simulator(tokens=64) as sim:
        with gateway(sim.url, Path(tmp)) as gw:
            out["rss_at_rest_mb"] = psutil.Process(gw.pid).memory_info().rss / 2**20
            targets = {
                "direct": (sim.url, DIRECT_CHAT, {}),
                "native": (gw.url, NATIVE_CHAT, ADMIN),
                "v1": (gw.url, V1_CHAT, ADMIN),
            }
            # 1. sequential non-streaming chat
            seq = out["sequential"] = {}
            for name, (url, path, headers) in targets.items():
                lat = sequential(url, path, headers, args.sequential, CHAT_BODY)
                seq[name] = {
                    "p50_ms": lat.p50,
                    "p99_ms": lat.p99,
                    "errors": lat.errors,
                    "samples": lat.samples_ms,
                }
            # 2. throughput at several concurrencies (+ 5. CPU per request)
            thr = out["throughput"] = {}
            for connections in (1, 32, 128):
                for name, (url, path, headers) in targets.items():
                    key = headers.get("Authorization", "").removeprefix("Bearer ")
                    before = cpu_seconds(gw.pid)
                    res = wrk(
                        url + path,
                        connections=connections,
                        seconds=args.seconds,
                        key=key,
                        body=CHAT_BODY,
                    )
                    cpu = cpu_seconds(gw.pid) - before
                    entry = {
                        "rps": res.requests_per_second,
                        "p50_ms": res.p50_ms,
                        "p99_ms": res.p99_ms,
                        "errors": res.errors,
                        "requests": res.requests,
                    }
                    if name != "direct":
                        entry["cpu_ms_per_request"] = cpu * 1000 / max(1, res.requests)
                    thr[f"{name}@{connections}"] = entry
            # 3. streaming: TTFT (sequential streams) and chunks relayed per second
            st = out["streaming"] = {}
            for name, (url, path, headers) in targets.items():
                ttft = asyncio.run(streams(url, path, headers, count=args.streams, concurrency=1))
                before = cpu_seconds(gw.pid)
                rate = asyncio.run(
                    streams(url, path, headers, count=args.streams * 2, concurrency=16)
                )
                cpu = cpu_seconds(gw.pid) - before
                entry = {
                    "ttft_p50_ms": percentile(ttft.ttft_ms, 50),
                    "ttft_mean_ms": mean(ttft.ttft_ms),
                    "chunks_per_second": rate.chunks_per_second,
                    "streams_per_second": rate.streams_per_second,
                    "errors": ttft.errors + rate.errors,
                }
                if name != "direct":
                    entry["cpu_us_per_chunk"] = cpu * 1e6 / max(1, rate.chunks)
                st[name] = entry
            # 4. cached model list
            before = cpu_seconds(gw.pid)
            models = wrk(
                f"{gw.url}/api/v1/llm-providers/models",
                connections=32,
                seconds=args.seconds,
                key=BENCH_KEY,
            )
            out["model_list"] = {
                "rps": models.requests_per_second,
                "p50_ms": models.p50_ms,
                "errors": models.errors,
                "cpu_ms_per_request": (cpu_seconds(gw.pid) - before)
                * 1000
                / max(1, models.requests),
            }
            # 5. the Anthropic Messages and Responses surfaces, beside chat completions
            out["surfaces"] = {
                "chat": _cpu_wrk(gw.pid, gw.url + V1_CHAT, CHAT_BODY, args.seconds),
                **{
                    name: _cpu_wrk(gw.pid, gw.url + path, body, args.seconds)
                    for name, (path, body) in SURFACES.items()
                },
            }


def warning_scenarios(args: argparse.Namespace, out: dict[str, Any]) -> None:
    """The main CPU figures again with BIGSHOT_LOG_LEVEL=WARNING (no access log), beside."""
    with tempfile.TemporaryDirectory() as tmp, simulator(tokens=64) as sim:
        with gateway(sim.url, Path(tmp), log_level="WARNING") as gw:
            out["warning"] = {
                "v1@32": _cpu_wrk(gw.pid, gw.url + V1_CHAT, CHAT_BODY, args.seconds),
                "stream": _cpu_streams(gw.pid, gw.url, args.streams * 2),
            }


async def _slow_streams(url: str, count: int) -> Counter[str]:
    """How each of `count` concurrent streams ended: "ok", or what went wrong (the HTTP status
    and error code, the in-band error code, a stream cut before [DONE], a client error)."""
    limits = httpx.Limits(max_connections=count + 50, max_keepalive_connections=count)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def one() -> str:
            body = {**CHAT_BODY, "stream": True}
            try:
                async with client.stream("POST", V1_CHAT, json=body, headers=ADMIN) as resp:
                    if resp.status_code != 200:
                        await resp.aread()
                        return f"HTTP {resp.status_code} {_error_code(resp.content)}"
                    text = b""
                    async for chunk in resp.aiter_bytes():
                        text += chunk
                    if b'"error"' in text:
                        return "in-band error " + _error_code(text[text.index(b'"error"') :])
                    return "ok" if b"[DONE]" in text else "cut before [DONE]"
            except httpx.HTTPError as exc:
                return f"client {type(exc).__name__}"

        return Counter(await asyncio.gather(*(one() for _ in range(count))))


def _error_code(raw: bytes) -> str:
    """The `code` of the first JSON error object in `raw`, or "?"."""
    found = re.search(rb'"code"\s*:\s*"([^"]+)"', raw)
    return found.group(1).decode() if found else "?"


def slow_streams(args: argparse.Namespace, out: dict[str, Any]) -> None:
    """6. many concurrent slow streams (1 token per second): all complete; peak gateway RSS.

    With the provider's default pool (1 000 connections; see benchmarks/pool_defaults.py).
    """
    with (
        tempfile.TemporaryDirectory() as tmp,
        simulator(tokens=args.slow_seconds, token_delay=1.0) as sim,
    ):
        with gateway(sim.url, Path(tmp)) as gw:
            process = psutil.Process(gw.pid)
            peak = process.memory_info().rss
            stop = threading.Event()

            def sample() -> None:
                nonlocal peak
                while not stop.is_set():
                    peak = max(peak, process.memory_info().rss)
                    time.sleep(0.2)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            started = time.perf_counter()
            endings = asyncio.run(_slow_streams(gw.url, args.slow_streams))
            stop.set()
            sampler.join()
            out["slow_streams"] = {
                "streams": args.slow_streams,
                "completed": endings["ok"],
                "errors": args.slow_streams - endings["ok"],
                "error_kinds": {kind: n for kind, n in endings.items() if kind != "ok"},
                "peak_rss_mb": peak / 2**20,
                "seconds": time.perf_counter() - started,
            }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=8, help="each wrk run")
    parser.add_argument("--sequential", type=int, default=400)
    parser.add_argument("--streams", type=int, default=60)
    parser.add_argument("--slow-streams", type=int, default=1000)
    parser.add_argument("--slow-seconds", type=int, default=30)
    parser.add_argument("--skip-slow", action="store_true")
    args = parser.parse_args()
    out: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
    }
    fast_scenarios(args, out)
    warning_scenarios(args, out)
    if not args.skip_slow:
        slow_streams(args, out)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(out, indent=1))
    from benchmarks.report import plot, render

    table = render(out)
    print(table)
    (RESULTS / "latest.md").write_text(table)
    plot(out, RESULTS / "latency.png")


if __name__ == "__main__":
    main()
