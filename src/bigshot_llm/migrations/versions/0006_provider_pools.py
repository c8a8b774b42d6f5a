"""provider pools: several base URLs behind one provider config (revision 0006, 2026-11-29)."""

import sqlalchemy as sa

from bigshot_llm.migrations.ops import add_columns, drop_columns

revision, down_revision, branch_labels, depends_on = "0006", "0005", None, None


def upgrade() -> None:
    add_columns("provider_configs", sa.Column("pool_urls", sa.JSON(), nullable=True))


def downgrade() -> None:
    drop_columns("provider_configs", "pool_urls")
