"""Finding LM Studio and OpenAI-compatible servers on the hosts and ports an admin names.

Nothing here runs on its own: an admin asks, with a host list or a small network (≤ 256
addresses), and only those addresses are probed, concurrently (bounded) and with short
timeouts. Link-local and cloud-metadata addresses are refused before anything is sent (the
SSRF guard's always-blocked ranges). Per host and port the probe tries, in order, LM Studio's
native `/api/v1/models` and `/api/v0/models`, then OpenAI's `/v1/models`; a refused
connection ends it at once. LM Studio answers unknown routes with HTTP 200 and an `error`
body, so every answer is judged by its shape, never by its status alone.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from bigshot_llm.errors import RequestValidationFailed
from bigshot_llm.providers.addresses import PRIVILEGED, guarded_httpx_transport
from bigshot_llm.providers.lmstudio import models_from_v0, models_from_v1
from bigshot_llm.schemas.model_ops import DiscoverAnswer, DiscoveredServer, DiscoverRequest
from bigshot_llm.schemas.providers import ProviderCreate
from bigshot_llm.services.access.auth import Principal
from bigshot_llm.services.access.url_guard import classify, resolve
from bigshot_llm.services.providers.configs import ProviderConfigService

PROBE_TIMEOUT = 1.5
MAX_CONCURRENCY = 64
MAX_BODY = 4 * 1024 * 1024


@dataclass(slots=True)
class Found:
    """A server that answered like a model server."""

    host: str
    port: int
    kind: str  # "lmstudio" | "openai_compatible"
    api: str  # "lmstudio-v1" | "lmstudio-v0" | "openai"
    models: list[dict[str, Any]]
    latency_ms: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def public(self) -> DiscoveredServer:
        """As the API shows it, with the provider config made or found for it (`extra`)."""
        found = DiscoveredServer.model_validate(self, from_attributes=True)
        return found.model_copy(update=self.extra)


class _Dead(Exception):
    """Nothing listens there (refused, unreachable, timed out)."""


async def refuse_blocked(hosts: list[str]) -> None:
    """422 when any host is (or resolves to) a link-local or metadata address."""
    for index, host in enumerate(hosts):
        for address in await resolve(host, 80):
            if classify(address) == "blocked":
                raise RequestValidationFailed(
                    f"hosts: '{host}' is a link-local or cloud-metadata address",
                    details=[
                        {
                            "loc": ["body", "hosts", index],
                            "msg": f"{address} may never be probed",
                        }
                    ],
                )


def refuse_blocked_network(cidr: str) -> None:
    """422 when the network holds any link-local or metadata address (it has ≤ 256)."""
    for address in ipaddress.ip_network(cidr, strict=False):
        if classify(address) == "blocked":
            raise RequestValidationFailed(
                f"cidr: {cidr} reaches the link-local or cloud-metadata address {address}",
                details=[{"loc": ["body", "cidr"], "msg": f"{address} may never be probed"}],
            )


async def _get_json(client: httpx.AsyncClient, url: str) -> Any:
    try:
        response = await client.get(url)
    except (httpx.ConnectError, httpx.TimeoutException, httpx.NetworkError) as exc:
        raise _Dead from exc
    except httpx.HTTPError:
        return None
    if response.status_code != 200 or len(response.content) > MAX_BODY:
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None


def _brief(models: list[Any]) -> list[dict[str, Any]]:
    return [{"id": m.id, "type": m.type, "state": m.state} for m in models]


async def probe(client: httpx.AsyncClient, host: str, port: int) -> Found | None:
    """What answers at host:port, if anything."""
    base = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    started = time.perf_counter()

    def found(kind: str, api: str, models: list[dict[str, Any]]) -> Found:
        latency = round((time.perf_counter() - started) * 1000, 1)
        return Found(host, port, kind, api, models, latency)

    try:
        v1 = await _get_json(client, f"{base}/api/v1/models")
        if isinstance(v1, dict) and isinstance(v1.get("models"), list):
            return found("lmstudio", "lmstudio-v1", _brief(models_from_v1(v1)))
        v0 = await _get_json(client, f"{base}/api/v0/models")
        if isinstance(v0, dict) and isinstance(v0.get("data"), list):
            return found("lmstudio", "lmstudio-v0", _brief(models_from_v0(v0)))
        openai = await _get_json(client, f"{base}/v1/models")
    except _Dead:
        return None
    if isinstance(openai, dict) and isinstance(openai.get("data"), list):
        models = [
            {"id": item["id"], "type": "llm", "state": None}
            for item in openai["data"]
            if isinstance(item, dict) and isinstance(item.get("id"), str)
        ]
        return found("openai_compatible", "openai", models)
    return None


async def discover(
    hosts: list[str],
    ports: list[int],
    *,
    timeout: float = PROBE_TIMEOUT,
    concurrency: int = MAX_CONCURRENCY,
) -> tuple[list[Found], int]:
    """Probe every host × port; returns what answered (in input order) and the probe count."""
    limit = asyncio.Semaphore(concurrency)
    pairs = [(host, port) for host in hosts for port in ports]
    # No proxies from the environment and no redirects: only what the admin named is reached.
    # The guarded transport checks every name again when it connects: a host that resolved
    # to a harmless address during the check cannot rebind to a metadata address.
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=0)
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
        transport=guarded_httpx_transport(PRIVILEGED, limits),
    ) as client:

        async def one(host: str, port: int) -> Found | None:
            async with limit:
                try:
                    async with asyncio.timeout(timeout * 3):
                        return await probe(client, host, port)
                except TimeoutError:
                    return None

        results = await asyncio.gather(*(one(h, p) for h, p in pairs))
    return [r for r in results if r is not None], len(pairs)


def unique_name(wanted: str, taken: set[str]) -> str:
    """`wanted`, or `wanted (2)`, `wanted (3)`… when that name is already used."""
    if wanted not in taken:
        return wanted
    n = 2
    while f"{wanted} ({n})" in taken:
        n += 1
    return f"{wanted} ({n})"


def provider_name(found: Found) -> str:
    label = "LM Studio" if found.kind == "lmstudio" else "OpenAI-compatible"
    return f"{label} {found.host}:{found.port}"


async def run(
    request: DiscoverRequest,
    principal: Principal,
    configs: ProviderConfigService,
) -> DiscoverAnswer:
    """Probe what the admin named; with `create`, one global provider per new server."""
    started = time.perf_counter()
    if request.cidr is not None:
        refuse_blocked_network(request.cidr)
    else:
        await refuse_blocked(request.addresses())
    found, probed = await discover(request.addresses(), request.ports)
    if request.create:
        await _create_providers(found, principal, configs)
    return DiscoverAnswer(
        probed=probed,
        found=[server.public() for server in found],
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
    )


async def _create_providers(
    found: list[Found], principal: Principal, configs: ProviderConfigService
) -> None:
    """One global provider per server found, unless one already points there."""
    registry = configs.registry
    for server in found:
        records = [r for r in registry.all_records() if r.owner_id is None]
        existing = next((r for r in records if r.base_url == server.base_url), None)
        if existing is not None:
            server.extra["provider"] = existing.public()
            continue
        name = unique_name(provider_name(server), {r.name for r in records})
        body = ProviderCreate(name=name, kind=server.kind, base_url=server.base_url, scope="global")
        record = await configs.create(principal, body)
        server.extra.update(provider=record.public(), created=True)
