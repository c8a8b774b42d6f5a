"""SSRF guard for every URL the gateway is told to call (provider base URLs, later webhooks).

The host is resolved and every address it resolves to is checked:
- link-local and cloud-metadata addresses are refused always, for everyone;
- private, loopback and other non-public ranges are refused for non-admin users unless the
  admin-managed allow-list (`BIGSHOT_ALLOWED_UPSTREAM_HOSTS`) names the host or address;
- admins may point at private hosts (their LM Studio machines), never at metadata endpoints.
Redirects are never followed by the provider clients, so a public URL cannot bounce the
gateway into the private network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from bigshot_llm.errors import RequestValidationFailed

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


def _refuse(field: str, reason: str) -> RequestValidationFailed:
    return RequestValidationFailed(
        f"{field}: {reason}", details=[{"loc": ["body", field], "field": field, "msg": reason}]
    )


def classify(address: IPAddress) -> str | None:
    """Why an address is sensitive: 'blocked' (never allowed), 'private', or None (public)."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
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


async def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=3.0
        )
    except (OSError, TimeoutError):
        return []
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


async def check_url(
    url: str, *, privileged: bool, allowed_hosts: frozenset[str], field: str = "base_url"
) -> None:
    """Raise a 422 naming `field` when `url` may not be called by this caller."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        raise _refuse(field, "the URL has no host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = await resolve(host, port)
    if not addresses:
        if privileged:
            return  # an admin may register a host that is not up yet
        raise _refuse(field, f"host '{host}' cannot be resolved")
    host_allowed = host in allowed_hosts or f"{host}:{port}" in allowed_hosts
    for address in addresses:
        verdict = classify(address)
        if verdict == "blocked":
            raise _refuse(
                field, f"'{host}' resolves to {address}, a link-local or cloud-metadata address"
            )
        if verdict == "private" and not privileged:
            listed = str(address) in allowed_hosts or f"{address}:{port}" in allowed_hosts
            if not (host_allowed or listed):
                raise _refuse(
                    field,
                    f"'{host}' resolves to the non-public address {address}; only admins may "
                    "use such hosts unless BIGSHOT_ALLOWED_UPSTREAM_HOSTS lists it",
                )
