# SPDX-License-Identifier: MIT
"""The read-only JSON API under ``/api`` (documented in docs/dashboard.md and by OpenAPI)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from honeyfarm.analysis.malware import PANELS as MALWARE_PANELS
from honeyfarm.analysis.panels import CLIENT_PANELS, PANELS, Filters, session_span, source
from honeyfarm.analysis.services import SERVICE_PANELS
from honeyfarm.analysis.suricata import SURICATA_PANELS
from honeyfarm.analysis.traps import TRAP_PANELS, download_origins
from honeyfarm.collect.cowrie_tty import lake_links
from honeyfarm.timewindow import TimeWindow
from honeyfarm.views.web import queries
from honeyfarm.views.web.catalog import SensorFacts, catalog
from honeyfarm.views.web.live import matches
from honeyfarm.views.web.state import AppState

router = APIRouter(prefix="/api")

MAX_VALUES = 100
#: An eventid (``cowrie.login.failed``) or a prefix of one (``cowrie.login.*``, ``cowrie.*``).
EVENTID_FILTER = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(\.\*)?")
NOTHING = "\x00no-such-sensor"  # a sensor filter that matches no event (region with no sensors)

Limit = Annotated[int | None, Query(ge=1, le=500, description="Rows per page.")]
Offset = Annotated[int, Query(ge=0, le=10_000, description="Rows to skip.")]


def state(request: Request) -> AppState:
    return request.app.state.honeyfarm  # type: ignore[no-any-return]


StateDep = Annotated[AppState, Depends(state)]


def facts(st: AppState) -> dict[str, SensorFacts]:
    return st.reader.run(lambda con: catalog(con, st.fleet), key="catalog", memo=True)


def _in_window(name: str, t: dt.datetime | None, window: TimeWindow) -> dt.datetime | None:
    """``t`` as naive UTC, or 422 when it lies outside :meth:`TimeWindow.query_range`."""
    try:
        return window.check(name, t)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


def filters(
    st: StateDep,
    since: Annotated[
        dt.datetime | None, Query(description="Start of the time range (ISO 8601, UTC if no zone).")
    ] = None,
    until: Annotated[dt.datetime | None, Query(description="End of the time range, exclusive.")] = None,
    sensor: Annotated[list[str], Query(description="Sensor name (repeatable).")] = [],  # noqa: B006
    region: Annotated[list[str], Query(description="Sensor region (repeatable).")] = [],  # noqa: B006
    exposure: Annotated[list[str], Query(description="Sensor exposure tag (repeatable).")] = [],  # noqa: B006
    honeypot: Annotated[list[str], Query(description="Honeypot: first part of the eventid (repeatable).")] = [],  # noqa: B006
    country: Annotated[list[str], Query(description="ISO 3166-1 alpha-2 source country (repeatable).")] = [],  # noqa: B006
    eventid: Annotated[
        list[str], Query(description="Eventid (repeatable); a trailing `*` is a prefix: `cowrie.login.*`.")
    ] = [],  # noqa: B006
    internal: Annotated[
        Literal["include", "exclude"],
        Query(
            description="Events from internal source addresses (loopback, RFC 1918, link-local, CGNAT, ULA): "
            "`exclude` drops them. The dashboard sends `exclude` unless its toggle is off."
        ),
    ] = "include",
) -> Filters:
    for name, values in (("sensor", sensor), ("region", region), ("exposure", exposure), ("honeypot", honeypot),
                         ("country", country), ("eventid", eventid)):  # fmt: skip
        if len(values) > MAX_VALUES or any(len(v) > 200 for v in values):
            raise HTTPException(400, f"{name}: at most {MAX_VALUES} values of at most 200 characters")
    bad = [e for e in eventid if not EVENTID_FILTER.fullmatch(e)]
    if bad:
        raise HTTPException(400, f"eventid: {bad[0][:80]!r} is not an eventid or an eventid prefix ending in '*'")
    since, until = _in_window("since", since, st.window), _in_window("until", until, st.window)
    if since and until and since >= until:
        raise HTTPException(400, "since must be before until")
    sensors = set(sensor)
    if region or exposure:
        known = facts(st)
        chosen = {
            n
            for n, s in known.items()
            if (not region or s.region in region) and (not exposure or s.exposure in exposure)
        }
        sensors = (sensors & chosen) if sensors else chosen
        sensors = sensors or {NOTHING}
    return Filters(
        since=since, until=until, sensors=tuple(sorted(sensors)), countries=tuple(sorted(set(country))),
        honeypots=tuple(sorted(set(honeypot))), exclude_internal=internal == "exclude",
        eventids=tuple(sorted(set(eventid))),
    )  # fmt: skip


FiltersDep = Annotated[Filters, Depends(filters)]


def _key(request: Request, *parts: object) -> tuple[object, ...]:
    return (request.url.path, tuple(sorted(request.query_params.multi_items())), *parts)


@router.get("/meta", summary="Filter choices and lake facts")
def meta(request: Request, st: StateDep) -> dict[str, Any]:
    """Values the filter bar offers (sensors, regions, exposures, honeypots, countries) and the lake's span."""
    known = facts(st)
    lo, hi = st.window.query_range()
    latest = st.window.latest().replace(minute=0, second=0, microsecond=0)  # whole hours: a cache key per hour
    out = st.reader.run(lambda con: queries.meta(con, known, lo, latest), key=_key(request, latest))
    # The eventid filter's choices: every eventid in the lake, busiest first, with its count.
    eids = st.reader.run(
        lambda con: queries.arrow_table(PANELS["eventids"].func(con, Filters(), limit=1000)),
        key=_key(request, latest, "eids"),
    )
    out["eventids"] = [{"eventid": r[0], "events": r[1]} for r in eids["rows"]]
    panels = [{"name": p.name, "doc": p.doc} for p in PANELS.values()]
    trap_panels = [{"name": p.name, "doc": p.doc} for p in TRAP_PANELS.values()]
    malware_panels = [{"name": p.name, "doc": p.doc} for p in MALWARE_PANELS.values()]  # /api/malware/panels/<name>
    service_panels = [{"name": p.name, "doc": p.doc} for p in SERVICE_PANELS.values()]
    suricata_panels = [{"name": p.name, "doc": p.doc} for p in SURICATA_PANELS.values()]
    # The lake's name only: its absolute path tells a visitor about the server's file system.
    lake = st.reader.root.resolve().name or "/"
    window = {"since": lo.isoformat(), "until": hi.isoformat()}
    return {
        **out, "version": st.version, "lake": lake, "window": window, "panels": panels, "trap_panels": trap_panels,
        "malware_panels": malware_panels, "service_panels": service_panels,
        "suricata_panels": suricata_panels, "auth": st.auth,
    }  # fmt: skip


@router.get("/panels/{name}", summary="One report panel as a table")
def panel(
    request: Request,
    name: str,
    st: StateDep,
    f: FiltersDep,
    limit: Limit = None,
    offset: Offset = 0,
    bucket: Annotated[Literal["hour", "day", "auto"], Query(description="timeline: bucket size.")] = "auto",
    by: Annotated[Literal["none", "country", "honeypot"], Query(description="timeline: split series.")] = "none",
    origin: Annotated[
        bool, Query(description="downloads: add each file's traps, how its URL was found, and first session.")
    ] = False,
) -> dict[str, Any]:
    """The same panels as ``honeyfarm report``: see ``/api/meta`` for their names."""
    p = PANELS.get(name) or TRAP_PANELS.get(name) or SERVICE_PANELS.get(name) or SURICATA_PANELS.get(name)
    p = p or CLIENT_PANELS.get(name)
    if p is None:
        raise HTTPException(404, f"no panel {name!r}")
    if name == "timeline":
        return st.reader.run(lambda con: _timeline(con, f, limit or 5, bucket, by), key=_key(request))
    n = limit or p.default_limit
    if name == "downloads" and origin:
        return st.reader.run(lambda con: _downloads(con, f, n, offset), key=_key(request))
    return st.reader.run(
        lambda con: queries.arrow_table(p.func(con, f, limit=offset + n + 1), n, offset), key=_key(request)
    )


def _downloads(con: Any, f: Filters, n: int, offset: int) -> dict[str, Any]:
    """The downloads panel's page with each file's origin (looked up for the page's rows only)."""
    page = PANELS["downloads"].func(con, f, limit=offset + n + 1).slice(offset)
    out = queries.arrow_table(download_origins(con, f, page), n)
    out["offset"] = offset
    return out


def _timeline(con: Any, f: Filters, series: int, bucket: str, by: str) -> dict[str, Any]:
    if bucket == "auto":
        src, params = source(con, "eventids", f)
        row = con.execute(f"SELECT min(hour), max(hour) FROM {src}", params or None).fetchone()
        span = (row[1] - row[0]) if row and row[0] else dt.timedelta(0)
        bucket = "day" if span > dt.timedelta(days=4) else "hour"
    t = PANELS["timeline"].func(
        con, f, limit=min(series, 20), bucket=bucket, by_country=by == "country", by_honeypot=by == "honeypot"
    )
    if by != "none":
        t = t.rename_columns(["bucket", "series", "events"])
    out = queries.arrow_table(t)
    out["bucket"] = bucket
    return out


@router.get("/map", summary="Attack map: countries, sensors and arcs")
def world_map(request: Request, st: StateDep, f: FiltersDep) -> dict[str, Any]:
    known = facts(st)
    return st.reader.run(lambda con: queries.world_map(con, f, known), key=_key(request))


@router.get("/sensors", summary="Per sensor, region and exposure, with cost and per-dollar figures")
def sensors(request: Request, st: StateDep, f: FiltersDep) -> dict[str, Any]:
    known = facts(st)
    return st.reader.run(lambda con: queries.sensors(con, f, known), key=_key(request))


@router.get("/sessions", summary="Sessions, busiest first")
def sessions(
    request: Request,
    st: StateDep,
    f: FiltersDep,
    limit: Limit = None,
    offset: Offset = 0,
    command: Annotated[
        str | None, Query(max_length=100_000, description="Only sessions that ran this command line.")
    ] = None,
    ip: Annotated[str | None, Query(max_length=64, description="Only sessions from this source address.")] = None,
) -> dict[str, Any]:
    return st.reader.run(lambda con: queries.sessions(con, f, limit or 50, offset, command, ip), key=_key(request))


# Sensor and session are query parameters, not path segments: a sensor name may hold a "/",
# which a path cannot carry (%2F is decoded before routing).
SensorQ = Annotated[str, Query(max_length=200, description="Sensor name.")]
SessionQ = Annotated[str, Query(max_length=200, description="Session id (the `session` column).")]


@router.get("/session", summary="One session's events")
def session(request: Request, st: StateDep, sensor: SensorQ, session: SessionQ) -> dict[str, Any]:
    own = st.ttylogs.find(session)

    def page(con: Any) -> tuple[Any, list[tuple[str | None, str | None]]] | None:
        # One span lookup for both queries: the events and the TTY log links read only the session's days.
        span = session_span(con, sensor, session)
        if span is None:
            return None
        events = queries.session_events(con, sensor, session, span=span)
        return events, [] if own is not None else lake_links(con, session, sensor, span)

    found = st.reader.run(page, key=_key(request))
    if found is None:
        raise HTTPException(404, "no such session in the lake")
    events, links = found
    tty = own is not None or bool(st.ttylogs.find_all(session, st.reader.root, links))
    return {"sensor": sensor, "session": session, "events": events, "ttylog": tty}


def _ttylogs(request: Request, st: StateDep, sensor: str, session: str) -> list[Path]:
    """The sensor's own TTY log of the session, else the Cowrie TTY logs ingest converted, found through the
    session's cowrie.log.open/closed events (or the old file names)."""
    own = st.ttylogs.find(session)
    if own is not None:  # the sensor's own cast: no lake query needed
        return [own]
    links = st.reader.run(lambda con: lake_links(con, session, sensor), key=_key(request, "ttylinks", sensor, session))
    return st.ttylogs.find_all(session, st.reader.root, links)


@router.get("/session/ttylog", summary="A session's TTY log, as text frames")
def ttylog(request: Request, st: StateDep, sensor: SensorQ, session: SessionQ) -> dict[str, Any]:
    """Only for a session the lake has under this sensor: the URL cannot name other files."""
    paths = _ttylogs(request, st, sensor, session)
    if not paths:
        raise HTTPException(404, "no TTY log for this session")
    known = st.reader.run(lambda con: queries.session_exists(con, sensor, session), key=_key(request, "exists"))
    if not known:
        raise HTTPException(404, "no TTY log for this session")
    return st.ttylogs.load_all(paths)


@router.get("/network/vpc", summary="VPC Flow Logs by country, port and action")
def vpc(request: Request, st: StateDep, f: FiltersDep, limit: Limit = None) -> dict[str, Any]:
    return st.reader.run(lambda con: queries.vpc(con, f, limit or 20), key=_key(request))


@router.get("/network/route53", summary="Route 53 queries by name, type and country")
def route53(request: Request, st: StateDep, f: FiltersDep, limit: Limit = None) -> dict[str, Any]:
    return st.reader.run(lambda con: queries.route53(con, f, limit or 20), key=_key(request))


@router.get("/live/recent", summary="The newest events")
def live_recent(st: StateDep, f: FiltersDep, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    """The newest events matching the filters (time range included), newest first."""
    return {"events": st.live.recent(limit, f)}


@router.get("/live", summary="Server-Sent Events: new events as they land", response_class=StreamingResponse)
async def live(request: Request, st: StateDep, f: FiltersDep) -> StreamingResponse:
    """New events as ingest commits them, filtered by sensor, region, exposure, honeypot and country."""
    q = st.live.subscribe()

    async def stream() -> AsyncIterator[bytes]:
        try:
            yield b"retry: 3000\n\n"
            while not await request.is_disconnected():
                try:
                    batch = await asyncio.wait_for(q.get(), timeout=15)
                except TimeoutError:
                    yield b"event: ping\ndata: {}\n\n"
                    continue
                batch = [e for e in batch if matches(e, f)]
                if not batch:
                    continue
                yield b"event: events\ndata: " + json.dumps(batch, separators=(",", ":")).encode() + b"\n\n"
        finally:
            st.live.unsubscribe(q)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})
