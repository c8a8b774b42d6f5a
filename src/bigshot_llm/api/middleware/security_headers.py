"""Security headers on every answer, plus the caller's X-RateLimit-* figures when known
(added by the edge middleware, `access_log.py`).

The UI's policy allows no inline script or style; `/docs` (Swagger UI from the installed
package, `web/docs.py`) loads scripts from 'self' only, and needs inline styles (Swagger UI
sets style attributes).
"""

from __future__ import annotations

from starlette.types import Scope

UI_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_DOCS_PATHS = ("/docs",)

_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_UI = [*_COMMON, (b"content-security-policy", UI_CSP.encode())]
_DOCS = [*_COMMON, (b"content-security-policy", DOCS_CSP.encode())]


def security_headers(path: str) -> list[tuple[bytes, bytes]]:
    """The fixed headers for an answer to `path` (the docs need inline styles)."""
    return _DOCS if path.startswith(_DOCS_PATHS) else _UI


def add_rate_limit_headers(headers: list[tuple[bytes, bytes]], scope: Scope) -> None:
    """The caller's X-RateLimit-* figures, unless the handler already set them."""
    limits = scope.get("state", {}).get("rate_limit_headers")
    if limits:
        present = {name.lower() for name, _ in headers}
        for name, value in limits.items():
            if name.lower().encode() not in present:
                headers.append((name.lower().encode(), value.encode()))
