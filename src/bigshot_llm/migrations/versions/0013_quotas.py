"""quotas: tokens, GPU-seconds or requests per UTC day or month, per user or API key.

Revision 0013, after 0012 (2026-12-02; re-chained at merge).
"""

import sqlalchemy as sa

from bigshot_llm.migrations import ops

revision, down_revision, branch_labels, depends_on = "0013", "0012", None, None


def _changes() -> ops.Changes:
    yield ops.new_table(
        "quotas",
        ops.name("subject", 8),
        ops.name("subject_id", 32),
        ops.name("metric", 16),
        ops.name("period", 8),
        sa.Column("limit", sa.Float(), nullable=False),
        ops.when("created_at"),
        ops.when("updated_at"),
        sa.UniqueConstraint("subject", "subject_id", "metric", "period", name="uq_quota_subject"),
        indexes=(("ix_quotas_subject_id", ["subject_id"]),),
    )


upgrade, downgrade = ops.reversible(_changes)
