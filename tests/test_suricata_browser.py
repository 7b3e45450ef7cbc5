# SPDX-License-Identifier: MIT
"""The Suricata view in headless Chromium, on a real ``honeyfarm serve`` of the real EVE samples plus hostile records
(tests/suricata_events.py).

Every section renders its charts and tables with the samples' numbers; a hostile signature, category, sensor,
URL, user agent and file name are text (escapes shown, no element, no dialog, no console error, no CSP
violation); a sensor cell filters on it; the alerts timeline splits by category; a range without Suricata
events says so; the Downloads view lists Suricata's files with their source.
"""

from __future__ import annotations

import collections
import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import suricata_events as se
from browserutil import require_browser, served_page

se.require_samples()
sync_api = require_browser()  # skips (with why) without Chromium, Playwright or the built assets

SECTIONS = ["alerts", "sources", "traffic", "files"]
TABLES = [
    "suricata-signatures", "suricata-categories", "suricata-severities", "suricata-cves", "suricata-sources",
    "suricata-countries", "suricata-asns", "suricata-sensors", "suricata-event-types", "suricata-protocols",
    "suricata-files", "suricata-urls",
]  # fmt: skip
Page = tuple[Any, str, list[str]]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("suricata")


@pytest.fixture(scope="module")
def browser_page(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    lake = se.build_lake(root)
    with served_page(sync_api, lake, tmp_path_factory.mktemp("s")) as page:
        yield page


def _ready(page: Any, view: str) -> None:
    page.locator(f"[data-view='{view}'][data-ready='1']").wait_for(timeout=20_000)


def _clean(page: Any, errors: list[str]) -> None:
    assert page.evaluate("window.__xss") is None
    assert page.locator("#view img, #view script, #view b, #view i").count() == 0
    assert page.evaluate("window.__csp") == [] and errors == []


def _counters(page: Any) -> dict[str, int]:
    js = "() => [...document.querySelectorAll('[data-counter]')].map((c) => [c.dataset.counter, +c.dataset.value])"
    return dict(page.evaluate(js))


def test_suricata_view_renders_every_section_and_keeps_hostile_text_inert(browser_page: Page, root: Path) -> None:
    page, url, errors = browser_page
    recs = se.records(root)
    page.goto(f"{url}/#/suricata?range=all&internal=include")
    _ready(page, "suricata")
    assert page.locator("nav.views a[data-nav='suricata']").get_attribute("aria-current") == "page"
    sections = page.evaluate("() => [...document.querySelectorAll('[data-section]')].map((s) => s.dataset.section)")
    assert sections == SECTIONS
    tables = page.evaluate("() => [...document.querySelectorAll('table[data-table]')].map((t) => t.dataset.table)")
    assert sorted(tables) == sorted(TABLES)
    types = collections.Counter(r["event_type"] for r in recs)
    alerts = [r["alert"] for r in recs if r["event_type"] == "alert"]
    assert _counters(page) == {
        "events": len(recs), "alerts": len(alerts), "high": sum(1 for a in alerts if a["severity"] == 1),
        "signatures": len({a["signature_id"] for a in alerts}), "http": types["http"], "files": types["fileinfo"],
    }  # fmt: skip
    points = dict(
        page.evaluate("() => [...document.querySelectorAll('.chart')].map((c) => [c.dataset.chart, +c.dataset.points])")
    )
    categories = {a["category"] for a in alerts}
    assert points["suricata-categories"] == min(len(categories), 10) and points["suricata-alerts-time"] > 0
    assert points["suricata-protocols"] > 0
    assert page.locator("[data-empty='suricata']").count() == 0
    text = page.locator("[data-view='suricata']").inner_text()
    shown = ["\\x1b]0;pwned\\x07", "\\u202egnp.exe", "<img src=x onerror=window.__xss=1>", se.HOSTILE_CATEGORY,
             se.SENSOR, se.HOSTILE_FILE,
             f"http://victim.example{se.HOSTILE_PATH}", "CVE-2021-44228", "CVE-2020-11899", "(no sensor)"]  # fmt: skip
    assert [s for s in shown if s not in text] == []
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    sev = page.locator("table[data-table='suricata-severities'] tbody tr").all_inner_texts()
    assert [row.split("\t")[0] for row in sev] == ["1 high", "2 medium", "3 low"]
    page.goto(f"{url}/#/suricata?range=all")  # internal addresses left out: the views' default
    _ready(page, "suricata")
    assert _counters(page)["alerts"] == sum(1 for r in recs if r["event_type"] == "alert" and not _internal(se.ip(r)))
    _clean(page, errors)
    # An address opens the IP page (table.js links every `ip` column), where the dashboard has one.
    link = page.locator(f"table[data-table='suricata-sources'] .ip-link[data-ip='{se.ATTACKER}']")
    if page.evaluate("() => import('/static/js/app.js').then((m) => Object.hasOwn(m.VIEWS, 'ip'))"):
        link.click()
        page.wait_for_function(f"() => location.hash.startsWith('#/ip/{se.ATTACKER}')")
        _ready(page, "ip")
        _clean(page, errors)
    else:
        assert link.count() == 0


def _internal(addr: str | None) -> bool:
    a = ipaddress.ip_address(addr or "0.0.0.0")
    return a.is_private or a.is_loopback or a.is_link_local or a in ipaddress.ip_network("100.64.0.0/10")


def test_a_sensor_filters_and_the_timeline_splits_by_category(browser_page: Page) -> None:
    page, url, errors = browser_page
    page.goto(f"{url}/#/suricata?range=all&internal=include")
    _ready(page, "suricata")
    page.locator("table[data-table='suricata-sensors'] td.pick", has_text=se.SENSOR).click()
    page.wait_for_function("() => location.hash.includes('sensor=')")
    _ready(page, "suricata")
    sigs = page.locator("table[data-table='suricata-signatures'] tbody tr")
    assert sigs.count() == 2 and _counters(page)["alerts"] == 3
    page.locator("button[data-value='category']").click()
    page.wait_for_function("() => location.hash.includes('by=category')")
    _ready(page, "suricata")
    legend = page.evaluate(
        "() => echarts.getInstanceByDom(document.querySelector(\"[data-chart='suricata-alerts-time']\"))"
        ".getOption().series.map((s) => s.name)"
    )
    assert len(legend) == 2 and "Attempted Information Leak" in legend  # the sensor's two categories
    _clean(page, errors)


def test_a_range_without_suricata_events_says_so(browser_page: Page) -> None:
    page, url, errors = browser_page
    page.goto(f"{url}/#/suricata?since=2024-01-01T00:00:00Z&until=2024-01-02T00:00:00Z&internal=include")
    _ready(page, "suricata")
    assert page.locator("[data-empty='suricata']").inner_text() == "No Suricata events in this range."
    empty = page.locator("table[data-table^='suricata-'] tbody tr.empty-row").all_inner_texts()
    assert len(empty) == len(TABLES) and all("in this range" in e for e in empty)
    _clean(page, errors)


def test_downloads_view_lists_suricata_files_with_their_source(browser_page: Page) -> None:
    page, url, errors = browser_page
    page.goto(f"{url}/#/downloads?range=all&internal=include&sensor={se.SENSOR}")
    _ready(page, "downloads")
    heads = [x.lower() for x in page.locator("table[data-table='downloads'] thead th").all_inner_texts()]
    row = page.locator("table[data-table='downloads'] tbody tr")
    assert row.count() == 1
    cells = dict(zip(heads, row.first.locator("td").all_inner_texts(), strict=True))
    assert cells["source"] == "suricata" and cells["sha-256"].startswith(se.HOSTILE_SHA[:16])
    assert se.HOSTILE_PATH[:20] in cells["url"]
    _clean(page, errors)
