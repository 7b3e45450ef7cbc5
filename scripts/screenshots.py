#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Screenshots of every dashboard view over a lake of the real sample logs of every format.

    python scripts/screenshots.py --out docs/screenshots

Builds the lake tests/test_samples_e2e.py checks (tests/samplelake.py: ``../shared/samples`` ingested with a
fleet config), runs ``honeyfarm serve`` on it, and saves ``<view>.png`` of every view of the dashboard's route
table at 1440x900 with headless Chromium (Debian's, through Playwright). A view that fails to load, or logs
a console error, stops the run: a screenshot of a broken view is worse than none.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the lake-building code is shared with the end-to-end test

import samplelake  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium tries Google's hosts at every start.
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip
#: Whether a view drew any data: a chart with points or a table with a row that is not its empty state.
DRAWS_DATA = """(view) => {
  const root = document.querySelector(`[data-view="${view}"]`);
  return [...root.querySelectorAll('.chart')].some((c) => Number(c.dataset.points || 0) > 0)
    || [...root.querySelectorAll('table')].some((t) => t.tBodies[0]
      && t.tBodies[0].querySelectorAll('tr:not(.empty-row)').length > 0);
}"""
#: Whether a view drew a chart with data (or has no charts).
CHARTS_DATA = """(view) => {
  const charts = [...document.querySelectorAll(`[data-view="${view}"] .chart`)];
  return charts.length === 0 || charts.some((c) => Number(c.dataset.points || 0) > 0);
}"""
READY = re.compile(r"honeyfarm dashboard: (https?)://\S+?:(\d+)/")


def serve(cfg: Path, lake: Path, cwd: Path) -> tuple[subprocess.Popen[str], str]:
    """``honeyfarm serve`` on a free loopback port; (process, base URL) once it says where it listens."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HONEYFARM_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "honeyfarm.cli", "serve", "-c", str(cfg), "--lake", str(lake),
         "--host", "127.0.0.1", "--port", "0"],
        cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, encoding="utf-8",
    )  # fmt: skip
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    seen = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        m = READY.search(line)
        if m:
            # keep reading its log, so a full pipe never blocks the server
            threading.Thread(target=lambda: [None for _ in proc.stderr or ()], daemon=True).start()
            return proc, f"{m.group(1)}://127.0.0.1:{m.group(2)}"
    proc.kill()
    raise SystemExit("honeyfarm serve did not start:\n" + "".join(seen))


def shoot_all(base: str, lake: Path, out: Path, width: int, height: int) -> list[Path]:
    from playwright.sync_api import sync_playwright

    def api(path: str, **params: Any) -> Any:
        qs = urllib.parse.urlencode(params, doseq=True)
        with urllib.request.urlopen(f"{base}/api/{path}{'?' + qs if qs else ''}", timeout=60) as r:
            return json.loads(r.read())

    views, nav = samplelake.route_table()
    saved: list[Path] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        ctx = browser.new_context(viewport={"width": width, "height": height}, service_workers="block")
        page = ctx.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        for view in views:
            route = samplelake.route(view, nav, lake, api)
            page.goto(f"{base}/#/{route}")
            ready = page.locator(f"[data-view='{view}'][data-ready='1']")
            ready.wait_for(timeout=30_000)
            if view == "session" and page.locator("[data-tty-end]").count():
                page.locator("[data-tty-end]").click()  # the whole replay on screen, not its first frame
            page.wait_for_timeout(700)  # chart animations settle
            if errors:
                raise SystemExit(f"{view}: {errors}")
            if not page.evaluate(CHARTS_DATA, view) and "?" not in route:
                # e.g. Exploit traps: the samples' only web-trap capture (SNARE/Tanner) is from a Docker bridge,
                # which the default "Exclude internal" leaves out; show it with internal addresses included
                route = f"{route}?internal=include"
                page.goto(f"{base}/#/{route}")
                page.locator(f"[data-view='{view}'][data-ready='1']").wait_for(timeout=30_000)
                page.wait_for_timeout(700)
            if not page.evaluate(DRAWS_DATA, view):
                print(f"skipped {view}: the samples have nothing for it (only empty states)", file=sys.stderr)
                continue
            path = out / f"{view}.png"
            page.screenshot(path=str(path))
            saved.append(path)
            print(f"{path}  (#/{route})")
        ctx.close()
        browser.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="where the PNGs go")
    ap.add_argument("--width", type=int, default=1440)
    ap.add_argument("--height", type=int, default=900)
    ap.add_argument("--keep", type=Path, help="build the lake here (and keep it) instead of a temporary directory")
    args = ap.parse_args(argv)
    if not samplelake.SAMPLES.is_dir():
        raise SystemExit(f"the sample logs are missing: {samplelake.SAMPLES}")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hf-shots-") as tmp:
        root = args.keep or Path(tmp)
        built = samplelake.build(root)
        if built.skipped:
            print(f"not in the lake: {built.skipped}", file=sys.stderr)
        if built.result.errors:
            raise SystemExit(f"ingest errors: {built.result.errors}")
        proc, base = serve(built.config, built.lake, root)
        try:
            shoot_all(base, built.lake, args.out, args.width, args.height)
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
