"""provider pools: several base URLs behind one provider config (revision 0006, 2026-11-29)."""

import sqlalchemy as sa

from bigshot_llm.migrations import ops

revision, down_revision, branch_labels, depends_on = "0006", "0005", None, None


def _changes() -> ops.Changes:
    yield ops.new_columns("provider_configs", sa.Column("pool_urls", sa.JSON(), nullable=True))


upgrade, downgrade = ops.reversible(_changes)
