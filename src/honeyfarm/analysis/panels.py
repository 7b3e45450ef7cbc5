# SPDX-License-Identifier: MIT
"""Report panels: one function per panel, each returning an Arrow table.

The CLI (``honeyfarm report``), the web dashboard and the exports all call
these functions, so a number is computed one way everywhere. Every panel takes
the same :class:`Filters` (time range, sensors, countries, honeypots).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

LOGIN_EVENTS = "eventid LIKE '%.login.success' OR eventid LIKE '%.login.failed'"
SUCCESS = "eventid LIKE '%.login.success'"


@dataclass(frozen=True)
class Filters:
    """Filters shared by every panel. Empty lists mean "all"."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    sensors: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    honeypots: tuple[str, ...] = ()

    def where(self, extra: str | None = None) -> tuple[str, list[Any]]:
        """A ``WHERE`` clause (possibly empty) and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.since is not None:
            clauses.append("ts >= ?")
            params.append(_naive_utc(self.since))
            clauses.append("date >= ?")  # lets DuckDB skip whole partitions
            params.append(_naive_utc(self.since).date())
        if self.until is not None:
            clauses.append("ts < ?")
            params.append(_naive_utc(self.until))
            clauses.append("date <= ?")
            params.append(_naive_utc(self.until).date())
        for col, values in (("sensor", self.sensors), ("src_country", self.countries)):
            if values:
                clauses.append(f"{col} IN ({', '.join('?' for _ in values)})")
                params.extend(values)
        if self.honeypots:
            clauses.append(f"split_part(eventid, '.', 1) IN ({', '.join('?' for _ in self.honeypots)})")
            params.extend(self.honeypots)
        if extra:
            clauses.append(f"({extra})")
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def _naive_utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC).replace(tzinfo=None) if t.tzinfo else t


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> pa.Table:
    return con.sql(sql, params=params or None).to_arrow_table()


def overview(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 100) -> pa.Table:
    """Events, sessions, unique source IPs, first and last seen: all sensors, then each sensor."""
    where, params = f.where()
    sql = f"""
    SELECT CASE WHEN GROUPING(sensor) = 1 THEN '(all)' ELSE sensor END AS sensor, count(*) AS events,
           count(DISTINCT (sensor, session)) AS sessions, count(DISTINCT src_ip) AS unique_ips,
           min(ts) AS first_seen, max(ts) AS last_seen
    FROM events {where}
    GROUP BY GROUPING SETS ((), (sensor))
    ORDER BY GROUPING(sensor) DESC, events DESC
    LIMIT {int(limit) + 1}"""
    return _run(con, sql, params)


def _top(con: duckdb.DuckDBPyConnection, f: Filters, select: str, cond: str, group: str, limit: int) -> pa.Table:
    where, params = f.where(cond)
    sql = f"SELECT {select} FROM events {where} GROUP BY {group} ORDER BY 2 DESC, 1 LIMIT {int(limit)}"
    return _run(con, sql, params)


def top_usernames(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 10) -> pa.Table:
    """Login names tried most, with how many attempts succeeded."""
    return _top(
        con, f, f"username, count(*) AS attempts, count_if({SUCCESS})::BIGINT AS successes",
        f"({LOGIN_EVENTS}) AND username IS NOT NULL", "username", limit,
    )  # fmt: skip


def top_passwords(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 10) -> pa.Table:
    """Passwords tried most."""
    return _top(
        con, f, f"password, count(*) AS attempts, count_if({SUCCESS})::BIGINT AS successes",
        f"({LOGIN_EVENTS}) AND password IS NOT NULL", "password", limit,
    )  # fmt: skip


def top_credentials(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 10) -> pa.Table:
    """Username/password pairs tried most."""
    where, params = f.where(f"({LOGIN_EVENTS}) AND username IS NOT NULL")
    sql = f"""SELECT username, password, count(*) AS attempts, count_if({SUCCESS})::BIGINT AS successes
    FROM events {where} GROUP BY username, password ORDER BY attempts DESC, username, password LIMIT {int(limit)}"""
    return _run(con, sql, params)


def top_commands(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 10) -> pa.Table:
    """Command lines entered most, with how many sessions and source IPs sent them."""
    return _top(
        con, f, "command, count(*) AS count, count(DISTINCT (sensor, session)) AS sessions, "
        "count(DISTINCT src_ip) AS unique_ips",
        "eventid LIKE '%.command.input' AND command IS NOT NULL", "command", limit,
    )  # fmt: skip


def top_countries(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 10) -> pa.Table:
    """Source countries by events, with unique source IPs."""
    where, params = f.where("src_country IS NOT NULL")
    sql = f"""SELECT src_country AS country, any_value(src_country_name) AS name, count(*) AS events,
    count(DISTINCT src_ip) AS unique_ips FROM events {where}
    GROUP BY src_country ORDER BY events DESC, country LIMIT {int(limit)}"""
    return _run(con, sql, params)


def top_asns(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 10) -> pa.Table:
    """Source autonomous systems by events, with unique source IPs."""
    where, params = f.where("src_asn IS NOT NULL")
    sql = f"""SELECT src_asn AS asn, any_value(src_as_org) AS organisation, count(*) AS events,
    count(DISTINCT src_ip) AS unique_ips FROM events {where}
    GROUP BY src_asn ORDER BY events DESC, asn LIMIT {int(limit)}"""
    return _run(con, sql, params)


def top_ips(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 10) -> pa.Table:
    """Source addresses by events, with location, AS and activity span."""
    where, params = f.where("src_ip IS NOT NULL")
    sql = f"""SELECT src_ip AS ip, count(*) AS events, count(DISTINCT (sensor, session)) AS sessions,
    any_value(src_country) AS country, any_value(src_asn) AS asn, any_value(src_as_org) AS organisation,
    min(ts) AS first_seen, max(ts) AS last_seen
    FROM events {where} GROUP BY src_ip ORDER BY events DESC, ip LIMIT {int(limit)}"""
    return _run(con, sql, params)


def timeline(
    con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 5, bucket: str = "hour", by_country: bool = False
) -> pa.Table:
    """Events per hour or day; with ``by_country``, split into the top ``limit`` countries and "other"."""
    if bucket not in ("hour", "day"):
        raise ValueError("bucket must be 'hour' or 'day'")
    where, params = f.where()
    if not by_country:
        sql = f"""SELECT date_trunc('{bucket}', ts) AS bucket, count(*) AS events
        FROM events {where} GROUP BY 1 ORDER BY 1"""
        return _run(con, sql, params)
    sql = f"""
    WITH base AS (SELECT date_trunc('{bucket}', ts) AS bucket, src_country FROM events {where}),
    top AS (SELECT src_country FROM base WHERE src_country IS NOT NULL
            GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT {int(limit)})
    SELECT bucket, CASE WHEN src_country IN (SELECT src_country FROM top) THEN src_country ELSE 'other' END
           AS country, count(*) AS events
    FROM base GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2"""
    return _run(con, sql, params)


def client_versions(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 10) -> pa.Table:
    """Client software banners (SSH version strings) by events and unique source IPs."""
    return _top(
        con, f, "client_version, count(*) AS events, count(DISTINCT src_ip) AS unique_ips",
        "client_version IS NOT NULL", "client_version", limit,
    )  # fmt: skip


def hassh(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 10) -> pa.Table:
    """HASSH client fingerprints, with the client banner most often seen in the same sessions."""
    where, params = f.where("hassh IS NOT NULL OR client_version IS NOT NULL")
    sql = f"""
    WITH s AS (
      SELECT sensor, session, any_value(hassh) FILTER (WHERE hassh IS NOT NULL) AS hassh,
             any_value(client_version) FILTER (WHERE client_version IS NOT NULL) AS client_version,
             any_value(src_ip) AS src_ip
      FROM events {where} GROUP BY sensor, session)
    SELECT hassh, count(*) AS sessions, count(DISTINCT src_ip) AS unique_ips,
           mode(client_version) AS client_version
    FROM s WHERE hassh IS NOT NULL GROUP BY hassh ORDER BY sessions DESC, hassh LIMIT {int(limit)}"""
    return _run(con, sql, params)


def downloads(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 20) -> pa.Table:
    """Files fetched or uploaded by attackers: URL, SHA-256, first and last seen, sensors."""
    where, params = f.where("(eventid LIKE '%.file_download' OR eventid LIKE '%.file_upload') ")
    sql = f"""SELECT url, sha256, count(*) AS count, min(ts) AS first_seen, max(ts) AS last_seen,
    count(DISTINCT src_ip) AS unique_ips, string_agg(DISTINCT sensor, ',' ORDER BY sensor) AS sensors
    FROM events {where} GROUP BY url, sha256 ORDER BY first_seen, url, sha256 LIMIT {int(limit)}"""
    return _run(con, sql, params)


def eventids(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 100) -> pa.Table:
    """Events per eventid, with whether the registry knows the id."""
    from honeyfarm.eventids import EVENT_IDS

    known = pa.table({"eventid": list(EVENT_IDS)})
    con.register("_known_eventids", known)
    try:
        where, params = f.where()
        sql = f"""SELECT e.eventid, count(*) AS events, bool_or(k.eventid IS NOT NULL) AS registered
        FROM (SELECT eventid FROM events {where}) e LEFT JOIN _known_eventids k ON k.eventid = e.eventid
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
        Panel("timeline", timeline, 5, ("bucket", "by_country")),
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
