"""The SSE decoder's speed: typical token frames, and one huge line fed in small pieces.

    python -m benchmarks.sse_decoder

The second figure is the one that matters for safety: the decoder scans each byte once, so a
32 MiB line costs about as much as 32 MiB of ordinary frames (it used to be quadratic: 27 s
of CPU for 32 MiB). Results go to benchmarks/results/sse_decoder.json.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import orjson

from bigshot_llm.sse import SSEDecoder

RESULTS = Path(__file__).resolve().parent / "results"


def frames_per_second(count: int = 200_000) -> float:
    chunk = {"id": "c", "choices": [{"index": 0, "delta": {"content": "token "}}]}
    frame = b"data: " + orjson.dumps(chunk) + b"\n\n"
    decoder = SSEDecoder()
    started = time.process_time()
    for _ in range(count):
        decoder.feed(frame)
    return count / (time.process_time() - started)


def huge_line_seconds(size: int = 32 << 20, piece: int = 4096) -> float:
    decoder = SSEDecoder(max_event_bytes=None)
    data = b"x" * piece
    started = time.process_time()
    decoder.feed(b"data: ")
    for _ in range(size // piece):
        decoder.feed(data)
    assert len(decoder.feed(b"\n\n")[0].data) == size
    return time.process_time() - started


def main() -> None:
    report = {
        "token_frames_per_cpu_second": round(frames_per_second()),
        "cpu_seconds_32_mib_line_in_4_kib_pieces": round(huge_line_seconds(), 3),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sse_decoder.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
