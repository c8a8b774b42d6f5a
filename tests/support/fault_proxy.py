"""A loopback TCP proxy that injects network faults between the gateway and an upstream.

`FaultProxy` runs asyncio in its own thread (like `ThreadedServer`) and forwards every
connection to a target. Faults are switched at any time with `configure()`, and apply to
connections already open as well as new ones:

* ``latency``: seconds added to every chunk in each direction (a delay line: order and
  spacing are kept, throughput is not reduced).
* ``bandwidth``: bytes per second, upstream → client.
* ``reset_after``: after that many bytes upstream → client (counted from `configure`), the
  connection is reset (RST, both sides), e.g. in the middle of a body.
* ``blackhole``: connections are accepted and never answered; what the client sends is
  dropped and no upstream connection is made.
* ``slice_bytes``: upstream → client data is cut into pieces of 1..N bytes, written one by
  one with ``slice_delay`` between them, so SSE frames split at arbitrary byte boundaries.

`cut()` resets every open connection and refuses new ones (a restarting server, seen from its
clients); `restore()` listens again on the same port. `open_connections` counts client
connections not yet closed, which tests compare with a baseline to find leaks. An idle
timeout (no byte either way after an answer, like a server's keep-alive timeout) closes pooled
connections quickly, so a client's pool returns to its baseline without waiting for its own expiry.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tests.support.servers import free_port

T = TypeVar("T")
READ_SIZE = 65536


@dataclass
class Faults:
    """The faults in force; replaced as a whole by `FaultProxy.configure`."""

    latency: float = 0.0
    bandwidth: int | None = None
    reset_after: int | None = None
    blackhole: bool = False
    slice_bytes: int | None = None
    slice_delay: float = 0.002
    generation: int = 0


@dataclass(eq=False)  # hashed by identity: kept in a set
class _Conn:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    generation: int = -1
    sent: int = 0  # bytes upstream → client since the faults last changed
    last_activity: float = field(default_factory=time.monotonic)
    # Whether the last bytes went upstream → client: an answer was delivered and the connection
    # sits in the client's pool. Until then a quiet connection is one still waiting for its
    # answer (a busy machine's slow first token), which a keep-alive timeout must not close.
    answered: bool = False


class FaultProxy:
    """``with FaultProxy(port) as proxy:`` forwards 127.0.0.1:proxy.port → 127.0.0.1:port."""

    def __init__(
        self, target_port: int, *, target_host: str = "127.0.0.1", idle_timeout: float = 1.0
    ) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.idle_timeout = idle_timeout
        self.faults = Faults()
        self.total_connections = 0
        self.resets = 0
        # The most bytes one connection carried upstream → client since the last `configure`.
        self.most_sent = 0
        self.last_reset_at: float | None = None
        self._conns: set[_Conn] = set()
        self._server: asyncio.Server | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def open_connections(self) -> int:
        return len(self._conns)

    # ---- lifecycle (called from the test's thread) ------------------------------------------

    def start(self) -> FaultProxy:
        self._thread.start()
        self._call(self._listen())
        self._call(self._start_reaper())
        return self

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def configure(self, **faults: Any) -> None:
        """Replace the faults in force (no arguments: heal)."""
        generation = self.faults.generation + 1
        self.faults = Faults(**faults, generation=generation)
        self.most_sent = 0

    def cut(self) -> None:
        """Reset every connection and refuse new ones until `restore()`."""
        self._call(self._cut())

    def restore(self) -> None:
        self._call(self._listen())

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Block until no connection is open (raises TimeoutError)."""
        deadline = time.monotonic() + timeout
        while self._conns:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self._conns)} proxied connections still open")
            time.sleep(0.02)

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    # ---- inside the proxy's loop --------------------------------------------------------------

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._handle, "127.0.0.1", self.port, reuse_address=True
            )

    async def _start_reaper(self) -> None:
        self._reaper = asyncio.ensure_future(self._reap_idle())

    async def _reap_idle(self) -> None:
        while True:
            await asyncio.sleep(min(0.1, self.idle_timeout / 4))
            now = time.monotonic()
            for conn in list(self._conns):
                idle = now - conn.last_activity
                if self.faults.blackhole or not conn.answered:
                    continue
                if idle > self.idle_timeout:
                    _close(conn.client)
                    if conn.upstream is not None:
                        _close(conn.upstream)

    async def _cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for conn in list(self._conns):
            _reset(conn.client)
            if conn.upstream is not None:
                _reset(conn.upstream)
        if server is not None:
            await server.wait_closed()

    async def _shutdown(self) -> None:
        self._reaper.cancel()
        await self._cut()
        while self._conns:
            await asyncio.sleep(0.01)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _nodelay(writer)
        conn = _Conn(writer)
        self._conns.add(conn)
        self.total_connections += 1
        try:
            if self.faults.blackhole:
                while await reader.read(READ_SIZE):  # swallow the request, never answer
                    pass
                return
            try:
                up_reader, up_writer = await asyncio.open_connection(*self.target)
            except OSError:
                _reset(writer)
                return
            _nodelay(up_writer)
            conn.upstream = up_writer
            await asyncio.gather(
                self._pump(conn, reader, up_writer, downstream=False),
                self._pump(conn, up_reader, writer, downstream=True),
            )
        finally:
            _close(writer)
            if conn.upstream is not None:
                _close(conn.upstream)
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._conns.discard(conn)

    async def _pump(
        self,
        conn: _Conn,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        downstream: bool,
    ) -> None:
        """Read → a delay line → `_deliver`; either side closing ends both directions."""
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
        sender = asyncio.ensure_future(self._sender(conn, queue, writer, downstream))
        try:
            while True:
                try:
                    data = await reader.read(READ_SIZE)
                except OSError:
                    data = b""
                conn.last_activity = time.monotonic()
                conn.answered = downstream
                if not data:
                    break
                queue.put_nowait((time.monotonic(), data))
            queue.put_nowait(None)
            await sender
        finally:
            if not sender.done():
                sender.cancel()
                with contextlib.suppress(BaseException):
                    await sender
            _close(writer)

    async def _sender(
        self,
        conn: _Conn,
        queue: asyncio.Queue[tuple[float, bytes] | None],
        writer: asyncio.StreamWriter,
        downstream: bool,
    ) -> None:
        while (item := await queue.get()) is not None:
            arrived, data = item
            faults = self.faults
            if faults.blackhole:
                continue
            wait = arrived + faults.latency - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not downstream:
                await _write(writer, data)
                continue
            if not await self._deliver(conn, writer, data, faults):
                return

    async def _deliver(
        self, conn: _Conn, writer: asyncio.StreamWriter, data: bytes, faults: Faults
    ) -> bool:
        """Upstream → client bytes under the faults; False once the connection was reset."""
        if conn.generation != faults.generation:
            conn.generation, conn.sent = faults.generation, 0
        while data:
            size = len(data)
            if faults.slice_bytes:
                size = random.randint(1, faults.slice_bytes)
            elif faults.bandwidth:
                size = max(1, min(size, faults.bandwidth // 20))  # ~20 writes per second
            if faults.reset_after is not None:
                size = min(size, max(0, faults.reset_after - conn.sent))
                if size == 0:
                    self.resets += 1
                    self.last_reset_at = time.monotonic()
                    _reset(conn.client)
                    if conn.upstream is not None:
                        _reset(conn.upstream)
                    return False
            piece, data = data[:size], data[size:]
            await _write(writer, piece)
            conn.sent += len(piece)
            self.most_sent = max(self.most_sent, conn.sent)
            conn.last_activity = time.monotonic()
            if faults.slice_bytes:
                await asyncio.sleep(random.random() * faults.slice_delay)
            elif faults.bandwidth:
                await asyncio.sleep(len(piece) / faults.bandwidth)
        return True


async def _write(writer: asyncio.StreamWriter, data: bytes) -> None:
    if writer.is_closing():
        return
    writer.write(data)
    with contextlib.suppress(OSError):
        await writer.drain()


def _nodelay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST instead of FIN (SO_LINGER 0), like a crashed peer or a middlebox."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _close(writer: asyncio.StreamWriter) -> None:
    if not writer.is_closing():
        writer.close()


def wait_until(predicate: Callable[[], T], timeout: float, interval: float = 0.02) -> T:
    """Poll `predicate` until it returns something truthy (returned) or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
