"""schemathesis against the running app's OpenAPI schema: every operation, with an admin key and
a user key; no 500, and every answer matches its documented status, content type and schema.

Bounded (a few examples per operation) so CI stays fast. The upstream is the simulator; any
name other than loopback fails to resolve, so fuzzed provider URLs never leave the machine.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bigshot_llm.main import create_app
from bigshot_llm.sim.testing import running_sim
from tests.conftest import ADMIN_KEY, make_settings
from tests.support.servers import ThreadedServer

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


@pytest.fixture(scope="module")
def offline_dns() -> Iterator[None]:
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, bytes):
            host = host.decode()
        if host not in LOOPBACK_NAMES:
            raise socket.gaierror(socket.EAI_NONAME, "offline test: name not resolved")
        return real(host, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", getaddrinfo)
        yield


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory, offline_dns: None) -> Iterator[Any]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    with running_sim() as sim:
        settings_ = make_settings(
            tmp, lmstudio_api_base=f"{sim.url}/v1", rate_limit_user=0, max_streams_user=0
        )
        with ThreadedServer(create_app(settings_)) as server:
            yield server


@pytest.fixture(scope="module")
def keys(fuzz_server: ThreadedServer) -> dict[str, str]:
    created = httpx.post(
        f"{fuzz_server.url}/api/v1/keys",
        json={"name": "fuzz", "user": "fuzzer", "role": "user"},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        timeout=60,
    )
    return {"admin": ADMIN_KEY, "user": created.json()["data"]["key"]}


@pytest.fixture(scope="module")
def api_schema(fuzz_server: ThreadedServer) -> Any:
    # Building the schema the first time takes seconds on a busy machine (10 s by default).
    return schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json", timeout=120)


# Long enough that a busy machine's slow answer is not taken for a failure (a timeout that
# passes when Hypothesis replays it is reported as "inconsistent results").
CALL_TIMEOUT = 60
CHECKS = [response_schema_conformance, status_code_conformance, content_type_conformance]
FUZZ_SETTINGS = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


def test_every_operation_survives_fuzzing(
    api_schema: Any, keys: dict[str, str], fuzz_server: ThreadedServer
) -> None:
    # schemathesis' pytest plugin does not load under pytest 9, so each operation's
    # hypothesis strategy is driven directly.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 25
    failures: list[str] = []

    for operation in operations:

        @FUZZ_SETTINGS
        @given(case=operation.as_strategy())
        def fuzz(case: Any) -> None:
            for key in keys.values():
                response = case.call(
                    base_url=fuzz_server.url,
                    headers={"Authorization": f"Bearer {key}"},
                    timeout=CALL_TIMEOUT,
                )
                assert response.status_code != 500, response.text[:300]
                case.validate_response(response, checks=CHECKS)

        try:
            fuzz()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure
            # A flaky failure wraps the first run's error: name it, it is the one to fix.
            causes = "".join(f"\n  first run: {e!r}"[:1000] for e in getattr(exc, "exceptions", ()))
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:2000] + causes)
    assert not failures, "\n\n".join(failures)
