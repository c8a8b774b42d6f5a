"""Accept or generate an X-Request-ID (the edge middleware exposes it and returns it).

A generated id is 32 hex digits, like a UUID's: 16 random ones drawn once per process (again
in a forked child), then a 64-bit counter. Unique without a `getrandom` call per request,
which `uuid4` makes.
"""

from __future__ import annotations

import itertools
import os
import re

from starlette.types import Scope

_VALID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")


class _Ids:
    """The process's id source: a random prefix and a counter."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.prefix = os.urandom(8).hex().encode()
        self.counter = itertools.count(int.from_bytes(os.urandom(4)))

    def next(self) -> bytes:
        return b"%s%016x" % (self.prefix, next(self.counter) & 0xFFFF_FFFF_FFFF_FFFF)


_ids = _Ids()
os.register_at_fork(after_in_child=_ids.reset)


def new_request_id() -> bytes:
    """A fresh id, unique across requests and processes."""
    return _ids.next()


def request_id_of(scope: Scope) -> bytes:
    """The caller's X-Request-ID when it is a sane token, else a fresh one."""
    for name, value in scope["headers"]:
        if name == b"x-request-id" and _VALID.match(value):
            return bytes(value)
    return _ids.next()
