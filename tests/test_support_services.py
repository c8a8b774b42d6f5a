"""The test suite's own guards: a missing service is a skip locally and a failure in CI."""

from __future__ import annotations

import pytest

from tests.support.services import require_binary, require_service

MISSING = "bigshot-no-such-program-4d1c"


def test_a_missing_program_skips_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BIGSHOT_REQUIRE_SERVICES", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require_binary(MISSING)


def test_a_missing_program_fails_when_services_are_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BIGSHOT_REQUIRE_SERVICES", "1")
    with pytest.raises(pytest.fail.Exception, match="BIGSHOT_REQUIRE_SERVICES=1"):
        require_binary(MISSING)


def test_a_present_program_is_found() -> None:
    assert require_binary("sh").endswith("/sh")


def test_an_unreachable_service_fails_when_services_are_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BIGSHOT_REQUIRE_SERVICES", "1")
    with pytest.raises(pytest.fail.Exception):
        require_service("nothing", "127.0.0.1", 9)  # the discard port: nothing listens


def test_no_test_skips_on_a_failed_import_of_the_gateway_or_the_simulator() -> None:
    """`importorskip` turns an import bug into skips; the suite imports what it tests."""
    from pathlib import Path

    offenders = [
        str(path)
        for path in Path(__file__).parent.rglob("*.py")
        if "importorskip(" in path.read_text() and path.name != Path(__file__).name
    ]
    assert offenders == []
