# SPDX-License-Identifier: MIT
"""What a T-Pot/Kibana user looks for first, through the real API (FastAPI TestClient).

The lake: tests/fixture_events.py's Cowrie and Heralding sessions, one session of hostile credentials
(``%``, ``_``, quotes, an empty password) dated now, and real Suricata, Dionaea, VPC Flow, Route 53 and
Heralding logs from ../shared/samples (skipped with a reason when absent). Every expected number is
counted here from the events, not from the code under test.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixture_events import EVENTS, _session
from fixture_events import build_lake as build_fixture_lake
from lakeutil import query
from webutil import TestClient

from honeyfarm.analysis.overview import HONEYPOT_KINDS, MAX_SEARCH
from honeyfarm.config import Config
from honeyfarm.pipeline import ingest
from honeyfarm.views.web.app import create_app
from honeyfarm.views.web.explore_api import router as explore_router
from honeyfarm.views.web.queries import SESSION_COLUMNS
from honeyfarm.views.web.settings import ServeConfig

SAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "samples"
SAMPLE_FILES = [
    "suricata_eve/tharshithgoud-Vikrant-tpot_2023-02-03.eve.json",
    "dionaea_json/hary654321-dionaea_2024-05.dionaea.json",
    "aws_vpc_flow/awsdocs-flow-log-examples_v2-default.log",
    "aws_route53_query_log/awsdocs-route53-public-query-log-example.log",
    "heralding_session_json/PRO3-SIB19-Zero-Day-IP-Blacklist_2020-12.log_session.json",
]
BASE = "http://127.0.0.1"
HOSTILE_USER = "Ad%Min_'\"x"
HOSTILE_PASS = "50%_off'; DROP TABLE events; --"
NOW_SESSION = "f00d0001"
World = tuple[Path, list[str]]


def now_events() -> list[dict[str, Any]]:
    """A session begun seconds ago (the current, partial hour of the time series) with hostile credentials."""
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=2)).replace(tzinfo=None, microsecond=0)
    return _session("alpha", NOW_SESSION, "9.9.9.9", start.isoformat(), [
        ("cowrie.session.connect", {"src_port": 50000, "dst_ip": "10.9.0.1", "dst_port": 2222, "protocol": "ssh"}),
        ("cowrie.login.failed", {"username": HOSTILE_USER, "password": HOSTILE_PASS}),
        ("cowrie.login.failed", {"username": "x_y", "password": ""}),
        ("cowrie.login.success", {"username": "root", "password": "123456"}),
        ("cowrie.session.closed", {"duration": 3.0}),
    ])  # fmt: skip


def build_world(root: Path) -> tuple[Path, list[str]]:
    """The lake described above; returns it and the samples ingested (absent ones are left out)."""
    lake = build_fixture_lake(root, [*EVENTS, *now_events()])
    have = [str(SAMPLES / f) for f in SAMPLE_FILES if (SAMPLES / f).exists()]
    if have:
        result = ingest(have, Config(), lake)
        assert result.errors == [] and result.ingested > 0, result
    return lake, have


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("tpot"))


@pytest.fixture(scope="module")
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world[0], ServeConfig()), base_url=BASE) as c:
        yield c


def get(client: TestClient, url: str, params: Any = None) -> Any:
    r = client.get(url, params=params)
    assert r.status_code == 200, (url, r.status_code, r.text[:500])
    return r.json()


def rows(table: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(zip(table["columns"], r, strict=True)) for r in table["rows"]]


def type_of(eventid: str) -> str:
    if eventid.startswith("aws.vpcflow."):
        return "vpcflow"
    if eventid.startswith("aws.route53"):
        return "route53"
    return eventid.split(".")[0]


# ------------------------------------------------------------------ overview


def test_events_per_honeypot_type_add_up_and_name_every_format(client: TestClient, world: World) -> None:
    lake, samples = world
    want: Counter[str] = Counter()
    for eventid, n in query(lake, "SELECT eventid, count(*) FROM events GROUP BY 1"):
        want[type_of(eventid)] += n
    got = rows(get(client, "/api/overview/honeypots"))
    assert {r["honeypot"]: r["events"] for r in got} == dict(want)
    assert [r["events"] for r in got] == sorted(want.values(), reverse=True)
    assert abs(sum(r["percent"] for r in got) - 100) < 0.1
    assert {r["honeypot"]: r["kind"] for r in got} == {t: HONEYPOT_KINDS.get(t, "other") for t in want}
    if len(samples) == len(SAMPLE_FILES):
        assert {"cowrie", "heralding", "suricata", "dionaea", "vpcflow", "route53"} <= set(want)
    else:
        pytest.skip(f"some samples are absent under {SAMPLES}: checked only the types present")


def test_honeypot_types_follow_the_filters(client: TestClient, world: World) -> None:
    got = rows(get(client, "/api/overview/honeypots", {"sensor": "alpha"}))
    n = query(world[0], "SELECT count(*) FROM events WHERE sensor = 'alpha'")[0][0]
    assert [(r["honeypot"], r["events"]) for r in got] == [("cowrie", n)]


def test_destination_ports_top_n_then_other_add_up_to_the_events(client: TestClient, world: World) -> None:
    lake = world[0]
    per_port = dict(query(lake, "SELECT dst_port, count(*) FROM events WHERE dst_port IS NOT NULL GROUP BY 1"))
    total, without = query(lake, "SELECT count(*), count(*) FILTER (WHERE dst_port IS NULL) FROM events")[0]
    ranked = sorted(per_port.items(), key=lambda kv: (-kv[1], kv[0]))
    for limit in (3, 100):
        ans = get(client, "/api/overview/ports", {"limit": limit})
        got = rows(ans)
        assert (ans["events"], ans["without_port"]) == (total, without)
        assert sum(r["events"] for r in got) + ans["without_port"] == ans["events"]
        top = ranked[:limit]
        assert [(r["port"], r["events"]) for r in got[: len(top)]] == top
        rest = sum(n for _, n in ranked[limit:])
        if rest:
            assert got[-1]["label"] == "other" and got[-1]["port"] is None and got[-1]["events"] == rest
        else:
            assert all(r["label"] != "other" for r in got)
    assert 2222 in per_port and 22 in per_port
    for bad in (0, 101, "x"):
        assert client.get("/api/overview/ports", params={"limit": bad}).status_code == 422


# ------------------------------------------------------------------ credentials


def logins(pred: Any) -> list[dict[str, Any]]:
    evs = [*EVENTS, *now_events()]
    return [e for e in evs if e["eventid"].endswith((".login.failed", ".login.success")) and pred(e)]


def test_a_pair_drills_down_to_its_addresses_and_sessions(client: TestClient) -> None:
    ans = get(client, "/api/credentials/detail", {"username": "root", "password": "123456"})
    tried = logins(lambda e: e.get("username") == "root" and e.get("password") == "123456")
    ips = Counter(e["src_ip"] for e in tried)
    got = rows(ans["ips"])
    assert {r["ip"]: r["attempts"] for r in got} == dict(ips)
    ok = Counter(e["src_ip"] for e in tried if e["eventid"].endswith(".login.success"))
    assert {r["ip"]: r["successes"] for r in got} == {ip: ok.get(ip, 0) for ip in ips}
    by_ip = {r["ip"]: r for r in got}
    assert (by_ip["8.8.8.8"]["country"], by_ip["8.8.8.8"]["asn"]) == ("US", 15169)
    sessions = {(r["sensor"], r["session"]) for r in rows(ans["sessions"])}
    assert sessions == {(e["sensor"], e["session"]) for e in tried}
    # a username alone: every password tried with it
    user = rows(get(client, "/api/credentials/detail", {"username": "root"})["sessions"])
    assert {(r["sensor"], r["session"]) for r in user} == {
        (e["sensor"], e["session"]) for e in logins(lambda e: e.get("username") == "root")
    }


def test_the_drill_down_matches_hostile_and_empty_values_exactly(client: TestClient) -> None:
    ans = get(client, "/api/credentials/detail", {"username": HOSTILE_USER, "password": HOSTILE_PASS})
    assert [r["ip"] for r in rows(ans["ips"])] == ["9.9.9.9"]
    assert [r["session"] for r in rows(ans["sessions"])] == [NOW_SESSION]
    # an empty password is a value: only the login that sent it, not every password of "x_y"
    empty = get(client, "/api/credentials/detail", {"username": "x_y", "password": ""})
    assert [r["attempts"] for r in rows(empty["ips"])] == [1]
    # LIKE wildcards are not wildcards: "%" is no username
    assert rows(get(client, "/api/credentials/detail", {"username": "%"})["ips"]) == []
    for bad in ({}, {"password": "x", "nopassword": "true"}):
        assert client.get("/api/credentials/detail", params=bad).status_code == 400, bad
    assert client.get("/api/credentials/detail", params={"username": "a" * 10_000}).status_code == 422


@pytest.mark.parametrize(
    ("q", "field"),
    [("%", "both"), ("_", "both"), ("'", "both"), ('"', "password"), ("ROOT", "username"), ("drop table", "password"),
     ("ad%min_", "username"), ("\\", "both")],
)  # fmt: skip
def test_search_is_a_literal_case_insensitive_substring(client: TestClient, q: str, field: str) -> None:
    def hit(e: dict[str, Any]) -> bool:
        cols = ("username", "password") if field == "both" else (field,)
        return any(e.get(c) is not None and q.lower() in str(e[c]).lower() for c in cols)

    want = Counter((e["username"], e.get("password")) for e in logins(hit))
    got = rows(get(client, "/api/credentials/search", {"q": q, "field": field, "limit": 500}))
    assert {(r["username"], r["password"]): r["attempts"] for r in got} == dict(want), q
    if q in ("%", "_"):  # only the hostile values hold them: a wildcard would have matched every pair
        assert want and all(q in (u or "") + (p or "") for u, p in want)


def test_search_refuses_empty_and_oversized_text_and_pages(client: TestClient) -> None:
    for bad in ({"q": ""}, {"q": "x" * (MAX_SEARCH + 1)}, {"q": "é" * 10_000}, {"q": "a", "field": "extra"}):
        assert client.get("/api/credentials/search", params=bad).status_code == 422, str(bad)[:40]
    every = rows(get(client, "/api/credentials/search", {"q": "o", "limit": 500}))
    page = get(client, "/api/credentials/search", {"q": "o", "limit": 2, "offset": 1})
    assert rows(page) == every[1:3] and page["has_more"] == (len(every) > 3) and page["offset"] == 1


# ------------------------------------------------------------------ session page, routes


def test_the_session_answer_carries_country_asn_client_and_hassh(client: TestClient) -> None:
    ans = get(client, "/api/session", {"sensor": "alpha", "session": "aaaa0001"})
    assert ans["events"]["columns"] == list(SESSION_COLUMNS)
    evs = rows(ans["events"])
    assert {e["src_country"] for e in evs} == {"US"} and {e["src_asn"] for e in evs} == {15169}
    assert {e["src_as_org"] for e in evs} == {"Google LLC"}
    assert "SSH-2.0-Go" in {e["client_version"] for e in evs} and any(e["hassh"] for e in evs)


def test_openapi_lists_the_new_routes(client: TestClient) -> None:
    spec = get(client, "/api/openapi.json")
    mine = {getattr(r, "path", None) for r in explore_router.routes}
    assert mine == {"/api/overview/honeypots", "/api/overview/ports", "/api/credentials/search",
                    "/api/credentials/detail"}  # fmt: skip
    assert mine <= set(spec["paths"])
