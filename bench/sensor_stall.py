# SPDX-License-Identifier: MIT
"""How long an attacker's storm holds the sensor's event loop, with and without the remedies.

    .venv/bin/python bench/sensor_stall.py              # two 20 s storms, ~1.5 minutes
    .venv/bin/python bench/sensor_stall.py --duration 10 --json

Starts ``honeyfarm sensor`` on 127.0.0.1 twice, one run after the other, and
each time runs the storm of ``tests/stormutil.py`` against it: the OpenSSH
client asking for 8192-bit group exchange (2 in a loop), two waves of 2,000
raw connections (a quarter sending garbage, half closed with a RST), ``hydra
-t 16``, and a fresh connection every 0.25 s timed until the banner.

* **remedies on** (the defaults): DH in the worker process, bounded loop
  batches, cycle-free connections, paced full GC passes;
* **baseline**: ``limits.kex_offload_queue = 0`` (DH on the event loop) and
  ``limits.loop_batch = 0`` (asyncio's stock loop). The GC pacer and the
  preloading of the shell stay on in both runs.

Reported per run, from the sensor's own ``honeyfarm.sensor.looplag`` events
(1 s intervals): the worst lateness of its 10 ms ticker (wall clock) and the
part of it the loop spent working (its thread's CPU time: a blocking step,
as opposed to waiting for a CPU the clients were using), their p99 over the
intervals, and what the clients saw. The per-address and MaxStartups caps are
lifted so every flood connection reaches the SSH layer (the worst case).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent.parent / "tests"


def one_run(work: Path, duration: float, remedies: bool) -> dict[str, Any]:
    sys.path.insert(0, str(TESTS))
    work.mkdir(parents=True, exist_ok=True)
    from sensorutil import run_sensor
    from stormutil import run_storm

    limits: dict[str, Any] = {"max_connections": 8000, "max_per_ip": 8000, "loop_lag_report_interval": 1.0}
    if not remedies:
        limits.update(kex_offload_queue=0, loop_batch=0)
    overrides = {"sensor.limits": limits, "sensor.ssh": {"max_startups": "10000", "max_per_ip": 10000}}
    with run_sensor(work, overrides) as sp:
        sp.wait_for(lambda evs: any(e["eventid"] == "honeyfarm.sensor.looplag" for e in evs))
        before = len([e for e in sp.events() if e["eventid"] == "honeyfarm.sensor.looplag"])
        res = run_storm(sp.ssh_port, work / "storm", duration=duration, flood=2000, flood_waves=2)
        time.sleep(1.5)
        evs = [e for e in sp.events() if e["eventid"] == "honeyfarm.sensor.looplag"][before:]
    wall = sorted(e["max_ms"] for e in evs) or [0.0]
    busy = sorted(e["busy_max_ms"] for e in evs) or [0.0]
    probes = sorted(res.banner_ms) or [float("nan")]
    return {
        "remedies": remedies,
        "intervals": len(evs),
        "worst_lag_ms": wall[-1],
        "worst_busy_ms": busy[-1],
        "median_interval_worst_ms": wall[len(wall) // 2],
        "banner_median_ms": round(probes[len(probes) // 2], 1),
        "banner_max_ms": round(probes[-1], 1),
        "banner_missing": res.banner_missing,
        "gex_runs": res.gex_runs,
        "gex_kex_done": res.gex_kex_done,
        "gex_median_s": round(sorted(res.gex_seconds)[len(res.gex_seconds) // 2], 2) if res.gex_seconds else None,
        "clients": res.summary(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=20.0, help="seconds of storm per run")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args()
    runs = []
    with tempfile.TemporaryDirectory(prefix="hf-stall-") as tmp:
        for remedies in (True, False):
            runs.append(one_run(Path(tmp) / ("on" if remedies else "off"), args.duration, remedies))
    if args.json:
        print(json.dumps(runs, indent=1))
        return
    print(f"storm: {args.duration:g} s; GEX 8192 x2 loop, 2 x 2,000-connection flood, hydra -t 16, banner probe")
    print(f"{'':28}{'remedies on':>14}{'baseline':>14}")
    rows = [
        ("worst loop lag (ms)", "worst_lag_ms"),
        ("  of it loop busy (ms)", "worst_busy_ms"),
        ("median 1 s interval worst", "median_interval_worst_ms"),
        ("banner median (ms)", "banner_median_ms"),
        ("banner max (ms)", "banner_max_ms"),
        ("banner never came", "banner_missing"),
        ("GEX 8192 handshakes", "gex_runs"),
        ("GEX median (s)", "gex_median_s"),
    ]
    for label, key in rows:
        print(f"{label:28}{runs[0][key]!s:>14}{runs[1][key]!s:>14}")


if __name__ == "__main__":
    main()
