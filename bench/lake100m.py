# SPDX-License-Identifier: MIT
"""100M-event benchmark (not a test): builds a lake of a fleet's year once, then measures it.

    .venv/bin/python bench/lake100m.py                              # 100M events, 365 days (hours to build)
    .venv/bin/python bench/lake100m.py --events 3000000 --days 30   # the same at a small scale
    .venv/bin/python bench/lake100m.py --dataset tpot --rebuild     # T-Pot's Cowrie field set, built again

Reports ingest throughput (overall, per chunk), peak RSS (VmHWM) of every ingest, panel and dashboard view,
lake bytes per event against DuckDB's bare ``COPY (SELECT * FROM read_ndjson(f)) TO … (FORMAT parquet,
COMPRESSION zstd)`` of chunk 0 (same run), and every report panel's and dashboard view call's latency
(bench/dashboard.py's ``view_calls`` under its filters; 2 threads, cache off) against 1 s.

Generating 100M events takes too long, so one *template* chunk (``--chunk-events`` events over a chunk's
whole days) is generated once; chunk k is the template with every ``YYYY-MM-DD`` moved by k chunks' days and
the first hex digits of every session id XORed with k (same length: a chunk only overwrites bytes). So the
events are distinct and spread over ``--days`` days ending yesterday; each chunk is ingested by
``honeyfarm.pipeline.ingest`` (2 threads) in a child process, then deleted. Every chunk repeats the
template's attackers (a few thousand IPs), credentials, commands and daily pattern.

``--out`` (default ``bench/out/lake100m-<dataset>-<events>``) keeps the lake, the template, ``build.json`` (plan,
per-chunk figures, git commit and rollup fingerprints of the build) and ``results.json``. A later run reuses
the lake (``--rebuild``: build it again), updating rollups whose definitions changed; an interrupted build
resumes at its first chunk not recorded as done (ingest is exactly-once: that chunk is ingested again).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import functools
import inspect
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
BUDGET_MS = 1000.0
RSS_TARGET_MB = 2048.0
SLOW_MS = 10 * BUDGET_MS  # a call this slow when cold gets no warm runs: warm = cold
THREADS = 2
HEX = np.frombuffer(b"0123456789abcdef", np.uint8)
TS = re.compile(rb'"timestamp":"(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)')


@dataclasses.dataclass(frozen=True)
class Plan:
    """``chunks`` chunks of ``chunk_days`` whole days each, the first starting on ``start``."""

    dataset: str
    events: int
    chunks: int
    chunk_days: int
    start: str  # ISO date

    @property
    def sizes(self) -> list[int]:
        """Events per chunk: ``events`` split as evenly as whole events allow."""
        q, r = divmod(self.events, self.chunks)
        return [q + (1 if k < r else 0) for k in range(self.chunks)]


def make_plan(dataset: str, events: int, days: int, chunk_events: int, today: dt.date) -> Plan:
    """Whole days per chunk (the shift rewrites dates only), as near ``chunk_events`` as that allows."""
    chunk_days = max(1, round(days * chunk_events / events))
    chunks = max(1, round(days / chunk_days))
    start = today - dt.timedelta(days=chunks * chunk_days)  # the last chunk ends yesterday: nothing in the future
    return Plan(dataset, events, chunks, chunk_days, start.isoformat())


class Template:
    """The template and where its chunk-specific bytes sit (dates, session ids): a chunk only overwrites them."""

    def __init__(self, path: Path, plan: Plan) -> None:
        self.plan, raw = plan, path.read_bytes()
        self.buf = np.frombuffer(raw, np.uint8)
        self.ends = np.flatnonzero(self.buf == ord("\n"))
        self.first = first = dt.date.fromisoformat(plan.start)
        days = [(first + dt.timedelta(days=i)).isoformat().encode() for i in range(plan.chunk_days)]
        dash = self.buf == ord("-")  # a date's dashes, 3 apart: candidates in one vectorised pass (regexes: slow)
        cand = np.flatnonzero(dash[4 : len(raw) - 6] & dash[7 : len(raw) - 3])
        text = self.buf[cand[:, None] + np.arange(10)]
        self.dates = [cand[(text == np.frombuffer(d, np.uint8)).all(axis=1)] for d in days]
        self.sessions = np.sort(np.concatenate([np.fromiter((m.end() for m in re.finditer(re.escape(s), raw)), np.int64)
                                                for s in (b'"session":"', b"[session: ")]))  # fmt: skip
        # The session id's first hex digits, XORed with the chunk number: distinct ids, same length.
        self.width = max(2, len(f"{plan.chunks - 1:x}"))
        hexval = np.full(256, -1, np.int64)
        hexval[HEX] = np.arange(16)
        self.sid = np.zeros(len(self.sessions), np.int64)
        for j in range(self.width):
            self.sid = self.sid * 16 + hexval[self.buf[self.sessions + j]]
        if (self.sid < 0).any():
            raise ValueError(f"{path}: a session id that does not start with {self.width} lowercase hex digits")

    def write(self, dst: Path, k: int) -> tuple[int, int]:
        """Chunk ``k``: its share of template lines, dates moved by k chunks' days, session ids XOR k."""
        n = min(self.plan.sizes[k], len(self.ends))
        cut = int(self.ends[n - 1]) + 1
        arr = self.buf[:cut].copy()
        for i, pos in enumerate(self.dates):
            new = (self.first + dt.timedelta(days=i + k * self.plan.chunk_days)).isoformat().encode()
            pos = pos[pos < cut]
            for j, c in enumerate(new):
                arr[pos + j] = c
        keep = self.sessions < cut
        pos, sid = self.sessions[keep], self.sid[keep] ^ k
        for j in range(self.width):
            arr[pos + j] = HEX[(sid >> (4 * (self.width - 1 - j))) & 15]
        arr.tofile(dst)
        return n, cut


def make_template(path: Path, plan: Plan) -> int:
    """Chunk 0's events within its days (the generator's span for ``days`` varies: measured, then corrected)."""
    from honeyfarm.demo.synthetic import write_cowrie_log

    if plan.dataset == "tpot" and "tpot" not in inspect.signature(write_cowrie_log).parameters:
        raise SystemExit("--dataset tpot: this honeyfarm's demo/synthetic.py has no T-Pot mode (H2's)")
    write = functools.partial(write_cowrie_log, tpot=True) if plan.dataset == "tpot" else write_cowrie_log
    raw, want = path.with_suffix(".raw"), plan.sizes[0]
    start = dt.datetime.fromisoformat(plan.start + "T00:00:00+00:00")
    write(raw, 40_000, seed=1, days=plan.chunk_days, start=start)
    d, hms = (x.decode() for x in TS.findall(raw.read_bytes()[-65536:])[-1])
    span = (dt.datetime.fromisoformat(f"{d}T{hms}+00:00") - start).total_seconds() / 86400
    days = plan.chunk_days**2 / span  # asks for the span of chunk_days
    end, asked = (start.date() + dt.timedelta(days=plan.chunk_days)).isoformat().encode(), want + 100
    lines: list[bytes] = []
    while len(lines) < want and asked < want * 1.5:
        write(raw, asked, seed=1, days=days, start=start)
        with open(raw, "rb") as src:  # whole days only: drop what spills past the chunk's last day
            lines = [line for line in src if (t := TS.search(line)) and t.group(1) < end][:want]
        asked = int(asked * want / max(len(lines), 1) * 1.01) + 100
    path.with_suffix(".tmp").write_bytes(b"".join(lines))
    path.with_suffix(".tmp").rename(path)
    raw.unlink()
    return len(lines)


# -------------------------------------------------------------------------- children
def vm_kb(field: str) -> int:
    m = re.search(rf"^{field}:\s+(\d+)", Path("/proc/self/status").read_text(), re.M)
    return int(m.group(1)) if m else 0


def rss_sampler() -> list[int]:
    """``[peak VmRSS]``, sampled every 50 ms until the process ends (VmHWM cannot be reset per call: set it)."""
    peak = [0]

    def run() -> None:
        while True:
            peak[0] = max(peak[0], vm_kb("VmRSS"))
            time.sleep(0.05)

    threading.Thread(target=run, daemon=True).start()
    return peak


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """One measurement in this (fresh) process; its VmHWM is the peak RSS of exactly that work."""
    from honeyfarm.lake.store import Lake

    lake, kind = Path(spec["lake"]), spec["kind"]
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    if kind == "ingest":  # an empty file: only brings the rollups up to date (every ingest does first)
        from honeyfarm.config import Config, IngestConfig
        from honeyfarm.pipeline import ingest

        res = ingest([spec["file"]], Config(ingest=IngestConfig(threads=THREADS)), lake)
        out = {"ingested": res.ingested, "duplicates": res.duplicates, "dead_letter": res.dead_letter}
    elif kind == "copy":
        con = duckdb.connect(config={"threads": THREADS})
        con.execute(f"COPY (SELECT * FROM read_ndjson('{spec['file']}')) TO '{spec['to']}' "
                    "(FORMAT parquet, COMPRESSION zstd)")  # fmt: skip
    elif kind == "context":
        import dashboard as dash

        con = Lake(lake).connect(THREADS)
        vs, ctx = dash.variants(con, lake)
        vs = [v for v in vs if not spec["filters"] or v.name in spec["filters"]]
        n, ips = con.execute("SELECT count(*), count(DISTINCT src_ip) FROM events").fetchone() or (0, 0)
        out = {
            "variants": [{"name": v.name, "params": v.params, "raw_path": v.raw_path} for v in vs],
            "ctx": {"top_country": ctx.top_country, "top_command": ctx.top_command, "busy_session": ctx.busy_session},
            "lake": {"events": n, "src_ips": ips},
        }  # fmt: skip
    elif kind == "panel":
        from honeyfarm.analysis.panels import PANELS, Filters

        con = Lake(lake).connect(THREADS)
        out["connect_ms"] = (time.perf_counter() - t0) * 1000
        p, times = PANELS[spec["panel"]], []
        for _ in range(spec["runs"] + 1):
            t = time.perf_counter()
            rows = p.func(con, Filters(), limit=p.default_limit).num_rows
            times.append((time.perf_counter() - t) * 1000)
            if times[0] > SLOW_MS:
                break  # far over budget: timed once
        out.update(cold=times[0], warm=statistics.median(times[1:] or times), rows=rows)
    elif kind == "view":
        out = view_child(lake, spec)
    return out | {"s": time.perf_counter() - t0, "vmhwm_kb": vm_kb("VmHWM")}


def view_child(lake: Path, spec: dict[str, Any]) -> dict[str, Any]:
    """Every call of one view, under every filter variant: cold, warm median (server ms) and sampled peak RSS."""
    import dashboard as dash  # the same app, client and timing as bench/dashboard.py

    rss = rss_sampler()
    app = dash.create_app(lake, dash.ServeConfig(cache_entries=0, threads=THREADS))
    client = dash.TestClient(app, base_url="http://127.0.0.1")
    first = dash.get(client, "/api/meta", [])[0]  # DuckDB views + Parquet metadata: reported on its own
    c = spec["ctx"]
    ctx = dash.Context(c["top_country"], c["top_command"], tuple(c["busy_session"]))
    ctx.session_by_query = "/api/session" in app.app.openapi().get("paths", {})
    calls_out = []
    for v in spec["variants"]:
        calls = dash.view_calls(ctx, v["name"])[spec["view"]]
        if v["params"] and not any(call.filtered for call in calls):
            continue  # nothing in this view takes filters
        for call in calls:
            path, params = call.url(tuple(tuple(p) for p in v["params"]))
            rss[0] = vm_kb("VmRSS")
            row = {"variant": v["name"], "raw_path": v["raw_path"], "call": call.label()}
            try:  # a call far over budget is timed once: at 100M events a raw-events scan takes a while
                cold = dash.get(client, path, params)[:2]
                warm = [dash.get(client, path, params)[:2] for _ in range(spec["runs"] if cold[0] < SLOW_MS else 0)]
                ws, m = warm or [cold], {"cold": cold[0], "warm_runs": len(warm)}
                m.update(warm=statistics.median(w[0] for w in ws), client_warm=statistics.median(w[1] for w in ws))
            except RuntimeError as exc:  # an HTTP error: reported as failing the budget, the rest still measured
                m = {"cold": math.inf, "warm": math.inf, "client_warm": math.inf, "error": str(exc)[:300]}
            calls_out.append(row | m | {"rss_kb": rss[0]})  # fmt: skip
    return {"first_ms": first, "calls": calls_out}


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCH), os.environ.get("PYTHONPATH")]))}
    t = time.perf_counter()
    p = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], stdout=subprocess.PIPE,
                       text=True, env=env, check=True)  # fmt: skip
    res: dict[str, Any] = json.loads(p.stdout.strip().splitlines()[-1])
    res["wall_s"] = time.perf_counter() - t
    return res


# ------------------------------------------------------------------------------- build
def git_commit() -> str:
    def git(*a: str) -> str:
        return subprocess.run(["git", "-C", str(REPO), *a], capture_output=True, text=True).stdout.strip()

    return git("rev-parse", "--short=12", "HEAD") + ("+dirty" if git("status", "--porcelain", "--", "src") else "")


def fingerprints() -> dict[str, str]:
    from honeyfarm.lake import rollup

    return {name: rollup.fingerprint(name) for name in sorted(rollup.ROLLUPS)}


def save(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    tmp.replace(path)  # a kill never leaves half a record


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else 0


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def build(out: Path, plan: Plan, rebuild: bool) -> dict[str, Any]:
    """The lake of ``plan``: reused when complete, resumed when not, built otherwise (``build.json`` says which)."""
    state_path = out / "build.json"
    state: dict[str, Any] = json.loads(state_path.read_text()) if state_path.exists() and not rebuild else {}
    if state and state["plan"] != dataclasses.asdict(plan) | {"start": state["plan"]["start"]}:
        raise SystemExit(f"{out} holds a lake of another plan ({state['plan']}): pass --rebuild or another --out")
    if state:
        plan = dataclasses.replace(plan, start=state["plan"]["start"])  # a resumed build keeps its dates
    else:
        if out.exists() and any(out.iterdir()) and not state_path.exists():
            raise SystemExit(f"{out} is not empty and holds no build.json: not deleting it; pass another --out")
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        state = {"plan": dataclasses.asdict(plan), "commit": git_commit(), "rollups": fingerprints(), "chunks": {}}
        save(state_path, state)
    template = out / "template.json"
    if not template.exists():
        t = time.perf_counter()
        n = make_template(template, plan)
        state["template"] = {"events": n, "bytes": template.stat().st_size, "s": round(time.perf_counter() - t, 1)}
        save(state_path, state)
        log(f"template: {n:,} events in {state['template']['s']} s")
    done = state["chunks"]
    log(f"{'resuming' if done else 'building'} {out / 'lake'}: {len(done)}/{plan.chunks} chunks done")
    (out / "chunks").mkdir(exist_ok=True)
    tpl = Template(template, plan)
    resumed_at = len(done) if state_path.exists() and "built" not in state and state.get("started") else -1
    state["started"] = True  # from now on, a start of this build resumes it
    save(state_path, state)
    for k in range(plan.chunks):
        if str(k) in done:
            continue
        f = out / "chunks" / f"chunk-{k:05d}.cowrie.json"  # same path on a retry: its checkpoint applies
        t = time.perf_counter()
        n, size = tpl.write(f, k)
        write_s = time.perf_counter() - t
        r = run_child({"kind": "ingest", "lake": str(out / "lake"), "file": str(f)})
        f.unlink()
        done[str(k)] = {"events": n, "bytes": size, "write_s": write_s, "ingest_s": r["s"], "child_s": r["wall_s"],
                        "rss_kb": r["vmhwm_kb"], "ingested": r["ingested"], "dead_letter": r["dead_letter"],
                        "load1": os.getloadavg()[0], "resumed": k == resumed_at}  # fmt: skip
        save(state_path, state)
        log(f"chunk {k + 1}/{plan.chunks}: {n:,} events, ingest {r['s']:.1f} s ({n / r['s']:,.0f}/s), "
            f"peak RSS {r['vmhwm_kb'] / 1024:.0f} MB, write {write_s:.1f} s")  # fmt: skip
    if "built" not in state:
        state["built"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        save(state_path, state)
    if state["rollups"] != fingerprints():  # rollup definitions changed since: bring them up to date first
        log("rollup definitions changed since the build: rebuilding the changed rollups")
        (empty := out / "chunks" / "empty.json").write_bytes(b"")
        state["rollup_sync"] = run_child({"kind": "ingest", "lake": str(out / "lake"), "file": str(empty)})
        state["rollups"] = fingerprints()
        save(state_path, state)
    return state


# ----------------------------------------------------------------------------- measure
def measure(out: Path, state: dict[str, Any], runs: int, views: bool, filters: list[str]) -> dict[str, Any]:
    from honeyfarm.analysis.panels import PANELS

    plan, lake = Plan(**state["plan"]), str(out / "lake")
    sample, copy = out / "sample-chunk-0.cowrie.json", out / "sample-chunk-0.parquet"
    n, size = Template(out / "template.json", plan).write(sample, 0)
    log(f"bare DuckDB copy of chunk 0 ({n:,} events, {size / 1e6:.0f} MB)")
    c = run_child({"kind": "copy", "lake": lake, "file": str(sample), "to": str(copy)})
    bare = {"events": n, "raw_bytes": size, "parquet_bytes": copy.stat().st_size, "s": c["s"], "rss_kb": c["vmhwm_kb"]}
    sample.unlink()
    copy.unlink()
    ctx = run_child({"kind": "context", "lake": lake, "filters": filters})
    panels = {}
    for name in PANELS:
        panels[name] = run_child({"kind": "panel", "lake": lake, "panel": name, "runs": runs})
        log(f"panel {name}: warm {panels[name]['warm']:.0f} ms, cold {panels[name]['cold']:.0f} ms")
    view_res = {}
    if views:
        import dashboard as dash

        dctx = dash.Context(ctx["ctx"]["top_country"], ctx["ctx"]["top_command"], tuple(ctx["ctx"]["busy_session"]))
        for name in dash.view_calls(dctx, "all"):
            view_res[name] = run_child({"kind": "view", "lake": lake, "view": name, "runs": runs,
                                        "ctx": ctx["ctx"], "variants": ctx["variants"]})  # fmt: skip
            log(f"view {name}: {len(view_res[name]['calls'])} calls, max warm "
                f"{max(x['warm'] for x in view_res[name]['calls']):.0f} ms")  # fmt: skip
    sizes = {"events": du(out / "lake" / "events"), "rollups": du(out / "lake" / "_rollup"), "total": du(out / "lake")}
    return {"bare": bare, "context": ctx, "panels": panels, "views": view_res, "sizes": sizes}


# ------------------------------------------------------------------------------ report
def mb(kb: float) -> str:
    return f"{kb / 1024:,.0f}"


def ok(ms: float, budget: float = BUDGET_MS) -> str:
    return "✔" if ms <= budget else "✘"


def print_views(views: dict[str, Any], variants: list[str]) -> None:
    """One row per call, one column per filter: warm median ms (cold ms), ✘ when over the budget."""
    print(f"\nview calls: server ms, warm median (cold), cache off; ✘ = over {BUDGET_MS:.0f} ms; off-hour: raw events")
    print(f"\n| view / call (a process per view) | {' | '.join(variants)} | peak RSS MB |")
    print("|---" + "|---:" * (len(variants) + 1) + "|")
    for name, v in views.items():
        print(f"| **{name}** (first request /api/meta {v['first_ms']:.0f} ms) |" + " |" * len(variants)
              + f" {mb(v['vmhwm_kb'])} (VmHWM) |")  # fmt: skip
        by_call: dict[str, dict[str, Any]] = {}
        for c in v["calls"]:
            by_call.setdefault(c["call"], {})[c["variant"]] = c
        for call, cells in by_call.items():
            row = [f"{'' if c['warm'] <= BUDGET_MS and c['cold'] <= BUDGET_MS else '✘ '}{c['warm']:.0f} "
                   f"({c['cold']:.0f}){' ' + c['error'][:80] if 'error' in c else ''}"
                   if (c := cells.get(f)) else "—" for f in variants]  # fmt: skip
            rss = mb(max(c["rss_kb"] for c in cells.values()))
            print("| " + call.replace("|", "\\|") + " | " + " | ".join(row) + f" | {rss} (sampled) |")


def report(state: dict[str, Any], m: dict[str, Any], args: argparse.Namespace, load: list[float]) -> dict[str, Any]:
    plan = Plan(**state["plan"])
    chunks = [state["chunks"][str(k)] for k in range(plan.chunks)]
    ev = sum(c["events"] for c in chunks)
    whole = [c for c in chunks if c["ingested"] == c["events"]] or chunks  # not those a killed run had begun
    ev_w, raw = sum(c["events"] for c in whole), sum(c["bytes"] for c in whole)
    ing_s, wall_s = sum(c["ingest_s"] for c in whole), sum(c["child_s"] + c["write_s"] for c in whole)
    in_lake = int(m["context"]["lake"]["events"])
    bare, sz = m["bare"], m["sizes"]
    end = dt.date.fromisoformat(plan.start) + dt.timedelta(days=plan.chunks * plan.chunk_days - 1)
    rss = [c["rss_kb"] for c in chunks]
    print(f"\n## honeyfarm lake of {in_lake:,} events ({plan.dataset}, {plan.chunks} chunks of {plan.chunk_days} "
          f"days, {plan.start} .. {end}); built at {state['commit']}, measured at {git_commit()}\n")  # fmt: skip
    if in_lake != ev:
        print(f"**WARNING: the lake holds {in_lake:,} events, the chunks {ev:,}**\n")
    loads = [c["load1"] for c in chunks]
    print(f"distinct source IPs {int(m['context']['lake']['src_ips']):,} (each chunk repeats the template's); "
          f"machine load (1-min average, {os.cpu_count()} CPUs): build {min(loads):.1f}-{max(loads):.1f}, "
          f"measuring {load[0]:.1f} at the start, {load[-1]:.1f} at the end\n")  # fmt: skip
    print("| ingest, 2 threads, one chunk per process | events | raw MB | s | events/s | MB/s | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(f"| **{len(whole)} chunks ingested whole** (time in ingest()) | {ev_w:,} | {raw / 1e6:,.0f} | {ing_s:,.0f} | "
          f"**{ev_w / ing_s:,.0f}** | "
          f"**{raw / 1e6 / ing_s:.1f}** | max **{mb(max(rss))}** (median {mb(statistics.median(rss))}) |")  # fmt: skip
    print(f"| the same, wall (writing chunks, process start) | | | {wall_s:,.0f} | {ev_w / wall_s:,.0f} | "
          f"{raw / 1e6 / wall_s:.1f} | |")  # fmt: skip
    print(f"| DuckDB bare COPY of chunk 0 (baseline, same run) | {bare['events']:,} | {bare['raw_bytes'] / 1e6:,.0f} | "
          f"{bare['s']:.1f} | {bare['events'] / bare['s']:,.0f} | {bare['raw_bytes'] / 1e6 / bare['s']:.1f} | "
          f"{mb(bare['rss_kb'])} |\n| **ratio honeyfarm / bare copy** (events/s) | | | | "
          f"**{ev_w / ing_s / (bare['events'] / bare['s']):.2f}** | | |")  # fmt: skip
    for k, c in enumerate(chunks):  # a resumed chunk: the rest its killed run had not committed, and its rate
        f, note = (c["ingested"] / c["events"], f" (resumed: {c['ingested']:,} left)") if c.get("resumed") else (1, "")
        print(f"| chunk {k}{note}, load {c['load1']:.1f} | {c['events']:,} | {c['bytes'] / 1e6:,.0f} | "
              f"{c['ingest_s']:.1f} | {f * c['events'] / c['ingest_s']:,.0f} | "
              f"{f * c['bytes'] / 1e6 / c['ingest_s']:.1f} | {mb(c['rss_kb'])} |")  # fmt: skip
    bpe = bare["parquet_bytes"] / bare["events"]
    print("\n| lake bytes per event | bytes | bytes/event | × bare copy |\n|---|---:|---:|---:|")
    for label, b in (("event files", sz["events"]), ("rollups", sz["rollups"]), ("**lake total**", sz["total"])):
        print(f"| {label} | {b / 1e6:,.0f} MB | {b / in_lake:.1f} | {b / in_lake / bpe:.2f} |")
    print(f"| DuckDB bare COPY of chunk 0 (zstd) | {bare['parquet_bytes'] / 1e6:,.0f} MB | {bpe:.1f} | 1.00 |")
    print(f"| raw JSON | {bare['raw_bytes'] / 1e6:,.0f} MB per chunk | {raw / ev_w:.1f} | {raw / ev_w / bpe:.2f} |")

    print(f"\n| panel (Filters(), default limit; a process each) | cold ms | warm ms | rows | peak RSS MB "
          f"| ≤{BUDGET_MS:.0f} ms warm | cold |\n|---|---:|---:|---:|---:|:-:|:-:|")  # fmt: skip
    for name, p in m["panels"].items():
        print(f"| {name} | {p['cold']:.0f} | {p['warm']:.0f} | {p['rows']} | {mb(p['vmhwm_kb'])} | "
              f"{ok(p['warm'])} | {ok(p['cold'])} |")  # fmt: skip
    if m["views"]:
        print_views(m["views"], [v["name"] for v in m["context"]["variants"]])
    calls = [(n, c) for n, v in m["views"].items() for c in v["calls"]]
    slow_p = [f"{n} {p['warm']:.0f} ms" for n, p in m["panels"].items() if p["warm"] > BUDGET_MS]
    slow_c = [f"{n} [{c['variant']}] {c['call']} {c['warm']:.0f} ms" for n, c in calls if c["warm"] > BUDGET_MS]
    peaks = [p["vmhwm_kb"] for p in m["panels"].values()] + [v["vmhwm_kb"] for v in m["views"].values()]
    print(f"\npanels over {BUDGET_MS:.0f} ms warm: {len(slow_p)} of {len(m['panels'])} ({'; '.join(slow_p) or 'none'})")
    print(f"view calls over {BUDGET_MS:.0f} ms warm: {len(slow_c)} of {len(calls)} ({'; '.join(slow_c) or 'none'})")
    print(f"peak RSS: ingest {mb(max(rss))} MB, panels/views {mb(max(peaks))} MB "
          f"(target ≤ {RSS_TARGET_MB:.0f} MB: {ok(max(rss + peaks) / 1024, RSS_TARGET_MB)})")  # fmt: skip
    cmd = " ".join(["bench/lake100m.py", *sys.argv[1:]])
    print(f"\nreproduce: `.venv/bin/python {cmd}` (lake cached in {args.out}; `--rebuild` builds it again)")
    print(f"(python {sys.version.split()[0]}, {os.cpu_count()} CPUs; build {state.get('built')}, "
          f"chunks ingested whole: ingest {ing_s / 60:.1f} min, wall {wall_s / 60:.1f} min)")  # fmt: skip
    return {"events_in_lake": in_lake, "ingest_events_per_s": ev_w / ing_s, "ingest_mb_per_s": raw / 1e6 / ing_s,
            "bare_bytes_per_event": bpe, "lake_bytes_per_event": {k: b / in_lake for k, b in sz.items()},
            "rss_max_kb": max(rss + peaks), "slow_panels": slow_p, "slow_calls": slow_c, "loadavg": load,
            "command": cmd}  # fmt: skip


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(child(json.loads(sys.argv[2]))), flush=True)
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=100_000_000)
    ap.add_argument("--days", type=int, default=365, help="whole days the events span, ending yesterday")
    ap.add_argument("--dataset", choices=("synthetic", "tpot"), default="synthetic")
    ap.add_argument("--chunk-events", type=int, default=1_000_000, help="events per ingested chunk, about")
    ap.add_argument("--runs", type=int, default=3, help="warm runs per panel and call (the median is reported)")
    ap.add_argument("--out", type=Path, help="default bench/out/lake100m-<dataset>-<events>")
    ap.add_argument("--rebuild", action="store_true", help="build the lake again even if a cached one exists")
    ap.add_argument("--build-only", action="store_true", help="build (or resume) the lake, measure nothing")
    ap.add_argument("--no-views", action="store_true", help="measure the panels only, not the dashboard calls")
    ap.add_argument("--filters", default="", help="bench/dashboard.py filter variants to measure (default all)")
    args = ap.parse_args()
    args.out = args.out or BENCH / "out" / f"lake100m-{args.dataset}-{args.events}"
    sys.path.insert(0, str(BENCH))
    plan = make_plan(args.dataset, args.events, args.days, args.chunk_events, dt.datetime.now(dt.UTC).date())
    state = build(args.out, plan, args.rebuild)
    if args.build_only:
        return 0
    load = os.getloadavg()[0]
    m = measure(args.out, state, args.runs, not args.no_views, [f for f in args.filters.split(",") if f])
    summary = report(state, m, args, [load, os.getloadavg()[0]])
    save(args.out / "results.json", {"summary": summary, "build": state, **m})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
