"""Lake snapshots: every reader sees one committed state, during compactions, after kills, across retention.

Readers (the query/report connection, the `honeyfarm report` CLI, the dashboard) run while another process
ingests and compacts; a compaction is killed (SIGKILL) at each of its steps; files replaced by compaction stay
for the retention period; a lake from before snapshots is migrated; another engine reads the snapshot's file
list (DuckDB on its own, the JSON read with the json module).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from lakeutil import cli_env, hf
from webutil import TestClient

from honeyfarm.config import Config, GeoIPConfig, IngestConfig, LakeConfig
from honeyfarm.demo.synthetic import write_cowrie_log
from honeyfarm.lake import rollup, snapshot
from honeyfarm.lake.store import Lake
from honeyfarm.pipeline import ingest
from honeyfarm.schema import events_view_sql
from honeyfarm.sql import sql_paths
from honeyfarm.views.web.app import create_app
from honeyfarm.views.web.settings import ServeConfig

START = "2026-11-02T00:00:00"
BASE_EVENTS = 4000
ROUND_EVENTS = 500
ROUNDS = 2
#: Readers pause between reads so that, on two shared cores, the writer still gets on.
PAUSE = 0.1


def _cfg(lake: Path, batch_bytes: int = 256 * 1024, **lake_kw: Any) -> Config:
    return Config(
        ingest=IngestConfig(batch_bytes=batch_bytes),
        geoip=GeoIPConfig(enabled=False),
        lake=LakeConfig(path=lake, **lake_kw),
    )


def _log(path: Path, events: int, seed: int) -> Path:
    import datetime as dt

    write_cowrie_log(path, events=events, seed=seed, days=2.0, start=dt.datetime.fromisoformat(START))
    return path


def _counts(lake: Path) -> tuple[int, int]:
    con = Lake(lake).connect()
    try:
        [(n, distinct)] = con.sql("SELECT count(*), count(DISTINCT event_id) FROM events").fetchall()
    finally:
        con.close()
    return int(n), int(distinct)


def _on_disk(lake: Path) -> set[str]:
    tops = [lake / t for t in snapshot.DATA_TABLES] + [lake / "_rollup"]
    return {f.relative_to(lake).as_posix() for top in tops if top.is_dir() for f in top.rglob("*.parquet")}


def _assert_consistent(lake: Path, rollups: bool = True) -> snapshot.Snapshot:
    """The current snapshot's files all exist; on disk there is nothing else but files awaiting deletion."""
    snap = snapshot.current(lake)
    assert snap is not None
    disk = _on_disk(lake)
    assert snap.live() <= disk, sorted(snap.live() - disk)[:3]
    assert disk <= snap.live() | set(snap.removed), sorted(disk - snap.live() - set(snap.removed))[:3]
    assert rollup.usable(snap.tables) == rollups
    return snap


# --------------------------------------------------------------------------- readers during writes


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    root = tmp_path_factory.mktemp("snap")
    lake = root / "lake"
    base = _log(root / "base.json", BASE_EVENTS, seed=1)
    r = ingest([str(base)], _cfg(lake, compact_min_files=50), lake)
    assert r.ingested == BASE_EVENTS
    rounds = [_log(root / f"round{k}.json", ROUND_EVENTS, seed=100 + k) for k in range(ROUNDS)]
    return lake, rounds


WRITER = """
import sys
from pathlib import Path
from honeyfarm.config import Config, GeoIPConfig, IngestConfig, LakeConfig
from honeyfarm.lake.store import Lake
from honeyfarm.pipeline import ingest

lake = Path(sys.argv[1])
for k, log in enumerate(sys.argv[2:]):
    # Even rounds: every batch compacts the partitions it writes, in its own commit; odd rounds: batches add
    # files, then `honeyfarm compact`'s work swaps them for one per partition, a commit per partition.
    cfg = Config(ingest=IngestConfig(batch_bytes=256 * 1024), geoip=GeoIPConfig(enabled=False),
                 lake=LakeConfig(path=lake, compact_min_files=2 if k % 2 == 0 else 50))
    r = ingest([log], cfg, lake)
    assert not r.errors, r.errors
    if k % 2:
        lk = Lake(lake, cfg.lake)
        with lk.writer():
            con = lk.connect(1)
            for d in lk.partitions("events"):
                lk.compact(con, "events", d, 2)
            con.close()
"""


def test_readers_during_ingest_and_compaction_see_exact_counts(busy: tuple[Path, list[Path]]) -> None:
    lake, rounds = busy
    allowed = {BASE_EVENTS + k * ROUND_EVENTS for k in range(ROUNDS + 1)}
    versions_before = snapshot.current_version(lake)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(lake), *map(str, rounds)],
        env=cli_env(),
        stderr=subprocess.PIPE,
        text=True,
    )
    errors: list[str] = []
    seen: dict[str, list[int]] = {"query": [], "dashboard": [], "report": []}
    stop = threading.Event()

    def query_loop() -> None:
        while not stop.is_set():
            try:
                n, distinct = _counts(lake)
                if n != distinct or n not in allowed:
                    errors.append(f"query: {n} rows, {distinct} distinct")
                seen["query"].append(n)
            except Exception as exc:  # a missing file, a torn snapshot: exactly what must not happen
                errors.append(f"query: {exc!r}")
            time.sleep(PAUSE)

    def dashboard_loop() -> None:
        app = create_app(lake, ServeConfig(cache_entries=0, threads=1))
        with TestClient(app, base_url="http://127.0.0.1") as c:
            while not stop.is_set():
                r = c.get("/api/panels/overview")
                if r.status_code != 200:
                    errors.append(f"dashboard: {r.status_code} {r.text[:300]}")
                    continue
                body = r.json()
                cols = body["columns"]
                row = next(dict(zip(cols, x, strict=True)) for x in body["rows"] if x[cols.index("sensor")] == "(all)")
                if row["events"] not in allowed:
                    errors.append(f"dashboard: {row['events']} events")
                seen["dashboard"].append(row["events"])
                time.sleep(PAUSE)

    threads = [threading.Thread(target=query_loop), threading.Thread(target=dashboard_loop)]
    for t in threads:
        t.start()
    try:
        # The loop runs until the writer ends (bounded): stopping after two reports and killing a writer
        # still busy on a loaded machine failed CI once, though every read it saw was exact.
        deadline = time.monotonic() + 300
        while writer.poll() is None and time.monotonic() < deadline:
            if len(seen["report"]) >= 2:
                time.sleep(PAUSE)
                continue
            p = hf("report", "overview", "--json", "--lake", str(lake), cwd=lake.parent)
            if p.returncode != 0:
                errors.append(f"report: {p.stderr[-300:]}")
                continue
            [total] = [r for r in json.loads(p.stdout) if r["sensor"] == "(all)"]
            if total["events"] not in allowed:
                errors.append(f"report: {total['events']} events")
            seen["report"].append(total["events"])
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        if writer.poll() is None:
            writer.kill()
        _, err = writer.communicate(timeout=30)
    assert writer.returncode == 0, err[-2000:]
    assert errors == [], errors[:5]
    # The reads really overlapped the writes: several versions and several totals were seen.
    final = BASE_EVENTS + ROUNDS * ROUND_EVENTS
    assert _counts(lake) == (final, final)
    assert len(seen["query"]) >= 10 and len(set(seen["query"])) >= 2, seen["query"]
    assert seen["dashboard"] and seen["report"]
    assert (snapshot.current_version(lake) or 0) > (versions_before or 0) + ROUNDS + 1
    snap = _assert_consistent(lake)
    assert snap.removed  # compacted inputs wait out their retention, still on disk


# --------------------------------------------------------------------------- kill -9 at every compaction step

KILLER = """
import os, signal, sys
from pathlib import Path
from honeyfarm.config import LakeConfig
from honeyfarm.lake import snapshot, store

lake, step = Path(sys.argv[1]), sys.argv[2]

def die(*_a, **_k):
    os.kill(os.getpid(), signal.SIGKILL)

write = snapshot.write
if step == "output-staged":  # the output (and its rollups) written under _staging, nothing moved in
    store.Lake._move_rollups = die
elif step == "output-moved":  # output and rollups renamed into the partitions, the snapshot not written
    def w(root, snap):
        if snap.operation == "compact":
            die()
        write(root, snap)
    snapshot.write = w
elif step == "committed":  # the snapshot swapped inputs for output; inputs still on disk
    def w(root, snap):
        write(root, snap)
        if snap.operation == "compact":
            die()
    snapshot.write = w
elif step == "vacuum":  # retention 0: killed while deleting the replaced inputs
    delete = store.Lake._delete
    def d(self, rels):
        rels = list(rels)
        if rels:
            delete(self, rels[:1])
            die()
    store.Lake._delete = d
lk = store.Lake(lake, LakeConfig(path=lake, retention_seconds=0 if step == "vacuum" else 3600))
with lk.writer():
    con = lk.connect(1)
    for d in lk.partitions("events"):
        lk.compact(con, "events", d, 2)
    lk.vacuum()
print("finished")
"""


@pytest.fixture(scope="module")
def two_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A lake whose partitions hold two event files each (not compacted)."""
    root = tmp_path_factory.mktemp("kill")
    lake = root / "lake"
    n = 0
    for k in range(2):
        r = ingest(
            [str(_log(root / f"k{k}.json", 1500, seed=200 + k))], _cfg(lake, 64 << 20, compact_min_files=50), lake
        )
        n += r.ingested
    assert n == 3000
    assert all(len(Lake(lake).partition_files("events", d)) == 2 for d in Lake(lake).partitions("events"))
    return lake, n


@pytest.mark.parametrize("step", ["output-staged", "output-moved", "committed", "vacuum"])
def test_compaction_killed_at_each_step_keeps_counts_exact(
    two_files: tuple[Path, int], tmp_path: Path, step: str
) -> None:
    src, n = two_files
    lake = tmp_path / "lake"
    shutil.copytree(src, lake)
    p = subprocess.run([sys.executable, "-c", KILLER, str(lake), step], env=cli_env(), capture_output=True, text=True,
                       timeout=120)  # fmt: skip
    assert p.returncode == -9, (p.returncode, p.stdout, p.stderr[-2000:])
    assert _counts(lake) == (n, n)  # before any writer cleaned up
    snap = snapshot.current(lake)
    assert snap is not None and snap.live() <= _on_disk(lake)
    with Lake(lake, LakeConfig(path=lake)).writer():  # the next writer: recovery only
        pass
    assert _counts(lake) == (n, n)
    _assert_consistent(lake)
    assert not any((lake / "_staging").rglob("*.parquet"))
    lk = Lake(lake)
    with lk.writer():  # and a writer that finishes the job
        con = lk.connect(1)
        for d in lk.partitions("events"):
            lk.compact(con, "events", d, 2)
    assert _counts(lake) == (n, n)
    snap = _assert_consistent(lake)
    assert all(len(Lake(lake).partition_files("events", d)) == 1 for d in Lake(lake).partitions("events"))


# --------------------------------------------------------------------------- retention and vacuum


def test_replaced_files_stay_until_retention_then_vacuum_deletes_them(
    two_files: tuple[Path, int], tmp_path: Path
) -> None:
    src, n = two_files
    lake = tmp_path / "lake"
    shutil.copytree(src, lake)
    inputs = Lake(lake).all_files("events")
    old = Lake(lake).connect()  # a reader on the snapshot before the compaction
    lk = Lake(lake, LakeConfig(path=lake, retention_seconds=2))
    with lk.writer():
        con = lk.connect(1)
        assert all(lk.compact(con, "events", d, 2) for d in lk.partitions("events"))
        assert lk.vacuum() == 0  # nothing is old enough yet
    snap = _assert_consistent(lake)
    gone = {f.relative_to(lake).as_posix() for f in inputs}
    assert gone <= set(snap.removed) and not gone & snap.live()
    assert all(f.exists() for f in inputs)
    on_disk = sum(f.stat().st_size for f in (lake / "events").rglob("*.parquet"))
    assert lk.live_bytes("events") == on_disk - sum(f.stat().st_size for f in inputs)  # sizes leave them out
    # The old reader still reads its snapshot: every file it names is there.
    assert old.sql("SELECT count(*), count(DISTINCT event_id) FROM events").fetchall() == [(n, n)]
    old.close()
    time.sleep(2.2)
    with lk.writer():
        assert lk.vacuum() == len(snap.removed)
    assert not any(f.exists() for f in inputs)
    after = _assert_consistent(lake)
    assert after.removed == {} and after.operation == "vacuum"
    assert _counts(lake) == (n, n)
    assert len(snapshot.versions(lake)) <= snapshot.KEEP


# --------------------------------------------------------------------------- migration and other engines


def test_lake_without_snapshots_is_read_by_listing_then_migrated(two_files: tuple[Path, int], tmp_path: Path) -> None:
    src, n = two_files
    lake = tmp_path / "lake"
    shutil.copytree(src, lake)
    shutil.rmtree(lake / "_snapshots")  # the layout every lake had before snapshots
    # A compaction of the old writer whose output was moved in but whose inputs were not deleted yet.
    d = Lake(lake).partitions("events")[0]
    inputs = Lake(lake).partition_files("events", d)
    out = lake / "events" / f"date={d}" / "part-legacy.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_parquet({sql_paths(inputs)})) TO '{out}' (FORMAT parquet)")
    journal = lake / "_state" / "compaction" / "j.json"
    journal.parent.mkdir(parents=True)
    journal.write_text(json.dumps({"new": str(out), "staged": "/nonexistent", "old": [str(f) for f in inputs]}))
    got = _counts(lake)
    assert got[1] == n and got[0] > n  # a reader of the old layout sees both, as old readers did
    assert snapshot.current(lake) is None  # readers never write
    with Lake(lake).writer():
        pass
    snap = _assert_consistent(lake, rollups=False)
    assert snap.version == 1 and snap.operation == "migrate"
    assert _counts(lake) == (n, n)
    assert not journal.exists() and not any(f.exists() for f in inputs)
    # The migrated partition's rollups (of the legacy output) are built by the next writer's sync.
    lk = Lake(lake)
    assert not lk.rollups_usable()
    with lk.writer():
        con = lk.connect(1)
        assert lk.sync_rollups(con) == 1
    assert lk.rollups_usable()
    _assert_consistent(lake)
    with lk.writer():  # a rebuild from scratch (benchmarks): old rollup files go at once, new ones replace them
        con = lk.connect(1)
        assert lk.sync_rollups(con, rebuild=True) == len(lk.all_files("events"))
    assert lk.rollups_usable()
    # What waits out its retention now: only the rollups the legacy compaction's inputs left behind.
    assert {p.rsplit("/", 1)[-1] for p in _assert_consistent(lake).removed} <= {f.name for f in inputs}


def test_other_engines_read_the_snapshot_file_list(two_files: tuple[Path, int], tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    shutil.copytree(two_files[0], lake)
    lk = Lake(lake)
    with lk.writer():  # compacted: the replaced files stay on disk for their retention
        con = lk.connect(1)
        assert all(lk.compact(con, "events", d, 2) for d in lk.partitions("events"))
    [name] = [n for n in sorted((lake / "_snapshots").iterdir()) if n.name.endswith(".json")][-1:]
    body = json.loads(name.read_text())  # the format an external engine reads, with nothing but json
    assert body["version"] == snapshot.current_version(lake)
    files = [str(lake / p) for p in body["tables"]["events"]]
    con = duckdb.connect()
    # The files through the same SELECT as the `events` view (columns derived at read time included).
    src = f"read_parquet({sql_paths(files)}, hive_partitioning=true, hive_types={{'date': 'DATE'}})"
    [(n, distinct)] = con.execute(f"SELECT count(*), count(DISTINCT event_id) FROM ({events_view_sql(src)})").fetchall()
    assert n == distinct == _counts(lake)[0]
    # A plain glob also sees the compacted-away files still within their retention (docs/schema.md says so).
    [(globbed,)] = con.execute(
        "SELECT count(*) FROM read_parquet(?, hive_partitioning=true)", [str(lake / "events/date=*/*.parquet")]
    ).fetchall()
    assert globbed > n
    p = hf("lake", "files", "--table", "events", "--json", "--lake", str(lake), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["version"] == body["version"] and out["tables"]["events"] == body["tables"]["events"]
    p = hf("lake", "files", "--table", "sessions", "--lake", str(lake), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == body["tables"][rollup.key("sessions")]
