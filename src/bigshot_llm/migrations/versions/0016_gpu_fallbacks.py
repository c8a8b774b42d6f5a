"""Fallbacks: the providers or models a provider hands a request to when it fails before
the first byte.

Revision 0016, after 0011 (2026-12-02).
"""

import sqlalchemy as sa

from bigshot_llm.migrations import ops

revision, down_revision, branch_labels, depends_on = "0016", "0015", None, None


def _changes() -> ops.Changes:
    yield ops.new_columns("provider_configs", sa.Column("fallbacks", sa.JSON(), nullable=True))


upgrade, downgrade = ops.reversible(_changes)
