"""Fallbacks: the providers or models a provider hands a request to when it fails before
the first byte.

Revision 0016, after 0011 (2026-12-02).
"""

import sqlalchemy as sa

from bigshot_llm.migrations.ops import add_columns, drop_columns

revision, down_revision, branch_labels, depends_on = "0016", "0015", None, None


def upgrade() -> None:
    add_columns("provider_configs", sa.Column("fallbacks", sa.JSON(), nullable=True))


def downgrade() -> None:
    drop_columns("provider_configs", "fallbacks")
