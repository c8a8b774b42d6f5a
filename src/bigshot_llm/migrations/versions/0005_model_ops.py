"""model operations: exclusive loading per provider, stored model comparisons.

Revision 0005, after 0004 (2026-11-28).
"""

import sqlalchemy as sa

from bigshot_llm.migrations import ops

revision, down_revision, branch_labels, depends_on = "0005", "0004", None, None


def _changes() -> ops.Changes:
    yield ops.new_columns(
        "provider_configs",
        sa.Column("exclusive_loading", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    yield ops.new_table(
        "comparisons",
        ops.owner("owner_id"),
        sa.Column("prompt", sa.Text(), nullable=True),
        *(
            sa.Column(field, sa.JSON(), nullable=False)
            for field in ("messages", "params", "targets", "results")
        ),
        ops.name("status", 16),
        ops.when("created_at"),
        indexes=(("ix_comparisons_owner_created", ["owner_id", "created_at"]),),
    )


upgrade, downgrade = ops.reversible(_changes)
