# SPDX-License-Identifier: MIT
"""The Sensors view and the map in headless Chromium, on a lake where most sensors are not known to the config.

The lake holds real samples (Cowrie naming its sensor, Dionaea and Suricata naming none, MHN named by the
MHN sensor's uuid) plus one Cowrie record whose sensor name is markup. The config gives one sensor a
region and a cost and nothing else, as an operator starting out would: the views must explain what
"(unknown)", "—" and "(no sensor)" mean, show the config to add (as text), put numbers on the map's
colour legend, and say which sensors the map cannot place; with no console error or CSP violation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from browserutil import READY_MS, VIEWPORT, launched, require_browser
from test_no_sensor import MHN_SENSOR, build_mixed_lake
from webutil import Served, serving

from honeyfarm.config import Config
from honeyfarm.pipeline import ingest

sync_api = require_browser()

pytestmark = pytest.mark.slow

HOSTILE = '<img src=x onerror=window.__xss=1>"\n]'
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective));
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("sensview")
    lake = build_mixed_lake(root, geoip=True)
    rec = {"eventid": "cowrie.session.connect", "timestamp": "2026-02-19T10:00:00Z", "src_ip": "8.8.8.8",
           "src_port": 4000, "session": "abcdef012345", "protocol": "ssh", "sensor": HOSTILE}  # fmt: skip
    hostile = root / "hostile.json"
    hostile.write_text(json.dumps(rec) + "\n", encoding="utf-8")
    assert ingest([str(hostile)], Config(), lake).ingested == 1
    cfg = root / "honeyfarm.toml"
    cfg.write_text('[fleet.sensors."Cowrie18vp"]\nregion = "ap-southeast-1"\nhourly_cost = 0.0116\n', encoding="utf-8")
    with serving("-c", str(cfg), "--lake", str(lake), "--host", "127.0.0.1", "--port", "0", cwd=root) as s:
        yield s


@pytest.fixture(scope="module")
def page(served: Served) -> Iterator[Any]:
    with launched(sync_api) as b:
        ctx = b.new_context(viewport=VIEWPORT, service_workers="block")
        p = ctx.new_page()
        p.add_init_script(WATCH)
        errors: list[str] = []
        p.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        p.on("pageerror", lambda e: errors.append(str(e)))

        def on_dialog(d: Any) -> None:
            errors.append(f"dialog {d.message}")
            d.dismiss()

        p.on("dialog", on_dialog)
        p.errors = errors
        p.base = served.url
        yield p
        ctx.close()


def show(page: Any, view: str) -> None:
    page.goto(f"{page.base}/#/{view}")
    page.locator(f"[data-view='{view}'][data-ready='1']").wait_for(timeout=READY_MS)


def clean(page: Any) -> None:
    assert page.errors == [], page.errors
    assert page.evaluate("window.__csp") == []
    assert page.evaluate("window.__xss") is None


def test_sensors_view_explains_unknown_and_shows_the_config_to_add(page: Any) -> None:
    show(page, "sensors")
    names = page.locator("table[data-table='sensors'] tbody tr td:first-child").all_inner_texts()
    assert {"Cowrie18vp", MHN_SENSOR, "(no sensor)"} <= {n.strip() for n in names}
    # one region is known and costed: its chart is drawn; no exposure is known: an explanation, not a "0" bar
    pts = page.evaluate("Number(document.querySelector('[data-chart=\"events-per-dollar-region\"]').dataset.points)")
    assert pts == 1
    explain = page.locator("[data-testid='explain-exposure']")
    assert "exposure" in explain.inner_text() and "[fleet.sensors" in explain.inner_text()
    assert page.locator("[data-chart='downloads-per-dollar-exposure']").count() == 0
    notes = page.locator("[data-testid='sensor-notes']").inner_text()
    assert "(unknown)" in notes and "(no sensor)" in notes and "hourly_cost" in notes
    hint = page.locator("[data-testid='sensor-notes'] [data-testid='config-hint']").inner_text()
    assert f'[fleet.sensors."{MHN_SENSOR}"]' in hint and "hourly_cost = 0.0116" in hint
    assert "onerror" in hint  # the hostile sensor name is shown as text in its TOML key, never as markup
    assert page.locator("[data-view='sensors'] img").count() == 0
    clean(page)


def test_map_legend_has_numbers_and_unplaced_sensors_are_named(page: Any) -> None:
    show(page, "map")
    bins = page.locator("[data-testid='map-legend'] li")
    assert bins.count() >= 2
    labels = [t.strip() for t in bins.all_inner_texts()]
    assert all(any(ch.isdigit() for ch in t) for t in labels), labels
    lows = [int(bins.nth(i).get_attribute("data-min") or "0") for i in range(bins.count())]
    assert lows[0] == 1 and lows == sorted(lows)
    top = page.evaluate(
        "Math.max(...[...document.querySelectorAll(\"table[data-table='map-countries'] tbody tr td:nth-child(2)\")]"
        ".map((td) => Number(td.textContent.replace(/,/g, ''))))"
    )
    assert int(bins.last.get_attribute("data-max") or "0") == top  # the top bin ends at the busiest country
    note = page.locator("[data-testid='map-unplaced']").inner_text()
    assert MHN_SENSOR in note and "no map position" in note and "(no sensor)" in note
    hint = page.locator("[data-testid='map-unplaced'] [data-testid='config-hint']").inner_text()
    assert "lat = " in hint and "lon = " in hint and "hourly_cost" not in hint
    clean(page)


def test_overview_lists_no_sensor_so_its_rows_add_up(page: Any) -> None:
    show(page, "overview")
    cells = page.locator("table[data-table='overview-sensors'] tbody tr td:first-child").all_inner_texts()
    assert "(no sensor)" in [c.strip() for c in cells]
    clean(page)
