"""Search a user's conversations: titles and message text, newest activity first.

A case-insensitive substring match (`ILIKE`, `LIKE` on SQLite, which ignores ASCII case), with
`%` and `_` in the query matched literally. Every message counts, earlier versions included,
so an answer that was regenerated away can still be found.
"""

from __future__ import annotations

from sqlalchemy import exists, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.db.models import Conversation, Message
from bigshot_llm.schemas.base import Page
from bigshot_llm.schemas.conversations import SearchHit
from bigshot_llm.services.chat.conversations import conversation_public

SNIPPET_CHARS = 160


def _pattern(query: str) -> str:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> str:
    """The text around the first match, on one line, with "…" where it was cut."""
    flat = " ".join(text.split())
    at = flat.casefold().find(query.casefold())
    if at < 0:
        return flat[:width] + ("…" if len(flat) > width else "")
    start = max(0, at - width // 3)
    end = min(len(flat), start + width)
    return ("…" if start else "") + flat[start:end] + ("…" if end < len(flat) else "")


async def search(
    session: AsyncSession, owner_id: str, query: str, *, limit: int, offset: int
) -> Page[SearchHit]:
    pattern = _pattern(query)
    matches = col(Message.content).ilike(pattern, escape="\\")
    in_messages = exists().where(col(Message.conversation_id) == col(Conversation.id), matches)
    where = [
        col(Conversation.owner_id) == owner_id,
        or_(col(Conversation.title).ilike(pattern, escape="\\"), in_messages),
    ]
    total = (await session.exec(select(func.count()).select_from(Conversation).where(*where))).one()
    stmt = (
        select(Conversation)
        .where(*where)
        .order_by(col(Conversation.updated_at).desc(), col(Conversation.id))
        .offset(offset)
        .limit(limit)
    )
    hits = []
    for conv in (await session.exec(stmt)).all():
        first = (
            await session.exec(
                select(Message)
                .where(col(Message.conversation_id) == conv.id, matches)
                .order_by(col(Message.created_at), col(Message.id))
                .limit(1)
            )
        ).first()
        hits.append(
            SearchHit(
                conversation=conversation_public(conv),
                message_id=first.id if first else None,
                role=first.role if first else None,
                snippet=snippet(first.content if first else conv.title or "", query),
            )
        )
    return Page(items=hits, total=int(total), limit=limit, offset=offset)
