"""per-key rate limit and concurrent-stream cap (revision 0003, after 0002, 2026-11-26)."""

from bigshot_llm.migrations import ops

revision, down_revision, branch_labels, depends_on = "0003", "0002", None, None


def _changes() -> ops.Changes:
    yield ops.new_columns("api_keys", *ops.stream_limits())


upgrade, downgrade = ops.reversible(_changes)
