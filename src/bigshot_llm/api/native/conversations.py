"""Conversations and their messages under /api/v1/conversations; private to their owner."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from starlette.responses import Response

from bigshot_llm.api.deps import CurrentUser, SessionDep, StreamsDep
from bigshot_llm.api.responses import ok
from bigshot_llm.api.routing import api_router
from bigshot_llm.schemas.base import Deleted, Envelope, Page
from bigshot_llm.schemas.conversations import (
    ConversationCreate,
    ConversationPublic,
    ConversationUpdate,
    MessagePublic,
)
from bigshot_llm.services.chat import conversations as service
from bigshot_llm.services.chat.streams import StreamManager

router = api_router("/api/v1/conversations", tags=["conversations"])

Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


def _active(streams: StreamManager, conversation_id: str) -> str | None:
    handle = streams.running_for(conversation_id)
    return handle.id if handle else None


@router.get("", response_model=Envelope[Page[ConversationPublic]])
async def list_conversations(
    principal: CurrentUser,
    session: SessionDep,
    streams: StreamsDep,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    """Your conversations

    Most recently active first."""
    rows, total = await service.list_owned(session, principal.user_id, limit=limit, offset=offset)
    items = [service.conversation_public(c, _active(streams, c.id)) for c in rows]
    return ok(Page(items=items, total=total, limit=limit, offset=offset))


@router.post("", status_code=201, response_model=Envelope[ConversationPublic])
async def create_conversation(
    body: ConversationCreate, principal: CurrentUser, session: SessionDep
) -> Response:
    """Start an empty conversation"""
    conv = await service.create(
        session,
        principal.user_id,
        title=body.title,
        provider=body.provider,
        model=body.model,
        settings=body.settings.model_dump(exclude_none=True),
        commit=True,
    )
    return ok(service.conversation_public(conv), status_code=201)


@router.get("/{conversation_id}", response_model=Envelope[ConversationPublic])
async def get_conversation(
    conversation_id: str, principal: CurrentUser, session: SessionDep, streams: StreamsDep
) -> Response:
    """One conversation"""
    conv = await service.get_owned(session, principal.user_id, conversation_id)
    return ok(service.conversation_public(conv, _active(streams, conv.id)))


@router.patch("/{conversation_id}", response_model=Envelope[ConversationPublic])
async def update_conversation(
    conversation_id: str,
    body: ConversationUpdate,
    principal: CurrentUser,
    session: SessionDep,
    streams: StreamsDep,
) -> Response:
    """Rename it or change its provider, model or settings"""
    conv = await service.get_owned(session, principal.user_id, conversation_id)
    await service.update(session, conv, body)
    return ok(service.conversation_public(conv, _active(streams, conv.id)))


@router.delete("/{conversation_id}")
async def delete_conversation(
    conversation_id: str, principal: CurrentUser, session: SessionDep, streams: StreamsDep
) -> Response:
    """Delete it with its messages (stops its stream)"""
    conv = await service.get_owned(session, principal.user_id, conversation_id)
    running = streams.running_for(conv.id)
    if running is not None:
        await streams.stop(running)
    await service.delete(session, conv)
    return ok(Deleted(id=conversation_id))


@router.get("/{conversation_id}/messages", response_model=Envelope[Page[MessagePublic]])
async def list_messages(
    conversation_id: str,
    principal: CurrentUser,
    session: SessionDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    """Its messages, oldest first"""
    conv = await service.get_owned(session, principal.user_id, conversation_id)
    return ok(await service.list_messages(session, conv.id, limit=limit, offset=offset))
