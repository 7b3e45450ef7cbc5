# SPDX-License-Identifier: MIT
"""The ``honeyfarm`` command line."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

# DuckDB, pyarrow and the renderers are imported inside the commands that use
# them: `honeyfarm sensor` runs for months on a 512 MB VM and needs none of them.
from honeyfarm.analysis.names import PANEL_NAMES
from honeyfarm.config import Config, ConfigError, load_config, resolve_lake

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Run honeypots and analyse what they catch: ingest logs into a Parquet lake, query it, report on it.",
    rich_markup_mode=None,
)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="honeyfarm.toml (default: $HONEYFARM_CONFIG or ./honeyfarm.toml)."),
]
LakeOpt = Annotated[
    Path | None,
    typer.Option("--lake", help="Lake directory (default: $HONEYFARM_LAKE, the config, ./honeyfarm-data)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
CsvOpt = Annotated[bool, typer.Option("--csv", help="CSV on stdout (formula injection neutralised).")]

err = Console(stderr=True, highlight=False)


def _config(path: Path | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(2) from None


def _stdout() -> Console:
    return Console(highlight=False, soft_wrap=False)


@app.command()
def ingest(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Files, directories or globs (gzip/zstd read transparently); s3://bucket/prefix; "
            "cloudwatch://log-group[/stream-prefix]?region=R."
        ),
    ],
    fmt: Annotated[
        str | None, typer.Option("--format", "-f", help="Force a format instead of detecting it per file.")
    ] = None,
    config: ConfigOpt = None,
    lake: LakeOpt = None,
    as_json: JsonOpt = False,
    progress: Annotated[bool, typer.Option(help="Progress bar (default: when stderr is a terminal).")] = True,
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep reading the sources for new data until SIGINT/SIGTERM.")
    ] = False,
    interval: Annotated[
        float | None,
        typer.Option(help="Seconds between polls with --follow (default: remote.follow_interval_seconds).", min=0.05),
    ] = None,
) -> None:
    """Ingest honeypot logs into the lake: parse, enrich, dedup; bad records go to dead-letter."""
    from honeyfarm.collect.files import InputError, expand_paths
    from honeyfarm.formats import get_format
    from honeyfarm.lake.store import LakeBusy
    from honeyfarm.pipeline import IngestResult, is_remote
    from honeyfarm.pipeline import ingest as run_ingest
    from honeyfarm.views.render import dumps_json

    cfg = _config(config)
    root = resolve_lake(cfg, lake)
    if fmt is not None:
        try:
            get_format(fmt)
        except KeyError as exc:
            err.print(str(exc.args[0]), markup=False)
            raise typer.Exit(2) from None

    def summary(result: IngestResult) -> str:
        return (
            f"ingested {result.ingested:,} events, {result.duplicates:,} duplicates skipped, "
            f"{result.dead_letter:,} to dead-letter, from {result.files} file(s) into {root}"
        )

    if follow:
        import signal

        from honeyfarm.collect.remote_s3 import remote_config

        every = interval if interval is not None else remote_config(cfg).follow_interval_seconds
        stopping: list[int] = []

        def on_signal(signum: int, _frame: object) -> None:
            if stopping:  # a second signal: stop now (the lake recovers on the next start)
                raise KeyboardInterrupt
            stopping.append(signum)

        def on_pass(one: IngestResult) -> None:
            if not as_json and (one.ingested or one.duplicates or one.dead_letter):
                print(summary(one), flush=True)
            for e in one.errors:
                err.print(f"error: {e}", markup=False)

        old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            result = run_ingest(paths, cfg, root, fmt, follow=every, stop=lambda: bool(stopping), on_pass=on_pass)
        except LakeBusy as exc:
            err.print(str(exc), markup=False)
            raise typer.Exit(3) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        finally:
            for s, h in old.items():
                signal.signal(s, h)
        if as_json:
            sys.stdout.write(dumps_json(result.to_dict()) + "\n")
        else:
            print(f"stopped; in total {summary(result)}", flush=True)
        if result.errors:
            raise typer.Exit(1)
        return

    show = progress and err.is_terminal and not as_json
    try:
        if show:
            try:
                total = sum(p.stat().st_size for p in expand_paths([p for p in paths if not is_remote(p)]))
            except InputError:
                total = None
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            with Progress(
                TextColumn("ingest"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
                console=err, transient=True,
            ) as bar:  # fmt: skip
                task = bar.add_task("ingest", total=None if any(is_remote(p) for p in paths) else total)
                result = run_ingest(paths, cfg, root, fmt, lambda n: bar.advance(task, n))
        else:
            result = run_ingest(paths, cfg, root, fmt)
    except LakeBusy as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(3) from None
    if as_json:
        sys.stdout.write(dumps_json(result.to_dict()) + "\n")
    else:
        out = _stdout()
        out.print(summary(result), markup=False)
        for p in result.pending:
            err.print(f"waiting: {p['file']} ends with an unfinished line ({p['bytes']} bytes)", markup=False)
    for e in result.errors:
        err.print(f"error: {e}", markup=False)
    if result.errors:
        raise typer.Exit(1)


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="SQL over the views `events` and `dead_letter`.")],
    config: ConfigOpt = None,
    lake: LakeOpt = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Run SQL (DuckDB dialect) over the lake."""
    import duckdb

    from honeyfarm.lake.store import Lake

    cfg = _config(config)
    con = Lake(resolve_lake(cfg, lake), cfg.lake).connect(cfg.ingest.threads)
    try:
        table = con.sql(sql).to_arrow_table()
    except duckdb.Error as exc:
        err.print(f"query failed: {exc}", markup=False)
        raise typer.Exit(1) from None
    _emit(table, as_json, as_csv, None)


def _emit(table: object, as_json: bool, as_csv: bool, title: str | None) -> None:
    import pyarrow as pa

    from honeyfarm.views.render import print_table, write_csv, write_json

    assert isinstance(table, pa.Table)
    if as_json:
        write_json(table, sys.stdout)
    elif as_csv:
        write_csv(table, sys.stdout)
    else:
        print_table(table, _stdout(), title)


def _parse_time(s: str | None) -> dt.datetime | None:
    if s is None:
        return None
    try:
        t = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 date or time: {s!r}") from None
    return t


@app.command()
def report(
    panel: Annotated[str | None, typer.Argument(help=f"One of: {', '.join(PANEL_NAMES)} (default: a summary).")] = None,
    since: Annotated[Optional[str], typer.Option(help="Start (ISO 8601, UTC unless an offset is given).")] = None,  # noqa: UP045
    until: Annotated[Optional[str], typer.Option(help="End, exclusive (ISO 8601).")] = None,  # noqa: UP045
    sensor: Annotated[Optional[list[str]], typer.Option(help="Only this sensor (repeatable).")] = None,  # noqa: UP045
    country: Annotated[list[str] | None, typer.Option(help="Only this source country, ISO code (repeatable).")] = None,
    honeypot: Annotated[Optional[list[str]], typer.Option(help="Only this honeypot, e.g. cowrie (repeatable).")] = None,  # noqa: UP045
    limit: Annotated[Optional[int], typer.Option(help="Rows per panel.")] = None,  # noqa: UP045
    bucket: Annotated[str, typer.Option(help="timeline: hour or day.")] = "hour",
    by_country: Annotated[bool, typer.Option("--by-country", help="timeline: split by country.")] = False,
    config: ConfigOpt = None,
    lake: LakeOpt = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Report panels over the lake (overview, top-*, timeline, client-versions, hassh, downloads, eventids)."""
    from honeyfarm.analysis.panels import PANELS, SUMMARY_PANELS, Filters
    from honeyfarm.lake.store import Lake
    from honeyfarm.views.render import dumps_json, write_json

    cfg = _config(config)
    if panel is not None and panel not in PANELS:
        err.print(f"unknown panel {panel!r}; known: {', '.join(PANELS)}", markup=False)
        raise typer.Exit(2)
    if as_csv and panel is None:
        err.print("--csv needs one panel name", markup=False)
        raise typer.Exit(2)
    filters = Filters(
        since=_parse_time(since), until=_parse_time(until), sensors=tuple(sensor or ()),
        countries=tuple(c.upper() for c in country or ()), honeypots=tuple(honeypot or ()),
    )  # fmt: skip
    con = Lake(resolve_lake(cfg, lake), cfg.lake).connect(cfg.ingest.threads)
    names = [panel] if panel else list(SUMMARY_PANELS)
    results = {}
    for name in names:
        p = PANELS[name]
        kwargs: dict[str, object] = {"limit": limit or p.default_limit}
        if name == "timeline":
            kwargs.update(bucket=bucket, by_country=by_country)
        try:
            results[name] = p.func(con, filters, **kwargs)
        except ValueError as exc:
            err.print(str(exc), markup=False)
            raise typer.Exit(2) from None
    if as_json:
        if panel:
            write_json(results[panel], sys.stdout)
        else:
            body = {k: v.to_pylist() for k, v in results.items()}
            sys.stdout.write(dumps_json(body) + "\n")
        return
    for name, table in results.items():
        _emit(table, False, as_csv, None if as_csv else name)


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option("--dir", help="Where the synthetic logs and the demo lake go.")] = Path(
        "honeyfarm-demo"
    ),
    events: Annotated[int, typer.Option(help="Synthetic events to generate.")] = 200_000,
    live: Annotated[
        bool, typer.Option(help="Also run the real SSH/Telnet traps on loopback against a scripted attacker.")
    ] = True,
    duration: Annotated[float, typer.Option(help="Keep the live traps up this many seconds to try by hand.")] = 0,
    serve: Annotated[bool, typer.Option(help="Start the web dashboard on the demo lake and print its URL.")] = True,
    port: Annotated[int, typer.Option(help="Dashboard port (a free one if it is taken).")] = 8000,
    serve_for: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(
            help="Keep the dashboard up this many seconds at the end (default: until Ctrl-C on a terminal, "
            "0 otherwise)."
        ),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Synthetic attack dataset + live traps on loopback: ingest both, print the panels, serve the dashboard."""
    from honeyfarm.demo.run import run_demo

    cfg = _config(config)
    if serve_for is None and not sys.stdout.isatty():
        serve_for = 0
    run_demo(cfg, workdir, events, _stdout(), live=live, duration=duration, serve=serve, port=port, serve_for=serve_for)


@app.command()
def sensor(
    config: ConfigOpt = None,
    check: Annotated[bool, typer.Option("--check", help="Validate the config and exit.")] = False,
) -> None:
    """Run the SSH and Telnet traps (one asyncio process), writing events to the spool."""
    from honeyfarm.sensor.runtime import Sensor, run

    cfg = _config(config)
    scfg = cfg.sensor
    if check:
        _stdout().print(scfg.model_dump_json(indent=1), markup=False)
        return

    def ready(s: Sensor) -> None:
        where = ", ".join(f"{k} {h}:{p}" for k, v in s.addresses().items() for h, p in v)
        err.print(f"honeyfarm sensor {scfg.identity.name}: {where}; spool {scfg.spool.dir}", markup=False)

    try:
        run(scfg, ready, ship=cfg.ship)
    except OSError as exc:
        err.print(f"cannot start the sensor: {exc}", markup=False)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        pass


@app.command()
def serve(
    config: ConfigOpt = None,
    lake: LakeOpt = None,
    host: Annotated[Optional[str], typer.Option(help="Address to bind (default: serve.host, 127.0.0.1).")] = None,  # noqa: UP045
    port: Annotated[Optional[int], typer.Option(help="Port (default: serve.port, 8000; 0 = any free port).")] = None,  # noqa: UP045
    tls_cert: Annotated[Optional[Path], typer.Option(help="PEM certificate: serve HTTPS.")] = None,  # noqa: UP045
    tls_key: Annotated[Optional[Path], typer.Option(help="PEM private key of --tls-cert.")] = None,  # noqa: UP045
    ttylog_dir: Annotated[
        Optional[list[Path]],  # noqa: UP045
        typer.Option(help="Sensor spool directory whose tty/*.cast logs sessions replay (repeatable)."),
    ] = None,
) -> None:
    """Serve the web dashboard and its JSON API over the lake (read-only)."""
    import os

    from honeyfarm.views.web.server import run_cli

    cfg = _config(config)
    given = {"host": host, "port": port, "tls_cert": tls_cert, "tls_key": tls_key}
    update: dict[str, object] = {k: v for k, v in given.items() if v is not None}
    if ttylog_dir:
        update["ttylog_dirs"] = [*cfg.serve.ttylog_dirs, *ttylog_dir]
    code = run_cli(cfg, resolve_lake(cfg, lake), update, dict(os.environ), lambda m: err.print(m, markup=False))
    if code:
        raise typer.Exit(code)


@app.command()
def replay(
    session: Annotated[str, typer.Argument(help="Session id (the `session` column).")],
    config: ConfigOpt = None,
    spool: Annotated[Path | None, typer.Option("--spool", help="Spool directory (default: the config's).")] = None,
    speed: Annotated[float, typer.Option(help="Playback speed; 0 prints at once.")] = 1.0,
    raw: Annotated[
        bool, typer.Option("--raw", help="Pass every escape sequence to the terminal (attacker-controlled!).")
    ] = False,
) -> None:
    """Replay the TTY log of an interactive session."""
    from honeyfarm.sensor.ttylog import find_log
    from honeyfarm.sensor.ttylog import replay as play

    cfg = _config(config)
    try:
        path = find_log(spool or cfg.sensor.spool.dir, session)
    except (ValueError, FileNotFoundError) as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(1) from None
    play(path, sys.stdout, speed=speed, raw=raw)
    sys.stdout.write("\n")


@app.command()
def compact(
    config: ConfigOpt = None,
    lake: LakeOpt = None,
    min_files: Annotated[int, typer.Option(help="Compact partitions with at least this many files.")] = 2,
) -> None:
    """Merge each date partition's small files into one (crash-safe)."""
    from honeyfarm.lake.store import Lake

    cfg = _config(config)
    lk = Lake(resolve_lake(cfg, lake), cfg.lake)
    with lk.writer():
        con = lk.connect(cfg.ingest.threads, cfg.ingest.memory_limit)
        n = 0
        for table in ("events", "dead_letter"):
            for d in lk.partitions(table):
                n += lk.compact(con, table, d, min_files)
        lk.sync_rollups(con)
    _stdout().print(f"compacted {n} partition(s)", markup=False)


@app.command()
def formats() -> None:
    """List the input formats ingest knows."""
    from honeyfarm.formats import registry

    for f in sorted(registry().values(), key=lambda f: f.priority):
        typer.echo(f"{f.name:12} {f.description}")


@app.command()
def eventids(as_json: JsonOpt = False) -> None:
    """List the eventid registry."""
    from honeyfarm.eventids import EVENT_IDS

    if as_json:
        typer.echo(json.dumps(EVENT_IDS, indent=1))
        return
    for k, v in EVENT_IDS.items():
        typer.echo(f"{k:40} {v}")


@app.command()
def geoip(
    ips: Annotated[list[str], typer.Argument(help="Addresses to look up.")],
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Look addresses up in the configured GeoIP/ASN databases."""
    from honeyfarm.enrich.geoip import GeoIP

    cfg = _config(config)
    geo = GeoIP(cfg.geoip)
    _emit(geo.lookup(ips), as_json, False, None)


@app.command()
def ship(
    config: ConfigOpt = None,
    ship_config: Annotated[
        Path | None, typer.Option("--ship-config", help="TOML with a [ship] table (overrides the main config's).")
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="Ship what is closed now (waiting out outages), then exit.")
    ] = False,
) -> None:
    """Ship closed spool and log files to the object store (a directory or S3), verified, exactly once."""
    import logging
    import signal
    import threading

    from honeyfarm.collect.ship import ShipConfig, ShipError, Shipper, load_ship_config

    cfg = _config(config)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s honeyfarm ship: %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        found = getattr(cfg, "ship", None)
        scfg = found if isinstance(found, ShipConfig) else ShipConfig()
        if ship_config is not None:
            scfg = load_ship_config(ship_config)
        shipper = Shipper(scfg, spool_dir=cfg.sensor.spool.dir, sensor_name=cfg.sensor.identity.name)
        try:
            where = " ".join([str(shipper.spool_dir / "events"), *scfg.globs])
            err.print(f"honeyfarm ship: {where} -> {shipper.store.describe()}", markup=False)
            finished = shipper.run(stop.is_set, stop.wait, once)
        finally:
            shipper.close()
    except ShipError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None
    s = shipper.stats
    err.print(f"shipped {s.shipped_files} file(s), {s.shipped_bytes:,} bytes; {s.pending_files} pending", markup=False)
    if once and not finished:
        raise typer.Exit(75)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
