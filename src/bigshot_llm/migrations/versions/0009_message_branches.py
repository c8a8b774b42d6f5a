"""message branches: each message's parent and each conversation's branch on show.

Revision 0009, after 0008 (2026-12-02). Existing conversations become one branch: every
message follows the one before it, and the last one is the head.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision, down_revision = "0009", "0008"
branch_labels = depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", AutoString(length=32), nullable=True))
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("head_message_id", AutoString(length=32), nullable=True))
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


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("head_message_id")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("parent_id")
