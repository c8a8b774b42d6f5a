"""GPU accounting: GPU-seconds, queue time, energy and shadow cost on each usage record; a
provider's watts per instance and its models' shadow prices.

Revision 0012, after 0011 (2026-12-02). Records written before it count 0 GPU-seconds and no
energy or cost (nothing was measured then).
"""

import sqlalchemy as sa

from bigshot_llm.migrations import ops

revision, down_revision, branch_labels, depends_on = "0012", "0011", None, None


def _changes() -> ops.Changes:
    yield ops.new_columns(
        "usage_records",
        sa.Column("gpu_seconds", sa.Float(), nullable=False, server_default="0"),
        sa.Column("queue_ms", sa.Float(), nullable=True),
        sa.Column("energy_wh", sa.Float(), nullable=True),
        sa.Column("shadow_cost", sa.Float(), nullable=True),
    )
    yield ops.new_columns(
        "provider_configs",
        sa.Column("watts_per_instance", sa.Float(), nullable=True),
        sa.Column("model_prices", sa.JSON(), nullable=True),
    )


upgrade, downgrade = ops.reversible(_changes)
