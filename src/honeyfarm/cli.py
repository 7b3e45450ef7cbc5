# SPDX-License-Identifier: MIT
"""The ``honeyfarm`` command line."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Optional

import typer

# DuckDB, pyarrow and the renderers are imported inside the commands that use
# them: `honeyfarm sensor` runs for months on a 512 MB VM and needs none of them.
from honeyfarm import cli_lake  # noqa: F401  (registers query, report, compact, formats, eventids, geoip)
from honeyfarm.cli_common import Command, ConfigOpt, JsonOpt, LakeOpt, app, err, fail
from honeyfarm.cli_common import load as _config
from honeyfarm.cli_common import stdout as _stdout
from honeyfarm.config import resolve_lake


@app.command(cls=Command)
def ingest(
    paths: Annotated[
        list[str],
        typer.Argument(
            metavar="PATH",
            help="Files, directories or globs (gzip/zstd read transparently); s3://bucket/prefix; "
            "cloudwatch://log-group[/stream-prefix]?region=R.",
        ),
    ],
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", metavar="NAME", help="Force a format instead of detecting it per file."),
    ] = None,
    config: ConfigOpt = None,
    lake: LakeOpt = None,
    as_json: JsonOpt = False,
    progress: Annotated[
        bool,
        typer.Option(show_default=False, help="Progress bar on stderr when it is a terminal; --no-progress: never."),
    ] = True,
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep reading the sources for new data until SIGINT/SIGTERM.")
    ] = False,
    interval: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            help="Seconds between polls with --follow (default: remote.follow_interval_seconds).",
            min=0.05,
        ),
    ] = None,
) -> None:
    """Ingest honeypot logs into the lake: parse, enrich, dedup; bad records go to dead-letter."""
    from honeyfarm.cli_inputs import local_inputs
    from honeyfarm.collect.files import InputError, expand_paths
    from honeyfarm.formats import get_format
    from honeyfarm.lake.store import LakeBusy
    from honeyfarm.pipeline import IngestResult, NoSpaceError, is_remote
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
    try:  # before the lake exists: a typo must not leave an empty lake behind
        paths, notes = local_inputs(paths, [is_remote(p) for p in paths], follow)
    except InputError as exc:
        if as_json:
            sys.stdout.write(dumps_json(IngestResult(errors=[str(exc)]).to_dict()) + "\n")
        err.print(f"error: {exc}; nothing ingested", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    for note in notes:
        err.print(note, markup=False, soft_wrap=True)

    @contextlib.contextmanager
    def lake_exits() -> Iterator[None]:
        """The lake's two expected failures as one line and an exit code, not a traceback."""
        try:
            yield
        except LakeBusy as exc:
            raise fail(str(exc), 3) from None
        except NoSpaceError as exc:  # nothing is lost: a re-run resumes
            raise fail(f"honeyfarm ingest: {exc}", 1) from None

    def summary(result: IngestResult) -> str:
        tty = result.by_format.get("cowrie_ttylog")  # TTY logs are not events: counted apart
        logs = f", {tty.ingested:,} Cowrie TTY log(s) ({tty.duplicates:,} already in)" if tty else ""
        return (
            f"ingested {result.ingested:,} events, {result.duplicates:,} duplicates skipped, "
            f"{result.dead_letter:,} to dead-letter{logs}, from {result.files} file(s) into {root}"
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

        said: set[str] = set()  # a damaged file is re-read every pass: say so once, not every few seconds

        def on_pass(one: IngestResult) -> None:
            if not as_json and (one.ingested or one.duplicates or one.dead_letter):
                print(summary(one), flush=True)
            for e in one.errors:
                if e not in said:
                    said.add(e)
                    err.print(f"error: {e}", markup=False, soft_wrap=True)

        old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            with lake_exits():
                result = run_ingest(paths, cfg, root, fmt, follow=every, stop=lambda: bool(stopping), on_pass=on_pass)
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
    with lake_exits():
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
    if as_json:
        sys.stdout.write(dumps_json(result.to_dict()) + "\n")
    else:
        out = _stdout()
        out.print(summary(result), markup=False)
        for p in result.pending:
            err.print(f"waiting: {p['file']} ends with an unfinished line ({p['bytes']} bytes)", markup=False)
    for e in result.errors:
        err.print(f"error: {e}", markup=False, soft_wrap=True)
    if result.errors:
        raise typer.Exit(1)


@app.command()
def demo(
    workdir: Annotated[
        Path, typer.Option("--dir", metavar="DIR", help="Where the synthetic logs and the demo lake go.")
    ] = Path("honeyfarm-demo"),
    events: Annotated[int, typer.Option(metavar="N", help="Synthetic events to generate.")] = 200_000,
    live: Annotated[
        bool, typer.Option(help="Also run the real SSH/Telnet traps on loopback against a scripted attacker.")
    ] = True,
    duration: Annotated[
        float, typer.Option(metavar="SECONDS", help="Keep the live traps up this many seconds to try by hand.")
    ] = 0,
    serve: Annotated[bool, typer.Option(help="Start the web dashboard on the demo lake and print its URL.")] = True,
    port: Annotated[int, typer.Option(metavar="PORT", help="Dashboard port (a free one if it is taken).")] = 8000,
    serve_for: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(
            metavar="SECONDS",
            help="Keep the dashboard up this many seconds at the end (default: until Ctrl-C on a terminal, "
            "0 otherwise).",
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


@app.command(cls=Command)
def serve(
    config: ConfigOpt = None,
    lake: LakeOpt = None,
    host: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(metavar="ADDRESS", help="Address to bind (default: serve.host, 127.0.0.1)."),
    ] = None,
    port: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(metavar="PORT", help="Port (default: serve.port, 8000; 0 = any free port)."),
    ] = None,
    tls_cert: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(metavar="FILE", help="PEM certificate: serve HTTPS."),
    ] = None,
    tls_key: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(metavar="FILE", help="PEM private key of --tls-cert."),
    ] = None,
    ttylog_dir: Annotated[
        Optional[list[Path]],  # noqa: UP045
        typer.Option(metavar="DIR", help="Sensor spool directory whose tty/*.cast logs sessions replay (repeatable)."),
    ] = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Allow plain HTTP off loopback (credentials in clear text).")
    ] = False,
) -> None:
    """Serve the web dashboard and its JSON API over the lake (read-only)."""
    import os

    from honeyfarm.views.web.server import run_cli

    cfg = _config(config)
    given = {"host": host, "port": port, "tls_cert": tls_cert, "tls_key": tls_key}
    update: dict[str, object] = {k: v for k, v in given.items() if v is not None}
    if insecure:
        update["insecure"] = True
    if ttylog_dir:
        update["ttylog_dirs"] = [*cfg.serve.ttylog_dirs, *ttylog_dir]

    def say(message: str) -> None:
        err.print(message, markup=False, soft_wrap=True)  # one message, one line: not wrapped at the terminal width

    code = run_cli(cfg, resolve_lake(cfg, lake), update, dict(os.environ), say)
    if code:
        raise typer.Exit(code)


@app.command(cls=Command)
def replay(
    session: Annotated[str, typer.Argument(metavar="SESSION", help="Session id (the `session` column).")],
    config: ConfigOpt = None,
    spool: Annotated[
        Path | None, typer.Option("--spool", metavar="DIR", help="Spool directory (default: the config's).")
    ] = None,
    speed: Annotated[float, typer.Option(metavar="X", help="Playback speed; 0 prints at once.")] = 1.0,
    raw: Annotated[
        bool, typer.Option("--raw", help="Pass every escape sequence to the terminal (attacker-controlled!).")
    ] = False,
    lake: LakeOpt = None,
) -> None:
    """Replay the TTY log of an interactive session: the sensor's own, or Cowrie's as ingested into the lake."""
    from honeyfarm.sensor.capture.ttylog import find_logs
    from honeyfarm.sensor.capture.ttylog import replay as play

    cfg = _config(config)
    try:
        paths = find_logs(spool or cfg.sensor.spool.dir, session, resolve_lake(cfg, lake))
    except (ValueError, FileNotFoundError) as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(1) from None
    for path in paths:  # Cowrie writes one log per channel: played one after the other
        play(path, sys.stdout, speed=speed, raw=raw)
    sys.stdout.write("\n")


@app.command()
def ship(
    config: ConfigOpt = None,
    ship_config: Annotated[
        Path | None,
        typer.Option("--ship-config", metavar="FILE", help="TOML with a [ship] table (overrides the main config's)."),
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
        shipper = Shipper(
            scfg,
            spool_dir=cfg.sensor.spool.dir,
            sensor_name=cfg.sensor.identity.name,
            files_dir=cfg.sensor.downloads.dir,
        )
        try:
            files = [str(shipper.files_dir)] if scfg.ship_files else []
            where = " ".join([str(shipper.spool_dir / "events"), *scfg.globs, *files])
            err.print(f"honeyfarm ship: {where} -> {shipper.store.describe()}", markup=False)
            finished = shipper.run(stop.is_set, stop.wait, once)
        finally:
            shipper.close()
    except ShipError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None
    s = shipper.stats
    err.print(
        f"shipped {s.shipped_files} file(s), {s.shipped_bytes:,} bytes; {s.pending_files} pending; "
        f"{s.shipped_blobs} captured file(s) uploaded, {s.existing_blobs} already stored",
        markup=False,
    )
    if once and not finished:
        raise typer.Exit(75)


@app.command(cls=Command)
def scan(
    config: ConfigOpt = None,
    lake: LakeOpt = None,
    once: Annotated[bool, typer.Option("--once", help="One pass over the central store, then exit (default).")] = False,
    follow: Annotated[
        bool, typer.Option("--follow", help="Pass after pass ([scan] follow_interval_seconds) until interrupted.")
    ] = False,
    source: Annotated[
        Optional[str],  # noqa: UP045  (typer needs Optional here)
        typer.Option("--from", metavar="DIR|s3://BUCKET", help="Central store to read (default: the [ship] store)."),
    ] = None,
    engine: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--engine", metavar="NAME", help="Only this engine (yara, clamav, virustotal); repeatable."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Identify and scan captured files (YARA, ClamAV, VirusTotal); verdicts go to the lake's scans table."""
    import json
    import logging
    import signal
    import threading

    from honeyfarm.collect.objectstore import StoreError, TransientStoreError
    from honeyfarm.lake.store import Lake, LakeBusy
    from honeyfarm.malware.run import build_scanner, source_config, summary_lines
    from honeyfarm.malware.run import follow as follow_passes

    if once and follow:
        raise fail("error: --once and --follow exclude each other", 2)
    names = tuple(engine or ("yara", "clamav", "virustotal"))
    if bad := [n for n in names if n not in ("yara", "clamav", "virustotal")]:
        raise fail(f"error: unknown engine {bad[0]!r} (yara, clamav, virustotal)", 2)
    cfg = _config(config)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="honeyfarm scan: %(message)s")
    root = resolve_lake(cfg, lake)
    try:
        built = build_scanner(
            cfg.scan, source_config(cfg.ship, source), Lake(root, cfg.lake), engines=names, threads=cfg.ingest.threads
        )
    except (ValueError, OSError) as exc:
        raise fail(f"error: {exc}", 1) from None
    err.print(f"honeyfarm scan: {built.scanner.central.describe()} -> {root}", markup=False)

    def report(stats: object) -> None:
        from honeyfarm.malware.scanner import PassStats

        assert isinstance(stats, PassStats)
        if as_json:
            _stdout().print_json(json.dumps({**stats.as_dict(), "not_used": built.notes}))
        else:
            for line in summary_lines(stats, built.notes):
                _stdout().print(line, markup=False, highlight=False)

    try:
        if follow:
            stop = threading.Event()
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
            follow_passes(built.scanner, cfg.scan.follow_interval_seconds, stop, report)
        else:
            report(built.scanner.run_pass())
    except LakeBusy as exc:
        raise fail(f"error: {exc}", 75) from None
    except TransientStoreError as exc:
        raise fail(f"error: central store unavailable, nothing lost (run again): {exc}", 75) from None
    except StoreError as exc:
        raise fail(f"error: {exc}", 1) from None


#: ``honeyfarm --help`` lists the commands in this order (cli_lake registers its own on import, first).
COMMAND_ORDER = (
    "ingest", "query", "report", "demo", "sensor", "serve", "replay", "compact", "formats", "eventids", "geoip", "ship",
    "scan",
)  # fmt: skip
_named = [(c.name or getattr(c.callback, "__name__", ""), c) for c in app.registered_commands]
app.registered_commands[:] = [
    c for _, c in sorted(_named, key=lambda nc: COMMAND_ORDER.index(nc[0]) if nc[0] in COMMAND_ORDER else 99)
]


def main() -> None:
    app()


if __name__ == "__main__":
    main()
