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
import functools
import logging
import secrets
import time
from collections.abc import Callable
from contextlib import aclosing
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.aio import stop_task
from bigshot_llm.db.models import ApiKey, User
from bigshot_llm.errors import Conflict, GatewayError, ServiceUnavailable
from bigshot_llm.schemas.conversations import StreamCreate
from bigshot_llm.services.access.auth import Principal
from bigshot_llm.services.chat import conversations
from bigshot_llm.services.chat.buffers.memory import MemoryStreamBuffer, StreamBuffer, StreamMeta
from bigshot_llm.services.chat.handle import RemoteStreams, StreamHandle, hash_token
from bigshot_llm.services.generation.events import Done, Failed, named_events
from bigshot_llm.services.generation.service import (
    Generation,
    GenerationRequest,
    GenerationService,
)
from bigshot_llm.services.generation.stats import StreamStats

log = logging.getLogger(__name__)

BufferFactory = Callable[[StreamMeta], StreamBuffer]
STOP_WAIT_SECONDS = 10.0


@dataclass(eq=False)
class StreamManager:
    """The chat streams of this replica: started, replayed to (re)attaching clients, stopped."""

    sessions: async_sessionmaker[AsyncSession]
    generation: GenerationService
    _: KW_ONLY
    grace: float
    keep: float
    default_context_length: int
    buffer_factory: BufferFactory = MemoryStreamBuffer
    remote: RemoteStreams | None = None
    _streams: dict[str, StreamHandle] = field(default_factory=dict, init=False)
    _opening_conversations: set[str] = field(default_factory=set, init=False)
    _sweeper: asyncio.Task[None] | None = field(default=None, init=False)
    _closing: bool = field(default=False, init=False)

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
        self._closing = True
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
        if handle is not None or self.remote is None:
            return handle
        buffer = await self.remote.load(stream_id)
        if buffer is None:
            return None
        stats = StreamStats()
        meta = buffer.meta
        remote = StreamHandle(buffer, stats, meta.context, meta.user_message_id, remote=True)
        remote.status = buffer.status()
        return remote

    async def token_valid(self, handle: StreamHandle, token: str) -> bool:
        """The events token opens the stream only while the key that started it is live and
        its user exists: a token copied from a log dies with the key (revoked, or its user
        removed), on every replica, not only when the buffer expires."""
        if not handle.token_matches(token):
            return False
        meta = handle.buffer.meta
        if not meta.key_id:
            return False  # a stream without a known key (an older replica's): refuse
        async with self.sessions() as session:
            stmt = (
                select(ApiKey.id)
                .join(User, col(User.id) == col(ApiKey.user_id))
                .where(
                    col(ApiKey.id) == meta.key_id,
                    col(ApiKey.revoked_at).is_(None),
                    col(User.id) == meta.owner_id,
                )
            )
            return (await session.exec(stmt)).first() is not None

    def running_for(self, conversation_id: str) -> StreamHandle | None:
        for handle in self._streams.values():
            meta = handle.buffer.meta
            if meta.conversation_id == conversation_id and handle.status == "running":
                return handle
        return None

    # ---- opening --------------------------------------------------------------------------

    async def open(self, principal: Principal, req: StreamCreate) -> tuple[StreamHandle, str]:
        """Store the user's message and start generating; returns the handle and its token.

        The generation takes the caller's stream slot before anything is stored (429
        `too_many_streams` past the cap) and holds it until it ends.
        """
        async with self.sessions() as session:
            conv = None
            if req.conversation_id:
                conv = await conversations.get_owned_for_turn(
                    session, principal.user_id, req.conversation_id
                )
                self._claim_conversation(conv.id)
            try:
                plan = await conversations.plan_turn(
                    session,
                    self.generation.router,
                    principal,
                    req,
                    conv,
                    self.default_context_length,
                )
                turn = await conversations.prepare_turn(
                    session,
                    principal,
                    req,
                    conv,
                    plan,
                    admit=lambda planned: self.generation.stream(
                        GenerationRequest(
                            principal,
                            "chat",
                            planned.body,
                            endpoint="/api/v1/chat/streams",
                            model=planned.model,
                            target=planned.target,
                            prompt_estimate=planned.fit.prompt_tokens_estimate,
                            session=(
                                f"conversation:{req.conversation_id}"
                                if req.conversation_id
                                else None
                            ),
                            priority="interactive",
                        )
                    ),
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
        generation = turn.generation
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
            key_id=principal.key_id,
            continues_message_id=turn.continues,
        )
        handle = StreamHandle(
            self.buffer_factory(meta), generation.stats, turn.fit.report(), turn.user_message_id
        )
        handle.warnings = generation.warnings
        handle.continues = turn.continues
        self._streams[meta.stream_id] = handle
        handle.task = asyncio.create_task(
            self._run(handle, generation), name=f"chat-stream-{meta.stream_id}"
        )
        handle.task.add_done_callback(_report_crash)
        return handle, token

    # ---- generation -----------------------------------------------------------------------

    async def _run(self, handle: StreamHandle, generation: Generation) -> None:
        """The generation's events into the buffer (the stream buffer is this surface's
        encoder: `reasoning`, `delta` and whole `tool_call`s), then the stored answer and the
        final event."""
        buffer = handle.buffer
        error: GatewayError | None = None
        extra: dict[str, Any] = {}
        try:
            try:
                async with aclosing(named_events(aiter(generation))) as named:
                    async for name, payload, event in named:
                        if handle.cancel_reason is not None:
                            # task.cancel() can be swallowed by a library's wait_for (3.11).
                            raise asyncio.CancelledError
                        if name == "error" and isinstance(event, Failed):
                            error = event.error
                        elif name == "done" and isinstance(event, Done):
                            extra = event.extra
                        else:
                            await buffer.append(name, payload)
            finally:
                await generation.aclose()
        except asyncio.CancelledError:
            await self._finish(handle, "cancelled", None)
            raise
        except Exception:
            log.exception("chat stream %s failed", handle.id)
            error = GatewayError("internal error while generating")
        await self._finish(handle, "error" if error else "complete", error, extra)

    async def _finish(
        self,
        handle: StreamHandle,
        status: str,
        error: GatewayError | None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Store the answer and write the final event, once per stream.

        The generation itself, the stop's wait, the sweeper and shutdown may all try to end a
        stream; the first one starts the store and the others wait for that same store. It
        runs as a task of its own, so a cancellation reaching the generation while it stores
        (the stop asks again when a cancellation seems swallowed) cannot cut it short and
        have the answer stored a second time.
        """
        if handle.finishing is None:
            if handle.buffer.closed:
                return
            handle.finishing = asyncio.create_task(
                self._store_final(handle, status, error, extra),
                name=f"chat-stream-{handle.id}-finish",
            )
        await asyncio.shield(handle.finishing)

    async def _store_final(
        self,
        handle: StreamHandle,
        status: str,
        error: GatewayError | None,
        extra: dict[str, Any] | None,
    ) -> None:
        stats = handle.stats
        payload = stats.done_payload()
        if status == "cancelled":
            payload["finish_reason"] = "cancelled"
            payload["cancel_reason"] = handle.cancel_reason or "stopped"
        payload.update(extra or {})
        payload["context"] = handle.context
        meta = handle.buffer.meta
        details = {
            **payload["stats"],
            "finish_reason": payload["finish_reason"],
            "usage_estimated": payload["usage_estimated"],
            "reasoning_tokens": payload["reasoning_tokens"],
            "context": handle.context,
        }
        for key in ("parsed", "parse_error", "served_by"):
            if key in payload:
                details[key] = payload[key]
        if handle.cancel_reason:
            details["cancel_reason"] = handle.cancel_reason
        store = (
            functools.partial(conversations.extend_answer, self.sessions, handle.continues)
            if handle.continues
            else functools.partial(
                conversations.store_answer,
                self.sessions,
                meta.conversation_id,
                parent_id=handle.user_message_id,
            )
        )
        try:
            message_id = await store(
                stats.text,
                status=status,
                model=payload["model"] or meta.model,
                usage=payload["usage"],
                stats=details,
                error=error.to_dict() if error else None,
                reasoning=stats.reasoning,
                tool_calls=[c.openai() for c in stats.tool_calls],
            )
        except Exception:
            # The stream still ends, and says what was lost: readers must not wait forever
            # (on every replica) for a final event a failed write would never bring.
            log.exception("chat stream %s: storing the answer failed", handle.id)
            status = "error"
            error = ServiceUnavailable(
                "the answer was generated but could not be stored (the database failed); "
                "the text above is all there is: send the message again to keep it",
                code="answer_not_stored",
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
                if (
                    not task.done()
                    and handle.cancel_reason is not None
                    and handle.finishing is None  # storing its answer: not swallowed
                ):
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
        if not buffer.closed and self.remote is not None:
            await self.remote.cancel(handle.id, "stopped")

            async def drained() -> None:
                async for _ in buffer.read_after(buffer.last_id):
                    pass

            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(drained(), STOP_WAIT_SECONDS)
        await buffer.sync()
        handle.status = getattr(buffer, "status", lambda: handle.status)()

    async def _sweep(self) -> None:
        interval = min(1.0, max(0.05, self.grace / 5))
        while not self._closing:  # a cancellation a client library swallowed must end it too
            await asyncio.sleep(interval)
            now = time.monotonic()
            for stream_id, handle in list(self._streams.items()):
                if not handle.buffer.closed:
                    await self._sync(stream_id, handle)
                try:
                    await self._check(stream_id, handle, now)
                except Exception:
                    log.exception("chat stream %s: sweeping failed", stream_id)
                    if handle.buffer.closed:  # a running one stays, to be stopped or finished
                        self._streams.pop(stream_id, None)

    @staticmethod
    async def _sync(stream_id: str, handle: StreamHandle) -> None:
        """Sync with the shared store (readers on other replicas count too). A failure (a
        Redis blip) leaves the stream as last known: the next sweep tries again."""
        try:
            await handle.buffer.sync()
        except Exception as exc:  # noqa: BLE001 - any store failure: try again next sweep
            log.warning("chat stream %s: could not sync with the shared store: %r", stream_id, exc)

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
