"""Structured logs: the JSON formatter, the access line, and the request id sent upstream."""

from __future__ import annotations

import logging
import math
import random
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest

from bigshot_llm.logging_setup import (
    JsonFormatter,
    RequestIdFilter,
    configure_logging,
    request_id_var,
)
from tests.usage.helpers import NATIVE


def test_json_formatter_has_the_request_id_and_extra_fields() -> None:
    record = logging.LogRecord(
        "bigshot_llm.x", logging.INFO, __file__, 1, "hello %s", ("you",), None
    )
    record.route = "/api/v1/usage"
    token = request_id_var.set("req-42")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = orjson.loads(JsonFormatter().format(record))
    assert line["msg"] == "hello you" and line["level"] == "INFO"
    assert line["request_id"] == "req-42" and line["route"] == "/api/v1/usage"
    assert line["logger"] == "bigshot_llm.x" and line["ts"].endswith("+00:00")


def test_configure_logging_is_idempotent() -> None:
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    try:
        configure_logging("json", "WARNING")
        configure_logging("text", "INFO")
        ours = [h for h in root.handlers if h not in before]
        assert len(ours) == 1
    finally:
        for handler in [h for h in root.handlers if h not in before]:
            root.removeHandler(handler)
        root.setLevel(level)


async def test_one_access_line_per_request_without_query_or_secrets(
    client: httpx.AsyncClient, user_headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bigshot_llm.access")
    response = await client.get(
        "/api/v1/usage/recent?limit=5&token=hunter2",
        headers={**user_headers, "X-Request-ID": "trace-1"},
    )
    assert response.status_code == 200
    [line] = [r for r in caplog.records if r.name == "bigshot_llm.access"]
    assert line.route == "/api/v1/usage/recent"  # type: ignore[attr-defined]
    assert line.status == 200 and line.method == "GET"  # type: ignore[attr-defined]
    assert line.request_id == "trace-1"  # type: ignore[attr-defined]
    assert line.user_id  # type: ignore[attr-defined]
    assert line.duration_ms >= 0  # type: ignore[attr-defined]
    text = JsonFormatter().format(line)
    assert "hunter2" not in text and "Bearer" not in text and "limit=5" not in text


async def test_request_id_goes_upstream(
    client: httpx.AsyncClient, sim: Any, user_headers: dict[str, str]
) -> None:
    response = await client.post(
        f"{NATIVE}/chat/completions",
        json={"messages": [{"role": "user", "content": "hi"}]},
        headers={**user_headers, "X-Request-ID": "abc-123"},
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "abc-123"
    assert sim.state.last_request_headers.get("x-request-id") == "abc-123"


def test_json_timestamps_are_datetimes_isoformat() -> None:
    """The formatter formats a second's date and time once; the text is `datetime`'s."""
    formatter = JsonFormatter()
    rng = random.Random(7)
    stamps = [rng.uniform(0, 4e9) for _ in range(20_000)]
    stamps += [math.floor(s) + 0.9999995 + k * 1e-9 for s in stamps[:200] for k in range(-3, 4)]
    stamps += [0.0, 1.9999999, 1764745356.0004999, 1764745356.9995, -1.25]
    for stamp in sorted(stamps):
        expected = datetime.fromtimestamp(stamp, UTC).isoformat(timespec="milliseconds")
        assert formatter.timestamp(stamp) == expected
