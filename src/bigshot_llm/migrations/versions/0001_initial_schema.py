"""initial schema (revision 0001, 2026-11-26)."""

import sqlalchemy as sa

from bigshot_llm.migrations import ops

revision, down_revision, branch_labels, depends_on = "0001", None, None, None


def _changes() -> ops.Changes:
    yield ops.new_table(
        "audit_events",
        ops.when("at"),
        ops.name("actor_id", 32, nullable=True),
        ops.name("actor_name", 100, nullable=True),
        ops.name("action", 64),
        ops.name("target_type", 40),
        ops.name("target_id", 64, nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        key=sa.Column("id", sa.Integer(), nullable=False),
        indexes=(
            ("ix_audit_events_action", ["action"]),
            ("ix_audit_events_actor_id", ["actor_id"]),
            ("ix_audit_events_at", ["at"]),
            ("ix_audit_events_target_id", ["target_id"]),
        ),
    )
    yield ops.new_table(
        "users",
        ops.name("name", 100),
        ops.name("role", 16),
        ops.when("created_at"),
        indexes=(("ix_users_name", ["name"], True),),
    )
    yield ops.new_table(
        "api_keys",
        ops.name("name", 100),
        ops.name("prefix", 24),
        ops.name("key_hash", 64),
        ops.owner("user_id"),
        ops.when("created_at"),
        ops.when("last_used_at", nullable=True),
        ops.when("revoked_at", nullable=True),
        indexes=(
            ("ix_api_keys_key_hash", ["key_hash"], True),
            ("ix_api_keys_user_id", ["user_id"]),
        ),
    )
    yield ops.new_table(
        "provider_configs",
        ops.name("scope", 32),
        ops.owner("owner_id", nullable=True),
        ops.name("name", 100),
        ops.name("kind", 40),
        ops.name("base_url", 2048),
        ops.name("api_key_encrypted", 4096, nullable=True),
        ops.name("default_model", 256, nullable=True),
        *(
            sa.Column(f"{timeout}_timeout", sa.Float(), nullable=False)
            for timeout in ("connect", "list", "read", "stream_idle")
        ),
        sa.Column("max_connections", sa.Integer(), nullable=False),
        sa.Column("max_keepalive_connections", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        ops.when("created_at"),
        ops.when("updated_at"),
        sa.UniqueConstraint("scope", "name", name="uq_provider_scope_name"),
        indexes=(("ix_provider_configs_scope", ["scope"]),),
    )
    yield ops.new_table(
        "provider_selections",
        ops.name("scope", 32),
        ops.owner("provider_id", "provider_configs"),
        ops.when("updated_at"),
        key="scope",
    )


upgrade, downgrade = ops.reversible(_changes)
