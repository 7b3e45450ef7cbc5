# SPDX-License-Identifier: MIT
"""What a T-Pot/Kibana user looks for first: events per honeypot type, destination ports, credential drill-down.

T-Pot's landing dashboard opens on a bar per honeypot and a histogram of
destination ports; its credential tables lead to the addresses that tried a
password. These panels give the same answers over every format the lake
holds, with the same :class:`~honeyfarm.analysis.panels.Filters` as the
report panels.

The honeypot *type* is derived from the ``eventid`` (its first part, and for
``aws.*`` its second), not from ``source_format``: the type answers "which
kind of trap saw this", and the honeyfarm sensor's SSH/Telnet trap writes
Cowrie's ids (``cowrie.*``) on purpose, while its service and exploit traps
write their own prefixes (``smb.*``, ``http.*``, ...). The eventid is also in
the ``eventids`` rollup, so this panel never scans the events.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from honeyfarm.analysis.panels import UNIQUE_IPS, Filters, Panel, source
from honeyfarm.analysis.rollup_sql import SERVICE_TRAPS
from honeyfarm.lake.rollup import LOGIN, SUCCESS, TRAP_HONEYPOTS, TYPE_SQL

#: Honeypot types whose logs honeyfarm parses, with the kind the Overview groups them by.
HONEYPOT_KINDS: dict[str, str] = {
    "cowrie": "honeypot",
    "dionaea": "honeypot",
    "heralding": "honeypot",
    "tanner": "honeypot",
    "mhn": "honeypot",  # MHN hpfeeds session files (Dionaea behind MHN)
    "suricata": "ids",
    "vpcflow": "network",
    "route53": "network",
    "honeyfarm": "sensor",  # the honeyfarm sensor's own health events (start, stop, refused, ...)
    **{t: "trap" for t in (*TRAP_HONEYPOTS, *SERVICE_TRAPS)},
}


MAX_PORTS = 100
MAX_SEARCH = 200  # characters of a credential search: enough for any real password, bounded work per row


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> pa.Table:
    return con.sql(sql, params=params or None).to_arrow_table()


def _kind_sql() -> str:
    groups: dict[str, list[str]] = {}
    for t, k in HONEYPOT_KINDS.items():
        groups.setdefault(k, []).append(t)
    whens = " ".join(f"WHEN type IN ({', '.join(repr(t) for t in ts)}) THEN '{k}'" for k, ts in groups.items())
    return f"CASE {whens} ELSE 'other' END"


def honeypot_types(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 50) -> pa.Table:
    """Events per honeypot type (Cowrie, Dionaea, Suricata, ..., VPC Flow, Route 53, each honeyfarm trap)."""
    src, params = source(con, "eventids", f)
    sql = f"""WITH t AS (SELECT {TYPE_SQL} AS type, eventid, hour, events FROM {src}),
    g AS (SELECT type, sum(events)::BIGINT AS events, count(DISTINCT eventid) AS eventids,
                 min(hour) AS first_hour, max(hour) AS last_hour FROM t GROUP BY type)
    SELECT type AS honeypot, {_kind_sql()} AS kind, events,
           round(100.0 * events / nullif(sum(events) OVER (), 0), 2) AS percent, eventids, first_hour, last_hour
    FROM g ORDER BY events DESC, honeypot LIMIT {int(limit)}"""
    return _run(con, sql, params)


def dst_ports(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 15) -> dict[str, Any]:
    """Events per destination port: the top ``limit`` ports, then one "other" row, so the rows add up.

    Only events that carry a destination port count (a Cowrie session's connect event does, its later
    events do not; every Suricata, Dionaea and VPC Flow record does): ``without_port`` counts the rest,
    so ``sum(rows) + without_port == events``. Ports come from the ``ports`` rollup, the total from the
    ``eventids`` rollup (both computed from the events by the same SELECTs when the rollups cannot answer).
    """
    limit = max(1, min(int(limit), MAX_PORTS))
    src, params = source(con, "ports", f)
    # Every port's row (at most 65,536), ranked here.
    sql = f"""SELECT dst_port AS port, sum(events)::BIGINT AS events, {UNIQUE_IPS} AS unique_ips,
    string_agg(DISTINCT type, ',' ORDER BY type) AS honeypots FROM {src} GROUP BY 1"""
    esrc, eparams = source(con, "eventids", f)
    [(total,)] = con.execute(f"SELECT coalesce(sum(events), 0)::BIGINT FROM {esrc}", eparams or None).fetchall()
    found = con.execute(sql, params or None).fetchall()
    ranked = sorted(found, key=lambda r: (-r[1], r[0]))
    without = total - sum(r[1] for r in ranked)
    rows: list[list[Any]] = [[str(port), port, n, ips, hp] for port, n, ips, hp in ranked[:limit]]
    rest = ranked[limit:]
    if rest:
        rows.append(["other", None, sum(r[1] for r in rest), None, None])
    return {
        "columns": ["label", "port", "events", "unique_ips", "honeypots"],
        "rows": rows,
        "events": total,
        "without_port": without,
        "ports_shown": min(limit, len(ranked)),
        "has_more": False,
        "limit": limit,
        "offset": 0,
    }


def _cred_where(f: Filters, username: str | None, password: str | None, no_password: bool) -> tuple[str, list[Any]]:
    """A ``WHERE`` clause (never empty: logins only) for the login events of a username, password or pair."""
    conds = [LOGIN]
    args: list[Any] = []
    if username is not None:
        conds.append("username = ?")
        args.append(username)
    if no_password:
        conds.append("password IS NULL")
    elif password is not None:
        conds.append("password = ?")
        args.append(password)
    where, params = f.where(" AND ".join(f"({c})" for c in conds))
    return where, [*params, *args]


def credential_ips(
    con: duckdb.DuckDBPyConnection,
    f: Filters,
    username: str | None,
    password: str | None,
    no_password: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> pa.Table:
    """The source addresses that tried a username, a password or a pair: attempts, successes, location, AS."""
    where, params = _cred_where(f, username, password, no_password)
    sql = f"""SELECT src_ip AS ip, count(*)::BIGINT AS attempts, count_if({SUCCESS})::BIGINT AS successes,
    count(DISTINCT (sensor, session)) FILTER (WHERE session IS NOT NULL) AS sessions,
    any_value(src_country) AS country, any_value(src_country_name) AS name, any_value(src_asn) AS asn,
    any_value(src_as_org) AS organisation, min(ts) AS first_seen, max(ts) AS last_seen
    FROM events {where} GROUP BY src_ip ORDER BY attempts DESC, ip NULLS LAST
    LIMIT {int(limit)} OFFSET {int(offset)}"""
    return _run(con, sql, params)


def credential_sessions(
    con: duckdb.DuckDBPyConnection,
    f: Filters,
    username: str | None,
    password: str | None,
    no_password: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> pa.Table:
    """The sessions in which a username, a password or a pair was tried, newest first."""
    where, params = _cred_where(f, username, password, no_password)
    sql = f"""SELECT sensor, session, any_value(src_ip) AS src_ip, any_value(src_country) AS country,
    count(*)::BIGINT AS attempts, count_if({SUCCESS})::BIGINT AS successes, min(ts) AS first_seen,
    max(ts) AS last_seen
    FROM events {where} AND session IS NOT NULL GROUP BY sensor, session
    ORDER BY first_seen DESC, sensor, session LIMIT {int(limit)} OFFSET {int(offset)}"""
    return _run(con, sql, params)


def credential_search(
    con: duckdb.DuckDBPyConnection, f: Filters, q: str, field: str = "both", limit: int = 20, offset: int = 0
) -> pa.Table:
    """Username/password pairs whose username or password holds ``q`` (case-insensitive, literal: ``%`` and
    ``_`` are characters, not wildcards), most tried first."""
    if field not in ("username", "password", "both"):
        raise ValueError("field must be username, password or both")
    if len(q) > MAX_SEARCH:
        raise ValueError(f"search at most {MAX_SEARCH} characters")
    # strpos, not LIKE/ILIKE: the text is matched as written, whatever wildcards it holds.
    cols = ("username", "password") if field == "both" else (field,)
    match = " OR ".join(f"strpos(lower({c}), lower(?)) > 0" for c in cols)
    src, params = source(con, "credentials", f)
    sql = f"""SELECT username, password, sum(attempts)::BIGINT AS attempts, sum(successes)::BIGINT AS successes
    FROM {src} WHERE {match} GROUP BY username, password
    ORDER BY attempts DESC, username, password NULLS FIRST LIMIT {int(limit)} OFFSET {int(offset)}"""
    return _run(con, sql, [*params, *([q] * len(cols))])


#: The Overview's table panels that ``honeyfarm report`` also prints (name → panel).
OVERVIEW_PANELS: dict[str, Panel] = {p.name: p for p in (Panel("honeypot-types", honeypot_types, 50),)}
