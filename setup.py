"""Build hook: a wheel built from the repository ships the web UI.

Metadata lives in pyproject.toml; this file only adds one step to `build_py`. The UI is built
by Vite into `src/bigshot_llm/static/` (git-ignored), which `package-data` then ships. When a
build finds no `static/index.html` (a clean checkout) and npm is installed, it runs
`npm ci && npm run build` in `frontend/` first, so `pip install .` gives a gateway that serves
the UI on a machine without npm. Without npm the wheel is built without the UI and says so
(`BIGSHOT_REQUIRE_UI=1` makes that an error). Editable installs skip the step: they serve
from the source tree, where `make ui` builds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
FRONTEND = ROOT / "frontend"
INDEX = ROOT / "src" / "bigshot_llm" / "static" / "index.html"


def ui_build_plan(index: Path, frontend: Path, npm: str | None) -> str:
    """What a build should do: "skip" (built, or no frontend/), "build" or "missing-npm"."""
    if index.is_file():
        return "skip"
    if not (frontend / "package.json").is_file():
        return "skip"
    return "build" if npm else "missing-npm"


def build_ui(frontend: Path, npm: str) -> None:
    # `npm ci` only when node_modules is missing: a developer's tree keeps its own.
    if not (frontend / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=frontend, check=True)
    subprocess.run([npm, "run", "build"], cwd=frontend, check=True)


class BuildPyWithUI(build_py):
    def run(self) -> None:
        if not getattr(self, "editable_mode", False):
            npm = shutil.which("npm")
            plan = ui_build_plan(INDEX, FRONTEND, npm)
            if plan == "build" and npm:
                self.announce("building the web UI (npm ci && npm run build in frontend/)", 2)
                build_ui(FRONTEND, npm)
                # The package data list may have been computed before the UI existed.
                self.__dict__.pop("data_files", None)
            elif plan == "missing-npm":
                message = (
                    "the web UI is not built and npm is not installed: this wheel has no UI "
                    "(install Node 20+ and build again, or run `make ui` first)"
                )
                if os.environ.get("BIGSHOT_REQUIRE_UI") == "1":
                    raise SystemExit(f"bigshot-llm: {message}")
                self.warn(message)
        super().run()


if __name__ == "__main__":
    setup(cmdclass={"build_py": BuildPyWithUI})
