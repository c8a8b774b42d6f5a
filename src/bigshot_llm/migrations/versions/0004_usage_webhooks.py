"""usage records, webhooks and webhook deliveries (revision 0004, after 0003, 2026-11-28)."""

import sqlalchemy as sa

from bigshot_llm.migrations import ops

revision, down_revision, branch_labels, depends_on = "0004", "0003", None, None


def _changes() -> ops.Changes:
    yield ops.new_table(
        "usage_records",
        ops.when("at"),
        ops.name("user_id", 32),
        ops.name("key_id", 32, nullable=True),
        ops.name("provider_id", 32, nullable=True),
        ops.name("provider", 100, nullable=True),
        ops.name("model", 256, nullable=True),
        ops.name("endpoint", 100),
        sa.Column("streamed", sa.Boolean(), nullable=False),
        ops.name("status", 64),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("estimated", sa.Boolean(), nullable=False),
        sa.Column("ttft_ms", sa.Float(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        key=sa.Column("id", sa.Integer(), nullable=False),
        indexes=(
            ("ix_usage_records_at", ["at"]),
            ("ix_usage_records_user_at", ["user_id", "at"]),
            ("ix_usage_records_key_at", ["key_id", "at"]),
        ),
    )
    yield ops.new_table(
        "webhooks",
        ops.name("url", 2048),
        sa.Column("events", sa.JSON(), nullable=False),
        ops.name("secret_encrypted", 4096),
        ops.name("description", 200, nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("usage_threshold_tokens", sa.Integer(), nullable=True),
        ops.name("created_by", 32, nullable=True),
        ops.when("created_at"),
        ops.when("updated_at"),
    )
    yield ops.new_table(
        "webhook_deliveries",
        ops.owner("webhook_id", "webhooks"),
        ops.name("event", 64),
        sa.Column("body", sa.Text(), nullable=False),
        ops.name("status", 16),
        sa.Column("attempts", sa.Integer(), nullable=False),
        ops.when("next_attempt_at", nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        ops.name("last_error", 500, nullable=True),
        ops.when("created_at"),
        ops.when("delivered_at", nullable=True),
        indexes=(
            ("ix_webhook_deliveries_due", ["status", "next_attempt_at"]),
            ("ix_webhook_deliveries_webhook_created", ["webhook_id", "created_at"]),
        ),
    )


upgrade, downgrade = ops.reversible(_changes)
