"""First start: a generated admin key printed once, the CLI commands, the secret key file."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bigshot_llm.main import create_app
from tests.conftest import make_settings


async def test_first_start_prints_a_working_admin_key_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path, bootstrap_admin_key=None, secret_key=None)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        out = capsys.readouterr().out
        key = next(line.split()[-1] for line in out.splitlines() if line.strip().startswith("bsk_"))
        assert f"#key={key}" in out
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
            assert me.json()["data"]["role"] == "admin"
    key_file = settings.data_dir / "secret.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert key not in key_file.read_text()

    app = create_app(settings)  # second start: nothing printed
    async with app.router.lifespan_context(app):
        assert "bsk_" not in capsys.readouterr().out


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "BIGSHOT_DATA_DIR": str(tmp_path / "data"),
        "BIGSHOT_SECRET_KEY": "cli-test",
        "LMSTUDIO_API_BASE": "http://127.0.0.1:9/v1",
        "BIGSHOT_BOOTSTRAP_ADMIN_KEY": "bsk_cli-admin-0123456789abcdefghijklmnop",
    }
    return subprocess.run(
        [sys.executable, "-m", "bigshot_llm.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )


def test_cli_db_upgrade_keys_and_providers(tmp_path: Path) -> None:
    upgraded = run_cli(tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert (tmp_path / "data" / "bigshot.db").exists()
    created = run_cli(tmp_path, "keys", "create", "--name", "svc", "--role", "user")
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip().startswith("bsk_")
    listed = run_cli(tmp_path, "providers", "list")
    assert listed.returncode == 0
    assert listed.stdout == ""  # the provider is created on first serve, not by migrations
