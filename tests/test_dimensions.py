# SPDX-License-Identifier: MIT
"""Clean dimensions (issue 15, item 6) on real sample logs, through the API.

One lake: the real Cowrie (2017-2026), Suricata and Tanner samples of
``../shared/samples``, plus Cowrie sessions from the internal addresses the
issue saw top the IP list (127.0.0.1, 172.18.0.1, 192.168.65.1) beside public
ones. Checked: SSH client banners and HTTP user agents in their own panels with
``b'...'`` reprs decoded; the shared ``exclude internal`` filter (SQL and Python
agree on every range); the eventid filter and its choices in ``/api/meta``;
``honeyfarm report --exclude-internal``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from lakeutil import hf, query
from webutil import TestClient

from honeyfarm.analysis.panels import Filters, is_internal
from honeyfarm.config import Config, GeoIPConfig
from honeyfarm.lake.rollup import INTERNAL
from honeyfarm.pipeline import ingest
from honeyfarm.views.web.app import create_app

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
FILES = [
    *sorted((SAMPLES / "cowrie_json").glob("*.json")),
    *sorted(p for p in (SAMPLES / "suricata_eve").glob("*.json") if "broken" not in p.name),
    *sorted((SAMPLES / "tanner_report").glob("*.json")),
]
pytestmark = pytest.mark.skipif(
    not (SAMPLES / "cowrie_json").is_dir(), reason=f"../shared/samples not present: {SAMPLES} is missing"
)

INTERNAL_IPS = ("127.0.0.1", "172.18.0.1", "192.168.65.1")
PUBLIC_IPS = ("8.8.8.8", "1.1.1.1")
T0 = dt.datetime(2026, 11, 20, 10)


def internal_log(path: Path) -> Path:
    """Cowrie sessions on sensor ``inner`` from internal and public addresses, one login each."""
    lines = []
    for i, ip in enumerate(INTERNAL_IPS + PUBLIC_IPS):
        steps = [("cowrie.session.connect", {}), ("cowrie.client.version", {"version": "b'SSH-2.0-Go'"}),
                 ("cowrie.login.failed", {"username": "root", "password": f"pw{i}"}),
                 ("cowrie.session.closed", {})]  # fmt: skip
        for j, (eid, extra) in enumerate(steps):
            ts = (T0 + dt.timedelta(minutes=i, seconds=j)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            rec = {"eventid": eid, "timestamp": ts, "session": f"d1e0{i:08x}", "src_ip": ip, "sensor": "inner"}
            lines.append(json.dumps({**rec, **extra}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dims")
    files = [*map(str, FILES), str(internal_log(root / "internal.json"))]
    ingest(files, Config(geoip=GeoIPConfig(enabled=True)), root / "lake")
    return root / "lake"


@pytest.fixture(scope="module")
def client(lake: Path) -> Any:
    with TestClient(create_app(lake), base_url="http://127.0.0.1") as c:
        yield c


def ok(p: Any) -> str:
    assert p.returncode == 0, f"exit {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
    return str(p.stdout)


def get(c: Any, path: str, params: Any = None) -> Any:
    r = c.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def rows(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(zip(answer["columns"], r, strict=True)) for r in answer["rows"]]


# ------------------------------------------------------------------ client versions


def test_ssh_panel_lists_decoded_ssh_banners_only(client: Any, lake: Path) -> None:
    ssh = rows(get(client, "/api/panels/client-versions", {"limit": 500}))
    names = [r["client_version"] for r in ssh]
    assert "SSH-2.0-Go" in names and "SSH-2.0-PUTTY" in names  # 2017/2018 logs wrote b'SSH-2.0-Go'
    assert not [n for n in names if n.startswith(("b'", 'b"'))]
    # no user agent: every banner in the panel comes from an SSH event
    want = {r[0] for r in query(lake, "SELECT DISTINCT client_version FROM events WHERE client_version IS NOT NULL "
                                      "AND (protocol = 'ssh' OR eventid LIKE '%.client.version')")}  # fmt: skip
    assert set(names) <= want
    assert not [n for n in names if n.startswith(("Docker", "Debian APT", "Mozilla", "curl"))]
    # the RDP probe old Cowrie logged as an SSH version: decoded, its non-UTF-8 bytes as \xNN escapes
    [rdp] = [n for n in names if "mstshash=eltons" in n]
    assert rdp.startswith("\\x03\\x00\\x00,\\x27\\xE0") and rdp.endswith("Cookie: mstshash=eltons")


def test_http_user_agents_panel_lists_user_agents(client: Any) -> None:
    uas = {r["user_agent"]: r for r in rows(get(client, "/api/panels/http-user-agents", {"limit": 500}))}
    assert "Docker-Client/28.4.0 (windows)" in uas and "Debian APT-HTTP/1.3 (2.4.8)" in uas
    assert "suricata" in uas["Docker-Client/28.4.0 (windows)"]["honeypots"]
    assert any("tanner" in r["honeypots"] for r in uas.values())
    assert not [u for u in uas if u.startswith("SSH-")]


# ------------------------------------------------------------------ internal addresses

ADDRESSES = {
    "127.0.0.1": True, "127.255.1.2": True, "10.0.0.1": True, "172.16.0.1": True, "172.18.0.1": True,
    "172.31.255.255": True, "172.32.0.1": False, "172.15.0.1": False, "192.168.65.1": True, "192.169.0.1": False,
    "169.254.1.1": True, "100.64.0.1": True, "100.127.255.254": True, "100.128.0.1": False, "100.63.0.1": False,
    "0.0.0.0": True, "0.1.2.3": True, "1.0.0.1": False, "8.8.8.8": False, "11.0.0.1": False, "::1": True,
    "::": True, "fe80::1": True, "FE80::1": True, "febf::1": True, "fec0::1": False, "fc00::1": True,
    "fd12:3456::1": True, "fe00::1": False, "2001:db8::1": False, "2a00:1450::200e": False,
    "0000:0000:0000:0000:0000:0000:0000:0001": True, "0:0:0:0:0:0:0:0": True, "0:0:0:0:0:0:0:2": False,
    "fe80:0000:0000:0000:0204:61ff:fe9d:f156": True, "::ffff:10.1.2.3": True,
    "::ffff:8.8.8.8": False, "not an ip": False, "": False,
}  # fmt: skip


def test_sql_and_python_agree_on_what_is_internal() -> None:
    con = duckdb.connect()
    for ip, want in ADDRESSES.items():
        [(got,)] = con.execute(f"SELECT {INTERNAL} FROM (SELECT ?::VARCHAR AS src_ip)", [ip]).fetchall()
        assert (got, is_internal(ip)) == (want, want), ip
    assert con.execute(f"SELECT {INTERNAL} FROM (SELECT NULL::VARCHAR AS src_ip)").fetchall() == [(False,)]


def test_exclude_internal_filter(client: Any, lake: Path) -> None:
    every = {r["ip"]: r for r in rows(get(client, "/api/panels/top-ips", {"sensor": "inner"}))}
    assert set(every) == set(INTERNAL_IPS + PUBLIC_IPS)  # the API's default: include
    assert {ip for ip, r in every.items() if r["internal"]} == set(INTERNAL_IPS)
    out = {r["ip"] for r in rows(get(client, "/api/panels/top-ips", {"sensor": "inner", "internal": "exclude"}))}
    assert out == set(PUBLIC_IPS)
    # every view's numbers: the whole lake's overview without internal sources == the events from other ones
    [(n,)] = query(lake, f"SELECT count(*) FROM events WHERE NOT {INTERNAL}")
    [(total,)] = query(lake, "SELECT count(*) FROM events")
    assert rows(get(client, "/api/panels/overview", {"internal": "exclude"}))[0]["events"] == n < total
    assert rows(get(client, "/api/panels/overview"))[0]["events"] == total
    ans = get(client, "/api/sessions", {"internal": "exclude", "limit": 500})
    assert not [r for r in rows(ans) if is_internal(r["src_ip"])]
    assert client.get("/api/panels/overview", params={"internal": "maybe"}).status_code == 422


def test_report_exclude_internal(lake: Path, tmp_path: Path) -> None:
    def ips(*opts: str) -> set[str]:
        out = ok(hf("report", "top-ips", "--sensor", "inner", "--lake", str(lake), "--json", *opts, cwd=tmp_path))
        return {r["ip"] for r in json.loads(out)}

    assert ips() == set(INTERNAL_IPS + PUBLIC_IPS)
    assert ips("--exclude-internal") == set(PUBLIC_IPS)


# ------------------------------------------------------------------ eventid filter


def test_eventid_filter_exact_and_prefix(client: Any, lake: Path) -> None:
    def events(**params: Any) -> int:
        return int(rows(get(client, "/api/panels/overview", params))[0]["events"])

    [(failed,)] = query(lake, "SELECT count(*) FROM events WHERE eventid = 'cowrie.login.failed'")
    [(logins,)] = query(lake, "SELECT count(*) FROM events WHERE eventid LIKE 'cowrie.login.%'")
    [(alerts,)] = query(lake, "SELECT count(*) FROM events WHERE eventid = 'suricata.alert'")
    assert events(eventid="cowrie.login.failed") == failed > 0
    assert events(eventid="cowrie.login.*") == logins > failed
    assert events(eventid=["cowrie.login.*", "suricata.alert"]) == logins + alerts
    users = rows(get(client, "/api/panels/top-usernames", {"eventid": "cowrie.login.success", "limit": 500}))
    assert users and all(r["attempts"] == r["successes"] for r in users)
    for bad in ("cowrie.login.%", "x' OR 1=1 --", "*", "cowrie..login"):
        assert client.get("/api/panels/overview", params={"eventid": bad}).status_code == 400, bad


def test_meta_offers_the_eventids_present_with_counts(client: Any, lake: Path) -> None:
    meta = get(client, "/api/meta")
    want = query(lake, "SELECT eventid, count(*) FROM events GROUP BY 1 ORDER BY 2 DESC, 1")
    assert [(e["eventid"], e["events"]) for e in meta["eventids"]] == [tuple(r) for r in want]


def test_live_filter_check_matches_the_sql_filter() -> None:
    f = Filters(exclude_internal=True, eventids=("cowrie.login.*",), sensors=("(no sensor)",))
    assert f.admits({"sensor": None, "eventid": "cowrie.login.failed", "src_ip": "8.8.8.8"})
    assert not f.admits({"sensor": None, "eventid": "cowrie.login.failed", "src_ip": "172.18.0.1"})
    assert not f.admits({"sensor": None, "eventid": "cowrie.command.input", "src_ip": "8.8.8.8"})
    assert not f.admits({"sensor": "a", "eventid": "cowrie.login.failed", "src_ip": "8.8.8.8"})
