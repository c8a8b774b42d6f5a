"""The conversation a request belongs to, so its turns go back to the server that has its
prompt cached.

A surface that knows names it (`GenerationRequest.session`: the UI's conversation id, the
`X-Bigshot-Session` header). Otherwise the OpenAI fields a client sets for this very purpose
(`prompt_cache_key`, then `user`), else a hash of the system prompt and the first user turn,
which every later turn of the same conversation repeats.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

__all__ = ["client_session", "session_key"]


def client_session(body: dict[str, Any]) -> str | None:
    """`prompt_cache_key` or `user` of an OpenAI body (read before the body is restricted)."""
    for name in ("prompt_cache_key", "user"):
        value = body.get(name)
        if isinstance(value, str) and value.strip():
            return f"{name}:{value.strip()[:200]}"
    return None


def session_key(body: dict[str, Any]) -> str | None:
    """A hash of the system prompt and the first user turn (None: no messages to hash)."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return None  # a completion has no turns to follow
    system: Any = None
    first_user: Any = None
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role in ("system", "developer") and system is None:
            system = message.get("content")
        elif role == "user":
            first_user = message.get("content")
            break
    if first_user is None:
        return None
    digest = hashlib.sha256(orjson.dumps([system, first_user])).hexdigest()[:32]
    return f"turns:{digest}"
