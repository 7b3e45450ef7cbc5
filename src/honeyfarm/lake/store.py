# SPDX-License-Identifier: MIT
"""The lake: Hive-partitioned Parquet files plus the state that protects them.

Layout (readable as-is by DuckDB, Spark, Athena and Trino)::

    <lake>/events/date=YYYY-MM-DD/part-<uuid>.parquet       the events table
    <lake>/dead_letter/date=YYYY-MM-DD/part-<uuid>.parquet  rejected records
    <lake>/files/date=YYYY-MM-DD/part-<uuid>.parquet        captured files identified by `honeyfarm scan`
    <lake>/scans/date=YYYY-MM-DD/part-<uuid>.parquet        engine verdicts on those files (history kept)
    <lake>/_state/checkpoints.json                          per-file read positions
    <lake>/_state/compaction/<id>.json                      in-flight compaction journals
    <lake>/_staging/                                        files not yet committed
    <lake>/.lock                                            writer lock (flock)

Names starting with ``_`` or ``.`` are ignored by Hive-style readers.

Writes are committed by renaming fully written, fsynced files from
``_staging`` into their partition; checkpoints move only after that. A writer
killed at any point leaves either staged files (deleted on the next start) or
committed files whose checkpoint did not move (re-read, then dropped by
event-id dedup). Compaction writes its journal before swapping files in, so an
interrupted compaction is finished (or undone) by the next writer.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from honeyfarm.config import LakeConfig
from honeyfarm.lake import rollup
from honeyfarm.lake.durable import atomic_write_bytes, durable_move, fsync_dir, fsync_file
from honeyfarm.schema import DEAD_LETTER_COLUMNS, EVENT_COLUMNS, FILE_COLUMNS, SCAN_COLUMNS, Column, create_table_sql
from honeyfarm.sql import sql_path, sql_paths

TABLES: dict[str, tuple[Column, ...]] = {
    "events": EVENT_COLUMNS,
    "dead_letter": DEAD_LETTER_COLUMNS,
    "files": FILE_COLUMNS,
    "scans": SCAN_COLUMNS,
}
#: Sort order of a compacted partition (time first: readers prune row groups by it).
ORDER: dict[str, str] = {
    "events": "ts, event_id",
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
        self.journal_dir = self.state_dir / "compaction"
        self.checkpoint_path = self.state_dir / "checkpoints.json"

    # ------------------------------------------------------------------ layout
    def table_dir(self, table: str) -> Path:
        return self.root / table

    def partitions(self, table: str) -> list[str]:
        d = self.table_dir(table)
        if not d.is_dir():
            return []
        return sorted(p.name.split("=", 1)[1] for p in d.iterdir() if p.is_dir() and p.name.startswith("date="))

    def partition_files(self, table: str, date: str) -> list[Path]:
        d = self.table_dir(table) / f"date={date}"
        if not d.is_dir():
            return []
        return sorted(p for p in d.iterdir() if p.suffix == ".parquet" and not p.name.startswith((".", "_")))

    def all_files(self, table: str) -> list[Path]:
        return [f for date in self.partitions(table) for f in self.partition_files(table, date)]

    def new_staging(self) -> Path:
        d = self.staging_dir / uuid.uuid4().hex
        d.mkdir(parents=True)
        return d

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
            os.close(fd)  # closing releases the flock

    def recover(self) -> None:
        """Finish or undo what a killed writer left (caller holds the lock)."""
        if self.journal_dir.is_dir():
            for journal in sorted(self.journal_dir.glob("*.json")):
                self._finish_compaction(journal)
        if self.staging_dir.exists():
            shutil.rmtree(self.staging_dir)

    def commit_staged(self, staged: Path, table: str) -> list[Path]:
        """Move every Parquet file under ``staged/date=*/`` into ``table`` durably."""
        moved: list[Path] = []
        for src in sorted(staged.glob("date=*/*.parquet")):
            dst = self.table_dir(table) / src.parent.name / src.name
            durable_move(src, dst)
            moved.append(dst)
        return moved

    # -------------------------------------------------------------- compaction
    def compact(self, con: duckdb.DuckDBPyConnection, table: str, date: str, min_files: int | None = None) -> bool:
        """Rewrite a partition's files into one, sorted by time. Returns whether it ran.

        Crash safety: the new file is written and fsynced under ``_staging``;
        then a journal naming it and the files it replaces is written; then the
        new file is renamed in and the old ones deleted; then the journal goes.
        :meth:`recover` completes a journal whose new file is in place, and
        drops one whose new file never arrived, so no event is ever visible
        twice or lost for longer than until the next writer starts.
        """
        files = self.partition_files(table, date)
        threshold = self.cfg.compact_min_files if min_files is None else min_files
        if len(files) < max(threshold, 2):
            return False
        staged = self.new_staging()
        tmp = staged / f"part-{uuid.uuid4().hex}.parquet"
        order = ORDER[table]
        cols = ", ".join(f'"{c.name}"' for c in TABLES[table])
        con.execute(
            f"COPY (SELECT {cols} FROM read_parquet({sql_paths(files)}, hive_partitioning=false, union_by_name=true) "
            f"ORDER BY {order}) TO {sql_path(tmp)} ({self.parquet_options()})"
        )
        dst = self.table_dir(table) / f"date={date}" / tmp.name
        journal = self.journal_dir / f"{uuid.uuid4().hex}.json"
        body = {"new": str(dst), "staged": str(tmp), "old": [str(f) for f in files]}

        fsync_file(tmp)
        atomic_write_bytes(journal, json.dumps(body).encode())
        durable_move(tmp, dst)
        self._finish_compaction(journal)
        shutil.rmtree(staged, ignore_errors=True)
        return True

    def _finish_compaction(self, journal: Path) -> None:
        body = json.loads(journal.read_text())
        new = Path(body["new"])
        staged = Path(body["staged"])
        if not new.exists() and staged.exists():
            durable_move(staged, new)  # the swap had not happened yet: do it now
        if new.exists():
            for old in body["old"]:
                Path(old).unlink(missing_ok=True)
            fsync_dir(new.parent)
        journal.unlink()
        fsync_dir(journal.parent)

    # ----------------------------------------------------------------- rollups
    def sync_rollups(self, con: duckdb.DuckDBPyConnection, dates: list[str] | None = None) -> int:
        """Build missing hourly rollups and drop orphans (caller holds the writer lock)."""
        dates = self.partitions("events") if dates is None else dates
        files = {d: self.partition_files("events", d) for d in dates}
        staging = self.new_staging()
        try:
            return rollup.sync(con, self.root, files, self.parquet_options(), staging)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def rollups_usable(self) -> bool:
        files = self.all_files("events")
        return bool(files) and rollup.usable(self.root, files)

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
        """A view per table of :data:`TABLES`; plus ``rollup_<name>`` views when the rollups match the events."""
        use = self.rollups_usable()
        if use:
            for name in rollup.ROLLUPS:
                glob = sql_path(rollup.rollup_dir(self.root, name) / "date=*" / "*.parquet")
                con.execute(
                    f"CREATE OR REPLACE VIEW rollup_{name} AS SELECT * FROM read_parquet({glob}, "
                    "hive_partitioning=true, hive_types={'date': 'DATE'}, union_by_name=true)"
                )
        con.execute(f"SET VARIABLE honeyfarm_rollups = {'true' if use else 'false'}")
        for table, columns in TABLES.items():
            if self.all_files(table):
                glob = sql_path(self.table_dir(table) / "date=*" / "*.parquet")
                con.execute(
                    f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet({glob}, "
                    "hive_partitioning=true, hive_types={'date': 'DATE'}, union_by_name=true)"
                )
            else:
                con.execute(create_table_sql(f"_empty_{table}", columns))
                con.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT *, NULL::DATE AS date FROM _empty_{table}")
