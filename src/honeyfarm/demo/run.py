# SPDX-License-Identifier: MIT
"""``honeyfarm demo``: the embedded default end to end, with no external service."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.text import Text

from honeyfarm.analysis.panels import PANELS, SUMMARY_PANELS, Filters
from honeyfarm.config import Config
from honeyfarm.demo.synthetic import write_demo_logs
from honeyfarm.lake.store import Lake
from honeyfarm.pipeline import ingest
from honeyfarm.views.render import print_table


def run_demo(cfg: Config, workdir: Path, events: int, out: Console, live: bool = False, duration: float = 0) -> None:
    logs = workdir / "logs"
    lake_root = workdir / "lake"
    out.print(Text("honeyfarm demo — SYNTHETIC data (generated, not real attacks)", style="bold yellow"))
    t0 = time.perf_counter()
    files = write_demo_logs(logs, events)
    size = sum(f.stat().st_size for f in files)
    out.print(f"generated {events:,} synthetic Cowrie events ({size / 1e6:.1f} MB) in {logs}/", markup=False)
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
    if live:
        _live(cfg, workdir, lake_root, duration, out)
    out.print(
        f"\nTry: honeyfarm report top-credentials --lake {lake_root}   |   "
        f'honeyfarm query "SELECT src_country, count(*) FROM events GROUP BY 1 ORDER BY 2 DESC" --lake {lake_root}',
        markup=False,
    )


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
    out.print(f"replay a session: honeyfarm replay SESSION --spool {workdir / 'live' / 'spool'}", markup=False)
