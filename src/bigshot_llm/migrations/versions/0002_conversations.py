"""conversations, messages and user preferences (revision 0002, after 0001, 2026-11-27)."""

import sqlalchemy as sa

from bigshot_llm.migrations.ops import create_table, drop_table, name, owner, when

revision, down_revision, branch_labels, depends_on = "0002", "0001", None, None


def upgrade() -> None:
    create_table(
        "conversations",
        name("id", 32),
        owner("owner_id"),
        name("title", 200, nullable=True),
        name("provider", 100, nullable=True),
        name("model", 256, nullable=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        when("created_at"),
        when("updated_at"),
        indexes=(("ix_conversations_owner_updated", ["owner_id", "updated_at"]),),
    )
    create_table(
        "messages",
        name("id", 32),
        owner("conversation_id", "conversations"),
        name("role", 16),
        sa.Column("content", sa.Text(), nullable=False),
        name("status", 16),
        name("model", 256, nullable=True),
        *(sa.Column(field, sa.JSON(), nullable=True) for field in ("usage", "stats", "error")),
        when("created_at"),
        indexes=(("ix_messages_conversation_created", ["conversation_id", "created_at"]),),
    )
    create_table(
        "user_preferences",
        owner("user_id"),
        sa.Column("data", sa.JSON(), nullable=False),
        when("updated_at"),
        primary_key="user_id",
    )


def downgrade() -> None:
    drop_table("user_preferences")
    drop_table("messages", "ix_messages_conversation_created")
    drop_table("conversations", "ix_conversations_owner_updated")
