"""`make bench-peers`: the same scenarios through LiteLLM's proxy, next to bigshot-llm's figures.

LiteLLM is installed into its own virtual environment (`.bench/litellm-venv`, not a project
dependency) the first time. Run `make bench` first: this adds a "peers" section to
benchmarks/results/latest.json and re-renders latest.md and the plot.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.load import CHAT_BODY, cpu_seconds, percentile, sequential, streams, wrk
from benchmarks.processes import ROOT, litellm_proxy, simulator
from benchmarks.report import plot, render

RESULTS = Path(__file__).resolve().parent / "results"
VENV = ROOT / ".bench" / "litellm-venv"
KEY = "sk-bench"


def ensure_litellm() -> Path:
    binary = VENV / "bin" / "litellm"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "-q", "litellm[proxy]"], check=True, timeout=1800
        )
    return binary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--sequential", type=int, default=400)
    parser.add_argument("--streams", type=int, default=60)
    args = parser.parse_args()
    latest = RESULTS / "latest.json"
    if not latest.exists():
        raise SystemExit("run `make bench` first")
    results = json.loads(latest.read_text())
    binary = ensure_litellm()
    headers = {"Authorization": f"Bearer {KEY}"}
    with tempfile.TemporaryDirectory() as tmp, simulator(tokens=64) as sim:
        with litellm_proxy(sim.url, binary, Path(tmp)) as proxy:
            url = proxy.url + "/v1/chat/completions"
            seq = sequential(proxy.url, "/v1/chat/completions", headers, args.sequential, CHAT_BODY)
            before = cpu_seconds(proxy.pid)
            load = wrk(url, connections=32, seconds=args.seconds, key=KEY, body=CHAT_BODY)
            cpu = cpu_seconds(proxy.pid) - before
            ttft = asyncio.run(
                streams(
                    proxy.url, "/v1/chat/completions", headers, count=args.streams, concurrency=1
                )
            )
            rate = asyncio.run(
                streams(
                    proxy.url,
                    "/v1/chat/completions",
                    headers,
                    count=args.streams * 2,
                    concurrency=16,
                )
            )
    results["peers"] = {
        "name": "LiteLLM proxy",
        "sequential_p50_ms": seq.p50,
        "sequential_p99_ms": seq.p99,
        "sequential_samples": seq.samples_ms,
        "rps_32": load.requests_per_second,
        "p50_32_ms": load.p50_ms,
        "errors_32": load.errors,
        "cpu_ms_per_request": cpu * 1000 / max(1, load.requests),
        "ttft_p50_ms": percentile(ttft.ttft_ms, 50),
        "chunks_per_second": rate.chunks_per_second,
    }
    latest.write_text(json.dumps(results, indent=1))
    table = render(results)
    print(table)
    (RESULTS / "latest.md").write_text(table)
    plot(results, RESULTS / "latency.png")


if __name__ == "__main__":
    main()
