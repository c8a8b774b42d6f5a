"""A conversation as a JSON file (`ConversationFile`): export every branch, import one.

An import creates a new conversation owned by the importing user, with new ids (the file's
ids only link its messages to each other), so a file can be imported twice or by anyone.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.db.models import Conversation, Message, new_id, utcnow
from bigshot_llm.schemas.conversations import (
    EXPORT_FORMAT,
    ConversationFile,
    ConversationSettings,
    ExportedConversation,
    ExportedMessage,
)
from bigshot_llm.services.chat import branches

# The fields of a message that are the same in a file and in the database (ids, parents,
# parts, tool calls and times are mapped on import).
_AS_STORED = (
    "role",
    "content",
    "reasoning",
    "tool_call_id",
    "status",
    "model",
    "usage",
    "stats",
    "error",
)


async def export(session: AsyncSession, conv: Conversation) -> ConversationFile:
    tree = await branches.tree(session, conv.id)
    messages = [
        ExportedMessage.model_validate(
            {
                **{name: getattr(m, name) for name in _AS_STORED},
                "id": m.id,
                "parent_id": m.parent_id if m.parent_id in tree.by_id else None,
                "parts": m.parts,
                "tool_calls": m.tool_calls,
                "created_at": m.created_at,
            }
        )
        for m in tree.by_id.values()
    ]
    return ConversationFile(
        format=EXPORT_FORMAT,
        version=2,
        exported_at=utcnow(),
        conversation=ExportedConversation(
            id=conv.id,
            title=conv.title,
            provider=conv.provider,
            model=conv.model,
            settings=ConversationSettings.model_validate(conv.settings or {}),
            created_at=conv.created_at,
            updated_at=conv.updated_at,
        ),
        messages=messages,
        head_message_id=conv.head_message_id,
    )


async def import_file(session: AsyncSession, owner_id: str, file: ConversationFile) -> Conversation:
    """Store the file as a new conversation of `owner_id` (already validated: a tree)."""
    now = utcnow()
    meta = file.conversation
    conv = Conversation(
        owner_id=owner_id,
        title=meta.title or "Imported chat",
        provider=meta.provider,
        model=meta.model,
        settings=meta.settings.model_dump(exclude_none=True),
        created_at=meta.created_at or now,
        updated_at=now,
    )
    ids = {m.id: new_id() for m in file.messages}
    previous: str | None = None
    count = len(file.messages)
    for i, item in enumerate(file.messages):
        parent = item.parent_id if file.version >= 2 else previous
        # Without times the file order is the time order (a microsecond apart keeps it).
        created = item.created_at or now - timedelta(microseconds=count - i)
        session.add(
            Message(
                **{name: getattr(item, name) for name in _AS_STORED},
                id=ids[item.id],
                conversation_id=conv.id,
                parent_id=ids[parent] if parent else None,
                parts=[p.model_dump(exclude_none=True) for p in item.parts] if item.parts else None,
                tool_calls=[c.model_dump() for c in item.tool_calls] if item.tool_calls else None,
                created_at=created,
            )
        )
        previous = item.id
    head = file.head_message_id or (file.messages[-1].id if file.messages else None)
    conv.head_message_id = ids[head] if head else None
    session.add(conv)
    await session.commit()
    return conv
