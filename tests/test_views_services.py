# SPDX-License-Identifier: MIT
"""The service traps' report panels, API and ``honeyfarm report``, over a lake ingested from a sensor spool.

The spool (see service_events.py) is written by the sensor's own EventLog and ingested by the real
pipeline with GeoIP; every number below is counted by hand from the table there. Each panel is asked
through the API with at least one shared filter; a filtered panel also equals the panel over a lake
of only the selected events. The credential panels count these traps' logins (SMB and SIP send no
password: NULL), and attacker text stays inert in the terminal, CSV and the API's JSON.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import service_events as se
from lakeutil import hf
from webutil import TestClient

from honeyfarm.analysis.malware import PANELS as MALWARE_PANELS
from honeyfarm.analysis.names import SERVICE_PANEL_NAMES
from honeyfarm.analysis.panels import PANELS, Filters
from honeyfarm.analysis.services import SERVICE_PANELS, SERVICE_TRAPS, SERVICES_ROLLUP
from honeyfarm.analysis.traps import TRAP_PANELS
from honeyfarm.eventids import EVENT_IDS
from honeyfarm.lake import rollup
from honeyfarm.lake.store import Lake
from honeyfarm.views.web.app import create_app
from honeyfarm.views.web.settings import ServeConfig

T = dt.datetime.fromisoformat
BASE = "http://127.0.0.1"


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return se.build_lake(tmp_path_factory.mktemp("services"))


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
    r = c.get(f"/api/panels/{name}", params=params)
    assert r.status_code == 200, f"{name}: {r.status_code} {r.text[:400]}"
    t = r.json()
    return [dict(zip(t["columns"], row, strict=True)) for row in t["rows"]]


def pick(records: list[dict[str, Any]], *keys: str) -> list[tuple[Any, ...]]:
    return [tuple(r[k] for k in keys) for r in records]


# ------------------------------------------------------------------ registry and lake


def test_service_panel_registry_matches_names_and_keeps_apart_from_other_panels() -> None:
    assert list(SERVICE_PANELS) == list(SERVICE_PANEL_NAMES)
    for other in (PANELS, TRAP_PANELS, MALWARE_PANELS):
        assert not set(SERVICE_PANELS) & set(other)
    assert all(p.doc for p in SERVICE_PANELS.values())


def test_spool_uses_registered_eventids_and_ingests_every_event(con: duckdb.DuckDBPyConnection) -> None:
    assert {e for _, _, e in se.all_events()} <= set(EVENT_IDS)
    assert {e.split(".")[0] for _, _, e in se.all_events()} == set(SERVICE_TRAPS)
    assert con.sql("SELECT count(*) FROM events").fetchall() == [(len(se.all_events()),)]
    assert dict(con.sql("SELECT src_ip, any_value(src_country) FROM events GROUP BY 1").fetchall()) == se.COUNTRY
    assert con.sql("SELECT DISTINCT transport FROM events WHERE eventid LIKE 'tftp.%'").fetchall() == [("udp",)]


# ------------------------------------------------------------------ hand-counted, through the API with filters


def test_service_overview(client: TestClient) -> None:
    cols = ("trap", "events", "sessions", "unique_ips", "logins", "uploads")
    assert pick(api(client, "service-overview"), *cols) == [
        ("smb", 24, 3, 2, 2, 2), ("catchall", 14, 5, 4, 0, 0), ("mssql", 11, 2, 1, 2, 0), ("sip", 10, 2, 2, 2, 0),
        ("mysql", 7, 1, 1, 1, 1), ("ftp", 6, 1, 1, 2, 1), ("tftp", 2, 1, 1, 0, 1),
    ]  # fmt: skip
    assert pick(api(client, "service-overview", country="RU"), *cols) == [
        ("smb", 13, 2, 1, 1, 1), ("mssql", 11, 2, 1, 2, 0), ("catchall", 8, 3, 2, 0, 0), ("sip", 5, 1, 1, 1, 0),
    ]  # fmt: skip
    smb = api(client, "service-overview", honeypot="smb")
    assert [(r["trap"], r["first_seen"], r["last_seen"]) for r in smb] == [
        ("smb", "2026-11-20T10:00:00", "2026-11-21T09:00:05")
    ]


def test_smb_dialects_offered_sets_and_chosen(client: TestClient) -> None:
    cols = ("smb_version", "dialect", "offered", "negotiations", "sessions", "unique_ips")
    assert pick(api(client, "smb-dialects"), *cols) == [
        ("1", "NT LM 0.12", ", ".join(se.SMB1_OFFER), 1, 1, 1),
        ("2", "0x0210", "0x0202, 0x0210", 1, 1, 1),
        ("2", "0x0311", ", ".join(se.SMB2_OFFER), 1, 1, 1),
    ]
    assert pick(api(client, "smb-dialects", since="2026-11-21T00:00:00Z"), "dialect", "offered") == [
        ("0x0210", "0x0202, 0x0210")
    ]


def test_smb_pipes_binds_calls_and_binary_paths(client: TestClient) -> None:
    cols = ("pipe", "interface", "operation", "opnum", "binds", "calls", "commands", "unique_ips")
    want = [
        ("svcctl", "svcctl", None, None, 1, 0, None, 1),  # the bind
        ("svcctl", "svcctl", "CreateServiceW", 12, 0, 1, se.WORM_BIN, 1),
        ("svcctl", "svcctl", "OpenSCManagerW", 15, 0, 1, None, 1),
    ]
    assert pick(api(client, "smb-pipes", country="US"), *cols) == want
    assert api(client, "smb-pipes", country="RU") == []


def test_smb_exploits_per_day_and_source(client: TestClient) -> None:
    cols = ("day", "src_ip", "exploit", "detail", "probes", "sessions", "answers")
    day1 = [
        ("2026-11-20", "77.88.8.8", "doublepulsar", "ping", 1, 1, "STATUS_NOT_IMPLEMENTED"),
        ("2026-11-20", "77.88.8.8", "ms17-010", "nmap smb-vuln-ms17-010", 1, 1, "STATUS_INSUFFICIENT_RESOURCES"),
    ]
    assert pick(api(client, "smb-exploits", sensor="svc-eu"), *cols) == day1
    assert pick(api(client, "smb-exploits"), *cols) == [
        *day1, ("2026-11-21", "77.88.8.8", "ms17-010", "metasploit", 1, 1, "STATUS_INSUFFICIENT_RESOURCES")
    ]  # fmt: skip


def test_smb_shares_tree_connects_and_uploads(client: TestClient) -> None:
    cols = ("share", "tree_connects", "uploads", "files", "unique_ips")
    assert pick(api(client, "smb-shares", sensor="svc-eu"), *cols) == [("ADMIN$", 1, 1, 1, 1), ("IPC$", 2, 0, 0, 2)]
    assert pick(api(client, "smb-shares", sensor="svc-us"), *cols) == [(se.HOSTILE_SHARE, 1, 1, 1, 1)]


def test_sql_commands_per_trap(client: TestClient) -> None:
    cols = ("trap", "command", "count", "sessions", "unique_ips")
    assert pick(api(client, "sql-commands", honeypot="mysql"), *cols) == [
        ("mysql", se.UDF_SQL, 1, 1, 1), ("mysql", "SELECT @@version", 1, 1, 1), ("mysql", se.SYS_EXEC, 1, 1, 1),
    ]  # fmt: skip
    got = pick(api(client, "sql-commands"), "trap", "command")
    assert len(got) == 6 and ("mssql", "SELECT @@version") in got and ("mssql", se.HOSTILE_SQL) in got


def test_sql_shell_lines_and_urls(client: TestClient) -> None:
    cols = ("trap", "shell", "urls", "count", "sessions", "unique_ips")
    assert pick(api(client, "sql-shell"), *cols) == [
        ("mssql", se.XP_LINE, se.A_EXE, 1, 1, 1),
        ("mysql", None, se.M_SH, 1, 1, 1),  # sys_exec: a URL, no xp_cmdshell line
    ]
    assert pick(api(client, "sql-shell", country="RU"), "trap", "shell") == [("mssql", se.XP_LINE)]


def test_sip_agents_scanners_and_methods(client: TestClient) -> None:
    cols = ("user_agent", "scanner", "requests", "methods", "unique_ips")
    assert pick(api(client, "sip-agents"), *cols)[0] == ("friendly-scanner", "sipvicious", 4, "OPTIONS,REGISTER", 1)
    assert pick(api(client, "sip-agents", country="AU"), *cols) == [
        (se.FORMULA_UA, None, 1, "OPTIONS", 1),
        (se.HOSTILE_UA, None, 1, "INVITE", 1),
    ]


def test_sip_extensions_registers_and_digest_logins(client: TestClient) -> None:
    cols = ("extension", "registers", "logins", "successes", "realms", "unique_ips")
    day1 = {"since": "2026-11-20T00:00:00Z", "until": "2026-11-21T00:00:00Z"}
    assert pick(api(client, "sip-extensions", **day1), *cols) == [
        ("100", 2, 1, 0, "asterisk", 1),  # two REGISTERs to 100 (one with a tag) and its digest login
        ("101", 1, 0, 0, None, 1),
    ]
    assert pick(api(client, "sip-extensions", sensor="svc-us"), *cols) == [(se.HOSTILE_EXT, 0, 1, 0, "<i>realm</i>", 1)]


def test_catchall_ports_and_guesses(client: TestClient) -> None:
    cols = ("port", "connections", "payloads", "guesses", "unique_ips")
    assert pick(api(client, "catchall-ports"), *cols) == [
        (8443, 2, 2, "tls", 2), (3389, 2, 1, "rdp", 2), (8080, 1, 1, "http", 1),  # by connections, then payloads
    ]  # fmt: skip
    eu = [(3389, 2, 1, "rdp", 2), (8080, 1, 1, "http", 1)]  # C3 and C5 on 3389 (C5 sent nothing), C4 on 8080
    assert pick(api(client, "catchall-ports", sensor="svc-eu"), *cols) == eu
    gcols = ("guess", "port", "ja4", "ja3", "payloads", "unique_ips", "sni")
    assert pick(api(client, "catchall-guesses"), *gcols)[0] == ("tls", 8443, se.JA4, se.JA3, 2, 2,
                                                                   "example.com,printer.local")  # fmt: skip
    assert pick(api(client, "catchall-guesses", country="AU"), *gcols) == [
        ("tls", 8443, se.JA4, se.JA3, 1, 1, "printer.local")
    ]


def test_service_uploads_link_their_files(client: TestClient) -> None:
    cols = ("sha256", "trap", "path", "size", "uploads")
    assert pick(api(client, "service-uploads", sensor="svc-us"), *cols) == [
        (se.SHA_BOT, "tftp", "bins/mips", 64, 1),  # newest first
        (se.SHA_PS, "smb", se.FORMULA_PATH, 1024, 1),
    ]
    assert len(api(client, "service-uploads")) == 5  # the FTP and TFTP copies of one file are two rows
    page = client.get(f"/api/malware/files/{se.SHA_WORM}").json()  # the file page the view links to
    deliveries = dict(zip(page["deliveries"]["columns"], page["deliveries"]["rows"][0], strict=True))
    assert (deliveries["session"], deliveries["trap"]) == (se.S1.session, "smb")


def test_service_logins_per_trap_without_passwords_for_smb_and_sip(client: TestClient) -> None:
    cols = ("trap", "username", "password", "attempts", "successes")
    assert pick(api(client, "service-logins", honeypot=["smb", "sip"]), *cols) == [
        ("sip", "100", None, 1, 0), ("sip", se.HOSTILE_EXT, None, 1, 0),
        ("smb", "administrator", None, 1, 1), ("smb", "guest", None, 1, 0),
    ]  # fmt: skip
    assert len(api(client, "service-logins")) == 9


# ------------------------------------------------------------------ the core credential panels


def test_credential_panels_include_every_service_traps_logins(client: TestClient) -> None:
    users = {r["username"]: (r["attempts"], r["successes"]) for r in api(client, "top-usernames", limit=100)}
    # one login of each trap: smb, ftp, mssql, mysql, sip
    assert {"administrator", "anonymous", "sa", "root", "100"} <= set(users)
    assert users["sa"] == (2, 1) and users["guest"] == (1, 0)
    passwords = {r["password"] for r in api(client, "top-passwords", limit=100)}
    assert passwords == {"admin", "mozilla@example.com", "P@ssw0rd", se.FORMULA_PASSWORD}  # NULLs are no password
    pairs = pick(api(client, "top-credentials", limit=100), "username", "password", "attempts", "successes")
    assert ("administrator", None, 1, 1) in pairs and ("100", None, 1, 0) in pairs and ("root", None, 1, 1) in pairs
    assert len(pairs) == 9
    by_trap = {
        trap: {r["username"] for r in api(client, "top-usernames", honeypot=trap)}
        for trap in ("smb", "ftp", "mssql", "mysql", "sip")
    }
    assert by_trap == {"smb": {"administrator", "guest"}, "ftp": {"admin", "anonymous"}, "mssql": {"sa"},
                       "mysql": {"root"}, "sip": {"100", se.HOSTILE_EXT}}  # fmt: skip


# ------------------------------------------------------------------ filters, API shape


FILTER_CASES: dict[str, tuple[Filters, se.Pred]] = {
    "sensor": (Filters(sensors=("svc-us",)), lambda c, t, e: c.sensor == "svc-us"),
    "country": (Filters(countries=("RU",)), lambda c, t, e: se.COUNTRY[c.ip] == "RU"),
    "honeypot": (Filters(honeypots=("smb", "sip")), lambda c, t, e: e.split(".")[0] in ("smb", "sip")),
    "unaligned": (Filters(since=T("2026-11-20T10:00:05"), until=T("2026-11-21T15:30:01")),
                  lambda c, t, e: T("2026-11-20T10:00:05") <= t < T("2026-11-21T15:30:01")),
}  # fmt: skip


@pytest.mark.parametrize("case", FILTER_CASES)
def test_filtered_panels_equal_panels_over_only_the_selected_events(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, case: str
) -> None:
    f, pred = FILTER_CASES[case]
    sub = Lake(se.build_lake(tmp_path, pred)).connect()
    try:
        for name, p in SERVICE_PANELS.items():
            got, want = p.func(con, f, limit=100), p.func(sub, Filters(), limit=100)
            assert got.schema.names == want.schema.names, name
            assert got.to_pylist() == want.to_pylist(), (case, name)
    finally:
        sub.close()


ROLLUP_FILTERS = [
    Filters(), Filters(since=T("2026-11-20T11:00:00"), until=T("2026-11-21T15:00:00")),
    Filters(since=T("2026-11-20T10:00:01.5"), until=T("2026-11-21T11:00:04")), Filters(countries=("US", "RU")),
]  # fmt: skip


def test_a_stored_services_rollup_gives_the_same_panels(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Registering :data:`SERVICES_ROLLUP` in the lake's rollups (ingest then stores it) changes no answer,
    for whole hours (rollup rows only) and partial ones (rollup rows and events)."""
    want = [{n: p.func(con, f, limit=100).to_pylist() for n, p in SERVICE_PANELS.items()} for f in ROLLUP_FILTERS]
    monkeypatch.setitem(rollup.ROLLUPS, "services", SERVICES_ROLLUP)
    c = Lake(se.build_lake(tmp_path)).connect()
    try:
        assert c.execute("SELECT getvariable('honeyfarm_rollups')").fetchall() == [(True,)]
        assert c.execute("SELECT count(*) FROM rollup_services").fetchall() != [(0,)]
        got = [{n: p.func(c, f, limit=100).to_pylist() for n, p in SERVICE_PANELS.items()} for f in ROLLUP_FILTERS]
        assert got == want
    finally:
        c.close()


def test_empty_lake_gives_empty_service_panels(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    empty = Lake(tmp_path / "no-lake-yet").connect()
    for name, p in SERVICE_PANELS.items():
        t = p.func(empty, Filters())
        assert t.num_rows == 0 and t.schema.names == p.func(con, Filters()).schema.names, name


def test_api_pages_meta_and_timeline(client: TestClient) -> None:
    r = client.get("/api/panels/service-overview", params={"limit": 2, "offset": 1}).json()
    assert [row[0] for row in r["rows"]] == ["catchall", "mssql"] and r["has_more"] and r["offset"] == 1
    m = client.get("/api/meta").json()
    assert [p["name"] for p in m["service_panels"]] == list(SERVICE_PANEL_NAMES)
    assert set(SERVICE_TRAPS) <= set(m["honeypots"])
    t = client.get("/api/services/timeline", params={"bucket": "day", "country": "RU"}).json()
    assert t["bucket"] == "day" and t["columns"] == ["bucket", "series", "events"]
    assert sorted((b[:10], s, n) for b, s, n in t["rows"]) == [
        ("2026-11-20", "sip", 5), ("2026-11-20", "smb", 7),
        ("2026-11-21", "catchall", 8), ("2026-11-21", "mssql", 11), ("2026-11-21", "smb", 6),
    ]  # fmt: skip
    auto = client.get("/api/services/timeline").json()
    assert auto["bucket"] == "hour" and sum(row[2] for row in auto["rows"]) == len(se.all_events())
    assert client.get("/api/services/timeline", params={"bucket": "week"}).status_code == 422
    assert client.get("/api/panels/smb-nope").status_code == 404


def test_api_answers_carry_hostile_text_as_data(client: TestClient) -> None:
    r = client.get("/api/panels/smb-shares", params={"sensor": "svc-us"})
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["rows"][0][0] == se.HOSTILE_SHARE


# ------------------------------------------------------------------ honeyfarm report


def test_report_prints_service_panels_with_terminal_escapes_shown(lake: Path, tmp_path: Path) -> None:
    p = hf("report", "sql-commands", "--lake", str(lake), "--honeypot", "mssql", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "xp_cmdshell" in p.stdout and "\\x1b]0;pwned\\x07" in p.stdout
    assert "\x1b" not in p.stdout and "\x07" not in p.stdout and "SELECT @@version" in p.stdout
    p = hf("report", "services", "--lake", str(lake), "--country", "RU", cwd=tmp_path)  # every service panel
    assert p.returncode == 0, p.stderr
    assert [name for name in SERVICE_PANEL_NAMES if name not in p.stdout] == []
    assert "\\u202evid.exe" in p.stdout and "IPC$" in p.stdout and "ADMIN$" not in p.stdout  # smb-shares, RU only
    assert "\x1b" not in p.stdout and "\u202e" not in p.stdout


def test_report_csv_neutralises_formulas(lake: Path, tmp_path: Path) -> None:
    p = hf("report", "sip-agents", "--lake", str(lake), "--csv", "--country", "AU", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith("user_agent,scanner,requests,methods,unique_ips")
    cells = [line.split(",", 1)[0] for line in lines[1:]]
    assert cells[0].startswith("\"'=HYPERLINK(") and not any(c.startswith(("=", '"=')) for c in cells), cells
    p = hf("report", "service-uploads", "--lake", str(lake), "--csv", "--sensor", "svc-us", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "\"'=HYPERLINK(" in p.stdout and ',"=HYPERLINK' not in p.stdout and ",=HYPERLINK" not in p.stdout
