"""Network auto-discovery against several simulators on loopback ports (real sockets).

Only loopback addresses appear here; what the SSRF guard always refuses is simulated by
making the guard call one loopback address "blocked".
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bigshot_llm.services.providers import discovery
from bigshot_llm.sim.testing import running_sim
from tests.support.servers import ThreadedServer, free_port

DISCOVER = "/api/v1/llm-providers/discover"


async def _openai_models(request: Request) -> JSONResponse:
    return JSONResponse({"object": "list", "data": [{"id": "tiny-gpt", "object": "model"}]})


@pytest.fixture
def openai_only() -> Iterator[ThreadedServer]:
    """An OpenAI-compatible server that is not LM Studio (plain 404 on /api/...)."""
    app = Starlette(routes=[Route("/v1/models", _openai_models)])
    with ThreadedServer(app) as server:
        yield server


async def test_finds_lm_studio_and_openai_servers_on_the_given_ports(
    client: httpx.AsyncClient,
    admin_headers: dict,
    sim: Any,
    second_sim: Any,
    openai_only: ThreadedServer,
) -> None:
    dead = free_port()
    ports = [sim.port, second_sim.port, openai_only.port, dead]
    started = time.monotonic()
    answer = await client.post(
        DISCOVER, json={"hosts": ["127.0.0.1"], "ports": ports}, headers=admin_headers
    )
    assert answer.status_code == 200, answer.text
    assert time.monotonic() - started < 5
    data = answer.json()["data"]
    assert data["probed"] == 4
    found = {s["port"]: s for s in data["found"]}
    assert set(found) == {sim.port, second_sim.port, openai_only.port}
    lms = found[sim.port]
    assert (lms["kind"], lms["api"]) == ("lmstudio", "lmstudio-v1")
    assert lms["base_url"] == sim.url
    states = {m["id"]: m["state"] for m in lms["models"]}
    assert states["qwen2.5-7b-instruct"] == "loaded"
    assert states["llama-3.2-1b-instruct"] == "not-loaded"
    other = found[openai_only.port]
    assert (other["kind"], other["api"]) == ("openai_compatible", "openai")
    assert [m["id"] for m in other["models"]] == ["tiny-gpt"]
    assert all(s["provider"] is None and s["created"] is False for s in data["found"])


async def test_a_cidr_is_expanded_and_nothing_is_created_by_default(
    client: httpx.AsyncClient, admin_headers: dict, sim: Any, second_sim: Any
) -> None:
    body = {"cidr": "127.0.0.1/32", "ports": [sim.port, second_sim.port]}
    answer = await client.post(DISCOVER, json=body, headers=admin_headers)
    assert answer.status_code == 200, answer.text
    assert [s["port"] for s in answer.json()["data"]["found"]] == [sim.port, second_sim.port]
    providers = await client.get("/api/v1/llm-providers", headers=admin_headers)
    assert len(providers.json()["data"]) == 1  # only the bootstrap one


async def test_create_makes_one_audited_provider_per_new_server(
    client: httpx.AsyncClient, admin_headers: dict, sim: Any, second_sim: Any
) -> None:
    with running_sim() as third:
        ports = [sim.port, second_sim.port, third.port]
        # A provider that would clash by name with the first one found.
        taken = f"LM Studio 127.0.0.1:{second_sim.port}"
        await client.post(
            "/api/v1/llm-providers",
            json={"name": taken, "base_url": "http://127.0.0.1:9"},
            headers=admin_headers,
        )
        body = {"hosts": ["127.0.0.1"], "ports": ports, "create": True}
        answer = await client.post(DISCOVER, json=body, headers=admin_headers)
        assert answer.status_code == 200, answer.text
        found = {s["port"]: s for s in answer.json()["data"]["found"]}
        # The bootstrap provider already points at `sim`: reused, not duplicated.
        assert found[sim.port]["created"] is False
        assert found[sim.port]["provider"]["name"] == "LMStudio Local"
        assert found[second_sim.port]["created"] is True
        assert found[second_sim.port]["provider"]["name"] == f"{taken} (2)"
        assert found[third.port]["provider"]["name"] == f"LM Studio 127.0.0.1:{third.port}"
        assert found[third.port]["provider"]["kind"] == "lmstudio"

        again = await client.post(DISCOVER, json=body, headers=admin_headers)
        assert not any(s["created"] for s in again.json()["data"]["found"])

        # The created providers work at once.
        name = found[third.port]["provider"]["name"]
        models = await client.get(
            "/api/v1/llm-providers/models", params={"provider": name}, headers=admin_headers
        )
        assert models.status_code == 200, models.text
    trail = await client.get(
        "/api/v1/audit", params={"action": "provider.create"}, headers=admin_headers
    )
    assert trail.json()["data"]["total"] == 3  # the clashing one and the two discovered


async def test_only_admins_discover(client: httpx.AsyncClient, user_headers: dict) -> None:
    answer = await client.post(DISCOVER, json={"hosts": ["127.0.0.1"]}, headers=user_headers)
    assert answer.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"hosts": ["127.0.0.1"], "cidr": "127.0.0.1/32"},
        {"cidr": "127.0.0.0/23"},  # 512 addresses
        {"cidr": "not-a-network"},
        {"hosts": ["http://127.0.0.1/"]},
        {"hosts": []},
        {"hosts": ["127.0.0.1"], "ports": [0]},
        {"hosts": ["127.0.0.1"], "ports": []},
        {"cidr": "127.0.0.0/24", "ports": [1, 2, 3, 4, 5]},  # 1280 probes
        {"hosts": ["127.0.0.1"], "scan_everything": True},
    ],
)
async def test_bad_requests_are_422(
    client: httpx.AsyncClient, admin_headers: dict, body: dict
) -> None:
    answer = await client.post(DISCOVER, json=body, headers=admin_headers)
    assert answer.status_code == 422, answer.text


async def test_always_blocked_addresses_are_refused_before_any_probe(
    client: httpx.AsyncClient,
    admin_headers: dict,
    sim: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = discovery.classify

    def classify(address: Any) -> str | None:
        return "blocked" if str(address) == "127.0.0.1" else real(address)

    monkeypatch.setattr(discovery, "classify", classify)
    before = sim.state.requests_total
    for body in (
        {"hosts": ["127.0.0.2", "127.0.0.1"], "ports": [sim.port]},
        {"hosts": ["localhost"], "ports": [sim.port]},
        {"cidr": "127.0.0.0/30", "ports": [sim.port]},
    ):
        answer = await client.post(DISCOVER, json=body, headers=admin_headers)
        assert answer.status_code == 422, (body, answer.text)
        assert "metadata" in answer.json()["error"]["message"]
    assert sim.state.requests_total == before


async def test_probes_are_concurrent_and_bounded_in_time(
    client: httpx.AsyncClient, admin_headers: dict
) -> None:
    started = time.monotonic()
    answer = await client.post(
        DISCOVER,
        json={"cidr": "127.0.0.0/26", "ports": [free_port(), free_port()]},
        headers=admin_headers,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {
        "probed": 124,  # 62 hosts of a /26 (network and broadcast left out) × 2
        "found": [],
        "duration_ms": answer.json()["data"]["duration_ms"],
    }
    # Refused ports fail at once: a wait per probe (even 1 s, serially 124 s) is what this
    # catches, with room for a machine busy with other work.
    assert time.monotonic() - started < 30


async def test_a_silent_server_costs_one_short_timeout(
    client: httpx.AsyncClient, admin_headers: dict
) -> None:
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        started = time.monotonic()
        answer = await client.post(
            DISCOVER, json={"hosts": ["127.0.0.1"], "ports": [port]}, headers=admin_headers
        )
        elapsed = time.monotonic() - started
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["found"] == []
    assert discovery.PROBE_TIMEOUT <= elapsed < 2 * discovery.PROBE_TIMEOUT
