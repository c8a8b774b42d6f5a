"""Render benchmark results as a Markdown table (with the targets) and a latency plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _f(value: float | None, digits: int = 2) -> str:
    if value is None or value != value:  # NaN
        return "–"
    return f"{value:,.{digits}f}"


def _ratio(ours: float, theirs: float) -> float | None:
    return ours / theirs if theirs else None


def _verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def render(r: dict[str, Any]) -> str:
    seq, thr, st = r["sequential"], r["throughput"], r["streaming"]
    lines = [
        "# bigshot-llm benchmark",
        "",
        f"{r['when']} · {r['machine']} · gateway: 1 worker, uvloop, httptools, aiohttp transport;"
        " upstream: the LM Studio simulator with zero token delay (64 tokens per answer).",
        "",
        "## Sequential non-streaming chat (one keep-alive connection)",
        "",
        "| path | p50 ms | p99 ms | added p50 ms | added p99 ms |",
        "|---|---|---|---|---|",
    ]
    direct = seq["direct"]
    for name in ("direct", "native", "v1"):
        s = seq[name]
        added50 = s["p50_ms"] - direct["p50_ms"] if name != "direct" else None
        added99 = s["p99_ms"] - direct["p99_ms"] if name != "direct" else None
        lines.append(
            f"| {name} | {_f(s['p50_ms'])} | {_f(s['p99_ms'])} | {_f(added50)} | {_f(added99)} |"
        )
    lines += [
        "",
        "## Non-streaming chat under load (wrk)",
        "",
        "| path | connections | requests/s | p50 ms | p99 ms | errors | gateway CPU ms/request |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, t in thr.items():
        name, conns = key.split("@")
        lines.append(
            f"| {name} | {conns} | {_f(t['rps'], 0)} | {_f(t['p50_ms'])} | "
            f"{_f(t['p99_ms'])} | {t['errors']} | {_f(t.get('cpu_ms_per_request'), 3)} |"
        )
    lines += [
        "",
        "## Streaming chat (64 tokens)",
        "",
        "| path | TTFT p50 ms | added TTFT ms | chunks/s relayed (16 streams) | "
        "gateway CPU µs/chunk | errors |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("direct", "native", "v1"):
        s = st[name]
        added = s["ttft_p50_ms"] - st["direct"]["ttft_p50_ms"] if name != "direct" else None
        lines.append(
            f"| {name} | {_f(s['ttft_p50_ms'])} | {_f(added)} | "
            f"{_f(s['chunks_per_second'], 0)} | {_f(s.get('cpu_us_per_chunk'), 1)} | "
            f"{s['errors']} |"
        )
    ml = r["model_list"]
    lines += [
        "",
        "## Cached model list",
        "",
        f"{_f(ml['rps'], 0)} requests/s at 32 connections (p50 {_f(ml['p50_ms'])} ms, "
        f"{ml['errors']} errors, {_f(ml['cpu_ms_per_request'], 3)} ms CPU/request).",
        "",
        f"Gateway RSS at rest: {_f(r['rss_at_rest_mb'], 0)} MB.",
    ]
    if "slow_streams" in r:
        s = r["slow_streams"]
        lines += [
            "",
            "## Concurrent slow streams (1 token/s)",
            "",
            f"{s['streams']} streams: {s['completed']} completed, {s['errors']} errors, "
            f"peak gateway RSS {_f(s['peak_rss_mb'], 0)} MB, {_f(s['seconds'], 1)} s.",
        ]
    lines += ["", "## Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    lines += _targets(r)
    if "peers" in r:
        lines += [
            "",
            "## Against LiteLLM's proxy (same machine, same upstream, 1 worker)",
            "",
            "| scenario | bigshot-llm | LiteLLM | ratio |",
            "|---|---|---|---|",
        ]
        p = r["peers"]
        ours = thr["v1@32"]["rps"]
        lines.append(
            f"| requests/s at 32 connections (/v1) | {_f(ours, 0)} | "
            f"{_f(p['rps_32'], 0)} | {_f(ours / p['rps_32'] if p['rps_32'] else None, 1)}× |"
        )
        lines.append(
            f"| p50 ms at 32 connections | {_f(thr['v1@32']['p50_ms'])} | {_f(p['p50_32_ms'])} | |"
        )
        lines.append(f"| TTFT p50 ms | {_f(st['v1']['ttft_p50_ms'])} | {_f(p['ttft_p50_ms'])} | |")
        lines.append(
            f"| chunks/s relayed | {_f(st['v1']['chunks_per_second'], 0)} | "
            f"{_f(p['chunks_per_second'], 0)} | "
            f"{_f(_ratio(st['v1']['chunks_per_second'], p['chunks_per_second']), 1)}× |"
        )
        lines.append(
            f"| gateway CPU ms/request | {_f(thr['v1@32'].get('cpu_ms_per_request'), 3)} |"
            f" {_f(p.get('cpu_ms_per_request'), 3)} | |"
        )
    lines.append("")
    lines.append("![latency percentiles](latency.png)")
    return "\n".join(lines) + "\n"


def _targets(r: dict[str, Any]) -> list[str]:
    seq, thr, st = r["sequential"], r["throughput"], r["streaming"]
    added = seq["native"]["p50_ms"] - seq["direct"]["p50_ms"]
    added_v1 = seq["v1"]["p50_ms"] - seq["direct"]["p50_ms"]
    ttft = st["native"]["ttft_p50_ms"] - st["direct"]["ttft_p50_ms"]
    cpu = thr["native@32"].get("cpu_ms_per_request", float("nan"))
    chunk = st["native"].get("cpu_us_per_chunk", float("nan"))
    rps = thr["v1@32"]["rps"]
    errors = thr["native@32"]["errors"] + thr["v1@32"]["errors"]
    rows = [
        (
            "added p50 latency, sequential < 1 ms",
            f"{_f(added)} ms native, {_f(added_v1)} ms /v1",
            max(added, added_v1) < 1,
        ),
        ("added TTFT p50 < 1 ms", f"{_f(ttft)} ms", ttft < 1),
        ("gateway CPU per non-streaming request < 0.5 ms", f"{_f(cpu, 3)} ms", cpu < 0.5),
        ("gateway CPU per relayed chunk < 40 µs", f"{_f(chunk, 1)} µs", chunk < 40),
        (
            "≥ 1 500 requests/s at 32 connections, 0 errors",
            f"{_f(rps, 0)}/s, {errors} errors",
            rps >= 1500 and errors == 0,
        ),
        (
            "cached model list ≥ 5 000 requests/s",
            f"{_f(r['model_list']['rps'], 0)}/s",
            r["model_list"]["rps"] >= 5000,
        ),
    ]
    if "slow_streams" in r:
        s = r["slow_streams"]
        rows.append(
            (
                "1 000 concurrent streams: 0 errors, peak RSS < 300 MB",
                f"{s['errors']} errors, {_f(s['peak_rss_mb'], 0)} MB",
                s["errors"] == 0 and s["peak_rss_mb"] < 300,
            )
        )
    if "peers" in r and r["peers"].get("rps_32"):
        ratio = rps / r["peers"]["rps_32"]
        rows.append(
            ("throughput ≥ 10× LiteLLM's at 32 connections", f"{_f(ratio, 1)}×", ratio >= 10)
        )
    return [f"| {name} | {measured} | {_verdict(ok)} |" for name, measured, ok in rows]


def plot(r: dict[str, Any], path: Path) -> None:
    """Latency percentiles, direct vs gateway (vs LiteLLM when measured)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    from benchmarks.load import percentile

    qs = [50, 75, 90, 95, 99]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    for name, label in (
        ("direct", "direct to upstream"),
        ("native", "gateway /api/v1"),
        ("v1", "gateway /v1"),
    ):
        samples = r["sequential"][name]["samples"]
        ax.plot(qs, [percentile(samples, q) for q in qs], marker="o", label=label)
    if "peers" in r and r["peers"].get("sequential_samples"):
        samples = r["peers"]["sequential_samples"]
        ax.plot(qs, [percentile(samples, q) for q in qs], marker="o", label="LiteLLM proxy")
    ax.set_xlabel("percentile")
    ax.set_ylabel("latency, ms (sequential non-streaming chat)")
    ax.set_title("Latency added by the gateway")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
