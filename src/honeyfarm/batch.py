# SPDX-License-Identifier: MIT
"""What one ingest batch holds (segments of lines, dead letters, completions) and what a run returns.

Split out of :mod:`honeyfarm.pipeline`, which does the work; these are its data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import duckdb
import numpy as np
import pyarrow as pa

from honeyfarm.collect.attribution import FileContext
from honeyfarm.collect.decompress import Damage
from honeyfarm.collect.files import (
    Block,
    StagedSource,
)
from honeyfarm.formats import Format
from honeyfarm.lake.legacy import duplicate_rows_sql, legacy_files
from honeyfarm.schema import DAY_KEY_SQL, KEY_COLUMNS, ROW_KEY_SQL
from honeyfarm.sql import sql_path, sql_paths
from honeyfarm.timing import timed


class _StateFile(Protocol):
    def save(self) -> None: ...


@dataclass
class FormatCounts:
    ingested: int = 0
    duplicates: int = 0
    dead_letter: int = 0


@dataclass
class IngestResult:
    ingested: int = 0
    duplicates: int = 0
    dead_letter: int = 0
    by_format: dict[str, FormatCounts] = field(default_factory=dict)
    files: int = 0
    errors: list[str] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    #: Remote-source counters (objects listed/skipped/downloaded, events read); empty for local paths only.
    remote: dict[str, int] = field(default_factory=dict)
    #: Wall seconds per stage of the work (map, geoip, dedup, write, rollups, ...): bench/ingest.py prints them,
    #: so where the time goes is measured by the benchmark, not guessed. Not part of :meth:`to_dict`.
    stages: dict[str, float] = field(default_factory=dict)

    def counts(self, fmt: str) -> FormatCounts:
        return self.by_format.setdefault(fmt, FormatCounts())

    def timed(self, stage: str) -> AbstractContextManager[None]:
        """Add the wall time of a ``with`` block to ``stages[stage]``."""
        return timed(self.stages, stage)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "ingested": self.ingested,
            "duplicates": self.duplicates,
            "dead_letter": self.dead_letter,
            "by_format": {k: vars(v) for k, v in sorted(self.by_format.items())},
            "files": self.files,
            "errors": self.errors,
            "pending": self.pending,
        }
        if self.remote:
            out["remote"] = dict(sorted(self.remote.items()))
        return out

    def add(self, other: IngestResult) -> None:
        """Add another pass's counts to these (``--follow``); errors and pending are the latest pass's."""
        self.ingested += other.ingested
        self.duplicates += other.duplicates
        self.dead_letter += other.dead_letter
        self.files += other.files
        for name, c in other.by_format.items():
            mine = self.counts(name)
            mine.ingested += c.ingested
            mine.duplicates += c.duplicates
            mine.dead_letter += c.dead_letter
        for k, v in other.remote.items():
            self.remote[k] = self.remote.get(k, 0) + v
        for k, t in other.stages.items():
            self.stages[k] = self.stages.get(k, 0.0) + t
        self.errors = list(other.errors)
        self.pending = list(other.pending)


@dataclass
class _Segment:
    """Lines of one block of one file, as they enter a batch."""

    path: Path
    head: bytes
    fmt: Format
    block: Block
    offsets: np.ndarray  # line i is block.data[offsets[i]:offsets[i+1]]
    first_row: int  # global row id of line 0: the segment's index << ROW_BITS
    label: str = ""  # name in dead letters (the path, or a remote source's URL)
    staged: StagedSource | None = None  # set for a remote source: its own checkpoint, not the file's
    ctx: FileContext | None = None  # default sensor and delivery time of the file's records


#: A row id is ``segment index << ROW_BITS | line index``: the segment of any row (and so its file's
#: default sensor and delivery time) is ``_row >> ROW_BITS``, a join on a table of one row per segment
#: instead of a range join. A block holds at most 64 MiB, so far fewer than 2**32 lines.
ROW_BITS = 32


@dataclass
class _Dead:
    file: str
    head: bytes
    line: int
    fmt: str
    reason: str
    raw: bytes
    raw_size: int


class _Batch:
    def __init__(self) -> None:
        self.segments: list[_Segment] = []
        self.bytes = 0
        self.rows = 0
        self.dead: list[_Dead] = []
        # per format: Arrow chunks of (_row, line)
        self.tables: dict[str, list[pa.RecordBatch]] = {}
        # remote sources whose last line is in this batch: called once it is durable
        self.completions: list[Callable[[], None]] = []

    def add(
        self,
        path: Path,
        head: bytes,
        fmt: Format,
        block: Block,
        max_record: int,
        staged: StagedSource | None = None,
        label: str | None = None,
        ctx: FileContext | None = None,
    ) -> None:
        label = label or (staged.label if staged is not None else str(path))
        for line_no, capped, size in block.oversized:
            reason = f"record longer than ingest.max_record_bytes ({max_record} bytes)"
            self.dead.append(_Dead(label, head, line_no, fmt.name, reason, capped, size))
        data = block.data
        offsets = block.offsets
        first_row = len(self.segments) << ROW_BITS
        seg = _Segment(path, head, fmt, block, offsets, first_row, label, staged, ctx)
        self.segments.append(seg)
        if len(offsets) < 2:
            return  # only over-long lines in this block
        n = len(offsets) - 1
        rows = np.arange(first_row, first_row + n, dtype=np.int64)
        self.rows += n
        self.bytes += len(data)
        binary = pa.LargeBinaryArray.from_buffers(
            pa.large_binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
        )
        keep = _not_blank(data, offsets)
        too_long = np.diff(offsets) - 1 > max_record  # without the newline
        if too_long.any():
            for i in np.flatnonzero(too_long).tolist():
                raw = _strip(bytes(data[offsets[i] : offsets[i + 1]]))
                reason = f"record longer than ingest.max_record_bytes ({max_record} bytes)"
                self.dead.append(_Dead(label, head, block.first_line + i, fmt.name, reason, raw[:max_record], len(raw)))
            keep &= ~too_long
        try:
            text = binary.cast(pa.large_string())
        except pa.ArrowInvalid:
            # Some line is not UTF-8: find it (slow path, only for this block).
            for i in np.flatnonzero(keep).tolist():
                raw = bytes(data[offsets[i] : offsets[i + 1]])
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    keep[i] = False
                    reason = f"invalid UTF-8 at byte {exc.start}"
                    self.dead.append(
                        _Dead(label, head, block.first_line + i, fmt.name, reason, _strip(raw), len(_strip(raw)))
                    )
            binary = binary.filter(pa.array(keep))
            rows = rows[keep]
            text = binary.cast(pa.large_string())
            keep = np.ones(len(rows), dtype=bool)
        if not keep.all():
            mask = pa.array(keep)
            text = text.filter(mask)
            rows = rows[keep]
        self.tables.setdefault(fmt.name, []).append(
            pa.RecordBatch.from_arrays([pa.array(rows), text], names=["_row", "line"])
        )

    def add_damage(self, label: str, head: bytes, fmt: str, damage: Damage, line: int, fragment: bytes) -> str:
        """Record a compressed file that stops decoding early as one dead letter; return its error line."""
        self.dead.append(_Dead(label, head, line, fmt, damage.describe(), fragment, len(fragment)))
        cut = f"; its last {len(fragment):,} bytes are a cut-off line (kept in dead_letter)" if fragment else ""
        return f"{label}: {damage.describe()}; read the {line - 1:,} lines before it{cut}"

    def locate(self, row: int) -> tuple[_Segment, int]:
        """The segment of global row ``row`` and the line's index in it."""
        seg = self.segments[row >> ROW_BITS]
        return seg, row - seg.first_row

    def context_tables(self) -> tuple[pa.Table, pa.Table | None]:
        """Each segment's file context, keyed ``_seg``; and CloudWatch lines' event times, keyed ``_row`` (or None).

        The pipeline joins them to the mapped rows (``_row >> ROW_BITS`` = ``_seg``) to give records
        that lack them the file's sensor and delivery time.
        """
        sensors: list[str | None] = []
        delivered: list[dt.datetime | None] = []
        sources: list[str | None] = []
        line_rows: list[np.ndarray] = []
        line_ms: list[np.ndarray] = []
        for seg in self.segments:
            ctx = seg.ctx or FileContext()
            sensors.append(ctx.sensor)
            delivered.append(ctx.delivered)
            sources.append(ctx.time_source if ctx.delivered is not None else None)
            n = len(seg.offsets) - 1
            if ctx.line_times_ms is not None and n > 0:
                # Line numbers are 1-based; line k of the file took event k's time (k - 1 in the array).
                first = seg.block.first_line - 1
                ms = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
                got = ctx.line_times_ms[first : first + n]
                ms[: len(got)] = got
                line_rows.append(np.arange(seg.first_row, seg.first_row + n, dtype=np.int64))
                line_ms.append(ms)
        segs = pa.table(
            {
                "_seg": pa.array(np.arange(len(self.segments), dtype=np.int64)),
                "_sensor": pa.array(sensors, pa.string()),
                "_delivered": pa.array(delivered, pa.timestamp("us")),
                "_time_source": pa.array(sources, pa.string()),
            }
        )
        if not line_rows:
            return segs, None
        ms_all = np.concatenate(line_ms)
        valid = (ms_all > -(2**43)) & (ms_all < 2**43)  # ±280 years around 1970: the rest is no time
        us = np.where(valid, ms_all, 0) * 1000
        lines = pa.table(
            {
                "_row": pa.array(np.concatenate(line_rows)),
                "_delivered": pa.array(us, pa.timestamp("us"), mask=~valid),
            }
        )
        return segs, lines


def _not_blank(data: memoryview | bytes, offsets: np.ndarray) -> np.ndarray:
    lengths = np.diff(offsets)
    keep = np.ones(len(lengths), dtype=bool)
    for i in np.flatnonzero(lengths <= 16).tolist():
        if not bytes(data[offsets[i] : offsets[i + 1]]).strip():
            keep[i] = False  # an empty line is not a record
    return keep


def _strip(raw: bytes) -> bytes:
    return raw.rstrip(b"\r\n")


def _dead_id(d: _Dead) -> int:
    h = hashlib.blake2b(digest_size=8)
    h.update(d.head)
    h.update(d.line.to_bytes(8, "little"))
    h.update(d.raw)
    return int.from_bytes(h.digest(), "little") >> 1


def find_duplicates(
    con: duckdb.DuckDBPyConnection, existing: list[Path], timeless: bool, line_tables: tuple[str, ...] = ()
) -> None:
    """``CREATE TABLE dropped (_row)``: the rows of ``mapped`` that are events already in ``existing`` (the
    event files of the batch's dates) or earlier in the batch.

    Same event = same natural key (:data:`~honeyfarm.schema.ROW_KEY_SQL`). Duplicates share their ``ts``, so
    only rows whose ``ts`` repeats in the batch or is in the files (read as that one column) are hashed,
    and only those files' rows at those times. Rows given their delivery time (``timeless``: the ``filled``
    table names them) are compared by day (:data:`~honeyfarm.schema.DAY_KEY_SQL`): delivered twice, the same
    record has two ``ts``.
    """
    read = f"read_parquet({sql_paths(existing)}, hive_partitioning=false, union_by_name=true)" if existing else ""
    keys = ", ".join(f'"{c}"' for c in KEY_COLUMNS)
    suspects = ["SELECT ts FROM mapped WHERE _reason IS NULL GROUP BY ts HAVING count(*) > 1"]
    if existing:
        suspects.append(f"SELECT DISTINCT e.ts FROM {read} e SEMI JOIN mapped m ON m.ts = e.ts AND m._reason IS NULL")
    con.execute("CREATE OR REPLACE TEMP TABLE suspect_ts AS " + " UNION ".join(suspects))
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE suspects AS SELECT _row, {ROW_KEY_SQL} AS _key FROM mapped
        WHERE _reason IS NULL AND ts IN (SELECT ts FROM suspect_ts)"""
    )
    drop = ["SELECT _row FROM suspects QUALIFY row_number() OVER (PARTITION BY _key ORDER BY _row) > 1"]
    if existing:
        drop.append(
            f"""SELECT _row FROM suspects WHERE _key IN (SELECT {ROW_KEY_SQL} FROM (SELECT {keys} FROM {read})
            WHERE ts IN (SELECT ts FROM suspect_ts))"""
        )
    if timeless:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE suspects_day AS SELECT _row, {DAY_KEY_SQL} AS _key FROM mapped
            WHERE _reason IS NULL AND _row IN (SELECT _row FROM filled)"""
        )
        drop.append("SELECT _row FROM suspects_day QUALIFY row_number() OVER (PARTITION BY _key ORDER BY _row) > 1")
        if existing:
            drop.append(
                f"""SELECT _row FROM suspects_day WHERE _key IN (SELECT {DAY_KEY_SQL} FROM (SELECT {keys} FROM
                {read}) WHERE extra LIKE '%"time_source"%')"""
            )
    legacy = legacy_files(existing) if line_tables else []
    if legacy:  # files written before lake v2: their rows are matched by the old line id too
        drop.append(duplicate_rows_sql(legacy, list(line_tables)))
    try:
        con.execute("CREATE OR REPLACE TABLE dropped AS " + " UNION ".join(drop))
    finally:
        for name in ("suspects", "suspect_ts", "suspects_day"):
            con.execute(f"DROP TABLE IF EXISTS {name}")


def stage_dead(
    con: duckdb.DuckDBPyConnection,
    dead: list[_Dead],
    existing_files: list[Path],
    parquet_options: str,
    out: Path,
    result: IngestResult,
) -> None:
    """Write the dead letters not yet in the lake (``existing_files``) under ``out``, counted in ``result``."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    table = pa.table(
        {
            "ingested_at": pa.array([now] * len(dead), pa.timestamp("us")),
            "dead_id": pa.array([_dead_id(d) for d in dead], pa.int64()),
            "file": pa.array([d.file for d in dead], pa.string()),
            "line": pa.array([d.line for d in dead], pa.int64()),
            "source_format": pa.array([d.fmt for d in dead], pa.string()),
            "reason": pa.array([d.reason for d in dead], pa.string()),
            "raw": pa.array([d.raw for d in dead], pa.large_binary()),
            "raw_size": pa.array([d.raw_size for d in dead], pa.int64()),
        }
    )
    con.register("dead_arrow", table)
    try:
        if existing_files:
            known = f"SELECT dead_id FROM read_parquet({sql_paths(existing_files)})"
        else:
            known = "SELECT NULL::BIGINT AS dead_id WHERE false"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE dead AS
            SELECT * FROM dead_arrow d WHERE d.dead_id NOT IN ({known})
            QUALIFY row_number() OVER (PARTITION BY dead_id ORDER BY line) = 1"""
        )
        by_fmt = dict(con.execute("SELECT source_format, count(*) FROM dead GROUP BY 1").fetchall())
        for fmt, n in by_fmt.items():
            result.counts(fmt).dead_letter += n
            result.dead_letter += n
        if by_fmt:
            con.execute(
                f"COPY (SELECT *, ingested_at::DATE AS date FROM dead) TO {sql_path(out)} "
                f"({parquet_options}, PARTITION_BY (date), FILENAME_PATTERN 'part-{{uuid}}')"
            )
    finally:
        con.execute("DROP TABLE IF EXISTS dead")
        con.unregister("dead_arrow")
