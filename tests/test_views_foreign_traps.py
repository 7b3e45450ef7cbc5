# SPDX-License-Identifier: MIT
"""Tanner's requests count in the Exploit traps view, Dionaea's and MHN's connections in the Services view.

A lake of the real samples in ``../shared/samples`` (Tanner's report, Dionaea's JSON log and SQLite
database, MHN's Dionaea sessions), read in place. Every expected number is counted here from the sample
lines with plain Python (no parser code), then asked of the dashboard's API; the stored traps rollup must
answer as the raw events do; and the two views render the rows in headless Chromium without an error.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browserutil import require_browser, served_page
from webutil import TestClient

from honeyfarm.analysis.panels import Filters
from honeyfarm.analysis.services import SERVICE_PANELS, SERVICES_ROLLUP
from honeyfarm.analysis.traps import TRAP_PANELS
from honeyfarm.config import Config
from honeyfarm.lake import rollup
from honeyfarm.lake.store import Lake
from honeyfarm.pipeline import ingest
from honeyfarm.views.web.app import create_app
from honeyfarm.views.web.settings import ServeConfig

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
SETS = ("tanner_report", "dionaea_json", "mhn_dionaea_sessions")
OPTIONAL = "dionaea_sqlite"  # its logins are the only real Dionaea logins among the samples
# Dionaea's service names (and MHN's) -> the service the Services view shows: written out here, not imported.
SERVICES = {"httpd": "http", "smbd": "smb", "mssqld": "mssql", "mysqld": "mysql", "ftpd": "ftp", "mongod": "mongodb",
            "epmapper": "epmapper", "sipsession": "sip", "sipcall": "sip", "rtpudpstream": "rtp",
            "pcap": "closed port"}  # fmt: skip
# Tanner detections that are no attack, and the names honeyfarm's web trap gives the others.
NO_ATTACK = {"index", "unknown"}
RENAMED = {"lfi": "traversal", "cmd_exec": "cmd_injection"}
ALL = {"internal": "include"}  # the Tanner and Dionaea JSON samples come from Docker bridge addresses


def sample(name: str) -> Path:
    files = (
        [p for p in sorted((SAMPLES / name).glob("*")) if p.name != "SOURCES.md"] if (SAMPLES / name).is_dir() else []
    )
    if not files:
        pytest.skip(f"no samples in {SAMPLES / name} (the shared samples are not beside this checkout)")
    return files[0]


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    files = [sample(s) for s in SETS]
    extra = sorted((SAMPLES / OPTIONAL).glob("*.sqlite")) if (SAMPLES / OPTIONAL).is_dir() else []
    root = tmp_path_factory.mktemp("foreign") / "lake"
    result = ingest([str(p) for p in files + extra[:1]], Config(), root)
    assert result.dead_letter == 0 and not result.errors, result
    return root


@pytest.fixture(scope="module")
def client(lake: Path) -> Iterator[TestClient]:
    with TestClient(create_app(lake, ServeConfig()), base_url="http://127.0.0.1") as c:
        yield c


def api(c: TestClient, name: str, **params: Any) -> list[dict[str, Any]]:
    """Every row of a panel, page by page."""
    out: list[dict[str, Any]] = []
    while True:
        r = c.get(f"/api/panels/{name}", params={**ALL, **params, "limit": 500, "offset": len(out)})
        assert r.status_code == 200, f"{name}: {r.status_code} {r.text[:300]}"
        t = r.json()
        out += [dict(zip(t["columns"], row, strict=True)) for row in t["rows"]]
        if not t["has_more"]:
            return out


# ------------------------------------------------------------------ Tanner, counted from its lines


def tanner() -> list[dict[str, Any]]:
    return records(sample("tanner_report"))


def ua(r: dict[str, Any]) -> str | None:
    h = r.get("headers") or {}
    return h.get("user-agent", h.get("User-Agent"))


def attacks(r: dict[str, Any]) -> set[str]:
    name = r.get("response_msg", {}).get("response", {}).get("message", {}).get("detection", {}).get("name")
    names = name if isinstance(name, list) else [name] if isinstance(name, str) else []
    return {RENAMED.get(n, n) for n in names if n not in NO_ATTACK}


def test_tanner_requests_are_an_exploit_trap(client: TestClient) -> None:
    recs = tanner()
    sessions = {(r["uuid"], r["response_msg"]["response"]["message"]["sess_uuid"]) for r in recs}
    [row] = [r for r in api(client, "traps") if r["trap"] == "tanner"]
    assert (row["events"], row["sessions"], row["unique_ips"], row["attacks"]) == (
        len(recs),
        len(sessions),
        len({r["peer"]["ip"] for r in recs}),
        sum(1 for r in recs if attacks(r)),
    )
    assert len(recs) == 2000 and row["attacks"] > 0  # the sample as SOURCES.md describes it: xss and sqli


def test_web_paths_methods_and_attacks_of_tanner(client: TestClient) -> None:
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for r in tanner():
        per[r["path"].split("?")[0]][r["method"]] += 1
    seen: dict[str, set[str]] = defaultdict(set)
    for r in tanner():
        seen[r["path"].split("?")[0]] |= attacks(r)
    got = api(client, "web-paths")
    assert {r["path"]: r["requests"] for r in got} == {p: sum(m.values()) for p, m in per.items()}
    assert {r["path"]: r["methods"] for r in got} == {p: ",".join(sorted(m)) for p, m in per.items()}
    assert {r["path"]: r["attacks"] for r in got} == {p: ",".join(sorted(a)) or None for p, a in seen.items()}
    assert {r["traps"] for r in got} == {"tanner"}  # where every row comes from


def test_attack_classes_and_user_agents_of_tanner(client: TestClient) -> None:
    classes = Counter(a for r in tanner() for a in attacks(r))
    got = api(client, "web-attacks")
    assert {(r["kind"], r["name"]): (r["requests"], r["traps"]) for r in got} == {
        ("class", a): (n, "tanner") for a, n in classes.items()
    }
    agents = Counter(ua(r) for r in tanner() if ua(r) is not None)
    assert {r["user_agent"]: r["requests"] for r in api(client, "user-agents")} == dict(agents)
    # The default "exclude internal" leaves this lab's single Docker-bridge client out, as the dashboard does.
    assert client.get("/api/panels/web-paths", params={"internal": "exclude"}).json()["rows"] == []


def test_traps_rollup_answers_as_the_raw_events(lake: Path) -> None:
    c = Lake(lake).connect()
    try:
        assert c.execute("SELECT getvariable('honeyfarm_rollups')").fetchall() == [(True,)]
        panels = {**TRAP_PANELS, **SERVICE_PANELS}
        from_rollups = {n: p.func(c, Filters(), limit=500).to_pylist() for n, p in panels.items()}
        c.execute("SET VARIABLE honeyfarm_rollups = false")
        assert from_rollups == {n: p.func(c, Filters(), limit=500).to_pylist() for n, p in panels.items()}
        assert from_rollups["traps"] and from_rollups["service-overview"]
    finally:
        c.close()


def test_a_stored_services_rollup_answers_as_the_raw_events(
    lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Registering the services rollup (ingest then stores it, Dionaea's and MHN's rows too) changes no
    answer, for whole hours and for a window that cuts hours (rollup rows and events)."""
    filters = [Filters(), Filters(since=dt.datetime(2017, 11, 11, 6, 30, 1), until=dt.datetime(2024, 5, 17, 7, 5, 25))]
    c = Lake(lake).connect()
    try:
        want = [{n: p.func(c, f, limit=500).to_pylist() for n, p in SERVICE_PANELS.items()} for f in filters]
    finally:
        c.close()
    monkeypatch.setitem(rollup.ROLLUPS, "services", SERVICES_ROLLUP)
    files = [sample(s) for s in SETS[1:]]
    db = sorted((SAMPLES / OPTIONAL).glob("*.sqlite")) if (SAMPLES / OPTIONAL).is_dir() else []
    ingest([str(p) for p in files + db[:1]], Config(), tmp_path / "lake")
    c = Lake(tmp_path / "lake").connect()
    try:
        assert c.execute("SELECT count(*) FROM rollup_services").fetchall() != [(0,)]
        got = [{n: p.func(c, f, limit=500).to_pylist() for n, p in SERVICE_PANELS.items()} for f in filters]
    finally:
        c.close()
    assert got == want and want[0]["service-overview"] and want[1]["service-overview"]


# ------------------------------------------------------------------ Dionaea and MHN, counted from their lines


def connections() -> list[tuple[str, str, int | None]]:
    """(service, source, destination port) of every connection record of the Dionaea JSON and MHN samples."""
    out = []
    for r in records(sample("dionaea_json")):
        if r["connection"]["type"] != "listen":  # a service start: no peer
            out.append((SERVICES[r["connection"]["protocol"].lower()], "dionaea", r.get("dst_port")))
    for r in records(sample("mhn_dionaea_sessions")):
        out.append((SERVICES[r["protocol"].lower()], "mhn", r.get("destination_port")))
    return out


def test_dionaea_and_mhn_connections_count_by_service_port_and_source(client: TestClient) -> None:
    want = Counter((s, src) for s, src, _ in connections())
    ports: dict[tuple[str, str], set[int]] = defaultdict(set)
    for s, src, port in connections():
        if port is not None:
            ports[s, src].add(port)
    got = [r for r in api(client, "service-overview") if r["source"] in ("dionaea", "mhn")]
    assert {(r["trap"], r["source"]): r["events"] for r in got} == dict(want)
    assert {(r["trap"], r["source"]): r["ports"] for r in got} == {k: len(v) for k, v in ports.items()}
    assert {(r["trap"], r["source"]): r["port_list"] for r in got} == {
        k: ",".join(str(p) for p in sorted(v)[:12]) for k, v in ports.items()
    }
    assert {r["honeypot"] for r in got} == {"dionaea"}  # what a row's click filters on
    assert want["smb", "mhn"] == 84 and want["sip", "mhn"] == 130 and want["http", "dionaea"] == 486
    # Filtering on the honeypot keeps them; the service traps' own SMB has none of them.
    assert sum(r["events"] for r in api(client, "service-overview", honeypot="dionaea") if r["source"] == "mhn") == (
        sum(n for (_, src), n in want.items() if src == "mhn")
    )
    assert api(client, "service-overview", honeypot="smb") == []


def test_service_timeline_counts_every_source(client: TestClient) -> None:
    per_service = Counter[str]()
    for r in api(client, "service-overview"):
        per_service[r["trap"]] += r["events"]
    t = client.get("/api/services/timeline", params={**ALL, "bucket": "day"}).json()
    by_series = Counter[str]()
    for _, series, n in t["rows"]:
        by_series[series] += n
    assert by_series == per_service and by_series["smb"] >= 84 + 14  # MHN's and Dionaea JSON's (and SQLite's)


def test_dionaea_logins_are_service_logins(client: TestClient) -> None:
    dbs = sorted((SAMPLES / OPTIONAL).glob("*.sqlite")) if (SAMPLES / OPTIONAL).is_dir() else []
    if not dbs:
        pytest.skip(f"no Dionaea SQLite sample in {SAMPLES / OPTIONAL}")
    con = sqlite3.connect(f"{dbs[0].resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        rows = con.execute(
            "SELECT c.connection_protocol, l.login_username, l.login_password FROM logins l "
            "JOIN connections c ON c.connection = l.connection"
        ).fetchall()
    finally:
        con.close()
    want = Counter((SERVICES[p.lower()], u, pw) for p, u, pw in rows)
    got = api(client, "service-logins")
    assert {(r["trap"], r["username"], r["password"]): (r["attempts"], r["successes"], r["source"]) for r in got} == {
        k: (n, n, "dionaea_sqlite") for k, n in want.items()
    }


# ------------------------------------------------------------------ the two views in Chromium


@pytest.fixture(scope="module")
def page(lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str, list[str]]]:
    with served_page(require_browser(), lake, tmp_path_factory.mktemp("s")) as p:
        yield p


def _counters(pg: Any) -> dict[str, int]:
    js = "() => [...document.querySelectorAll('[data-counter]')].map((c) => [c.dataset.counter, +c.dataset.value])"
    return dict(pg.evaluate(js))


def test_views_show_tanner_dionaea_and_mhn_rows(page: tuple[Any, str, list[str]], client: TestClient) -> None:
    pg, url, errors = page
    pg.goto(f"{url}/#/traps?internal=include")
    pg.locator("[data-view='traps'][data-ready='1']").wait_for(timeout=20_000)
    assert _counters(pg)["tanner"] == len(tanner())
    paths = pg.locator("table[data-table='web-paths'] tbody tr")
    assert paths.count() > 0 and "tanner" in paths.first.inner_text()
    pg.goto(f"{url}/#/services?internal=include")
    pg.locator("[data-view='services'][data-ready='1']").wait_for(timeout=20_000)
    n = Counter[str]()
    for r in api(client, "service-overview"):
        n[r["trap"]] += r["events"]
    counts = _counters(pg)
    assert (counts["smb"], counts["sip"], counts["mssql"]) == (n["smb"], n["sip"], n["mssql"]) and counts["other"] > 0
    assert counts["smb"] >= Counter(s for s, _, _ in connections())["smb"] > 0
    overview = pg.locator("table[data-table='service-overview']").inner_text()
    assert "mhn" in overview and "closed port" in overview
    shares = pg.locator("table[data-table='smb-shares'] tbody tr.empty-row").inner_text()
    assert "honeyfarm's traps only" in shares  # the panels Dionaea cannot fill say so
    assert errors == [] and pg.evaluate("window.__csp") == []
