"""``python -m bigshot_llm.sim --port 1234``: run the LM Studio simulator in the foreground."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from bigshot_llm.sim.server import LOOPBACK_HOSTS, SimServer
from bigshot_llm.sim.state import SimState


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m bigshot_llm.sim", description="LM Studio simulator"
    )
    parser.add_argument("--port", type=int, default=1234, help="0 = pick a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--token-delay", type=float, default=0.05, help="seconds per token")
    parser.add_argument("--tokens", type=int, default=20, help="tokens per answer")
    parser.add_argument("--jit-load-delay", type=float, default=0.0)
    parser.add_argument("--no-jit", action="store_true", help="disable JIT model loading")
    parser.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY'")
    parser.add_argument(
        "--parallel", type=int, default=4, help="parallel prediction slots per loaded instance"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGINT/SIGTERM."""
    args = build_parser().parse_args(argv)
    state = SimState(
        tokens=args.tokens,
        token_delay=args.token_delay,
        jit_loading=not args.no_jit,
        jit_load_delay=args.jit_load_delay,
        require_api_key=args.api_key,
        parallel=args.parallel,
    )
    remote = args.host not in LOOPBACK_HOSTS
    if remote:
        print(f"warning: serving on non-loopback host {args.host}", file=sys.stderr)
    server = SimServer(state, host=args.host, port=args.port, allow_remote=remote)
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    server.start()
    print(f"LM Studio simulator listening on {server.url}", flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
