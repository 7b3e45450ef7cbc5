# SPDX-License-Identifier: MIT
"""What the browser tests share: Debian's Chromium driven by Playwright (never `playwright install`).

Each browser test module calls :func:`require_browser` at import, which skips
the whole module with the reason when Chromium, Playwright or the dashboard's
built vendor assets are missing, and takes its ``browser`` fixture from
:func:`launched`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
VENDOR = Path(__file__).resolve().parent.parent / "src" / "honeyfarm" / "views" / "web" / "static" / "vendor"
# Without the background-networking flags Chromium tries Google's hosts at every start (no network here).
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip
VIEWPORT = {"width": 1400, "height": 900}
VIEWS = ["overview", "map", "timeline", "credentials", "commands", "downloads", "sources", "network", "sensors", "live"]
# The navigation also links the exploit traps', the service traps' and Suricata's views; the Cowrie-only lakes of
# these tests have no such events to chart, so those views are tried in tests/test_views_traps.py,
# tests/test_services_browser.py and tests/test_suricata_browser.py, on lakes of their own events.
NAV = [*VIEWS[: VIEWS.index("downloads") + 1], "traps", "services", "suricata", *VIEWS[VIEWS.index("downloads") + 1 :]]
READY_MS = 20_000


def require_browser() -> Any:
    """Playwright's sync API; skips the calling module (with why) when a browser test cannot run here."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium): no browser for the dashboard tests",
                    allow_module_level=True)  # fmt: skip
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed in the venv")
    if not (VENDOR / ".built").exists():
        pytest.skip("the dashboard's vendor assets are not built: run `make web` (scripts/build-web.sh)",
                    allow_module_level=True)  # fmt: skip
    return sync_api


@contextlib.contextmanager
def launched(sync_api: Any) -> Iterator[Any]:
    """A headless Chromium, closed afterwards."""
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            yield b
        finally:
            b.close()


#: Collects Content-Security-Policy violations in ``window.__csp`` (a page under test must have none).
WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective));
"""


@contextlib.contextmanager
def served_page(sync_api: Any, lake: Path, cwd: Path) -> Iterator[tuple[Any, str, list[str]]]:
    """A page in headless Chromium beside a real ``honeyfarm serve`` of ``lake``: (page, base URL, errors).

    ``errors`` collects console errors, uncaught exceptions and any dialog (dismissed): hostile data
    rendered as markup would show up there.
    """
    from webutil import start_serve, stop_serve

    served = start_serve("--lake", str(lake), "--host", "127.0.0.1", "--port", "0", cwd=cwd)
    try:
        with launched(sync_api) as b:
            ctx = b.new_context(viewport=VIEWPORT, service_workers="block")
            page = ctx.new_page()
            page.add_init_script(WATCH_CSP)
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("dialog", lambda d: (errors.append(f"dialog {d.message}"), d.dismiss()))
            yield page, served.url, errors
            ctx.close()
    finally:
        stop_serve(served)
