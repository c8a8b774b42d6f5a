"""The benchmark report renders every figure and judges each target from the numbers given."""

from __future__ import annotations

from pathlib import Path

from benchmarks.report import plot, render
from benchmarks.run import _error_code


def results(native_p50: float, rps: float, responses_cpu: float = 0.35) -> dict:
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
        "streaming": {
            "direct": {**stream, "ttft_p50_ms": 0.7},
            "native": stream,
            "v1": {**stream, "streams_per_second": 150.0},
        },
        "model_list": {"rps": 6000.0, "p50_ms": 1.0, "errors": 0, "cpu_ms_per_request": 0.1},
        "slow_streams": {
            "streams": 1000,
            "completed": 1000,
            "errors": 0,
            "peak_rss_mb": 240.0,
            "seconds": 31.0,
        },
        "surfaces": {
            "chat": dict(wrk),
            "messages": {**wrk, "cpu_ms_per_request": 0.33},
            "responses": {**wrk, "cpu_ms_per_request": responses_cpu},
        },
        "warning": {
            "v1@32": {**wrk, "cpu_ms_per_request": 0.25},
            "stream": {**stream, "streams_per_second": 140.0, "cpu_us_per_chunk": 15.0},
        },
        "peers": {
            "litellm": {
                "name": "LiteLLM proxy",
                "rps_32": rps / 20,
                "p50_32_ms": 300.0,
                "ttft_p50_ms": 20.0,
                "chunks_per_second": 900.0,
                "streams_per_second": 14.0,
                "streams_ok": 100,
                "cpu_ms_per_request": 6.0,
                "sequential_samples": [6.0, 7.0, 9.0],
            },
            "portkey": {
                "name": "Portkey gateway",
                "rps_32": 1000.0,
                "p50_32_ms": 30.0,
                "ttft_p50_ms": float("nan"),
                "chunks_per_second": 0.0,
                "streams_per_second": 0.0,
                "streams_ok": 0,
                "cpu_ms_per_request": 0.7,
                "sequential_samples": [0.6, 0.7, 0.9],
            },
        },
    }


def test_targets_met_and_not_met(tmp_path: Path) -> None:
    good = render(results(native_p50=0.6, rps=2000))
    assert "| added p50 latency, sequential < 0.5 ms | 0.40 ms native, 0.40 ms /v1 | met |" in good
    assert "| gateway CPU per non-streaming request ≤ 0.40 ms | 0.300 ms | met |" in good
    assert "| gateway CPU per relayed chunk ≤ 25 µs | 20.0 µs | met |" in good
    assert "requests/s ≥ 15× LiteLLM's at 32 connections | 20.0× | met" in good
    assert "requests/s ≥ 1.5× Portkey's at 32 connections | 2.0× | met" in good
    assert "| streams/s ≥ 2× Portkey's | Portkey's streaming failed | n/a |" in good
    assert "Responses CPU per request within 20 % of chat completions' | 0.350 ms vs" in good
    assert "| WARNING (no access log) | 2,000 | 0.250 | 9,000 | 140 | 15.0 |" in good
    assert "streaming failed" in good.split("## Against peers")[1]
    assert "not met" not in good
    bad = render(results(native_p50=1.5, rps=900, responses_cpu=0.5))
    assert (
        "| added p50 latency, sequential < 0.5 ms | 1.30 ms native, 0.40 ms /v1 | **not met** |"
        in bad
    )
    assert "requests/s ≥ 1.5× Portkey's at 32 connections | 0.9× | **not met**" in bad
    assert (
        "Responses CPU per request within 20 % of chat completions' | 0.500 ms vs 0.300 ms"
        " | **not met**" in bad
    )
    plot(results(0.6, 2000), tmp_path / "plot.png")
    assert (tmp_path / "plot.png").stat().st_size > 1000


def test_an_older_file_with_one_peer_still_renders() -> None:
    old = results(native_p50=0.6, rps=2000)
    old["peers"] = old["peers"]["litellm"]
    del old["surfaces"], old["warning"]
    table = render(old)
    assert "requests/s ≥ 15× LiteLLM's at 32 connections | 20.0× | met" in table
    assert "Portkey" not in table


def test_failed_slow_streams_are_listed_by_how_they_ended() -> None:
    run = results(native_p50=0.6, rps=2000)
    run["slow_streams"].update(
        completed=990,
        errors=10,
        error_kinds={"HTTP 503 provider_busy": 7, "cut before [DONE]": 3},
    )
    table = render(run)
    kinds = table.split("How the failed streams ended:")[1]
    assert kinds.index("- HTTP 503 provider_busy: 7") < kinds.index("- cut before [DONE]: 3")
    assert "| 10 errors, 240 MB | **not met** |" in table
    assert "How the failed streams ended" not in render(results(native_p50=0.6, rps=2000))


def test_an_error_code_is_read_from_an_error_body_or_event() -> None:
    assert _error_code(b'{"error": {"message": "x", "code": "provider_busy"}}') == "provider_busy"
    assert _error_code(b'"error": {"code" : "upstream_timeout", "type": "t"}}\n\n') == (
        "upstream_timeout"
    )
    assert _error_code(b"Internal Server Error") == "?"
