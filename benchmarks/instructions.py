"""Instructions per request, counted by callgrind: a figure a busy machine does not move.

The gateway runs under `valgrind --tool=callgrind` with instrumentation off until it is warm;
it is switched on (`callgrind_control -i on`) only while `--requests` sequential requests of
one kind run, then the count is dumped and divided. The same code gives the same count within
about 2 %, whatever else the machine does, so two versions of the gateway can be compared on a
loaded machine, where CPU seconds are too noisy to show a few per cent.

    python -m benchmarks.instructions [--what chat|native|messages|responses|models|health]
                                      [--requests N] [--stream]

Needs valgrind (Debian's package). Each run takes about a minute (the gateway is ~50× slower
under callgrind).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.load import CHAT_BODY, sequential, streams
from benchmarks.processes import gateway, simulator
from benchmarks.run import ADMIN, NATIVE_CHAT, SURFACES, V1_CHAT

KINDS: dict[str, tuple[str, dict[str, Any] | None]] = {
    "chat": (V1_CHAT, CHAT_BODY),
    "native": (NATIVE_CHAT, CHAT_BODY),
    **SURFACES,
    "models": ("/api/v1/llm-providers/models", None),
    "health": ("/health", None),
}


def _control(pid: int, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


def _counted(pid: int, out: Path) -> int:
    """Dump the counts since the last dump and return their total."""
    for old in out.parent.glob(out.name + "*"):
        old.unlink()
    _control(pid, "-d")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for dump in out.parent.glob(out.name + "*"):
            for line in dump.read_text().splitlines():
                if line.startswith("totals:"):
                    return int(line.split()[1])
        time.sleep(0.2)
    raise RuntimeError("callgrind wrote no dump")


def measure(what: str, requests: int, stream: bool) -> str:
    path, body = KINDS[what]
    with tempfile.TemporaryDirectory() as tmp, simulator(tokens=64) as sim:
        out = Path(tmp) / "callgrind.out"
        wrap = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
        with gateway(sim.url, Path(tmp), wrap=wrap, timeout=900) as gw:
            sequential(gw.url, path, ADMIN, 30, body)  # warm: caches, pools, imports
            _control(gw.pid, "-i", "on")
            if stream:
                rate = asyncio.run(streams(gw.url, V1_CHAT, ADMIN, count=requests, concurrency=1))
                total, unit, count = _counted(gw.pid, out), "chunk", rate.chunks
            else:
                latency = sequential(gw.url, path, ADMIN, requests, body, warmup=0)
                if latency.errors:
                    raise RuntimeError(f"{latency.errors} requests failed")
                total, unit, count = _counted(gw.pid, out), "request", requests
    kind = "stream" if stream else what
    return f"{kind}: {total / count / 1e3:,.1f} k instructions per {unit} ({count} {unit}s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--what", choices=sorted(KINDS), default="chat")
    parser.add_argument("--requests", type=int, default=150, help="streams with --stream")
    parser.add_argument("--stream", action="store_true", help="/v1 chat streams, per chunk")
    args = parser.parse_args()
    print(measure(args.what, args.requests, args.stream))


if __name__ == "__main__":
    main()
