"""What a user can learn or reach through a provider of their own, with real sockets: a name
that rebinds to a refused address after it was saved is refused when connecting; a user's
provider never echoes the upstream's body; `/test` answers the same for a closed port and a
service that is not an LLM server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpcore
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bigshot_llm.providers.addresses import (
    PRIVILEGED,
    AddressPolicy,
    GuardedNetworkBackend,
    GuardedResolver,
)
from tests.conftest import ADMIN_KEY, auth
from tests.support.servers import ThreadedServer, free_port

ADMIN = auth(ADMIN_KEY)
PROVIDERS = "/api/v1/llm-providers"
CHAT = f"{PROVIDERS}/chat/completions"
LOCAL_SECRET = "LOCAL-SERVICE-PAYLOAD-7f3a"
PUBLIC_ADDRESS = "93.184.216.34"  # only ever resolved to, never contacted


class Service:
    """A local service that is not the user's: records every request it gets."""

    def __init__(self, answer: Response) -> None:
        self.calls: list[str] = []
        self.answer = answer
        self.app = Starlette(routes=[Route("/{path:path}", self.any, methods=["GET", "POST"])])

    async def any(self, request: Request) -> Response:
        self.calls.append(request.url.path)
        return self.answer


@pytest.fixture
def victim() -> Iterator[tuple[Service, int]]:
    service = Service(JSONResponse({"data": [{"id": "m", "object": "model"}]}))
    with ThreadedServer(service.app, lifespan="off") as server:
        yield service, server.port


@pytest.fixture
def leaky() -> Iterator[tuple[Service, int]]:
    answer = JSONResponse({"error": {"message": LOCAL_SECRET, "code": "x"}}, status_code=400)
    service = Service(answer)
    with ThreadedServer(service.app, lifespan="off") as server:
        yield service, server.port


@pytest.fixture
def plain() -> Iterator[tuple[Service, int]]:
    service = Service(PlainTextResponse("+OK ready\r\n"))
    with ThreadedServer(service.app, lifespan="off") as server:
        yield service, server.port


@pytest.fixture
def closed_port() -> int:
    return free_port()


@pytest.fixture
def settings_overrides(
    sim: Any, leaky: tuple[Service, int], plain: tuple[Service, int], closed_port: int
) -> dict[str, Any]:
    ports = [sim.port, leaky[1], plain[1], closed_port]  # the victim's port is NOT listed
    return {"allowed_upstream_hosts": ",".join(f"127.0.0.1:{p}" for p in ports)}


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    table: dict[str, str] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host in table:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (table[host], int(port or 80)))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


async def make(client: httpx.AsyncClient, headers: dict, name: str, url: str) -> str:
    created = await client.post(
        PROVIDERS, json={"name": name, "kind": "openai", "base_url": url}, headers=headers
    )
    assert created.status_code == 201, created.text
    return str(created.json()["data"]["id"])


async def test_a_name_rebound_to_a_refused_address_is_refused_at_connect_time(
    client: httpx.AsyncClient,
    user_headers: dict,
    fake_dns: dict[str, str],
    victim: tuple[Service, int],
) -> None:
    service, port = victim
    fake_dns["rebind.attacker.test"] = PUBLIC_ADDRESS  # public when saved: fine for a user
    provider = await make(client, user_headers, "rebind", f"http://rebind.attacker.test:{port}")
    fake_dns["rebind.attacker.test"] = "127.0.0.1"  # ssrf: now a local service, not listed
    tested = await client.post(f"{PROVIDERS}/{provider}/test", headers=user_headers)
    assert tested.status_code == 200 and tested.json()["data"]["ok"] is False
    chat = await client.post(
        CHAT,
        json={"provider": provider, "model": "m", "messages": [{"role": "user", "content": "x"}]},
        headers=user_headers,
    )
    assert chat.status_code == 503, chat.text
    assert service.calls == []  # nothing ever reached it


async def test_a_users_provider_never_echoes_the_upstream_body(
    client: httpx.AsyncClient, user_headers: dict, leaky: tuple[Service, int]
) -> None:
    _, port = leaky
    url = f"http://127.0.0.1:{port}"
    mine = await make(client, user_headers, "mine", url)
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    chat = await client.post(CHAT, json={**body, "provider": mine}, headers=user_headers)
    assert chat.status_code == 400
    assert LOCAL_SECRET not in chat.text
    assert "rejected the request (HTTP 400)" in chat.json()["error"]["message"]
    v1 = await client.post(
        "/v1/chat/completions", json={**body, "model": "mine/m"}, headers=user_headers
    )
    assert v1.status_code == 400 and LOCAL_SECRET not in v1.text
    tested = await client.post(f"{PROVIDERS}/{mine}/test", headers=user_headers)
    assert LOCAL_SECRET not in tested.text
    listed = await client.get(
        f"{PROVIDERS}/models", params={"provider": mine}, headers=user_headers
    )
    assert LOCAL_SECRET not in listed.text
    # an admin's global provider still tells the upstream's words (the admin runs that server)
    shared = await make(client, ADMIN, "global-leaky", url)
    admin_chat = await client.post(CHAT, json={**body, "provider": shared}, headers=ADMIN)
    assert LOCAL_SECRET in admin_chat.json()["error"]["message"]


async def test_test_answers_alike_for_closed_ports_and_other_services(
    client: httpx.AsyncClient,
    user_headers: dict,
    plain: tuple[Service, int],
    closed_port: int,
) -> None:
    answers = []
    for name, port in (("closed", closed_port), ("plain", plain[1])):
        provider = await make(client, user_headers, name, f"http://127.0.0.1:{port}")
        tested = await client.post(f"{PROVIDERS}/{provider}/test", headers=user_headers)
        assert tested.status_code == 200
        data = tested.json()["data"]
        assert data["ok"] is False
        answers.append((data["error_code"], data["message"].replace(str(port), "PORT")))
    assert answers[0] == answers[1], answers
    assert "+OK" not in answers[1][1]


class FixedResolver:
    def __init__(self, address: str) -> None:
        self.address = address
        self.asked = 0

    async def resolve(self, host: str, port: int = 0, family: Any = socket.AF_INET) -> list:
        self.asked += 1
        return [
            {
                "hostname": host,
                "host": self.address,
                "port": port,
                "family": family,
                "proto": 0,
                "flags": 0,
            }
        ]

    async def close(self) -> None:
        return None


async def test_the_resolvers_refuse_what_the_guard_refuses(fake_dns: dict[str, str]) -> None:
    metadata = GuardedResolver(PRIVILEGED, FixedResolver("169.254.169.254"))  # type: ignore[arg-type]
    with pytest.raises(OSError, match="cloud-metadata"):
        await metadata.resolve("rebind.test", 80)
    user = AddressPolicy(False, frozenset({"127.0.0.1:1234"}))
    assert await GuardedResolver(user, FixedResolver("127.0.0.1")).resolve("h", 1234)  # type: ignore[arg-type]
    with pytest.raises(OSError, match="non-public"):
        await GuardedResolver(user, FixedResolver("127.0.0.1")).resolve("h", 5432)  # type: ignore[arg-type]
    # httpx's own transport (webhooks, discovery): refused before any connection is tried
    fake_dns["hook.attacker.test"] = "169.254.169.254"
    backend = GuardedNetworkBackend(PRIVILEGED)
    with pytest.raises(httpcore.ConnectError, match="cloud-metadata"):
        await backend.connect_tcp("hook.attacker.test", 80, timeout=1)
