"""The gateway as `bigshot-llm serve` runs it (one worker, uvloop, httptools), plus one
read-only route for the soak test: `GET /_soak/tasks`, the number of asyncio tasks alive.

Only the soak harness starts this; the settings come from the environment as usual.
"""

from __future__ import annotations

import argparse
import asyncio

import uvicorn
from starlette.responses import JSONResponse

from bigshot_llm.cli import _prepare
from bigshot_llm.main import create_app
from bigshot_llm.settings import load_settings


async def tasks(_: object) -> JSONResponse:
    return JSONResponse({"tasks": len(asyncio.all_tasks())})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    settings = load_settings()
    asyncio.run(_prepare(settings))  # migrate and bootstrap, as `serve` does
    app = create_app(settings)
    app.router.add_route("/_soak/tasks", tasks, methods=["GET"])
    app.router.routes.insert(0, app.router.routes.pop())  # before the UI's SPA fallback
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
