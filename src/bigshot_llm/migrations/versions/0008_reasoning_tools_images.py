"""reasoning, tool calls and content parts on messages; think-tag and /v1 repair settings.

Revision 0008, after 0007 (2026-12-01).
"""

import sqlalchemy as sa

from bigshot_llm.migrations.ops import add_columns, drop_columns, name

revision, down_revision, branch_labels, depends_on = "0008", "0007", None, None


def upgrade() -> None:
    add_columns(
        "messages",
        sa.Column("reasoning", sa.Text(), nullable=True),
        sa.Column("tool_calls", sa.JSON(), nullable=True),
        name("tool_call_id", 128, nullable=True),
        sa.Column("parts", sa.JSON(), nullable=True),
    )
    add_columns(
        "provider_configs",
        sa.Column("split_think_tags", sa.Boolean(), nullable=True),
        sa.Column("repair_v1", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    drop_columns("provider_configs", "repair_v1", "split_think_tags")
    drop_columns("messages", "parts", "tool_call_id", "tool_calls", "reasoning")
