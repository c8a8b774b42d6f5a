"""`bigshot-llm serve`: JSON logs by default, and a metrics directory shared by the workers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from bigshot_llm import cli

ENV = (
    "BIGSHOT_HOST",
    "BIGSHOT_PORT",
    "BIGSHOT_AUTO_MIGRATE",
    "BIGSHOT_LOG_FORMAT",
    "PROMETHEUS_MULTIPROC_DIR",
)


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """Run `serve` with uvicorn and the start-up work replaced; returns what uvicorn got."""
    for name in ENV:  # cmd_serve sets these: setenv first, so monkeypatch restores them
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("BIGSHOT_DATA_DIR", str(tmp_path))
    seen: dict[str, Any] = {}

    def fake_run(*args: Any, **kwargs: Any) -> None:
        seen.update(kwargs)
        seen["env"] = {name: os.environ.get(name) for name in ENV}
        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        seen["dir_existed"] = directory is not None and Path(directory).is_dir()

    async def fake_prepare(settings: Any) -> None:
        return None

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.setattr(cli, "_prepare", fake_prepare)
    monkeypatch.setattr(cli, "configure_logging", lambda *args: seen.setdefault("logs", args))
    return seen


def test_several_workers_get_a_temporary_metrics_dir(serve: dict[str, Any]) -> None:
    assert cli.main(["serve", "--workers", "3", "--port", "8123"]) == 0
    assert serve["workers"] == 3 and serve["log_config"] is None
    directory = serve["env"]["PROMETHEUS_MULTIPROC_DIR"]
    assert directory and serve["dir_existed"]
    assert not Path(directory).exists()  # removed once serving ends
    assert serve["env"]["BIGSHOT_LOG_FORMAT"] == "json" and serve["logs"][0] == "json"


def test_one_worker_needs_no_metrics_dir(serve: dict[str, Any]) -> None:
    assert cli.main(["serve", "--workers", "1", "--port", "8123"]) == 0
    assert serve["env"]["PROMETHEUS_MULTIPROC_DIR"] is None


def test_a_given_metrics_dir_is_emptied_and_kept(
    serve: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    given = tmp_path / "prom"
    given.mkdir()
    (given / "counter_123.db").write_bytes(b"old")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(given))
    monkeypatch.setenv("BIGSHOT_LOG_FORMAT", "text")
    assert cli.main(["serve", "--workers", "2", "--port", "8123"]) == 0
    assert given.is_dir() and list(given.iterdir()) == []
    assert serve["logs"][0] == "text"
