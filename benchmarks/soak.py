"""Soak: mixed traffic against a real gateway process for a long time, looking for leaks.

`make soak` (or `python -m benchmarks.soak --minutes 30`, default `SOAK_MINUTES` or 30) runs
chat, streams, embeddings and model lists on both API surfaces against the LM Studio
simulator, with 10 % of requests abandoned by their client at a random point and 5 % meeting
an upstream fault (an HTTP 500/503, a stream dropped or failing in the middle). It samples
the gateway's RSS, open file descriptors and asyncio tasks, and pairs gateway calls with
direct calls to the simulator to measure the latency the gateway adds. The report gives:

* the RSS slope after warm-up (least-squares line over the samples), target ≤ 1 MB/hour,
* file descriptors and tasks (their slope, and the last quarter against the first: flat),
* the drift of the p99 added latency from the first to the last window, target ≤ 10 %,
* requests, aborts, injected faults and errors (every error must be an injected fault),

and a plot (`benchmarks/results/soak.png`). `tests/reliability/test_soak.py` runs the same
code for a short time and asserts the leak-type properties with looser tolerances.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from benchmarks.processes import ROOT, free_port, wait_until_up
from bigshot_llm.sim.server import SimServer
from bigshot_llm.sim.state import SimState
from bigshot_llm.sse import SSEDecoder

KEY = "bsk_soak-admin-key-0123456789abcdefghijklmnopqrstuvwxyz"
HEADERS = {"Authorization": f"Bearer {KEY}"}
MODEL = "qwen2.5-7b-instruct"
EMBED_MODEL = "text-embedding-nomic-embed-text-v1.5"
RESULTS = ROOT / "benchmarks" / "results"
TARGET_RSS_MB_PER_HOUR = 1.0
TARGET_P99_DRIFT = 0.10

# (kind, weight): what the traffic is made of.
MIX: tuple[tuple[str, int], ...] = (
    ("chat_native", 15),
    ("chat_openai", 15),
    ("stream_native", 20),
    ("stream_openai", 20),
    ("embed_native", 5),
    ("embed_openai", 5),
    ("models_native", 10),
    ("models_openai", 10),
)
FAULT_STATUSES = frozenset({400, 502, 503})  # what an injected fault turns into
FAULTS = {"stream": ("drop_mid_stream", "error_event", "http_500"), "call": ("http_500",)}


@dataclass
class Options:
    seconds: float
    concurrency: int = 8
    abort_share: float = 0.10
    fault_share: float = 0.05
    sample_every: float = 2.0
    warmup_share: float = 0.15
    plot: Path | None = RESULTS / "soak.png"
    seed: int = 1


@dataclass
class Tally:
    requests: Counter[str] = field(default_factory=Counter)
    aborted: int = 0
    injected: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # "kind status/ending"
    unexpected: list[str] = field(default_factory=list)


@dataclass
class Sample:
    at: float  # seconds since the start
    rss_mb: float
    fds: int
    tasks: int


# ---- traffic ---------------------------------------------------------------------------------


def _body(kind: str, i: int) -> tuple[str, dict[str, Any]]:
    messages = [{"role": "user", "content": f"soak {i % 50}"}]
    if kind == "chat_native":
        return "/api/v1/llm-providers/chat/completions", {"model": MODEL, "messages": messages}
    if kind == "chat_openai":
        return "/v1/chat/completions", {"model": MODEL, "messages": messages}
    if kind == "stream_native":
        body = {"model": MODEL, "messages": messages, "stream": True}
        return "/api/v1/llm-providers/chat/completions", body
    if kind == "stream_openai":
        return "/v1/chat/completions", {"model": MODEL, "messages": messages, "stream": True}
    if kind == "embed_native":
        return "/api/v1/llm-providers/embeddings", {"model": EMBED_MODEL, "input": f"soak {i}"}
    return "/v1/embeddings", {"model": EMBED_MODEL, "input": f"soak {i}"}


async def one_request(
    client: httpx.AsyncClient, sim: SimServer, kind: str, i: int, rng: random.Random, o: Options
) -> None:
    """One request of `kind`, maybe abandoned, maybe meeting an injected fault."""
    tally: Tally = one_request.tally  # type: ignore[attr-defined]
    tally.requests[kind] += 1
    abort = rng.random() < o.abort_share
    if kind.startswith("models"):
        path = "/api/v1/llm-providers/models" if kind == "models_native" else "/v1/models"
        response = await client.get(path, headers=HEADERS)
        _check(tally, kind, response.status_code, None)
        return
    streaming = kind.startswith("stream")
    inject = not abort and rng.random() < o.fault_share and not kind.startswith("embed")
    if inject:
        sim.state.set_fault(rng.choice(FAULTS["stream" if streaming else "call"]), count=1)
        tally.injected += 1
    path, body = _body(kind, i)
    if abort:
        tally.aborted += 1
        await _abandon(client, path, body, streaming, rng)
        return
    if not streaming:
        response = await client.post(path, json=body, headers=HEADERS)
        _check(tally, kind, response.status_code, None)
        return
    raw = b""
    async with client.stream("POST", path, json=body, headers=HEADERS) as response:
        async for piece in response.aiter_raw():
            raw += piece
    ending = _stream_ending(raw, openai=kind == "stream_openai") if response.is_success else None
    _check(tally, kind, response.status_code, ending)


async def _abandon(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], streaming: bool, rng: random.Random
) -> None:
    if streaming and rng.random() < 0.7:
        async with client.stream("POST", path, json=body, headers=HEADERS) as response:
            reads = rng.randint(1, 6)
            async for _ in response.aiter_raw():
                reads -= 1
                if reads <= 0:
                    return
        return
    request = asyncio.ensure_future(client.post(path, json=body, headers=HEADERS))
    await asyncio.sleep(rng.uniform(0.0, 0.05))
    request.cancel()
    await asyncio.gather(request, return_exceptions=True)


def _stream_ending(raw: bytes, *, openai: bool) -> str:
    events = SSEDecoder().feed(raw)
    if not events:
        return "empty"
    last = events[-1]
    if not openai:
        return last.event or "truncated"
    if last.data != "[DONE]":
        return "truncated"
    return "error" if any('"error"' in e.data[:20] for e in events) else "done"


def _check(tally: Tally, kind: str, status: int, ending: str | None) -> None:
    if status < 400 and ending in (None, "done"):
        return
    label = f"{kind} {status}" + (f"/{ending}" if ending else "")
    tally.errors[label] += 1
    # A fault is consumed by whichever request reaches the simulator next, so errors are
    # matched to injected faults in total (see `analyse`), and each must look like one.
    if status not in FAULT_STATUSES and ending != "error":
        tally.unexpected.append(label)


async def traffic(url: str, sim: SimServer, o: Options, stop: asyncio.Event, tally: Tally) -> None:
    one_request.tally = tally  # type: ignore[attr-defined]
    rng = random.Random(o.seed)
    kinds = [k for k, w in MIX for _ in range(w)]
    limits = httpx.Limits(max_connections=o.concurrency * 2)
    counter = 0
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def worker(w: int) -> None:
            nonlocal counter
            while not stop.is_set():
                counter += 1
                try:
                    await one_request(client, sim, rng.choice(kinds), counter, rng, o)
                except httpx.HTTPError as exc:
                    tally.unexpected.append(f"transport {type(exc).__name__}")

        await asyncio.gather(*(worker(w) for w in range(o.concurrency)))


async def latency_probe(url: str, sim_url: str, stop: asyncio.Event) -> list[tuple[float, float]]:
    """(time, gateway latency − direct latency) for the same small chat, back to back."""
    samples: list[tuple[float, float]] = []
    body = {"model": MODEL, "messages": [{"role": "user", "content": "probe"}], "max_tokens": 4}
    started = time.monotonic()
    async with (
        httpx.AsyncClient(base_url=url, timeout=30) as gateway,
        httpx.AsyncClient(base_url=sim_url, timeout=30) as direct,
    ):
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                via = await gateway.post("/v1/chat/completions", json=body, headers=HEADERS)
                t1 = time.perf_counter()
                straight = await direct.post("/v1/chat/completions", json=body)
                t2 = time.perf_counter()
            except httpx.TransportError:
                # An injected fault is taken by whichever request reaches the simulator next,
                # the probe's direct call included (a dropped body): no sample this round.
                await asyncio.sleep(0.2)
                continue
            if via.status_code == 200 and straight.status_code == 200:
                samples.append((time.monotonic() - started, (t1 - t0) - (t2 - t1)))
            await asyncio.sleep(0.2)
    return samples


async def sampler(
    pid: int, url: str, o: Options, stop: asyncio.Event, samples: list[Sample]
) -> None:
    process = psutil.Process(pid)
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        while not stop.is_set():
            tasks = (await client.get("/_soak/tasks")).json()["tasks"]
            samples.append(
                Sample(
                    time.monotonic() - started,
                    process.memory_info().rss / 1e6,
                    process.num_fds(),
                    int(tasks),
                )
            )
            try:
                await asyncio.wait_for(stop.wait(), o.sample_every)
            except TimeoutError:
                pass


# ---- the run ---------------------------------------------------------------------------------


def start_gateway(sim_url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BIGSHOT_", "LMSTUDIO_"))}
    env.update(
        BIGSHOT_DATA_DIR=str(data_dir),
        BIGSHOT_BOOTSTRAP_ADMIN_KEY=KEY,
        BIGSHOT_SECRET_KEY="soak-secret",
        BIGSHOT_LOG_LEVEL="ERROR",
        BIGSHOT_HEALTH_CHECK_SECONDS="0",
        BIGSHOT_SHUTDOWN_GRACE_SECONDS="1",
        LMSTUDIO_API_BASE=f"{sim_url}/v1",
    )
    log = open(data_dir.parent / "gateway.log", "wb")
    cmd = [sys.executable, "-m", "benchmarks.soak_gateway", "--port", str(port)]
    process = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    log.close()
    url = f"http://127.0.0.1:{port}"
    wait_until_up(f"{url}/ready")
    return process, url


async def soak(o: Options) -> dict[str, Any]:
    tally = Tally()
    samples: list[Sample] = []
    with tempfile.TemporaryDirectory(prefix="bigshot-soak-") as tmp:
        sim = SimServer(SimState(tokens=16, token_delay=0.005)).start()
        process, url = start_gateway(sim.url, Path(tmp) / "data")
        try:
            stop = asyncio.Event()
            jobs = [
                asyncio.ensure_future(traffic(url, sim, o, stop, tally)),
                asyncio.ensure_future(latency_probe(url, sim.url, stop)),
                asyncio.ensure_future(sampler(process.pid, url, o, stop, samples)),
            ]
            await asyncio.sleep(o.seconds)
            stop.set()
            _, probes, _ = await asyncio.gather(*jobs)
            sim.state.set_fault(None)
            with contextlib.suppress(TimeoutError):  # abandoned streams are closing
                await sim.state.wait_for_async(lambda: sim.state.streams_open == 0, timeout=5)
            open_streams = sim.state.streams_open
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
            sim.stop()
    report = analyse(o, samples, probes, tally)
    report["upstream_streams_open_at_end"] = open_streams
    if o.plot is not None:
        plot(o.plot, samples, probes, report)
        report["plot"] = str(o.plot)
    return report


# ---- analysis --------------------------------------------------------------------------------


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope (units per second)."""
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return 0.0 if var == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var


def p99(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def analyse(
    o: Options, samples: list[Sample], probes: list[tuple[float, float]], tally: Tally
) -> dict[str, Any]:
    warm = o.seconds * o.warmup_share
    steady = [s for s in samples if s.at >= warm] or samples
    quarter = max(1, len(steady) // 4)
    first, last = steady[:quarter], steady[-quarter:]
    rss_slope = slope([(s.at, s.rss_mb) for s in steady]) * 3600
    added = [(t, v) for t, v in probes if t >= warm]
    window = max(1, len(added) // 5)
    p99_first = p99([v for _, v in added[:window]]) * 1000
    p99_last = p99([v for _, v in added[-window:]]) * 1000
    drift = (p99_last - p99_first) / p99_first if p99_first > 0 else 0.0
    return {
        "seconds": o.seconds,
        "warmup_seconds": warm,
        "samples": len(samples),
        "rss_mb": {"first": steady[0].rss_mb, "last": steady[-1].rss_mb},
        "rss_slope_mb_per_hour": rss_slope,
        "rss_growth_mb": rss_slope * (steady[-1].at - steady[0].at) / 3600,
        "fds": {
            "first_quarter_max": max(s.fds for s in first),
            "last_quarter_max": max(s.fds for s in last),
            "slope_per_hour": slope([(s.at, s.fds) for s in steady]) * 3600,
        },
        "tasks": {
            "first_quarter_max": max(s.tasks for s in first),
            "last_quarter_max": max(s.tasks for s in last),
            "slope_per_hour": slope([(s.at, s.tasks) for s in steady]) * 3600,
        },
        "p99_added_ms": {"first": p99_first, "last": p99_last, "drift": drift},
        "probes": len(probes),
        "requests": dict(tally.requests),
        "total_requests": sum(tally.requests.values()),
        "aborted": tally.aborted,
        "injected_faults": tally.injected,
        "errors": dict(tally.errors),
        "unexpected_errors": tally.unexpected,
        "verdict": {
            "rss_slope_ok": rss_slope <= TARGET_RSS_MB_PER_HOUR,
            "p99_drift_ok": drift <= TARGET_P99_DRIFT,
            "only_injected_errors": not tally.unexpected
            and sum(tally.errors.values()) <= tally.injected,
        },
    }


def plot(
    path: Path, samples: list[Sample], probes: list[tuple[float, float]], report: dict[str, Any]
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(4, 1, figsize=(9, 10), sharex=True)
    minutes = [s.at / 60 for s in samples]
    series = (
        ("RSS (MB)", [s.rss_mb for s in samples]),
        ("open fds", [s.fds for s in samples]),
        ("asyncio tasks", [s.tasks for s in samples]),
    )
    for ax, (label, values) in zip(axes, series, strict=False):
        ax.plot(minutes, values)
        ax.set_ylabel(label)
        ax.axvline(report["warmup_seconds"] / 60, color="grey", linestyle=":")
    axes[3].plot([t / 60 for t, _ in probes], [v * 1000 for _, v in probes], ",", alpha=0.5)
    axes[3].set_ylabel("added latency (ms)")
    axes[3].set_xlabel("minutes")
    fig.suptitle(
        f"soak: RSS {report['rss_slope_mb_per_hour']:+.2f} MB/h, "
        f"p99 added {report['p99_added_ms']['first']:.1f} → "
        f"{report['p99_added_ms']['last']:.1f} ms"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def render(report: dict[str, Any]) -> str:
    v = report["verdict"]
    lines = [
        f"soak: {report['seconds'] / 60:.1f} min, {report['total_requests']} requests "
        f"({report['aborted']} abandoned, {report['injected_faults']} upstream faults)",
        f"  RSS slope after warm-up: {report['rss_slope_mb_per_hour']:+.2f} MB/hour "
        f"(target <= {TARGET_RSS_MB_PER_HOUR}) {'ok' if v['rss_slope_ok'] else 'OVER'}",
        f"  fds: first quarter max {report['fds']['first_quarter_max']}, "
        f"last quarter max {report['fds']['last_quarter_max']}",
        f"  tasks: first quarter max {report['tasks']['first_quarter_max']}, "
        f"last quarter max {report['tasks']['last_quarter_max']}",
        f"  p99 added latency: {report['p99_added_ms']['first']:.2f} → "
        f"{report['p99_added_ms']['last']:.2f} ms, drift {report['p99_added_ms']['drift']:+.0%} "
        f"(target <= {TARGET_P99_DRIFT:.0%}) {'ok' if v['p99_drift_ok'] else 'OVER'}",
        f"  errors: {report['errors'] or 'none'}; unexpected: "
        f"{report['unexpected_errors'] or 'none'}",
    ]
    if report.get("plot"):
        lines.append(f"  plot: {report['plot']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES") or 30)
    )
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--out", type=Path, default=RESULTS / "soak.png")
    args = parser.parse_args(argv)
    seconds = args.minutes * 60
    options = Options(
        seconds=seconds,
        concurrency=args.concurrency,
        sample_every=min(10.0, max(1.0, seconds / 300)),
        plot=args.out,
    )
    report = asyncio.run(soak(options))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "soak.json").write_text(
        json.dumps({**report, "options": asdict(options)}, indent=2, default=str)
    )
    print(render(report))
    return 0 if all(report["verdict"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
