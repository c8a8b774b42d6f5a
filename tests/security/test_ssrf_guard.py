"""The SSRF guard: no metadata or link-local targets ever; private hosts only for admins or
when allow-listed; no redirects followed (all checks resolve or refuse, none send traffic)."""

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

from tests.conftest import ADMIN_KEY, auth
from tests.support.servers import ThreadedServer

ADMIN = auth(ADMIN_KEY)
PROVIDERS = "/api/v1/llm-providers"
METADATA = "http://169.254.169.254/latest/meta-data"  # ssrf target: must be refused


async def create(client: httpx.AsyncClient, headers: dict, base_url: str) -> httpx.Response:
    return await client.post(
        PROVIDERS,
        json={"name": uuid.uuid4().hex[:8], "kind": "openai", "base_url": base_url},
        headers=headers,
    )


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Names that resolve where a test says (the guard must follow the answer, not the name)."""
    table: dict[str, str] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host in table:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (table[host], port or 80))]
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
    # loopback is on the default allow-list: a user's own LM Studio on this machine works
    assert (await create(client, user_headers, "http://127.0.0.1:1234")).status_code == 201
    assert (await create(client, user_headers, "http://localhost:1235")).status_code == 201


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
