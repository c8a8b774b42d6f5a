"""provider pools: several base URLs behind one provider config.

Revision 0006, after 0005 (2026-11-29).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0006", "0005"
branch_labels = depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("provider_configs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pool_urls", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("provider_configs", schema=None) as batch_op:
        batch_op.drop_column("pool_urls")
