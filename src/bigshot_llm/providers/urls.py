"""Provider base URLs and secrets as people type and see them.

Users paste `http://localhost:1234`, `.../v1`, `.../v1/` or a native `/api/v0` root; the
providers append `/v1/...` or `/api/...` themselves, so we store the bare root and never end up
with `/v1/v1`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["mask_secret", "normalize_base_url", "scrub_secret"]

# Longest first: "/api/v1" also ends with "/v1".
_API_SUFFIXES = ("/api/v0", "/api/v1", "/v1")


def normalize_base_url(url: str) -> str:
    """Return the provider root (``scheme://host[:port][/prefix]``) or raise `ValueError`."""
    text = (url or "").strip()
    if not text:
        raise ValueError("the base URL is empty")
    if any(ch.isspace() or ord(ch) < 0x20 for ch in text):
        raise ValueError("the base URL must not contain spaces or control characters")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(
            f"the base URL must start with http:// or https:// (got {parts.scheme or 'none'!r})"
        )
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "the base URL must not contain credentials (user:password@); "
            "set the API key field instead"
        )
    if not parts.hostname:
        raise ValueError("the base URL has no host")
    try:
        parts.port  # noqa: B018 - urllib validates the port lazily
    except ValueError as exc:
        raise ValueError(f"the base URL has an invalid port: {exc}") from None
    if parts.query or parts.fragment:
        raise ValueError("the base URL must not contain a query string or fragment")
    path = parts.path.rstrip("/")
    for suffix in _API_SUFFIXES:
        if path.endswith(suffix):
            path = path[: -len(suffix)].rstrip("/")
            break
    return f"{scheme}://{parts.netloc.lower()}{path}"


def mask_secret(secret: str | None) -> str:
    """Enough of a secret to recognise it, never enough to use it: at most its last four
    characters (``…x9Qa``), fewer for short secrets, none below eight."""
    if not secret:
        return ""
    if len(secret) >= 12:
        return f"…{secret[-4:]}"
    if len(secret) >= 8:
        return f"…{secret[-2:]}"
    return "****"


def scrub_secret(text: str, secret: str | None) -> str:
    """Upstreams echo keys in messages ("Incorrect API key provided: sk-…"); never relay one."""
    if secret and secret in text:
        return text.replace(secret, mask_secret(secret))
    return text
