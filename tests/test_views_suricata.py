# SPDX-License-Identifier: MIT
"""Suricata's report panels, API, the downloads view's fileinfo rows and ``honeyfarm report suricata``, over a lake of
the real EVE samples plus a few hostile records (tests/suricata_events.py).

Every expected number is counted in plain Python from the JSON lines; each panel is asked through the API,
with the shared filters (sensor, "(no sensor)", time, country) too. A stored Suricata rollup gives the same
answers as the events; CVE ids are normalised the same way in SQL and Python.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import suricata_events as se
from lakeutil import hf
from webutil import TestClient

from honeyfarm.analysis.malware import PANELS as MALWARE_PANELS
from honeyfarm.analysis.names import SURICATA_PANEL_NAMES
from honeyfarm.analysis.panels import PANELS, Filters
from honeyfarm.analysis.services import SERVICE_PANELS
from honeyfarm.analysis.suricata import SURICATA_PANELS, SURICATA_ROLLUP, cve_ids, cve_sql
from honeyfarm.analysis.traps import TRAP_PANELS
from honeyfarm.lake import rollup
from honeyfarm.lake.store import Lake
from honeyfarm.views.web.app import create_app
from honeyfarm.views.web.settings import ServeConfig

se.require_samples()

BASE = "http://127.0.0.1"
Recs = list[dict[str, Any]]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("suricata")


@pytest.fixture(scope="module")
def lake(root: Path) -> Path:
    return se.build_lake(root)


@pytest.fixture(scope="module")
def recs(root: Path, lake: Path) -> Recs:
    return se.records(root)


@pytest.fixture(scope="module")
def con(lake: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    c = Lake(lake).connect()
    yield c
    c.close()


@pytest.fixture(scope="module")
def client(lake: Path) -> Iterator[TestClient]:
    with TestClient(create_app(lake, ServeConfig()), base_url=BASE) as c:
        yield c


def api(c: TestClient, name: str, **params: Any) -> list[dict[str, Any]]:
    r = c.get(f"/api/panels/{name}", params={"limit": 500, **params})
    assert r.status_code == 200, f"{name}: {r.status_code} {r.text[:400]}"
    t = r.json()
    return [dict(zip(t["columns"], row, strict=True)) for row in t["rows"]]


def alerts(recs: Recs) -> Recs:
    return [r for r in recs if r["event_type"] == "alert"]


# ------------------------------------------------------------------ registry, CVE ids


def test_suricata_panel_registry_matches_names_and_keeps_apart_from_other_panels() -> None:
    assert list(SURICATA_PANELS) == list(SURICATA_PANEL_NAMES)
    for other in (PANELS, TRAP_PANELS, MALWARE_PANELS, SERVICE_PANELS):
        assert not set(SURICATA_PANELS) & set(other)
    assert all(p.doc for p in SURICATA_PANELS.values())


CVE_CASES = [
    ("ET EXPLOIT Possible CVE-2020-11899 Multicast out-of-bound read", ["CVE-2020-11899"]),
    ('["CVE_2021_44228", "CVE_2021_45046"]', ["CVE-2021-44228", "CVE-2021-45046"]),  # ET metadata.cve
    ("cve 2019-0708 and CVE-2019-0708 again, CVE-2017-0144", ["CVE-2017-0144", "CVE-2019-0708"]),
    ("CVE-2014-6271x CVE-2024-123456", ["CVE-2014-6271", "CVE-2024-123456"]),  # five- and six-digit numbers
    ("CVE-20-1234, CVE20211234, CVE-2021-123, no id", []),  # too short, no separator, too few digits
    (None, []),
]


@pytest.mark.parametrize(("text", "want"), CVE_CASES)
def test_cve_ids_are_found_and_normalised_alike_in_python_and_sql(text: str | None, want: list[str]) -> None:
    assert cve_ids(text) == want
    got = duckdb.sql(f"SELECT {cve_sql('t')} FROM (SELECT ?::VARCHAR AS t)", params=[text]).fetchall()[0][0]
    assert (got or []) == want


# ------------------------------------------------------------------ panels through the API, counted from the lines


def test_signatures_categories_and_severities(client: TestClient, recs: Recs) -> None:
    a = alerts(recs)

    def rule(r: dict[str, Any]) -> tuple[Any, ...]:
        x = r["alert"]
        return (x["signature_id"], x["signature"], x["category"], x["severity"])

    want = se.counted(a, rule)
    got = {(r["signature_id"], r["signature"], r["category"], r["severity"]): (r["alerts"], r["unique_ips"])
           for r in api(client, "suricata-signatures")}  # fmt: skip
    assert got == want
    top = api(client, "suricata-signatures", limit=1)[0]
    assert top["alerts"] == max(n for n, _ in want.values())
    assert {r["category"]: r["alerts"] for r in api(client, "suricata-categories")} == dict(
        collections.Counter(r["alert"]["category"] for r in a)
    )
    sev = api(client, "suricata-severities")
    assert [(r["severity"], r["alerts"]) for r in sev] == sorted(
        collections.Counter(r["alert"]["severity"] for r in a).items()
    )
    assert {r["severity"]: r["label"] for r in sev} == {1: "high", 2: "medium", 3: "low"}
    assert sum(r["alerts"] for r in sev) == len(a) > 250  # the samples' alerts and the hostile ones


def test_cves_from_signature_text_and_metadata(client: TestClient, recs: Recs) -> None:
    want: collections.Counter[str] = collections.Counter()
    for r in alerts(recs):
        for c in se.cves_of(r["alert"]):
            want[c] += 1
    got = api(client, "suricata-cves")
    assert {r["cve"]: r["alerts"] for r in got} == dict(want)
    assert {"CVE-2020-11899", "CVE-2021-44228", "CVE-2021-45046", "CVE-2019-0708"} == set(want)
    log4j = next(r for r in got if r["cve"] == "CVE-2021-44228")
    assert (log4j["alerts"], log4j["signatures_seen"]) == (2, se.HOSTILE_SIG)  # data, byte for byte


def test_sources_countries_asns_with_alerts(client: TestClient, con: duckdb.DuckDBPyConnection, recs: Recs) -> None:
    events = se.counted(recs, se.ip, lambda r: se.ip(r) is not None)
    n_alerts = collections.Counter(se.ip(r) for r in alerts(recs))
    got = {r["ip"]: r for r in api(client, "suricata-sources")}
    assert {k: (r["events"], r["alerts"]) for k, r in got.items()} == {
        k: (n, n_alerts[k]) for k, (n, _) in events.items()
    }
    geo = dict(con.sql("SELECT src_ip, any_value(src_country) FROM events GROUP BY 1").fetchall())
    asn = dict(con.sql("SELECT src_ip, any_value(src_asn) FROM events GROUP BY 1").fetchall())
    assert got[se.ATTACKER]["country"] == geo[se.ATTACKER] == "US" and got[se.ATTACKER]["asn"] == asn[se.ATTACKER]
    assert api(client, "suricata-sources", limit=1)[0]["ip"] == "172.17.0.2"  # most alerts: the APT rule
    for panel, lookup in (("suricata-countries", geo), ("suricata-asns", asn)):
        want: dict[Any, list[int]] = {}
        for addr, (n, _) in events.items():
            if lookup.get(addr) is not None:
                w = want.setdefault(lookup[addr], [0, 0])
                w[0], w[1] = w[0] + n, w[1] + n_alerts[addr]
        key = "country" if panel == "suricata-countries" else "asn"
        assert {r[key]: [r["events"], r["alerts"]] for r in api(client, panel)} == want, panel
    assert {r["country"] for r in api(client, "suricata-countries")} == {"US", "GB"}


def test_sensors_name_no_sensor_and_filter(client: TestClient, recs: Recs) -> None:
    want = se.counted(recs, lambda r: r.get("host") or se.NO_SENSOR)
    got = {r["sensor"]: (r["events"], r["unique_ips"]) for r in api(client, "suricata-sensors")}
    assert got == want and set(got) == {se.SENSOR, se.NO_SENSOR}
    only = api(client, "suricata-signatures", sensor=se.SENSOR)
    assert {r["signature_id"]: r["alerts"] for r in only} == {2034647: 2, 2024364: 1}
    none = api(client, "suricata-sensors", sensor=se.NO_SENSOR)
    assert [(r["sensor"], r["events"]) for r in none] == [(se.NO_SENSOR, want[se.NO_SENSOR][0])]


def test_event_types_protocols_and_flow_bytes(client: TestClient, recs: Recs) -> None:
    got = {r["event_type"]: (r["events"], r["flows"]) for r in api(client, "suricata-event-types")}
    flows = collections.defaultdict(set)
    for r in recs:
        if "flow_id" in r:
            flows[r["event_type"]].add((r.get("host"), str(r["flow_id"])))
    assert got == {t: (n, len(flows[t])) for t, n in collections.Counter(r["event_type"] for r in recs).items()}
    protos = api(client, "suricata-protocols")
    want_bytes = sum(
        r["flow"]["bytes_toserver"] + r["flow"]["bytes_toclient"] for r in recs if r["event_type"] == "flow"
    )
    assert sum(r["bytes"] or 0 for r in protos) == want_bytes
    assert sum(r["events"] for r in protos) == sum(1 for r in recs if "proto" in r)  # every record with a transport
    assert (protos[0]["transport"], protos[0]["protocol"]) == ("tcp", "http")  # most flows


def test_files_and_urls(client: TestClient, recs: Recs) -> None:
    fi = [r for r in recs if r["event_type"] == "fileinfo"]
    files = api(client, "suricata-files")
    assert sum(r["transfers"] for r in files) == len(fi)
    assert {r["filename"] for r in files} == {r["fileinfo"]["filename"] for r in fi}
    hostile = next(r for r in files if r["filename"] == se.HOSTILE_FILE)
    assert (hostile["sha256"], hostile["size"], hostile["magic"]) == (se.HOSTILE_SHA, 4242, "ELF <x>")
    assert {r["md5"] for r in files if r["md5"]} == {r["fileinfo"]["md5"] for r in fi if "md5" in r["fileinfo"]}
    want = collections.Counter(se.url_of(r) for r in recs if r["event_type"] == "http" and se.url_of(r))
    pages = [api(client, "suricata-urls", offset=o) for o in (0, 500)]  # more than a page of URLs
    assert [len(p) for p in pages] == [500, len(want) - 500]
    assert {r["url"]: r["requests"] for p in pages for r in p} == dict(want)
    assert pages[0][0]["requests"] == max(want.values())
    hostile_url = f"http://victim.example{se.HOSTILE_PATH}"
    row = next(r for r in api(client, "suricata-urls", sensor=se.SENSOR) if r["url"] == hostile_url)
    assert (row["methods"], row["statuses"], row["user_agents"]) == ("GET", "404", 1)


def test_downloads_view_lists_fileinfo_with_a_source(client: TestClient, recs: Recs) -> None:
    fi = [r for r in recs if r["event_type"] == "fileinfo"]
    keys = collections.Counter((se.url_of(r), (r["fileinfo"].get("sha256") or "").lower() or None) for r in fi)
    got = client.get("/api/malware/downloads", params={"limit": 500}).json()
    assert "sources" in got["columns"] and not got["has_more"]
    rows = [dict(zip(got["columns"], r, strict=True)) for r in got["rows"]]
    assert {(r["url"], r["sha256"]): r["count"] for r in rows} == dict(keys)
    assert {r["sources"] for r in rows} == {"suricata"}
    hostile = next(r for r in rows if r["sha256"] == se.HOSTILE_SHA)
    assert (hostile["sensors"], hostile["status"], hostile["first_session"]) == (se.SENSOR, "pending", None)
    only = client.get("/api/malware/downloads", params={"limit": 500, "sensor": se.SENSOR}).json()
    assert [r[only["columns"].index("sha256")] for r in only["rows"]] == [se.HOSTILE_SHA]


# ------------------------------------------------------------------ filters, timeline, rollup, empty lake


def test_time_and_country_filters_select_the_right_alerts(client: TestClient, recs: Recs) -> None:
    since, until = "2023-01-01T00:00:00Z", "2024-01-01T00:00:00Z"
    tpot = [r for r in alerts(recs) if se.utc(r["timestamp"]).year == 2023]
    got = api(client, "suricata-categories", since=since, until=until)
    assert {r["category"]: r["alerts"] for r in got} == dict(collections.Counter(r["alert"]["category"] for r in tpot))
    gb = api(client, "suricata-sources", country="GB")
    assert {r["ip"] for r in gb} == {"185.125.190.39", "185.125.190.82"} and {r["country"] for r in gb} == {"GB"}


def test_alert_timeline_api(client: TestClient, recs: Recs) -> None:
    per_day = collections.Counter(se.utc(r["timestamp"]).date().isoformat() for r in alerts(recs))
    t = client.get("/api/suricata/timeline", params={"bucket": "day", "by": "category"}).json()
    assert t["bucket"] == "day" and t["columns"] == ["bucket", "series", "events"]
    days: collections.Counter[str] = collections.Counter()
    for b, _, n in t["rows"]:
        days[b[:10]] += n
    assert days == per_day
    auto = client.get("/api/suricata/timeline", params={"sensor": se.SENSOR}).json()
    assert auto["bucket"] == "hour"
    assert sorted((b[11:13], s, n) for b, s, n in auto["rows"]) == [("10", "1 high", 1), ("11", "1 high", 1),
                                                                     ("12", "2 medium", 1)]  # fmt: skip
    sig = client.get("/api/suricata/timeline", params={"by": "signature", "series": 1, "bucket": "day"}).json()
    assert {s for _, s, _ in sig["rows"]} == {"ET POLICY GNU/Linux APT User-Agent Outbound likely related to "
                                              "package management", "other"}  # fmt: skip
    assert client.get("/api/suricata/timeline", params={"by": "colour"}).status_code == 422
    m = client.get("/api/meta").json()
    assert [p["name"] for p in m["suricata_panels"]] == list(SURICATA_PANEL_NAMES)


ROLLUP_FILTERS = [
    Filters(), Filters(since=se.utc("2023-02-03T03:00:00+00:00"), until=se.utc("2026-11-20T11:00:00+00:00")),
    Filters(since=se.utc("2023-02-03T03:11:00+00:00"), until=se.utc("2026-11-20T11:30:00+00:00")),
    Filters(sensors=(se.NO_SENSOR,), countries=("US", "GB")),
]  # fmt: skip


def test_a_stored_suricata_rollup_gives_the_same_panels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Registering :data:`SURICATA_ROLLUP` in the lake's rollups (ingest then stores it) changes no answer, for
    whole hours (rollup rows only) and partial ones (rollup rows and events): the same lake is asked with its
    rollups, then with them switched off (the events path)."""
    monkeypatch.setitem(rollup.ROLLUPS, "suricata", SURICATA_ROLLUP)
    c = Lake(se.build_lake(tmp_path, se.CLEAN[2:])).connect()  # the T-Pot capture and the hostile records
    try:
        assert c.execute("SELECT getvariable('honeyfarm_rollups')").fetchall() == [(True,)]
        assert c.execute("SELECT count(*) FROM rollup_suricata").fetchall() != [(0,)]
        got = [{n: p.func(c, f, limit=500).to_pylist() for n, p in SURICATA_PANELS.items()} for f in ROLLUP_FILTERS]
        c.execute("SET VARIABLE honeyfarm_rollups = false")
        want = [{n: p.func(c, f, limit=500).to_pylist() for n, p in SURICATA_PANELS.items()} for f in ROLLUP_FILTERS]
        assert got == want
        assert all(want[0].values())  # every panel has rows to compare
    finally:
        c.close()


def test_empty_lake_gives_empty_suricata_panels(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    empty = Lake(tmp_path / "no-lake-yet").connect()
    for name, p in SURICATA_PANELS.items():
        t = p.func(empty, Filters())
        assert t.num_rows == 0 and t.schema.names == p.func(con, Filters()).schema.names, name


def test_api_answers_carry_hostile_text_as_data(client: TestClient) -> None:
    r = client.get("/api/panels/suricata-signatures", params={"sensor": se.SENSOR})
    assert r.headers["content-type"].startswith("application/json")
    assert json.loads(r.text)["rows"][0][1] == se.HOSTILE_SIG


# ------------------------------------------------------------------ honeyfarm report


def test_report_suricata_prints_every_panel_with_terminal_escapes_shown(lake: Path, tmp_path: Path) -> None:
    p = hf("report", "suricata", "--lake", str(lake), "--sensor", se.SENSOR, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert [name for name in SURICATA_PANEL_NAMES if name not in p.stdout] == []
    assert "CVE-2021-44228" in p.stdout and "\\x1b]0;pwned\\x07" in p.stdout and "\\u202egnp.exe" in p.stdout
    assert "\x1b" not in p.stdout and "\u202e" not in p.stdout and "\x07" not in p.stdout
    assert "2034647" in p.stdout and "2,034,647" not in p.stdout  # a rule id is no amount
    assert all(c in p.stdout for c in ("CVE-2019-0708", "CVE-2021-44228", "CVE-2021-45046"))  # the sensor's only
    assert "CVE-2020-11899" not in p.stdout and "(no sensor)" not in p.stdout
