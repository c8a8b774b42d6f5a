"""Which network addresses the gateway may connect to, decided the same way when a URL is
saved (`services.access.url_guard`) and when a connection is opened (the resolvers below).

Checking only when a URL is saved leaves DNS rebinding open: a name that resolved to a public
address then may resolve to 169.254.169.254 or a loopback service later. So the provider
clients, webhooks and discovery resolve through `GuardedResolver` (aiohttp) or
`GuardedNetworkBackend` (httpx's own transport), which refuse any answer the policy refuses
and connect only to the addresses they checked.

- Link-local and cloud-metadata addresses are refused always, for everyone, also when wrapped
  in IPv6 (IPv4-mapped ``::ffff:a.b.c.d``, 6to4 ``2002::/16``, NAT64 ``64:ff9b::/96`` and
  ``64:ff9b:1::/48``, Teredo).
- Private, loopback and other non-public addresses are refused for non-privileged callers
  unless the allow-list names the host or address (with the port, when the entry has one),
  and never on the gateway's own listening port.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpcore
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult

from bigshot_llm.settings import canonical_host, host_port

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2")
)
ALWAYS_BLOCKED = (
    ipaddress.ip_network("169.254.0.0/16"),  # IPv4 link-local, AWS/GCP/Azure metadata
    ipaddress.ip_network("fe80::/10"),  # IPv6 link-local
    ipaddress.ip_network("0.0.0.0/8"),  # "this network": reaches local services on Linux
)
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, NAT64, Teredo)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if any(address in net for net in NAT64):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _verdict(address: IPAddress) -> str | None:
    if address in METADATA_ADDRESSES or any(address in net for net in ALWAYS_BLOCKED):
        return "blocked"
    if (
        address.is_private
        or address.is_loopback
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        or not address.is_global
    ):
        return "private"
    return None


def classify(address: IPAddress) -> str | None:
    """Why an address is sensitive: 'blocked' (never allowed), 'private', or None (public).
    A wrapped IPv4 address counts as itself: the worst verdict wins."""
    verdicts = [_verdict(inner) for inner in embedded_ipv4(address)]
    verdicts.append(_verdict(address))
    if "blocked" in verdicts:
        return "blocked"
    if "private" in verdicts:
        return "private"
    return None


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Who is connecting: `privileged` callers (admins) may reach private hosts."""

    privileged: bool
    allowed: frozenset[str] = frozenset()
    # Loopback/private ports nobody but an admin may reach: the gateway's own.
    forbidden_ports: frozenset[int] = field(default_factory=frozenset)

    def refusal(self, host: str, port: int, address: IPAddress) -> str | None:
        """Why connecting to `address` (for the URL's `host` and `port`) is refused, or None."""
        verdict = classify(address)
        if verdict == "blocked":
            return f"'{host}' resolves to {address}, a link-local or cloud-metadata address"
        if verdict != "private" or self.privileged:
            return None
        if port in self.forbidden_ports:
            return f"port {port} on '{host}' is the gateway's own; it cannot be an upstream"
        host = canonical_host(host)
        listed = {host, host_port(host, port), str(address), host_port(str(address), port)}
        if listed & self.allowed:
            return None
        return (
            f"'{host}' resolves to the non-public address {address}; only admins may use such "
            "hosts unless BIGSHOT_ALLOWED_UPSTREAM_HOSTS lists it (with its port)"
        )

    def check(self, host: str, port: int, addresses: Iterable[IPAddress]) -> None:
        """Raise OSError (a failed connection) when any address is refused."""
        for address in addresses:
            reason = self.refusal(host, port, address)
            if reason is not None:
                raise OSError(f"refused by the address guard: {reason}")


PRIVILEGED = AddressPolicy(privileged=True)


def _address(text: str) -> IPAddress:
    return ipaddress.ip_address(text.split("%", 1)[0])


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, refusing answers the policy refuses (DNS rebinding)."""

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self._inner = inner or aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        self.policy.check(host, port, (_address(r["host"]) for r in results))
        return results

    async def close(self) -> None:
        await self._inner.close()


def guarded_session_factory(policy: AddressPolicy, limits: httpx.Limits) -> Any:
    """A `ClientSession` factory for `httpx_aiohttp.AiohttpTransport(client=...)`: what the
    transport builds itself, plus the guarded resolver."""

    def make() -> aiohttp.ClientSession:
        extra = {"limit": limits.max_connections} if limits.max_connections is not None else {}
        connector = aiohttp.TCPConnector(
            keepalive_timeout=limits.keepalive_expiry,
            ssl=httpx.create_ssl_context(),
            resolver=GuardedResolver(policy),
            **extra,  # type: ignore[arg-type]
        )
        return aiohttp.ClientSession(connector=connector)

    return make


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, resolving and checking before it connects, then
    connecting to the checked address itself (TLS still verifies the name)."""

    def __init__(
        self, policy: AddressPolicy, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self.policy = policy
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await _resolve(host, port, timeout)
        try:
            self.policy.check(host, port, addresses)
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                last = exc
        raise last or httpcore.ConnectError(f"cannot resolve {host}")

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not upstreams")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


async def resolve_addresses(host: str, port: int, timeout: float) -> list[IPAddress]:
    """The addresses `host` stands for (itself when it is a literal), in resolver order.

    Raises `OSError` or `TimeoutError` when the name cannot be resolved within `timeout`.
    """
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(
        loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=timeout
    )
    return list(dict.fromkeys(_address(str(info[4][0])) for info in infos))


async def _resolve(host: str, port: int, timeout: float | None) -> list[IPAddress]:
    try:
        return await resolve_addresses(host, port, timeout or 10.0)
    except (OSError, TimeoutError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc


def guarded_httpx_transport(
    policy: AddressPolicy, limits: httpx.Limits | None = None
) -> httpx.AsyncHTTPTransport:
    """httpx's own transport with the guarded network backend."""
    limits = limits or httpx.Limits()
    transport = httpx.AsyncHTTPTransport(limits=limits)
    # httpx has no public way to choose httpcore's network backend: rebuild its pool with one.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedNetworkBackend(policy),
    )
    return transport
