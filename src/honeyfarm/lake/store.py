# SPDX-License-Identifier: MIT
"""The lake: Hive-partitioned Parquet files, the snapshots that say which are live, and the writer lock.

Layout (readable by DuckDB, Spark, Athena and Trino; see docs/schema.md)::

    <lake>/events/date=YYYY-MM-DD/part-<uuid>.parquet       the events table
    <lake>/dead_letter/date=YYYY-MM-DD/part-<uuid>.parquet  rejected records
    <lake>/files/date=YYYY-MM-DD/part-<uuid>.parquet        captured files identified by `honeyfarm scan`
    <lake>/scans/date=YYYY-MM-DD/part-<uuid>.parquet        engine verdicts on those files (history kept)
    <lake>/_rollup/<name>-<hash>/date=YYYY-MM-DD/...        rollups, one file per event file
    <lake>/_snapshots/<20-digit version>.json               the live files of every table, per version
    <lake>/_state/checkpoints.json                          per-file read positions
    <lake>/_staging/                                        files not yet committed
    <lake>/.lock                                            writer lock (flock)

Names starting with ``_`` or ``.`` are ignored by Hive-style readers.

Every change is one new snapshot version (:mod:`honeyfarm.lake.snapshot`):
files are written and fsynced under ``_staging``, renamed into their
partition, and only then named by a new snapshot, whose atomic rename is the
commit point. Readers build their views from the current snapshot's file
list, so they never see a half-done change. A file that leaves the lake
(compacted away) stays on disk for ``lake.retention_seconds``, so a reader
still on an older snapshot never meets a missing file; writers delete it
afterwards (vacuum). A writer killed at any point leaves staged files or files
no snapshot names: both are deleted when the next writer takes the lock;
checkpoints move only after the commit, so the batch is read again and
event-id dedup drops what did land.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import duckdb

from honeyfarm.config import LakeConfig
from honeyfarm.lake import rollup, snapshot
from honeyfarm.lake.durable import durable_move
from honeyfarm.lake.legacy import legacy_files
from honeyfarm.lake.snapshot import Snapshot
from honeyfarm.schema import (
    DEAD_LETTER_COLUMNS,
    EVENT_COLUMNS,
    FILE_COLUMNS,
    SCAN_COLUMNS,
    Column,
    create_table_sql,
    events_view_sql,
)
from honeyfarm.sql import sql_path, sql_paths
from honeyfarm.timing import timed

TABLES: dict[str, tuple[Column, ...]] = {
    "events": EVENT_COLUMNS,
    "dead_letter": DEAD_LETTER_COLUMNS,
    "files": FILE_COLUMNS,
    "scans": SCAN_COLUMNS,
}
#: Sort order of a compacted partition (time first: readers prune row groups by it).
ORDER: dict[str, str] = {
    # Not time first: (sensor, src_ip, session, ts) puts a session's events, and an address's sessions, next
    # to each other, so the per-session and GeoIP columns become runs (dictionary/RLE almost free; see
    # bench/ingest.py --columns). A time filter still prunes whole days by partition; inside a day's file
    # row groups are no longer time ranges, which costs panels little (a day is ~1 row group at 10M/year).
    "events": "sensor, src_ip, session, ts",
    "dead_letter": "ingested_at, dead_id",
    "files": "identified_at, sha256",
    "scans": "scanned_at, scan_id",
}


class LakeBusy(Exception):
    """Another writer holds the lake."""


class Lake:
    def __init__(self, root: Path, cfg: LakeConfig | None = None) -> None:
        self.root = root
        self.cfg = cfg or LakeConfig(path=root)
        self.state_dir = root / "_state"
        self.staging_dir = root / "_staging"
        self.checkpoint_path = self.state_dir / "checkpoints.json"
        self._held: Snapshot | None = None  # the current snapshot while this object holds the writer lock

    # ------------------------------------------------------------------ layout
    def table_dir(self, table: str) -> Path:
        return self.root / table

    def tables(self) -> Mapping[str, tuple[str, ...]]:
        """Every table's live files (relative paths): the current snapshot's, else (a lake no writer of this
        version has touched yet) a directory listing."""
        snap = self.snapshot()
        return snap.tables if snap is not None else snapshot.listing(self.root)

    def snapshot(self) -> Snapshot | None:
        """The current snapshot (the writer's own while it holds the lock); None for a lake without any."""
        return self._held if self._held is not None else snapshot.current(self.root)

    def partitions(self, table: str) -> list[str]:
        return sorted({p.split("/")[-2].split("=", 1)[1] for p in self.tables().get(table, ())})

    def partition_files(self, table: str, date: str) -> list[Path]:
        part = f"{table}/date={date}/"
        return [self.root / p for p in self.tables().get(table, ()) if p.startswith(part)]

    def all_files(self, table: str) -> list[Path]:
        return [self.root / p for p in self.tables().get(table, ())]

    def new_staging(self) -> Path:
        d = self.staging_dir / uuid.uuid4().hex
        d.mkdir(parents=True)
        return d

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    # ------------------------------------------------------------------ writer
    @contextmanager
    def writer(self, wait: bool = True) -> Iterator[Lake]:
        """Hold the single-writer lock; recover leftovers of a killed writer first."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                raise LakeBusy(f"another honeyfarm process is writing to {self.root}") from None
            self.recover()
            yield self
        finally:
            self._held = None
            os.close(fd)  # closing releases the flock

    def recover(self) -> None:
        """Undo what a killed writer left and make sure the lake has a snapshot (caller holds the lock).

        Staged files go; so does every data file that no snapshot names (live or
        waiting out its retention): what a writer renamed into place before it
        was killed, never committed. A lake from before snapshots gets version 1
        from a listing of its directories.
        """
        if self.staging_dir.exists():
            shutil.rmtree(self.staging_dir)
        snap = snapshot.current(self.root)
        if snap is None:
            _finish_legacy_journals(self.state_dir / "compaction")
            tables = snapshot.listing(self.root)
            snap = snapshot.first(tables, "migrate" if tables else "create")
            snapshot.write(self.root, snap)
        # A rollup file lost outside honeyfarm (deleted by hand) leaves the snapshot, so that views still bind
        # and sync_rollups builds it again; a lost event file is not hidden: reads fail and say which.
        lost = [p for k, v in snap.tables.items() if k.startswith(snapshot.ROLLUP_PREFIX) for p in v
                if not (self.root / p).exists()]  # fmt: skip
        if lost:
            snap = snap.change("rollup", {}, lost, drop=lost)
            snapshot.write(self.root, snap)
        self._held = snap
        known = snap.live() | set(snap.removed)
        for top in (*snapshot.DATA_TABLES, snapshot.ROLLUP_PREFIX.rstrip("/")):
            d = self.root / top
            if not d.is_dir():
                continue
            for f in d.rglob("*.parquet"):
                if self._rel(f) not in known:
                    f.unlink()
            for sub in sorted((p for p in d.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                with contextlib.suppress(OSError):
                    sub.rmdir()  # empty partitions and old rollup definitions; a non-empty one stays

    def commit(
        self,
        operation: str,
        add: Mapping[str, Iterable[Path]] | None = None,
        remove: Iterable[Path] = (),
    ) -> Snapshot:
        """Write the next snapshot version: ``add`` (files already in place, per table key) and ``remove``.

        The one commit point of every change. Vacuum rides along: removed files
        whose retention passed are dropped from the new version, then deleted.
        """
        if self._held is None:
            raise RuntimeError("Lake.commit needs the writer lock (Lake.writer())")
        now = dt.datetime.now(dt.UTC)
        keep = dt.timedelta(seconds=self.cfg.retention_seconds)
        expired = [p for p, t in self._held.removed.items() if t + keep <= now]
        adds = {k: [self._rel(p) for p in v] for k, v in (add or {}).items()}
        snap = self._held.change(operation, adds, [self._rel(p) for p in remove], expired)
        snapshot.write(self.root, snap)
        self._held = snap
        snapshot.prune(self.root)
        self._delete(expired)
        return snap

    def vacuum(self) -> int:
        """Delete files whose retention passed (a new version if there are any); returns how many."""
        if self._held is None:
            raise RuntimeError("Lake.vacuum needs the writer lock (Lake.writer())")
        now = dt.datetime.now(dt.UTC)
        keep = dt.timedelta(seconds=self.cfg.retention_seconds)
        n = sum(1 for t in self._held.removed.values() if t + keep <= now)
        if n:
            self.commit("vacuum")
        return n

    def _delete(self, rels: Iterable[str]) -> None:
        parents = set()
        for rel in rels:
            p = self.root / rel
            p.unlink(missing_ok=True)
            parents.add(p.parent)
        for d in parents:
            with contextlib.suppress(OSError):
                d.rmdir()  # a partition (or an old rollup definition) left empty

    def move_in(self, staged: list[Path], table: str) -> list[Path]:
        """Rename staged ``date=D/<name>`` files into ``table`` (durably); they are live once committed."""
        moved: list[Path] = []
        for src in staged:
            dst = self.root / table / src.parent.name / src.name
            durable_move(src, dst)
            moved.append(dst)
        return moved

    def commit_ingest(
        self, con: duckdb.DuckDBPyConnection, events: Path, dead: Path, stages: dict[str, float] | None = None
    ) -> None:
        """Commit an ingest batch as one version: event files (at most one per date), their rollups, dead letters.

        A date whose partition reaches ``lake.compact_min_files`` with the new file
        is compacted in the same version (its files and the new one rewritten as
        one), so the new file never needs rollups of its own. The rollups of what
        is added are built before the commit: a reader never sees an event file
        without its rollups.
        """
        ev = sorted(events.glob("date=*/*.parquet"))
        dl = sorted(dead.glob("date=*/*.parquet"))
        if not ev and not dl:
            return
        add: dict[str, list[Path]] = {}
        remove: list[Path] = []
        if ev:
            new: list[Path] = []
            for f in ev:
                existing = self.partition_files("events", f.parent.name.split("=", 1)[1])
                if existing and len(existing) + 1 >= max(self.cfg.compact_min_files, 2):
                    with timed(stages, "compaction"):
                        new.append(self._rewrite(con, "events", [*existing, f], events.parent, f.parent.name))
                        remove += existing + self._rollups_of(existing)
                else:
                    new.append(f)
            with timed(stages, "rollups"):
                built = rollup.build(con, self.root, new, self.parquet_options(), events.parent / "_rollup")
        with timed(stages, "commit (fsync, snapshot)"):
            if ev:
                add.update(self._move_rollups(built))
                add["events"] = self.move_in(new, "events")
            if dl:
                add["dead_letter"] = self.move_in(dl, "dead_letter")
            self.commit("ingest+compact" if remove else "ingest", add, remove)

    def _move_rollups(self, built: list[tuple[Path, Path]]) -> dict[str, list[Path]]:
        add: dict[str, list[Path]] = {}
        for src, dst in built:
            durable_move(src, dst)
            add.setdefault(self._rel(dst.parent.parent), []).append(dst)
        return add

    def _rollups_of(self, event_files: list[Path]) -> list[Path]:
        """The live rollup files (of any definition) of ``event_files``."""
        names = {(f.parent.name, f.name) for f in event_files}
        return [
            self.root / p
            for key, paths in self.tables().items()
            if key.startswith(snapshot.ROLLUP_PREFIX)
            for p in paths
            if tuple(p.split("/")[-2:]) in names
        ]

    # -------------------------------------------------------------- compaction
    def _rewrite(self, con: duckdb.DuckDBPyConnection, table: str, files: list[Path], staged: Path, part: str) -> Path:
        """``files`` rewritten as one, sorted by time, at ``staged/compacted/<part>/`` (fsynced by the move in)."""
        out = staged / "compacted" / part / f"part-{uuid.uuid4().hex}.parquet"
        out.parent.mkdir(parents=True, exist_ok=True)
        cols = ", ".join(f'"{c.name}"' for c in TABLES[table])
        if table == "events" and legacy_files(files):
            # Rows of files written before lake v2 keep their stored id (NULL for the others): ingest still
            # recognises those rows by it (honeyfarm.lake.legacy), and the view replaces it for readers.
            cols = '"ts", "event_id", ' + cols.removeprefix('"ts", ')
        con.execute(
            f"COPY (SELECT {cols} FROM read_parquet({sql_paths(files)}, hive_partitioning=false, "
            f"union_by_name=true) ORDER BY {ORDER[table]}) TO {sql_path(out)} ({self.parquet_options()})"
        )
        return out

    def compact(self, con: duckdb.DuckDBPyConnection, table: str, date: str, min_files: int | None = None) -> bool:
        """Rewrite a partition's files into one, sorted by time. Returns whether it ran.

        The output (and, for events, its rollups) is written and renamed into
        place, then one snapshot version swaps inputs for output. A kill before
        that commit leaves an output no snapshot names (deleted by the next
        writer); after it, the inputs wait out their retention. Never both.
        """
        files = self.partition_files(table, date)
        threshold = self.cfg.compact_min_files if min_files is None else min_files
        if len(files) < max(threshold, 2):
            return False
        staged = self.new_staging()
        try:
            tmp = self._rewrite(con, table, files, staged, f"date={date}")
            add: dict[str, list[Path]] = {}
            remove = list(files)
            if table == "events":
                built = rollup.build(con, self.root, [tmp], self.parquet_options(), staged / "_rollup")
                add.update(self._move_rollups(built))
                remove += self._rollups_of(files)
            add[table] = self.move_in([tmp], table)
            self.commit("compact", add, remove)
        finally:
            shutil.rmtree(staged, ignore_errors=True)
        return True

    # ----------------------------------------------------------------- rollups
    def sync_rollups(
        self, con: duckdb.DuckDBPyConnection, dates: list[str] | None = None, rebuild: bool = False
    ) -> int:
        """Build missing rollups and drop obsolete ones (caller holds the writer lock); returns files built.

        Needed after a rollup definition changed (new directory), for a lake from
        before snapshots, or when a rollup file went missing; ingest and
        compaction build their own. ``dates`` limits the repair to those days.
        ``rebuild``: delete every rollup file now (no retention: for benchmarks
        and repairs with no reader running) and build them all again.
        """
        if rebuild:
            old = [p for k, v in self.tables().items() if k.startswith(snapshot.ROLLUP_PREFIX) for p in v]
            if old:
                assert self._held is not None
                self._held = self._held.change("rollup", {}, old, drop=old)
                snapshot.write(self.root, self._held)
                self._delete(old)
        tables = self.tables()
        missing, obsolete = rollup.plan(tables, lambda rel: (self.root / rel).exists(), dates)
        if obsolete:
            self.commit("rollup", remove=[self.root / p for p in obsolete])
        built = 0
        # One event file per date per round keeps build()'s file <-> date mapping exact; one version per round.
        while missing:
            first: dict[str, str] = {}
            rest: list[str] = []
            for rel in missing:
                part = rel.split("/")[-2]
                if part in first:
                    rest.append(rel)
                else:
                    first[part] = rel
            staging = self.new_staging()
            try:
                made = rollup.build(con, self.root, [self.root / p for p in first.values()], self.parquet_options(),
                                    staging)  # fmt: skip
                self.commit("rollup", self._move_rollups(made))
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            built += len(first)
            missing = rest
        return built

    def live_bytes(self, prefix: str = "") -> int:
        """Bytes of the current snapshot's files whose table key starts with ``prefix`` (``"events"``,
        ``"_rollup/"``, ``""`` for all): the lake's size without files waiting out their retention."""
        return sum((self.root / p).stat().st_size for k, v in self.tables().items() if k.startswith(prefix) for p in v)

    def rollups_usable(self) -> bool:
        return rollup.usable(self.tables())

    # ------------------------------------------------------------------ reading
    def parquet_options(self) -> str:
        return (
            f"FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL {self.cfg.compression_level}, "
            f"ROW_GROUP_SIZE {self.cfg.row_group_size}"
        )

    def connect(self, threads: int = 2, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with a view per table (``events``, ``dead_letter``, ``files``, ``scans``)."""
        con = duckdb.connect(config={"threads": threads})
        con.execute("SET TimeZone = 'UTC'")
        if memory_limit:
            con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute("SET parquet_metadata_cache = true")
        self.create_views(con)
        return con

    def create_views(self, con: duckdb.DuckDBPyConnection) -> None:
        """A view per table of :data:`TABLES`; plus ``rollup_<name>`` views when the rollups match the events.

        Every view reads the explicit file list of one snapshot (taken once here),
        never a glob: files of a later commit, or of a compaction's output before
        its commit, are not seen until the views are created again.
        """
        tables = self.tables()
        use = rollup.usable(tables)
        if use:
            for name in rollup.ROLLUPS:
                files = [self.root / p for p in tables[rollup.key(name)]]
                con.execute(f"CREATE OR REPLACE VIEW rollup_{name} AS SELECT * FROM {_read(files)}")
        con.execute(f"SET VARIABLE honeyfarm_rollups = {'true' if use else 'false'}")
        for table, columns in TABLES.items():
            files = [self.root / p for p in tables.get(table, ())]
            if files:
                sql = events_view_sql(_read(files)) if table == "events" else f"SELECT * FROM {_read(files)}"
                con.execute(f"CREATE OR REPLACE VIEW {table} AS {sql}")
                if table == "events":
                    # The stored columns alone, for the rollup SELECTs that panels run over raw events: the same
                    # rows the rollup files were built from, without the view's derived columns (DuckDB expands
                    # the rebuilt `extra` at every `extra->>` reference, which made those queries 2-6x slower).
                    con.execute(f"CREATE OR REPLACE VIEW events_stored AS SELECT * FROM {_read(files)}")
            else:
                con.execute(create_table_sql(f"_empty_{table}", columns))
                empty = f"SELECT *, NULL::DATE AS date FROM _empty_{table}"
                if table == "events":  # the same columns as a lake with files: event_id derived, date last
                    con.execute(f"CREATE OR REPLACE VIEW events_stored AS {empty}")
                    empty = f"SELECT *, NULL::DATE AS date FROM ({events_view_sql('_empty_events', with_date=False)})"
                con.execute(f"CREATE OR REPLACE VIEW {table} AS {empty}")
        # Distinct sessions: exact on small lakes, estimated on big ones (honeyfarm.analysis.panels.sessions_sql).
        # The count comes from the Parquet footers (cached), not from reading the events.
        [(events,)] = con.execute("SELECT count(*) FROM events_stored").fetchall()
        approx = "true" if events > self.cfg.exact_sessions_max_events else "false"
        con.execute(f"SET VARIABLE honeyfarm_approx_sessions = {approx}")


def _read(files: list[Path]) -> str:
    return (
        f"read_parquet({sql_paths(files)}, hive_partitioning=true, hive_types={{'date': 'DATE'}}, union_by_name=true)"
    )


def _finish_legacy_journals(journal_dir: Path) -> None:
    """A compaction journal of a writer from before snapshots (``_state/compaction/<id>.json``): its new file in
    place means its inputs are gone (delete them); otherwise the compaction never happened (its staged file
    goes with ``_staging``)."""
    if not journal_dir.is_dir():
        return
    for journal in sorted(journal_dir.glob("*.json")):
        body = json.loads(journal.read_text())
        if Path(body["new"]).exists():
            for old in body["old"]:
                Path(old).unlink(missing_ok=True)
        journal.unlink()
    with contextlib.suppress(OSError):
        journal_dir.rmdir()
