"""A wheel built from the repository ships the web UI (setup.py's build hook).

Each test copies the repository's files (what git tracks or would track: a clean checkout,
without the git-ignored built UI) and builds a wheel from the copy with pip, offline
(`--no-build-isolation --no-index`: setuptools and wheel come from the dev extras). To stay
fast, the first test copies the already built UI when there is one instead of running npm;
the npm step itself is exercised with a stand-in `npm` that writes a tiny UI.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from bigshot_llm.web.static import STATIC_DIR

ROOT = Path(__file__).resolve().parents[2]
STATIC_IN_TREE = Path("src/bigshot_llm/static")


def _setup_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bigshot_setup", ROOT / "setup.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # `setup()` only runs as __main__
    return module


def clean_checkout(target: Path) -> Path:
    """The repository's files as a fresh clone has them (ignored files left out)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git checkout to list the repository's files")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.split(b"\0")
    for raw in listed:
        if not raw:
            continue
        source = ROOT / raw.decode()
        if not source.is_file():  # deleted in the working tree
            continue
        dest = target / raw.decode()
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)
    assert not (target / STATIC_IN_TREE / "index.html").exists()
    return target


def build_wheel(
    source: Path, out: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "-v",  # the build backend's own messages (the missing-UI warning)
            "-w",
            str(out),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )


def wheel_files(out: Path) -> list[str]:
    (wheel,) = out.glob("bigshot_llm-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def env_with_path(path: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "BIGSHOT_REQUIRE_UI"}
    env["PATH"] = path
    return env


def test_a_wheel_from_a_clean_checkout_ships_the_built_ui(tmp_path: Path) -> None:
    source = clean_checkout(tmp_path / "src")
    if (STATIC_DIR / "index.html").is_file():
        # As if the hook had just run npm: the same files it would have produced.
        shutil.copytree(STATIC_DIR, source / STATIC_IN_TREE)
    elif shutil.which("npm") is None:
        pytest.skip("neither a built UI nor npm to build one")
    done = build_wheel(source, tmp_path / "out")
    assert done.returncode == 0, done.stderr[-3000:]
    names = wheel_files(tmp_path / "out")
    assert "bigshot_llm/static/index.html" in names
    scripts = [n for n in names if n.startswith("bigshot_llm/static/assets/") and n.endswith(".js")]
    assert scripts, names
    with zipfile.ZipFile(next((tmp_path / "out").glob("*.whl"))) as archive:
        index = archive.read("bigshot_llm/static/index.html").decode()
    for name in scripts:
        if Path(name).name in index:
            break
    else:
        pytest.fail(f"index.html names none of the shipped scripts: {index}")
    assert "bigshot_llm/migrations/env.py" in names or any("migrations/" in n for n in names)
    assert "bigshot_llm/sim/catalogue.json" in names  # `bigshot-llm`'s simulator needs its models


def test_the_build_runs_npm_when_the_ui_is_missing(tmp_path: Path) -> None:
    source = clean_checkout(tmp_path / "src")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "npm.log"
    static = source / STATIC_IN_TREE
    fake = bin_dir / "npm"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$PWD $*" >> "{log}"\n'
        'if [ "$1" = "run" ] && [ "$2" = "build" ]; then\n'
        f'  mkdir -p "{static}/assets"\n'
        f'  echo \'<script src="/assets/app.js"></script>\' > "{static}/index.html"\n'
        f'  echo "console.log(1)" > "{static}/assets/app.js"\n'
        "fi\n",
        encoding="utf-8",
    )
    fake.chmod(0o755)
    done = build_wheel(source, tmp_path / "out", env_with_path(f"{bin_dir}:{os.environ['PATH']}"))
    assert done.returncode == 0, done.stderr[-3000:]
    calls = log.read_text(encoding="utf-8").splitlines()
    frontend = str(source / "frontend")
    assert calls == [f"{frontend} ci --no-audit --no-fund", f"{frontend} run build"], calls
    names = wheel_files(tmp_path / "out")
    assert "bigshot_llm/static/index.html" in names
    assert "bigshot_llm/static/assets/app.js" in names


def test_without_npm_the_wheel_says_it_has_no_ui_or_fails_when_required(tmp_path: Path) -> None:
    source = clean_checkout(tmp_path / "src")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    env = env_with_path(str(empty))
    done = build_wheel(source, tmp_path / "out", env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "npm is not installed: this wheel has no UI" in done.stdout + done.stderr
    assert "bigshot_llm/static/index.html" not in wheel_files(tmp_path / "out")

    env["BIGSHOT_REQUIRE_UI"] = "1"
    failed = build_wheel(source, tmp_path / "out2", env)
    assert failed.returncode != 0
    assert "this wheel has no UI" in failed.stdout + failed.stderr


def test_the_build_plan(tmp_path: Path) -> None:
    plan = _setup_module().ui_build_plan
    index = tmp_path / "static" / "index.html"
    frontend = tmp_path / "frontend"
    assert plan(index, frontend, "/usr/bin/npm") == "skip"  # no frontend/ (an sdist without it)
    frontend.mkdir()
    (frontend / "package.json").write_text("{}", encoding="utf-8")
    assert plan(index, frontend, "/usr/bin/npm") == "build"
    assert plan(index, frontend, None) == "missing-npm"
    index.parent.mkdir()
    index.write_text("<!doctype html>", encoding="utf-8")
    assert plan(index, frontend, None) == "skip"
