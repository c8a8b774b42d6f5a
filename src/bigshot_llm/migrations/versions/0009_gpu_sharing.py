"""GPU sharing: per-model load presets, a key's priority class in the GPU queues, and how a
pool spreads work (member weights, preference order).

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
        "model_presets",
        sa.Column("id", AutoString(length=32), nullable=False),
        sa.Column("scope", AutoString(length=32), nullable=False),
        sa.Column("model", AutoString(length=256), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope", "model", name="uq_model_preset_scope_model"),
    )
    op.create_index("ix_model_presets_scope", "model_presets", ["scope"])
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", AutoString(length=16), nullable=True))
    with op.batch_alter_table("provider_configs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pool_weights", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "pool_order", AutoString(length=16), nullable=False, server_default="balanced"
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("provider_configs", schema=None) as batch_op:
        batch_op.drop_column("pool_order")
        batch_op.drop_column("pool_weights")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("priority")
    op.drop_index("ix_model_presets_scope", table_name="model_presets")
    op.drop_table("model_presets")
