"""Slow and abusive clients against a real uvicorn server (the gateway's own protocol class and
app on an ephemeral port), spoken to with raw sockets, and once against `bigshot-llm serve`.

| client does                                          | answer                             |
|------------------------------------------------------|------------------------------------|
| sends headers over 64 KiB (at once or trickled)      | 431, connection closed             |
| stops (or trickles) in the middle of its headers     | 408 after the request timeout      |
| connects and sends nothing                           | 408 after the request timeout      |
| stops in the middle of its body                      | 408 after the request timeout      |
| opens more connections than the per-address cap      | 429 on the extra one, at once      |
| sends half a body and leaves                         | 499 in the access log and metrics, |
|                                                      | no ERROR record                    |
"""

from __future__ import annotations

import logging
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bigshot_llm.main import create_app
from bigshot_llm.server_protocol import ConnectionLimits, guarded_protocol
from tests.conftest import ADMIN_KEY, make_settings
from tests.reliability.helpers import GatewayProcess, gateway_env
from tests.support.servers import ThreadedServer

pytestmark = pytest.mark.timeout(90)
TIMEOUT = 1.0  # the request timeout configured for these servers
CHAT_HEAD = (
    "POST {path} HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {key}\r\n"
    "Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
)


@pytest.fixture
def server(tmp_path: Path, sim: Any) -> Iterator[ThreadedServer]:
    settings = make_settings(
        tmp_path,
        lmstudio_api_base=f"{sim.url}/v1",
        request_timeout_seconds=TIMEOUT,
        health_check_seconds=0,
    )
    limits = ConnectionLimits(request_timeout=TIMEOUT, max_connections_per_client=8)
    with ThreadedServer(create_app(settings), http=guarded_protocol(limits)) as running:
        yield running


def connect(server: Any) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_answer(sock: socket.socket, within: float = 10) -> tuple[int, bytes, bool]:
    """(status, whole answer, whether the server closed the connection after it)."""
    sock.settimeout(within)
    data = b""
    closed = False
    try:
        while True:
            piece = sock.recv(65536)
            if not piece:
                closed = True
                break
            data += piece
            head, _, body = data.partition(b"\r\n\r\n")
            length = [
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ]
            if length and len(body) >= length[0] and b"connection: close" not in head.lower():
                break
    except ConnectionResetError:
        closed = True
    except TimeoutError:
        pass
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, data, closed


def test_headers_over_64_kib_get_431(server: ThreadedServer) -> None:
    with connect(server) as sock:
        sock.sendall(
            b"GET /health HTTP/1.1\r\nHost: g\r\nX-Big: " + b"a" * (70 << 10) + b"\r\n\r\n"
        )
        status, data, closed = read_answer(sock)
    assert status == 431, data[:200]
    assert b"request_header_fields_too_large" in data
    assert closed


def test_many_headers_adding_up_past_64_kib_get_431(server: ThreadedServer) -> None:
    headers = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 1000) for i in range(70))
    with connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: g\r\n" + headers + b"\r\n")
        status, _, closed = read_answer(sock)
    assert (status, closed) == (431, True)


def test_headers_still_arriving_past_64_kib_get_431_before_they_end(
    server: ThreadedServer,
) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: g\r\nX-Big: ")
        for _ in range(80):
            # Stop once the server has answered: writing on after it closed would make the
            # kernel reset the connection and drop the answer before it is read.
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(b"b" * 1024)  # never the end of the head
            except (BrokenPipeError, ConnectionResetError):
                break
        status, _, closed = read_answer(sock)
    assert (status, closed) == (431, True)


def test_headers_under_the_limit_are_served(server: ThreadedServer) -> None:
    with connect(server) as sock:
        sock.sendall(
            b"GET /health HTTP/1.1\r\nHost: g\r\nX-Big: " + b"c" * (60 << 10) + b"\r\n\r\n"
        )
        status, data, _ = read_answer(sock)
    assert status == 200, data[:300]


@pytest.mark.parametrize(
    "prefix",
    [
        pytest.param(b"", id="nothing-sent"),
        pytest.param(b"GET /health HTTP/1.1\r\nHost: g\r\n", id="half-the-headers"),
    ],
)
def test_headers_that_stall_get_408(server: ThreadedServer, prefix: bytes) -> None:
    with connect(server) as sock:
        started = time.monotonic()
        sock.sendall(prefix)
        status, data, closed = read_answer(sock, within=TIMEOUT + 10)
        elapsed = time.monotonic() - started
    assert status == 408, data
    assert b"request_timeout" in data and closed
    assert TIMEOUT * 0.9 <= elapsed < TIMEOUT + 5, elapsed


def test_headers_trickled_a_byte_at_a_time_get_408(server: ThreadedServer) -> None:
    """The bound is on the whole head: bytes arriving now and then do not extend it."""
    head = b"GET /health HTTP/1.1\r\nHost: g\r\nX-Slow: " + b"s" * 200
    with connect(server) as sock:
        started = time.monotonic()
        status = 0
        for byte in head:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.05)
            if time.monotonic() - started > TIMEOUT + 0.5:
                break
        status, data, closed = read_answer(sock, within=10)
        elapsed = time.monotonic() - started
    assert status == 408, data
    assert elapsed < TIMEOUT + 5


def test_the_head_timer_restarts_for_each_request_on_a_kept_alive_connection(
    server: ThreadedServer,
) -> None:
    with connect(server) as sock:
        for _ in range(3):  # longer in total than the timeout, each one quick
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: g\r\n\r\n")
            status, _, closed = read_answer(sock)
            assert (status, closed) == (200, False)
            time.sleep(TIMEOUT * 0.6)


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/api/v1/keys"])
def test_a_body_that_stalls_gets_408(server: ThreadedServer, path: str) -> None:
    body = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}'
    with connect(server) as sock:
        started = time.monotonic()
        sock.sendall(CHAT_HEAD.format(path=path, key=ADMIN_KEY, length=len(body)).encode())
        sock.sendall(body[:10])
        status, data, closed = read_answer(sock, within=TIMEOUT + 10)
        elapsed = time.monotonic() - started
    assert status == 408, data
    assert b"request_timeout" in data
    assert b"did not arrive within 1s" in data
    assert closed
    assert elapsed < TIMEOUT + 5


def test_connections_per_client_address_are_bounded(server: ThreadedServer) -> None:
    held = [connect(server) for _ in range(8)]
    try:
        time.sleep(0.2)
        with connect(server) as extra:
            status, data, closed = read_answer(extra, within=5)
        assert status == 429, data
        assert b"too_many_connections" in data and closed
        held.pop().close()
        time.sleep(0.2)
        with connect(server) as again:
            again.sendall(b"GET /health HTTP/1.1\r\nHost: g\r\n\r\n")
            assert read_answer(again)[0] == 200
    finally:
        for sock in held:
            sock.close()


def metric_count(server: ThreadedServer, status: int) -> float:
    """POST requests answered `status` (whatever the route label: a request that never got
    its body may not have been routed)."""
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("bigshot_http_requests_total{") and f'status="{status}"' in line:
            if 'method="POST"' in line:
                total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/api/v1/keys"])
def test_a_client_that_leaves_mid_body_is_recorded_as_499_without_an_error(
    server: ThreadedServer, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    body = b'{"name": "half", "messages": [{"role": "user", "content": "' + b"x" * 2000
    with connect(server) as sock:
        sock.sendall(CHAT_HEAD.format(path=path, key=ADMIN_KEY, length=len(body) * 2).encode())
        sock.sendall(body)
        time.sleep(0.2)
    deadline = time.monotonic() + 10
    while metric_count(server, 499) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert metric_count(server, 499) == 1
    assert metric_count(server, 500) == 0
    assert metric_count(server, 400) == 0
    access = [
        r for r in caplog.records if r.name == "bigshot_llm.access" and path in r.getMessage()
    ]
    assert [getattr(r, "status", None) for r in access] == [499]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


def test_serve_applies_the_bounds(tmp_path: Path) -> None:
    """`bigshot-llm serve` itself (uvicorn exposed directly, as in the Docker image)."""
    env = gateway_env(
        tmp_path / "data",
        "http://127.0.0.1:9",
        BIGSHOT_REQUEST_TIMEOUT_SECONDS=str(TIMEOUT),
        BIGSHOT_MAX_CONNECTIONS_PER_CLIENT="4",
    )
    process = GatewayProcess(env, tmp_path / "gateway.log").start()
    try:
        process.wait_ready()
        with connect(process) as sock:
            sock.sendall(
                b"GET /health HTTP/1.1\r\nHost: g\r\nX-Big: " + b"a" * (70 << 10) + b"\r\n\r\n"
            )
            assert read_answer(sock)[0] == 431
        with connect(process) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\n")
            assert read_answer(sock, within=TIMEOUT + 10)[0] == 408
        held = [connect(process) for _ in range(4)]
        try:
            time.sleep(0.2)
            with connect(process) as extra:
                assert read_answer(extra, within=5)[0] == 429
        finally:
            for sock in held:
                sock.close()
    finally:
        process.stop()
