"""model aliases: names clients send (`claude-sonnet-4-5`, `default`) for a provider's model.

Revision 0014, after 0013 (2026-12-02; re-chained at merge time).
"""

import sqlalchemy as sa

from bigshot_llm.migrations.ops import create_table, drop_table, name, owner, when

revision, down_revision, branch_labels, depends_on = "0014", "0013", None, None


def upgrade() -> None:
    create_table(
        "model_aliases",
        name("id", 32),
        name("scope", 32),
        owner("owner_id", nullable=True),
        name("name", 128),
        owner("provider_id", "provider_configs"),
        name("model", 256),
        when("created_at"),
        when("updated_at"),
        sa.UniqueConstraint("scope", "name", name="uq_model_alias_scope_name"),
        indexes=(("ix_model_aliases_provider", ["provider_id"]),),
    )


def downgrade() -> None:
    drop_table("model_aliases", "ix_model_aliases_provider")
