"""conversations, messages and user preferences (revision 0002, after 0001, 2026-11-27)."""

import sqlalchemy as sa

from bigshot_llm.migrations import ops

revision, down_revision, branch_labels, depends_on = "0002", "0001", None, None


def _changes() -> ops.Changes:
    yield ops.new_table(
        "conversations",
        ops.owner("owner_id"),
        ops.name("title", 200, nullable=True),
        ops.name("provider", 100, nullable=True),
        ops.name("model", 256, nullable=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        ops.when("created_at"),
        ops.when("updated_at"),
        indexes=(("ix_conversations_owner_updated", ["owner_id", "updated_at"]),),
    )
    yield ops.new_table(
        "messages",
        ops.owner("conversation_id", "conversations"),
        ops.name("role", 16),
        sa.Column("content", sa.Text(), nullable=False),
        ops.name("status", 16),
        ops.name("model", 256, nullable=True),
        *(sa.Column(field, sa.JSON(), nullable=True) for field in ("usage", "stats", "error")),
        ops.when("created_at"),
        indexes=(("ix_messages_conversation_created", ["conversation_id", "created_at"]),),
    )
    yield ops.new_table(
        "user_preferences",
        ops.owner("user_id"),
        sa.Column("data", sa.JSON(), nullable=False),
        ops.when("updated_at"),
        key="user_id",
    )


upgrade, downgrade = ops.reversible(_changes)
