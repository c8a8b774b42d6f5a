"""Run the simulator with uvicorn in a background thread (its own event loop).

``SimServer.stop()`` closes the listening socket *and* every open connection, so a later
connect is refused; ``start()`` brings it back on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from types import TracebackType

import uvicorn

from bigshot_llm.sim.app import create_sim_app
from bigshot_llm.sim.state import FaultSpec, SimState
from bigshot_llm.sim.streaming import install_log_filter

LOOPBACK_HOSTS: frozenset[str] = frozenset({"127.0.0.1", "localhost", "::1"})


class SimServer:
    """A real HTTP LM Studio simulator on ``host:port`` (port 0 = ephemeral, kept on restart)."""

    def __init__(
        self,
        state: SimState | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        allow_remote: bool = False,
        graceful_timeout: int = 1,
    ) -> None:
        if host not in LOOPBACK_HOSTS and not allow_remote:
            raise ValueError(f"SimServer binds to loopback only (got {host!r})")
        self.state: SimState = state if state is not None else SimState()
        self.host = host
        self.app = create_sim_app(self.state)
        self.graceful_timeout = graceful_timeout
        self._port = port
        self._lock = threading.RLock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sock: socket.socket | None = None
        self._timers: list[threading.Timer] = []
        self.state.add_fault_listener(self._on_fault)
        install_log_filter()

    # ------------------------------------------------------------------ properties
    @property
    def port(self) -> int:
        """The bound port (known once started; stays the same across restarts)."""
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 10.0) -> SimServer:
        """Bind and serve; returns once the socket accepts connections. Clears a ``stopped``
        fault. No-op when already running."""
        with self._lock:
            self._cancel_timers()
            if self.state.fault == "stopped":
                self.state.clear_fault_silently()
            if self.running:
                return self
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only
            # for sockets that say they are TCP; without it every answer whose headers and body
            # go out in two writes stalls 40 ms on Nagle's algorithm and a delayed ACK.
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((self.host, self._port))
                sock.listen(128)
            except OSError:
                sock.close()
                raise
            self._port = sock.getsockname()[1]
            config = uvicorn.Config(
                self.app,
                loop="asyncio",
                http="h11",
                ws="none",
                lifespan="off",
                log_level="warning",
                log_config=None,
                access_log=False,
                timeout_graceful_shutdown=self.graceful_timeout,
            )
            server = uvicorn.Server(config)
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=self._run,
                args=(server, loop, sock),
                name=f"bigshot-sim-{self._port}",
                daemon=True,
            )
            self._server, self._loop, self._sock, self._thread = server, loop, sock, thread
            thread.start()
            deadline = time.monotonic() + timeout
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    self._stop_locked(1.0)
                    raise RuntimeError(f"simulator failed to start on port {self._port}")
                time.sleep(0.002)
            return self

    @staticmethod
    def _run(server: uvicorn.Server, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.serve(sockets=[sock]))
        finally:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listener and all connections, and wait for the server thread to end."""
        with self._lock:
            self._cancel_timers()
            self._stop_locked(timeout)

    def _stop_locked(self, timeout: float) -> None:
        server, loop, thread, sock = self._server, self._loop, self._thread, self._sock
        self._server = self._loop = self._thread = self._sock = None
        if server is None or thread is None or loop is None:
            return
        if threading.current_thread() is thread:
            raise RuntimeError("SimServer.stop() cannot run on the server's own thread")

        def abort() -> None:
            for listener in getattr(server, "servers", []):
                listener.close()
            for connection in list(server.server_state.connections):
                transport = getattr(connection, "transport", None)
                if transport is not None:
                    transport.close()

        if thread.is_alive():
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(abort)
            server.should_exit = True
            thread.join(timeout)
            if thread.is_alive():
                server.force_exit = True
                thread.join(timeout)
        if sock is not None:
            sock.close()

    def _cancel_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    # ------------------------------------------------------------------ "stopped" fault
    def _on_fault(self, name: str | None, previous: str | None, spec: FaultSpec | None) -> None:
        if name == "stopped":
            delay = spec.delay if spec is not None else None
            if threading.current_thread() is self._thread:
                # Asked through /_sim/config: let that response go out first.
                threading.Thread(target=self._go_down, args=(delay, 0.2), daemon=True).start()
            else:
                self._go_down(delay, 0.0)
        elif previous == "stopped" and not self.running:
            self.start()

    def _go_down(self, restart_after: float | None, grace: float) -> None:
        if grace:
            time.sleep(grace)
        with self._lock:
            self._cancel_timers()
            self._stop_locked(5.0)
            if restart_after is not None and restart_after > 0:
                timer = threading.Timer(restart_after, self._auto_restart)
                timer.daemon = True
                self._timers.append(timer)
                timer.start()

    def _auto_restart(self) -> None:
        with self._lock:
            if self.state.fault == "stopped" and not self.running:
                self.start()

    # ------------------------------------------------------------------ context manager
    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SimServer(url={self.url!r}, running={self.running})"
