"""model aliases: names clients send (`claude-sonnet-4-5`, `default`) for a provider's model.

Revision 0014, after 0013 (2026-12-02; re-chained at merge time).
"""

import sqlalchemy as sa

from bigshot_llm.migrations import ops

revision, down_revision, branch_labels, depends_on = "0014", "0013", None, None


def _changes() -> ops.Changes:
    yield ops.new_table(
        "model_aliases",
        ops.name("scope", 32),
        ops.owner("owner_id", nullable=True),
        ops.name("name", 128),
        ops.owner("provider_id", "provider_configs"),
        ops.name("model", 256),
        ops.when("created_at"),
        ops.when("updated_at"),
        sa.UniqueConstraint("scope", "name", name="uq_model_alias_scope_name"),
        indexes=(("ix_model_aliases_provider", ["provider_id"]),),
    )


upgrade, downgrade = ops.reversible(_changes)
