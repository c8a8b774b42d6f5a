"""Run an ASGI app under uvicorn on an ephemeral loopback port in a background thread."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import uvicorn

# A client's wait for `/ready`: longer than its own bound on the database probe (1.5 s), with
# room for a machine busy with other work (a 1 s wait there never saw a slow "ready").
READY_PROBE_SECONDS = 5.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThreadedServer:
    """uvicorn in its own thread and event loop, like a separate process but inspectable."""

    def __init__(self, app: Any, port: int | None = None, **config: Any) -> None:
        # Without a port the socket is bound here and handed to uvicorn as it is: a port only
        # looked up (`free_port`) may be taken by another test process before uvicorn binds it.
        self._socket: socket.socket | None = None
        if port is None:
            self._socket = socket.socket()
            self._socket.bind(("127.0.0.1", 0))
            port = int(self._socket.getsockname()[1])
        self.port = port
        options: dict[str, Any] = {
            "log_level": "warning",
            "lifespan": "on",
            "loop": "asyncio",
            "timeout_graceful_shutdown": 1,
        }
        options.update(config)
        self.config = uvicorn.Config(app, host="127.0.0.1", port=self.port, **options)
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        try:
            sockets = [self._socket] if self._socket is not None else None
            self.loop.run_until_complete(self.server.serve(sockets=sockets))
        finally:
            if self._socket is not None:
                self._socket.close()
            pending = asyncio.all_tasks(self.loop)
            for task in pending:
                task.cancel()
            if pending:
                self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    def start(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
