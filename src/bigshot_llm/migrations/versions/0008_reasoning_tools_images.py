"""reasoning, tool calls and content parts on messages; think-tag and /v1 repair settings.

Revision 0008, after 0007 (2026-12-01).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision, down_revision = "0008", "0007"
branch_labels = depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reasoning", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("tool_calls", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("tool_call_id", AutoString(length=128), nullable=True))
        batch_op.add_column(sa.Column("parts", sa.JSON(), nullable=True))
    with op.batch_alter_table("provider_configs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("split_think_tags", sa.Boolean(), nullable=True))
        batch_op.add_column(
            sa.Column("repair_v1", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("provider_configs", schema=None) as batch_op:
        batch_op.drop_column("repair_v1")
        batch_op.drop_column("split_think_tags")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("parts")
        batch_op.drop_column("tool_call_id")
        batch_op.drop_column("tool_calls")
        batch_op.drop_column("reasoning")
