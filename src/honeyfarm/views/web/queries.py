# SPDX-License-Identifier: MIT
"""The dashboard's queries beyond the report panels: map, sensors, sessions, network.

Each takes a connection and :class:`~honeyfarm.analysis.panels.Filters` and
returns plain JSON-ready data. Like the panels they read the hourly rollups
when those answer the question exactly (:func:`panels.source`), so the views
stay fast at tens of millions of events; sessions and network views read
events, pruned by date partition first.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa

from honeyfarm.analysis.panels import (
    NO_SENSOR,
    UNIQUE_IPS,
    Filters,
    estimated_columns,
    session_span,
    sessions_estimated,
    sessions_sql,
    source,
)
from honeyfarm.timewindow import shift
from honeyfarm.views.web.catalog import SensorFacts, notes

Table = dict[str, Any]


def jsonable(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return v


def table(columns: list[str], rows: list[tuple[Any, ...]] | list[list[Any]], limit: int = 0, offset: int = 0) -> Table:
    """The API's table shape; with ``limit``, ``rows`` may hold one extra row that signals ``has_more``."""
    has_more = bool(limit) and len(rows) > limit
    body = rows[:limit] if limit else rows
    return {
        "columns": columns,
        "rows": [[jsonable(v) for v in r] for r in body],
        "has_more": has_more,
        "limit": limit or len(body),
        "offset": offset,
    }


def arrow_table(t: pa.Table, limit: int = 0, offset: int = 0) -> Table:
    cols = t.column_names
    rows = [tuple(r[c] for c in cols) for r in t.to_pylist()]
    out = table(cols, rows[offset:], limit, offset)
    estimated = estimated_columns(t)
    if estimated:  # columns whose values are estimates (≈): the UI marks their headers
        out["estimated"] = estimated
    return out


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
    rel = con.execute(sql, params or None)
    cols = [d[0] for d in rel.description or []]
    return cols, rel.fetchall()


def _in(values: list[str]) -> str:
    return "(" + ", ".join("?" for _ in values) + ")"


# ---------------------------------------------------------------------------- map
def world_map(
    con: duckdb.DuckDBPyConnection, f: Filters, facts: dict[str, SensorFacts], arcs: int = 60
) -> dict[str, Any]:
    src, params = source(con, "eventids", f)
    _, rows = _fetch(
        con,
        f"""SELECT src_country AS country, sum(events)::BIGINT AS events FROM {src}
        WHERE src_country IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1""",
        params,
    )
    ssrc, sparams = source(con, "sessions", f)
    _, ips = _fetch(
        con,
        f"""SELECT src_country, any_value(src_country_name), {UNIQUE_IPS} FROM {ssrc}
        WHERE src_country IS NOT NULL GROUP BY 1""",
        sparams,
    )
    names = {r[0]: (r[1], r[2]) for r in ips}
    countries = [(c, names.get(c, (None, 0))[0], n, names.get(c, (None, 0))[1]) for c, n in rows]
    # Every sensor with events, and "(no sensor)" for those without one (never placed): the list adds up.
    _, per_sensor = _fetch(
        con, f"SELECT sensor, sum(events)::BIGINT FROM {src} GROUP BY 1 ORDER BY 2 DESC, 1 NULLS LAST", params
    )
    sensors = []
    for name, n in per_sensor:
        s = facts.get(name, SensorFacts(name)) if name is not None else SensorFacts(NO_SENSOR)
        sensors.append((s.sensor, s.region, s.lat, s.lon, n))
    listed = [r[0] for r in sensors]
    about = notes(listed, facts, sum(r[4] for r in sensors if r[0] == NO_SENSOR))
    _, pairs = _fetch(
        con,
        f"""SELECT src_country, sensor, sum(events)::BIGINT AS n FROM {src}
        WHERE src_country IS NOT NULL AND sensor IS NOT NULL GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT {int(arcs)}""",
        params,
    )
    unplaced = set(about["no_location"])
    listing = table(["sensor", "region", "lat", "lon", "events"], sensors)
    # Beside the rows (the answer's tables stay tables): the sensors the map cannot place (no lat/lon and
    # no known region), their events, the events with no sensor, and the config that would place them.
    listing["unplaced"] = {
        "sensors": about["no_location"],
        "events": sum(r[4] for r in sensors if r[0] in unplaced),
        "no_sensor_events": about["no_sensor_events"],
        "config": about["location_config"],
    }
    return {
        "countries": table(["country", "name", "events", "unique_ips"], countries),
        "sensors": listing,
        "arcs": table(["country", "sensor", "events"], pairs),
    }


# ------------------------------------------------------------------------ sensors
_SENSOR_MEASURES = ("events", "sessions", "unique_ips", "logins", "successes", "commands", "downloads")


def sensors(con: duckdb.DuckDBPyConnection, f: Filters, facts: dict[str, SensorFacts]) -> dict[str, Any]:
    """Per sensor, region and exposure: activity, cost over the observed hours, and activity per dollar.

    A sensor's hours are those of the filter's time range when both ends are
    given, else the span from its first to its last event (at least one hour):
    a sensor is paid for while it runs, not only in the hours it was attacked.
    """
    src, params = source(con, "sessions", f)
    # Sessions are per sensor (the session key hashes the sensor), so the totals of events,
    # sessions and logins are sums over sensors; only unique IPs need a distinct count of their own.
    _, all_rows = _fetch(
        con,
        f"""SELECT sensor, sum(events)::BIGINT, {sessions_sql(con)}, {UNIQUE_IPS},
        sum(logins)::BIGINT, sum(successes)::BIGINT, min(first_seen), max(last_seen)
        FROM {src} GROUP BY sensor""",
        params,
    )
    # Distinct counts are not additive: a source IP that hit two sensors of a region is one IP of that region.
    # So regions, exposures and the total get their own distinct counts, in one pass per rollup.
    groups = _GroupBy(facts)
    ip_groups = groups.distinct(con, "src_ip", src, params)
    # Events without a sensor are a row of their own ("(no sensor)", listed last), so the rows add up to the totals.
    rows = all_rows
    firsts = [r[6] for r in all_rows if r[6] is not None]
    lasts = [r[7] for r in all_rows if r[7] is not None]
    totals = {
        "events": sum(r[1] for r in all_rows), "sessions": sum(r[2] for r in all_rows),
        "unique_ips": ip_groups.get(("", ""), 0), "logins": sum(r[4] for r in all_rows),
        "successes": sum(r[5] for r in all_rows), "first_seen": jsonable(min(firsts)) if firsts else None,
        "last_seen": jsonable(max(lasts)) if lasts else None,
    }  # fmt: skip
    csrc, cparams = source(con, "commands", f)
    commands = dict(
        con.execute(f"SELECT sensor, sum(count)::BIGINT FROM {csrc} GROUP BY 1", cparams or None).fetchall()
    )
    dsrc, dparams = source(con, "downloads", f)
    file_groups = groups.distinct(con, "sha256", dsrc, dparams, per_sensor=True)
    downloads = {k[1]: n for k, n in file_groups.items() if k[0] == "sensor"}
    per: list[dict[str, Any]] = []
    for key, events, sessions_, ips, logins, successes, first, last in rows:
        name = NO_SENSOR if key is None else key
        s = facts.get(key, SensorFacts(name)) if key is not None else SensorFacts(NO_SENSOR)
        if f.since is not None and f.until is not None:
            hours = (f.until - f.since).total_seconds() / 3600
        else:
            hours = max((last - first).total_seconds() / 3600, 1.0) if first and last else 1.0
        per.append(
            {
                "sensor": name, "region": s.region, "exposure": s.exposure, "provider": s.provider,
                "events": events, "sessions": sessions_, "unique_ips": ips, "logins": logins,
                "successes": successes, "commands": commands.get(key, 0), "downloads": downloads.get(key, 0),
                "hourly_cost": s.hourly_cost, "hours": round(hours, 2), "first_seen": first, "last_seen": last,
            }
        )  # fmt: skip
    per.sort(key=lambda r: (r["sensor"] == NO_SENSOR, -r["events"], r["sensor"]))
    no_sensor = sum(r["events"] for r in per if r["sensor"] == NO_SENSOR)
    listing = _costed(per, "sensor", ("region", "exposure", "provider", "first_seen", "last_seen"))
    # What is not known (region, exposure, cost), the events with no sensor, and the config to add.
    listing["notes"] = notes([r["sensor"] for r in per], facts, no_sensor)
    return {
        "totals": totals,
        "estimated": ["sessions"] if sessions_estimated(con) else [],  # ≈ in the UI (panels.sessions_sql)
        "sensors": listing,
        "regions": _costed(_group(per, "region", ip_groups, file_groups), "region", ("sensors",)),
        "exposures": _costed(_group(per, "exposure", ip_groups, file_groups), "exposure", ("sensors",)),
    }


_UNKNOWN = "(unknown)"


class _GroupBy:
    """SQL that names each event's region and exposure (from the sensor facts), for distinct counts per group."""

    def __init__(self, facts: dict[str, SensorFacts]) -> None:
        self.exprs: dict[str, tuple[str, list[Any]]] = {}
        for attr in ("region", "exposure"):
            by_value: dict[str, list[str]] = {}
            for name, s in facts.items():
                v = getattr(s, attr)
                if v:
                    by_value.setdefault(v, []).append(name)
            whens = " ".join(f"WHEN sensor IN {_in(ns)} THEN ?" for ns in by_value.values())
            args: list[Any] = [a for v, ns in by_value.items() for a in (*ns, v)]
            self.exprs[attr] = (f"CASE {whens} ELSE '{_UNKNOWN}' END" if whens else f"'{_UNKNOWN}'", args)

    def distinct(
        self, con: duckdb.DuckDBPyConnection, col: str, src: str, params: list[Any], per_sensor: bool = False
    ) -> dict[tuple[str, Any], int]:
        """``count(DISTINCT col)`` per region, per exposure, overall (key ``("", "")``) and, with ``per_sensor``,
        per sensor: keys ``("region", name)``, ``("exposure", name)``, ``("sensor", name)``."""
        (reg, rargs), (exp, eargs) = self.exprs["region"], self.exprs["exposure"]
        sets = "(sensor), (g_region), (g_exposure), ()" if per_sensor else "(g_region), (g_exposure), ()"
        rows = con.execute(
            f"""SELECT {"grouping(sensor)" if per_sensor else "1"}, grouping(g_region), grouping(g_exposure),
            {"sensor" if per_sensor else "NULL"}, g_region, g_exposure,
            count(DISTINCT hash({col})) FROM (SELECT sensor, {col}, {reg} AS g_region, {exp} AS g_exposure FROM {src}
            WHERE {col} IS NOT NULL) GROUP BY GROUPING SETS ({sets})""",
            [*rargs, *eargs, *params] or None,
        ).fetchall()
        out: dict[tuple[str, Any], int] = {}
        for gs, gr, ge, sensor, region, exposure, n in rows:
            if not gs:
                out[("sensor", sensor)] = n
            elif not gr:
                out[("region", region)] = n
            elif not ge:
                out[("exposure", exposure)] = n
            else:
                out[("", "")] = n
        return out


def _group(
    per: list[dict[str, Any]], key: str, ips: dict[tuple[str, Any], int], files: dict[tuple[str, Any], int]
) -> list[dict[str, Any]]:
    """Sums per region or exposure; unique IPs and downloads (distinct files) are distinct counts of the group's
    own (``ips``, ``files``: :meth:`_GroupBy.distinct`), since one IP or file may reach several sensors."""
    out: dict[str, dict[str, Any]] = {}
    for r in per:
        k = r[key] or _UNKNOWN
        g = out.setdefault(
            k, {key: k, "sensors": 0, "hours": 0.0, "cost": 0.0, "_costed": True, **dict.fromkeys(_SENSOR_MEASURES, 0)}
        )
        g["sensors"] += 1
        for m in _SENSOR_MEASURES:
            g[m] += r[m]
        g["hours"] += r["hours"]
        if r["hourly_cost"] is None:
            g["_costed"] = False
        else:
            g["cost"] += r["hourly_cost"] * r["hours"]
    rows = []
    for g in out.values():
        g["unique_ips"], g["downloads"] = ips.get((key, g[key]), 0), files.get((key, g[key]), 0)
        g["hourly_cost"] = (g["cost"] / g["hours"]) if g["_costed"] and g["hours"] else None
        del g["_costed"], g["cost"]
        rows.append(g)
    return sorted(rows, key=lambda r: (-r["events"], r[key]))


def _costed(rows: list[dict[str, Any]], key: str, labels: tuple[str, ...]) -> Table:
    cols = [key, *labels, *_SENSOR_MEASURES, "hourly_cost", "hours", "cost",
            "events_per_dollar", "unique_ips_per_dollar", "downloads_per_dollar"]  # fmt: skip
    out = []
    for r in rows:
        cost = r["hourly_cost"] * r["hours"] if r["hourly_cost"] is not None else None

        def per(n: int, cost: float | None = cost) -> float | None:
            return round(n / cost, 2) if cost else None

        r = {**r, "cost": round(cost, 4) if cost is not None else None,
             "events_per_dollar": per(r["events"]), "unique_ips_per_dollar": per(r["unique_ips"]),
             "downloads_per_dollar": per(r["downloads"])}  # fmt: skip
        out.append([r[c] for c in cols])
    return table(cols, out)


# ----------------------------------------------------------------------- sessions
def sessions(
    con: duckdb.DuckDBPyConnection, f: Filters, limit: int, offset: int, command: str | None, ip: str | None
) -> Table:
    src, params = source(con, "sessions", f)
    conds = ["session IS NOT NULL"]
    if ip:
        conds.append("src_ip = ?")
        params = [*params, ip]
    csrc, cparams = source(con, "commands", f)
    if command is not None:
        conds.append(f"session_key IN (SELECT session_key FROM {csrc} WHERE command = ?)")
        params = [*params, *cparams, command]
    sql = f"""WITH s AS (
        SELECT sensor, session, any_value(session_key) AS session_key, any_value(src_ip) AS src_ip,
               any_value(src_country) AS country, min(first_seen) AS first_seen, max(last_seen) AS last_seen,
               sum(events)::BIGINT AS events
        FROM {src} WHERE {" AND ".join(conds)} GROUP BY sensor, session
        ORDER BY events DESC, first_seen, sensor, session LIMIT {int(limit) + 1} OFFSET {int(offset)})
    SELECT s.sensor, s.session, s.src_ip, s.country, s.first_seen, s.last_seen, s.events,
           coalesce((SELECT sum(count) FROM {csrc} c WHERE c.session_key = s.session_key), 0)::BIGINT AS commands
    FROM s ORDER BY events DESC, first_seen, sensor, session"""
    cols, rows = _fetch(con, sql, [*params, *cparams])
    return table(cols, rows, limit, offset)


SESSION_COLUMNS = (
    "ts", "eventid", "src_ip", "src_port", "dst_port", "protocol", "username", "password", "command", "url",
    "sha256", "client_version", "hassh", "duration",
    # the session page's header: where the source is and what AS it belongs to
    "src_country", "src_country_name", "src_asn", "src_as_org",
)  # fmt: skip


def session_events(
    con: duckdb.DuckDBPyConnection,
    sensor: str,
    session: str,
    limit: int = 5000,
    span: tuple[dt.datetime, dt.datetime] | None = None,
) -> Table | None:
    """A session's events in time order, or ``None`` when the lake has no such session (``span``: its first and
    last event time, :func:`~honeyfarm.analysis.panels.session_span`, when the caller has it)."""
    span = span or session_span(con, sensor, session)
    if span is None:
        return None
    first, last = span
    cols = ", ".join(SESSION_COLUMNS)
    _, rows = _fetch(
        con,
        f"""SELECT {cols} FROM events WHERE date BETWEEN ? AND ? AND sensor IS NOT DISTINCT FROM ? AND session = ?
        ORDER BY ts, event_id LIMIT {int(limit) + 1}""",
        # "(no sensor)" names the sessions whose events carry no sensor (panels.NO_SENSOR)
        [first.date(), last.date(), None if sensor == NO_SENSOR else sensor, session],
    )
    return table(list(SESSION_COLUMNS), rows, limit)


def session_exists(con: duckdb.DuckDBPyConnection, sensor: str, session: str) -> bool:
    return session_span(con, sensor, session) is not None


# ------------------------------------------------------------------------ network
def _present(con: duckdb.DuckDBPyConnection, f: Filters, pattern: str) -> bool:
    src, params = source(con, "eventids", f)
    row = con.execute(f"SELECT count(*) FROM {src} WHERE eventid LIKE ?", [*params, pattern]).fetchone()
    return bool(row and row[0])


def _breakdowns(
    con: duckdb.DuckDBPyConnection, f: Filters, pattern: str, select: str, sqls: tuple[tuple[str, str], ...]
) -> dict[str, Any]:
    """Tables over the filtered events whose eventid matches ``pattern`` (``b`` in each SQL), or not present."""
    if not _present(con, f, pattern):
        return {"present": False}
    where, params = f.where("eventid LIKE ?")
    out: dict[str, Any] = {"present": True}
    for name, sql in sqls:
        cols, rows = _fetch(con, f"WITH b AS (SELECT {select} FROM events {where}) {sql}", [*params, pattern])
        out[name] = table(cols, rows)
    return out


def vpc(con: duckdb.DuckDBPyConnection, f: Filters, limit: int) -> dict[str, Any]:
    sqls = (
        ("by_country", f"""SELECT src_country AS country, any_value(src_country_name) AS name, count(*) AS flows,
            count(*) FILTER (WHERE eventid = 'aws.vpcflow.reject') AS rejected, count(DISTINCT src_ip) AS unique_ips,
            sum(TRY_CAST(extra->>'$.bytes' AS BIGINT))::BIGINT AS bytes
            FROM b WHERE src_country IS NOT NULL GROUP BY 1 ORDER BY flows DESC, 1 LIMIT {int(limit)}"""),
        ("by_port", f"""SELECT dst_port AS port, transport, count(*) AS flows, count(DISTINCT src_ip) AS unique_ips,
            count(*) FILTER (WHERE eventid = 'aws.vpcflow.reject') AS rejected
            FROM b WHERE dst_port IS NOT NULL GROUP BY 1, 2 ORDER BY flows DESC, 1 LIMIT {int(limit)}"""),
        ("by_action", """SELECT split_part(eventid, '.', 3) AS action, count(*) AS flows,
            count(DISTINCT src_ip) AS unique_ips FROM b GROUP BY 1 ORDER BY flows DESC, 1"""),
    )  # fmt: skip
    return _breakdowns(con, f, "aws.vpcflow.%", "*", sqls)


def route53(con: duckdb.DuckDBPyConnection, f: Filters, limit: int) -> dict[str, Any]:
    sqls = (
        ("top_queries", f"""SELECT qname AS query_name, count(*) AS queries, count(DISTINCT src_ip) AS resolvers,
            min(ts) AS first_seen, max(ts) AS last_seen FROM b WHERE qname IS NOT NULL
            GROUP BY 1 ORDER BY queries DESC, 1 LIMIT {int(limit)}"""),
        ("by_type", """SELECT coalesce(qtype, '(none)') AS query_type, count(*) AS queries FROM b
            GROUP BY 1 ORDER BY queries DESC, 1"""),
        ("by_country", f"""SELECT src_country AS country, any_value(src_country_name) AS name, count(*) AS queries,
            count(DISTINCT src_ip) AS resolvers FROM b WHERE src_country IS NOT NULL
            GROUP BY 1 ORDER BY queries DESC, 1 LIMIT {int(limit)}"""),
    )  # fmt: skip
    return _breakdowns(
        con, f, "aws.route53%", "*, extra->>'$.query_name' AS qname, extra->>'$.query_type' AS qtype", sqls
    )


# ---------------------------------------------------------------------- meta
def meta(
    con: duckdb.DuckDBPyConnection, facts: dict[str, SensorFacts], earliest: dt.datetime, latest: dt.datetime
) -> dict[str, Any]:
    """Filter choices and the lake's span, counting only events within ``[earliest, latest]`` for the span.

    ``last_seen`` is the end of the newest hour of data, the "now" of the
    UI's presets: an event dated far in the future (a lake written before
    ingest checked timestamps) must not drag every preset there, nor make
    ``+ 1 hour`` overflow past year 9999. Events outside are counted in
    ``outside_window``.
    """
    src, params = source(con, "eventids", Filters())
    inside = "hour >= ? AND hour <= ?"
    # The span, the totals, the honeypots and whether some events name no sensor, in one pass (the few
    # distinct honeypots cost nothing beside the scan; grouping sets over the same rows measured slower).
    total, first, last, outside, unnamed, hp = con.execute(
        f"""WITH s AS (SELECT * FROM {src})
        SELECT coalesce(sum(events), 0)::BIGINT, min(hour) FILTER (WHERE {inside}),
        max(hour) FILTER (WHERE {inside}), coalesce(sum(events) FILTER (WHERE NOT ({inside})), 0)::BIGINT,
        count(*) FILTER (WHERE sensor IS NULL), list(DISTINCT honeypot) FILTER (WHERE honeypot IS NOT NULL)
        FROM s""",
        [*params, earliest, latest, earliest, latest, earliest, latest],
    ).fetchone() or (0, None, None, 0, 0, [])
    countries = con.execute(
        f"""SELECT src_country, any_value(src_country_name) FROM {src} WHERE src_country IS NOT NULL
        GROUP BY 1 ORDER BY 1""",
        params or None,
    ).fetchall()
    return {
        "events": total,
        "first_seen": jsonable(first),
        "last_seen": jsonable(shift(last, dt.timedelta(hours=1))) if last else None,
        "outside_window": outside,
        # "(no sensor)" is a filter choice when some events carry none (Filters selects them by it)
        "sensors": [*sorted(facts), *([NO_SENSOR] if unnamed else [])],
        "regions": sorted({s.region for s in facts.values() if s.region}),
        "exposures": sorted({s.exposure for s in facts.values() if s.exposure}),
        "honeypots": sorted(hp or []),
        "countries": [{"code": c, "name": n} for c, n in countries],
    }
