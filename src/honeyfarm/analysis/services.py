# SPDX-License-Identifier: MIT
"""Report panels of the Dionaea-class service traps: SMB, FTP, TFTP, MSSQL, MySQL, SIP and the catch-all
listener (eventids ``smb.*``, ``ftp.*``, ``tftp.*``, ``mssql.*``, ``mysql.*``, ``sip.*``, ``catchall.*``).

The same contract as :mod:`honeyfarm.analysis.panels` (one function per panel,
:class:`Filters` in, an Arrow table out), in a registry of its own
(:data:`SERVICE_PANELS`): ``honeyfarm report`` and ``/api/panels/{name}`` look
names up there too. Logins of these traps are ``<trap>.login.success`` /
``.failed`` events, so the core credential panels count them already;
:func:`service_logins` adds the trap as a column.

Dionaea's own logs (JSON, SQLite) and MHN's Dionaea sessions (eventids ``dionaea.*``, but
``dionaea.connection.listen``, a service start) count here too: their ``service`` is the protocol Dionaea
spoke (``protocol``: ``smb``, ``mssql``, ``sip``, ``http``, ...; ``closed port`` for MHN's ``pcap`` rejects)
and their ``source`` the format (``dionaea``, ``dionaea_sqlite``, ``mhn``; honeyfarm's traps are
``honeyfarm``). The overview, logins, SQL and timeline panels show them; the panels built on fields Dionaea
does not log (SMB dialects, pipes, shares, exploit probes, SIP, catch-all guesses, uploads with a SHA-256)
stay honeyfarm-only.

Every other panel reads :data:`SERVICES_ROLLUP`: the service traps' events
grouped by hour, the shared filter dimensions and the few ``extra`` fields the
panels need (dialects, pipes, shares, SIP methods, protocol guesses, ...).
Through :func:`honeyfarm.analysis.panels.source` when the lake stores it (a
``services`` entry of :data:`honeyfarm.lake.rollup.ROLLUPS`), else computed by
the very same ``SELECT`` over the filtered events, so both paths give the same
rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pyarrow as pa

from honeyfarm.analysis.panels import UNIQUE_IPS, Filters, Panel, source
from honeyfarm.analysis.rollup_sql import (  # noqa: F401  (SERVICE_TRAPS, SERVICE, SOURCE: this module's API too)
    _DIONAEA_LOGIN,
    _DOWNLOAD,
    _SQL,
    _TRAPS_SQL,
    _UPLOAD,
    SERVICE,
    SERVICE_TRAPS,
    SOURCE,
)
from honeyfarm.lake.rollup import ROLLUPS

#: The service traps' events by hour, filter dimensions and the ``extra`` fields the panels read
#: (:func:`honeyfarm.analysis.rollup_sql.services_rollup`).
SERVICES_ROLLUP = ROLLUPS["services"]


def _source(con: duckdb.DuckDBPyConnection, f: Filters) -> tuple[str, list[Any]]:
    """The service rollup's rows for ``f``: stored when the lake has them, else from the events."""
    if "services" in ROLLUPS:
        return source(con, "services", f)
    where, params = f.where()
    return f"({SERVICES_ROLLUP.select('events_stored', where)})", params


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> pa.Table:
    return con.sql(sql, params=params or None).to_arrow_table()


def _select(
    con: duckdb.DuckDBPyConnection, f: Filters, where: str, select: str, group: str, order: str, limit: int
) -> pa.Table:
    """``SELECT select FROM <service rows for f> WHERE where GROUP BY group ORDER BY order LIMIT limit``."""
    src, params = _source(con, f)
    sql = f"SELECT {select} FROM {src} WHERE {where} GROUP BY {group} ORDER BY {order} LIMIT {int(limit)}"
    return _run(con, sql, params)


_N = "sum(count)::BIGINT"
_IPS = f"{UNIQUE_IPS} AS unique_ips"
_SESSIONS = "count(DISTINCT session_key) AS sessions"
_SPAN = "min(first_seen) AS first_seen, max(last_seen) AS last_seen"


def _agg(col: str) -> str:
    """The distinct non-NULL values of ``col``, sorted and comma-separated (NULL when none)."""
    return f"string_agg(DISTINCT {col}, ',' ORDER BY {col})"


#: How many ports the overview lists per row (the lowest): MHN's closed-port rows hit hundreds.
MAX_PORTS = 12


def service_overview(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 10) -> pa.Table:
    """Events, sessions and source IPs per service and source (honeyfarm's trap, Dionaea, MHN), with the
    honeypot to filter on, logins, uploads, downloads and the ports connected to."""
    return _select(
        con, f, "true",
        f"service AS trap, source, honeypot, {_N} AS events, {_SESSIONS}, {_IPS}, "
        f"coalesce(sum(count) FILTER (WHERE eventid LIKE '%.login.%' OR {_DIONAEA_LOGIN}), 0)::BIGINT AS logins, "
        f"coalesce(sum(count) FILTER (WHERE {_UPLOAD}), 0)::BIGINT AS uploads, "
        f"coalesce(sum(count) FILTER (WHERE {_DOWNLOAD}), 0)::BIGINT AS downloads, "
        "count(DISTINCT dst_port) AS ports, "
        "nullif(array_to_string(list_sort(list_distinct(list(dst_port) FILTER (WHERE dst_port IS NOT NULL)))"
        f"[1:{MAX_PORTS}], ','), '') AS port_list, {_SPAN}",
        "1, 2, 3", "events DESC, trap, source, honeypot", limit,
    )  # fmt: skip


def smb_dialects(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 20) -> pa.Table:
    """SMB dialects negotiated, per dialect chosen and the set the client offered, with sessions and IPs."""
    return _select(
        con, f, "eventid = 'smb.protocol.negotiate'",
        f"smb_version, dialect, offered, {_N} AS negotiations, {_SESSIONS}, {_IPS}, {_SPAN}",
        "1, 2, 3", "negotiations DESC, smb_version NULLS LAST, dialect NULLS LAST, offered NULLS LAST", limit,
    )  # fmt: skip


def smb_pipes(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 30) -> pa.Table:
    """DCE/RPC on the SMB trap's named pipes: binds and calls per pipe, interface and operation."""
    return _select(
        con, f, "eventid IN ('smb.dcerpc.bind', 'smb.dcerpc.request')",
        "pipe, interface, operation, opnum, "
        f"coalesce(sum(count) FILTER (WHERE eventid = 'smb.dcerpc.bind'), 0)::BIGINT AS binds, "
        f"coalesce(sum(count) FILTER (WHERE eventid = 'smb.dcerpc.request'), 0)::BIGINT AS calls, "
        f"{_agg('command')} AS commands, {_IPS}, {_SPAN}",
        "1, 2, 3, 4",
        "binds + calls DESC, pipe NULLS LAST, interface NULLS LAST, operation NULLS FIRST, opnum NULLS FIRST", limit,
    )  # fmt: skip


def smb_exploits(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 30) -> pa.Table:
    """MS17-010 (EternalBlue) probes and DoublePulsar pings per day and source IP: the tool (MS17-010) or
    subcommand (DoublePulsar), and what the trap answered."""
    return _select(
        con, f, "eventid IN ('smb.exploit.ms17-010', 'smb.exploit.doublepulsar')",
        "hour::DATE AS day, src_ip, split_part(eventid, '.', 3) AS exploit, detail, "
        f"{_N} AS probes, {_SESSIONS}, {_agg('answer')} AS answers, {_SPAN}",
        "1, 2, 3, 4", "day, probes DESC, src_ip, exploit, detail NULLS FIRST", limit,
    )  # fmt: skip


def smb_shares(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 20) -> pa.Table:
    """SMB shares: tree connects and files written per share, with source IPs."""
    return _select(
        con, f, "eventid IN ('smb.tree.connect', 'smb.session.file_upload') AND share IS NOT NULL",
        "share, coalesce(sum(count) FILTER (WHERE eventid = 'smb.tree.connect'), 0)::BIGINT AS tree_connects, "
        "coalesce(sum(count) FILTER (WHERE eventid = 'smb.session.file_upload'), 0)::BIGINT AS uploads, "
        f"count(DISTINCT sha256) AS files, {_IPS}, {_SPAN}",
        "share", "tree_connects + uploads DESC, share", limit,
    )  # fmt: skip


def sql_commands(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 20) -> pa.Table:
    """SQL sent to the MSSQL and MySQL traps (and Dionaea's) after login: per trap, statement and source,
    sessions and IPs."""
    return _select(
        con, f, f"{_SQL} AND command IS NOT NULL",
        f"service AS trap, command, {_N} AS count, {_SESSIONS}, {_IPS}, {_SPAN}, source",
        "trap, command, source", "count DESC, trap, command, source", limit,
    )  # fmt: skip


def sql_shell(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 20) -> pa.Table:
    """Shell command lines (xp_cmdshell, sp_OACreate) and URLs fetched from SQL the traps were sent."""
    src, params = _source(con, f)
    sql = f"""
    WITH r AS (SELECT * FROM {src} WHERE {_SQL} AND (shell IS NOT NULL OR urls IS NOT NULL)),
    x AS (SELECT honeypot, unnest(coalesce(shell, [NULL::VARCHAR])) AS line, urls, count, session_key, src_ip,
                 first_seen, last_seen FROM r)
    SELECT honeypot AS trap, line AS shell,
           nullif(array_to_string(list_sort(list_distinct(flatten(list(urls) FILTER (WHERE urls IS NOT NULL)))),
                  ','), '') AS urls,
           {_N} AS count, {_SESSIONS}, {_IPS}, {_SPAN}
    FROM x GROUP BY 1, 2 ORDER BY count DESC, trap, shell NULLS LAST LIMIT {int(limit)}"""
    return _run(con, sql, params)


def sip_agents(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 20) -> pa.Table:
    """SIP User-Agents (and the scanner recognised), with the methods they sent and source IPs."""
    return _select(
        con, f, "eventid = 'sip.request.received'",
        f"client_version AS user_agent, scanner, {_N} AS requests, {_agg('method')} AS methods, {_IPS}, {_SPAN}",
        "1, 2", "requests DESC, user_agent NULLS LAST, scanner NULLS LAST", limit,
    )  # fmt: skip


def sip_extensions(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 20) -> pa.Table:
    """SIP extensions tried: REGISTER requests per To user, digest logins per username, realms, IPs."""
    return _select(
        con, f,
        "(eventid = 'sip.request.received' AND method = 'REGISTER' AND to_user IS NOT NULL) "
        "OR (eventid LIKE 'sip.login.%' AND username IS NOT NULL)",
        "coalesce(username, to_user) AS extension, "
        "coalesce(sum(count) FILTER (WHERE eventid = 'sip.request.received'), 0)::BIGINT AS registers, "
        "coalesce(sum(count) FILTER (WHERE eventid LIKE 'sip.login.%'), 0)::BIGINT AS logins, "
        "coalesce(sum(count) FILTER (WHERE eventid = 'sip.login.success'), 0)::BIGINT AS successes, "
        f"{_agg('realm')} AS realms, {_IPS}, {_SPAN}",
        "1", "registers + logins DESC, extension", limit,
    )  # fmt: skip


def catchall_ports(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 30) -> pa.Table:
    """Ports the catch-all listener was asked for: connections, payloads and the protocols guessed."""
    return _select(
        con, f, "honeypot = 'catchall' AND dst_port IS NOT NULL",
        "dst_port AS port, coalesce(sum(count) FILTER (WHERE eventid = 'catchall.session.connect'), 0)::BIGINT "
        "AS connections, coalesce(sum(count) FILTER (WHERE eventid = 'catchall.payload.received'), 0)::BIGINT "
        f"AS payloads, {_agg('guess')} FILTER (WHERE eventid = 'catchall.payload.received') AS guesses, "
        f"{_IPS}, {_SPAN}",
        "1", "connections DESC, payloads DESC, port", limit,
    )  # fmt: skip


def catchall_guesses(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 30) -> pa.Table:
    """Protocol guesses of the catch-all listener per port, with the TLS fingerprints (JA4, JA3) and SNI."""
    return _select(
        con, f, "eventid = 'catchall.payload.received'",
        f"coalesce(guess, 'unknown') AS guess, dst_port AS port, ja4, ja3, {_N} AS payloads, {_IPS}, "
        f"{_agg('sni')} AS sni, {_SPAN}",
        "1, 2, 3, 4", "payloads DESC, guess, port NULLS LAST, ja4 NULLS LAST, ja3 NULLS LAST", limit,
    )  # fmt: skip


def service_uploads(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 20) -> pa.Table:
    """Files written to the SMB, FTP, TFTP and MySQL traps: SHA-256, trap, path, size, first and last seen."""
    return _select(
        con, f, f"{_UPLOAD} AND sha256 IS NOT NULL",
        f"sha256, honeypot AS trap, path, size, {_N} AS uploads, {_IPS}, {_SPAN}",
        "1, 2, 3, 4", "last_seen DESC, sha256, trap, path NULLS LAST, size NULLS LAST", limit,
    )  # fmt: skip


def service_logins(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 20) -> pa.Table:
    """Logins tried on the service traps and Dionaea, per trap (Dionaea: the service), username/password
    (NULL: the protocol sends none) and source. A Dionaea JSON record counts once, with its first pair."""
    own, own_params = source(con, "credentials", f)
    dio, dio_params = _source(con, f)
    sql = f"""WITH x AS (
      SELECT honeypot AS trap, username, password, attempts, successes, 'honeyfarm' AS source
      FROM {own} WHERE honeypot IN {_TRAPS_SQL}
      UNION ALL
      SELECT service, username, password, count, CASE WHEN eventid = 'dionaea.login.success' THEN count ELSE 0 END,
             source
      FROM {dio} WHERE {_DIONAEA_LOGIN} AND username IS NOT NULL)
    SELECT trap, username, password, sum(attempts)::BIGINT AS attempts, sum(successes)::BIGINT AS successes, source
    FROM x GROUP BY trap, username, password, source
    ORDER BY attempts DESC, trap, username, password NULLS FIRST, source LIMIT {int(limit)}"""
    return _run(con, sql, own_params + dio_params)


SERVICE_PANELS: dict[str, Panel] = {
    p.name: p
    for p in (
        Panel("service-overview", service_overview, 10),
        Panel("service-logins", service_logins, 20),
        Panel("service-uploads", service_uploads, 20),
        Panel("smb-dialects", smb_dialects, 20),
        Panel("smb-pipes", smb_pipes, 30),
        Panel("smb-exploits", smb_exploits, 30),
        Panel("smb-shares", smb_shares, 20),
        Panel("sql-commands", sql_commands, 20),
        Panel("sql-shell", sql_shell, 20),
        Panel("sip-agents", sip_agents, 20),
        Panel("sip-extensions", sip_extensions, 20),
        Panel("catchall-ports", catchall_ports, 30),
        Panel("catchall-guesses", catchall_guesses, 30),
    )
}


def service_timeline(con: duckdb.DuckDBPyConnection, f: Filters, bucket: str = "hour") -> pa.Table:
    """Service events per hour or day and service (honeyfarm's traps and Dionaea's services together);
    columns ``bucket, series, events``."""
    if bucket not in ("hour", "day"):
        raise ValueError("bucket must be 'hour' or 'day'")
    src, params = _source(con, f)
    sql = f"""SELECT date_trunc('{bucket}', hour) AS bucket, service AS series, {_N} AS events
    FROM {src} GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2"""
    return _run(con, sql, params)


def span(con: duckdb.DuckDBPyConnection, f: Filters) -> dt.timedelta:
    """Time between the first and the last hour with service trap events (picks the timeline's bucket)."""
    src, params = _source(con, f)
    [(lo, hi)] = con.execute(f"SELECT min(hour), max(hour) FROM {src}", params or None).fetchall()
    return (hi - lo) if lo is not None else dt.timedelta(0)
