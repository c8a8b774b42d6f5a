"""`bigshot-llm openapi` prints the API schema without serving or opening a database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bigshot_llm.cli import main


def test_openapi_writes_the_schema_and_touches_no_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BIGSHOT_DATA_DIR", str(data))
    # Postgres on a port where nothing listens: any connection attempt would fail the run.
    monkeypatch.setenv("BIGSHOT_DATABASE_URL", "postgresql+asyncpg://nobody@127.0.0.1:9/none")
    out = tmp_path / "openapi.json"
    assert main(["openapi", "--output", str(out)]) == 0
    schema = json.loads(out.read_text(encoding="utf-8"))
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/chat/streams" in schema["paths"]
    assert "ConversationPublic" in schema["components"]["schemas"]
    assert not data.exists(), "the command created the data folder"


def test_openapi_prints_to_stdout_as_a_command(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bigshot_llm.cli", "openapi"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "BIGSHOT_DATA_DIR": str(tmp_path / "d")},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["info"]["title"] == "bigshot-llm"
