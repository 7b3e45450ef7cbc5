# SPDX-License-Identifier: MIT
"""The Services view in headless Chromium, on a real ``honeyfarm serve`` of tests/service_events.py's lake.

Every protocol family's section renders with its charts and tables; hostile shares, SQL, SIP user
agents and extensions are text (escapes shown, no element, no dialog, no console error, no CSP
violation); a trap cell filters on it; a SHA-256 opens the file page; the Credentials view lists SMB and SIP
logins, which have no password.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import service_events as se
from browserutil import require_browser, served_page

sync_api = require_browser()  # skips (with why) without Chromium, Playwright or the built assets

SECTIONS = ["smb", "sql", "sip", "files", "catchall"]
TABLES = [
    "service-overview", "smb-dialects", "smb-exploits", "smb-pipes", "smb-shares", "sql-commands", "sql-shell",
    "sip-extensions", "sip-agents", "service-uploads", "service-logins", "catchall-ports", "catchall-guesses",
]  # fmt: skip


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str, list[str]]]:
    lake = se.build_lake(tmp_path_factory.mktemp("services"))
    with served_page(sync_api, lake, tmp_path_factory.mktemp("s")) as page:
        yield page


def _ready(page: Any, view: str) -> None:
    page.locator(f"[data-view='{view}'][data-ready='1']").wait_for(timeout=20_000)


def _clean(page: Any, errors: list[str]) -> None:
    assert page.evaluate("window.__xss") is None
    assert page.locator("#view img, #view script, #view b, #view i").count() == 0
    assert page.evaluate("window.__csp") == [] and errors == []


def test_services_view_renders_every_section_and_keeps_hostile_text_inert(
    browser_page: tuple[Any, str, list[str]],
) -> None:
    page, url, errors = browser_page
    page.goto(f"{url}/#/services")
    _ready(page, "services")
    assert page.locator("nav.views a[data-nav='services']").get_attribute("aria-current") == "page"
    sections = page.evaluate("() => [...document.querySelectorAll('[data-section]')].map((s) => s.dataset.section)")
    assert sections == SECTIONS
    tables = page.evaluate("() => [...document.querySelectorAll('table[data-table]')].map((t) => t.dataset.table)")
    assert sorted(tables) == sorted(TABLES)
    points = dict(
        page.evaluate("() => [...document.querySelectorAll('.chart')].map((c) => [c.dataset.chart, +c.dataset.points])")
    )
    assert points == {"service-events-time": points["service-events-time"], "catchall-ports": 3, "smb-dialects": 3,
                      "sip-agents": 3} and points["service-events-time"] > 0  # fmt: skip
    counts = dict(
        page.evaluate(
            "() => [...document.querySelectorAll('[data-counter]')].map((c) => [c.dataset.counter, +c.dataset.value])"
        )
    )
    assert counts == {"smb": 24, "ftp": 6, "tftp": 2, "mssql": 11, "mysql": 7, "sip": 10, "catchall": 14,
                      "logins": 9, "uploads": 5}  # fmt: skip
    text = page.locator("[data-view='services']").inner_text()
    shown = ["\\x1b]0;pwned\\x07", "\\u202evid.exe", "<script>window.__xss=1</script>", se.FORMULA_UA,
             "<b onmouseover=window.__xss=1>200\\u202e", se.XP_LINE, "svcctl", "0x0311", "rdp"]  # fmt: skip
    assert [s for s in shown if s not in text] == []
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    logins = page.locator("table[data-table='service-logins'] tbody tr", has_text="administrator").inner_text()
    assert "smb" in logins and "—" in logins  # NTLM sends no password
    _clean(page, errors)


def test_a_trap_filters_and_a_sha_opens_the_file_page(browser_page: tuple[Any, str, list[str]]) -> None:
    page, url, errors = browser_page
    page.goto(f"{url}/#/services")
    _ready(page, "services")
    page.locator("table[data-table='service-overview'] td.pick", has_text="mssql").click()
    page.wait_for_function("() => location.hash.includes('honeypot=mssql')")
    _ready(page, "services")
    rows = page.locator("table[data-table='service-overview'] tbody tr")
    assert rows.count() == 1 and "mssql" in rows.first.inner_text()
    assert page.locator("table[data-table='smb-shares'] tbody tr.empty-row").count() == 1
    page.goto(f"{url}/#/services?sensor=svc-eu")
    _ready(page, "services")
    page.locator("table[data-table='service-uploads'] td.pick", has_text=se.SHA_WORM[:16]).click()
    _ready(page, "file")
    assert page.evaluate("location.hash").startswith(f"#/file/{se.SHA_WORM}")
    assert se.S1.session in page.locator("[data-view='file']").inner_text()
    _clean(page, errors)


def test_credentials_view_shows_service_logins_without_passwords(browser_page: tuple[Any, str, list[str]]) -> None:
    page, url, errors = browser_page
    page.goto(f"{url}/#/credentials?honeypot=smb&honeypot=sip")
    _ready(page, "credentials")
    pairs = page.locator("table[data-table='credentials'] tbody tr")
    assert pairs.count() == 4  # administrator and guest (SMB), 100 and the hostile extension (SIP)
    assert all(row.split("\t")[1] == "—" for row in pairs.all_inner_texts())  # no password: NULL, shown as —
    assert page.locator("table[data-table='passwords'] tbody tr.empty-row").count() == 1
    _clean(page, errors)
