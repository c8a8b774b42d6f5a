"""The SSRF guard: no metadata or link-local targets ever (wrapped in IPv6 or not); private
hosts only for admins or when allow-listed with their port, never the gateway's own port;
every resolved address checked, when saved and again at connect time; user providers'
errors in our words; no redirects followed."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import RedirectResponse
from starlette.routing import Route

from bigshot_llm.settings import Settings
from tests.conftest import ADMIN_KEY, auth
from tests.support.servers import ThreadedServer

ADMIN = auth(ADMIN_KEY)
PROVIDERS = "/api/v1/llm-providers"
METADATA = "http://169.254.169.254/latest/meta-data"  # ssrf target: must be refused
DEFAULT_ALLOWED = Settings.model_fields["allowed_upstream_hosts"].default


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"allowed_upstream_hosts": DEFAULT_ALLOWED}  # the shipped default, not the tests'


async def create(client: httpx.AsyncClient, headers: dict, base_url: str) -> httpx.Response:
    return await client.post(
        PROVIDERS,
        json={"name": uuid.uuid4().hex[:8], "kind": "openai", "base_url": base_url},
        headers=headers,
    )


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Names that resolve where a test says (the guard must follow the answer, not the name):
    an address, or a list of them (every one is answered)."""
    table: dict[str, Any] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host in table:
            answer = table[host]
            addresses = answer if isinstance(answer, list) else [answer]
            return [
                (
                    socket.AF_INET6 if ":" in a else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (a, int(port or 80), 0, 0) if ":" in a else (a, int(port or 80)),
                )
                for a in addresses
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


@pytest.mark.parametrize(
    "url",
    [
        METADATA,
        "http://169.254.1.1:1234",
        "http://[fd00:ec2::254]/",
        "http://[fe80::1]:1234",
        "http://0.0.0.0:1234",
        "http://[::ffff:169.254.169.254]/",
    ],
)
async def test_metadata_and_link_local_are_refused_for_everyone(
    client: httpx.AsyncClient, user_headers: dict, url: str
) -> None:
    for headers in (ADMIN, user_headers):
        response = await create(client, headers, url)
        assert response.status_code == 422, (url, response.text)
        assert response.json()["error"]["details"][0]["loc"] == ["body", "base_url"]


async def test_dns_names_are_resolved_before_deciding(
    client: httpx.AsyncClient, user_headers: dict, fake_dns: dict[str, str]
) -> None:
    fake_dns["metadata.attacker.test"] = "169.254.169.254"  # ssrf via DNS
    fake_dns["intranet.attacker.test"] = "10.1.2.3"  # ssrf: a private (blocked) address
    fake_dns["public.example.test"] = "93.184.216.34"
    response = await create(client, ADMIN, "http://metadata.attacker.test/v1")
    assert response.status_code == 422
    assert "169.254.169.254" in response.json()["error"]["message"]
    response = await create(client, user_headers, "http://intranet.attacker.test:1234")
    assert response.status_code == 422
    assert "non-public" in response.json()["error"]["message"]
    response = await create(client, user_headers, "https://public.example.test/v1")
    assert response.status_code == 201


async def test_private_hosts_are_for_admins_or_the_allow_list(
    client: httpx.AsyncClient, user_headers: dict
) -> None:
    private_url = "http://10.9.8.7:1234/v1"  # ssrf: private range, refused for users
    assert (await create(client, user_headers, private_url)).status_code == 422
    assert (await create(client, ADMIN, private_url)).status_code == 201
    # LM Studio's port on loopback is on the default allow-list: a user's own LM Studio works
    for url in ("http://127.0.0.1:1234", "http://localhost:1234/v1", "http://[::1]:1234"):
        assert (await create(client, user_headers, url)).status_code == 201, url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5432",  # a database on this machine
        "http://localhost:1235",
        "http://[::1]:6379",
        "http://127.0.0.1",
        "http://localhost:8000",  # the gateway itself
        "http://127.0.0.2:1234",  # another loopback address is another host
    ],
)
async def test_the_default_allow_list_is_lm_studios_port_only(
    client: httpx.AsyncClient, user_headers: dict, url: str
) -> None:
    refused = await create(client, user_headers, url)
    assert refused.status_code == 422, (url, refused.text)
    assert refused.json()["error"]["details"][0]["loc"] == ["body", "base_url"]
    assert (await create(client, ADMIN, url)).status_code == 201  # admins' own machines


@pytest.mark.parametrize(
    "settings_overrides", [{"allowed_upstream_hosts": "127.0.0.1,localhost", "port": 8123}]
)
async def test_never_the_gateways_own_port(client: httpx.AsyncClient, user_headers: dict) -> None:
    for url in ("http://127.0.0.1:8123", "http://localhost:8123/v1"):
        refused = await create(client, user_headers, url)
        assert refused.status_code == 422, refused.text
        assert "gateway's own" in refused.json()["error"]["message"]
    assert (await create(client, user_headers, "http://127.0.0.1:8124")).status_code == 201


@pytest.mark.parametrize(
    "url",
    [
        "http://[2002:a9fe:a9fe::1]/",  # 6to4 around 169.254.169.254
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 around 169.254.169.254
        "http://[64:ff9b:1::a9fe:a9fe]/",  # local-use NAT64
        "http://[2001:0:4136:e378:8000:63bf:5601:5601]/",  # Teredo: client 169.254.169.254
    ],
)
async def test_wrapped_metadata_addresses_are_refused_for_everyone(
    client: httpx.AsyncClient, user_headers: dict, url: str
) -> None:
    for headers in (ADMIN, user_headers):
        response = await create(client, headers, url)
        assert response.status_code == 422, (url, response.text)


async def test_wrapped_loopback_is_private_for_users(
    client: httpx.AsyncClient, user_headers: dict
) -> None:
    for url in ("http://[2002:7f00:1::1]:1234", "http://[64:ff9b::7f00:1]:1234"):
        assert (await create(client, user_headers, url)).status_code == 422, url


async def test_every_resolved_address_is_checked(
    client: httpx.AsyncClient, user_headers: dict, fake_dns: dict[str, Any]
) -> None:
    fake_dns["mixed.attacker.test"] = ["93.184.216.34", "10.0.0.7"]  # ssrf: one private answer
    fake_dns["mixed-meta.attacker.test"] = ["93.184.216.34", "169.254.169.254"]
    refused = await create(client, user_headers, "http://mixed.attacker.test:1234")
    assert refused.status_code == 422 and "10.0.0.7" in refused.json()["error"]["message"]
    assert (await create(client, ADMIN, "http://mixed-meta.attacker.test")).status_code == 422


async def test_patch_is_guarded_too(client: httpx.AsyncClient, user_headers: dict) -> None:
    created = (await create(client, user_headers, "http://127.0.0.1:1234")).json()["data"]
    response = await client.patch(
        f"{PROVIDERS}/{created['id']}", json={"base_url": METADATA}, headers=user_headers
    )
    assert response.status_code == 422


@pytest.fixture
def redirector() -> Iterator[ThreadedServer]:
    async def bounce(request: Any) -> RedirectResponse:
        return RedirectResponse(METADATA, status_code=302)

    app = Starlette(routes=[Route("/{path:path}", bounce, methods=["GET", "POST"])])
    with ThreadedServer(app, lifespan="off") as server:
        yield server


async def test_upstream_redirects_are_not_followed(
    client: httpx.AsyncClient, redirector: ThreadedServer
) -> None:
    created = await create(client, ADMIN, redirector.url)
    provider_id = created.json()["data"]["id"]
    response = await client.post(
        "/api/v1/llm-providers/chat/completions",
        json={
            "provider": provider_id,
            "model": "m",
            "messages": [{"role": "user", "content": "x"}],
        },
        headers=ADMIN,
    )
    assert response.status_code == 502
    assert "redirect" in response.json()["error"]["message"].lower()
