"""The soak of `make soak` (benchmarks/soak.py), short: the same code for `SOAK_TEST_SECONDS`
(default 60). Mixed traffic on both APIs with 10 % client aborts and 5 % upstream faults; the
gateway's fds and tasks stay flat, RSS growth stays small, and every error is an injected
fault. The full-run targets (RSS ≤ 1 MB/hour, p99 drift ≤ 10 %) are `make soak`'s report."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from benchmarks.soak import Options, render, soak

SECONDS = float(os.environ.get("SOAK_TEST_SECONDS", "60"))
FLAT_SLACK = 12  # fds or tasks: in-flight requests vary from one sample to the next
RSS_GROWTH_MB = 40.0  # allocator warm-up and caches dominate a short run

pytestmark = pytest.mark.timeout(int(SECONDS) + 90)


async def test_short_soak_has_no_leaks_and_only_injected_errors(tmp_path: Path) -> None:
    assert SECONDS <= 180, "the suite's soak stays within 3 minutes"
    report = await soak(Options(seconds=SECONDS, sample_every=1.0, plot=tmp_path / "soak.png"))
    print(render(report))
    assert report["total_requests"] > 200, report
    assert report["aborted"] > 0 and report["injected_faults"] > 0, report
    assert report["unexpected_errors"] == [], report["unexpected_errors"]
    assert sum(report["errors"].values()) <= report["injected_faults"], report["errors"]
    assert report["upstream_streams_open_at_end"] == 0
    fds, tasks = report["fds"], report["tasks"]
    assert fds["last_quarter_max"] <= fds["first_quarter_max"] + FLAT_SLACK, fds
    assert tasks["last_quarter_max"] <= tasks["first_quarter_max"] + FLAT_SLACK, tasks
    assert report["rss_growth_mb"] <= RSS_GROWTH_MB, report["rss_mb"]
    assert (tmp_path / "soak.png").stat().st_size > 0
