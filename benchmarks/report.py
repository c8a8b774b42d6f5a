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


def _verdict(ok: bool | None) -> str:
    if ok is None:
        return "n/a"
    return "met" if ok else "**not met**"


def render(r: dict[str, Any]) -> str:
    seq, thr, st = r["sequential"], r["throughput"], r["streaming"]
    lines = [
        "# bigshot-llm benchmark",
        "",
        f"{r['when']} · {r['machine']} · gateway: 1 worker, uvloop, httptools, aiohttp transport;"
        " upstream: the LM Studio simulator with zero token delay (64 tokens per answer).",
        "",
        "Every figure is from the gateway at its **defaults** (JSON access log on, at INFO) unless"
        " marked **WARNING** (`BIGSHOT_LOG_LEVEL=WARNING`: no access log). CPU figures are the"
        " gateway process's CPU seconds (/proc) per request or chunk served, which a busy machine"
        " moves far less than it moves requests per second.",
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
        "| path | TTFT p50 ms | added TTFT ms | chunks/s relayed (16 streams) | streams/s | "
        "gateway CPU µs/chunk | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ("direct", "native", "v1"):
        s = st[name]
        added = s["ttft_p50_ms"] - st["direct"]["ttft_p50_ms"] if name != "direct" else None
        lines.append(
            f"| {name} | {_f(s['ttft_p50_ms'])} | {_f(added)} | "
            f"{_f(s['chunks_per_second'], 0)} | {_f(s.get('streams_per_second'), 0)} | "
            f"{_f(s.get('cpu_us_per_chunk'), 1)} | {s['errors']} |"
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
    lines += _configurations(r)
    lines += _surfaces(r)
    if "slow_streams" in r:
        s = r["slow_streams"]
        lines += [
            "",
            "## Concurrent slow streams (1 token/s)",
            "",
            f"{s['streams']} streams: {s['completed']} completed, {s['errors']} errors, "
            f"peak gateway RSS {_f(s['peak_rss_mb'], 0)} MB, {_f(s['seconds'], 1)} s.",
        ]
        kinds = s.get("error_kinds") or {}
        if kinds:
            lines += ["", "How the failed streams ended:", ""]
            lines += [f"- {kind}: {n}" for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1])]
    lines += ["", "## Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    lines += _targets(r)
    lines += _peers(r)
    lines.append("")
    lines.append("![latency percentiles](latency.png)")
    return "\n".join(lines) + "\n"


def peers_of(r: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The peers measured, by key (`litellm`, `portkey`); an older file's single LiteLLM."""
    peers = r.get("peers") or {}
    if "rps_32" in peers:
        return {"litellm": {"name": "LiteLLM proxy", **peers}}
    return dict(peers)


def _streams_ok(p: dict[str, Any]) -> bool:
    return p.get("streams_ok", 1) > 0


def _configurations(r: dict[str, Any]) -> list[str]:
    if "warning" not in r:
        return []
    w, thr, st = r["warning"], r["throughput"], r["streaming"]
    return [
        "",
        "## Defaults beside WARNING (/v1, 32 connections; 16 concurrent streams)",
        "",
        "| configuration | requests/s | CPU ms/request | chunks/s | streams/s | CPU µs/chunk |",
        "|---|---|---|---|---|---|",
        f"| defaults (access log on) | {_f(thr['v1@32']['rps'], 0)} | "
        f"{_f(thr['v1@32'].get('cpu_ms_per_request'), 3)} | "
        f"{_f(st['v1']['chunks_per_second'], 0)} | {_f(st['v1'].get('streams_per_second'), 0)} | "
        f"{_f(st['v1'].get('cpu_us_per_chunk'), 1)} |",
        f"| WARNING (no access log) | {_f(w['v1@32']['rps'], 0)} | "
        f"{_f(w['v1@32']['cpu_ms_per_request'], 3)} | {_f(w['stream']['chunks_per_second'], 0)} | "
        f"{_f(w['stream'].get('streams_per_second'), 0)} | "
        f"{_f(w['stream']['cpu_us_per_chunk'], 1)} |",
    ]


def _surfaces(r: dict[str, Any]) -> list[str]:
    if "surfaces" not in r:
        return []
    lines = [
        "",
        "## Surfaces (defaults, non-streaming, 32 connections)",
        "",
        "| surface | requests/s | CPU ms/request | vs chat completions | errors |",
        "|---|---|---|---|---|",
    ]
    chat = r["surfaces"]["chat"]["cpu_ms_per_request"]
    for name, label in (
        ("chat", "/v1/chat/completions"),
        ("messages", "/v1/messages (Anthropic)"),
        ("responses", "/v1/responses"),
    ):
        s = r["surfaces"][name]
        lines.append(
            f"| {label} | {_f(s['rps'], 0)} | {_f(s['cpu_ms_per_request'], 3)} | "
            f"{_f(_ratio(s['cpu_ms_per_request'], chat), 2)}× | {s['errors']} |"
        )
    return lines


def _peers(r: dict[str, Any]) -> list[str]:
    peers = peers_of(r)
    if not peers:
        return []
    thr, st = r["throughput"], r["streaming"]
    names = [p.get("name", key) for key, p in peers.items()]
    lines = [
        "",
        "## Against peers (same machine, same upstream, 1 worker each; bigshot-llm at defaults)",
        "",
        "| scenario | bigshot-llm | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
    ]

    def row(label: str, ours: float | None, key: str, digits: int = 2, ratio: bool = False) -> str:
        cells = []
        for p in peers.values():
            theirs = p.get(key)
            streaming = key in ("ttft_p50_ms", "chunks_per_second", "streams_per_second")
            if streaming and not _streams_ok(p):
                cells.append("streaming failed")
                continue
            cell = _f(theirs, digits)
            if ratio and ours is not None and theirs:
                cell += f" (ours {_f(ours / theirs, 1)}×)"
            cells.append(cell)
        return f"| {label} | {_f(ours, digits)} | " + " | ".join(cells) + " |"

    lines.append(row("requests/s at 32 connections (/v1)", thr["v1@32"]["rps"], "rps_32", 0, True))
    lines.append(row("p50 ms at 32 connections", thr["v1@32"]["p50_ms"], "p50_32_ms"))
    lines.append(
        row("CPU ms/request", thr["v1@32"].get("cpu_ms_per_request"), "cpu_ms_per_request", 3)
    )
    lines.append(row("TTFT p50 ms", st["v1"]["ttft_p50_ms"], "ttft_p50_ms"))
    lines.append(
        row("chunks/s relayed", st["v1"]["chunks_per_second"], "chunks_per_second", 0, True)
    )
    lines.append(
        row(
            "streams/s (16 at a time)",
            st["v1"].get("streams_per_second"),
            "streams_per_second",
            0,
            True,
        )
    )
    return lines


def _targets(r: dict[str, Any]) -> list[str]:
    seq, thr, st = r["sequential"], r["throughput"], r["streaming"]
    added = seq["native"]["p50_ms"] - seq["direct"]["p50_ms"]
    added_v1 = seq["v1"]["p50_ms"] - seq["direct"]["p50_ms"]
    ttft = st["native"]["ttft_p50_ms"] - st["direct"]["ttft_p50_ms"]
    cpu = thr["native@32"].get("cpu_ms_per_request", float("nan"))
    chunk = st["native"].get("cpu_us_per_chunk", float("nan"))
    rps = thr["v1@32"]["rps"]
    errors = thr["native@32"]["errors"] + thr["v1@32"]["errors"]
    rows: list[tuple[str, str, bool | None]] = [
        (
            "added p50 latency, sequential < 0.5 ms",
            f"{_f(added)} ms native, {_f(added_v1)} ms /v1",
            max(added, added_v1) < 0.5,
        ),
        ("added TTFT p50 < 0.5 ms", f"{_f(ttft)} ms", ttft < 0.5),
        ("gateway CPU per non-streaming request ≤ 0.40 ms", f"{_f(cpu, 3)} ms", cpu <= 0.40),
        ("gateway CPU per relayed chunk ≤ 25 µs", f"{_f(chunk, 1)} µs", chunk <= 25),
        (
            "32 connections: 0 errors",
            f"{_f(rps, 0)}/s, {errors} errors",
            errors == 0,
        ),
        (
            "cached model list ≥ 5 000 requests/s",
            f"{_f(r['model_list']['rps'], 0)}/s",
            r["model_list"]["rps"] >= 5000,
        ),
    ]
    if "surfaces" in r:
        chat = r["surfaces"]["chat"]["cpu_ms_per_request"]
        for name, label in (("messages", "Anthropic Messages"), ("responses", "Responses")):
            theirs = r["surfaces"][name]["cpu_ms_per_request"]
            rows.append(
                (
                    f"{label} CPU per request within 20 % of chat completions'",
                    f"{_f(theirs, 3)} ms vs {_f(chat, 3)} ms",
                    theirs <= 1.2 * chat,
                )
            )
    if "slow_streams" in r:
        s = r["slow_streams"]
        rows.append(
            (
                "1 000 concurrent slow streams at the default limits: 0 errors, peak RSS < 250 MB",
                f"{s['errors']} errors, {_f(s['peak_rss_mb'], 0)} MB",
                s["errors"] == 0 and s["peak_rss_mb"] < 250,
            )
        )
    peers = peers_of(r)
    if peers.get("litellm", {}).get("rps_32"):
        ratio = rps / peers["litellm"]["rps_32"]
        rows.append(
            ("requests/s ≥ 15× LiteLLM's at 32 connections", f"{_f(ratio, 1)}×", ratio >= 15)
        )
    portkey = peers.get("portkey", {})
    if portkey.get("rps_32"):
        ratio = rps / portkey["rps_32"]
        rows.append(
            ("requests/s ≥ 1.5× Portkey's at 32 connections", f"{_f(ratio, 1)}×", ratio >= 1.5)
        )
        if _streams_ok(portkey) and portkey.get("streams_per_second"):
            ratio = (st["v1"].get("streams_per_second") or 0) / portkey["streams_per_second"]
            rows.append(("streams/s ≥ 2× Portkey's", f"{_f(ratio, 1)}×", ratio >= 2))
        else:
            rows.append(("streams/s ≥ 2× Portkey's", "Portkey's streaming failed", None))
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
    for peer in peers_of(r).values():
        if peer.get("sequential_samples"):
            samples = peer["sequential_samples"]
            ax.plot(qs, [percentile(samples, q) for q in qs], marker="o", label=peer["name"])
    ax.set_xlabel("percentile")
    ax.set_ylabel("latency, ms (sequential non-streaming chat)")
    ax.set_title("Latency added by the gateway")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
