"""reasoning, tool calls and content parts on messages; think-tag and /v1 repair settings.

Revision 0008, after 0007 (2026-12-01).
"""

import sqlalchemy as sa

from bigshot_llm.migrations import ops

revision, down_revision, branch_labels, depends_on = "0008", "0007", None, None


def _changes() -> ops.Changes:
    yield ops.new_columns(
        "messages",
        sa.Column("reasoning", sa.Text(), nullable=True),
        sa.Column("tool_calls", sa.JSON(), nullable=True),
        ops.name("tool_call_id", 128, nullable=True),
        sa.Column("parts", sa.JSON(), nullable=True),
    )
    yield ops.new_columns(
        "provider_configs",
        sa.Column("split_think_tags", sa.Boolean(), nullable=True),
        sa.Column("repair_v1", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


upgrade, downgrade = ops.reversible(_changes)
