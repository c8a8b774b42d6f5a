"""One chat stream as its manager and the API see it: the buffer, the measured stats, the
context report and the task that generates it."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any, Protocol

from bigshot_llm.schemas.conversations import ContextReport, StreamPublic
from bigshot_llm.services.chat.buffers.memory import StreamBuffer
from bigshot_llm.services.generation.stats import StreamStats


class RemoteStreams(Protocol):
    """Streams other replicas own (`RedisStreamStore`)."""

    async def load(self, stream_id: str) -> Any: ...

    async def cancel(self, stream_id: str, reason: str) -> None: ...


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(slots=True)
class StreamHandle:
    buffer: StreamBuffer
    stats: StreamStats
    context: dict[str, int]
    user_message_id: str | None = None
    status: str = "running"  # running | complete | cancelled | error
    cancel_reason: str | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    # Storing the answer and writing the final event, started once whoever ends the stream.
    finishing: asyncio.Task[None] | None = field(default=None, repr=False)
    remote: bool = False  # owned by another replica: read and stop only
    warnings: list[str] = field(default_factory=list)  # what the request was told
    continues: str | None = None  # the answer this stream goes on writing (continue)

    @property
    def id(self) -> str:
        return self.buffer.meta.stream_id

    def token_matches(self, token: str) -> bool:
        return secrets.compare_digest(hash_token(token), self.buffer.meta.token_hash)

    def public(self) -> StreamPublic:
        meta = self.buffer.meta
        return StreamPublic(
            stream_id=meta.stream_id,
            conversation_id=meta.conversation_id,
            status=self.status,  # type: ignore[arg-type]
            provider=meta.provider,
            model=meta.model,
            last_event_id=self.buffer.last_id,
            subscribers=self.buffer.subscribers,
            context=ContextReport(**self.context),
            user_message_id=self.user_message_id,
            continues_message_id=meta.continues_message_id,
        )
