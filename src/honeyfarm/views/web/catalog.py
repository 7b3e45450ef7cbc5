# SPDX-License-Identifier: MIT
"""The sensor catalog: each sensor's region, exposure, cost and map position.

Two sources, merged per field: what honeyfarm sensors stamp on their events
(the ``identity`` rollup), and ``[fleet.sensors.<name>]`` in the config, which
wins (Cowrie or Dionaea logs carry no region or cost, and a fact written by
the operator beats one a sensor was started with). A sensor with a region but
no coordinates is placed at its cloud region's city.

Every sensor with events is in it, whatever wrote them (a Dionaea or MHN
sensor as much as a honeyfarm one); events without a sensor are not ("(no
sensor)" is no sensor to describe). :func:`notes` tells the views what is not
known of which sensor, with the ``[fleet.sensors."<name>"]`` config to add.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import duckdb

from honeyfarm.analysis.panels import NO_SENSOR, Filters, source
from honeyfarm.views.web.settings import FleetConfig

#: Approximate location (lat, lon) of public cloud regions, for the attack map's arcs.
REGION_COORDS: dict[str, tuple[float, float]] = {
    # AWS
    "us-east-1": (38.9, -77.4), "us-east-2": (40.0, -83.0), "us-west-1": (37.4, -121.9), "us-west-2": (45.8, -119.7),
    "ca-central-1": (45.5, -73.6), "ca-west-1": (51.0, -114.1), "mx-central-1": (20.6, -100.4),
    "sa-east-1": (-23.5, -46.6), "eu-west-1": (53.3, -6.3), "eu-west-2": (51.5, -0.1), "eu-west-3": (48.9, 2.4),
    "eu-central-1": (50.1, 8.7), "eu-central-2": (47.4, 8.5), "eu-north-1": (59.3, 18.1),
    "eu-south-1": (45.5, 9.2), "eu-south-2": (41.6, -0.9), "me-south-1": (26.1, 50.6), "me-central-1": (25.2, 55.3),
    "il-central-1": (32.1, 34.8), "af-south-1": (-33.9, 18.4), "ap-east-1": (22.3, 114.2),
    "ap-south-1": (19.1, 72.9), "ap-south-2": (17.4, 78.5), "ap-southeast-1": (1.35, 103.8),
    "ap-southeast-2": (-33.9, 151.2), "ap-southeast-3": (-6.2, 106.8), "ap-southeast-4": (-37.8, 145.0),
    "ap-southeast-5": (3.1, 101.7), "ap-southeast-7": (13.8, 100.5), "ap-northeast-1": (35.7, 139.7),
    "ap-northeast-2": (37.6, 127.0), "ap-northeast-3": (34.7, 135.5),
    # Google Cloud
    "us-central1": (41.3, -95.9), "us-east1": (33.2, -80.0), "us-east4": (39.0, -77.5), "us-west1": (45.6, -121.2),
    "europe-west1": (50.4, 3.8), "europe-west2": (51.5, -0.1), "europe-west3": (50.1, 8.7),
    "europe-west4": (53.4, 6.8), "asia-east1": (24.1, 120.7), "asia-northeast1": (35.7, 139.7),
    "asia-southeast1": (1.35, 103.8), "australia-southeast1": (-33.9, 151.2), "southamerica-east1": (-23.5, -46.6),
    # Azure
    "eastus": (37.4, -79.5), "westus": (37.8, -122.4), "westeurope": (52.4, 4.9), "northeurope": (53.3, -6.3),
    "southeastasia": (1.3, 103.8), "japaneast": (35.7, 139.8), "brazilsouth": (-23.5, -46.6),
    # Hetzner, DigitalOcean, OVH, Linode (common for honeypots)
    "fsn1": (50.5, 12.4), "nbg1": (49.5, 11.1), "hel1": (60.2, 24.9), "ash": (39.0, -77.5),
    "nyc1": (40.7, -74.0), "nyc3": (40.7, -74.0), "sfo3": (37.8, -122.4), "ams3": (52.4, 4.9),
    "fra1": (50.1, 8.7), "lon1": (51.5, -0.1), "sgp1": (1.35, 103.8), "blr1": (12.97, 77.6), "tor1": (43.7, -79.4),
}  # fmt: skip


@dataclass(frozen=True)
class SensorFacts:
    sensor: str
    region: str | None = None
    exposure: str | None = None
    provider: str | None = None
    hourly_cost: float | None = None
    lat: float | None = None
    lon: float | None = None


def _from_lake(con: duckdb.DuckDBPyConnection) -> dict[str, SensorFacts]:
    src, params = source(con, "identity", Filters())
    rows = con.execute(
        f"""SELECT sensor, arg_max(region, last_hour), arg_max(exposure, last_hour), arg_max(provider, last_hour),
        arg_max(hourly_cost, last_hour)
        FROM (SELECT sensor, region, exposure, provider, hourly_cost, max(hour) AS last_hour FROM {src}
              WHERE sensor IS NOT NULL GROUP BY ALL) GROUP BY sensor""",
        params or None,
    ).fetchall()
    return {r[0]: SensorFacts(r[0], r[1], r[2], r[3], r[4]) for r in rows}


def catalog(con: duckdb.DuckDBPyConnection, fleet: FleetConfig) -> dict[str, SensorFacts]:
    """Every sensor in the lake or the config, with what is known of it."""
    known = _from_lake(con)
    for row in con.execute(
        "SELECT DISTINCT sensor FROM " + source(con, "eventids", Filters())[0] + " WHERE sensor IS NOT NULL"
    ).fetchall():
        known.setdefault(row[0], SensorFacts(row[0]))
    for name, info in fleet.sensors.items():
        base = known.get(name, SensorFacts(name))
        given = {k: v for k, v in info.model_dump().items() if v is not None}
        known[name] = replace(base, **given)
    for name, s in known.items():
        if (s.lat is None or s.lon is None) and s.region in REGION_COORDS:
            lat, lon = REGION_COORDS[s.region]
            known[name] = replace(s, lat=lat, lon=lon)
    return dict(sorted(known.items()))


# ------------------------------------------------------------------ what is missing, and the config to add
#: The facts the views need, with an example value and what it is for: a sensor of any source (Dionaea,
#: Suricata, MHN, ...) gets them from ``[fleet.sensors."<name>"]``, as its logs carry none of them.
FACT_HINTS: dict[str, tuple[str, str]] = {
    "region": ('"eu-west-1"', "cloud region (a known one also places it on the map)"),
    "exposure": ('"ip"', "ip, domain, pastebin, ..."),
    "hourly_cost": ("0.0116", "USD per hour"),
    "lat": ("53.35", "map position"),
    "lon": ("-6.26", "map position"),
}
#: Sensors named in one config snippet (the rest are counted, not listed).
HINT_SENSORS = 3


def missing(s: SensorFacts) -> list[str]:
    """The facts of :data:`FACT_HINTS` that ``s`` lacks (a location counts as known when its region placed it)."""
    out = [k for k in ("region", "exposure", "hourly_cost") if getattr(s, k) in (None, "")]
    if s.lat is None or s.lon is None:
        out += ["lat", "lon"]
    return out


def toml_key(name: str) -> str:
    """``name`` as a quoted TOML key: JSON's escapes are TOML's, except DEL, which TOML wants escaped too."""
    return json.dumps(name, ensure_ascii=True).replace("\x7f", "\\u007f")


def config_hint(names: Iterable[str], facts: dict[str, SensorFacts], keys: tuple[str, ...] = tuple(FACT_HINTS)) -> str:
    """A ``[fleet.sensors."<name>"]`` snippet giving the first :data:`HINT_SENSORS` of ``names`` their missing
    ``keys`` (example values, each with what it is for); empty when none lacks any."""
    blocks: list[str] = []
    for name in names:
        if name == NO_SENSOR:
            continue
        need = [k for k in missing(facts.get(name, SensorFacts(name))) if k in keys]
        if not need:
            continue
        if len(blocks) == HINT_SENSORS:
            break
        lines = [f"[fleet.sensors.{toml_key(name)}]"]
        lines += [f"{k + ' = ' + FACT_HINTS[k][0]:<24} # {FACT_HINTS[k][1]}" for k in need]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def notes(names: list[str], facts: dict[str, SensorFacts], no_sensor_events: int) -> dict[str, Any]:
    """What the views say about ``names`` (sensors with events, busiest first): which lack a region, an
    exposure, a cost or a map position, how many events carry no sensor at all, and the config to add."""
    named = [n for n in names if n != NO_SENSOR]
    lacking = {n: missing(facts.get(n, SensorFacts(n))) for n in named}
    return {
        "no_region": [n for n in named if "region" in lacking[n]],
        "no_exposure": [n for n in named if "exposure" in lacking[n]],
        "no_cost": [n for n in named if "hourly_cost" in lacking[n]],
        "no_location": [n for n in named if "lat" in lacking[n]],
        "no_sensor_events": no_sensor_events,
        "config": config_hint(named, facts),
        "location_config": config_hint(named, facts, ("region", "lat", "lon")),
    }
