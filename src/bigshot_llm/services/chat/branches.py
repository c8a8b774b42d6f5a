"""The branches of a conversation: its messages form a tree through `parent_id`.

A regenerated answer or an edited question is a new child of the same parent as the message it
replaces (a sibling: another *version* of that turn). The conversation's `head_message_id` is
the last message of the branch on show; the path from the first message down to it is what the
UI shows and what the model sees. Choosing a version moves the head to the newest message under
it, so every earlier branch stays reachable.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.db.models import Conversation, Message, utcnow
from bigshot_llm.errors import NotFound


@dataclass(frozen=True, slots=True)
class Tree:
    """Every message of a conversation, by id and by parent (children oldest first)."""

    by_id: dict[str, Message]
    children: dict[str | None, list[Message]]

    @classmethod
    def of(cls, messages: Iterable[Message]) -> Tree:
        by_id: dict[str, Message] = {}
        children: dict[str | None, list[Message]] = defaultdict(list)
        for msg in messages:  # oldest first
            by_id[msg.id] = msg
        for msg in by_id.values():
            parent = msg.parent_id if msg.parent_id in by_id else None
            children[parent].append(msg)
        return cls(by_id, dict(children))

    def path_to(self, message_id: str | None) -> list[Message]:
        """The messages from the first one down to `message_id` (none for None)."""
        path: list[Message] = []
        seen: set[str] = set()
        current = self.by_id.get(message_id) if message_id else None
        while current is not None and current.id not in seen:
            seen.add(current.id)
            path.append(current)
            current = self.by_id.get(current.parent_id) if current.parent_id else None
        path.reverse()
        return path

    def siblings(self, msg: Message) -> list[str]:
        return [m.id for m in self.children.get(_parent_key(self, msg), [])]

    def newest_leaf(self, msg: Message) -> Message:
        """Down from `msg`, always to the newest child: the latest branch under it."""
        seen = {msg.id}
        while kids := self.children.get(msg.id):
            msg = kids[-1]
            if msg.id in seen:
                break
            seen.add(msg.id)
        return msg


def _parent_key(t: Tree, msg: Message) -> str | None:
    return msg.parent_id if msg.parent_id in t.by_id else None


async def tree(session: AsyncSession, conversation_id: str) -> Tree:
    stmt = (
        select(Message)
        .where(col(Message.conversation_id) == conversation_id)
        .order_by(col(Message.created_at), col(Message.id))
    )
    return Tree.of((await session.exec(stmt)).all())


def owned_message(t: Tree, conversation_id: str, message_id: str) -> Message:
    msg = t.by_id.get(message_id)
    if msg is None:
        raise NotFound(f"message '{message_id}' not found in conversation '{conversation_id}'")
    return msg


async def select_version(session: AsyncSession, conv: Conversation, message_id: str) -> None:
    """Show the branch through `message_id` (its newest continuation)."""
    t = await tree(session, conv.id)
    msg = owned_message(t, conv.id, message_id)
    conv.head_message_id = t.newest_leaf(msg).id
    conv.updated_at = utcnow()
    session.add(conv)
    await session.commit()


async def delete_message(session: AsyncSession, conv: Conversation, message_id: str) -> None:
    """Delete one message; what followed it follows its parent now (nothing else is lost)."""
    t = await tree(session, conv.id)
    msg = owned_message(t, conv.id, message_id)
    children = t.children.get(msg.id, [])
    for child in children:
        child.parent_id = msg.parent_id
        session.add(child)
    if conv.head_message_id == msg.id:
        # Show what is left nearest to it: what followed it, else another version, else
        # the message before it.
        others = [m for m in t.children.get(_parent_key(t, msg), []) if m.id != msg.id]
        nearest = children[-1] if children else (others[-1] if others else None)
        conv.head_message_id = t.newest_leaf(nearest).id if nearest else msg.parent_id
    conv.updated_at = utcnow()
    session.add(conv)
    await session.delete(msg)
    await session.commit()
