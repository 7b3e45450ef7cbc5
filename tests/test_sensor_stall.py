# SPDX-License-Identifier: MIT
"""No probe can stall the sensor: its event loop stays responsive through an attacker's storm.

One 8192-bit group exchange used to hold the sensor's only event loop for a
minute (then, with integer DH, ~250 ms per handshake); a 2,000-connection
burst held it 300–500 ms at a time. The sensor measures its own loop (a 10 ms
ticker, :mod:`honeyfarm.sensor.looplag`) and reports it in
``honeyfarm.sensor.looplag`` events; these tests read those events while real
clients attack it (:mod:`stormutil`: the OpenSSH client asking for 8192-bit
group exchange, raw-socket floods of 2,000 connections, hydra).

Two numbers are reported per interval, and asserted differently:

* ``busy_max_ms``: the lateness the loop spent *working* (its thread's CPU time
  between two ticks): a blocking step on the loop. The target is 50 ms, and
  ``make bench-stall`` measures it (27.5 ms); this test asserts twice that
  (``BUSY_LIMIT_MS``), because thread CPU time on a loaded 2-core box also grows
  with cache misses and page faults (one CI run saw 55 ms with every remedy on).
  The control without the remedies measures ~280 ms.
* ``max_ms``: wall-clock lateness, what a client feels. On a quiet machine it is
  close to the first; here the storm's own clients (hydra, the flood, ssh, the
  DH worker) and anything else running share the same two cores, and the sensor
  waits for a CPU. It is asserted under ``WALL_MARGIN_MS`` (750 ms): a margin
  for CPU contention, still far below the outages this guards against (seconds).

The control test turns the remedies off (``limits.kex_offload_queue = 0``,
``limits.loop_batch = 0``) and shows the same probe makes the loop busy for
over twice ``BUSY_LIMIT_MS``, so the main assertion can fail.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sensorutil import SensorProc, need, run_sensor
from stormutil import SSH_OPTS, run_storm

BUSY_LIMIT_MS = 100.0
WALL_MARGIN_MS = 750.0
EVENT = "honeyfarm.sensor.looplag"

pytestmark = pytest.mark.skipif(need("ssh", "sshpass") is not None, reason=str(need("ssh", "sshpass")))


def storm_overrides(**limits: Any) -> dict[str, dict[str, Any]]:
    # The flood comes from 127.0.0.1 like the probes: lift the per-address and MaxStartups caps
    # so every flood connection reaches asyncssh (the worst case for the loop; a real flood from
    # many addresses is not cut per address either).
    return {
        "sensor.limits": {
            "max_connections": 8000,
            "max_per_ip": 8000,
            "loop_lag_report_interval": 1.0,
            **limits,
        },
        "sensor.ssh": {"max_startups": "10000", "max_per_ip": 10000},
    }


def lag_events(sp: SensorProc) -> list[dict[str, Any]]:
    return [e for e in sp.events() if e["eventid"] == EVENT]


def gex_once(port: int) -> subprocess.CompletedProcess[str]:
    argv = [
        "sshpass", "-p", "x", "ssh", "-v", *SSH_OPTS, "-p", str(port),
        "-o", "KexAlgorithms=diffie-hellman-group-exchange-sha256",
        "-c", "chacha20-poly1305@openssh.com", "root@127.0.0.1", "echo", "gex-ok",
    ]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def storm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SensorProc, Any, list[dict[str, Any]]]]:
    work = tmp_path_factory.mktemp("stall")
    with run_sensor(work, storm_overrides()) as sp:
        # The first report holds the start-up (the CLI's first console print, ~60 ms); the storm
        # starts once it is written.
        sp.wait_for(lambda evs: any(e["eventid"] == EVENT for e in evs))
        before = len(lag_events(sp))
        res = run_storm(sp.ssh_port, work / "storm", duration=20.0, flood=2000, flood_waves=2)
        time.sleep(1.5)  # the interval holding the storm's end is reported
        evs = lag_events(sp)[before:]
        yield sp, res, evs
    print(res.summary())


def test_storm_keeps_the_loop_responsive(storm: tuple[SensorProc, Any, list[dict[str, Any]]]) -> None:
    _, res, evs = storm
    assert len(evs) >= 15, evs
    busy = max(e["busy_max_ms"] for e in evs)
    wall = max(e["max_ms"] for e in evs)
    detail = [(e["max_ms"], e["busy_max_ms"], e["samples"]) for e in evs]
    print(f"worst loop lag in the storm: {wall:.0f} ms wall, {busy:.0f} ms busy; {res.summary()}")
    assert busy < BUSY_LIMIT_MS, detail
    assert wall < WALL_MARGIN_MS, detail


def test_a_fresh_connection_gets_the_banner_promptly(storm: tuple[SensorProc, Any, list[dict[str, Any]]]) -> None:
    _, res, _ = storm
    probes = sorted(res.banner_ms)
    assert res.banner_missing == 0 and len(probes) >= 20, res.summary()
    # sshd's banner arrives after fork + re-exec (~8 ms; the trap waits as long). Generous
    # bounds for a shared CI box; the old failure was no banner at all for a minute.
    assert probes[len(probes) // 2] < 250, probes
    assert probes[int(len(probes) * 0.95)] < 2000, probes


def test_group_exchange_8192_completes_during_the_storm(
    storm: tuple[SensorProc, Any, list[dict[str, Any]]],
) -> None:
    _, res, evs = storm
    assert res.gex_runs >= 3, res.summary()
    assert res.gex_8192 == res.gex_runs, res.summary()  # the client really asked for 8192 bits
    assert res.gex_kex_done == res.gex_runs, res.summary()
    offload = evs[-1]["kex_offload"]
    assert offload["jobs"] >= res.gex_runs  # computed by the worker, not on the loop
    assert offload["failed"] == 0 and offload["dropped_busy"] == 0, offload
    assert offload["worker_starts"] == 1, offload


def test_flood_garbage_is_freed_without_long_gc_passes(
    storm: tuple[SensorProc, Any, list[dict[str, Any]]],
) -> None:
    _, _, evs = storm
    gc_stats = evs[-1]["gc"]
    # Closed connections are freed by reference counting; a full GC pass stays short.
    assert gc_stats["max_ms"] < BUSY_LIMIT_MS, gc_stats


def test_without_the_remedies_the_same_probes_stall_the_loop(tmp_path: Path) -> None:
    """The control: DH on the loop and asyncio's unbounded batches; three GEX 8192 handshakes."""
    with run_sensor(tmp_path, storm_overrides(kex_offload_queue=0, loop_batch=0)) as sp:
        sp.wait_for(lambda evs: any(e["eventid"] == EVENT for e in evs))
        before = len(lag_events(sp))
        for _ in range(3):
            r = gex_once(sp.ssh_port)
            assert "SSH2_MSG_NEWKEYS received" in r.stderr, r.stderr[-2000:]
        time.sleep(1.5)
        evs = lag_events(sp)[before:]
    busy = max(e["busy_max_ms"] for e in evs)
    print(f"control: worst busy lag {busy:.0f} ms")
    assert busy > 2 * BUSY_LIMIT_MS, [(e["max_ms"], e["busy_max_ms"]) for e in evs]
    assert "kex_offload" not in evs[-1]


def test_a_killed_dh_worker_is_replaced_and_stopped_with_the_sensor(tmp_path: Path) -> None:
    psutil = pytest.importorskip("psutil")
    with run_sensor(tmp_path, storm_overrides()) as sp:
        assert sp.proc is not None
        sensor = psutil.Process(sp.proc.pid)

        def worker(not_pid: int = 0) -> Any:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                for c in sensor.children():
                    if c.pid != not_pid and "dhworker.py" in " ".join(c.cmdline()):
                        return c
                time.sleep(0.1)
            raise AssertionError("no DH worker process")

        first = worker()
        os.kill(first.pid, signal.SIGKILL)
        replacement = worker(not_pid=first.pid)
        r = gex_once(sp.ssh_port)
        assert "SSH2_MSG_NEWKEYS received" in r.stderr, r.stderr[-2000:]
        time.sleep(1.5)
        offload = lag_events(sp)[-1]["kex_offload"]
        assert offload["worker_starts"] == 2 and offload["jobs"] >= 1, offload
        assert sp.stop() in (0, -signal.SIGTERM)
    assert not replacement.is_running() or replacement.status() == psutil.STATUS_ZOMBIE
    log = (tmp_path / "sensor.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
    assert "DH worker failed" in log  # the supervisor said so, once


# --- the measuring instruments themselves ----------------------------------------------------


def test_the_ticker_tells_a_busy_loop_from_a_starved_one() -> None:
    import asyncio

    from honeyfarm.sensor.looplag import LoopLag

    async def main() -> dict[str, Any]:
        lag = LoopLag(interval=0.01)
        lag.start()
        await asyncio.sleep(0.05)
        time.sleep(0.2)  # the loop blocked, but not working (as when the OS gives the CPU away)
        await asyncio.sleep(0.05)
        end = time.thread_time() + 0.12
        while time.thread_time() < end:  # the loop working: a stall of its own
            pass
        await asyncio.sleep(0.05)
        lag.stop()
        return lag.take()

    report = asyncio.run(main())
    assert report["max_ms"] >= 150, report
    assert 100 <= report["busy_max_ms"] < 150, report
    assert report["p50_ms"] < 10 and report["samples"] >= 8, report
    assert sum(report["hist_ms"].values()) == report["samples"]


def test_full_collections_wait_for_a_calm_loop() -> None:
    import gc

    from honeyfarm.sensor.gcpace import GCPacer

    busy = [True]
    pacer = GCPacer(lambda: busy[0], max_defer=0.3, every=1)
    pacer.start()
    try:
        assert gc.get_threshold()[2] > 10**6  # CPython no longer starts full passes by itself
        gc.collect(1)  # one young collection: a full one is due
        pacer.tick()
        assert pacer.stats["full"] == 0 and pacer.stats["deferred"] == 1
        busy[0] = False
        pacer.tick()
        assert pacer.stats["full"] == 1 and gc.get_count()[2] == 0
        busy[0] = True
        gc.collect(1)
        pacer.tick()
        time.sleep(0.35)
        pacer.tick()  # busy for longer than max_defer: collected anyway
        assert pacer.stats["full"] == 2 and pacer.stats["forced"] == 1
    finally:
        pacer.stop()
    assert gc.get_threshold()[2] < 10**6 and gc.get_freeze_count() == 0
