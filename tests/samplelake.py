# SPDX-License-Identifier: MIT
"""One lake from the real sample logs of every format in ``../shared/samples`` (not collected: no test_ prefix).

Used by tests/test_samples_e2e.py and by scripts/screenshots.py (which puts this directory on ``sys.path``),
so the documentation's screenshots show the same lake the end-to-end test checks. The samples are read in
place, never copied into the project.

Each sample directory is ingested on its own, so its result can be checked against the records counted
here independently of the parsers: every record ends up ingested, a duplicate of one already in the lake
(surevego's "broken" capture repeats its clean one) or a dead letter. A ``honeyfarm.toml`` beside the lake
names a sensor for the files whose records carry none (``[[fleet.sources]]``, when this tree has it) and
gives every sensor a region, a location and an hourly cost, as an operator would.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sqlite3
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from honeyfarm.batch import IngestResult
from honeyfarm.config import load_config
from honeyfarm.lake.store import Lake
from honeyfarm.pipeline import ingest

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
STATIC = Path(__file__).resolve().parents[1] / "src" / "honeyfarm" / "views" / "web" / "static" / "js"
#: kareiva's Cowrie exec-channel TTY log; the 2018-05-24 Cowrie JSON sample has the session's events.
TTY_SESSION = "23c5bd073f0d"


def nonblank_lines(path: Path) -> int:
    return sum(1 for ln in path.read_bytes().split(b"\n") if ln.strip())


def vpc_records(path: Path) -> int:
    """Flow records: non-blank lines but the custom formats' header line (its first field is ``version``)."""
    lines = [ln.split() for ln in path.read_bytes().split(b"\n") if ln.strip()]
    return sum(1 for f in lines if f[0] != b"version")


def heralding_records(path: Path) -> int:
    """One session event per line plus one login event per auth attempt."""
    n = 0
    for ln in path.read_bytes().split(b"\n"):
        if ln.strip():
            attempts = json.loads(ln).get("auth_attempts")
            n += 1 + (len(attempts) if isinstance(attempts, list) else 0)
    return n


DIONAEA_CHILD_TABLES = ("logins", "downloads", "offers", "mssql_commands", "p0fs", "mysql_commands")


def dionaea_sqlite_records(path: Path) -> int:
    """One event per connection plus one per child row of a connection (the logsql tables)."""
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        n = int(con.execute("SELECT count(*) FROM connections").fetchone()[0])
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        for t in DIONAEA_CHILD_TABLES:
            if t in tables:
                sql = f"SELECT count(*) FROM {t} WHERE connection IN (SELECT connection FROM connections)"
                n += int(con.execute(sql).fetchone()[0])
        return n
    finally:
        con.close()


def _has_module(name: str) -> str | None:
    return None if importlib.util.find_spec(name) is not None else f"{name} is not in this tree yet"


def _has_format(name: str) -> str | None:
    from honeyfarm.formats import registry

    return None if name in registry() else f"no {name!r} format in this tree yet"


@dataclass(frozen=True)
class SampleSet:
    """One directory of samples: which files, what they must become, and the sensor a fleet config gives them."""

    name: str
    pattern: str
    #: The format ingest must detect (its ``by_format`` key in the ingest result).
    fmt: str
    #: Events the files must become (ingested + duplicates + dead letters); None: not countable as events
    #: (Cowrie's binary TTY logs are replays linked to sessions, not events).
    records: Callable[[Path], int] | None
    #: ``[[fleet.sources]]`` for files whose records name no sensor: (file glob in the set's directory, sensor),
    #: first match wins; empty when every record names its own. Per file where the files come from different
    #: honeypots years apart (one sensor "running" from 2017 to 2025 would make its per-dollar figures absurd).
    sensors: tuple[tuple[str, str], ...]
    #: Why this tree cannot ingest the set yet (a feature another change brings), or None.
    missing: Callable[[], str | None] = lambda: None

    def files(self) -> list[Path]:
        return sorted(p for p in (SAMPLES / self.name).glob(self.pattern) if p.is_file())

    def expected(self) -> int | None:
        return None if self.records is None else sum(self.records(p) for p in self.files())


SETS: tuple[SampleSet, ...] = (
    SampleSet("cowrie_json", "*.json", "cowrie", nonblank_lines, ()),
    SampleSet("cowrie_ttylog", "*.log", "cowrie_ttylog", None, (),
              lambda: _has_module("honeyfarm.collect.cowrie_tty")),
    SampleSet("dionaea_json", "*.json", "dionaea", nonblank_lines, (("*", "dionaea-lab"),)),
    # Dionaea's SQLite database is converted to honeyfarm event lines first
    SampleSet("dionaea_sqlite", "*.sqlite", "honeyfarm", dionaea_sqlite_records, (("*", "dionaea-campus"),)),
    SampleSet("suricata_eve", "*.json", "suricata", nonblank_lines,
              (("surevego-*", "suricata-lab"), ("oisf-*", "suricata-docker"), ("*tpot*", "suricata-tpot"))),
    SampleSet("aws_vpc_flow", "*.log", "vpcflow", vpc_records,
              (("*v2-default*", "aws-vpc-eu"), ("*v3-*", "aws-vpc-us"), ("*v5-*", "aws-vpc-ap"))),
    SampleSet("aws_route53_query_log", "*.log", "route53", nonblank_lines, (("*", "aws-dns"),)),
    SampleSet("aws_route53_resolver_query_log", "*.log", "route53resolver", nonblank_lines,
              (("*", "aws-resolver"),)),
    SampleSet("heralding_session_json", "*.json", "heralding", heralding_records, (("*", "heralding-lab"),)),
    # Tanner's and MHN's records name their own sensor (Tanner's uuid, MHN's sensor identifier)
    SampleSet("tanner_report", "*.json", "tanner", nonblank_lines, ()),
    SampleSet("mhn_dionaea_sessions", "*.json", "mhn", nonblank_lines, (), lambda: _has_format("mhn")),
)  # fmt: skip

#: What an operator knows about each sensor (the Cowrie and Tanner names are the ones their records carry).
FLEET: dict[str, dict[str, Any]] = {
    "920497a79896": {"region": "eu-central-1", "provider": "aws", "exposure": "ip", "hourly_cost": 0.0116,
                     "lat": 50.11, "lon": 8.68},
    "scw-8456a9": {"region": "fr-par-1", "provider": "scaleway", "exposure": "ip", "hourly_cost": 0.01,
                   "lat": 48.86, "lon": 2.35},
    "ubuntu": {"region": "us-east-1", "provider": "aws", "exposure": "domain", "hourly_cost": 0.0104,
               "lat": 38.95, "lon": -77.45},
    "vm": {"region": "local", "provider": "lab", "exposure": "loopback", "hourly_cost": 0.0},
    "Cowrie18vp": {"region": "ap-southeast-1", "provider": "aws", "exposure": "ip", "hourly_cost": 0.0116,
                   "lat": 1.35, "lon": 103.82},
    "35c07117-8e71-4adf-ae8b-7f21142a0c19": {"region": "ap-southeast-3", "provider": "aws", "exposure": "domain",
                                             "hourly_cost": 0.0132, "lat": -6.2, "lon": 106.85},
    "dionaea-lab": {"region": "ap-east-1", "provider": "aws", "exposure": "ip", "hourly_cost": 0.0132,
                    "lat": 22.32, "lon": 114.17},
    "dionaea-campus": {"region": "on-prem", "provider": "campus", "exposure": "ip", "hourly_cost": 0.005,
                       "lat": -6.91, "lon": 107.61},
    "suricata-lab": {"region": "eu-central-1", "provider": "aws", "exposure": "ip", "hourly_cost": 0.0416,
                     "lat": 50.11, "lon": 8.68},
    "suricata-docker": {"region": "us-east-2", "provider": "aws", "exposure": "ip", "hourly_cost": 0.0208,
                        "lat": 40.0, "lon": -83.0},
    "suricata-tpot": {"region": "ap-south-1", "provider": "aws", "exposure": "ip", "hourly_cost": 0.0416,
                      "lat": 19.08, "lon": 72.88},
    "aws-vpc-eu": {"region": "eu-west-1", "provider": "aws", "exposure": "ip", "hourly_cost": 0.0,
                   "lat": 53.35, "lon": -6.26},
    "aws-vpc-us": {"region": "us-east-1", "provider": "aws", "exposure": "ip", "hourly_cost": 0.0,
                   "lat": 38.95, "lon": -77.45},
    "aws-vpc-ap": {"region": "ap-northeast-1", "provider": "aws", "exposure": "ip", "hourly_cost": 0.0,
                   "lat": 35.68, "lon": 139.69},
    "aws-dns": {"region": "us-east-1", "provider": "aws", "exposure": "domain", "hourly_cost": 0.0,
                "lat": 38.95, "lon": -77.45},
    "aws-resolver": {"region": "us-west-2", "provider": "aws", "exposure": "domain", "hourly_cost": 0.0,
                     "lat": 45.6, "lon": -121.18},
    "heralding-lab": {"region": "eu-north-1", "provider": "aws", "exposure": "pastebin", "hourly_cost": 0.0108,
                      "lat": 59.33, "lon": 18.07},
    "0cd756ea-c6a8-11e7-910c-42010a800002": {"region": "us-central1", "provider": "gcp", "exposure": "ip",
                                             "hourly_cost": 0.0095, "lat": 41.26, "lon": -95.86},
}  # fmt: skip


def fleet_has_sources() -> bool:
    """Whether this tree's config knows ``[[fleet.sources]]`` (files → sensor)."""
    from honeyfarm.views.web.settings import FleetConfig

    return "sources" in FleetConfig.model_fields


def _toml(v: Any) -> str:
    return json.dumps(v)  # a JSON string or number is a valid TOML value


def write_config(path: Path, ttylog_dirs: list[Path] | None = None) -> Path:
    """``honeyfarm.toml``: the fleet's facts and, when the tree has it, the files → sensor mapping."""
    lines: list[str] = []
    if ttylog_dirs:
        lines += ["[serve]", f"ttylog_dirs = [{', '.join(_toml(str(d)) for d in ttylog_dirs)}]", ""]
    if fleet_has_sources():
        for s in SETS:
            for glob, sensor in s.sensors:
                lines += ["[[fleet.sources]]", f"match = {_toml(str(SAMPLES / s.name / glob))}",
                          f"sensor = {_toml(sensor)}", ""]  # fmt: skip
    for name, facts in FLEET.items():
        lines.append(f"[fleet.sensors.{_toml(name)}]")
        lines += [f"{k} = {_toml(v)}" for k, v in facts.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@dataclass
class SampleLake:
    root: Path
    lake: Path
    config: Path
    #: The one ingest of every available set (its ``by_format`` has each set's counts under ``SampleSet.fmt``).
    result: IngestResult = field(default_factory=IngestResult)
    #: The sets ingested.
    ingested: list[SampleSet] = field(default_factory=list)
    #: Sample sets not ingested, with why (absent here, or a feature this tree lacks).
    skipped: dict[str, str] = field(default_factory=dict)


def available(s: SampleSet) -> str | None:
    """Why ``s`` cannot be ingested here, or None."""
    if not s.files():
        return f"no samples in {SAMPLES / s.name}"
    return s.missing()


def build(root: Path) -> SampleLake:
    """Ingest every sample set into ``root/lake`` with ``root/honeyfarm.toml``.

    One ingest of all files (a third faster than one per set): format detection must tell them apart.
    """
    root.mkdir(parents=True, exist_ok=True)
    out = SampleLake(root, root / "lake", write_config(root / "honeyfarm.toml"))
    for s in SETS:
        why = available(s)
        if why is None:
            out.ingested.append(s)
        else:
            out.skipped[s.name] = why
    files = [str(p) for s in out.ingested for p in s.files()]
    out.result = ingest(files, load_config(out.config), out.lake)
    return out


# ------------------------------------------------------------------ what the dashboard shows of it

ApiFn = Callable[..., Any]


def route_table() -> tuple[list[str], list[str]]:
    """(every view, the navigation's views) as the dashboard's app.js declares them."""
    src = (STATIC / "app.js").read_text(encoding="utf-8")
    m = re.search(r"export const VIEWS = \{(.*?)\};", src, re.S)
    nav = re.search(r"const NAV = \[(.*?)\];", src, re.S)
    assert m and nav, "app.js: no VIEWS route table or NAV list"
    views = [e.split(":")[0].strip() for e in m.group(1).split(",") if e.strip()]
    return views, re.findall(r"'([\w-]+)'", nav.group(1))


def _query(lake: Path, sql: str) -> list[tuple[Any, ...]]:
    con = Lake(lake).connect()
    try:
        return list(con.sql(sql).fetchall())
    finally:
        con.close()


def pick_session(lake: Path) -> tuple[str, str]:
    """(sensor, session): the session of a Cowrie TTY log when the lake has it, else the one with most commands."""
    rows = _query(lake, f"SELECT sensor, session FROM events WHERE session = '{TTY_SESSION}' LIMIT 1")
    if not rows:
        rows = _query(
            lake,
            """SELECT sensor, session FROM events WHERE source_format = 'cowrie' AND session IS NOT NULL
               GROUP BY ALL HAVING count(command) > 2 ORDER BY count(command) DESC, session LIMIT 1""",
        )
    assert rows, "no Cowrie session with commands in the sample lake"
    return str(rows[0][0]), str(rows[0][1])


def pick_arg(view: str, lake: Path, api: ApiFn) -> str:
    """The route argument of a view that needs one: a session, a downloaded file, a public source address.

    ``api(path, **params)`` answers like the server's ``/api/<path>``.
    """
    if view == "session":
        return "/".join(urllib.parse.quote(x, safe="") for x in pick_session(lake))
    if view == "file":
        ans = api("malware/downloads", limit=200)
        url, sha = ans["columns"].index("url"), ans["columns"].index("sha256")
        # a file fetched from a URL (what an analyst opens first), else any with a hash
        shas = sorted((r[url] is None, str(r[sha])) for r in ans["rows"] if r[sha])
        assert shas, "no downloaded file with a hash in the sample lake"
        return shas[0][1]
    if view == "ip":
        # a public address seen by the most sensors (the IP page is about what it did across them)
        rows = _query(
            lake,
            """SELECT src_ip FROM events WHERE src_country IS NOT NULL GROUP BY src_ip
               ORDER BY count(DISTINCT sensor) DESC, count(*) DESC, src_ip LIMIT 1""",
        )
        assert rows, "no public source address in the sample lake"
        return str(rows[0][0])
    raise AssertionError(f"view {view!r} takes an argument: teach samplelake.pick_arg how to pick one")


def route(view: str, nav: list[str], lake: Path, api: ApiFn) -> str:
    """The hash route (without ``#/``) that shows ``view`` over the sample lake."""
    return view if view in nav else f"{view}/{pick_arg(view, lake, api)}"


__all__ = [
    "FLEET", "SAMPLES", "SETS", "TTY_SESSION", "SampleLake", "SampleSet", "available", "build", "pick_arg",
    "pick_session", "route", "route_table", "write_config",
]  # fmt: skip
