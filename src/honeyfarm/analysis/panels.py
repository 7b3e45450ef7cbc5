# SPDX-License-Identifier: MIT
"""Report panels: one function per panel, each returning an Arrow table.

The CLI (``honeyfarm report``), the web dashboard and the exports all call
these functions, so a number is computed one way everywhere. Every panel takes
the same :class:`Filters` (time range, sensors, countries, honeypots).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import duckdb
import pyarrow as pa

from honeyfarm.lake.rollup import INTERNAL, INTERNAL_NETWORKS, ROLLUPS, session_key_sql

#: Distinct source addresses, counted by a 64-bit hash of the address: three times faster than counting distinct
#: strings over a rollup of a million rows, and a collision among even millions of addresses is negligible (as for
#: :data:`honeyfarm.lake.rollup.SESSION_KEY`). NULL (no address) is not counted: ``hash(NULL)`` is a value.
UNIQUE_IPS = "count(DISTINCT hash(src_ip)) FILTER (WHERE src_ip IS NOT NULL)"

#: The name shown (and accepted as a sensor filter value) for events whose source names no sensor, so that every
#: per-sensor table adds up to the event count.
NO_SENSOR = "(no sensor)"


@dataclass(frozen=True)
class Filters:
    """Filters shared by every panel. Empty lists mean "all".

    ``sensors`` may hold :data:`NO_SENSOR`, which selects the events that carry no sensor name.
    ``exclude_internal`` drops events from internal source addresses (:data:`honeyfarm.lake.rollup.INTERNAL`);
    ``eventids`` keeps only these eventids, where ``cowrie.login.*`` (a trailing ``*``) is a prefix.
    """

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    sensors: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    honeypots: tuple[str, ...] = ()
    exclude_internal: bool = False
    eventids: tuple[str, ...] = ()

    def hour_aligned(self) -> bool:
        """Whether the time range falls on whole hours (so hourly rollups answer it exactly)."""
        return all(
            t is None or _naive_utc(t) == _naive_utc(t).replace(minute=0, second=0, microsecond=0)
            for t in (self.since, self.until)
        )

    def where(self, extra: str | None = None, rollup: bool = False) -> tuple[str, list[Any]]:
        """A ``WHERE`` clause (possibly empty) and its parameters, over events or over rollup rows."""
        clauses: list[str] = []
        params: list[Any] = []
        time_col = "hour" if rollup else "ts"
        if self.since is not None:
            clauses.append(f"{time_col} >= ?")
            params.append(_naive_utc(self.since))
            clauses.append("date >= ?")  # lets DuckDB skip whole partitions
            params.append(_naive_utc(self.since).date())
        if self.until is not None:
            clauses.append(f"{time_col} < ?")
            params.append(_naive_utc(self.until))
            clauses.append("date <= ?")
            params.append(_naive_utc(self.until).date())
        named = tuple(s for s in self.sensors if s != NO_SENSOR)
        if NO_SENSOR in self.sensors:
            ins = f"sensor IN ({', '.join('?' for _ in named)}) OR " if named else ""
            clauses.append(f"({ins}sensor IS NULL)")
            params.extend(named)
            named = ()
        for col, values in (("sensor", named), ("src_country", self.countries)):
            if values:
                clauses.append(f"{col} IN ({', '.join('?' for _ in values)})")
                params.extend(values)
        if self.honeypots:
            col = "honeypot" if rollup else "split_part(eventid, '.', 1)"
            clauses.append(f"{col} IN ({', '.join('?' for _ in self.honeypots)})")
            params.extend(self.honeypots)
        if self.exclude_internal:  # every rollup has the `internal` dimension
            clauses.append("NOT internal" if rollup else f"NOT {INTERNAL}")
        if self.eventids:  # over rollups only those with an `eventid` key: source() sees to that
            exact = [e for e in self.eventids if not e.endswith("*")]
            ors = [f"eventid IN ({', '.join('?' for _ in exact)})"] if exact else []
            ors += ["starts_with(eventid, ?)" for e in self.eventids if e.endswith("*")]
            clauses.append(f"({' OR '.join(ors)})")
            params.extend(exact)
            params.extend(e.rstrip("*") for e in self.eventids if e.endswith("*"))
        if extra:
            clauses.append(f"({extra})")
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params

    def admits(self, event: dict[str, Any]) -> bool:
        """Whether one event (a dict of lake columns) passes the filters other than the time range: the live
        feed's check, the same rules as :meth:`where`."""
        sensor = event.get("sensor")
        eid = str(event.get("eventid") or "")
        return (
            (not self.sensors or sensor in self.sensors or (sensor is None and NO_SENSOR in self.sensors))
            and (not self.countries or event.get("src_country") in self.countries)
            and (not self.honeypots or eid.split(".", 1)[0] in self.honeypots)
            and not (self.exclude_internal and is_internal(event.get("src_ip")))
            and (not self.eventids or any(eid.startswith(e[:-1]) if e.endswith("*") else eid == e
                                          for e in self.eventids))
        )  # fmt: skip


_NETWORKS = tuple(ipaddress.ip_network(n) for n in INTERNAL_NETWORKS)


def is_internal(ip: object) -> bool:
    """Python's twin of the SQL :data:`honeyfarm.lake.rollup.INTERNAL` (loopback, private, link-local, CGNAT,
    ULA, 0/8); not an address (or None) is not internal."""
    try:
        addr = ipaddress.ip_address(str(ip))
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return any(addr in n for n in _NETWORKS if n.version == addr.version)


def _naive_utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC).replace(tzinfo=None) if t.tzinfo else t


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any], estimated: tuple[str, ...] = ()) -> pa.Table:
    """The query's rows; ``estimated``: its columns that :func:`sessions_sql` estimated (when it does)."""
    t = con.sql(sql, params=params or None).to_arrow_table()
    return mark_estimated(t, estimated) if estimated and sessions_estimated(con) else t


def _flag(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """A boolean DuckDB variable set by :meth:`honeyfarm.lake.store.Lake.create_views` (False when unset)."""
    try:
        rows = con.execute(f"SELECT getvariable('{name}')").fetchall()
    except duckdb.Error:
        return False
    return bool(rows and rows[0][0])


def sessions_estimated(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether :func:`sessions_sql` estimates on this connection (a lake above ``lake.exact_sessions_max_events``)."""
    return _flag(con, "honeyfarm_approx_sessions")


def sessions_sql(con: duckdb.DuckDBPyConnection, key: str = "session_key") -> str:
    """Distinct sessions: exact (``count(DISTINCT)``) on small lakes, a HyperLogLog estimate on big ones.

    An exact count must keep every key of the range in a hash table: 1.3 s for the 14M session keys of a
    100M-event lake on 2 cores, where DuckDB's ``approx_count_distinct`` takes 0.12 s and is typically
    within 2-4%. Panels that use it name the column in ``_run(..., estimated=...)``, so the API and the
    report mark it (≈); event, login and IP counts stay exact.
    """
    return f"approx_count_distinct({key})" if sessions_estimated(con) else f"count(DISTINCT {key})"


def mark_estimated(t: pa.Table, columns: tuple[str, ...]) -> pa.Table:
    """``t`` with ``columns`` recorded as estimates in its schema metadata (read by :func:`estimated_columns`)."""
    meta = dict(t.schema.metadata or {})
    meta[b"honeyfarm.estimated"] = ",".join(c for c in columns if c in t.column_names).encode()
    return t.replace_schema_metadata(meta)


def estimated_columns(t: pa.Table) -> list[str]:
    """The columns of a panel's table that are estimates (≈), in column order."""
    raw = (t.schema.metadata or {}).get(b"honeyfarm.estimated", b"")
    names = set(raw.decode().split(",")) if raw else set()
    return [c for c in t.column_names if c in names]


def _rollups_on(con: duckdb.DuckDBPyConnection) -> bool:
    return _flag(con, "honeyfarm_rollups")


def source(con: duckdb.DuckDBPyConnection, name: str, f: Filters) -> tuple[str, list[Any]]:
    """A subquery yielding rollup ``name``'s rows for the filters, and its parameters.

    From the stored hourly rollups when they are complete; a time range that
    does not fall on whole hours takes its whole hours from the rollups and
    only its partial first and last hour from the raw events, computed by the
    same rollup SELECT (panels re-aggregate rollup rows, so the union is
    exact). Without usable rollups (a writer mid-commit) everything comes from
    the filtered events, by that same SELECT.
    """
    r = ROLLUPS[name]
    # An eventid filter needs the rollup's eventid key; rollups without one (sessions, credentials, ...) are
    # recomputed from the filtered events by the same SELECT: exact, slower, and only on that drill-down.
    needs_events = bool(f.eventids) and all(n != "eventid" for n, _ in r.keys)
    if needs_events or not _rollups_on(con):
        where, p = f.where()
        return f"({r.select('events_stored', where)})", p
    cols = ", ".join(n for n, _ in r.keys + r.measures)
    if f.hour_aligned():
        where, p = f.where(rollup=True)
        return f"(SELECT {cols} FROM rollup_{name} {where})", p
    since = _naive_utc(f.since) if f.since is not None else None
    until = _naive_utc(f.until) if f.until is not None else None
    lo = _ceil_hour(since) if since is not None else None
    hi = until.replace(minute=0, second=0, microsecond=0) if until is not None else None
    if lo is not None and hi is not None and lo >= hi:  # within one or two partial hours: events only
        where, p = f.where()
        return f"({r.select('events_stored', where)})", p
    where, p = replace(f, since=lo, until=hi).where(rollup=True)
    parts = [f"SELECT {cols} FROM rollup_{name} {where}"]
    params: list[Any] = list(p)
    edges = [(a, b) for a, b in ((since, lo), (hi, until)) if a is not None and b is not None and a < b]
    if edges:
        # Both partial hours in one scan of their days' files: the rollup SELECT groups by hour, so the two
        # ranges never share a row, and one scan halves the fixed cost of binding the SELECT (~10 ms for traps).
        # Two conjuncts, times and dates: DuckDB prunes partitions by a top-level date condition only.
        ts = " OR ".join("(ts >= ? AND ts < ?)" for _ in edges)
        dates = " OR ".join("(date >= ? AND date <= ?)" for _ in edges)
        where, p = replace(f, since=None, until=None).where(f"({ts}) AND ({dates})")
        parts.append(f"SELECT {cols} FROM ({r.select('events_stored', where)})")
        params += p + [t for e in edges for t in e] + [d.date() for e in edges for d in e]
    return "(" + " UNION ALL ".join(parts) + ")", params


def session_span(con: duckdb.DuckDBPyConnection, sensor: str, session: str) -> tuple[dt.datetime, dt.datetime] | None:
    """First and last event time of one session (``sensor`` may be :data:`NO_SENSOR`) from the sessions rollup,
    or None when the lake has no such session. Matched by its 63-bit key (an integer compare over a row per
    session and hour, ~25% faster than comparing ids), then by the id itself."""
    src, params = source(con, "sessions", Filters(sensors=(sensor,)))
    key = session_key_sql("?::VARCHAR", "?::VARCHAR")  # the rollup's SESSION_KEY of these values
    rows = con.execute(
        f"SELECT min(first_seen), max(last_seen) FROM {src} WHERE session_key = {key} AND session = ?",
        [*params, None if sensor == NO_SENSOR else sensor, session, session],
    ).fetchall()
    first, last = rows[0] if rows else (None, None)
    return None if first is None or last is None else (first, last)


def _ceil_hour(t: dt.datetime) -> dt.datetime:
    t = _naive_utc(t)
    floor = t.replace(minute=0, second=0, microsecond=0)
    return floor if floor == t else floor + dt.timedelta(hours=1)


def overview(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 100) -> pa.Table:
    """Events, sessions, unique source IPs, first and last seen: all sensors, then each sensor."""
    src, params = source(con, "sessions", f)
    sql = f"""
    WITH s AS (SELECT * FROM {src}),
    per AS (SELECT coalesce(sensor, '{NO_SENSOR}') AS sensor, sum(events)::BIGINT AS events,
                   {sessions_sql(con)} AS sessions,
                   {UNIQUE_IPS} AS unique_ips, min(first_seen) AS first_seen, max(last_seen) AS last_seen
            FROM s GROUP BY sensor)
    SELECT '(all)' AS sensor, coalesce(sum(events), 0)::BIGINT AS events,
           coalesce(sum(sessions), 0)::BIGINT AS sessions,
           (SELECT {UNIQUE_IPS} FROM s) AS unique_ips, min(first_seen) AS first_seen,
           max(last_seen) AS last_seen, 0 AS _o FROM per
    UNION ALL
    (SELECT *, 1 AS _o FROM per ORDER BY events DESC, sensor LIMIT {int(limit)})
    ORDER BY _o, events DESC, sensor"""
    return _run(con, sql, params, ("sessions",)).drop(["_o"])


def _top(
    con: duckdb.DuckDBPyConnection,
    f: Filters,
    rollup: str,
    select: str,
    group: str,
    limit: int,
    estimated: tuple[str, ...] = (),
) -> pa.Table:
    src, params = source(con, rollup, f)
    sql = f"SELECT {select} FROM {src} GROUP BY {group} ORDER BY 2 DESC, 1 LIMIT {int(limit)}"
    return _run(con, sql, params, estimated)


def top_usernames(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 10) -> pa.Table:
    """Login names tried most, with how many attempts succeeded."""
    return _top(
        con, f, "credentials", "username, sum(attempts)::BIGINT AS attempts, sum(successes)::BIGINT AS successes",
        "username", limit,
    )  # fmt: skip


def top_passwords(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 10) -> pa.Table:
    """Passwords tried most."""
    src, params = source(con, "credentials", f)
    sql = f"""SELECT password, sum(attempts)::BIGINT AS attempts, sum(successes)::BIGINT AS successes
    FROM {src} WHERE password IS NOT NULL GROUP BY password ORDER BY attempts DESC, password LIMIT {int(limit)}"""
    return _run(con, sql, params)


def top_credentials(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 10) -> pa.Table:
    """Username/password pairs tried most."""
    src, params = source(con, "credentials", f)
    sql = f"""SELECT username, password, sum(attempts)::BIGINT AS attempts, sum(successes)::BIGINT AS successes
    FROM {src} GROUP BY username, password ORDER BY attempts DESC, username, password LIMIT {int(limit)}"""
    return _run(con, sql, params)


def top_commands(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 10) -> pa.Table:
    """Command lines entered most, with how many sessions and source IPs sent them."""
    return _top(
        con, f, "commands", f"command, sum(count)::BIGINT AS count, {sessions_sql(con)} AS sessions, "
        f"{UNIQUE_IPS} AS unique_ips", "command", limit, ("sessions",),
    )  # fmt: skip


def _by_source(
    con: duckdb.DuckDBPyConnection, f: Filters, key: str, label: str, name: str, name_label: str, limit: int
) -> pa.Table:
    """Events and unique source IPs per value of a source attribute (country, AS), busiest first."""
    src, params = source(con, "sessions", f)
    sql = f"""SELECT {key} AS {label}, any_value({name}) AS {name_label}, sum(events)::BIGINT AS events,
    {UNIQUE_IPS} AS unique_ips FROM {src} WHERE {key} IS NOT NULL
    GROUP BY {key} ORDER BY events DESC, {label} LIMIT {int(limit)}"""
    return _run(con, sql, params)


def top_countries(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 10) -> pa.Table:
    """Source countries by events, with unique source IPs."""
    return _by_source(con, f, "src_country", "country", "src_country_name", "name", limit)


def top_asns(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 10) -> pa.Table:
    """Source autonomous systems by events, with unique source IPs."""
    return _by_source(con, f, "src_asn", "asn", "src_as_org", "organisation", limit)


def top_ips(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 10) -> pa.Table:
    """Source addresses by events, with location, AS, activity span and whether the address is internal."""
    src, params = source(con, "sessions", f)
    # One pass over the rollup rows: grouping every address is cheaper than finding the top ones and joining
    # back to their rows (0.55 s instead of 1.0 s on a 100M-event lake), and `internal` is computed for the page only.
    sql = f"""SELECT src_ip AS ip, events, sessions, country, asn, organisation, first_seen, last_seen,
    {INTERNAL} AS internal
    FROM (SELECT src_ip, sum(events)::BIGINT AS events, {sessions_sql(con)} AS sessions,
          any_value(src_country) AS country, any_value(src_asn) AS asn, any_value(src_as_org) AS organisation,
          min(first_seen) AS first_seen, max(last_seen) AS last_seen
          FROM {src} WHERE src_ip IS NOT NULL GROUP BY src_ip ORDER BY events DESC, src_ip LIMIT {int(limit)})
    ORDER BY events DESC, ip"""
    return _run(con, sql, params, ("sessions",))


def timeline(
    con: duckdb.DuckDBPyConnection,
    f: Filters,
    limit: int = 5,
    bucket: str = "hour",
    by_country: bool = False,
    by_honeypot: bool = False,
) -> pa.Table:
    """Events per hour or day; split into the top ``limit`` countries (or honeypots) and "other"."""
    if bucket not in ("hour", "day"):
        raise ValueError("bucket must be 'hour' or 'day'")
    if by_country and by_honeypot:
        raise ValueError("split the timeline by country or by honeypot, not both")
    src, params = source(con, "eventids", f)
    if not (by_country or by_honeypot):
        sql = f"""SELECT date_trunc('{bucket}', hour) AS bucket, sum(events)::BIGINT AS events
        FROM {src} GROUP BY 1 ORDER BY 1"""
        return _run(con, sql, params)
    key, label = ("src_country", "country") if by_country else ("honeypot", "honeypot")
    sql = f"""
    WITH base AS (SELECT date_trunc('{bucket}', hour) AS bucket, {key} AS k, events FROM {src}),
    top AS (SELECT k FROM base WHERE k IS NOT NULL GROUP BY 1 ORDER BY sum(events) DESC, 1 LIMIT {int(limit)})
    SELECT bucket, CASE WHEN k IN (SELECT k FROM top) THEN k ELSE 'other' END AS {label},
           sum(events)::BIGINT AS events
    FROM base GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2"""
    return _run(con, sql, params)


def client_versions(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 10) -> pa.Table:
    """SSH client banners (the version strings of SSH events) by sessions and unique source IPs."""
    src, params = source(con, "clients", f)
    sql = f"""SELECT client_version, {sessions_sql(con)} AS sessions, {UNIQUE_IPS} AS unique_ips
    FROM {src} WHERE kind = 'ssh' GROUP BY client_version
    ORDER BY sessions DESC, client_version LIMIT {int(limit)}"""
    return _run(con, sql, params, ("sessions",))


def http_user_agents(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 10) -> pa.Table:
    """HTTP user agents (web traps, Tanner, Suricata http, Docker/Elasticsearch APIs) by requests and source IPs."""
    src, params = source(con, "clients", f)
    sql = f"""SELECT client_version AS user_agent, sum(events)::BIGINT AS requests,
    {UNIQUE_IPS} AS unique_ips, string_agg(DISTINCT honeypot, ',' ORDER BY honeypot) AS honeypots
    FROM {src} WHERE kind = 'http' GROUP BY client_version
    ORDER BY requests DESC, user_agent LIMIT {int(limit)}"""
    return _run(con, sql, params)


def hassh(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 10) -> pa.Table:
    """HASSH client fingerprints, with the client banner most often seen in the same sessions."""
    src, params = source(con, "sessions", f)
    if sessions_estimated(con):
        # Grouping every session first (to give each its fingerprint and banner) is what takes the time on a
        # big lake; estimated, a fingerprint's sessions are counted over the session-hours that carry it, and
        # its banner is the one most often on those same rows (Cowrie logs both in a session's first second).
        sql = f"""SELECT hassh, {sessions_sql(con)} AS sessions, {UNIQUE_IPS} AS unique_ips,
        mode(client_version) AS client_version FROM {src} WHERE hassh IS NOT NULL GROUP BY hassh
        ORDER BY sessions DESC, hassh LIMIT {int(limit)}"""
        return _run(con, sql, params, ("sessions",))
    sql = f"""
    WITH s AS (
      SELECT session_key, any_value(hassh) FILTER (WHERE hassh IS NOT NULL) AS hassh,
             any_value(client_version) FILTER (WHERE client_version IS NOT NULL) AS client_version,
             any_value(src_ip) AS src_ip
      FROM {src} WHERE hassh IS NOT NULL OR client_version IS NOT NULL GROUP BY session_key)
    SELECT hassh, count(*) AS sessions, {UNIQUE_IPS} AS unique_ips,
           mode(client_version) AS client_version
    FROM s WHERE hassh IS NOT NULL GROUP BY hassh ORDER BY sessions DESC, hassh LIMIT {int(limit)}"""
    return _run(con, sql, params)


def downloads(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 20) -> pa.Table:
    """Files fetched or uploaded by attackers: URL, SHA-256, first and last seen, sensors."""
    src, params = source(con, "downloads", f)
    sql = f"""SELECT url, sha256, sum(count)::BIGINT AS count, min(first_seen) AS first_seen,
    max(last_seen) AS last_seen, {UNIQUE_IPS} AS unique_ips,
    string_agg(DISTINCT sensor, ',' ORDER BY sensor) AS sensors
    FROM {src} GROUP BY url, sha256 ORDER BY first_seen, url, sha256 LIMIT {int(limit)}"""
    return _run(con, sql, params)


def eventids(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 100) -> pa.Table:
    """Events per eventid, with whether the registry knows the id."""
    from honeyfarm.eventids import EVENT_IDS

    known = pa.table({"eventid": list(EVENT_IDS)})
    con.register("_known_eventids", known)
    try:
        src, params = source(con, "eventids", f)
        sql = f"""SELECT e.eventid, sum(events)::BIGINT AS events, bool_or(k.eventid IS NOT NULL) AS registered
        FROM {src} e LEFT JOIN _known_eventids k ON k.eventid = e.eventid
        GROUP BY e.eventid ORDER BY events DESC, e.eventid LIMIT {int(limit)}"""
        return _run(con, sql, params)
    finally:
        con.unregister("_known_eventids")


@dataclass(frozen=True)
class Panel:
    name: str
    func: Callable[..., pa.Table]
    default_limit: int
    options: tuple[str, ...] = field(default=())

    @property
    def doc(self) -> str:
        return (self.func.__doc__ or "").strip().splitlines()[0]


PANELS: dict[str, Panel] = {
    p.name: p
    for p in (
        Panel("overview", overview, 100),
        Panel("top-usernames", top_usernames, 10),
        Panel("top-passwords", top_passwords, 10),
        Panel("top-credentials", top_credentials, 10),
        Panel("top-commands", top_commands, 10),
        Panel("top-countries", top_countries, 10),
        Panel("top-asns", top_asns, 10),
        Panel("top-ips", top_ips, 10),
        Panel("timeline", timeline, 5, ("bucket", "by_country", "by_honeypot")),
        Panel("client-versions", client_versions, 10),
        Panel("hassh", hassh, 10),
        Panel("downloads", downloads, 20),
        Panel("eventids", eventids, 100),
    )
}

#: Panels printed by ``honeyfarm report`` with no panel name, and by the demo.
SUMMARY_PANELS: tuple[str, ...] = (
    "overview", "top-countries", "top-ips", "top-usernames", "top-passwords",
    "top-credentials", "top-commands", "client-versions", "downloads",
)  # fmt: skip

#: Panels over every source's client strings beyond Cowrie's (``honeyfarm report http-user-agents``,
#: ``/api/panels/http-user-agents``): a registry of their own, as the trap, service and Suricata panels have,
#: because many lakes (a Cowrie-only one) have nothing to show in them.
CLIENT_PANELS: dict[str, Panel] = {p.name: p for p in (Panel("http-user-agents", http_user_agents, 10),)}
