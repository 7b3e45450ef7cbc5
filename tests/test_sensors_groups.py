# SPDX-License-Identifier: MIT
"""The Sensors view's region and exposure rows count distinct source IPs and files of their own.

One source IP that attacks two sensors of a region is one IP of that region, and one file fetched on
both is one file: summing the sensors' distinct counts (what the view once did) counted them twice.
The lake here has sources and a file shared across sensors of one region and one exposure; every
group's figures are checked against a distinct count over the raw events, unfiltered and filtered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lakeutil import query, write_jsonl, z
from webutil import TestClient

from honeyfarm.config import Config
from honeyfarm.pipeline import ingest
from honeyfarm.views.web.app import create_app
from honeyfarm.views.web.settings import FleetConfig, SensorInfo, ServeConfig

T0 = dt.datetime(2026, 3, 2, 10, 0, 0)
SHA = "ab" * 32
FLEET = FleetConfig(
    sensors={
        "a1": SensorInfo(region="eu-west-1", exposure="ip"),
        "a2": SensorInfo(region="eu-west-1", exposure="ip"),
        "b1": SensorInfo(region="us-east-1", exposure="ip"),
        "c1": SensorInfo(region="us-east-1", exposure="domain"),
        # "z9" has no facts: region and exposure "(unknown)"
    }
)
#: (sensor, source IP) of each session: 203.0.113.1 reaches four sensors, 203.0.113.2 two of one region
VISITS = [
    ("a1", "203.0.113.1"), ("a2", "203.0.113.1"), ("b1", "203.0.113.1"), ("c1", "203.0.113.1"),
    ("a1", "203.0.113.2"), ("a2", "203.0.113.2"),
    ("b1", "203.0.113.3"), ("z9", "203.0.113.3"), ("z9", "203.0.113.4"),
]  # fmt: skip
GROUPS = {"region": {"eu-west-1": {"a1", "a2"}, "us-east-1": {"b1", "c1"}, "(unknown)": {"z9"}},
          "exposure": {"ip": {"a1", "a2", "b1"}, "domain": {"c1"}, "(unknown)": {"z9"}}}  # fmt: skip


def _records() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, (sensor, ip) in enumerate(VISITS):
        t = T0 + dt.timedelta(minutes=13 * i)
        sess = f"5e55{i:04x}"
        base = {"sensor": sensor, "session": sess, "src_ip": ip}
        out.append({**base, "timestamp": z(t), "eventid": "cowrie.session.connect", "dst_port": 22})
        if sensor in ("a1", "a2", "b1"):  # the same file on three sensors, two of them in one region
            out.append({**base, "timestamp": z(t + dt.timedelta(seconds=5)), "eventid": "cowrie.session.file_download",
                        "url": "http://198.51.100.7/x.sh", "shasum": SHA, "outfile": f"dl/{SHA}"})  # fmt: skip
        out.append({**base, "timestamp": z(t + dt.timedelta(seconds=9)), "eventid": "cowrie.session.closed"})
    return out


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("groups")
    log = write_jsonl(root / "cowrie.json", _records())
    res = ingest([str(log)], Config(), root / "lake")
    assert res.errors == [] and res.dead_letter == 0
    return root / "lake"


@pytest.fixture(scope="module")
def client(lake: Path) -> Iterator[TestClient]:
    with TestClient(create_app(lake, ServeConfig(cache_entries=0), FLEET), base_url="http://127.0.0.1") as c:
        yield c


def _rows(t: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r[0]: dict(zip(t["columns"], r, strict=True)) for r in t["rows"]}


def _truth(lake: Path, sensors: set[str], where: str) -> tuple[int, int]:
    names = ", ".join(f"'{s}'" for s in sorted(sensors))
    row = query(
        lake,
        f"""SELECT count(DISTINCT src_ip), count(DISTINCT sha256) FILTER (WHERE eventid LIKE '%.file_download')
        FROM events WHERE sensor IN ({names}) AND {where}""",
    )[0]
    return int(row[0]), int(row[1])


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({}, "true"),
        # off the hour: the whole hours from the rollups, the partial ones from the events
        ({"since": "2026-03-02T10:20:00", "until": "2026-03-02T11:40:00"},
         "ts >= '2026-03-02 10:20:00' AND ts < '2026-03-02 11:40:00'"),
        ({"internal": "exclude"}, "true"),
    ],
)  # fmt: skip
def test_groups_count_distinct_ips_and_files(
    client: TestClient, lake: Path, params: dict[str, str], where: str
) -> None:
    out = client.get("/api/sensors", params=params).json()
    per = _rows(out["sensors"])
    for kind, groups in GROUPS.items():
        rows = _rows(out[f"{kind}s"])
        for name, members in groups.items():
            present = members & set(per)
            if not present:
                assert name not in rows
                continue
            ips, files = _truth(lake, present, where)
            assert (rows[name]["unique_ips"], rows[name]["downloads"]) == (ips, files), (kind, name, params)
            assert rows[name]["sensors"] == len(present)
            assert rows[name]["events"] == sum(per[s]["events"] for s in present)  # additive figures still add up
    total_ips = query(lake, f"SELECT count(DISTINCT src_ip) FROM events WHERE {where}")[0][0]
    assert out["totals"]["unique_ips"] == total_ips


def test_shared_sources_are_counted_once_per_group(client: TestClient) -> None:
    """The figures the old per-sensor sums got wrong, spelled out."""
    out = client.get("/api/sensors").json()
    regions, exposures = _rows(out["regions"]), _rows(out["exposures"])
    per = _rows(out["sensors"])
    assert (per["a1"]["unique_ips"], per["a2"]["unique_ips"]) == (2, 2)
    assert (regions["eu-west-1"]["unique_ips"], regions["eu-west-1"]["downloads"]) == (2, 1)  # the sum said 4, 2
    assert (exposures["ip"]["unique_ips"], exposures["ip"]["downloads"]) == (3, 1)  # the sum said 6, 3
    assert (regions["us-east-1"]["unique_ips"], regions["(unknown)"]["unique_ips"]) == (2, 2)
    assert out["totals"]["unique_ips"] == 4
