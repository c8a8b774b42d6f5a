"""quotas: tokens, GPU-seconds or requests per UTC day or month, per user or API key.

Revision 0013, after 0012 (2026-12-02; re-chained at merge).
"""

import sqlalchemy as sa

from bigshot_llm.migrations.ops import create_table, drop_table, name, when

revision, down_revision, branch_labels, depends_on = "0013", "0012", None, None


def upgrade() -> None:
    create_table(
        "quotas",
        name("id", 32),
        name("subject", 8),
        name("subject_id", 32),
        name("metric", 16),
        name("period", 8),
        sa.Column("limit", sa.Float(), nullable=False),
        when("created_at"),
        when("updated_at"),
        sa.UniqueConstraint("subject", "subject_id", "metric", "period", name="uq_quota_subject"),
        indexes=(("ix_quotas_subject_id", ["subject_id"]),),
    )


def downgrade() -> None:
    drop_table("quotas", "ix_quotas_subject_id")
