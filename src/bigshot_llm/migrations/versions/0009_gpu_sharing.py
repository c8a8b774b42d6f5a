"""GPU sharing: per-model load presets, a key's priority class in the GPU queues, and how a
pool spreads work (member weights, preference order).

Revision 0009, after 0008 (2026-12-02).
"""

import sqlalchemy as sa
from sqlmodel.sql.sqltypes import AutoString

from bigshot_llm.migrations import ops

revision, down_revision, branch_labels, depends_on = "0009", "0008", None, None


def _changes() -> ops.Changes:
    yield ops.new_table(
        "model_presets",
        ops.name("scope", 32),
        ops.name("model", 256),
        sa.Column("options", sa.JSON(), nullable=False),
        ops.when("updated_at"),
        sa.UniqueConstraint("scope", "model", name="uq_model_preset_scope_model"),
        indexes=(("ix_model_presets_scope", ["scope"]),),
    )
    yield ops.new_columns("api_keys", ops.name("priority", 16, nullable=True))
    yield ops.new_columns(
        "provider_configs",
        sa.Column("pool_weights", sa.JSON(), nullable=True),
        sa.Column("pool_order", AutoString(length=16), nullable=False, server_default="balanced"),
    )


upgrade, downgrade = ops.reversible(_changes)
