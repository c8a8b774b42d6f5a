"""A throwaway `redis-server` of the test's own on a free loopback port (never the shared one),
so a test may stop, restart or blackhole it."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.fault_proxy import wait_until
from tests.support.servers import free_port
from tests.support.services import services_required


class OwnRedis:
    """``OwnRedis().start()``; `stop()` and `start()` again keep the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> OwnRedis:
        cmd = [
            "redis-server",
            *("--port", str(self.port), "--bind", "127.0.0.1", "--save", ""),
            *("--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"),
        ]
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_until(self.ping, timeout=10):
            self.stop()
            raise RuntimeError("redis-server did not start")
        return self

    def ping(self) -> bool:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def keys(self, pattern: str) -> list[bytes]:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)
        try:
            return list(client.scan_iter(match=pattern))
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def require_redis_server() -> None:
    """Skip without the `redis-server` binary, or fail when CI says every service must run."""
    if shutil.which("redis-server") is not None:
        return
    message = "redis-server is not installed"
    if services_required():
        pytest.fail(message + " (BIGSHOT_REQUIRE_SERVICES=1)")
    pytest.skip(message)
