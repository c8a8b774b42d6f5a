"""GPU accounting: GPU-seconds, queue time, energy and shadow cost on each usage record; a
provider's watts per instance and its models' shadow prices.

Revision 0012, after 0011 (2026-12-02). Records written before it count 0 GPU-seconds and no
energy or cost (nothing was measured then).
"""

import sqlalchemy as sa

from bigshot_llm.migrations.ops import add_columns, drop_columns

revision, down_revision, branch_labels, depends_on = "0012", "0011", None, None


def upgrade() -> None:
    add_columns(
        "usage_records",
        sa.Column("gpu_seconds", sa.Float(), nullable=False, server_default="0"),
        sa.Column("queue_ms", sa.Float(), nullable=True),
        sa.Column("energy_wh", sa.Float(), nullable=True),
        sa.Column("shadow_cost", sa.Float(), nullable=True),
    )
    add_columns(
        "provider_configs",
        sa.Column("watts_per_instance", sa.Float(), nullable=True),
        sa.Column("model_prices", sa.JSON(), nullable=True),
    )


def downgrade() -> None:
    drop_columns("provider_configs", "model_prices", "watts_per_instance")
    drop_columns("usage_records", "shadow_cost", "energy_wh", "queue_ms", "gpu_seconds")
