# SPDX-License-Identifier: MIT
"""Hourly rollups: panels read them when complete and agree with the raw events exactly."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from honeyfarm.analysis.overview import OVERVIEW_PANELS, dst_ports
from honeyfarm.analysis.panels import CLIENT_PANELS, PANELS, Filters
from honeyfarm.analysis.services import SERVICE_PANELS
from honeyfarm.analysis.suricata import SURICATA_PANELS
from honeyfarm.analysis.traps import TRAP_PANELS
from honeyfarm.config import Config, GeoIPConfig, LakeConfig
from honeyfarm.demo.synthetic import write_demo_logs
from honeyfarm.lake import rollup
from honeyfarm.lake.store import Lake
from honeyfarm.pipeline import ingest
from honeyfarm.views.web import queries
from honeyfarm.views.web.catalog import SensorFacts

CFG = Config(geoip=GeoIPConfig(enabled=True), lake=LakeConfig(compact_min_files=3))
T0 = dt.datetime(2026, 11, 2)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rollups")
    logs = write_demo_logs(root / "logs", events=30_000, days=4)
    # Several ingests so partitions hold several files and get compacted.
    for f in logs:
        ingest([str(f)], CFG, root / "lake")
    ingest([str(_internal_log(root / "internal.json"))], CFG, root / "lake")
    return root / "lake"


#: Sources of _internal_log(): the addresses the issue saw top the IP list, and public ones beside them.
INTERNAL_IPS = ("127.0.0.1", "172.18.0.1", "192.168.65.1", "10.1.2.3", "fd00::1")
PUBLIC_IPS = ("8.8.8.8", "1.1.1.1")


def _internal_log(path: Path) -> Path:
    """Cowrie sessions from internal and public addresses, on unaligned times of T0's first day."""
    lines = []
    for i, ip in enumerate(INTERNAL_IPS + PUBLIC_IPS):
        t = T0 + dt.timedelta(hours=2 + i, minutes=7 * i, seconds=i)
        steps = [("cowrie.session.connect", {}), ("cowrie.client.version", {"version": "b'SSH-2.0-Go'"}),
                 ("cowrie.login.failed", {"username": "root", "password": f"pw{i}"}),
                 ("cowrie.command.input", {"input": f"echo {i}"}), ("cowrie.session.closed", {})]  # fmt: skip
        for j, (eid, extra) in enumerate(steps):
            ts = (t + dt.timedelta(seconds=j)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            rec = {"eventid": eid, "timestamp": ts, "session": f"1a7e{i:08x}", "src_ip": ip, "sensor": "inner"}
            lines.append(json.dumps({**rec, **extra}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _all(con: duckdb.DuckDBPyConnection, f: Filters) -> dict[str, Any]:
    out = {}
    for name, p in PANELS.items():
        kw: dict[str, Any] = {"limit": 1000}
        out[name] = p.func(con, f, **kw).to_pylist()
    out["timeline-day-country"] = PANELS["timeline"].func(con, f, limit=3, bucket="day", by_country=True).to_pylist()
    if f not in EVERY_PANEL_FILTERS:
        return out
    # Every other report panel (each registry reads its own rollup: clients, traps, services, suricata, eventids)
    # and the dashboard's own queries over rollups (sensors view with its region/exposure distinct counts, map).
    for reg in (CLIENT_PANELS, OVERVIEW_PANELS, TRAP_PANELS, SERVICE_PANELS, SURICATA_PANELS):
        for name, p in reg.items():
            out[name] = p.func(con, f, limit=1000).to_pylist()
    facts = {"synthetic-eu-west-1": SensorFacts("synthetic-eu-west-1", region="eu", exposure="ip"),
             "inner": SensorFacts("inner", region="eu", exposure="domain")}  # fmt: skip
    out["sensors-view"] = queries.sensors(con, f, facts)
    out["map"] = queries.world_map(con, f, facts)
    out["ports"] = dst_ports(con, f, limit=100)
    return out


FILTERS = [
    Filters(),
    Filters(since=T0, until=T0 + dt.timedelta(days=1, hours=5)),
    Filters(sensors=("synthetic-eu-west-1",), countries=("US", "CN")),
    Filters(honeypots=("cowrie",), since=T0 + dt.timedelta(hours=3)),
    Filters(honeypots=("nothing",)),
    # not on whole hours: whole hours from the rollups, the partial first and last hour from events
    Filters(since=T0 + dt.timedelta(hours=2, minutes=17, seconds=3), until=T0 + dt.timedelta(days=2, minutes=42)),
    Filters(since=T0 + dt.timedelta(minutes=59, seconds=59, microseconds=1), countries=("US",)),
    Filters(until=T0 + dt.timedelta(days=1, hours=7, microseconds=5), sensors=("synthetic-eu-west-1",)),
    Filters(since=T0 + dt.timedelta(hours=5, minutes=10), until=T0 + dt.timedelta(hours=5, minutes=50)),
    Filters(since=T0 + dt.timedelta(hours=5, minutes=10), until=T0 + dt.timedelta(hours=6, minutes=50)),
    # the shared "exclude internal" filter and the eventid filter (issue 15, item 6)
    Filters(exclude_internal=True),
    Filters(exclude_internal=True, since=T0 + dt.timedelta(hours=2, minutes=3), sensors=("inner",)),
    Filters(eventids=("cowrie.login.failed",)),
    Filters(
        eventids=("cowrie.login.*", "cowrie.command.input"),
        exclude_internal=True,
        until=T0 + dt.timedelta(days=1, minutes=42),
    ),
]


#: The filters every panel registry and view query is checked with (the core panels get all of FILTERS): no filter,
#: sensor+country, an unaligned range, exclude internal on an unaligned range, an eventid prefix.
EVERY_PANEL_FILTERS = [FILTERS[i] for i in (0, 2, 5, 11, 13)]


def test_lake_has_one_rollup_file_per_event_file(lake: Path) -> None:
    lk = Lake(lake)
    files = lk.all_files("events")
    assert files
    assert lk.rollups_usable()
    tables = lk.tables()  # the current snapshot's files (replaced ones may wait on disk for their retention)
    for r in rollup.ROLLUPS:
        got = sorted(p.rsplit("/", 1)[-1] for p in tables[rollup.key(r)])
        assert got == sorted(f.name for f in files), r
        assert all(p.startswith(f"{rollup.rollup_dir(lake, r).name}/", len("_rollup/")) for p in tables[rollup.key(r)])


@pytest.mark.parametrize(
    "f",
    FILTERS,
    ids=["all", "hours", "sensor+country", "honeypot+since", "none", "unaligned", "unaligned-since",
         "unaligned-until", "within-an-hour", "across-one-boundary", "no-internal", "no-internal-unaligned",
         "eventid", "eventid-prefix"],
)  # fmt: skip
def test_panels_from_rollups_equal_panels_from_raw_events(lake: Path, f: Filters) -> None:
    con = Lake(lake).connect()
    assert con.execute("SELECT getvariable('honeyfarm_rollups')").fetchall() == [(True,)]
    from_rollups = _all(con, f)
    con.execute("SET VARIABLE honeyfarm_rollups = false")
    from_raw = _all(con, f)
    assert from_rollups == from_raw
    if f.honeypots != ("nothing",):
        assert from_rollups["overview"][0]["events"] > 0


def test_exclude_internal_drops_exactly_the_internal_sources(lake: Path) -> None:
    con = Lake(lake).connect()
    every = {r["ip"]: r for r in PANELS["top-ips"].func(con, Filters(sensors=("inner",)), limit=50).to_pylist()}
    assert set(every) == set(INTERNAL_IPS + PUBLIC_IPS)
    assert {ip for ip, r in every.items() if r["internal"]} == set(INTERNAL_IPS)
    f = Filters(sensors=("inner",), exclude_internal=True)
    assert {r["ip"] for r in PANELS["top-ips"].func(con, f, limit=50).to_pylist()} == set(PUBLIC_IPS)
    [(n,)] = con.execute(
        "SELECT count(*) FROM events WHERE sensor = 'inner' AND src_ip IN ('8.8.8.8', '1.1.1.1')"
    ).fetchall()
    assert PANELS["overview"].func(con, f).to_pylist()[0]["events"] == n == 10


def test_unaligned_time_range_is_answered_from_raw_events(lake: Path) -> None:
    con = Lake(lake).connect()
    since = T0 + dt.timedelta(minutes=17, seconds=3)
    f = Filters(since=since, until=since + dt.timedelta(hours=2))
    [total] = [r for r in PANELS["overview"].func(con, f).to_pylist() if r["sensor"] == "(all)"]
    [(n,)] = con.execute("SELECT count(*) FROM events WHERE ts >= ? AND ts < ?", [since, f.until]).fetchall()
    assert total["events"] == n > 0


def test_rollup_file_deleted_by_hand_is_rebuilt_by_the_next_writer(tmp_path: Path) -> None:
    """A writer commits an event file and its rollups in one snapshot version, so a killed writer never leaves
    one without the other; a rollup file lost some other way (deleted by hand) is rebuilt by the next writer."""
    logs = write_demo_logs(tmp_path / "logs", events=3000, days=2)
    root = tmp_path / "lake"
    ingest([str(logs[0])], CFG, root)
    lk = Lake(root)
    victim = root / next(p for p in lk.tables()[rollup.key("credentials")])
    expected = PANELS["top-credentials"].func(lk.connect(), Filters(), limit=50).to_pylist()
    victim.unlink()
    ingest([str(logs[1])], CFG, root)  # the next writer rebuilds what is missing
    assert victim.exists()
    assert lk.rollups_usable()
    con = lk.connect()
    assert con.execute("SELECT getvariable('honeyfarm_rollups')").fetchall() == [(True,)]
    got = PANELS["top-credentials"].func(con, Filters(), limit=50).to_pylist()
    con.execute("SET VARIABLE honeyfarm_rollups = false")
    assert got == PANELS["top-credentials"].func(con, Filters(), limit=50).to_pylist()
    assert expected


def test_changed_rollup_definition_is_never_read_and_is_rebuilt(tmp_path: Path, monkeypatch: Any) -> None:
    """Rollup directories carry a hash of their definition: files of an older definition (a lake written
    before a column was added) are not read as the new one; the next writer replaces them."""
    logs = write_demo_logs(tmp_path / "logs", events=3000, days=2)
    root = tmp_path / "lake"
    ingest([str(logs[0])], CFG, root)
    lk = Lake(root)
    expected = PANELS["top-commands"].func(lk.connect(), Filters(), limit=20).to_pylist()
    old = rollup.rollup_dir(root, "commands")
    changed = dataclasses.replace(rollup.ROLLUPS["commands"], measures=(("count", "count(*)"), ("n2", "count(*)")))
    monkeypatch.setitem(rollup.ROLLUPS, "commands", changed)
    assert rollup.rollup_dir(root, "commands") != old
    assert not lk.rollups_usable()  # the new definition has no files yet: panels read the events
    con = lk.connect()
    assert con.execute("SELECT getvariable('honeyfarm_rollups')").fetchall() == [(False,)]
    assert PANELS["top-commands"].func(con, Filters(), limit=20).to_pylist() == expected
    ingest([str(logs[1])], CFG, root)  # the next writer builds the new definition for every date
    assert lk.rollups_usable()
    assert not any(k.startswith(f"_rollup/{old.name}") for k in lk.tables())  # the old one left the snapshot
    assert any(rollup.rollup_dir(root, "commands").glob("date=*/*.parquet"))


def test_compaction_replaces_rollups_of_compacted_files(tmp_path: Path) -> None:
    logs = write_demo_logs(tmp_path / "logs", events=4000, days=1)
    root = tmp_path / "lake"
    for f in logs:  # 4 files into the same dates: compaction at 3
        ingest([str(f)], CFG, root)
    lk = Lake(root)
    for d in lk.partitions("events"):
        assert len(lk.partition_files("events", d)) < 3
    assert lk.rollups_usable()
    con = lk.connect()
    [(n,)] = con.execute("SELECT sum(events) FROM rollup_eventids").fetchall()
    [(m,)] = con.execute("SELECT count(*) FROM events").fetchall()
    assert n == m == 4000
