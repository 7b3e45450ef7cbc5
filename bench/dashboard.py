# SPDX-License-Identifier: MIT
"""Dashboard benchmark (not a test): server time of every ``honeyfarm serve`` view, against a baseline.

    .venv/bin/python bench/dashboard.py                  # 10M events (builds the lake once, then cached)
    .venv/bin/python bench/dashboard.py --quick          # 200k events, smoke run
    .venv/bin/python bench/dashboard.py --events 1000000 --runs 3 --rebuild
    .venv/bin/python bench/dashboard.py --dataset tpot   # Cowrie as T-Pot writes it (every field, ~7 events/session)
    .venv/bin/python bench/dashboard.py --only sensors,panels --filters all,region,off-hour

Target (issue 16): every API call of every view, and every report panel,
answers in at most 100 ms of server time at 10M events on 2 cores (DuckDB
threads 2, answer cache off), unfiltered, with each shared filter, and with
time ranges on and off the hour. A pass/fail line per call says which miss.

The lake: ``--events`` synthetic Cowrie events (``honeyfarm.demo.synthetic``)
over ``--days`` days, ingested like ``bench/ingest.py`` does (one raw file of
at most 1M events at a time, 2 threads, so partitions get compacted as they
would in a real farm). It is kept in ``bench/out/dashboard-lake-<events>/``
and reused by the next run (``--rebuild`` builds it again); when the rollup
definitions (``honeyfarm.lake.rollup.ROLLUPS``) changed since, only the
rollups are rebuilt. Building 10M events takes ~4 minutes on 2 cores.

A *view* is a list of API calls that draw it (see ``view_calls``: the list
the issue's target was stated for; the UI may issue more, e.g. paged tables).
The browser issues them in parallel, but the server runs queries one at a
time on one DuckDB connection, so a view's server time is the **sum** of its
calls' ``Server-Timing: app;dur=`` (measured by the app around the handler).
Each call is measured unfiltered, with each shared filter of the filter bar
(the busiest ``sensor``, a ``region`` and an ``exposure`` of the fleet,
``honeypot``, the top ``country``, ``internal=exclude``, ``eventid`` prefix)
and with two ``since``/``until`` ranges: one of whole hours and one whose
ends are *not* on the hour (the whole hours inside come from the rollups,
the partial edges from the raw events). Calls that take no filters (meta,
session, live) are measured unfiltered only. The ``panels`` view is every
report panel (``honeyfarm report``'s registries) through ``/api/panels``.

Every call goes through FastAPI's ``TestClient`` to ``create_app`` with
``ServeConfig(threads=2)``:

* **server**: answer cache off (``cache_entries=0``): every request computes
  its answer. ``cold`` is the first request of that exact URL, ``warm`` the
  median of the next ``--runs``; ``client`` is the wall time the client saw
  (warm median), i.e. server time plus the test transport.
* **baseline**: the same server and the same requests with the rollup views
  switched off (``SET VARIABLE honeyfarm_rollups = false`` after the lake's
  views are created, what ``panels._rollups_on`` reads), so every query
  computes its answer with plain DuckDB straight over the events Parquet
  files. ``ratio`` = baseline warm / server warm: what the rollups buy. The
  answers of both are compared; differences are listed.
* **cached**: the server with its default answer cache (a repeat view).

The process's very first request (building DuckDB views, Parquet metadata)
is made once before measuring and reported on its own line. The machine's
load average is printed too: on a shared 2-core machine other processes
inflate every figure (medians vary by up to 2x between runs at load ~3).

Output: a table per view and a summary on stdout; the same as JSON in
``bench/out/dashboard.json``. For each view over budget the queries its calls
run are timed one by one and the slow ones get DuckDB ``EXPLAIN ANALYZE``
(``bench/out/dashboard-explain/``; ``--no-explain`` skips this).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import inspect
import json
import os
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from fastapi.testclient import TestClient

from honeyfarm.analysis.panels import PANELS, Filters
from honeyfarm.config import Config, IngestConfig
from honeyfarm.demo.synthetic import write_cowrie_log
from honeyfarm.lake.legacy import legacy_files
from honeyfarm.lake.rollup import ROLLUPS, fingerprint
from honeyfarm.lake.store import Lake
from honeyfarm.pipeline import ingest
from honeyfarm.views.web import queries
from honeyfarm.views.web.app import create_app
from honeyfarm.views.web.settings import ServeConfig

BUDGET_MS = 100.0  # per call (issue 16)
THREADS = 2
PER_FILE = 1_000_000
MARKER = "bench-lake.json"


# ----------------------------------------------------------------------------- lake
def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*.parquet"))


def lake_info(root: Path) -> dict[str, Any]:
    con = Lake(root).connect(THREADS)
    try:
        total = con.execute("SELECT count(*) FROM events").fetchone()[0]  # type: ignore[index]
    finally:
        con.close()
    lk = Lake(root)
    if hasattr(lk, "live_bytes"):  # a snapshot lake: only the current version's files (not those in retention)
        events_b, rollup_b = lk.live_bytes("events"), lk.live_bytes("_rollup/")
    else:
        events_b = du(root / "events")
        rollup_b = du(root / "_rollup") if (root / "_rollup").is_dir() else 0
    return {
        "events_in_lake": total,
        "event_files": len(lk.all_files("events")),
        "events_mb": round(events_b / 1e6, 1),
        "rollup_mb": round(rollup_b / 1e6, 1),
        "rollup_mb_each": {
            n: round(
                sum(f.stat().st_size for f in (root / "_rollup").glob(f"{n}-{fingerprint(n)}/*/*.parquet")) / 1e6, 1
            )
            for n in ROLLUPS
        },
    }


def rollups_fingerprint() -> str:
    """Changes whenever a rollup's definition does (their files must then be rebuilt)."""
    return hashlib.sha256(repr(sorted(ROLLUPS.items())).encode()).hexdigest()[:16]


def rebuild_rollups(root: Path) -> float:
    """Drop and rebuild the lake's rollups from its events, as an upgrade would."""
    t0 = time.perf_counter()
    lk = Lake(root)
    with lk.writer():
        con = lk.connect(THREADS, "2GB")
        try:
            if "rebuild" in inspect.signature(lk.sync_rollups).parameters:
                lk.sync_rollups(con)  # a snapshot lake: builds the changed definitions, drops the old ones
            else:
                shutil.rmtree(root / "_rollup", ignore_errors=True)
                lk.sync_rollups(con)
        finally:
            con.close()
    return time.perf_counter() - t0


def build_lake(root: Path, events: int, days: float, rebuild: bool, dataset: str = "cowrie") -> dict[str, Any]:
    """The lake of ``events`` events, built once and reused (a marker file says it is complete).

    A reused lake whose rollups were built by other rollup definitions gets
    them rebuilt (about a minute at 10M events) rather than the whole lake.
    """
    marker = root / MARKER
    if marker.exists() and not rebuild:
        info = json.loads(marker.read_text())
        info.pop("rollups_rebuilt_s", None)
        # A lake written before lake v2 (stored event ids, time-sorted files) would measure the old file format:
        # it is built again (a reused 10M lake once did this silently).
        old_format = bool(legacy_files(Lake(root).all_files("events")))
        if old_format:
            log(f"{root} holds event files written before lake v2: building it again")
        same = info.get("events") == events and info.get("days") == days and info.get("dataset", "cowrie") == dataset
        if same and not old_format:
            info["reused"] = True
            if info.get("rollups") != rollups_fingerprint():
                log(f"rollup definitions changed since {root} was built: rebuilding its rollups")
                info["rollups_rebuilt_s"] = round(rebuild_rollups(root), 1)
                info.update(lake_info(root), rollups=rollups_fingerprint())
                marker.write_text(
                    json.dumps({k: v for k, v in info.items() if k not in ("reused", "rollups_rebuilt_s")})
                )
            log(f"reusing {root} ({info['events_in_lake']:,} events, built in {info['build_s']:.0f} s)")
            return info
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    cfg = Config(ingest=IngestConfig(threads=THREADS))
    t0 = time.perf_counter()
    left, i = events, 1
    while left > 0:
        n = min(PER_FILE, left)
        raw = root.parent / f"{root.name}-raw-{i}.cowrie.json"
        write_cowrie_log(raw, n, seed=i, days=days, **({"tpot": True} if dataset == "tpot" else {}))
        res = ingest([str(raw)], cfg, root)
        raw.unlink()
        assert res.ingested == n, res.to_dict()
        left -= n
        log(f"  ingested {events - left:,}/{events:,} events ({time.perf_counter() - t0:.0f} s)")
        i += 1
    info = {
        "events": events,
        "days": days,
        "dataset": dataset,
        "build_s": round(time.perf_counter() - t0, 1),
        "rollups": rollups_fingerprint(),
    }
    info.update(lake_info(root))
    marker.write_text(json.dumps(info, indent=1))
    info["reused"] = False
    log(f"built {root}: {info}")
    return info


# ---------------------------------------------------------------------------- views
@dataclass(frozen=True)
class Call:
    path: str
    params: tuple[tuple[str, str], ...] = ()
    filtered: bool = True  # takes the filter parameters

    def url(self, extra: tuple[tuple[str, str], ...]) -> tuple[str, list[tuple[str, str]]]:
        return self.path, [*self.params, *(extra if self.filtered else ())]

    def label(self) -> str:
        q = "&".join(f"{k}={v[:24]}" for k, v in self.params)
        return self.path + (f"?{q}" if q else "")


@dataclass(frozen=True)
class Variant:
    name: str
    filters: Filters
    params: tuple[tuple[str, str], ...]
    raw_path: bool = False  # not answerable from the rollups


@dataclass
class Context:
    """Values the views' calls depend on, looked up once on the lake."""

    top_country: str
    top_command: dict[str, str] = field(default_factory=dict)  # per variant
    busy_session: tuple[str, str] = ("", "")
    session_by_query: bool = True  # /api/session?sensor=&session= (else the older /api/sessions/{sensor}/{session})


def report_panels() -> list[Call]:
    """Every ``honeyfarm report`` panel, at its default limit, through the API (malware's under its own prefix)."""
    from honeyfarm.analysis.malware import PANELS as MALWARE_PANELS
    from honeyfarm.analysis.overview import OVERVIEW_PANELS
    from honeyfarm.analysis.panels import CLIENT_PANELS
    from honeyfarm.analysis.services import SERVICE_PANELS
    from honeyfarm.analysis.suricata import SURICATA_PANELS
    from honeyfarm.analysis.traps import TRAP_PANELS

    calls = [
        Call(f"/api/panels/{n}", (("limit", str(pn.default_limit)),))
        for reg in (PANELS, CLIENT_PANELS, TRAP_PANELS, SERVICE_PANELS, SURICATA_PANELS)
        for n, pn in reg.items()
    ]
    calls += [Call("/api/overview/honeypots")] if "honeypot-types" in OVERVIEW_PANELS else []
    calls += [Call(f"/api/malware/panels/{n}", (("limit", str(pn.default_limit)),)) for n, pn in MALWARE_PANELS.items()]
    return calls


def view_calls(ctx: Context, variant: str) -> dict[str, list[Call]]:
    sensor, session = ctx.busy_session
    p = "/api/panels/"
    # The calls each view of the UI makes (static/js/views/*.js), with the UI's limits.
    return {
        "overview": [
            Call("/api/meta", filtered=False),  # once per page load; the overview is the landing view
            Call(p + "overview", (("limit", "100"),)),
            Call(p + "timeline", (("bucket", "hour"), ("by", "none"))),
            Call(p + "top-countries", (("limit", "10"),)),
            Call("/api/sensors"),
            Call("/api/overview/honeypots"),
            Call("/api/overview/ports", (("limit", "10"),)),
        ],
        "map": [Call("/api/map")],
        "timeline by country": [Call(p + "timeline", (("by", "country"),))],
        "timeline by honeypot": [Call(p + "timeline", (("by", "honeypot"),))],
        "credentials": [Call(p + n, (("limit", "20"),)) for n in ("top-usernames", "top-passwords", "top-credentials")],
        "commands": [
            Call(p + "top-commands", (("limit", "25"),)),
            Call("/api/sessions", (("command", ctx.top_command.get(variant, "")), ("limit", "15"))),
        ],
        "session": [
            Call("/api/session", (("sensor", sensor), ("session", session)), filtered=False)
            if ctx.session_by_query
            else Call(f"/api/sessions/{sensor}/{session}", filtered=False)
        ],
        "downloads": [
            Call(p + "downloads", (("limit", "500"),)),
            Call(p + "downloads", (("limit", "25"), ("origin", "true"))),
        ],
        "traps": [
            Call("/api/traps/timeline", (("by", "class"), ("bucket", "auto"))),
            *(
                Call(p + n, (("limit", lim),))
                for n, lim in (
                    ("traps", "10"),
                    ("web-paths", "20"),
                    ("web-attacks", "15"),
                    ("user-agents", "15"),
                    ("redis-commands", "15"),
                    ("docker-commands", "15"),
                    ("elasticsearch-queries", "15"),
                    ("payload-urls", "20"),
                    ("payload-urls", "500"),
                )
            ),
        ],
        "services": [Call("/api/services/timeline", (("bucket", "auto"),))],
        "suricata": [Call("/api/suricata/timeline", (("by", "severity"), ("bucket", "auto")))],
        "sources": [
            Call(p + "top-countries", (("limit", "12"),)),
            Call(p + "top-ips", (("limit", "20"),)),
            *(Call(p + n, (("limit", "15"),)) for n in ("top-asns", "client-versions", "hassh")),
        ],
        "network": [Call("/api/network/vpc"), Call("/api/network/route53")],
        "sensors": [Call("/api/sensors")],
        "live": [Call("/api/live/recent", (("limit", "100"),)), Call("/api/map")],
        "panels": report_panels(),
    }


#: The variants: unfiltered, one per shared filter of the filter bar, then the two kinds of time range.
FILTER_NAMES = ("all", "sensor", "region", "exposure", "honeypot", "country", "internal", "eventid", "hours",
                "off-hour")  # fmt: skip


def variants(con: duckdb.DuckDBPyConnection, lake: Path) -> tuple[list[Variant], Context]:
    from honeyfarm.views.web.catalog import catalog
    from honeyfarm.views.web.settings import FleetConfig

    first, last = con.execute("SELECT min(ts), max(ts) FROM events").fetchone()  # type: ignore[misc]
    country = PANELS["top-countries"].func(con, Filters(), limit=1).column("country")[0].as_py()
    sensor = con.execute("SELECT sensor FROM events GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()[0]  # type: ignore[index]
    honeypot = con.execute(
        "SELECT split_part(eventid, '.', 1) FROM events GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()[0]  # type: ignore[index]
    facts = catalog(con, FleetConfig())
    # A region and an exposure of the fleet; a lake whose sensors say neither (synthetic Cowrie) is
    # filtered by a name no sensor has, which the API turns into "no sensor matches": still a real request.
    region = next((s.region for s in facts.values() if s.region), "eu-west-1")
    exposure = next((s.exposure for s in facts.values() if s.exposure), "ip")
    # A week of whole hours a third of the way in; then the same week shifted off the hour.
    since = (first + (last - first) / 3).replace(minute=0, second=0, microsecond=0)
    until = since + dt.timedelta(days=7)
    off_since, off_until = since + dt.timedelta(minutes=17, seconds=30), until - dt.timedelta(minutes=42)

    def rng(a: dt.datetime, b: dt.datetime) -> tuple[tuple[str, str], ...]:
        return (("since", a.isoformat()), ("until", b.isoformat()))

    sensors_of = {n for n, s in facts.items() if s.region == region}
    exposed = {n for n, s in facts.items() if s.exposure == exposure}
    out = [
        Variant("all", Filters(), ()),
        Variant("sensor", Filters(sensors=(sensor,)), (("sensor", sensor),)),
        Variant("region", Filters(sensors=tuple(sorted(sensors_of)) or ("\x00",)), (("region", region),)),
        Variant("exposure", Filters(sensors=tuple(sorted(exposed)) or ("\x00",)), (("exposure", exposure),)),
        Variant("honeypot", Filters(honeypots=(honeypot,)), (("honeypot", honeypot),)),
        Variant("country", Filters(countries=(country,)), (("country", country),)),
        Variant("internal", Filters(exclude_internal=True), (("internal", "exclude"),)),
        Variant("eventid", Filters(eventids=(f"{honeypot}.login.*",)), (("eventid", f"{honeypot}.login.*"),)),
        Variant("hours", Filters(since=since, until=until), rng(since, until)),
        Variant("off-hour", Filters(since=off_since, until=off_until), rng(off_since, off_until), raw_path=True),
    ]
    ctx = Context(top_country=country)
    for v in out:
        t = PANELS["top-commands"].func(con, v.filters, limit=1)
        ctx.top_command[v.name] = t.column("command")[0].as_py() if t.num_rows else "uname -a"
    busiest = queries.sessions(con, Filters(), 1, 0, None, None)["rows"][0]
    ctx.busy_session = (busiest[0], busiest[1])
    return out, ctx


# ------------------------------------------------------------------------ measuring
def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def server_ms(resp: Any) -> float:
    st = resp.headers.get("server-timing", "")
    for part in st.split(";"):
        if part.startswith("dur="):
            return float(part[4:])
    raise ValueError(f"no Server-Timing in {dict(resp.headers)}")


def get(client: TestClient, path: str, params: list[tuple[str, str]]) -> tuple[float, float, Any]:
    t = time.perf_counter()
    r = client.get(path, params=params)
    wall = (time.perf_counter() - t) * 1000
    if r.status_code != 200:
        raise RuntimeError(f"{path} {params}: HTTP {r.status_code} {r.text[:300]}")
    return server_ms(r), wall, r.json()


def measure(client: TestClient, path: str, params: list[tuple[str, str]], runs: int) -> dict[str, Any]:
    """First request (cold) and the median of ``runs`` repeats (warm): server and client ms."""
    cold_s, cold_c, body = get(client, path, params)
    warm = [get(client, path, params)[:2] for _ in range(runs)]
    return {
        "cold": cold_s,
        "warm": statistics.median(w[0] for w in warm),
        "client_cold": cold_c,
        "client_warm": statistics.median(w[1] for w in warm),
        "warm_min": min(w[0] for w in warm),
        "body": body,
    }


def reader_of(app: Any) -> Any:
    return app.app.state.honeyfarm.reader  # Guard -> FastAPI -> AppState


def app_without_rollups(lake: Path) -> Any:
    """The dashboard with its rollup views switched off: every query reads the events Parquet files."""
    app = create_app(lake, ServeConfig(cache_entries=0, threads=THREADS))
    lk = reader_of(app).lake
    create_views = lk.create_views

    def no_rollups(con: duckdb.DuckDBPyConnection) -> None:
        create_views(con)
        con.execute("SET VARIABLE honeyfarm_rollups = false")

    lk.create_views = no_rollups
    return app


def rollups_flag(app: Any) -> bool:
    return bool(reader_of(app).run(lambda con: con.execute("SELECT getvariable('honeyfarm_rollups')").fetchone()[0]))


def same_answer(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


# ---------------------------------------------------------------------- explaining
class _TimedRel:
    def __init__(self, rel: Any, sql: str, params: Any, trace: list[dict[str, Any]], ms: float) -> None:
        self._rel, self._sql, self._params, self._trace, self._ms = rel, sql, params, trace, ms

    def to_arrow_table(self) -> Any:
        t = time.perf_counter()
        out = self._rel.to_arrow_table()
        ms = self._ms + (time.perf_counter() - t) * 1000  # with parameters, sql() already ran the query
        self._trace.append({"sql": self._sql, "params": self._params, "ms": ms})
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rel, name)


class TracingCon:
    """Forwards to a DuckDB connection and times each statement (``execute``, ``sql(...).to_arrow_table()``)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self.trace: list[dict[str, Any]] = []

    def execute(self, sql: str, params: Any = None) -> Any:
        t = time.perf_counter()
        out = self._con.execute(sql, params)
        self.trace.append({"sql": sql, "params": params, "ms": (time.perf_counter() - t) * 1000})
        return out

    def sql(self, sql: str, params: Any = None) -> Any:
        t = time.perf_counter()
        rel = self._con.sql(sql, params=params)
        return _TimedRel(rel, sql, params, self.trace, (time.perf_counter() - t) * 1000)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def explain_slow(lake: Path, slow: list[tuple[str, str, list[tuple[str, list[tuple[str, str]]]]]], out: Path) -> list:
    """Per call of the slow views: its queries, each timed (one warm request); ``EXPLAIN ANALYZE`` of those ≥ 30 ms."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    app = create_app(lake, ServeConfig(cache_entries=0, threads=THREADS))
    client = TestClient(app, base_url="http://127.0.0.1")
    reader = reader_of(app)
    get(client, "/api/meta", [])  # views built, metadata cached
    real = reader._con
    tracer = TracingCon(real)
    reader._con = tracer
    report: list[dict[str, Any]] = []
    plans: dict[str, str] = {}
    try:
        for view, variant, calls in slow:
            for path, params in calls:
                get(client, path, params)  # warm
                tracer.trace.clear()
                server, _, _ = get(client, path, params)
                qs = []
                for q in tracer.trace:
                    if "getvariable('honeyfarm_rollups')" in q["sql"]:
                        continue
                    entry = {"ms": round(q["ms"], 1), "sql": " ".join(q["sql"].split()), "params": q["params"]}
                    if q["ms"] >= 30:
                        key = q["sql"] + repr(q["params"])
                        if key not in plans:
                            name = f"q{len(plans) + 1:02d}.txt"
                            rows = real.execute("EXPLAIN ANALYZE " + q["sql"], q["params"]).fetchall()
                            text = "\n".join(str(r[1]) for r in rows)
                            (out / name).write_text(f"-- {entry['sql']}\n-- params: {q['params']!r}\n\n{text}\n")
                            plans[key] = name
                        entry["plan"] = str(out / plans[key])
                    qs.append(entry)
                report.append({"view": view, "variant": variant, "path": path, "params": params, "server_ms": server,
                               "queries_ms": round(sum(q["ms"] for q in qs), 1), "queries": qs})  # fmt: skip
    finally:
        reader._con = real
    return report


def print_explain(explain: list[dict[str, Any]]) -> None:
    print("\n### where the time of the views over budget goes (one warm request per call, each query timed)\n")
    print("overhead = server time not spent in DuckDB queries (lake file listing, Python, JSON); plans of the")
    print("queries ≥ 30 ms (EXPLAIN ANALYZE) are in the file named in the last column\n")
    print("| view | filter | call | server ms | queries (n) ms | overhead ms | slowest ms | slowest query | plan |")
    print("|---|---|---|---:|---:|---:|---:|---|---|")
    for e in explain:
        top = max(e["queries"], key=lambda q: q["ms"], default={"ms": 0.0, "sql": ""})
        q = ",".join(f"{k}={v[:12]}" for k, v in e["params"])
        print(f"| {e['view']} | {e['variant']} | {e['path']}{'?' + q if q else ''} | {fmt(e['server_ms'])} | "
              f"{fmt(e['queries_ms'])} ({len(e['queries'])}) | {fmt(e['server_ms'] - e['queries_ms'])} | "
              f"{fmt(top['ms'])} | `{top['sql'][:90]}…` | {Path(top.get('plan', '')).name} |")  # fmt: skip


# -------------------------------------------------------------------------- output
def mark(ms: float, budget: float = BUDGET_MS) -> str:
    return "✔" if ms <= budget else "✘"


def fmt(ms: float) -> str:
    return f"{ms:.0f}" if ms >= 10 else f"{ms:.1f}"


def ratio(base: float, ours: float) -> str:
    return f"{base / ours:.1f}×" if ours > 0 else "-"


def print_view(name: str, rows: list[dict[str, Any]], budget: float) -> None:
    print(f"\n### {name}\n")
    print("| filter | call | server cold | server warm | client warm | cached | baseline cold | baseline warm "
          f"| ratio | ≤{budget:.0f} warm | ≤{budget:.0f} cold |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|:-:|:-:|")
    for r in rows:
        t = r["total"]
        print(f"| {r['variant']} | **view (sum of {len(r['calls'])})** | **{fmt(t['cold'])}** | **{fmt(t['warm'])}** | "
              f"{fmt(t['client_warm'])} | {fmt(t['cached'])} | {fmt(t['base_cold'])} | {fmt(t['base_warm'])} | "
              f"**{ratio(t['base_warm'], t['warm'])}** | {mark(t['warm'], budget)} | "
              f"{mark(t['cold'], budget)} |")  # fmt: skip
        for c in r["calls"]:
            print(f"| | {c['label']} | {fmt(c['cold'])} | {fmt(c['warm'])} | {fmt(c['client_warm'])} | "
                  f"{fmt(c['cached'])} | {fmt(c['base_cold'])} | {fmt(c['base_warm'])} | "
                  f"{ratio(c['base_warm'], c['warm'])} | | |")  # fmt: skip


def print_summary(results: list[dict[str, Any]], names: list[str], variants_: list[Variant], budget: float) -> None:
    rollup_vs = [v for v in variants_ if not v.raw_path]
    raw_vs = [v for v in variants_ if v.raw_path]
    print("\n### summary: view server time, warm median ms (cold ms), cache off; ratio = baseline / server\n")
    head = "| view | " + " | ".join([*(v.name for v in rollup_vs), *(f"{v.name} (raw path)" for v in raw_vs)])
    print(head + " | cached (all) |")
    print("|---" + "|---:" * (len(variants_) + 1) + "|")
    by = {(r["view"], r["variant"]): r["total"] for r in results}
    for name in names:
        cells = []
        for v in variants_:
            t = by.get((name, v.name))
            if t is None:
                cells.append("—")
                continue
            w, c = t["warm"], t["cold"]
            cells.append(f"{mark(w, budget)} {fmt(w)} ({fmt(c)}) {ratio(t['base_warm'], w)}")
        cached = by.get((name, "all"), {}).get("cached", 0.0)
        print(f"| {name} | " + " | ".join(cells) + f" | {fmt(cached)} |")


def approx_marked(body: Any) -> bool:
    """Whether an answer says some of its figures are approximate (``approx`` anywhere in it)."""
    if isinstance(body, dict):
        return bool(body.get("approx")) or any(approx_marked(v) for v in body.values())
    return False


def print_targets(results: list[dict[str, Any]], budget: float) -> None:
    """One line per call and filter: PASS/FAIL against the per-call target, with the baseline and ratio."""
    print(f"\n### per call: ≤ {budget:.0f} ms server time (warm median, cache off); baseline = rollups off\n")
    seen: set[tuple[str, str, str]] = set()
    fails = passes = 0
    for r in results:
        for c in r["calls"]:
            key = (c["label"], r["variant"], json.dumps(c["params"]))
            if key in seen:  # a call shared by two views (top-countries, map) is one call
                continue
            seen.add(key)
            ok = c["warm"] <= budget
            passes, fails = passes + ok, fails + (not ok)
            print(f"{'PASS' if ok else 'FAIL'} {c['warm']:7.1f} ms (cold {c['cold']:7.1f}) baseline "
                  f"{c['base_warm']:7.1f} ms {ratio(c['base_warm'], c['warm']):>6}  [{r['variant']}] {c['label']}"
                  + ("  ≈" if c.get("approx") else "") + ("" if c["same_answer"] else "  ANSWER DIFFERS"))  # fmt: skip
    print(f"\ncalls within {budget:.0f} ms: {passes} of {passes + fails} ({fails} miss)")


# ---------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--quick", action="store_true", help="200k events: a smoke run")
    ap.add_argument("--runs", type=int, default=5, help="warm runs per call (the median is reported)")
    ap.add_argument("--days", type=float, default=30, help="days the events span (one partition per day)")
    ap.add_argument("--rebuild", action="store_true", help="build the lake again even if a cached one exists")
    ap.add_argument("--budget", type=float, default=BUDGET_MS, help="ms a view may take (the issue's target)")
    ap.add_argument("--no-explain", action="store_true", help="skip profiling the views over budget")
    ap.add_argument("--out", type=Path, default=Path("bench/out"))
    ap.add_argument(
        "--dataset",
        choices=("cowrie", "tpot"),
        default="cowrie",
        help="synthetic Cowrie (default) or Cowrie as T-Pot writes it (demo/synthetic.py's tpot mode)",
    )
    ap.add_argument("--base-runs", type=int, default=1, help="warm runs per call of the baseline (rollups off)")
    ap.add_argument("--no-cached", action="store_true", help="skip measuring the server with its answer cache")
    ap.add_argument("--only", default="", help="comma-separated views to measure (default: all; 'panels' = report)")
    ap.add_argument(
        "--filters", default="", help=f"comma-separated variants (default: all of {','.join(FILTER_NAMES)})"
    )
    args = ap.parse_args()
    if args.dataset == "tpot" and "tpot" not in inspect.signature(write_cowrie_log).parameters:
        ap.error("this tree's demo/synthetic.py has no T-Pot mode yet")
    events = 200_000 if args.quick else args.events
    t_start = time.perf_counter()
    load_start = os.getloadavg()

    lake = args.out / (f"dashboard-lake-{events}" + ("" if args.dataset == "cowrie" else f"-{args.dataset}"))
    info = build_lake(lake, events, args.days, args.rebuild, args.dataset)

    con = Lake(lake).connect(THREADS)
    vs, ctx = variants(con, lake)
    con.close()
    if args.filters:
        vs = [v for v in vs if v.name in args.filters.split(",")]
    log(f"variants: {[v.params for v in vs]}; top command per variant: {ctx.top_command}; session {ctx.busy_session}")

    ours = create_app(lake, ServeConfig(cache_entries=0, threads=THREADS))
    base = app_without_rollups(lake)
    cached = create_app(lake, ServeConfig(threads=THREADS))
    ctx.session_by_query = "/api/session" in ours.app.openapi().get("paths", {})
    c_ours, c_base, c_cached = (TestClient(a, base_url="http://127.0.0.1") for a in (ours, base, cached))
    first = {}
    for label, c in (("server", c_ours), ("baseline", c_base), ("cached", c_cached)):
        s, w, _ = get(c, "/api/meta", [])
        first[label] = {"server": s, "client": w}
    if not rollups_flag(ours):
        log("WARNING: the lake's rollups are not usable: the server reads raw events too")
    assert not rollups_flag(base), "baseline still uses the rollups"

    names = [n for n in view_calls(ctx, "all") if not args.only or n in args.only.split(",")]
    results: list[dict[str, Any]] = []
    mismatches: list[str] = []
    for v in vs:
        calls_by_view = view_calls(ctx, v.name)
        for name in names:
            calls = calls_by_view[name]
            if v.params and not any(c.filtered for c in calls):
                continue  # nothing in this view takes filters
            rows = []
            for call in calls:
                path, params = call.url(v.params)
                o = measure(c_ours, path, params, args.runs)
                b = measure(c_base, path, params, args.base_runs)
                cs = 0.0
                if not args.no_cached:
                    get(c_cached, path, params)  # fill the answer cache
                    cs = statistics.median(get(c_cached, path, params)[0] for _ in range(args.runs))
                if not same_answer(o["body"], b["body"]):
                    mismatches.append(f"{name} [{v.name}] {path} {params}")
                rows.append({
                    "label": call.label(), "path": path, "params": params,
                    "cold": o["cold"], "warm": o["warm"], "client_cold": o["client_cold"],
                    "client_warm": o["client_warm"], "cached": cs,
                    "base_cold": b["cold"], "base_warm": b["warm"],
                    "warm_min": o["warm_min"], "base_warm_min": b["warm_min"],
                    "same_answer": same_answer(o["body"], b["body"]),
                    "approx": approx_marked(o["body"]),
                })  # fmt: skip
            total = {k: sum(r[k] for r in rows) for k in
                     ("cold", "warm", "client_cold", "client_warm", "cached", "base_cold", "base_warm")}  # fmt: skip
            results.append({"view": name, "variant": v.name, "raw_path": v.raw_path, "calls": rows, "total": total,
                            "loadavg_1min": round(os.getloadavg()[0], 2)})  # fmt: skip
            log(f"{name:22} {v.name:12} server {total['warm']:7.1f} ms (cold {total['cold']:7.1f}), "
                f"baseline {total['base_warm']:7.1f} ms  {mark(total['warm'], args.budget)}")  # fmt: skip

    # ---- report
    print(f"\n## honeyfarm dashboard: {info['events_in_lake']:,} events, {args.days:g} days, "
          f"{info['event_files']} event files ({info['events_mb']} MB) + rollups ({info['rollup_mb']} MB: "
          f"{', '.join(f'{k} {v}' for k, v in info.get('rollup_mb_each', {}).items())}); "
          f"{THREADS} DuckDB threads, {args.runs} warm runs per call\n")  # fmt: skip
    loads = [r["loadavg_1min"] for r in results]
    print(
        f"machine load (1-min load average, {os.cpu_count()} CPUs): {load_start[0]:.1f} at the start, "
        f"{min(loads):.1f}-{max(loads):.1f} while measuring (other processes on these cores slow every figure)"
    )
    print("filters: " + "; ".join(f"{v.name} = " + ("&".join(f"{k}={x}" for k, x in v.params) or "none") for v in vs))
    print(f"commands view: top command per filter {ctx.top_command}; session view: {ctx.busy_session[0]}/"
          f"{ctx.busy_session[1]}")  # fmt: skip
    print(f"first request of the process (/api/meta: DuckDB views + Parquet metadata): server "
          f"{fmt(first['server']['server'])} ms, baseline server {fmt(first['baseline']['server'])} ms")  # fmt: skip
    print(
        "\nms; server = rollups, cache off; cached = default answer cache; baseline = same server, rollups off "
        "(plain DuckDB over events); ratio = baseline warm / server warm; /api/live/recent is never cached"
    )
    for name in names:
        print_view(name, [r for r in results if r["view"] == name], args.budget)
    print_summary(results, names, vs, args.budget)

    over = [r for r in results if r["total"]["warm"] > args.budget and not r["raw_path"]]
    over_raw = [r for r in results if r["total"]["warm"] > args.budget and r["raw_path"]]
    print(
        f"\nviews over {args.budget:.0f} ms (warm, rollup path): "
        + (", ".join(f"{r['view']} [{r['variant']}] {fmt(r['total']['warm'])} ms" for r in over) or "none")
    )
    print(
        f"views over {args.budget:.0f} ms (warm, raw-events path, expected): "
        + (", ".join(f"{r['view']} {fmt(r['total']['warm'])} ms" for r in over_raw) or "none")
    )
    cold_over = [r for r in results if r["total"]["cold"] > args.budget and not r["raw_path"]]
    print(
        f"views over {args.budget:.0f} ms on their first (cold) request, rollup path: "
        + (", ".join(f"{r['view']} [{r['variant']}] {fmt(r['total']['cold'])} ms" for r in cold_over) or "none")
    )
    print("answers differing between server and baseline: " + ("; ".join(mismatches) or "none"))
    print_targets(results, args.budget)

    explain: list[dict[str, Any]] = []
    if not args.no_explain and (over or cold_over or over_raw):
        slow = [(r["view"], r["variant"], [(c["path"], c["params"]) for c in r["calls"]])
                for r in over + [r for r in cold_over if r not in over] + over_raw]  # fmt: skip
        explain = explain_slow(lake, slow, args.out / "dashboard-explain")
        print_explain(explain)

    took = time.perf_counter() - t_start
    built = "lake reused" if info["reused"] else f"lake built in {info['build_s']:.0f} s"
    if info.get("rollups_rebuilt_s"):
        built += f" (its rollups rebuilt in {info['rollups_rebuilt_s']:.0f} s: their definitions changed)"
    print(f"\n(python {sys.version.split()[0]}, duckdb {duckdb.__version__}, {os.cpu_count()} CPUs; "
          f"took {took:.0f} s, {built})")  # fmt: skip
    out = {
        "events": events, "days": args.days, "threads": THREADS, "runs": args.runs, "budget_ms": args.budget,
        "lake": {**info, "path": str(lake)}, "filters": {v.name: dict(v.params) for v in vs},
        "context": {"top_command": ctx.top_command, "busy_session": list(ctx.busy_session)},
        "first_request": first, "loadavg_start": load_start, "views": results, "mismatches": mismatches,
        "explain": explain,
        "python": sys.version.split()[0], "duckdb": duckdb.__version__, "cpus": os.cpu_count(),
        "took_s": round(took, 1),
    }  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "dashboard.json").write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
