# SPDX-License-Identifier: MIT
"""The commands that read the lake or the registries: query, report, compact, lake files, formats, eventids, geoip.

Reading commands never create a lake: a lake directory that does not exist is
an error naming the path and where it came from (``--lake``,
``$HONEYFARM_LAKE``, the config file or the default), not empty panels.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Annotated, Optional

import typer

from honeyfarm.analysis.names import (
    MALWARE_PANEL_NAMES,
    PANEL_NAMES,
    SERVICE_PANEL_NAMES,
    SURICATA_PANEL_NAMES,
    TRAP_PANEL_NAMES,
)
from honeyfarm.cli_common import Command, ConfigOpt, CsvOpt, JsonOpt, LakeOpt, app, fail, lake_to_read, load, stdout

#: What ``--limit 0`` ("no limit") asks the panels for: more rows than any lake holds.
NO_LIMIT = 2**62

RepeatOpt = Optional[list[str]]  # noqa: UP045  (typer needs Optional for a repeatable option without a default)


@app.command(cls=Command)
def query(
    sql: Annotated[str, typer.Argument(metavar="SQL", help="SQL over the views `events` and `dead_letter`.")],
    config: ConfigOpt = None,
    lake: LakeOpt = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Run SQL (DuckDB dialect) over the lake."""
    import duckdb

    from honeyfarm.lake.store import Lake

    cfg = load(config)
    con = Lake(lake_to_read(cfg, lake, config), cfg.lake).connect(cfg.ingest.threads)
    try:
        table = con.sql(sql).to_arrow_table()
    except duckdb.Error as exc:
        raise fail(f"query failed: {exc}", 1) from None
    emit(table, as_json, as_csv, None)


def emit(table: object, as_json: bool, as_csv: bool, title: str | None) -> None:
    import pyarrow as pa

    from honeyfarm.views.render import print_table, write_csv, write_json

    assert isinstance(table, pa.Table)
    if as_json:
        write_json(table, sys.stdout)
    elif as_csv:
        write_csv(table, sys.stdout)
    else:
        print_table(table, stdout(), title)


def _parse_time(option: str, s: str | None) -> dt.datetime | None:
    if s is None:
        return None
    try:
        t = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise fail(f"error: {option}: not an ISO 8601 date or time: {s!r}", 2) from None
    return t


@app.command(cls=Command)
def report(
    panel: Annotated[
        Optional[str],  # noqa: UP045
        typer.Argument(
            metavar="PANEL",
            help=f"One of: {', '.join(PANEL_NAMES + TRAP_PANEL_NAMES + MALWARE_PANEL_NAMES + SERVICE_PANEL_NAMES)}, "
            f"{', '.join(SURICATA_PANEL_NAMES)}, http-user-agents, honeypot-types, or `malware` / `services` / "
            "`suricata` for all malware / service trap / Suricata panels (default: a summary).",
        ),
    ] = None,
    since: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(metavar="TIME", help="Start (ISO 8601, UTC unless an offset is given)."),
    ] = None,
    until: Annotated[Optional[str], typer.Option(metavar="TIME", help="End, exclusive (ISO 8601).")] = None,  # noqa: UP045
    sensor: Annotated[RepeatOpt, typer.Option(metavar="NAME", help="Only this sensor (repeatable).")] = None,
    country: Annotated[
        RepeatOpt, typer.Option(metavar="CC", help="Only this source country, ISO code (repeatable).")
    ] = None,
    honeypot: Annotated[
        RepeatOpt, typer.Option(metavar="NAME", help="Only this honeypot, e.g. cowrie (repeatable).")
    ] = None,
    limit: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(metavar="N", help="Rows per panel (default: the panel's own; 0 = no limit)."),
    ] = None,
    bucket: Annotated[str, typer.Option(metavar="hour|day", help="timeline: hour or day.")] = "hour",
    by_country: Annotated[bool, typer.Option("--by-country", help="timeline: split by country.")] = False,
    exclude_internal: Annotated[
        bool,
        typer.Option(
            "--exclude-internal",
            help="Leave out events from internal source addresses (loopback, RFC 1918, link-local, CGNAT, ULA).",
        ),
    ] = False,
    eventid: Annotated[
        RepeatOpt, typer.Option(metavar="ID", help="Only this eventid, or prefix ending in * (repeatable).")
    ] = None,
    config: ConfigOpt = None,
    lake: LakeOpt = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Report panels over the lake (overview, top-*, timeline, ..., downloads, eventids, the exploit and service
    traps')."""
    from honeyfarm.analysis.malware import PANELS as MALWARE_PANELS
    from honeyfarm.analysis.overview import OVERVIEW_PANELS
    from honeyfarm.analysis.panels import CLIENT_PANELS, PANELS, SUMMARY_PANELS, Filters
    from honeyfarm.analysis.services import SERVICE_PANELS
    from honeyfarm.analysis.suricata import SURICATA_PANELS
    from honeyfarm.analysis.traps import TRAP_PANELS
    from honeyfarm.lake.store import Lake
    from honeyfarm.views.render import dumps_json, write_json
    from honeyfarm.views.web.catalog import catalog

    known = {**PANELS, **CLIENT_PANELS, **TRAP_PANELS, **MALWARE_PANELS, **SERVICE_PANELS, **SURICATA_PANELS,
             **OVERVIEW_PANELS}  # fmt: skip
    # names that print several panels
    group = {None: list(SUMMARY_PANELS), "malware": list(MALWARE_PANELS), "services": list(SERVICE_PANELS),
             "suricata": list(SURICATA_PANELS)}  # fmt: skip
    cfg = load(config)
    if panel not in known and panel not in group:
        raise fail(f"unknown panel {panel!r}; known: {', '.join(known)}, malware, services, suricata", 2)
    if as_csv and panel in group:
        raise fail("--csv needs one panel name", 2)
    if limit is not None and limit < 0:
        raise fail(f"error: --limit must be 0 (no limit) or more, not {limit}", 2)
    window = cfg.ingest.window()
    try:  # the range ingest accepts events in: nothing outside it, and no date arithmetic overflows
        start = window.check("--since", _parse_time("--since", since))
        end = window.check("--until", _parse_time("--until", until))
    except ValueError as exc:
        raise fail(f"error: {exc}", 2) from None
    if start is not None and end is not None and start >= end:  # both naive UTC now
        raise fail(f"error: --since {since} is not before --until {until}", 2)
    filters = Filters(
        since=start, until=end, sensors=tuple(sensor or ()),
        countries=tuple(c.upper() for c in country or ()), honeypots=tuple(honeypot or ()),
        exclude_internal=exclude_internal, eventids=tuple(eventid or ()),
    )  # fmt: skip
    con = Lake(lake_to_read(cfg, lake, config), cfg.lake).connect(cfg.ingest.threads)
    names = group.get(panel) or [str(panel)]
    results = {}
    for name in names:
        p = known[name]
        kwargs: dict[str, object] = {"limit": p.default_limit if limit is None else limit or NO_LIMIT}
        if name == "timeline":
            kwargs.update(bucket=bucket, by_country=by_country)
        if name == "malware-sensors":  # region, exposure and cost: the lake's sensor identities and [fleet]
            kwargs["facts"] = catalog(con, cfg.fleet)
        try:
            results[name] = p.func(con, filters, **kwargs)
        except ValueError as exc:
            raise fail(str(exc), 2) from None
    if as_json:
        if panel in known:
            write_json(results[panel], sys.stdout)
        else:
            body = {k: v.to_pylist() for k, v in results.items()}
            sys.stdout.write(dumps_json(body) + "\n")
        return
    for name, table in results.items():
        emit(table, False, as_csv, None if as_csv else name)


@app.command()
def compact(
    config: ConfigOpt = None,
    lake: LakeOpt = None,
    min_files: Annotated[int, typer.Option(metavar="N", help="Compact partitions with at least this many files.")] = 2,
) -> None:
    """Merge each date partition's small files into one (crash-safe); delete files past their retention."""
    from honeyfarm.lake.store import TABLES, Lake

    cfg = load(config)
    lk = Lake(lake_to_read(cfg, lake, config), cfg.lake)
    with lk.writer():
        con = lk.connect(cfg.ingest.threads, cfg.ingest.memory_limit)
        n = 0
        for table in TABLES:
            for d in lk.partitions(table):
                n += lk.compact(con, table, d, min_files)
        lk.sync_rollups(con)
        gone = lk.vacuum()
    stdout().print(f"compacted {n} partition(s); deleted {gone} file(s) past retention", markup=False)


lake_app = typer.Typer(help="The lake's snapshots: which files a consistent read uses.", no_args_is_help=True)
app.add_typer(lake_app, name="lake")


@lake_app.command("files")
def lake_files(
    table: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(metavar="TABLE", help="Only this table: events, dead_letter, files, scans or a rollup name."),
    ] = None,
    absolute: Annotated[bool, typer.Option("--absolute", help="Absolute paths instead of paths in the lake.")] = False,
    config: ConfigOpt = None,
    lake: LakeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The files of the lake's current snapshot, one per line (or JSON: version and files per table).

    Give this list to another engine (Spark, Trino, DuckDB) for a consistent read: a directory glob may also
    see files a compaction replaced, which stay until their retention ends.
    """
    from honeyfarm.lake import rollup
    from honeyfarm.lake.store import Lake

    cfg = load(config)
    root = lake_to_read(cfg, lake, config)
    lk = Lake(root, cfg.lake)
    snap = lk.snapshot()
    tables = dict(lk.tables())
    if table is not None:
        key = rollup.key(table) if table in rollup.ROLLUPS else table
        if key not in tables and table not in ("events", "dead_letter", "files", "scans", *rollup.ROLLUPS):
            raise fail(f"error: unknown table {table!r}", 2)
        tables = {key: tables.get(key, ())}

    def show(rel: str) -> str:
        return str((root / rel).resolve()) if absolute else rel

    if as_json:
        body = {
            "version": None if snap is None else snap.version,
            "tables": {k: [show(p) for p in v] for k, v in sorted(tables.items())},
        }
        sys.stdout.write(json.dumps(body, indent=1) + "\n")
        return
    for paths in tables.values():
        for p in paths:
            sys.stdout.write(show(p) + "\n")


@app.command()
def formats() -> None:
    """List the input formats ingest knows, by name."""
    from honeyfarm.formats import registry

    found = sorted(registry().values(), key=lambda f: f.name)
    width = max(len(f.name) for f in found)
    for f in found:
        typer.echo(f"{f.name:{width}}  {f.description}")


@app.command()
def eventids(as_json: JsonOpt = False) -> None:
    """List the eventid registry."""
    from honeyfarm.eventids import EVENT_IDS

    if as_json:
        typer.echo(json.dumps(EVENT_IDS, indent=1))
        return
    width = max(len(k) for k in EVENT_IDS)
    for k, v in EVENT_IDS.items():
        typer.echo(f"{k:{width}}  {v}")


@app.command(cls=Command)
def geoip(
    ips: Annotated[list[str], typer.Argument(metavar="IP", help="Addresses to look up (IPv4 or IPv6).")],
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Look addresses up in the configured GeoIP/ASN databases."""
    import ipaddress

    from honeyfarm.enrich.geoip import GeoIP

    cfg = load(config)
    for ip in ips:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise fail(f"error: not an IP address: {ip!r}", 2) from None
    emit(GeoIP(cfg.geoip).lookup(ips), as_json, False, None)
