"""initial schema (revision 0001, 2026-11-26)."""

import sqlalchemy as sa

from bigshot_llm.migrations.ops import create_table, drop_table, name, owner, when

revision, down_revision, branch_labels, depends_on = "0001", None, None, None


def upgrade() -> None:
    create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        when("at"),
        name("actor_id", 32, nullable=True),
        name("actor_name", 100, nullable=True),
        name("action", 64),
        name("target_type", 40),
        name("target_id", 64, nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        indexes=(
            ("ix_audit_events_action", ["action"]),
            ("ix_audit_events_actor_id", ["actor_id"]),
            ("ix_audit_events_at", ["at"]),
            ("ix_audit_events_target_id", ["target_id"]),
        ),
    )
    create_table(
        "users",
        name("id", 32),
        name("name", 100),
        name("role", 16),
        when("created_at"),
        indexes=(("ix_users_name", ["name"], True),),
    )
    create_table(
        "api_keys",
        name("id", 32),
        name("name", 100),
        name("prefix", 24),
        name("key_hash", 64),
        owner("user_id"),
        when("created_at"),
        when("last_used_at", nullable=True),
        when("revoked_at", nullable=True),
        indexes=(
            ("ix_api_keys_key_hash", ["key_hash"], True),
            ("ix_api_keys_user_id", ["user_id"]),
        ),
    )
    create_table(
        "provider_configs",
        name("id", 32),
        name("scope", 32),
        owner("owner_id", nullable=True),
        name("name", 100),
        name("kind", 40),
        name("base_url", 2048),
        name("api_key_encrypted", 4096, nullable=True),
        name("default_model", 256, nullable=True),
        *(
            sa.Column(f"{timeout}_timeout", sa.Float(), nullable=False)
            for timeout in ("connect", "list", "read", "stream_idle")
        ),
        sa.Column("max_connections", sa.Integer(), nullable=False),
        sa.Column("max_keepalive_connections", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        when("created_at"),
        when("updated_at"),
        sa.UniqueConstraint("scope", "name", name="uq_provider_scope_name"),
        indexes=(("ix_provider_configs_scope", ["scope"]),),
    )
    create_table(
        "provider_selections",
        name("scope", 32),
        owner("provider_id", "provider_configs"),
        when("updated_at"),
        primary_key="scope",
    )


def downgrade() -> None:
    drop_table("provider_selections")
    drop_table("provider_configs", "ix_provider_configs_scope")
    drop_table("api_keys", "ix_api_keys_user_id", "ix_api_keys_key_hash")
    drop_table("users", "ix_users_name")
    drop_table(
        "audit_events",
        "ix_audit_events_target_id",
        "ix_audit_events_at",
        "ix_audit_events_actor_id",
        "ix_audit_events_action",
    )
