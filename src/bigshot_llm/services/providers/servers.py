"""Which server a provider record points at, so rules about a server's state (loading and
unloading models, exclusive loading, a JIT load) are decided by the server, not by which
record a caller used to reach it.

A server is identified by its origin and path: scheme, host, port and path prefix. Hosts are
canonical (lower case, IP addresses in short form, every loopback name and address is one
host, `loopback`), ports explicit; and a name also counts as each address it resolves to, so
`http://alias.example:1234` and `http://127.0.0.1:1234` are one server when the alias points
there. Two records share a server when any of their servers (base URL or pool member) match.
"""

from __future__ import annotations

import asyncio
import ipaddress
from urllib.parse import urlsplit

from bigshot_llm.providers.addresses import embedded_ipv4
from bigshot_llm.services.access.url_guard import resolve
from bigshot_llm.services.providers.registry import ProviderRecord, ProviderRegistry

LOOPBACK = "loopback"
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def _canonical(host: str) -> str:
    host = host.lower().strip("[]").rstrip(".")
    if host in _LOOPBACK_NAMES:
        return LOOPBACK
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    inner = embedded_ipv4(address)
    if address.is_loopback or any(a.is_loopback for a in inner):
        return LOOPBACK
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def _parts(url: str) -> tuple[str, str, int, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower() or "http"
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, parts.hostname or "", port, parts.path.rstrip("/")


def origin_key(url: str, host: str | None = None) -> str:
    """``scheme://host:port/path`` with a canonical host (or `host` in its place)."""
    scheme, name, port, path = _parts(url)
    return f"{scheme}://{_canonical(host if host is not None else name)}:{port}{path}"


def record_servers(record: ProviderRecord) -> frozenset[str]:
    """The servers a record names (no DNS): its base URL and every pool member."""
    return frozenset(origin_key(url) for url in (record.base_url, *record.pool_urls))


def _named(url: str) -> bool:
    """Does `url` name its host (rather than give an address or loopback)?"""
    name = _parts(url)[1]
    return bool(name) and _canonical(name) == name.lower()


async def resolved_servers(record: ProviderRecord) -> frozenset[str]:
    """`record_servers` plus the same origins under every address their names resolve to."""
    keys = set(record_servers(record))
    named = [url for url in (record.base_url, *record.pool_urls) if _named(url)]
    if not named:  # addresses only (the common local case): nothing to resolve, no tasks
        return frozenset(keys)

    async def one(url: str) -> set[str]:
        _, name, port, _ = _parts(url)
        return {origin_key(url, str(address)) for address in await resolve(name, port)}

    for found in await asyncio.gather(*(one(url) for url in named)):
        keys |= found
    return frozenset(keys)


async def sharing(registry: ProviderRegistry, record: ProviderRecord) -> list[ProviderRecord]:
    """Every other record that points at one of `record`'s servers (any owner)."""
    mine = await resolved_servers(record)
    others = [r for r in registry.all_records() if r.id != record.id]
    # Records with names are resolved together; the rest need no task at all.
    named = [r for r in others if any(_named(url) for url in (r.base_url, *r.pool_urls))]
    resolved = dict(
        zip(
            (r.id for r in named),
            await asyncio.gather(*(resolved_servers(r) for r in named)),
            strict=True,
        )
    )
    return [r for r in others if (resolved.get(r.id) or record_servers(r)) & mine]
