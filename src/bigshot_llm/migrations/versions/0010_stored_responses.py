"""stored Responses API answers (`store`, `previous_response_id`).

Revision 0010, after 0009 (2026-12-02).
"""

import sqlalchemy as sa

from bigshot_llm.migrations.ops import create_table, drop_table, name, owner, when

revision, down_revision, branch_labels, depends_on = "0010", "0009", None, None


def upgrade() -> None:
    create_table(
        "stored_responses",
        name("id", 64),
        owner("owner_id"),
        name("model", 400, nullable=True),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        when("created_at"),
        when("expires_at"),
        indexes=(
            ("ix_stored_responses_owner", ["owner_id"]),
            ("ix_stored_responses_expires", ["expires_at"]),
        ),
    )


def downgrade() -> None:
    drop_table("stored_responses", "ix_stored_responses_expires", "ix_stored_responses_owner")
