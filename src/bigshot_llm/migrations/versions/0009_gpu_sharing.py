"""GPU sharing: per-model load presets, a key's priority class in the GPU queues, and how a
pool spreads work (member weights, preference order).

Revision 0009, after 0008 (2026-12-02).
"""

import sqlalchemy as sa
from sqlmodel.sql.sqltypes import AutoString

from bigshot_llm.migrations.ops import (
    add_columns,
    create_table,
    drop_columns,
    drop_table,
    name,
    when,
)

revision, down_revision, branch_labels, depends_on = "0009", "0008", None, None


def upgrade() -> None:
    create_table(
        "model_presets",
        name("id", 32),
        name("scope", 32),
        name("model", 256),
        sa.Column("options", sa.JSON(), nullable=False),
        when("updated_at"),
        sa.UniqueConstraint("scope", "model", name="uq_model_preset_scope_model"),
        indexes=(("ix_model_presets_scope", ["scope"]),),
    )
    add_columns("api_keys", name("priority", 16, nullable=True))
    add_columns(
        "provider_configs",
        sa.Column("pool_weights", sa.JSON(), nullable=True),
        sa.Column("pool_order", AutoString(length=16), nullable=False, server_default="balanced"),
    )


def downgrade() -> None:
    drop_columns("provider_configs", "pool_order", "pool_weights")
    drop_columns("api_keys", "priority")
    drop_table("model_presets", "ix_model_presets_scope")
