"""SSRF guard for every URL the gateway is told to call (provider base URLs, pool members,
webhooks), when the URL is saved.

The host is resolved and every address it resolves to is checked with the policy of
`providers.addresses` (the same one the provider clients apply again at connect time, so a
DNS answer that changes later is refused then):
- link-local and cloud-metadata addresses are refused always, for everyone, wrapped in IPv6
  or not;
- private, loopback and other non-public ranges are refused for non-admin users unless the
  admin-managed allow-list (`BIGSHOT_ALLOWED_UPSTREAM_HOSTS`, default LM Studio's port on
  loopback only) names the host or address with its port, and never on the gateway's own port;
- admins may point at private hosts (their LM Studio machines), never at metadata endpoints.
Redirects are never followed by the provider clients, so a public URL cannot bounce the
gateway into the private network.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from bigshot_llm.errors import RequestValidationFailed
from bigshot_llm.providers.addresses import AddressPolicy, IPAddress, classify, resolve_addresses

__all__ = ["IPAddress", "check_url", "classify", "resolve"]


def _refuse(field: str, reason: str) -> RequestValidationFailed:
    return RequestValidationFailed(
        f"{field}: {reason}", details=[{"loc": ["body", field], "field": field, "msg": reason}]
    )


async def resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses of `host`, or none when it does not resolve within 3 s."""
    try:
        return await resolve_addresses(host, port, 3.0)
    except (OSError, TimeoutError):
        return []


async def check_url(
    url: str,
    *,
    privileged: bool,
    allowed_hosts: frozenset[str],
    field: str = "base_url",
    forbidden_ports: frozenset[int] = frozenset(),
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
    policy = AddressPolicy(privileged, allowed_hosts, forbidden_ports)
    for address in addresses:  # every one: a name may answer with a public and a private one
        reason = policy.refusal(host, port, address)
        if reason is not None:
            raise _refuse(field, reason)
