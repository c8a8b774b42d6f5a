"""Settings: the seed's names, defaults that stay on loopback, one clear line per bad value."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bigshot_llm.settings import Settings, SettingsError, is_loopback_host, load_settings


def test_defaults_point_at_loopback_lm_studio(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LMSTUDIO_API_BASE", "LLM_PROVIDER", "BIGSHOT_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.lmstudio_api_base == "http://localhost:1234/v1"
    assert settings.llm_provider == "lmstudio"
    assert settings.lmstudio_api_key == "lm-studio"
    assert settings.host == "127.0.0.1"
    assert settings.effective_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.redis_url is None


def test_seed_names_work_unprefixed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LMSTUDIO_API_BASE", "http://127.0.0.1:4321/v1")
    monkeypatch.setenv("LMSTUDIO_MODEL", "qwen")
    monkeypatch.setenv("BIGSHOT_PORT", "9001")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.lmstudio_api_base == "http://127.0.0.1:4321/v1"
    assert settings.lmstudio_model == "qwen"
    assert settings.port == 9001


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BIGSHOT_PORT", "seventy"),
        ("LLM_PROVIDER", "llamafile"),
        ("LMSTUDIO_API_BASE", "localhost:1234"),
        ("BIGSHOT_DATABASE_URL", "mysql://x"),
        ("BIGSHOT_REDIS_URL", "http://x"),
    ],
)
def test_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None)
    assert str(info.value).startswith(f"invalid setting {name}:")


def test_cli_reports_a_bad_setting_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bigshot_llm.cli", "db", "upgrade"],
        env={"BIGSHOT_PORT": "0x", "PATH": "/usr/bin:/bin", "BIGSHOT_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "bigshot-llm: invalid setting BIGSHOT_PORT: Input should be a valid integer, "
        "unable to parse string as an integer"
    ]


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("example.com", False),
        ("8.8.8.8", False),
    ],
)
def test_is_loopback_host(host: str, expected: bool) -> None:
    assert is_loopback_host(host) is expected
