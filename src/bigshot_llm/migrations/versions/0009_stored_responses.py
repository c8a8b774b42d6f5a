"""stored Responses API answers (`store`, `previous_response_id`).

Revision 0009, after 0008 (2026-12-02).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision, down_revision = "0009", "0008"
branch_labels = depends_on = None


def upgrade() -> None:
    op.create_table(
        "stored_responses",
        sa.Column("id", AutoString(length=64), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("model", AutoString(length=400), nullable=True),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("stored_responses", schema=None) as batch_op:
        batch_op.create_index("ix_stored_responses_owner", ["owner_id"], unique=False)
        batch_op.create_index("ix_stored_responses_expires", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("stored_responses", schema=None) as batch_op:
        batch_op.drop_index("ix_stored_responses_expires")
        batch_op.drop_index("ix_stored_responses_owner")
    op.drop_table("stored_responses")
