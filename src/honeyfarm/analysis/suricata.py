# SPDX-License-Identifier: MIT
"""Report panels of Suricata EVE events (eventids ``suricata.*``): alerts by signature, category, severity and CVE,
by source and sensor, over time; protocols and flows; files (``fileinfo``) and HTTP URLs.

The same contract as :mod:`honeyfarm.analysis.panels` (one function per panel,
:class:`Filters` in, an Arrow table out), in a registry of its own
(:data:`SURICATA_PANELS`): ``honeyfarm report`` and ``/api/panels/{name}`` look
names up there too.

Suricata keeps a rule's signature, category, severity and metadata inside the
``alert`` object, which the parser stores whole in ``extra``
(:mod:`honeyfarm.formats.suricata`); every panel reads :data:`SURICATA_ROLLUP`,
Suricata's events grouped by hour, the shared filter dimensions and those few
``extra`` fields. Through :func:`honeyfarm.analysis.panels.source` when the lake
stores it (a ``suricata`` entry of :data:`honeyfarm.lake.rollup.ROLLUPS`), else
computed by the very same ``SELECT`` over the filtered events, so both paths give
the same rows. Events without a sensor are counted under :data:`NO_SENSOR`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pyarrow as pa

from honeyfarm.analysis.panels import NO_SENSOR, UNIQUE_IPS, Filters, Panel, source
from honeyfarm.analysis.rollup_sql import (  # noqa: F401  (CVE_PATTERN, cve_ids, cve_sql: this module's API too)
    ALERT,
    CVE_PATTERN,
    FILEINFO,
    HTTP,
    cve_ids,
    cve_sql,
)
from honeyfarm.lake.rollup import ROLLUPS

#: Suricata's events by hour, filter dimensions and the ``extra`` fields the panels read
#: (:func:`honeyfarm.analysis.rollup_sql.suricata_rollup`).
SURICATA_ROLLUP = ROLLUPS["suricata"]


def rows(con: duckdb.DuckDBPyConnection, f: Filters) -> tuple[str, list[Any]]:
    """The Suricata rollup's rows for ``f``: stored when the lake has them, else from the events."""
    if "suricata" in ROLLUPS:
        return source(con, "suricata", f)
    where, params = f.where()
    return f"({SURICATA_ROLLUP.select('events_stored', where)})", params


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> pa.Table:
    return con.sql(sql, params=params or None).to_arrow_table()


def _select(
    con: duckdb.DuckDBPyConnection, f: Filters, where: str, select: str, group: str, order: str, limit: int
) -> pa.Table:
    """``SELECT select FROM <Suricata rows for f> WHERE where GROUP BY group ORDER BY order LIMIT limit``."""
    src, params = rows(con, f)
    sql = f"SELECT {select} FROM {src} WHERE {where} GROUP BY {group} ORDER BY {order} LIMIT {int(limit)}"
    return _run(con, sql, params)


_N = "sum(count)::BIGINT"
_ALERTS = f"coalesce(sum(count) FILTER (WHERE {ALERT}), 0)::BIGINT AS alerts"
_IPS = f"{UNIQUE_IPS} AS unique_ips"
_SPAN = "min(first_seen) AS first_seen, max(last_seen) AS last_seen"
_SIGS = "count(DISTINCT sid) AS signatures"
#: Suricata's severities: 1 is the most severe; rules without a priority get 3.
SEVERITY_LABEL = "CASE severity WHEN 1 THEN 'high' WHEN 2 THEN 'medium' WHEN 3 THEN 'low' WHEN 4 THEN 'info' END"


def signatures(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 30) -> pa.Table:
    """Suricata alerts per rule: signature id, signature, category, severity, alerts, source IPs, first/last seen."""
    return _select(
        con, f, ALERT,
        f"sid AS signature_id, signature, category, severity, {_N} AS alerts, {_IPS}, {_SPAN}",
        "1, 2, 3, 4", "alerts DESC, severity NULLS LAST, signature_id NULLS LAST, signature NULLS LAST", limit,
    )  # fmt: skip


def categories(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 20) -> pa.Table:
    """Suricata alerts per rule category (classtype), with the rules that fired and source IPs."""
    return _select(
        con, f, ALERT,
        f"coalesce(category, '(none)') AS category, {_N} AS alerts, {_SIGS}, {_IPS}, {_SPAN}",
        "1", "alerts DESC, category", limit,
    )  # fmt: skip


def severities(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 10) -> pa.Table:
    """Suricata alerts per severity (1 high, 2 medium, 3 low, 4 info), with the rules that fired and source IPs."""
    return _select(
        con, f, ALERT,
        f"severity, {SEVERITY_LABEL} AS label, {_N} AS alerts, {_SIGS}, {_IPS}, {_SPAN}",
        "1", "severity NULLS LAST", limit,
    )  # fmt: skip


def cves(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 30) -> pa.Table:
    """CVE ids named by the Suricata rules that fired (signature text and ``metadata.cve``): alerts, rules, IPs."""
    src, params = rows(con, f)
    sql = f"""WITH x AS (SELECT unnest(cves) AS cve, * EXCLUDE (cves) FROM {src} WHERE {ALERT} AND cves IS NOT NULL)
    SELECT cve, {_N} AS alerts, {_SIGS}, string_agg(DISTINCT signature, ' | ' ORDER BY signature) AS signatures_seen,
    {_IPS}, {_SPAN} FROM x GROUP BY cve ORDER BY alerts DESC, cve LIMIT {int(limit)}"""
    return _run(con, sql, params)


def sources(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 30) -> pa.Table:
    """Suricata source addresses, most alerts first: country, AS, alerts, rules that fired, events, flows."""
    return _select(
        con, f, "src_ip IS NOT NULL",
        f"src_ip AS ip, any_value(src_country) AS country, any_value(src_country_name) AS name, "
        f"any_value(src_asn) AS asn, any_value(src_as_org) AS organisation, {_ALERTS}, "
        f"count(DISTINCT sid) AS signatures, {_N} AS events, count(DISTINCT session_key) AS flows, {_SPAN}",
        "src_ip", "alerts DESC, events DESC, ip", limit,
    )  # fmt: skip


def countries(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 20) -> pa.Table:
    """Suricata events and alerts per source country, with source IPs."""
    return _select(
        con, f, "src_country IS NOT NULL",
        f"src_country AS country, any_value(src_country_name) AS name, {_ALERTS}, {_N} AS events, {_IPS}",
        "src_country", "alerts DESC, events DESC, country", limit,
    )  # fmt: skip


def asns(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 20) -> pa.Table:
    """Suricata events and alerts per source autonomous system, with source IPs."""
    return _select(
        con, f, "src_asn IS NOT NULL",
        f"src_asn AS asn, any_value(src_as_org) AS organisation, {_ALERTS}, {_N} AS events, {_IPS}",
        "src_asn", "alerts DESC, events DESC, asn", limit,
    )  # fmt: skip


def sensors(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 50) -> pa.Table:
    """Suricata events, alerts, flows and source IPs per sensor (``(no sensor)``: the EVE records name no host)."""
    return _select(
        con, f, "true",
        f"coalesce(sensor, '{NO_SENSOR}') AS sensor, {_N} AS events, {_ALERTS}, "
        f"count(DISTINCT session_key) AS flows, {_IPS}, {_SPAN}",
        "1", "events DESC, sensor", limit,
    )  # fmt: skip


def event_types(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 40) -> pa.Table:
    """Suricata records per EVE ``event_type`` (``other``: a type this version of honeyfarm does not know)."""
    return _select(
        con, f, "true",
        f"split_part(eventid, '.', 2) AS event_type, {_N} AS events, count(DISTINCT session_key) AS flows, "
        f"{_IPS}, {_SPAN}",
        "1", "events DESC, event_type", limit,
    )  # fmt: skip


def protocols(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 30) -> pa.Table:
    """Suricata flows per transport and application protocol: flows (flow ids), events, alerts, and the bytes and
    packets of the flow records (NULL when the EVE output has no flow records)."""
    return _select(
        con, f, "transport IS NOT NULL OR protocol IS NOT NULL",
        f"transport, protocol, count(DISTINCT session_key) AS flows, {_N} AS events, {_ALERTS}, "
        f"sum(bytes)::BIGINT AS bytes, sum(packets)::BIGINT AS packets, {_IPS}",
        "1, 2", "flows DESC, events DESC, transport NULLS LAST, protocol NULLS LAST", limit,
    )  # fmt: skip


def files(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 30) -> pa.Table:
    """Files Suricata saw in transfers (``fileinfo``): name, SHA-256 and MD5 when hashing is on, size, type, an
    example URL, transfers and source IPs, newest first."""
    return _select(
        con, f, FILEINFO,
        f"filename, sha256, md5, size, magic, min(url) AS url, count(DISTINCT url) AS urls, {_N} AS transfers, "
        f"{_IPS}, {_SPAN}",
        "1, 2, 3, 4, 5",
        "last_seen DESC, filename NULLS LAST, sha256 NULLS LAST, md5 NULLS LAST, size NULLS LAST, magic NULLS LAST",
        limit,
    )  # fmt: skip


def urls(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 30) -> pa.Table:
    """HTTP URLs Suricata logged: requests, methods, response statuses, user agents and source IPs."""
    return _select(
        con, f, f"{HTTP} AND url IS NOT NULL",
        f"url, {_N} AS requests, string_agg(DISTINCT method, ',' ORDER BY method) AS methods, "
        f"string_agg(DISTINCT status::VARCHAR, ',' ORDER BY status::VARCHAR) AS statuses, "
        f"count(DISTINCT user_agent) AS user_agents, {_IPS}, {_SPAN}",
        "url", "requests DESC, url", limit,
    )  # fmt: skip


SURICATA_PANELS: dict[str, Panel] = {
    p.name: p
    for p in (
        Panel("suricata-signatures", signatures, 30),
        Panel("suricata-categories", categories, 20),
        Panel("suricata-severities", severities, 10),
        Panel("suricata-cves", cves, 30),
        Panel("suricata-sources", sources, 30),
        Panel("suricata-countries", countries, 20),
        Panel("suricata-asns", asns, 20),
        Panel("suricata-sensors", sensors, 50),
        Panel("suricata-event-types", event_types, 40),
        Panel("suricata-protocols", protocols, 30),
        Panel("suricata-files", files, 30),
        Panel("suricata-urls", urls, 30),
    )
}

#: What the alerts timeline can split its series by.
TIMELINE_SERIES = {"severity": f"coalesce(severity || ' ' || {SEVERITY_LABEL}, severity::VARCHAR)",
                   "category": "category", "signature": "signature"}  # fmt: skip


def alert_timeline(
    con: duckdb.DuckDBPyConnection, f: Filters, bucket: str = "hour", by: str = "severity", limit: int = 6
) -> pa.Table:
    """Suricata alerts per hour or day, split into the top ``limit`` severities, categories or signatures and
    "other"; columns ``bucket, series, events``."""
    if bucket not in ("hour", "day"):
        raise ValueError("bucket must be 'hour' or 'day'")
    if by not in TIMELINE_SERIES:
        raise ValueError(f"split the alerts timeline by {', '.join(TIMELINE_SERIES)}")
    src, params = rows(con, f)
    sql = f"""
    WITH base AS (SELECT date_trunc('{bucket}', hour) AS bucket, {TIMELINE_SERIES[by]} AS k, count FROM {src}
                  WHERE {ALERT}),
    top AS (SELECT k FROM base WHERE k IS NOT NULL GROUP BY 1 ORDER BY sum(count) DESC, 1 LIMIT {int(limit)})
    SELECT bucket, CASE WHEN k IN (SELECT k FROM top) THEN k ELSE 'other' END AS series,
           sum(count)::BIGINT AS events
    FROM base GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2"""
    return _run(con, sql, params)


def span(con: duckdb.DuckDBPyConnection, f: Filters) -> dt.timedelta:
    """Time between the first and the last hour with Suricata alerts (picks the timeline's bucket)."""
    src, params = rows(con, f)
    [(lo, hi)] = con.execute(f"SELECT min(hour), max(hour) FROM {src} WHERE {ALERT}", params or None).fetchall()
    return (hi - lo) if lo is not None else dt.timedelta(0)


def fileinfo_downloads(con: duckdb.DuckDBPyConnection, f: Filters) -> tuple[str, list[Any]]:
    """Suricata's ``fileinfo`` records as rows shaped like the ``downloads`` rollup's (hour, sensor, honeypot,
    src_country, url, sha256, src_ip, count, first_seen, last_seen), for the downloads view to list beside the
    honeypots' own downloads."""
    src, params = rows(con, f)
    return (
        f"(SELECT hour, sensor, honeypot, src_country, url, sha256, src_ip, count, first_seen, last_seen "
        f"FROM {src} WHERE {FILEINFO})",
        params,
    )
