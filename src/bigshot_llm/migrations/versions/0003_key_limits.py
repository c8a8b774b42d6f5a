"""per-key rate limit and concurrent-stream cap (revision 0003, after 0002, 2026-11-26)."""

import sqlalchemy as sa

from bigshot_llm.migrations.ops import add_columns, drop_columns

revision, down_revision, branch_labels, depends_on = "0003", "0002", None, None


def upgrade() -> None:
    add_columns(
        "api_keys",
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=True),
        sa.Column("max_streams", sa.Integer(), nullable=True),
    )


def downgrade() -> None:
    drop_columns("api_keys", "max_streams", "rate_limit_per_minute")
