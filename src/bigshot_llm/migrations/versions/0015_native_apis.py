"""native agent APIs: a provider's `native_apis` (auto | on | off).

Revision 0015, after 0014 (2026-12-02). `auto` for every existing provider: an LM
Studio that answers `/v1/messages` and `/v1/responses` gets those requests forwarded as they
are, everything else keeps the translation to chat completions.
"""

import sqlalchemy as sa
from sqlmodel.sql.sqltypes import AutoString

from bigshot_llm.migrations import ops

revision, down_revision, branch_labels, depends_on = "0015", "0014", None, None


def _changes() -> ops.Changes:
    yield ops.new_columns(
        "provider_configs",
        sa.Column("native_apis", AutoString(length=8), nullable=False, server_default="auto"),
    )


upgrade, downgrade = ops.reversible(_changes)
