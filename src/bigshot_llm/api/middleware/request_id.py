"""Accept or generate an X-Request-ID (the edge middleware exposes it and returns it)."""

from __future__ import annotations

import re
import uuid

from starlette.types import Scope

_VALID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")


def request_id_of(scope: Scope) -> bytes:
    """The caller's X-Request-ID when it is a sane token, else a fresh one."""
    for name, value in scope["headers"]:
        if name == b"x-request-id" and _VALID.match(value):
            return bytes(value)
    return uuid.uuid4().hex.encode()
