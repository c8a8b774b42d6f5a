"""Conversations and their messages: private to their owner, stored turn by turn.

Every lookup is scoped by owner, so another user's conversation is simply "not found" (admins
included: conversations are private). The functions take a session and flush; callers commit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from types import EllipsisType
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.db.models import Conversation, Message, utcnow
from bigshot_llm.db.pages import fetch_page
from bigshot_llm.errors import Conflict, NotFound, RequestValidationFailed
from bigshot_llm.schemas.base import Page
from bigshot_llm.schemas.conversations import (
    ConversationPublic,
    ConversationUpdate,
    MessagePublic,
    StreamCreate,
)
from bigshot_llm.services.access.auth import Principal
from bigshot_llm.services.chat import branches
from bigshot_llm.services.chat import context_window as cw
from bigshot_llm.services.chat.context_window import Turn
from bigshot_llm.services.generation.routing import Router, Target
from bigshot_llm.services.generation.service import Generation

log = logging.getLogger(__name__)

TITLE_MAX_CHARS = 60
_SPACES = re.compile(r"\s+")


def title_from(message: str, limit: int = TITLE_MAX_CHARS) -> str:
    """The message on one line, cut on a word boundary to at most `limit` characters with "…"."""
    text = _SPACES.sub(" ", message).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


def conversation_public(
    conv: Conversation, active_stream_id: str | None = None
) -> ConversationPublic:
    return ConversationPublic(
        id=conv.id,
        title=conv.title,
        provider=conv.provider,
        model=conv.model,
        settings=conv.settings or {},
        created_at=conv.created_at,
        updated_at=conv.updated_at,
        active_stream_id=active_stream_id,
        head_message_id=conv.head_message_id,
    )


def message_public(msg: Message, tree: branches.Tree | None = None) -> MessagePublic:
    public = MessagePublic.model_validate(msg, from_attributes=True)
    public.siblings = tree.siblings(msg) if tree else [msg.id]
    return public


async def create(
    session: AsyncSession,
    owner_id: str,
    *,
    title: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    settings: dict[str, Any] | None = None,
    commit: bool = False,
) -> Conversation:
    """A new conversation (flushed; committed too with `commit`)."""
    conv = Conversation(
        owner_id=owner_id, title=title, provider=provider, model=model, settings=settings or {}
    )
    session.add(conv)
    await (session.commit() if commit else session.flush())
    return conv


async def get_owned(session: AsyncSession, owner_id: str, conversation_id: str) -> Conversation:
    """The caller's conversation, or 404 (also for someone else's)."""
    conv = await session.get(Conversation, conversation_id)
    if conv is None or conv.owner_id != owner_id:
        raise NotFound(f"conversation '{conversation_id}' not found")
    return conv


async def get_owned_for_turn(
    session: AsyncSession, owner_id: str, conversation_id: str
) -> Conversation:
    """`get_owned` for a new turn: its 404 names `conversation_id`, so a client can tell a
    deleted chat (start a new one) from a missing model or provider."""
    try:
        return await get_owned(session, owner_id, conversation_id)
    except NotFound as exc:
        field = "conversation_id"
        exc.details = [{"loc": ["body", field], "field": field, "msg": "no such conversation"}]
        raise


async def list_owned(
    session: AsyncSession, owner_id: str, *, limit: int, offset: int
) -> tuple[list[Conversation], int]:
    """Newest activity first."""
    where = [col(Conversation.owner_id) == owner_id]
    order = [col(Conversation.updated_at).desc(), col(Conversation.id)]
    return await fetch_page(session, Conversation, where, order, limit=limit, offset=offset)


async def list_messages(
    session: AsyncSession, conv: Conversation, *, limit: int, offset: int
) -> Page[MessagePublic]:
    """The branch on show, oldest first, each message with its versions."""
    tree = await branches.tree(session, conv.id)
    path = tree.path_to(conv.head_message_id)
    items = [message_public(m, tree) for m in path[offset : offset + limit]]
    return Page(items=items, total=len(path), limit=limit, offset=offset)


async def update(session: AsyncSession, conv: Conversation, body: ConversationUpdate) -> None:
    """Only the fields sent change; `null` clears provider or model."""
    sent = body.model_fields_set
    for name in ("title", "provider", "model"):
        if name in sent:
            setattr(conv, name, getattr(body, name))
    if "settings" in sent:
        conv.settings = body.settings.model_dump(exclude_none=True) if body.settings else {}
    conv.updated_at = utcnow()
    session.add(conv)
    await session.commit()


async def delete(session: AsyncSession, conv: Conversation) -> None:
    await session.delete(conv)
    await session.commit()


def history(path: list[Message]) -> list[Turn]:
    """The turns a model should see of a branch: everything with content except failed
    answers."""
    turns = []
    for msg in path:
        # A cancelled answer's tool calls may be cut off: only its text counts.
        tool_calls = msg.tool_calls if msg.status == "complete" else None
        if msg.status == "error" or not (msg.content or msg.parts or tool_calls):
            continue
        tokens = None
        if msg.role == "assistant" and msg.usage and not (msg.stats or {}).get("usage_estimated"):
            reported = msg.usage.get("completion_tokens")
            tokens = reported if isinstance(reported, int) else None
        turns.append(
            Turn(msg.role, msg.content, tokens, msg.parts, tool_calls or None, msg.tool_call_id)
        )
    return turns


def answered_calls_only(turns: list[Turn]) -> list[Turn]:
    """Tool calls nobody answered (the user wrote on instead) and answers to calls that are
    not there are left out: upstream refuses either."""
    answered = {t.tool_call_id for t in turns if t.role == "tool"}
    called: set[str] = set()
    out: list[Turn] = []
    for turn in turns:
        if turn.tool_calls:
            kept = [c for c in turn.tool_calls if c.get("id") in answered]
            called.update(str(c.get("id")) for c in kept)
            if len(kept) != len(turn.tool_calls):
                if not kept and not turn.content:
                    continue
                turn = replace(turn, tool_calls=kept or None, tokens=None)
        elif turn.role == "tool" and turn.tool_call_id not in called:
            continue
        out.append(turn)
    return out


async def add_message(
    session: AsyncSession,
    conv: Conversation,
    role: str,
    content: str,
    *,
    status: str = "complete",
    model: str | None = None,
    usage: dict[str, Any] | None = None,
    stats: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    reasoning: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    tool_call_id: str | None = None,
    parts: list[dict[str, Any]] | None = None,
    parent_id: str | None | EllipsisType = ...,
) -> Message:
    """Store a turn after `parent_id` (default: the head) and make it the conversation's
    head; touch the conversation (its first user message names it)."""
    msg = Message(
        parent_id=conv.head_message_id if isinstance(parent_id, EllipsisType) else parent_id,
        conversation_id=conv.id,
        role=role,
        content=content,
        status=status,
        model=model,
        usage=usage,
        stats=stats,
        error=error,
        reasoning=reasoning or None,
        tool_calls=tool_calls or None,
        tool_call_id=tool_call_id,
        parts=parts,
    )
    if role == "user" and not conv.title:
        conv.title = title_from(content) or None
    conv.updated_at = msg.created_at = utcnow()
    conv.head_message_id = msg.id
    session.add(msg)
    session.add(conv)
    await session.flush()
    return msg


async def store_answer(
    sessions: async_sessionmaker[AsyncSession],
    conversation_id: str,
    content: str,
    *,
    parent_id: str | None,
    **fields: Any,
) -> str | None:
    """Store an assistant turn after `parent_id` in its own session; None if the conversation
    is gone (or the database failed: the generation must still end cleanly)."""
    try:
        async with sessions() as session:
            conv = await session.get(Conversation, conversation_id)
            if conv is None:  # deleted while generating
                return None
            message = await add_message(
                session, conv, "assistant", content, parent_id=parent_id, **fields
            )
            await session.commit()
            return message.id
    except Exception:
        log.exception("could not store an answer in conversation %s", conversation_id)
        return None


def _summed_usage(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The continuation's usage, its completion tokens counting the earlier part too."""
    if not after:
        return before
    usage = dict(after)
    earlier = (before or {}).get("completion_tokens")
    if isinstance(earlier, int) and isinstance(usage.get("completion_tokens"), int):
        usage["completion_tokens"] += earlier
        if isinstance(usage.get("prompt_tokens"), int):
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    return usage


async def extend_answer(
    sessions: async_sessionmaker[AsyncSession],
    message_id: str,
    content: str,
    *,
    status: str,
    usage: dict[str, Any] | None,
    stats: dict[str, Any] | None,
    reasoning: str | None = None,
    error: dict[str, Any] | None = None,
    **_: Any,
) -> str | None:
    """Append a continuation to the answer it continues (a failed one leaves it as it was)."""
    try:
        async with sessions() as session:
            msg = await session.get(Message, message_id)
            conv = await session.get(Conversation, msg.conversation_id) if msg else None
            if msg is None or conv is None:
                return None
            if status == "error" and not content:
                return msg.id
            msg.content += content
            if reasoning:
                msg.reasoning = (msg.reasoning or "") + reasoning
            msg.status = "complete" if status == "error" else status
            msg.usage = _summed_usage(msg.usage, usage)
            continued = int((msg.stats or {}).get("continued", 0)) + 1
            msg.stats = {**(stats or {}), "continued": continued}
            conv.updated_at = utcnow()
            session.add(msg)
            session.add(conv)
            await session.commit()
            return msg.id
    except Exception:
        log.exception("could not extend answer %s", message_id)
        return None


@dataclass(frozen=True, slots=True)
class PlannedTurn:
    """Where the next answer comes from and what is sent for it (nothing stored yet)."""

    target: Target
    model: str
    body: dict[str, Any]  # OpenAI-shaped chat request, without `stream`
    fit: cw.ContextFit
    base_id: str | None = None  # the message the new turn follows
    alias: str | None = None  # the alias the model was chosen by

    @property
    def remembered(self) -> str:
        """What the conversation stores as its model: the alias, else the model."""
        return self.alias or self.model


@dataclass(frozen=True, slots=True)
class PreparedTurn:
    """A user message stored (or the message answered again) and the admitted generation
    that answers it."""

    conversation_id: str
    user_message_id: str | None  # what the answer follows (None: the first message)
    target: Target
    model: str
    fit: cw.ContextFit
    generation: Generation
    continues: str | None = None  # the answer this generation goes on writing


def _field_error(field: str, reason: str) -> RequestValidationFailed:
    return RequestValidationFailed(
        f"{field}: {reason}", details=[{"loc": ["body", field], "msg": reason}]
    )


def _base_of(req: StreamCreate, conv: Conversation | None, tree: branches.Tree) -> str | None:
    """The message the new turn follows: the head, or what the named message follows."""
    if conv is None:
        return None
    for field, role in (
        ("regenerate_message_id", "assistant"),
        ("edit_message_id", "user"),
        ("continue_message_id", "assistant"),
    ):
        message_id = getattr(req, field)
        if message_id is None:
            continue
        msg = tree.by_id.get(message_id)
        if msg is None:
            raise _field_error(field, f"'{message_id}' is not a message of this conversation")
        if msg.role != role:
            raise _field_error(field, f"'{message_id}' is a {msg.role} message, not {role}")
        if field == "continue_message_id":
            finish = (msg.stats or {}).get("finish_reason")
            if msg.status == "error" or (msg.status == "complete" and finish != "length"):
                raise _field_error(
                    field, "only an answer cut at max tokens (or stopped) can be continued"
                )
            if tree.children.get(msg.id):
                raise Conflict(
                    "this answer has later messages: only the last answer of a branch can "
                    "be continued",
                    code="not_last_message",
                )
            return msg.id
        if field == "regenerate_message_id" and msg.parent_id not in tree.by_id:
            raise _field_error(field, "this answer follows no message to answer again")
        return msg.parent_id if msg.parent_id in tree.by_id else None
    return conv.head_message_id


Admit = Callable[[PlannedTurn], Awaitable[Generation]]


def _tool_turns(req: StreamCreate, past: list[Turn]) -> list[Turn]:
    """The request's tool results as turns, each answering a call of the last assistant turn."""
    if not req.tool_results:
        return []
    last = next((t for t in reversed(past) if t.role == "assistant"), None)
    open_ids = {str(c.get("id")) for c in (last.tool_calls or ())} if last else set()
    answered = set()
    for turn in reversed(past):
        if turn.role != "tool":
            break
        answered.add(turn.tool_call_id)
    turns = []
    for i, result in enumerate(req.tool_results):
        if result.tool_call_id not in open_ids - answered:
            reason = (
                f"'{result.tool_call_id}' is not a tool call of the conversation's last "
                "answer waiting for its result"
            )
            raise RequestValidationFailed(
                f"tool_results.{i}.tool_call_id: {reason}",
                details=[{"loc": ["body", "tool_results", i, "tool_call_id"], "msg": reason}],
            )
        turns.append(Turn("tool", result.content, tool_call_id=result.tool_call_id))
    return turns


def _tail_length(turns: list[Turn]) -> int:
    """The new turns that may never be dropped: from the last user message on."""
    for back, turn in enumerate(reversed(turns), start=1):
        if turn.role == "user":
            return back
    return len(turns)


async def plan_turn(
    session: AsyncSession,
    router: Router,
    principal: Principal,
    req: StreamCreate,
    conv: Conversation | None,
    default_context_length: int,
) -> PlannedTurn:
    """Pick provider and model (the request's, else the conversation's) and fit the history
    into the model's context."""
    saved = dict(conv.settings or {}) if conv else {}
    named = req.model or (conv.model if conv else None)
    route = router.route(principal, named, req.provider or (conv.provider if conv else None))
    target = route.target
    model = await router.pick_model(target, route.model)
    temperature = req.temperature if req.temperature is not None else saved.get("temperature")
    max_tokens = req.max_tokens if req.max_tokens is not None else saved.get("max_tokens")
    system = req.system if req.system is not None else saved.get("system")
    context_length = await cw.context_length_for(router, target, model, default_context_length)
    tree = await branches.tree(session, conv.id) if conv else branches.Tree.of(())
    base_id = _base_of(req, conv, tree)
    past = history(tree.path_to(base_id))
    new = _tool_turns(req, past)
    if req.message is not None:
        new.append(Turn("user", req.message_text(), parts=req.message_parts()))
    turns = answered_calls_only([*past, *new])
    # Continuing: the cut answer is sent last, as the start of the reply the model goes on
    # writing (OpenAI-compatible servers continue a trailing assistant message).
    fit = cw.fit_history(
        system,
        turns,
        context_length=context_length,
        max_tokens=max_tokens,
        keep_last=_tail_length(turns),
    )
    body: dict[str, Any] = {"model": model, "messages": fit.messages, **req.chat_options()}
    if temperature is not None:
        body["temperature"] = temperature
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    # An alias is remembered as the alias, so the conversation follows it when it changes.
    return PlannedTurn(target, model, body, fit, base_id, route.alias and named)


async def prepare_turn(
    session: AsyncSession,
    principal: Principal,
    req: StreamCreate,
    conv: Conversation | None,
    plan: PlannedTurn,
    *,
    admit: Admit,
) -> PreparedTurn:
    """Admit the generation of a planned turn (`plan_turn`), then store the user message and
    tool results (creating the conversation if needed).

    Everything that can refuse the request (no such provider or model, the context, an image
    that cannot be fetched, the stream cap) runs before anything is stored.
    """
    generation = await admit(plan)
    try:
        if conv is None:
            body = plan.body
            settings = {
                "temperature": body.get("temperature"),
                "max_tokens": body.get("max_tokens"),
                "system": req.system,
            }
            conv = await create(
                session,
                principal.user_id,
                provider=req.provider,
                model=plan.remembered,
                settings={k: v for k, v in settings.items() if v is not None},
            )
        else:
            conv.model = plan.remembered  # the conversation remembers the latest choice
            if req.provider:
                conv.provider = req.provider
        answers: str | None = plan.base_id  # regenerating: the message answered again
        if req.regenerate_message_id:
            conv.head_message_id = plan.base_id  # the new version is on show from now on
        for result in req.tool_results or ():
            stored = await add_message(
                session, conv, "tool", result.content, tool_call_id=result.tool_call_id
            )
            answers = stored.id
        if req.message is not None:
            # The parts as sent upstream: remote images are inlined by now, so later turns
            # neither fetch them again nor lose them when the URL goes away.
            sent = plan.body["messages"][-1].get("content")
            parts = sent if isinstance(sent, list) else None
            stored = await add_message(
                session, conv, "user", req.message_text(), parts=parts, parent_id=answers
            )
            answers = stored.id
        if req.continue_message_id:
            continued = await session.get(Message, req.continue_message_id)
            answers = continued.parent_id if continued else None
        session.add(conv)
        await session.commit()
    except BaseException:
        await generation.aclose()  # gives the stream slot back
        raise
    return PreparedTurn(
        conv.id,
        answers,
        plan.target,
        plan.model,
        plan.fit,
        generation,
        continues=req.continue_message_id,
    )
