# SPDX-License-Identifier: MIT
"""Report panels of the exploit traps and their payloads: web (eventids ``http.*``; ``web.*`` is read the
same), Redis (``redis.*``), Docker Engine API (``docker.*``) and Elasticsearch (``elasticsearch.*``).

The web panels count SNARE/Tanner's requests (``tanner.request``) too, so a Tanner user sees paths, methods,
user agents and Tanner's detections here; their ``traps`` column (``tanner``) says where rows come from.
Tanner's detection names are the web trap's attack classes where they mean the same (``lfi`` is
``traversal``, ``cmd_exec`` is ``cmd_injection``: :data:`honeyfarm.lake.rollup.TANNER_ATTACKS`).

The same contract as :mod:`honeyfarm.analysis.panels` (one function per
panel, :class:`Filters` in, an Arrow table out), kept in a registry of its own
(:data:`TRAP_PANELS`): ``honeyfarm report`` and ``/api/panels/{name}`` look
names up in both. Every panel reads the ``traps`` hourly rollup
(:data:`honeyfarm.lake.rollup.ROLLUPS`), which holds only trap events and file
transfers with the few ``extra`` fields they need already parsed, so no panel
parses JSON or scans the whole ``events`` table at query time.

Downloads are ``cowrie.session.file_download`` (``.failed``) events whatever
trap fetched them, so the honeypot filter (the eventid's first part) counts
them under ``cowrie``; their trap is the ``trap`` column (``extra.trap``, else
the session's protocol, else ``shell``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import duckdb
import pyarrow as pa

from honeyfarm.analysis.panels import UNIQUE_IPS, Filters, Panel, source
from honeyfarm.lake.rollup import TRAP_HONEYPOTS, WEB_HONEYPOTS, WEB_REQUEST

_TRAPS_IN = "honeypot IN (" + ", ".join(repr(t) for t in TRAP_HONEYPOTS + WEB_HONEYPOTS) + ")"
_DOCKER = "eventid IN ('docker.container.create', 'docker.exec.create', 'docker.image.pull', 'docker.stream.input')"
_FETCHED = "eventid LIKE '%.file_download'"
_FAILED = "eventid LIKE '%.file_download.failed'"


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> pa.Table:
    return con.sql(sql, params=params or None).to_arrow_table()


def _select(
    con: duckdb.DuckDBPyConnection, f: Filters, where: str, select: str, group: str, order: str, limit: int
) -> pa.Table:
    """``SELECT select FROM <traps rollup rows for f> WHERE where GROUP BY group ORDER BY order LIMIT limit``."""
    src, params = source(con, "traps", f)
    sql = f"SELECT {select} FROM {src} WHERE {where} GROUP BY {group} ORDER BY {order} LIMIT {int(limit)}"
    return _run(con, sql, params)


_SPAN = "min(first_seen) AS first_seen, max(last_seen) AS last_seen"
_IPS = f"{UNIQUE_IPS} AS unique_ips"


def trap_overview(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 10) -> pa.Table:
    """Events, sessions and source IPs per exploit trap, with how many events were flagged as attacks."""
    return _select(
        con, f, _TRAPS_IN,
        f"honeypot AS trap, sum(count)::BIGINT AS events, count(DISTINCT session_key) AS sessions, {_IPS}, "
        f"coalesce(sum(count) FILTER (WHERE attacks IS NOT NULL OR cves IS NOT NULL), 0)::BIGINT AS attacks, {_SPAN}",
        "honeypot", "events DESC, trap", limit,
    )  # fmt: skip


def web_paths(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 20) -> pa.Table:
    """Web paths requested most (query string cut), with methods, attack classes, source IPs and traps."""
    return _select(
        con, f, f"{WEB_REQUEST} AND path IS NOT NULL",
        "path, sum(count)::BIGINT AS requests, "
        f"{_IPS}, string_agg(DISTINCT method, ',' ORDER BY method) AS methods, "
        "nullif(array_to_string(list_sort(list_distinct(flatten(list(attacks) FILTER (WHERE attacks IS NOT NULL)))), "
        f"','), '') AS attacks, {_SPAN}, string_agg(DISTINCT honeypot, ',' ORDER BY honeypot) AS traps",
        "1", "requests DESC, path", limit,
    )  # fmt: skip


def web_attacks(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 30) -> pa.Table:
    """Attack classes and CVE ids the traps recognised, with requests, source IPs and traps."""
    src, params = source(con, "traps", f)
    sql = f"""
    WITH r AS (SELECT * FROM {src} WHERE {_TRAPS_IN} AND (attacks IS NOT NULL OR cves IS NOT NULL)),
    x AS (SELECT 'class' AS kind, unnest(attacks) AS name, honeypot, count, src_ip, first_seen, last_seen
          FROM r WHERE attacks IS NOT NULL
          UNION ALL
          SELECT 'cve' AS kind, unnest(cves) AS name, honeypot, count, src_ip, first_seen, last_seen
          FROM r WHERE cves IS NOT NULL)
    SELECT kind, name, sum(count)::BIGINT AS requests, {_IPS},
           string_agg(DISTINCT honeypot, ',' ORDER BY honeypot) AS traps, {_SPAN}
    FROM x GROUP BY kind, name ORDER BY requests DESC, kind, name LIMIT {int(limit)}"""
    return _run(con, sql, params)


def user_agents(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 20) -> pa.Table:
    """User agents (client banners) of requests to the exploit traps, with source IPs and traps."""
    return _select(
        con, f, f"{_TRAPS_IN} AND (eventid LIKE '%.request.received' OR {WEB_REQUEST}) AND client_version IS NOT NULL",
        f"client_version AS user_agent, sum(count)::BIGINT AS requests, {_IPS}, "
        f"string_agg(DISTINCT honeypot, ',' ORDER BY honeypot) AS traps, {_SPAN}",
        "client_version", "requests DESC, user_agent", limit,
    )  # fmt: skip


def redis_commands(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 20) -> pa.Table:
    """Command lines sent to the Redis trap, with sessions and source IPs."""
    return _select(
        con, f, "eventid = 'redis.command.input' AND command IS NOT NULL",
        f"command, sum(count)::BIGINT AS count, count(DISTINCT session_key) AS sessions, {_IPS}, {_SPAN}",
        "command", "count DESC, command", limit,
    )  # fmt: skip


def docker_commands(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 20) -> pa.Table:
    """Docker Engine API actions (container create, exec, image pull, piped input): images, commands, privileged."""
    return _select(
        con, f, _DOCKER,
        "substr(eventid, 8) AS action, image, command, privileged, binds, sum(count)::BIGINT AS count, "
        f"{_IPS}, {_SPAN}",
        "1, 2, 3, 4, 5", "count DESC, action, image NULLS FIRST, command NULLS FIRST, privileged NULLS FIRST, "
        "binds NULLS FIRST", limit,
    )  # fmt: skip


def elasticsearch_queries(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 20) -> pa.Table:
    """Elasticsearch requests and search queries: method, path, query, command found in scripts, CVEs."""
    return _select(
        con, f, "eventid IN ('elasticsearch.request.received', 'elasticsearch.search.query')",
        "split_part(eventid, '.', 2) AS kind, method, url, query, command, sum(count)::BIGINT AS count, "
        "nullif(array_to_string(list_sort(list_distinct(flatten(list(cves) FILTER (WHERE cves IS NOT NULL)))), "
        f"','), '') AS cves, {_IPS}, {_SPAN}",
        "1, 2, 3, 4, 5",
        "count DESC, kind, method NULLS FIRST, url NULLS FIRST, query NULLS FIRST, command NULLS FIRST", limit,
    )  # fmt: skip


def payload_urls(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 20) -> pa.Table:
    """URLs the traps found in payloads and fetched, per trap: fetched and failed, files, how found."""
    return _select(
        con, f, f"({_FETCHED} OR {_FAILED}) AND url IS NOT NULL",
        f"trap, url, coalesce(sum(count) FILTER (WHERE {_FETCHED}), 0)::BIGINT AS fetched, "
        f"coalesce(sum(count) FILTER (WHERE {_FAILED}), 0)::BIGINT AS failed, "
        "string_agg(DISTINCT sha256, ',' ORDER BY sha256) AS sha256, "
        "string_agg(DISTINCT how, ',' ORDER BY how) AS how, "
        f"string_agg(DISTINCT reason, ',' ORDER BY reason) FILTER (WHERE {_FAILED}) AS failures, {_IPS}, {_SPAN}",
        "trap, url", "fetched + failed DESC, trap, url", limit,
    )  # fmt: skip


TRAP_PANELS: dict[str, Panel] = {
    p.name: p
    for p in (
        Panel("traps", trap_overview, 10),
        Panel("web-paths", web_paths, 20),
        Panel("web-attacks", web_attacks, 30),
        Panel("user-agents", user_agents, 20),
        Panel("redis-commands", redis_commands, 20),
        Panel("docker-commands", docker_commands, 20),
        Panel("elasticsearch-queries", elasticsearch_queries, 20),
        Panel("payload-urls", payload_urls, 20),
    )
}

#: The columns :func:`download_origins` adds to the downloads panel.
ORIGIN_COLUMNS = ("traps", "how", "first_sensor", "first_session")


def download_origins(con: duckdb.DuckDBPyConnection, f: Filters, downloads: pa.Table) -> pa.Table:
    """The downloads panel's rows with where each file came from: the traps that fetched it (``shell`` for
    an ssh/telnet shell), how its URL was found, and the first session that fetched it (for a link)."""
    keys = downloads.select(["url", "sha256"]).append_column("_i", pa.array(range(downloads.num_rows), pa.int64()))
    name = f"_downloads_{uuid.uuid4().hex}"
    con.register(name, keys)
    try:
        src, params = source(con, "traps", f)
        sql = f"""
        WITH t AS (SELECT * FROM {src} WHERE {_FETCHED} OR eventid LIKE '%.file_upload'),
        m AS (SELECT d._i, t.trap, t.how, t.sensor, t.session, t.first_seen FROM {name} d JOIN t
              ON t.url IS NOT DISTINCT FROM d.url AND t.sha256 IS NOT DISTINCT FROM d.sha256),
        agg AS (SELECT _i, string_agg(DISTINCT trap, ',' ORDER BY trap) AS traps,
                string_agg(DISTINCT how, ',' ORDER BY how) AS how FROM m GROUP BY _i),
        firsts AS (SELECT _i, sensor, session,
                   row_number() OVER (PARTITION BY _i ORDER BY first_seen, sensor, session) AS n
                   FROM m WHERE session IS NOT NULL)
        SELECT d._i, agg.traps, agg.how, fs.sensor AS first_sensor, fs.session AS first_session
        FROM {name} d LEFT JOIN agg USING (_i) LEFT JOIN firsts fs ON fs._i = d._i AND fs.n = 1 ORDER BY d._i"""
        found = _run(con, sql, params)
    finally:
        con.unregister(name)
    out = downloads
    for col in ORIGIN_COLUMNS:
        out = out.append_column(col, found.column(col))
    return out


def attack_timeline(
    con: duckdb.DuckDBPyConnection, f: Filters, by: str = "class", bucket: str = "hour", limit: int = 6
) -> pa.Table:
    """Trap events per hour or day, split into the top ``limit`` attack classes (``by="class"``), CVE ids
    (``"cve"``) or traps (``"trap"``) and "other"; columns ``bucket, series, events``."""
    if bucket not in ("hour", "day"):
        raise ValueError("bucket must be 'hour' or 'day'")
    lists = {"class": "attacks", "cve": "cves"}
    if by not in (*lists, "trap"):
        raise ValueError("split the trap timeline by class, cve or trap")
    src, params = source(con, "traps", f)
    key = f"unnest({lists[by]})" if by in lists else "honeypot"
    cond = f"{_TRAPS_IN} AND {lists[by]} IS NOT NULL" if by in lists else _TRAPS_IN
    sql = f"""
    WITH base AS (SELECT date_trunc('{bucket}', hour) AS bucket, {key} AS k, count FROM {src} WHERE {cond}),
    top AS (SELECT k FROM base GROUP BY 1 ORDER BY sum(count) DESC, 1 LIMIT {int(limit)})
    SELECT bucket, CASE WHEN k IN (SELECT k FROM top) THEN k ELSE 'other' END AS series,
           sum(count)::BIGINT AS events
    FROM base GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2"""
    return _run(con, sql, params)


def span(con: duckdb.DuckDBPyConnection, f: Filters) -> dt.timedelta:
    """Time between the first and the last hour with trap events (picks the timeline's bucket)."""
    src, params = source(con, "traps", f)
    row = con.execute(f"SELECT min(hour), max(hour) FROM {src} WHERE {_TRAPS_IN}", params or None).fetchone()
    return (row[1] - row[0]) if row and row[0] is not None else dt.timedelta(0)
