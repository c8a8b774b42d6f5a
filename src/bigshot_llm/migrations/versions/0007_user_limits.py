"""per-user rate limit and concurrent-stream cap (a key's own limit may only lower them).

Revision 0007, after 0006 (2026-12-02).
"""

from bigshot_llm.migrations import ops

revision, down_revision, branch_labels, depends_on = "0007", "0006", None, None


def _changes() -> ops.Changes:
    yield ops.new_columns("users", *ops.stream_limits())


upgrade, downgrade = ops.reversible(_changes)
