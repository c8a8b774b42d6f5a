"""The benchmark report renders every figure and judges each target from the numbers given."""

from __future__ import annotations

from pathlib import Path

from benchmarks.report import plot, render


def results(native_p50: float, rps: float) -> dict:
    samples = [0.2, 0.25, 0.3]
    wrk = {
        "rps": rps,
        "p50_ms": 1.0,
        "p99_ms": 2.0,
        "errors": 0,
        "requests": 1000,
        "cpu_ms_per_request": 0.3,
    }
    stream = {
        "ttft_p50_ms": 1.0,
        "ttft_mean_ms": 1.0,
        "chunks_per_second": 9000.0,
        "errors": 0,
        "cpu_us_per_chunk": 20.0,
    }
    return {
        "when": "2026-11-26T00:00:00+00:00",
        "machine": "2 cores",
        "rss_at_rest_mb": 100.0,
        "sequential": {
            "direct": {"p50_ms": 0.2, "p99_ms": 0.4, "errors": 0, "samples": samples},
            "native": {"p50_ms": native_p50, "p99_ms": 0.9, "errors": 0, "samples": samples},
            "v1": {"p50_ms": 0.6, "p99_ms": 0.9, "errors": 0, "samples": samples},
        },
        "throughput": {
            f"{n}@{c}": dict(wrk) for n in ("direct", "native", "v1") for c in (1, 32, 128)
        },
        "streaming": {"direct": {**stream, "ttft_p50_ms": 0.5}, "native": stream, "v1": stream},
        "model_list": {"rps": 6000.0, "p50_ms": 1.0, "errors": 0, "cpu_ms_per_request": 0.1},
        "slow_streams": {
            "streams": 1000,
            "completed": 1000,
            "errors": 0,
            "peak_rss_mb": 200.0,
            "seconds": 31.0,
        },
        "peers": {
            "rps_32": rps / 20,
            "p50_32_ms": 300.0,
            "ttft_p50_ms": 20.0,
            "chunks_per_second": 900.0,
            "cpu_ms_per_request": 6.0,
            "sequential_samples": [6.0, 7.0, 9.0],
        },
    }


def test_targets_met_and_not_met(tmp_path: Path) -> None:
    good = render(results(native_p50=0.7, rps=2000))
    assert "| added p50 latency, sequential < 1 ms | 0.50 ms native, 0.40 ms /v1 | met |" in good
    assert "≥ 1 500 requests/s at 32 connections, 0 errors | 2,000/s, 0 errors | met" in good
    assert "throughput ≥ 10× LiteLLM's at 32 connections | 20.0× | met" in good
    assert "not met" not in good
    bad = render(results(native_p50=1.5, rps=900))
    assert (
        "| added p50 latency, sequential < 1 ms | 1.30 ms native, 0.40 ms /v1 | **not met** |"
        in bad
    )
    plot(results(0.7, 2000), tmp_path / "plot.png")
    assert (tmp_path / "plot.png").stat().st_size > 1000
