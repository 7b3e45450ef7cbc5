# SPDX-License-Identifier: MIT
"""``/api/ip``: one source address across the whole fleet (the dashboard's ``#/ip/<addr>`` page).

What an analyst asks of an address first: where it is (country, AS), whether it
is internal, when it came, which sensors and honeypots it touched, its
sessions, the credentials it tried, its commands and downloads, and the
Suricata alerts it raised. The address is parsed with :mod:`ipaddress` and
only its canonical form reaches SQL, as a parameter.

The usual filters apply (time range, sensors, countries, honeypots, eventids),
except ``exclude internal``: the page of an internal address shows it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Annotated, Any

import duckdb
from fastapi import APIRouter, HTTPException, Query, Request

from honeyfarm.analysis.panels import NO_SENSOR, Filters, is_internal, source
from honeyfarm.analysis.rollup_sql import ALERT
from honeyfarm.lake.rollup import LOGIN, SUCCESS
from honeyfarm.views.web import queries
from honeyfarm.views.web.api import FiltersDep, StateDep, _key

router = APIRouter(prefix="/api")

#: Rows per section: the page is a summary; the Sources, Credentials and Commands views page through more.
ROWS = 50


def canonical(ip: str) -> str:
    """The address as the lake stores it (IPv4-mapped IPv6 as IPv4, IPv6 compressed), or 422."""
    try:
        addr = ipaddress.ip_address(ip.strip())
    except ValueError:
        raise HTTPException(422, "ip: not an IPv4 or IPv6 address") from None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return str(addr)


@router.get("/ip", summary="One source address: location, AS, activity across sensors")
def ip_page(
    request: Request,
    st: StateDep,
    f: FiltersDep,
    ip: Annotated[str, Query(max_length=64, description="IPv4 or IPv6 address.")],
) -> dict[str, Any]:
    """Facts, per-sensor and per-eventid counts, sessions, credentials, commands, downloads, Suricata alerts."""
    addr = canonical(ip)
    g = replace(f, exclude_internal=False)
    return st.reader.run(lambda con: ip_report(con, g, addr), key=_key(request, addr))


def _table(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> dict[str, Any]:
    rel = con.execute(sql, params or None)
    cols = [d[0] for d in rel.description or []]
    return queries.table(cols, rel.fetchall(), ROWS)


def ip_report(con: duckdb.DuckDBPyConnection, f: Filters, ip: str) -> dict[str, Any]:
    """The IP page's answer for a canonical address ``ip``."""
    n = ROWS + 1  # one more row than shown: ``has_more``
    ssrc, sp = source(con, "sessions", f)
    sql = f"""SELECT any_value(src_country), any_value(src_country_name), any_value(src_asn), any_value(src_as_org),
    min(first_seen), max(last_seen), coalesce(sum(events), 0)::BIGINT, count(DISTINCT session_key),
    count(DISTINCT sensor) FROM {ssrc} WHERE src_ip = ?"""
    facts = con.execute(sql, [*sp, ip]).fetchone() or (None,) * 9
    keys: tuple[str, ...] = ("country", "country_name", "asn", "organisation", "first_seen", "last_seen")
    keys += ("events", "sessions", "sensors")
    out: dict[str, Any] = {"ip": ip, "internal": is_internal(ip)}
    out.update({k: queries.jsonable(v) for k, v in zip(keys, facts, strict=True)})
    out["by_sensor"] = _table(
        con,
        f"""SELECT coalesce(sensor, '{NO_SENSOR}') AS sensor, sum(events)::BIGINT AS events,
        count(DISTINCT session_key) AS sessions, min(first_seen) AS first_seen, max(last_seen) AS last_seen
        FROM {ssrc} WHERE src_ip = ? GROUP BY 1 ORDER BY events DESC, 1 LIMIT {n}""",
        [*sp, ip],
    )
    out["sessions_list"] = _table(
        con,
        f"""SELECT sensor, session, min(first_seen) AS first_seen, max(last_seen) AS last_seen,
        sum(events)::BIGINT AS events, sum(logins)::BIGINT AS logins, sum(successes)::BIGINT AS successes,
        any_value(client_version) AS client_version
        FROM {ssrc} WHERE src_ip = ? AND session IS NOT NULL GROUP BY sensor, session
        ORDER BY first_seen DESC, sensor, session LIMIT {n}""",
        [*sp, ip],
    )
    # The eventid and credential rollups carry no address: these come from the events (one address's rows).
    where, wp = f.where("src_ip = ?")
    out["by_eventid"] = _table(
        con,
        f"""SELECT eventid, split_part(eventid, '.', 1) AS honeypot, count(*) AS events FROM events {where}
        GROUP BY 1 ORDER BY events DESC, 1 LIMIT {n}""",
        [*wp, ip],
    )
    out["credentials"] = _table(
        con,
        f"""SELECT username, password, count(*) AS attempts, count_if({SUCCESS}) AS successes FROM events {where}
        AND {LOGIN} AND username IS NOT NULL
        GROUP BY 1, 2 ORDER BY attempts DESC, 1, 2 LIMIT {n}""",
        [*wp, ip],
    )
    csrc, cp = source(con, "commands", f)
    out["commands"] = _table(
        con,
        f"""SELECT command, sum(count)::BIGINT AS count, count(DISTINCT session_key) AS sessions FROM {csrc}
        WHERE src_ip = ? GROUP BY 1 ORDER BY count DESC, 1 LIMIT {n}""",
        [*cp, ip],
    )
    dsrc, dp = source(con, "downloads", f)
    out["downloads"] = _table(
        con,
        f"""SELECT url, sha256, sum(count)::BIGINT AS count, min(first_seen) AS first_seen FROM {dsrc}
        WHERE src_ip = ? GROUP BY 1, 2 ORDER BY first_seen, 1, 2 LIMIT {n}""",
        [*dp, ip],
    )
    out["alerts"] = _table(
        con,
        f"""SELECT extra->>'$.alert.signature' AS signature, extra->>'$.alert.category' AS category,
        TRY_CAST(extra->>'$.alert.severity' AS INTEGER) AS severity, count(*) AS alerts, min(ts) AS first_seen,
        max(ts) AS last_seen FROM events {where} AND {ALERT}
        GROUP BY 1, 2, 3 ORDER BY alerts DESC, 1 LIMIT {n}""",
        [*wp, ip],
    )
    return out
