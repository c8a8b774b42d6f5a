"""per-user rate limit and concurrent-stream cap (a key's own limit may only lower them).

Revision 0007, after 0006 (2026-12-02).
"""

import sqlalchemy as sa

from bigshot_llm.migrations.ops import add_columns, drop_columns

revision, down_revision, branch_labels, depends_on = "0007", "0006", None, None


def upgrade() -> None:
    add_columns(
        "users",
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=True),
        sa.Column("max_streams", sa.Integer(), nullable=True),
    )


def downgrade() -> None:
    drop_columns("users", "max_streams", "rate_limit_per_minute")
