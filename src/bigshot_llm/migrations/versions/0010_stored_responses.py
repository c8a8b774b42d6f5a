"""stored Responses API answers (`store`, `previous_response_id`).

Revision 0010, after 0009 (2026-12-02).
"""

import sqlalchemy as sa

from bigshot_llm.migrations import ops

revision, down_revision, branch_labels, depends_on = "0010", "0009", None, None


def _changes() -> ops.Changes:
    yield ops.new_table(
        "stored_responses",
        ops.owner("owner_id"),
        ops.name("model", 400, nullable=True),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        ops.when("created_at"),
        ops.when("expires_at"),
        key=ops.name("id", 64),
        indexes=(
            ("ix_stored_responses_owner", ["owner_id"]),
            ("ix_stored_responses_expires", ["expires_at"]),
        ),
    )


upgrade, downgrade = ops.reversible(_changes)
