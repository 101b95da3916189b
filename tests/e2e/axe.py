"""axe-core, the accessibility checker, from the npm registry into a folder of the checkout's
own (``.cache/axe-core``, once per machine), run in the page under test.

Never a CDN: the pinned package is fetched with ``npm install`` and read from disk; the
script is evaluated through the browser's debugging protocol, which the studio's
Content-Security-Policy (``script-src 'self'``) rightly does not cover.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path

AXE_VERSION = "4.14.1"
CACHE = Path(__file__).resolve().parents[2] / ".cache" / "axe-core"
SCRIPT = CACHE / "node_modules" / "axe-core" / "axe.min.js"

#: Impacts that fail a page; "minor" and "moderate" are for a person to weigh.
FAILING_IMPACTS = ("serious", "critical")


def axe_script() -> str | None:
    """axe.min.js, installed first if need be; ``None`` where npm is missing or fails."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:  # xdist workers install it once between them
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not SCRIPT.exists():
            npm = shutil.which("npm")
            if npm is None:
                return None
            done = subprocess.run([npm, "install", "--prefix", str(CACHE), "--no-audit", "--no-fund",
                                   "--loglevel=error", f"axe-core@{AXE_VERSION}"],
                                  capture_output=True, text=True, timeout=300)
            if done.returncode != 0 or not SCRIPT.exists():
                return None
    return SCRIPT.read_text()


def violations(page, script: str) -> list[str]:
    """The serious and critical axe violations of the page as it is now, one line each."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(script)
    found = page.evaluate("""async () => {
        const results = await axe.run(document, {resultTypes: ['violations']});
        return results.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                             targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return [f"{v['impact']} {v['id']}: {v['help']} at {v['targets']}" for v in found
            if v["impact"] in FAILING_IMPACTS]
