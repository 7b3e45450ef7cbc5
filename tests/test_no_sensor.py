# SPDX-License-Identifier: MIT
"""Every event counts in every per-sensor table: "(no sensor)", the sensor catalog and its config notes.

One lake of real samples (../shared/samples, read in place): Cowrie whose records name their sensor,
Suricata and Dionaea whose records name none, and MHN sessions named by the MHN sensor's uuid (a
sensor honeyfarm never ran). The API must show the events without a sensor as "(no sensor)" so each
per-sensor table adds up to the event counter, select exactly them with that filter, and list every
sensor with events in its catalog, with the config that would give it a region, a cost and a place.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lakeutil import query
from webutil import TestClient

from honeyfarm.analysis.panels import NO_SENSOR
from honeyfarm.config import Config, GeoIPConfig
from honeyfarm.lake.store import Lake
from honeyfarm.pipeline import ingest
from honeyfarm.views.web.app import create_app
from honeyfarm.views.web.catalog import SensorFacts, catalog, config_hint, toml_key
from honeyfarm.views.web.settings import FleetConfig, SensorInfo, ServeConfig

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
COWRIE = SAMPLES / "cowrie_json" / "hoanb1-cowrie-honeypot_2026-02-19.cowrie.json"  # sensor "Cowrie18vp"
DIONAEA = SAMPLES / "dionaea_json" / "hary654321-dionaea_2024-05.dionaea.json"  # no sensor
SURICATA = SAMPLES / "suricata_eve" / "surevego-testdata_2017-01-30.eve.json"  # no `host`: no sensor
MHN = SAMPLES / "mhn_dionaea_sessions" / "dekuwin24-SecurityWeek9_2017-11.mhn-session.json"
MHN_SENSOR = "0cd756ea-c6a8-11e7-910c-42010a800002"
BASE = "http://127.0.0.1"


def build_mixed_lake(root: Path, geoip: bool = False) -> Path:
    """The four samples in one lake (skips when the samples are absent); returns the lake."""
    missing = [p for p in (COWRIE, DIONAEA, SURICATA, MHN) if not p.is_file()]
    if missing:
        pytest.skip(f"shared samples absent (they live outside the project): {missing}")
    lake = root / "lake"
    cfg = Config() if geoip else Config(geoip=GeoIPConfig(enabled=False))
    r = ingest([str(p) for p in (COWRIE, DIONAEA, SURICATA, MHN)], cfg, lake)
    assert r.errors == [] and r.dead_letter == 0
    return lake


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_mixed_lake(tmp_path_factory.mktemp("nosensor"))


@pytest.fixture(scope="module")
def client(lake: Path) -> Iterator[TestClient]:
    with TestClient(create_app(lake, ServeConfig()), base_url=BASE) as c:
        yield c


def get(c: TestClient, url: str, params: Any = None) -> Any:
    r = c.get(url, params=params)
    assert r.status_code == 200, f"{url} {params}: {r.status_code} {r.text[:500]}"
    return r.json()


def rows(t: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(zip(t["columns"], r, strict=True)) for r in t["rows"]]


def counts(lake: Path) -> tuple[int, int, dict[str, int]]:
    """(all events, events without a sensor, events per named sensor), from the events themselves."""
    total, unnamed = query(lake, "SELECT count(*), count(*) FILTER (WHERE sensor IS NULL) FROM events")[0]
    named = dict(query(lake, "SELECT sensor, count(*) FROM events WHERE sensor IS NOT NULL GROUP BY 1"))
    return int(total), int(unnamed), {str(k): int(v) for k, v in named.items()}


# --------------------------------------------------------------------------- rows add up


def test_every_per_sensor_table_adds_up_to_the_event_counter(client: TestClient, lake: Path) -> None:
    total, unnamed, named = counts(lake)
    assert unnamed > 0 and set(named) == {"Cowrie18vp", MHN_SENSOR}
    want = {**named, NO_SENSOR: unnamed}
    assert get(client, "/api/meta")["events"] == total
    overview = rows(get(client, "/api/panels/overview"))
    assert overview[0]["sensor"] == "(all)" and overview[0]["events"] == total
    assert {r["sensor"]: r["events"] for r in overview[1:]} == want
    sensors = get(client, "/api/sensors")
    assert sensors["totals"]["events"] == total
    assert {r["sensor"]: r["events"] for r in rows(sensors["sensors"])} == want
    for group in ("regions", "exposures"):
        assert sum(r["events"] for r in rows(sensors[group])) == total, group
    world = get(client, "/api/map")
    assert {r["sensor"]: r["events"] for r in rows(world["sensors"])} == want


def test_no_sensor_is_a_filter_choice_selecting_exactly_the_events_without_one(client: TestClient, lake: Path) -> None:
    total, unnamed, named = counts(lake)
    assert NO_SENSOR in get(client, "/api/meta")["sensors"]
    only = rows(get(client, "/api/panels/overview", {"sensor": NO_SENSOR}))
    assert [(r["sensor"], r["events"]) for r in only] == [("(all)", unnamed), (NO_SENSOR, unnamed)]
    assert unnamed + sum(named.values()) == total
    # the events without one are exactly Suricata's and Dionaea's (MHN and Cowrie records name theirs)
    formats = dict(query(lake, "SELECT source_format, count(*) FROM events WHERE sensor IS NULL GROUP BY 1"))
    assert set(formats) == {"dionaea", "suricata"}
    both = rows(get(client, "/api/panels/overview", {"sensor": [NO_SENSOR, "Cowrie18vp"]}))
    assert both[0]["events"] == unnamed + named["Cowrie18vp"]
    assert get(client, "/api/sensors", {"sensor": NO_SENSOR})["totals"]["events"] == unnamed
    # a time range off the hour reads the raw events for its partial hours: the same NULL test there
    first = query(lake, "SELECT min(ts) FROM events WHERE sensor IS NULL")[0][0]
    since = first.replace(microsecond=0).isoformat()
    n = query(lake, f"SELECT count(*) FROM events WHERE sensor IS NULL AND ts >= TIMESTAMP '{since}'")[0][0]
    part = rows(get(client, "/api/panels/overview", {"sensor": NO_SENSOR, "since": since + "Z"}))
    assert part[0]["events"] == n


# --------------------------------------------------------------------------- catalog and its notes


def test_catalog_covers_every_sensor_with_events_not_only_honeyfarm_ones(lake: Path) -> None:
    con = Lake(lake).connect()
    try:
        known = catalog(con, FleetConfig())
        given = catalog(con, FleetConfig(sensors={MHN_SENSOR: SensorInfo(region="us-central1", hourly_cost=0.01)}))
    finally:
        con.close()
    assert set(known) == {"Cowrie18vp", MHN_SENSOR}  # "(no sensor)" is no sensor to describe
    assert known[MHN_SENSOR] == SensorFacts(MHN_SENSOR)
    m = given[MHN_SENSOR]
    assert (m.region, m.hourly_cost, m.lat, m.lon) == ("us-central1", 0.01, 41.3, -95.9)  # placed by its region


def test_sensors_notes_name_what_is_unknown_and_the_config_to_add(client: TestClient, lake: Path) -> None:
    ans = get(client, "/api/sensors")
    notes = ans["sensors"]["notes"]
    both = {"Cowrie18vp", MHN_SENSOR}
    assert set(notes["no_region"]) == set(notes["no_exposure"]) == set(notes["no_cost"]) == both
    assert notes["no_sensor_events"] == counts(lake)[1]
    per = {r["sensor"]: r for r in rows(ans["sensors"])}
    assert all(per[n]["cost"] is None and per[n]["events_per_dollar"] is None for n in per)
    cfg = tomllib.loads(notes["config"])["fleet"]["sensors"]
    assert set(cfg) == both  # the hint parses as TOML and names the very sensors
    assert set(cfg[MHN_SENSOR]) == {"region", "exposure", "hourly_cost", "lat", "lon"}
    # the map says which sensors it cannot place, with the location part of that config
    unplaced = get(client, "/api/map")["sensors"]["unplaced"]
    assert set(unplaced["sensors"]) == both and unplaced["no_sensor_events"] == notes["no_sensor_events"]
    assert set(tomllib.loads(unplaced["config"])["fleet"]["sensors"][MHN_SENSOR]) == {"region", "lat", "lon"}


def test_configured_sensor_gets_cost_and_place_and_leaves_the_notes(lake: Path) -> None:
    fleet = FleetConfig(
        sensors={MHN_SENSOR: SensorInfo(region="us-central1", exposure="ip", hourly_cost=0.01, lat=41.26, lon=-95.86)}
    )
    with TestClient(create_app(lake, ServeConfig(), fleet), base_url=BASE) as c:
        ans = get(c, "/api/sensors")
        notes = ans["sensors"]["notes"]
        assert notes["no_cost"] == notes["no_region"] == ["Cowrie18vp"]
        assert MHN_SENSOR not in notes["config"]
        m = {r["sensor"]: r for r in rows(ans["sensors"])}[MHN_SENSOR]
        assert m["events_per_dollar"] is not None and m["events_per_dollar"] > 0
        regions = {r["region"]: r for r in rows(ans["regions"])}
        assert regions["us-central1"]["events"] == m["events"] and "(unknown)" in regions
        placed = {r["sensor"]: (r["lat"], r["lon"]) for r in rows(get(c, "/api/map")["sensors"])}
        assert placed[MHN_SENSOR] == (41.26, -95.86) and placed[NO_SENSOR] == (None, None)
        assert get(c, "/api/map")["sensors"]["unplaced"]["sensors"] == ["Cowrie18vp"]


@pytest.mark.parametrize("name", ['a"b', "line\nbreak", "del\x7fete", "back\\slash", "ünï €", "[x.y]", " "])
def test_config_hint_quotes_any_sensor_name_as_toml(name: str) -> None:
    assert tomllib.loads(f"[t.{toml_key(name)}]\nk = 1") == {"t": {name: {"k": 1}}}
    hint = config_hint([name, NO_SENSOR], {})
    assert list(tomllib.loads(hint)["fleet"]["sensors"]) == [name]  # "(no sensor)" gets no block


def test_config_hint_names_at_most_three_sensors() -> None:
    hint = config_hint([f"s{i}" for i in range(10)], {})
    assert list(tomllib.loads(hint)["fleet"]["sensors"]) == ["s0", "s1", "s2"]
    assert config_hint(["done"], {"done": SensorFacts("done", "eu-west-1", "ip", None, 0.01, 1.0, 2.0)}) == ""


# --------------------------------------------------------------------------- sensor from the record


def test_route53_resolver_instance_is_the_sensor(tmp_path: Path) -> None:
    base = {"version": "1.100000", "account_id": "111122223333", "region": "us-east-1", "vpc_id": "vpc-1",
            "query_timestamp": "2024-03-01T10:00:00Z", "query_name": "c2.example.", "query_type": "A",
            "query_class": "IN", "rcode": "NOERROR", "answers": [], "srcaddr": "10.0.0.5", "srcport": "5353",
            "transport": "UDP"}  # fmt: skip
    recs = [
        {**base, "srcids": {"instance": "i-0abc123"}},
        {**base, "srcport": "5354", "srcids": {"resolver_endpoint": "rslvr-in-1"}},
        {**base, "srcport": "5355", "srcids": {}},
        {**base, "srcport": "5356"},
    ]
    path = tmp_path / "resolver.log"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    r = ingest([str(path)], Config(geoip=GeoIPConfig(enabled=False)), tmp_path / "lake")
    assert (r.ingested, r.dead_letter) == (4, 0)
    got = query(tmp_path / "lake", "SELECT src_port, sensor, extra->>'$.vpc_id' FROM events ORDER BY src_port")
    assert got == [(5353, "i-0abc123", "vpc-1"), (5354, None, "vpc-1"), (5355, None, "vpc-1"), (5356, None, "vpc-1")]
