"""model operations: exclusive loading per provider, stored model comparisons.

Revision 0005, after 0004 (2026-11-28).
"""

import sqlalchemy as sa

from bigshot_llm.migrations.ops import (
    add_columns,
    create_table,
    drop_columns,
    drop_table,
    name,
    owner,
    when,
)

revision, down_revision, branch_labels, depends_on = "0005", "0004", None, None


def upgrade() -> None:
    add_columns(
        "provider_configs",
        sa.Column("exclusive_loading", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    create_table(
        "comparisons",
        name("id", 32),
        owner("owner_id"),
        sa.Column("prompt", sa.Text(), nullable=True),
        *(
            sa.Column(field, sa.JSON(), nullable=False)
            for field in ("messages", "params", "targets", "results")
        ),
        name("status", 16),
        when("created_at"),
        indexes=(("ix_comparisons_owner_created", ["owner_id", "created_at"]),),
    )


def downgrade() -> None:
    drop_table("comparisons", "ix_comparisons_owner_created")
    drop_columns("provider_configs", "exclusive_loading")
