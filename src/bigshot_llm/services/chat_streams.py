"""Chat generations that outlive the HTTP connection which watches them.

`StreamManager.open` stores the user's message, fits the conversation into the model's context
and starts the generation as a task of its own that writes events into a `StreamBuffer`.
Clients read the buffer (and re-read it after a reconnect) through the events endpoint.

A generation ends in one of three ways, and each stores the assistant's answer:
upstream finishes (`complete`), upstream fails (`error`), or it is cancelled (`cancelled`):
by the stop button, by nobody listening for `grace` seconds, or by shutdown. Cancelling the
task closes the provider's stream iterator, which closes the upstream request. Finished
buffers are kept `keep` seconds for late readers, then dropped by the sweeper.

With Redis (`remote` set, buffers from `RedisStreamStore`) a stream started on one replica can
be read, inspected and stopped from any other: `find` loads its meta from Redis, `stop` asks
the owning replica (which holds the task) over pub/sub, and the owner's grace timer counts
readers on every replica. On shutdown `close(drain)` lets running generations finish for up
to `drain` seconds before cancelling them (`done` with finish_reason "cancelled" and
cancel_reason "shutdown").
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.aio import close_iterator, stop_task
from bigshot_llm.conversation_schemas import StreamCreate
from bigshot_llm.errors import Conflict, GatewayError, RateLimited
from bigshot_llm.services import conversations
from bigshot_llm.services.auth import Principal
from bigshot_llm.services.generation_shapes import chat_delta_text
from bigshot_llm.services.llm import LLMService, Target
from bigshot_llm.services.metering import Ticket, watch_stream
from bigshot_llm.services.stream_buffer import MemoryStreamBuffer, StreamBuffer, StreamMeta
from bigshot_llm.services.stream_stats import StreamStats
from bigshot_llm.services.usage import UsageRecorder

log = logging.getLogger(__name__)

BufferFactory = Callable[[StreamMeta], StreamBuffer]
STOP_WAIT_SECONDS = 10.0


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
    remote: bool = False  # owned by another replica: read and stop only

    @property
    def id(self) -> str:
        return self.buffer.meta.stream_id

    def token_matches(self, token: str) -> bool:
        return secrets.compare_digest(hash_token(token), self.buffer.meta.token_hash)

    def public(self) -> dict[str, Any]:
        meta = self.buffer.meta
        return {
            "stream_id": meta.stream_id,
            "conversation_id": meta.conversation_id,
            "status": self.status,
            "provider": meta.provider,
            "model": meta.model,
            "last_event_id": self.buffer.last_id,
            "subscribers": self.buffer.subscribers,
            "context": self.context,
            "user_message_id": self.user_message_id,
        }


class StreamManager:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        llm: LLMService,
        *,
        grace: float,
        keep: float,
        max_per_user: int,
        default_context_length: int,
        buffer_factory: BufferFactory = MemoryStreamBuffer,
        usage: UsageRecorder | None = None,
        remote: RemoteStreams | None = None,
    ) -> None:
        self._sessions = sessions
        self._llm = llm
        self.grace = grace
        self.keep = keep
        self.max_per_user = max_per_user
        self.default_context_length = default_context_length
        self._buffer_factory = buffer_factory
        self._usage = usage
        self._remote = remote
        self._streams: dict[str, StreamHandle] = {}
        self._opening_users: Counter[str] = Counter()
        self._opening_conversations: set[str] = set()
        self._sweeper: asyncio.Task[None] | None = None

    # ---- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep(), name="chat-stream-sweeper")

    async def close(self, drain: float = 0.0) -> None:
        """Let generations run up to `drain` seconds, then cancel the rest; each stores its
        (partial) answer before this returns."""
        running = [h.task for h in self._streams.values() if h.task and not h.task.done()]
        if running and drain > 0:
            log.info("shutdown: letting %d chat stream(s) finish (%.0fs)", len(running), drain)
            await asyncio.wait(running, timeout=drain)
        if self._sweeper is not None:
            await stop_task(self._sweeper)
        handles = list(self._streams.values())
        for handle in handles:
            self._cancel(handle, "shutdown")
        await asyncio.gather(*(self._settle(h) for h in handles), return_exceptions=True)
        self._streams.clear()

    # ---- lookups --------------------------------------------------------------------------

    def get(self, stream_id: str) -> StreamHandle | None:
        handle = self._streams.get(stream_id)
        if handle is None or handle.buffer.expired():
            return None
        return handle

    async def find(self, stream_id: str) -> StreamHandle | None:
        """A stream of this replica, else one another replica runs (with Redis)."""
        handle = self.get(stream_id)
        if handle is not None or self._remote is None:
            return handle
        buffer = await self._remote.load(stream_id)
        if buffer is None:
            return None
        stats = StreamStats(prompt_estimate=0, text_of=chat_delta_text)
        meta = buffer.meta
        remote = StreamHandle(buffer, stats, meta.context, meta.user_message_id, remote=True)
        remote.status = buffer.status()
        return remote

    def running_for(self, conversation_id: str) -> StreamHandle | None:
        for handle in self._streams.values():
            meta = handle.buffer.meta
            if meta.conversation_id == conversation_id and handle.status == "running":
                return handle
        return None

    def running_count(self, owner_id: str) -> int:
        running = sum(
            1
            for h in self._streams.values()
            if h.buffer.meta.owner_id == owner_id and h.status == "running"
        )
        return running + self._opening_users[owner_id]

    # ---- opening --------------------------------------------------------------------------

    async def open(self, principal: Principal, request: StreamCreate) -> tuple[StreamHandle, str]:
        """Store the user's message and start generating; returns the handle and its token."""
        owner = principal.user_id
        limit = self.max_per_user
        if limit and self.running_count(owner) >= limit:
            raise RateLimited(
                f"too many chat streams: you may run {limit} at a time; stop one "
                "(DELETE /api/v1/chat/streams/{id}) or wait for one to finish",
                headers={"Retry-After": "1"},
            )
        self._opening_users[owner] += 1
        try:
            return await self._open(principal, request)
        finally:
            self._opening_users[owner] -= 1
            if self._opening_users[owner] <= 0:
                del self._opening_users[owner]

    async def _open(self, principal: Principal, req: StreamCreate) -> tuple[StreamHandle, str]:
        async with self._sessions() as session:
            conv = None
            if req.conversation_id:
                conv = await conversations.get_owned(
                    session, principal.user_id, req.conversation_id
                )
                self._claim_conversation(conv.id)
            try:
                turn = await conversations.prepare_turn(
                    session, self._llm, principal, req, conv, self.default_context_length
                )
                return await self._published(self._launch(principal, turn))
            finally:
                if conv is not None:
                    self._opening_conversations.discard(conv.id)

    async def _published(self, launched: tuple[StreamHandle, str]) -> tuple[StreamHandle, str]:
        """Share the stream's meta (with Redis) before anyone is told its id."""
        handle = launched[0]
        try:
            await handle.buffer.sync()
        except Exception:
            self._cancel(handle, "error")
            raise
        return launched

    def _claim_conversation(self, conversation_id: str) -> None:
        if self.running_for(conversation_id) or conversation_id in self._opening_conversations:
            raise Conflict(
                "this conversation already has a running stream: stop it or wait for it",
                code="stream_running",
            )
        self._opening_conversations.add(conversation_id)

    def _launch(
        self, principal: Principal, turn: conversations.PreparedTurn
    ) -> tuple[StreamHandle, str]:
        token = secrets.token_urlsafe(32)
        meta = StreamMeta(
            stream_id=secrets.token_hex(16),
            owner_id=principal.user_id,
            conversation_id=turn.conversation_id,
            token_hash=hash_token(token),
            provider=turn.target.record.name,
            model=turn.model,
            context=turn.fit.report(),
            user_message_id=turn.user_message_id,
        )
        stats = StreamStats(
            prompt_estimate=turn.fit.prompt_tokens_estimate, text_of=chat_delta_text
        )
        handle = StreamHandle(
            self._buffer_factory(meta), stats, turn.fit.report(), turn.user_message_id
        )
        self._streams[meta.stream_id] = handle
        ticket = self._ticket(principal, turn)
        handle.task = asyncio.create_task(
            self._run(handle, turn.target, turn.body, ticket), name=f"chat-stream-{meta.stream_id}"
        )
        handle.task.add_done_callback(_report_crash)
        return handle, token

    def _ticket(self, principal: Principal, turn: conversations.PreparedTurn) -> Ticket | None:
        if self._usage is None:
            return None
        record = turn.target.record
        return Ticket(
            self._usage,
            principal.user_id,
            principal.key_id,
            record.id,
            record.name,
            turn.model,
            endpoint="/api/v1/chat/streams",
            streamed=True,
        )

    # ---- generation -----------------------------------------------------------------------

    async def _run(
        self, handle: StreamHandle, target: Target, body: dict[str, Any], ticket: Ticket | None
    ) -> None:
        buffer, stats = handle.buffer, handle.stats
        error: GatewayError | None = None
        try:
            chunks = self._llm.stream_chat(target, body)
            if ticket is not None:  # records usage when the stream ends, however it ends
                chunks = watch_stream(ticket, chunks, stats)
            try:
                async for chunk in chunks:
                    if handle.cancel_reason is not None:
                        # task.cancel() can be swallowed by a library's wait_for (Python 3.11).
                        raise asyncio.CancelledError
                    text = stats.observe(chunk.data)
                    if text:
                        await buffer.append("delta", {"text": text})
            finally:
                await close_iterator(chunks, quiet=False)
        except asyncio.CancelledError:
            await self._finish(handle, "cancelled", None)
            raise
        except GatewayError as exc:
            error = exc
        except Exception:
            log.exception("chat stream %s failed", handle.id)
            error = GatewayError("internal error while generating")
        await self._finish(handle, "error" if error else "complete", error)

    async def _finish(self, handle: StreamHandle, status: str, error: GatewayError | None) -> None:
        if handle.buffer.closed:
            return
        payload = handle.stats.done_payload()
        if status == "cancelled":
            payload["finish_reason"] = "cancelled"
            payload["cancel_reason"] = handle.cancel_reason or "stopped"
        payload["context"] = handle.context
        meta = handle.buffer.meta
        details = {
            **payload["stats"],
            "finish_reason": payload["finish_reason"],
            "usage_estimated": payload["usage_estimated"],
            "context": handle.context,
        }
        if handle.cancel_reason:
            details["cancel_reason"] = handle.cancel_reason
        message_id = await conversations.store_answer(
            self._sessions,
            meta.conversation_id,
            handle.stats.text,
            status=status,
            model=payload["model"] or meta.model,
            usage=payload["usage"],
            stats=details,
            error=error.to_dict() if error else None,
        )
        if error is not None:
            await handle.buffer.append("error", error.to_dict())
        else:
            payload.update(message_id=message_id, conversation_id=meta.conversation_id)
            await handle.buffer.append("done", payload)
        handle.status = status
        await handle.buffer.close(self.keep)

    # ---- cancelling -----------------------------------------------------------------------

    def _cancel(self, handle: StreamHandle, reason: str) -> None:
        task = handle.task
        if task is None or task.done() or handle.cancel_reason is not None:
            return
        handle.cancel_reason = reason
        task.cancel()

    async def _settle(self, handle: StreamHandle) -> None:
        """Wait for the generation to end; finish it here if it was cancelled before it ran."""
        task = handle.task
        if task is not None and not task.done():
            loop = asyncio.get_running_loop()
            deadline = loop.time() + STOP_WAIT_SECONDS
            while not task.done() and loop.time() < deadline:
                await asyncio.wait({task}, timeout=0.25)
                if not task.done() and handle.cancel_reason is not None:
                    # A client library (redis-py's connection handling, for one) can swallow
                    # a cancellation; asking again ends the generation instead of waiting.
                    task.cancel()
        if task is not None and task.done():
            await self._finish(handle, "cancelled", None)

    async def stop(self, handle: StreamHandle) -> None:
        """The stop button: cancel now and wait until the partial answer is stored."""
        if handle.remote:
            await self._stop_remote(handle)
            return
        self._cancel(handle, "stopped")
        await self._settle(handle)

    def cancel_local(self, stream_id: str, reason: str) -> bool:
        """Cancel a generation this replica runs (asked by another replica)."""
        handle = self._streams.get(stream_id)
        if handle is None:
            return False
        self._cancel(handle, reason)
        return True

    async def _stop_remote(self, handle: StreamHandle) -> None:
        """Ask the owning replica to cancel, then wait for the final event to be stored."""
        buffer = handle.buffer
        if not buffer.closed and self._remote is not None:
            await self._remote.cancel(handle.id, "stopped")

            async def drained() -> None:
                async for _ in buffer.read_after(buffer.last_id):
                    pass

            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(drained(), STOP_WAIT_SECONDS)
        await buffer.sync()
        handle.status = getattr(buffer, "status", lambda: handle.status)()

    async def _sweep(self) -> None:
        interval = min(1.0, max(0.05, self.grace / 5))
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for stream_id, handle in list(self._streams.items()):
                try:
                    if not handle.buffer.closed:
                        await handle.buffer.sync()  # readers on other replicas count too
                    await self._check(stream_id, handle, now)
                except Exception:
                    log.exception("chat stream %s: sweeping failed", stream_id)
                    self._streams.pop(stream_id, None)

    async def _check(self, stream_id: str, handle: StreamHandle, now: float) -> None:
        buffer = handle.buffer
        if buffer.closed:
            if buffer.expired(now):
                del self._streams[stream_id]
        elif handle.task is not None and handle.task.done():
            await self._finish(handle, "cancelled", None)  # cancelled before it ever ran
        elif buffer.subscribers == 0 and buffer.idle_seconds(now) >= self.grace:
            log.info("chat stream %s abandoned: no client for %.1fs", stream_id, self.grace)
            self._cancel(handle, "abandoned")


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("chat stream task crashed", exc_info=task.exception())
