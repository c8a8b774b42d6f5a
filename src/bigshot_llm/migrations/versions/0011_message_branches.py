"""message branches: each message's parent and each conversation's branch on show.

Revision 0011, after 0010 (2026-12-02). Existing conversations become one branch: every
message follows the one before it, and the last one is the head.
"""

import sqlalchemy as sa
from alembic import op

from bigshot_llm.migrations import ops

revision, down_revision, branch_labels, depends_on = "0011", "0010", None, None


def _chain_existing_messages() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT id, conversation_id FROM messages ORDER BY conversation_id, created_at, id")
    ).all()
    last: dict[str, str] = {}
    for message_id, conversation_id in rows:
        parent = last.get(conversation_id)
        if parent is not None:
            bind.execute(
                sa.text("UPDATE messages SET parent_id = :p WHERE id = :i"),
                {"p": parent, "i": message_id},
            )
        last[conversation_id] = message_id
    for conversation_id, head in last.items():
        bind.execute(
            sa.text("UPDATE conversations SET head_message_id = :h WHERE id = :c"),
            {"h": head, "c": conversation_id},
        )


def _changes() -> ops.Changes:
    yield ops.new_columns("messages", ops.name("parent_id", 32, nullable=True))
    yield ops.new_columns("conversations", ops.name("head_message_id", 32, nullable=True))
    yield ops.data(_chain_existing_messages)


upgrade, downgrade = ops.reversible(_changes)
