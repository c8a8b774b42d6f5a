"""`make bench-peers`: the same scenarios through LiteLLM's proxy and Portkey's gateway, next to
bigshot-llm's figures, against the same stand-in upstream, one worker each.

LiteLLM is installed into its own virtual environment (`.bench/litellm-venv`) and Portkey's
gateway with npm into `.cache/portkey` (`@portkey-ai/gateway`, pinned below), neither a project
dependency, the first time. Portkey reaches the upstream through its custom-host header. Run
`make bench` first: this adds a "peers" section to benchmarks/results/latest.json and
re-renders latest.md and the plot.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from benchmarks.load import CHAT_BODY, cpu_seconds, percentile, sequential, streams, wrk
from benchmarks.processes import (
    PORTKEY_DIR,
    PORTKEY_SERVER,
    ROOT,
    Service,
    litellm_proxy,
    portkey_gateway,
    portkey_headers,
    simulator,
)
from benchmarks.report import plot, render

RESULTS = Path(__file__).resolve().parent / "results"
VENV = ROOT / ".bench" / "litellm-venv"
KEY = "sk-bench"
PORTKEY = "@portkey-ai/gateway@1.15.2"
CHAT = "/v1/chat/completions"


def ensure_litellm() -> Path:
    binary = VENV / "bin" / "litellm"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "-q", "litellm[proxy]"], check=True, timeout=1800
        )
    return binary


def ensure_portkey() -> bool:
    """Portkey's gateway in .cache/portkey; False (and skipped) without npm."""
    if PORTKEY_SERVER.exists():
        return True
    if shutil.which("npm") is None:
        print("npm not found: skipping Portkey's gateway")
        return False
    PORTKEY_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(["npm", "init", "-y"], cwd=PORTKEY_DIR, check=True, capture_output=True)
    subprocess.run(
        ["npm", "i", "--no-audit", "--no-fund", PORTKEY],
        cwd=PORTKEY_DIR,
        check=True,
        timeout=900,
    )
    return PORTKEY_SERVER.exists()


def measure(
    name: str,
    start: Callable[[str, Path], AbstractContextManager[Service]],
    headers: Callable[[str], dict[str, str]],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """One peer through the scenarios bigshot-llm's table compares: sequential latency,
    wrk at 32 connections with CPU per request, TTFT and streams relayed."""
    with tempfile.TemporaryDirectory() as tmp, simulator(tokens=64) as sim:
        with start(sim.url, Path(tmp)) as peer:
            sent = headers(sim.url)
            seq = sequential(peer.url, CHAT, sent, args.sequential, CHAT_BODY)
            key = sent["Authorization"].removeprefix("Bearer ")
            others = {k: v for k, v in sent.items() if k != "Authorization"}
            before = cpu_seconds(peer.pid)
            load = wrk(
                peer.url + CHAT,
                connections=32,
                seconds=args.seconds,
                key=key,
                body=CHAT_BODY,
                headers=others,
            )
            cpu = cpu_seconds(peer.pid) - before
            ttft = asyncio.run(streams(peer.url, CHAT, sent, count=args.streams, concurrency=1))
            rate = asyncio.run(
                streams(peer.url, CHAT, sent, count=args.streams * 2, concurrency=16)
            )
    return {
        "name": name,
        "sequential_p50_ms": seq.p50,
        "sequential_p99_ms": seq.p99,
        "sequential_samples": seq.samples_ms,
        "rps_32": load.requests_per_second,
        "p50_32_ms": load.p50_ms,
        "errors_32": load.errors,
        "cpu_ms_per_request": cpu * 1000 / max(1, load.requests),
        "ttft_p50_ms": percentile(ttft.ttft_ms, 50),
        "chunks_per_second": rate.chunks_per_second,
        "streams_per_second": rate.streams_per_second,
        # A peer whose streams all fail on this upstream has no streaming figures.
        "stream_errors": ttft.errors + rate.errors,
        "streams_ok": rate.streams,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--sequential", type=int, default=400)
    parser.add_argument("--streams", type=int, default=60)
    args, _ = parser.parse_known_args()
    latest = RESULTS / "latest.json"
    if not latest.exists():
        raise SystemExit("run `make bench` first")
    results = json.loads(latest.read_text())
    binary = ensure_litellm()
    peers = {
        "litellm": measure(
            "LiteLLM proxy",
            lambda upstream, tmp: litellm_proxy(upstream, binary, tmp),
            lambda upstream: {"Authorization": f"Bearer {KEY}"},
            args,
        )
    }
    if ensure_portkey():
        peers["portkey"] = measure("Portkey gateway 1.15.2", portkey_gateway, portkey_headers, args)
    results["peers"] = peers
    latest.write_text(json.dumps(results, indent=1))
    table = render(results)
    print(table)
    (RESULTS / "latest.md").write_text(table)
    plot(results, RESULTS / "latency.png")


if __name__ == "__main__":
    main()
