"""Load generators: wrk for plain HTTP throughput, httpx/asyncio for latency and SSE timing."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import orjson
import psutil

HERE = Path(__file__).resolve().parent
CHAT_BODY = {
    "model": "qwen2.5-7b-instruct",
    "messages": [{"role": "user", "content": "Say something about benchmarks."}],
}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Latency:
    samples_ms: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def p50(self) -> float:
        return percentile(self.samples_ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.samples_ms, 99)


class RawHTTP:
    """A minimal keep-alive HTTP/1.1 client: one `sendall` per request, TCP_NODELAY.

    General clients write headers and body separately; with Nagle's algorithm and delayed ACKs
    that can stall a request for 40 ms, which would swamp the sub-millisecond figures measured.
    """

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.sock = socket.create_connection((self.host, self.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def request(self, method: str, path: str, headers: dict[str, str], body: bytes | None) -> int:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))
        while b"\r\n\r\n" not in self.buffer:
            self._read()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            elif name.strip().lower() == b"transfer-encoding":
                raise RuntimeError("chunked answers are not supported by RawHTTP")
        while len(self.buffer) < length:
            self._read()
        self.buffer = self.buffer[length:]
        return status

    def _read(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("server closed the connection")
        self.buffer += data

    def close(self) -> None:
        self.sock.close()


def sequential(
    url: str, path: str, headers: dict[str, str], count: int, body: dict | None, warmup: int = 30
) -> Latency:
    """`count` requests one after another on one keep-alive connection."""
    result = Latency()
    payload = orjson.dumps(body) if body is not None else None
    client = RawHTTP(url)
    try:
        for i in range(warmup + count):
            started = time.perf_counter()
            status = client.request("POST" if payload else "GET", path, headers, payload)
            elapsed = (time.perf_counter() - started) * 1000
            if status >= 400:
                result.errors += 1
            elif i >= warmup:
                result.samples_ms.append(elapsed)
    finally:
        client.close()
    return result


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)", text)
    if not match:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def wrk(
    url: str,
    *,
    connections: int,
    seconds: int,
    key: str = "",
    body: dict | None = None,
    threads: int = 2,
    headers: dict[str, str] | None = None,
) -> WrkResult:
    """`headers` (POST only): extra request headers, such as a peer gateway's routing ones."""
    script = HERE / ("wrk_post.lua" if body is not None else "wrk_get.lua")
    env = {
        **os.environ,
        "BENCH_KEY": key,
        "BENCH_BODY": orjson.dumps(body).decode() if body else "",
        "BENCH_HEADERS": "\n".join(f"{k}: {v}" for k, v in (headers or {}).items()),
    }
    threads = max(1, min(threads, connections))
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        errors += int(non2xx.group(1))
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    return WrkResult(rps, p50, p99, total, errors)


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


@dataclass
class StreamTiming:
    ttft_ms: list[float] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0
    errors: int = 0

    streams: int = 0

    @property
    def chunks_per_second(self) -> float:
        return self.chunks / self.seconds if self.seconds else 0.0

    @property
    def streams_per_second(self) -> float:
        return self.streams / self.seconds if self.seconds else 0.0


async def _one_stream(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], body: dict, timing: StreamTiming
) -> None:
    started = time.perf_counter()
    first = True
    try:
        async with client.stream(
            "POST", path, json={**body, "stream": True}, headers=headers
        ) as response:
            if response.status_code != 200:
                timing.errors += 1
                await response.aread()
                return
            async for line in response.aiter_lines():
                if not line.startswith("data:") or line.startswith("data: [DONE]"):
                    continue
                if first:
                    timing.ttft_ms.append((time.perf_counter() - started) * 1000)
                    first = False
                timing.chunks += 1
        if first:  # a 200 with no event: the stream failed
            timing.errors += 1
        else:
            timing.streams += 1
    except httpx.HTTPError:
        timing.errors += 1


async def streams(
    url: str,
    path: str,
    headers: dict[str, str],
    *,
    count: int,
    concurrency: int,
    body: dict = CHAT_BODY,
) -> StreamTiming:
    """`count` streams, `concurrency` at a time: TTFT per stream and chunks relayed per second."""
    timing = StreamTiming()
    limits = httpx.Limits(max_connections=concurrency + 10, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        for _ in range(3):  # warm-up
            await _one_stream(client, path, headers, body, StreamTiming())
        started = time.perf_counter()
        queue = iter(range(count))

        async def worker() -> None:
            for _ in queue:
                await _one_stream(client, path, headers, body, timing)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        timing.seconds = time.perf_counter() - started
    return timing


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")
