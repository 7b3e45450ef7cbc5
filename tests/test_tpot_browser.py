# SPDX-License-Identifier: MIT
"""The T-Pot-style views in headless Chromium, on a real ``honeyfarm serve`` of test_tpot_views.py's lake.

The Overview draws events per honeypot type and the destination-port histogram; its hourly series has
gaps (nulls in the chart's data, not zeros) and marks the still filling hour; the Credentials search and
drill-down lead to the IP page and the session page; the session page shows country, AS, client and
HASSH with the address as a link. No console error, no CSP violation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from browserutil import require_browser, served_page
from test_tpot_views import HOSTILE_PASS, HOSTILE_USER, NOW_SESSION, build_world

sync_api = require_browser()  # skips (with why) without Chromium, Playwright or the built assets

# Every hash the page visits (an unknown view such as #/ip/... before the IP page exists is redirected at once).
WATCH_HASHES = "window.__hashes = []; window.addEventListener('hashchange', () => window.__hashes.push(location.hash));"


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str, list[str]]]:
    lake, _ = build_world(tmp_path_factory.mktemp("tpot-b"))
    with served_page(sync_api, lake, tmp_path_factory.mktemp("s")) as (page, url, errors):
        page.add_init_script(WATCH_HASHES)
        yield page, url, errors


def _ready(page: Any, view: str) -> None:
    page.locator(f"[data-view='{view}'][data-ready='1']").wait_for(timeout=20_000)


def _clean(page: Any, errors: list[str]) -> None:
    assert page.evaluate("window.__csp") == [] and errors == []


def _went(page: Any, prefix: str) -> None:
    page.wait_for_function("(p) => window.__hashes.some((h) => h.startsWith(p))", arg=prefix, timeout=10_000)


def test_overview_draws_honeypot_types_ports_and_a_gapped_series(browser_page: tuple[Any, str, list[str]]) -> None:
    page, url, errors = browser_page
    page.goto(f"{url}/#/overview?internal=include")  # every event: the route 53 sample's resolvers are internal
    _ready(page, "overview")
    types = page.evaluate("() => fetch('/api/overview/honeypots?internal=include').then((r) => r.json())")
    points = dict(
        page.evaluate("() => [...document.querySelectorAll('.chart')].map((c) => [c.dataset.chart, +c.dataset.points])")
    )
    assert points["honeypot-types"] == len(types["rows"]) >= 6
    assert page.locator("table[data-table='honeypot-types'] tbody tr").count() == len(types["rows"])
    assert points["dst-ports"] >= 3
    shown = page.locator("table[data-table='honeypot-types']").inner_text()
    assert all(t in shown for t in ("cowrie", "suricata", "dionaea", "vpcflow", "route53", "heralding"))
    assert "other" in page.locator("table[data-table='dst-ports']").inner_text()
    series = page.evaluate(
        """() => {
            const el = document.querySelector('.chart[data-chart="activity"]');
            const s = echarts.getInstanceByDom(el).getOption().series[0];
            const vals = s.data.map((d) => (Array.isArray(d) ? d[1] : d.value[1]));
            const count = (x) => vals.filter((v) => v === x).length;
            const area = s.markArea ? s.markArea.data.length : 0;
            return { gaps: +el.dataset.gaps, nulls: count(null), zeros: count(0), connect: s.connectNulls,
                     partial: el.dataset.partial || null, area };
        }"""
    )
    # the fixture's hours are far apart: each gap is one null (no line across it), never a run of zeros
    assert series["gaps"] >= 3 and series["nulls"] == series["gaps"] and series["zeros"] == 0, series
    assert series["connect"] is False
    # the newest events are seconds old: their hour is still filling (unless the clock has just passed the hour)
    newest = page.evaluate(
        "(s) => fetch(`/api/session?sensor=alpha&session=${s}`).then((r) => r.json()).then((a) => a.events.rows[0][0])",
        NOW_SESSION,
    )
    hour = dt.datetime.fromisoformat(newest).replace(minute=0, second=0, microsecond=0)
    if dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0, tzinfo=None) == hour:
        assert series["partial"] == hour.strftime("%Y-%m-%dT%H:00:00.000Z") and series["area"] == 1, series
    # a honeypot type filters the view
    page.locator("table[data-table='honeypot-types'] td.pick", has_text="suricata").click()
    page.wait_for_function("() => location.hash.includes('honeypot=suricata')")
    _ready(page, "overview")
    assert page.locator("table[data-table='honeypot-types'] tbody tr").count() == 1
    _clean(page, errors)


def test_credentials_search_and_drill_down_lead_to_ips_and_sessions(browser_page: tuple[Any, str, list[str]]) -> None:
    page, url, errors = browser_page
    page.goto(f"{url}/#/credentials")
    _ready(page, "credentials")
    page.locator("[data-cred-search]").fill("%")
    page.locator("[data-cred-search]").press("Enter")
    page.wait_for_function("() => location.hash.includes('q=%25')")
    # The hash changes before the view's reload starts: `_ready` can still see the previous load's mark (a
    # clean-clone CI run once counted 0 rows here), so wait for the search's own table.
    hits = page.locator("table[data-table='credential-search'] tbody tr")
    hits.first.wait_for(timeout=20_000)
    _ready(page, "credentials")
    assert hits.count() == 1
    text = hits.first.inner_text()
    assert HOSTILE_USER in text and HOSTILE_PASS in text
    hits.first.click()  # → the pair's drill-down
    page.wait_for_function("() => location.hash.includes('cu=')")
    _ready(page, "credentials")
    assert page.locator("[data-drill-what]").inner_text() == f"username {HOSTILE_USER} / password {HOSTILE_PASS}"
    assert page.locator("table[data-table='credential-ips'] tbody tr").count() == 1
    assert NOW_SESSION in page.locator("table[data-table='credential-sessions']").inner_text()
    page.locator("table[data-table='credential-ips'] td.pick", has_text="9.9.9.9").click()
    _went(page, "#/ip/9.9.9.9")
    # a pair row of the top table: root / 123456 was tried from four addresses in four sessions
    page.goto(f"{url}/#/credentials")
    _ready(page, "credentials")
    page.locator("table[data-table='credentials'] tbody tr", has_text="123456").first.click()
    page.wait_for_function("() => location.hash.includes('cp=123456')")
    _ready(page, "credentials")
    ips = page.locator("table[data-table='credential-ips'] tbody tr").all_inner_texts()
    assert len(ips) == 5 and any("Google LLC" in r for r in ips), ips
    page.locator("table[data-table='credential-sessions'] tbody td", has_text="bbbb0002").click()
    _ready(page, "session")
    assert page.evaluate("location.hash").startswith("#/session/alpha/bbbb0002")
    _clean(page, errors)


def test_session_page_shows_country_asn_client_hassh_and_links_the_ip(browser_page: tuple[Any, str, list[str]]) -> None:
    page, url, errors = browser_page
    page.goto(f"{url}/#/session/alpha/aaaa0001")
    _ready(page, "session")
    facts = dict(
        page.evaluate(
            "() => [...document.querySelectorAll('[data-fact]')]"
            ".map((f) => [f.dataset.fact, f.querySelector('dd').innerText])"
        )
    )
    assert facts["country"].startswith("US") and "United States" in facts["country"]
    assert facts["asn"] == "AS15169 · Google LLC"
    assert facts["client"] == "SSH-2.0-Go" and facts["hassh"] == "16443846184eafde36765c9bab2f4397"
    page.locator("[data-fact='source'] button[data-ip='8.8.8.8']").click()
    _went(page, "#/ip/8.8.8.8")
    _clean(page, errors)
