# SPDX-License-Identifier: MIT
"""Ingest and panel benchmark (not a test): prints figures and ratios measured in one run.

    .venv/bin/python bench/ingest.py                 # 1M events, panels at 1M and 10M
    .venv/bin/python bench/ingest.py --events 200000 --big 0   # quick run

For N synthetic Cowrie events (``honeyfarm.demo.synthetic``) in one file it
measures, on the same file and the same number of threads:

* honeyfarm's ingest (parse, map, enrich, dedup, write the partitioned lake);
* DuckDB's bare ``COPY (SELECT * FROM read_ndjson(f)) TO 'x.parquet'`` — the
  baseline, which parses and writes but maps, enriches and dedups nothing;
* their ratio, the lake's size against the raw bytes, and every report
  panel's latency (median of warm runs, plus the first, cold run) at N and at
  ``--big`` events.

Where honeyfarm's time goes (cProfile of 1M events, 2 threads, ~5.2 s in
all): the mapping SQL ~2.2 s (``json_transform`` ~0.45 s, ``json_merge_patch``
for ``extra`` ~0.7 s, the line hash ~0.25 s, checks and materialising the
rest), dedup + one Parquet file per date ~1.0 s, rollups ~0.6 s, reading and
splitting lines ~0.5 s, GeoIP ~0.25 s. The baseline does one parse and one
write: ~1.6 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import duckdb

from honeyfarm.analysis.panels import PANELS, Filters
from honeyfarm.config import Config, IngestConfig
from honeyfarm.demo.synthetic import write_cowrie_log
from honeyfarm.lake.store import Lake
from honeyfarm.pipeline import ingest


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*.parquet"))


def baseline(raw: Path, out: Path, threads: int) -> float:
    con = duckdb.connect(config={"threads": threads})
    t = time.perf_counter()
    con.execute(f"COPY (SELECT * FROM read_ndjson('{raw}')) TO '{out}' (FORMAT parquet, COMPRESSION zstd)")
    return time.perf_counter() - t


def panel_latency(lake: Path, threads: int, runs: int) -> dict[str, tuple[float, float]]:
    con = Lake(lake).connect(threads)
    f = Filters()
    out: dict[str, tuple[float, float]] = {}
    for name, p in PANELS.items():
        times = []
        for _ in range(runs + 1):
            t = time.perf_counter()
            p.func(con, f, limit=p.default_limit)
            times.append(time.perf_counter() - t)
        out[name] = (times[0], statistics.median(times[1:]))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--big", type=int, default=10_000_000, help="events for the second panel run (0 to skip)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--days", type=float, default=30, help="days the events span (one lake partition per day)")
    ap.add_argument("--runs", type=int, default=5, help="warm runs per panel")
    ap.add_argument("--repeat", type=int, default=3, help="ingest/baseline runs (the median is reported)")
    ap.add_argument("--out", type=Path, default=Path("bench/out"))
    args = ap.parse_args()

    out = args.out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    raw = out / "cowrie-1.json"
    t = time.perf_counter()
    size = write_cowrie_log(raw, args.events, seed=1, days=args.days)
    print(f"generated {args.events:,} events, {size / 1e6:.1f} MB in {time.perf_counter() - t:.1f} s")

    cfg = Config(ingest=IngestConfig(threads=args.threads))
    lake = out / "lake"
    # Alternate the two, several times, after flushing the freshly written file:
    # single runs on a 2-core VM vary by up to 2x (page-cache writeback, noise).
    base_runs: list[float] = []
    ours_runs: list[float] = []
    for _ in range(args.repeat):
        os.sync()
        base_runs.append(baseline(raw, out / "baseline.parquet", args.threads))
        shutil.rmtree(lake, ignore_errors=True)
        os.sync()
        t = time.perf_counter()
        res = ingest([str(raw)], cfg, lake)
        ours_runs.append(time.perf_counter() - t)
        assert res.ingested == args.events, res.to_dict()
    base_t = statistics.median(base_runs)
    ours_t = statistics.median(ours_runs)
    base_size = (out / "baseline.parquet").stat().st_size
    lake_size = du(lake / "events")
    print(f"runs (s): honeyfarm {', '.join(f'{x:.2f}' for x in ours_runs)}; "
          f"baseline {', '.join(f'{x:.2f}' for x in base_runs)}; medians below")  # fmt: skip

    print()
    head = (
        f"| ingest of {args.events:,} Cowrie events ({size / 1e6:.0f} MB, {args.days:g} days), {args.threads} threads"
    )
    print(head + " | s | events/s | MB/s |")
    print("|---|---:|---:|---:|")
    print(f"| honeyfarm ingest (parse, map, GeoIP, dedup, partitioned lake) | {ours_t:.2f} | "
          f"{args.events / ours_t:,.0f} | {size / 1e6 / ours_t:.0f} |")  # fmt: skip
    print(f"| DuckDB bare COPY read_ndjson → Parquet (baseline) | {base_t:.2f} | "
          f"{args.events / base_t:,.0f} | {size / 1e6 / base_t:.0f} |")  # fmt: skip
    print(f"| **ratio honeyfarm / baseline** (median of {args.repeat} runs each) | | **{base_t / ours_t:.2f}** | |")
    print()
    print(f"lake: {lake_size / 1e6:.1f} MB = 1/{size / lake_size:.1f} of the raw bytes "
          f"(baseline Parquet: {base_size / 1e6:.1f} MB = 1/{size / base_size:.1f})")  # fmt: skip

    lat_small = panel_latency(lake, args.threads, args.runs)
    lat_big: dict[str, tuple[float, float]] = {}
    if args.big:
        extra = args.big - args.events
        per_file = args.events
        i = 2
        t = time.perf_counter()
        while extra > 0:
            n = min(per_file, extra)
            f = out / f"cowrie-{i}.json"
            write_cowrie_log(f, n, seed=i, days=args.days)
            ingest([str(f)], cfg, lake)
            f.unlink()
            extra -= n
            i += 1
        con = Lake(lake).connect(args.threads)
        total = con.execute("SELECT count(*) FROM events").fetchone()[0]  # type: ignore[index]
        print(f"\nbuilt a {total:,}-event lake in {time.perf_counter() - t:.0f} s "
              f"({du(lake / 'events') / 1e6:.0f} MB, {len(Lake(lake).all_files('events'))} files)")  # fmt: skip
        lat_big = panel_latency(lake, args.threads, args.runs)

    print()
    head = f"| panel | {args.events / 1e6:g}M warm ms | {args.events / 1e6:g}M cold ms |"
    if lat_big:
        head += f" {args.big / 1e6:g}M warm ms | {args.big / 1e6:g}M cold ms |"
    print(head)
    print("|---" * (head.count("|") - 1) + "|")
    for name, (cold, warm) in lat_small.items():
        row = f"| {name} | {warm * 1000:.0f} | {cold * 1000:.0f} |"
        if lat_big:
            bc, bw = lat_big[name]
            row += f" {bw * 1000:.0f} | {bc * 1000:.0f} |"
        print(row)
    print(f"\n(python {sys.version.split()[0]}, duckdb {duckdb.__version__}, {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
