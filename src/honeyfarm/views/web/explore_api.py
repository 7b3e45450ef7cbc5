# SPDX-License-Identifier: MIT
"""``/api/overview/...`` and ``/api/credentials/...``: the T-Pot-style answers (documented in docs/dashboard.md).

Events per honeypot type and the destination-port histogram for the
Overview; the credential search and the credential → addresses and sessions
drill-down for the Credentials view (:mod:`honeyfarm.analysis.overview`).
Same filters and answer cache as every other route.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request

from honeyfarm.analysis.overview import (
    MAX_PORTS,
    MAX_SEARCH,
    credential_ips,
    credential_search,
    credential_sessions,
    dst_ports,
    honeypot_types,
)
from honeyfarm.views.web import queries
from honeyfarm.views.web.api import FiltersDep, Limit, Offset, StateDep, _key

router = APIRouter()

#: A username or password to drill into: long enough for what attackers send, bounded for the URL and the query.
MAX_CREDENTIAL = 4096


@router.get("/api/overview/honeypots", summary="Events per honeypot type")
def honeypots(request: Request, st: StateDep, f: FiltersDep) -> dict[str, Any]:
    """Columns ``honeypot`` (type from the eventid), ``kind``, ``events``, ``percent``, ``eventids``, first and
    last hour."""
    return st.reader.run(lambda con: queries.arrow_table(honeypot_types(con, f)), key=_key(request))


@router.get("/api/overview/ports", summary="Events per destination port (top N, then other)")
def ports(
    request: Request,
    st: StateDep,
    f: FiltersDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PORTS, description="Ports shown before the 'other' row.")] = 15,
) -> dict[str, Any]:
    """Rows ``label, port, events, unique_ips, honeypots`` and ``events``, ``without_port``: rows + without = events."""
    return st.reader.run(lambda con: dst_ports(con, f, limit), key=_key(request))


@router.get("/api/credentials/search", summary="Username/password pairs holding a text")
def search(
    request: Request,
    st: StateDep,
    f: FiltersDep,
    q: Annotated[str, Query(min_length=1, max_length=MAX_SEARCH, description="Text, case-insensitive, literal.")],
    field: Annotated[Literal["username", "password", "both"], Query(description="Where to look.")] = "both",
    limit: Limit = None,
    offset: Offset = 0,
) -> dict[str, Any]:
    n = limit or 20
    return st.reader.run(
        lambda con: queries.arrow_table(credential_search(con, f, q, field, n + 1, offset), n, 0) | {"offset": offset},
        key=_key(request),
    )


Credential = Annotated[str | None, Query(max_length=MAX_CREDENTIAL)]


@router.get("/api/credentials/detail", summary="The addresses and sessions that tried a username, password or pair")
def detail(
    request: Request,
    st: StateDep,
    f: FiltersDep,
    username: Credential = None,
    password: Credential = None,
    nopassword: Annotated[bool, Query(description="The logins that sent no password (SMB, SIP).")] = False,
    limit: Limit = None,
) -> dict[str, Any]:
    """``{"ips": table, "sessions": table}``; given fields must match exactly (an empty string is a value)."""
    if username is None and password is None and not nopassword:
        raise HTTPException(400, "give username, password or both")
    if nopassword and password is not None:
        raise HTTPException(400, "password and nopassword exclude each other")
    n = limit or 50

    def run(con: Any) -> dict[str, Any]:
        ips = credential_ips(con, f, username, password, nopassword, n + 1)
        sessions = credential_sessions(con, f, username, password, nopassword, n + 1)
        return {
            "username": username, "password": password, "nopassword": nopassword,
            "ips": queries.arrow_table(ips, n), "sessions": queries.arrow_table(sessions, n),
        }  # fmt: skip

    return st.reader.run(run, key=_key(request))
