"""usage records, webhooks and webhook deliveries (revision 0004, after 0003, 2026-11-28)."""

import sqlalchemy as sa

from bigshot_llm.migrations.ops import create_table, drop_table, name, owner, when

revision, down_revision, branch_labels, depends_on = "0004", "0003", None, None


def upgrade() -> None:
    create_table(
        "usage_records",
        sa.Column("id", sa.Integer(), nullable=False),
        when("at"),
        name("user_id", 32),
        name("key_id", 32, nullable=True),
        name("provider_id", 32, nullable=True),
        name("provider", 100, nullable=True),
        name("model", 256, nullable=True),
        name("endpoint", 100),
        sa.Column("streamed", sa.Boolean(), nullable=False),
        name("status", 64),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("estimated", sa.Boolean(), nullable=False),
        sa.Column("ttft_ms", sa.Float(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        indexes=(
            ("ix_usage_records_at", ["at"]),
            ("ix_usage_records_user_at", ["user_id", "at"]),
            ("ix_usage_records_key_at", ["key_id", "at"]),
        ),
    )
    create_table(
        "webhooks",
        name("id", 32),
        name("url", 2048),
        sa.Column("events", sa.JSON(), nullable=False),
        name("secret_encrypted", 4096),
        name("description", 200, nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("usage_threshold_tokens", sa.Integer(), nullable=True),
        name("created_by", 32, nullable=True),
        when("created_at"),
        when("updated_at"),
    )
    create_table(
        "webhook_deliveries",
        name("id", 32),
        owner("webhook_id", "webhooks"),
        name("event", 64),
        sa.Column("body", sa.Text(), nullable=False),
        name("status", 16),
        sa.Column("attempts", sa.Integer(), nullable=False),
        when("next_attempt_at", nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        name("last_error", 500, nullable=True),
        when("created_at"),
        when("delivered_at", nullable=True),
        indexes=(
            ("ix_webhook_deliveries_due", ["status", "next_attempt_at"]),
            ("ix_webhook_deliveries_webhook_created", ["webhook_id", "created_at"]),
        ),
    )


def downgrade() -> None:
    drop_table("webhook_deliveries")
    drop_table("webhooks")
    drop_table("usage_records")
