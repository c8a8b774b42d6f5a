"""Conversations and their messages under /api/v1/conversations; private to their owner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query
from starlette.responses import Response

from bigshot_llm.api.deps import CurrentUser, SessionDep, StreamsDep
from bigshot_llm.api.responses import dumps, ok
from bigshot_llm.api.routing import api_router
from bigshot_llm.db.models import Conversation
from bigshot_llm.errors import Conflict
from bigshot_llm.schemas.base import Deleted, Envelope, Page
from bigshot_llm.schemas.conversations import (
    ConversationCreate,
    ConversationFile,
    ConversationPublic,
    ConversationUpdate,
    MessagePublic,
    SearchHit,
)
from bigshot_llm.services.chat import branches, search, transfer
from bigshot_llm.services.chat import conversations as service
from bigshot_llm.services.chat.streams import StreamManager

router = api_router("/api/v1/conversations", tags=["conversations"])

Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
SearchQuery = Annotated[
    str, Query(min_length=1, max_length=200, pattern=r"\S", description="text to look for")
]


async def _owned(conversation_id: str, principal: CurrentUser, session: SessionDep) -> Conversation:
    """The path's conversation when it is the caller's (404 for anyone else's)."""
    return await service.get_owned(session, principal.user_id, conversation_id)


# For routes with no other input to validate: the lookup runs before FastAPI checks the rest.
Owned = Annotated[Conversation, Depends(_owned)]


@dataclass(frozen=True, slots=True)
class Editable:
    """A message of the caller's conversation, which no stream is writing to."""

    conversation: Conversation
    message_id: str


async def _editable(
    conversation_id: str,
    message_id: str,
    principal: CurrentUser,
    session: SessionDep,
    streams: StreamsDep,
) -> Editable:
    conv = await _owned(conversation_id, principal, session)
    if streams.running_for(conv.id) is not None:
        raise Conflict(
            "this conversation has a running stream: stop it or wait for it",
            code="stream_running",
        )
    return Editable(conv, message_id)


EditableMessage = Annotated[Editable, Depends(_editable)]


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


@router.get("/search", response_model=Envelope[Page[SearchHit]])
async def search_conversations(
    principal: CurrentUser,
    session: SessionDep,
    q: SearchQuery,
    limit: Limit = 20,
    offset: Offset = 0,
) -> Response:
    """Search your conversations

    Titles and message text (every version), case-insensitive; most recently active first,
    each with the first matching message."""
    return ok(
        await search.search(session, principal.user_id, q.strip(), limit=limit, offset=offset)
    )


@router.post("/import", status_code=201, response_model=Envelope[ConversationPublic])
async def import_conversation(
    body: ConversationFile, principal: CurrentUser, session: SessionDep
) -> Response:
    """Import a conversation from a JSON file (from export)

    It becomes a new conversation of yours, every branch kept."""
    conv = await transfer.import_file(session, principal.user_id, body)
    return ok(service.conversation_public(conv), status_code=201)


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
async def get_conversation(conv: Owned, streams: StreamsDep) -> Response:
    """One conversation"""
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
async def delete_conversation(conv: Owned, session: SessionDep, streams: StreamsDep) -> Response:
    """Delete it with its messages (stops its stream)"""
    running = streams.running_for(conv.id)
    if running is not None:
        await streams.stop(running)
    await service.delete(session, conv)
    return ok(Deleted(id=conv.id))


@router.get("/{conversation_id}/messages", response_model=Envelope[Page[MessagePublic]])
async def list_messages(
    conversation_id: str,
    principal: CurrentUser,
    session: SessionDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    """Its messages: the branch on show, oldest first

    Each message lists its versions (`siblings`); choose one with `.../select`."""
    conv = await service.get_owned(session, principal.user_id, conversation_id)
    return ok(await service.list_messages(session, conv, limit=limit, offset=offset))


@router.get("/{conversation_id}/export", response_model=ConversationFile)
async def export_conversation(conv: Owned, session: SessionDep) -> Response:
    """Export it as a JSON file (every branch), for import"""
    file = await transfer.export(session, conv)
    return Response(
        dumps(file),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="chat-{conv.id}.json"'},
    )


@router.post(
    "/{conversation_id}/messages/{message_id}/select", response_model=Envelope[ConversationPublic]
)
async def select_version(edit: EditableMessage, session: SessionDep) -> Response:
    """Show this version of a turn

    The conversation continues from it (its newest continuation is shown)."""
    await branches.select_version(session, edit.conversation, edit.message_id)
    return ok(service.conversation_public(edit.conversation))


@router.delete("/{conversation_id}/messages/{message_id}", response_model=Envelope[Deleted])
async def delete_message(edit: EditableMessage, session: SessionDep) -> Response:
    """Delete one message

    What followed it now follows the message before it."""
    await branches.delete_message(session, edit.conversation, edit.message_id)
    return ok(Deleted(id=edit.message_id))
