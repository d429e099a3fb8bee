"""Lighthouse 12.2.3 (pinned in portal/package.json), run with the venv's Node against Debian's Chromium: the
browser suite's accessibility and best-practices checks and `make bench`'s performance figures share it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.browser.portal import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[1]
LIGHTHOUSE = ROOT / "portal" / "node_modules" / "lighthouse" / "cli" / "index.js"
NODE = ROOT / ".venv" / "bin" / "node"


class LighthouseError(RuntimeError):
    pass


def run(url: str, categories: tuple[str, ...], cookie: str | None = None, chromium: Path = CHROMIUM) -> dict[str, Any]:
    """Lighthouse's JSON report of one page with its desktop preset (the portal is laid out for 1280×720 and up;
    the default is a 412 px phone); `cookie` goes with every request its Chromium makes (a logged-in page)."""
    if not LIGHTHOUSE.is_file():
        raise LighthouseError(
            f"{LIGHTHOUSE} is missing: run `npm ci` in portal/ (lighthouse is a pinned devDependency)"
        )
    command = [
        str(NODE),
        str(LIGHTHOUSE),
        url,
        f"--only-categories={','.join(categories)}",
        "--output=json",
        "--output-path=stdout",
        "--quiet",
        "--max-wait-for-load=30000",
        "--preset=desktop",
        f"--chrome-flags={' '.join(CHROMIUM_ARGS)}",
    ]
    if cookie:
        command.append(f"--extra-headers={json.dumps({'Cookie': cookie})}")
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "CHROME_PATH": str(chromium)},
        check=False,
    )
    if done.returncode != 0:
        raise LighthouseError(f"lighthouse failed ({done.returncode}):\n{done.stderr[-4000:]}")
    report = json.loads(done.stdout)
    if report.get("runtimeError"):
        raise LighthouseError(str(report["runtimeError"]))
    return report
