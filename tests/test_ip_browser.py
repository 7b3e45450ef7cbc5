# SPDX-License-Identifier: MIT
"""The IP page (``/api/ip``, ``#/ip/<addr>``) and the filter bar's "exclude internal" toggle and eventid picker.

A lake of real samples (a 2019 Cowrie log, a T-Pot Suricata log with alerts)
plus Cowrie sessions from internal and public addresses; the API through
TestClient, the dashboard through a real ``honeyfarm serve`` in headless
Chromium.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browserutil import require_browser, served_page
from lakeutil import query
from test_dimensions import INTERNAL_IPS, PUBLIC_IPS, SAMPLES, internal_log
from webutil import TestClient

from honeyfarm.config import Config, GeoIPConfig
from honeyfarm.pipeline import ingest
from honeyfarm.views.web.app import create_app

COWRIE = SAMPLES / "cowrie_json" / "ranguli-honeylist_2019-07.cowrie.json"
SURICATA = SAMPLES / "suricata_eve" / "tharshithgoud-Vikrant-tpot_2023-02-03.eve.json"
pytestmark = pytest.mark.skipif(not COWRIE.is_file() or not SURICATA.is_file(), reason=f"samples missing in {SAMPLES}")


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ip")
    ingest([str(COWRIE), str(SURICATA), str(internal_log(root / "internal.json"))],
           Config(geoip=GeoIPConfig(enabled=True)), root / "lake")  # fmt: skip
    return root / "lake"


@pytest.fixture(scope="module")
def client(lake: Path) -> Iterator[Any]:
    with TestClient(create_app(lake), base_url="http://127.0.0.1") as c:
        yield c


def ip_page(client: Any, ip: str, **params: Any) -> dict[str, Any]:
    r = client.get("/api/ip", params={"ip": ip, **params})
    assert r.status_code == 200, r.text
    return dict(r.json())


def rows(t: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(zip(t["columns"], r, strict=True)) for r in t["rows"]]


# ------------------------------------------------------------------ API


def test_ip_page_of_a_cowrie_attacker(client: Any, lake: Path) -> None:
    [(ip, n, cmds)] = query(lake, """SELECT src_ip, count(*), count(*) FILTER (WHERE eventid = 'cowrie.command.input')
        FROM events WHERE source_format = 'cowrie' AND src_ip IS NOT NULL AND sensor IS DISTINCT FROM 'inner'
        GROUP BY 1 ORDER BY 3 DESC, 2 DESC, 1 LIMIT 1""")  # fmt: skip
    ans = ip_page(client, ip)
    assert (ans["ip"], ans["events"], ans["internal"]) == (ip, n, False)
    assert ans["country"] and ans["asn"] and ans["first_seen"] <= ans["last_seen"]
    assert sum(r["events"] for r in rows(ans["by_sensor"])) == n == sum(r["events"] for r in rows(ans["by_eventid"]))
    assert sum(r["count"] for r in rows(ans["commands"])) == cmds > 0
    assert rows(ans["sessions_list"]) and all(r["session"] for r in rows(ans["sessions_list"]))
    [(tried,)] = query(lake, f"SELECT count(*) FROM events WHERE src_ip = '{ip}' AND eventid LIKE 'cowrie.login.%'")
    assert sum(r["attempts"] for r in rows(ans["credentials"])) == tried


def test_ip_page_lists_suricata_alerts(client: Any, lake: Path) -> None:
    [(ip, n)] = query(lake, """SELECT src_ip, count(*) FROM events WHERE eventid = 'suricata.alert'
        GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1""")  # fmt: skip
    alerts = rows(ip_page(client, ip)["alerts"])
    assert sum(r["alerts"] for r in alerts) == n and all(r["signature"] for r in alerts)


def test_ip_page_of_an_internal_address_ignores_exclude_internal(client: Any) -> None:
    ans = ip_page(client, "172.18.0.1", internal="exclude")
    assert ans["internal"] is True and ans["events"] == 4
    assert rows(ans["credentials"]) == [{"username": "root", "password": "pw1", "attempts": 1, "successes": 0}]
    assert ip_page(client, "::ffff:8.8.8.8")["ip"] == "8.8.8.8"
    assert ip_page(client, "192.0.2.1")["events"] == 0


@pytest.mark.parametrize("bad", ["", "8.8.8.8' OR 1=1 --", "8.8.8.8; DROP TABLE events", "::g", "1.2.3.4.5", "x" * 65])
def test_ip_page_refuses_what_is_not_an_address(client: Any, bad: str) -> None:
    assert client.get("/api/ip", params={"ip": bad}).status_code == 422


# ------------------------------------------------------------------ browser


def test_toggle_ip_link_ip_page_and_eventid_picker(lake: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    sync_api = require_browser()
    with served_page(sync_api, lake, tmp_path_factory.mktemp("s")) as (page, url, errors):
        page.goto(f"{url}/#/sources?sensor=inner")
        page.locator("[data-view='sources'][data-ready='1']").wait_for(timeout=20_000)
        toggle = page.locator("[data-filterbar] button[data-toggle='internal']")
        assert toggle.get_attribute("aria-pressed") == "true"  # on by default
        links = "table[data-table='top-ips'] button.ip-link"
        page.locator(links).first.wait_for()
        assert sorted(page.locator(links).all_text_contents()) == sorted(PUBLIC_IPS)
        toggle.click()
        page.wait_for_function("() => location.hash.includes('internal=include')")
        page.wait_for_function(f'() => document.querySelectorAll("{links}").length === 5')
        assert sorted(page.locator(links).all_text_contents()) == sorted(INTERNAL_IPS + PUBLIC_IPS)
        assert toggle.get_attribute("aria-pressed") == "false"
        row = page.locator("table[data-table='top-ips'] tr", has=page.locator("button.ip-link[data-ip='127.0.0.1']"))
        assert row.locator(".ip-internal").count() == 1
        row.locator("button.ip-link").click()  # the link, not the row's own action (the sessions card)
        page.wait_for_function("() => location.hash.startsWith('#/ip/127.0.0.1')")
        page.locator("[data-view='ip'][data-ready='1']").wait_for(timeout=20_000)
        assert "yes" in (page.locator("[data-fact='internal'] dd").text_content() or "")
        assert page.locator("table[data-table='ip-sessions'] tbody tr.row-link").count() == 1
        assert "internal=include" in page.evaluate("location.hash")  # the filters follow the link
        # the eventid picker offers the lake's eventids and families, and filters the view
        picker = page.locator("select[data-filter='eventid']")
        assert picker.locator("option[value='cowrie.login.*']").count() == 1
        picker.select_option("cowrie.login.failed")
        page.locator(".chip[data-filter='eventid'][data-value='cowrie.login.failed']").wait_for()
        page.locator("[data-view='ip'][data-ready='1']").wait_for(timeout=20_000)
        page.wait_for_function("() => document.querySelector(\"[data-fact='events'] dd\").textContent === '1'")
        assert page.evaluate("window.__csp") == [] and errors == []
