"""SIGKILL in the middle of an ingest, then run it again: exact counts, nothing staged left behind.

One synthetic Cowrie file of 200,000 events (~80 MB) is ingested by the real CLI
in a subprocess with 4 MB batches (about 20 commits), killed after a random
delay, and ingested again to completion.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from honeyfarm.demo.synthetic import write_cowrie_log
from honeyfarm.lake import snapshot
from honeyfarm.lake.store import Lake

EVENTS = 200_000
BATCH = 4 * 1024 * 1024

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kill") / "synthetic-big.cowrie.json"
    write_cowrie_log(path, events=EVENTS)
    n = sum(1 for ln in path.read_bytes().split(b"\n") if ln.strip())
    assert n == EVENTS
    return path


def _toml(folder: Path, compact_min_files: int = 8) -> Path:
    p = folder / "honeyfarm.toml"
    p.write_text(
        f"[ingest]\nbatch_bytes = {BATCH}\n\n[geoip]\nenabled = false\n\n"
        f"[lake]\ncompact_min_files = {compact_min_files}\n"
    )
    return p


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("HONEYFARM_CONFIG", "HONEYFARM_LAKE")}


def _cmd(log: Path, lake: Path, toml: Path) -> list[str]:
    return [sys.executable, "-m", "honeyfarm.cli", "ingest", str(log), "--lake", str(lake), "--json",
            "--config", str(toml)]  # fmt: skip


def _start(log: Path, lake: Path, toml: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        _cmd(log, lake, toml), cwd=toml.parent, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def _kill(proc: subprocess.Popen[bytes]) -> bool:
    """SIGKILL our child; whether it was still running."""
    running = proc.poll() is None
    if running:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    if proc.stderr is not None:
        proc.stderr.close()
    return running


def _run_to_completion(log: Path, lake: Path, toml: Path) -> dict[str, Any]:
    p = subprocess.run(_cmd(log, lake, toml), cwd=toml.parent, env=_env(), capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    out: dict[str, Any] = json.loads(p.stdout)
    return out


def _counts(lake: Path) -> tuple[int, int]:
    if not (lake / "events").exists():
        return 0, 0
    con = Lake(lake).connect()
    try:
        [(n, distinct)] = con.sql("SELECT count(*), count(DISTINCT event_id) FROM events").fetchall()
    finally:
        con.close()
    return int(n), int(distinct)


def _assert_complete(log: Path, lake: Path) -> None:
    con = Lake(lake).connect()
    try:
        [(n, distinct)] = con.sql("SELECT count(*), count(DISTINCT event_id) FROM events").fetchall()
        [(dead,)] = con.sql("SELECT count(*) FROM dead_letter").fetchall()
    finally:
        con.close()
    assert (n, distinct) == (EVENTS, EVENTS)
    assert dead == 0
    staging = lake / "_staging"
    left = [p for p in staging.rglob("*") if p.is_file()] if staging.exists() else []
    assert left == [], f"files left under _staging: {left[:5]}"
    _assert_snapshot_files_exist(lake)
    body = json.loads((lake / "_state" / "checkpoints.json").read_text(encoding="utf-8"))
    [cp] = body["files"]
    assert cp["offset"] == log.stat().st_size
    assert cp["lines"] == EVENTS


def _assert_snapshot_files_exist(lake: Path) -> None:
    snap = snapshot.current(lake)
    if snap is not None:
        missing = [p for p in snap.live() if not (lake / p).exists()]
        assert missing == [], missing[:3]


def _check_after_kill(lake: Path) -> int:
    """Invariant of a killed lake before recovery: no event twice, even mid-compaction; returns the events
    visible."""
    n, distinct = _counts(lake)
    assert n == distinct <= EVENTS
    _assert_snapshot_files_exist(lake)
    return distinct


TRIALS = [(0, 101), (1, 202), (2, 303), (3, 404)]


@pytest.mark.parametrize(("stratum", "seed"), TRIALS, ids=[f"seed{s}" for _, s in TRIALS])
def test_sigkill_mid_ingest_then_rerun_gives_exact_counts(
    big_log: Path, tmp_path: Path, stratum: int, seed: int
) -> None:
    rng = random.Random(seed)
    # Delays spread over 0.2-2.5 s, one stratum per trial, so early and late kills are both covered.
    lo, hi = 0.2, 2.5
    width = (hi - lo) / len(TRIALS)
    delay = lo + width * (stratum + rng.random())
    lake = tmp_path / "L"
    toml = _toml(tmp_path)

    proc = _start(big_log, lake, toml)
    try:
        time.sleep(delay)
    finally:
        _kill(proc)
    visible = _check_after_kill(lake)

    if seed % 2 == 0:
        # Kill the recovery run too, early, before letting it finish.
        proc = _start(big_log, lake, toml)
        try:
            time.sleep(0.3 + rng.random())
        finally:
            _kill(proc)
        visible = _check_after_kill(lake)

    out = _run_to_completion(big_log, lake, toml)
    assert out["errors"] == []
    assert out["dead_letter"] == 0
    assert out["ingested"] == EVENTS - visible  # the re-run adds exactly what was missing
    _assert_complete(big_log, lake)

    again = _run_to_completion(big_log, lake, toml)
    assert (again["ingested"], again["duplicates"], again["dead_letter"]) == (0, 0, 0)


def _kill_when(proc: subprocess.Popen[bytes], lake: Path, kind: str, timeout: float = 30.0) -> bool:
    """Poll the lake and SIGKILL as soon as a compaction is seen in flight; whether it was caught."""
    deadline = time.monotonic() + timeout
    staging = lake / "_staging"
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if kind == "compaction-copy":
                    # A compaction writes its output under <staging>/<id>/compacted/date=.../.
                    hit = any(staging.glob("*/compacted/date=*/part-*.parquet"))
                else:
                    # Just after a compaction's commit (its output and rollups named, its inputs removed); here
                    # every batch compacts the partitions it writes, in its own commit.
                    snap = snapshot.current(lake)
                    hit = snap is not None and snap.operation in ("compact", "ingest+compact")
            except (OSError, ValueError):  # a directory vanished while we looked: the writer moved on
                hit = False
            if hit:
                return True
            time.sleep(0.0005)
        return False
    finally:
        _kill(proc)


@pytest.mark.parametrize("kind", ["compaction-copy", "compaction-commit"])
def test_sigkill_during_compaction_then_rerun_gives_exact_counts(big_log: Path, tmp_path: Path, kind: str) -> None:
    lake = tmp_path / "L"
    toml = _toml(tmp_path, compact_min_files=2)  # every batch compacts the partitions it touched
    proc = _start(big_log, lake, toml)
    assert _kill_when(proc, lake, kind), f"no {kind} seen before the ingest ended"
    _check_after_kill(lake)
    out = _run_to_completion(big_log, lake, toml)
    assert out["errors"] == []
    _assert_complete(big_log, lake)
