"""1 000 concurrent slow streams through `bigshot-llm serve` with every default untouched.

The provider keeps its default pool (`max_connections` 1 000) and the default pool wait
(BIGSHOT_UPSTREAM_POOL_TIMEOUT_SECONDS, 30 s). Prints how many streams completed, how the
others failed (status and error code, with one message each), the peak RSS of the gateway,
and writes the figures to benchmarks/results/pool_defaults.json.

    python -m benchmarks.pool_defaults --streams 1000 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil

from benchmarks.processes import BENCH_KEY, gateway, simulator

RESULTS = Path(__file__).resolve().parent / "results"
ADMIN = {"Authorization": f"Bearer {BENCH_KEY}"}
BODY = {
    "model": "qwen2.5-7b-instruct",
    "messages": [{"role": "user", "content": "Say something slowly."}],
    "stream": True,
}


def outcome(status: int, raw: bytes) -> tuple[str, str]:
    """("complete", "") or (a label for the failure, its message)."""
    if status != 200:
        try:
            error = orjson.loads(raw)["error"]
            return f"{status} {error.get('code')}", str(error.get("message"))
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return f"{status}", raw[:200].decode(errors="replace")
    if not raw.endswith(b"data: [DONE]\n\n"):
        return "200 truncated", raw[-200:].decode(errors="replace")
    for line in raw.split(b"\n"):
        if line.startswith(b"data: {") and b'"error"' in line:
            error = orjson.loads(line[6:])["error"]
            return f"200 then {error.get('code')}", str(error.get("message"))
    return "complete", ""


async def storm(url: str, count: int) -> list[tuple[str, str]]:
    limits = httpx.Limits(max_connections=count + 50, max_keepalive_connections=count)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:

        async def one() -> tuple[str, str]:
            raw = b""
            try:
                async with client.stream(
                    "POST", "/v1/chat/completions", json=BODY, headers=ADMIN
                ) as response:
                    async for piece in response.aiter_raw():
                        raw += piece
            except httpx.HTTPError as exc:
                return f"client {type(exc).__name__}", str(exc)
            return outcome(response.status_code, raw)

        return await asyncio.gather(*(one() for _ in range(count)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=30, help="length of each stream")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        simulator(tokens=args.seconds, token_delay=1.0) as sim,
        gateway(sim.url, Path(tmp)) as gw,
    ):
        provider = httpx.get(f"{gw.url}/api/v1/llm-providers", headers=ADMIN).json()["data"][0]
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
        results = asyncio.run(storm(gw.url, args.streams))
        stop.set()
        sampler.join()
    counts = Counter(label for label, _ in results)
    examples = {label: message for label, message in results if label != "complete"}
    report: dict[str, Any] = {
        "streams": args.streams,
        "stream_seconds": args.seconds,
        "provider_max_connections": provider["max_connections"],
        "outcomes": dict(counts),
        "failure_examples": examples,
        "peak_rss_mb": round(peak / 2**20, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pool_defaults.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
