# SPDX-License-Identifier: MIT
"""``honeyfarm demo``: the embedded default end to end, with no external service."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.text import Text

from honeyfarm.analysis.panels import PANELS, SUMMARY_PANELS, Filters
from honeyfarm.analysis.traps import TRAP_PANELS
from honeyfarm.config import Config
from honeyfarm.demo.network import write_network_logs
from honeyfarm.demo.synthetic import write_demo_logs
from honeyfarm.lake.store import Lake
from honeyfarm.pipeline import ingest
from honeyfarm.views.render import print_table

#: What the demo's synthetic sensors would cost and how they are exposed (t3.micro on-demand prices):
#: Cowrie logs carry neither, so the dashboard learns them from the config's [fleet] table, as a user's would.
DEMO_FLEET: dict[str, dict[str, object]] = {
    "synthetic-us-east-1": {"region": "us-east-1", "exposure": "ip", "provider": "aws", "hourly_cost": 0.0104},
    "synthetic-eu-west-1": {"region": "eu-west-1", "exposure": "domain", "provider": "aws", "hourly_cost": 0.0114},
    "synthetic-ap-southeast-1": {
        "region": "ap-southeast-1", "exposure": "pastebin", "provider": "aws", "hourly_cost": 0.0132,
    },
    "synthetic-sa-east-1": {"region": "sa-east-1", "exposure": "ip", "provider": "aws", "hourly_cost": 0.0168},
    "live-demo": {"lat": 50.1, "lon": 8.7},
}  # fmt: skip


def demo_config(cfg: Config, workdir: Path, port: int) -> Config:
    """``cfg`` plus the demo's fleet facts and TTY log directory (the user's own entries win)."""
    fleet = {**DEMO_FLEET, **{k: v.model_dump(exclude_none=True) for k, v in cfg.fleet.sensors.items()}}
    serve = {
        **cfg.serve.model_dump(),
        "port": port,
        "ttylog_dirs": [*cfg.serve.ttylog_dirs, workdir / "live" / "spool"],
    }
    return Config.model_validate({**cfg.model_dump(), "fleet": {"sensors": fleet}, "serve": serve})


#: The config file the demo writes beside its lake: ``serve --config`` with it shows the demo's fleet again.
DEMO_CONFIG = "honeyfarm-demo.toml"


def _toml_str(s: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, once DEL (which JSON leaves raw) is escaped too."""
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")


def write_demo_config(cfg: Config, workdir: Path, lake_root: Path) -> Path:
    """``workdir/honeyfarm-demo.toml``: the demo lake and its ``[fleet.sensors.<name>]`` facts (cost, region,
    location), so that ``honeyfarm serve --config`` it shows what the demo's dashboard showed.

    The file is read back with the real loader before the demo names it: a command it prints must work.
    """
    from honeyfarm.config import load_config

    lines = [
        "# Written by `honeyfarm demo`: its lake and its sensors' facts (t3.micro on-demand prices, a map location).",
        "[lake]",
        f"path = {_toml_str(str(lake_root.absolute()))}",
    ]
    for name, info in cfg.fleet.sensors.items():
        lines += ["", f"[fleet.sensors.{_toml_str(name)}]"]
        for key, value in info.model_dump(exclude_none=True).items():
            lines.append(f"{key} = {_toml_str(value) if isinstance(value, str) else json.dumps(value)}")
    path = workdir / DEMO_CONFIG
    workdir.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    back = load_config(path)
    if back.fleet.sensors != cfg.fleet.sensors:  # pragma: no cover - a writer bug, not a user error
        raise RuntimeError(f"{path} does not read back as the demo's fleet")
    return path


def serve_command(prog: str, config: Path, lake_root: Path, spool: Path | None) -> str:
    """``serve`` with the demo's config (fleet facts), lake and TTY log directory, as a user pastes it."""

    def q(p: Path) -> str:
        return shlex.quote(str(p.absolute()))

    cmd = f"{prog} serve --config {q(config)} --lake {q(lake_root)}"
    return f"{cmd} --ttylog-dir {q(spool)}" if spool is not None else cmd


def invocation() -> str:
    """How to run this same ``honeyfarm`` from the current directory, for hints a user pastes.

    ``make`` leaves ``honeyfarm`` in ``.venv/bin``, not on ``PATH``: a bare
    ``honeyfarm`` in a hint would fail unless the venv is activated.
    """
    argv0 = sys.argv[0]
    if Path(argv0).name == "honeyfarm":
        found = shutil.which("honeyfarm")
        if found and Path(found).resolve() == Path(argv0).resolve():
            return "honeyfarm"
        return shlex.quote(argv0)
    script = Path(sys.prefix) / "bin" / "honeyfarm"
    if script.exists():
        rel = os.path.relpath(script)
        return shlex.quote(rel if not rel.startswith("../..") else str(script))
    return f"{shlex.quote(sys.executable)} -m honeyfarm.cli"


def try_hints(prog: str, lake_root: Path, spool: Path | None, config: Path | None = None) -> list[str]:
    """Commands that work when pasted: the demo lake is not the default ``./honeyfarm-data``."""
    lake = shlex.quote(str(lake_root.absolute()))
    lines = [
        f"export HONEYFARM_LAKE={lake}    # or give each command --lake {lake}",
        f"{prog} report top-credentials",
        f"{prog} query 'SELECT src_country, count(*) FROM events GROUP BY 1 ORDER BY 2 DESC'",
        serve_command(prog, config, lake_root, spool) if config is not None else f"{prog} serve",
    ]
    casts = sorted(spool.glob("tty/*.cast")) if spool is not None else []
    if spool is not None and casts:
        lines.append(f"{prog} replay {casts[0].stem} --spool {shlex.quote(str(spool.absolute()))}")
    return lines


def run_demo(
    cfg: Config,
    workdir: Path,
    events: int,
    out: Console,
    live: bool = False,
    duration: float = 0,
    serve: bool = False,
    port: int = 8000,
    serve_for: float | None = None,
) -> None:
    """Synthetic data → lake → panels; then the dashboard and the live traps; then serve until Ctrl-C.

    ``serve_for``: seconds to keep the dashboard up at the end (``None`` = until Ctrl-C).
    """
    cfg = demo_config(cfg, workdir, port)
    logs = workdir / "logs"
    lake_root = workdir / "lake"
    config_file = write_demo_config(cfg, workdir, lake_root)
    out.print(Text("honeyfarm demo — SYNTHETIC data (generated, not real attacks)", style="bold yellow"))
    t0 = time.perf_counter()
    files = write_demo_logs(logs, events)
    files += write_network_logs(logs, max(events // 20, 100))
    size = sum(f.stat().st_size for f in files)
    out.print(
        f"generated {events:,} synthetic Cowrie events + VPC Flow and Route 53 logs ({size / 1e6:.1f} MB) in {logs}/",
        markup=False,
    )
    t1 = time.perf_counter()
    result = ingest([str(logs)], cfg, lake_root)
    t2 = time.perf_counter()
    out.print(
        f"ingested {result.ingested:,} events ({result.duplicates:,} duplicates, {result.dead_letter:,} dead-letter) "
        f"into {lake_root}/ in {t2 - t1:.2f} s (generation took {t1 - t0:.2f} s)",
        markup=False,
    )
    con = Lake(lake_root, cfg.lake).connect(cfg.ingest.threads)
    f = Filters()
    for name in SUMMARY_PANELS:
        p = PANELS[name]
        print_table(p.func(con, f, limit=p.default_limit if name != "overview" else 20), out, name)
    print_table(
        PANELS["timeline"].func(con, f, limit=4, bucket="day", by_country=True),
        out,
        "timeline (per day, top countries)",
    )
    dashboard = None
    if serve:
        from honeyfarm.views.web.server import Background, ServeError

        try:
            dashboard = Background(lake_root, cfg.serve, cfg.fleet, cfg.ingest.window(), cfg.lake)
            url = dashboard.start()
        except ServeError:  # the port is taken: any free one will do for a demo
            dashboard = Background(
                lake_root, cfg.serve.model_copy(update={"port": 0}), cfg.fleet, cfg.ingest.window(), cfg.lake
            )
            url = dashboard.start()
        out.print(Text(f"\nDashboard: {url}", style="bold cyan"), Text("  (the live feed shows what lands next)"))
        if live:  # the live traps are attacked from 127.0.0.1, which the views leave out by default
            out.print(
                f"The live attacks come from 127.0.0.1, an internal address the views leave out by default: "
                f"{url}#/overview?internal=include shows them (or untick 'Exclude internal').",
                markup=False,
                soft_wrap=True,
            )
    try:
        if live:
            _live(cfg, workdir, lake_root, duration, out)
        spool = workdir / "live" / "spool" if live else None
        out.print("\nTry (other commands read ./honeyfarm-data unless told where the demo lake is):", markup=False)
        for line in try_hints(invocation(), lake_root, spool, config_file):
            out.print(f"  {line}", markup=False, soft_wrap=True)
        if dashboard is not None and serve_for == 0:
            out.print(
                "Dashboard stopped: --serve-for 0 (the default when stdout is not a terminal); "
                "`serve` above shows the demo lake again, or run the demo with --serve-for SECONDS.",
                markup=False,
                soft_wrap=True,
            )
        if dashboard is not None and serve_for != 0:
            wait = "Ctrl-C to stop" if serve_for is None else f"for {serve_for:.0f} s"
            out.print(Text(f"Dashboard: {url}  ({wait})", style="bold cyan"))
            deadline = None if serve_for is None else time.monotonic() + serve_for
            while deadline is None or time.monotonic() < deadline:
                time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        if dashboard is not None:
            dashboard.stop()


def _live(cfg: Config, workdir: Path, lake_root: Path, duration: float, out: Console) -> None:
    from honeyfarm.demo.live import run_live

    out.print(Text("\nLive traps — REAL honeyfarm sensor on loopback, scripted attacker", style="bold green"))
    spool = run_live(cfg, workdir / "live", duration, out)
    result = ingest([str(spool)], cfg, lake_root)
    out.print(
        f"ingested {result.ingested:,} live events ({result.dead_letter:,} dead-letter) from {spool}/",
        markup=False,
    )
    con = Lake(lake_root, cfg.lake).connect(cfg.ingest.threads)
    f = Filters(sensors=("live-demo",))
    for name in ("top-credentials", "top-commands", "downloads", "eventids"):
        p = PANELS[name]
        print_table(p.func(con, f, limit=8), out, f"{name} (live-demo sensor)")
    for name in ("web-attacks", "payload-urls"):  # the exploit traps' catch
        t = TRAP_PANELS[name]
        print_table(t.func(con, f, limit=8), out, f"{name} (live-demo sensor)")
    con.close()
    from honeyfarm.demo.scan import ship_and_scan

    ship_and_scan(cfg, workdir / "live", spool.parent, lake_root, out)
