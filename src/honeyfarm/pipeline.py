# SPDX-License-Identifier: MIT
"""``honeyfarm ingest``: files → parse → enrich → dedup → lake, loss-free.

One batch (up to ``ingest.batch_bytes`` of raw lines, from one or many files)
is one commit:

1. whole lines are cut out of each file from its checkpoint, into Arrow
   arrays without copying (:mod:`honeyfarm.collect.files`);
2. each format's SQL parses and maps its lines in DuckDB, saying per line why
   it was rejected (:mod:`honeyfarm.formats`);
3. distinct source addresses are looked up once (:mod:`honeyfarm.enrich.geoip`);
4. events already in the lake, or repeated in the batch, are dropped by
   their natural key (:data:`honeyfarm.schema.ROW_KEY_SQL`) within their date partition;
5. new events and dead letters are written as Parquet under ``_staging``,
   fsynced and renamed into their partitions;
6. only then do the files' checkpoints move.

Remote sources (``s3://…``, ``cloudwatch://…``) are copied one object (or one
run of log events) at a time into a local file under ``_staging`` and read by
the very same path; their positions live in their own state files and move at
step 6 too (:class:`~honeyfarm.collect.files.StagedSource`).

A kill between any two steps loses nothing and duplicates nothing: staged
files are discarded and the batch is read again; committed files make the
re-read batch's events duplicates, which step 4 drops.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa

from honeyfarm.batch import (
    ROW_BITS,
    IngestResult,
    _Batch,
    _Dead,
    _StateFile,
    _strip,
    find_duplicates,
    stage_dead,
)
from honeyfarm.collect.attribution import (
    MISSING_TIME_SQL,
    FileContext,
    delivery_time_sqls,
    file_mtime,
    local_context,
    mapped_sql,
    with_fleet,
)
from honeyfarm.collect.checkpoint import CheckpointStore
from honeyfarm.collect.files import (
    FileReader,
    InputError,
    StagedSource,
    expand_paths,
    first_lines,
    read_head_damage,
)
from honeyfarm.collect.follow import FollowedFiles, sleep_unless_stopped
from honeyfarm.config import Config
from honeyfarm.enrich.geoip import GeoIP
from honeyfarm.formats import detect_format, get_format
from honeyfarm.lake.nospace import NoSpaceError, is_no_space
from honeyfarm.lake.store import ORDER, Lake
from honeyfarm.schema import EVENT_COLUMN_NAMES, GEO_COLUMNS
from honeyfarm.sql import sql_path

log = logging.getLogger(__name__)

ProgressFn = Callable[[int], None]
StopFn = Callable[[], bool]

#: Arguments naming a remote source instead of a local path.
REMOTE_SCHEMES = ("s3://", "cloudwatch://")


def is_remote(arg: str) -> bool:
    return arg.startswith(REMOTE_SCHEMES)


class Ingestor:
    """Runs ingest batches against one lake; one per process (holds the writer lock)."""

    def __init__(self, cfg: Config, lake: Lake, force_format: str | None = None) -> None:
        self.cfg = cfg
        self.lake = lake
        self.force = get_format(force_format) if force_format else None
        self.geo = GeoIP(cfg.geoip)
        self.checkpoints = CheckpointStore(lake.checkpoint_path)
        self.con = lake.connect(cfg.ingest.threads, cfg.ingest.memory_limit)
        # Row order inside the staging tables and the files carries no meaning
        # (every ordering that matters says ORDER BY): ~10% faster mapping.
        self.con.execute("SET preserve_insertion_order = false")
        self.result = IngestResult()
        self._touched: set[str] = set()
        self._states: dict[str, _StateFile] = {}  # remote sources' position files, saved after each commit
        self.data_committed = False  # whether the batch being committed is in the lake yet
        self.follower: FollowedFiles | None = None  # set by ingest(follow=...): named files held open
        self._db_dead: list[_Dead] = []  # unreadable rows of damaged databases, for the pass's first batch
        self._origins: dict[Path, str] = {}  # converted database → the name it was given as (fleet matching)

    # ------------------------------------------------------------------ files
    def run(self, args: list[str], progress: ProgressFn | None = None, stop: StopFn | None = None) -> IngestResult:
        """One pass over ``args``: local paths first, then remote sources in the order given.

        ``stop`` is asked between files (and remote objects): once it says yes,
        what was read so far is committed and the pass ends early.
        """
        local = [a.removeprefix("file://") for a in args if not is_remote(a)]
        remote = [a for a in args if is_remote(a)]
        try:
            named = self.follower.expand(local) if self.follower else [(p, str(p)) for p in expand_paths(local)]
            paths = [self._convert_database(p, name) for p, name in named]
        except InputError as exc:
            self.result.errors.append(str(exc))
            return self.result
        batch = _Batch()
        batch.dead.extend(self._db_dead)
        self._db_dead = []
        for path, name in paths:
            if stop is not None and stop():
                break
            if path is not None:
                batch = self._ingest_file(path, batch, progress, name=name)
        if self.follower is not None:
            self.follower.end_pass()
        for url in remote:
            if stop is not None and stop():
                break
            batch = self._ingest_remote(url, batch, progress, stop)
        if batch.segments or batch.dead or batch.completions:
            self._commit(batch)
        return self.result

    def _convert_database(self, path: Path, name: str) -> tuple[Path | None, str]:
        """A Dionaea logsql database becomes honeyfarm JSON lines under ``_state/converted/`` (stable
        lines for old rows), then takes the normal file path. A damaged one gives what reads, one error
        line and a dead letter per unreadable stretch of rows; path None if nothing reads."""
        from honeyfarm.collect import cowrie_tty
        from honeyfarm.collect.dionaea_sqlite import convert_into

        # A Cowrie binary TTY log is converted into <lake>/_state/tty/ and linked to its session, not read as lines.
        cap = self.cfg.sensor.limits.ttylog_bytes
        tty = cowrie_tty.ingest_file(path, name, self.lake.state_dir / "tty", cap, self.result)
        if tty is not None:
            key = str(path.resolve()).encode()  # a stable dead_id: the same damage is recorded once
            self._db_dead += [_Dead(name, key, n, cowrie_tty.FORMAT, why, why.encode(), len(why)) for n, why in tty]
            return None, name
        got = convert_into(path, self.lake.state_dir / "converted")
        if got is None:
            return path, name
        if got.damage is not None:
            self.result.errors.append(f"damaged SQLite database: {name}: {got.damage}")
        key = str(path.resolve()).encode()  # a stable dead_id: the same damage is recorded once
        for p in got.problems:
            why = p.describe()
            line = max(p.first_rowid, 0)
            self._db_dead.append(_Dead(name, key, line, "dionaea_sqlite", why, why.encode(), len(why)))
        if got.out is not None:
            self._origins[got.out] = name
        return got.out, str(got.out)

    def _ingest_remote(self, url: str, batch: _Batch, progress: ProgressFn | None, stop: StopFn | None) -> _Batch:
        # Imported here: boto3 costs import time that local-only runs (and `honeyfarm sensor`) need not pay.
        from honeyfarm.collect.remote_s3 import RemoteError, remote_config

        rcfg = remote_config(self.cfg)
        work = self.lake.staging_dir / f"remote-{uuid.uuid4().hex}"
        work.mkdir(parents=True, exist_ok=True)
        items: Iterator[StagedSource]
        if url.startswith("s3://"):
            from honeyfarm.collect.remote_s3 import S3State, staged_objects

            state = self._states.setdefault("s3", S3State(self.lake.state_dir / "remote_s3.json"))
            assert isinstance(state, S3State)
            items = staged_objects(url, rcfg, state, work, self.result.remote, self.result.errors)
        else:
            from honeyfarm.collect.remote_cloudwatch import CloudWatchState, staged_streams

            chunk = min(self.cfg.ingest.batch_bytes, 64 << 20)
            cw = self._states.setdefault("cloudwatch", CloudWatchState(self.lake.state_dir / "remote_cloudwatch.json"))
            assert isinstance(cw, CloudWatchState)
            items = staged_streams(url, rcfg, cw, work, chunk, self.result.remote)
        try:
            for item in items:
                batch = self._ingest_file(item.path, batch, progress, item)
                if stop is not None and stop():
                    break
        except RemoteError as exc:
            self.result.errors.append(str(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # deletes the generator's current temporary file
            shutil.rmtree(work, ignore_errors=True)
        return batch

    def _ingest_file(
        self,
        path: Path,
        batch: _Batch,
        progress: ProgressFn | None,
        staged: StagedSource | None = None,
        name: str | None = None,
    ) -> _Batch:
        """Read ``path`` from its checkpoint into ``batch``, reporting it as ``name`` (a followed file's fd)."""
        label = staged.label if staged is not None else name or str(path)
        try:
            head, head_damage = read_head_damage(path)
        except OSError as exc:
            self.result.errors.append(f"{label}: cannot read: {exc}")
            return batch
        self.result.files += 1
        if not head.strip():
            if head_damage is not None:  # nothing decodes: still reported, never "empty"
                fmt_name = self.force.name if self.force else "unknown"
                self.result.errors.append(batch.add_damage(label, head, fmt_name, head_damage, 1, b""))
            elif staged is not None and staged.finish is not None:
                batch.completions.append(staged.finish)
            return batch
        fmt = self.force or detect_format(first_lines(head))
        if fmt is None:
            self.result.errors.append(f"{label}: cannot detect the format; pass --format")
            return batch
        reader = FileReader(path, min(self.cfg.ingest.batch_bytes, 64 << 20), self.cfg.ingest.max_record_bytes)
        resume: tuple[int, int, str] | None
        if staged is None:
            cp = self.checkpoints.find(head)
            resume = None if cp is None else (cp.offset, cp.lines, cp.tail)
        else:
            resume = staged.resume
        offset, lines = 0, 0
        if resume is not None:
            if reader.verify_resume(resume[0], resume[2]):
                offset, lines = resume[0], resume[1]
            else:
                log.info("%s: changed under its checkpoint (truncated or rewritten); reading from the start", label)
        ctx = self._context(path, label, staged)
        for block in reader.blocks(offset, lines):
            batch.add(path, head, fmt, block, self.cfg.ingest.max_record_bytes, staged, label, ctx)
            if progress:
                progress(block.end - block.start)
            if batch.bytes >= self.cfg.ingest.batch_bytes:
                self._commit(batch)
                batch = _Batch()
        got = reader.result
        if got.damage is not None:
            # Reported on every run while the file stays damaged (its checkpoint stops before the damage; a remote
            # object is not marked finished); the dead letter has a stable id, so it is recorded once.
            err = batch.add_damage(label, head, fmt.name, got.damage, got.fragment_line, got.fragment)
            self.result.errors.append(err)
        elif staged is not None:
            if staged.finish is not None:
                batch.completions.append(staged.finish)
        elif got.pending_bytes:
            # Only a plain file can still be growing: its unfinished last line waits for the next run.
            self.result.pending.append({"file": label, "bytes": got.pending_bytes})
        return batch

    def _context(self, path: Path, label: str, staged: StagedSource | None) -> FileContext:
        """The file's default sensor and delivery time (:mod:`honeyfarm.collect.attribution`), ``[fleet]`` first."""
        if staged is not None:
            ctx = staged.context or FileContext(locations=(staged.label,))
        else:
            name = self._origins.get(path, label)  # a followed file's label, a converted database's own path
            ctx = local_context(name, file_mtime(Path(name) if name != label else path))
        return with_fleet(ctx, self.cfg.fleet.sources)

    # ----------------------------------------------------------------- commit
    def _commit(self, batch: _Batch) -> None:
        if not batch.segments and not batch.dead:
            self._complete(batch)  # only remote sources that had nothing new: no data to write
            return
        con = self.con
        staged = self.lake.new_staging()
        self.data_committed = False  # for the message if the disk fills from here on
        try:
            timed = self.result.timed
            if batch.tables:
                with timed("map"):
                    self._map(batch)
                with timed("dead letters"):
                    self._sql_dead(batch)
                with timed("geoip"):
                    self._enrich()
                self._dedup_and_stage(staged / "events")
            with timed("dead letters"):
                self._stage_dead(batch, staged / "dead_letter")
            # One snapshot version: event files, their rollups (built here, from the staged files) and dead letters.
            self.lake.commit_ingest(con, staged / "events", staged / "dead_letter", self.result.stages)
            self.data_committed = True
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)  # frees a full disk; the batch is read again next run
            raise
        finally:
            for name in ("mapped", "geo", "dropped", "filled"):
                con.execute(f"DROP TABLE IF EXISTS {name}")
            for fmt in batch.tables:
                con.unregister(f"lines_{fmt}")
            con.unregister("ctx_segs")
            con.unregister("ctx_lines")
        # Data is durable: now, and only now, move the checkpoints.
        now = dt.datetime.now(dt.UTC).isoformat()
        for seg in batch.segments:
            b = seg.block
            if seg.staged is None:
                self.checkpoints.update(seg.head, b.end, b.end_lines, b.tail, seg.label or str(seg.path), now)
            elif seg.staged.record is not None:
                seg.staged.record(b.end, b.end_lines, b.tail)
        with self.result.timed("checkpoints"):
            if any(seg.staged is None for seg in batch.segments):
                self.checkpoints.save()
            self._complete(batch)
        with self.result.timed("compaction"):
            self._compact_touched()
        shutil.rmtree(staged, ignore_errors=True)

    def _complete(self, batch: _Batch) -> None:
        """Mark finished remote sources done and save every remote position (after the data is durable)."""
        for done in batch.completions:
            done()
        batch.completions = []
        for state in self._states.values():
            state.save()

    def _map(self, batch: _Batch) -> None:
        selects = []
        self._line_formats: list[str] = []
        for name, chunks in batch.tables.items():
            table = pa.Table.from_batches(chunks)
            self.con.register(f"lines_{name}", table)
            self._line_formats.append(name)
            fmt = get_format(name) if self.force is None or self.force.name != name else self.force
            selects.append(f"SELECT '{name}' AS _fmt, * FROM ({fmt.select_sql(f'lines_{name}')})")
        # A timestamp outside the accepted window (a forged record, a sensor's broken clock) makes the
        # record a dead letter: checked here, once for every format, as one vectorised predicate.
        window = self.cfg.ingest.window()
        union = "\nUNION ALL\n".join(selects)
        # A record's own non-blank sensor wins, else its file's; a record without a time takes its delivery time.
        segs, line_times = batch.context_tables()
        self.con.register("ctx_segs", segs)
        with_defaults = segs.column("_sensor").null_count < segs.num_rows
        self.con.execute(mapped_sql(union, window.sql_reason("u.ts"), with_defaults, ROW_BITS))
        if self.con.execute(MISSING_TIME_SQL).fetchall()[0][0]:  # rare: a second statement over only those rows
            if line_times is not None:
                self.con.register("ctx_lines", line_times)
            for sql in delivery_time_sqls(window.sql_reason("f.delivered"), line_times is not None, ROW_BITS):
                self.con.execute(sql)

    def _sql_dead(self, batch: _Batch) -> None:
        rows = self.con.execute(
            "SELECT _row, _reason, _fmt FROM mapped WHERE _reason IS NOT NULL ORDER BY _row"
        ).fetchall()
        for row, reason, fmt in rows:
            seg, i = batch.locate(row)
            raw = _strip(bytes(seg.block.data[seg.offsets[i] : seg.offsets[i + 1]]))
            if not raw.strip():
                continue  # a line of only whitespace is not a record (short ones never reach SQL)
            line = seg.block.first_line + i
            batch.dead.append(_Dead(seg.label or str(seg.path), seg.head, line, fmt, reason, raw, len(raw)))

    def _enrich(self) -> None:
        ips = [r[0] for r in self.con.execute(
            "SELECT DISTINCT src_ip FROM mapped WHERE _reason IS NULL AND src_ip IS NOT NULL"
        ).fetchall()]  # fmt: skip
        self.con.register("geo_arrow", self.geo.lookup(ips))
        self.con.execute("CREATE OR REPLACE TABLE geo AS SELECT * FROM geo_arrow")
        self.con.unregister("geo_arrow")

    def _dedup_and_stage(self, out: Path) -> None:
        """Drop events already in the lake or repeated in the batch; stage the rest, one file per date.

        An event is identified by its natural key (:data:`honeyfarm.schema.ROW_KEY_SQL`, every stored column
        but the GeoIP ones). Duplicates are rare and share their ``ts``, so only records whose ``ts`` repeats
        in the batch or is already in the same date's files (read as that one column) are hashed and
        compared; the write is then a plain filtered scan of the rest, one file per date.
        """
        con = self.con
        dates = [r[0] for r in con.execute(
            "SELECT DISTINCT ts::DATE FROM mapped WHERE _reason IS NULL ORDER BY 1"
        ).fetchall()]  # fmt: skip
        existing = [f for d in dates for f in self.lake.partition_files("events", str(d))]
        filled = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'filled'").fetchall()[0][0]
        lines = tuple(f"lines_{name}" for name in self._line_formats)  # raw lines: pre-v2 files' ids (lake.legacy)
        with self.result.timed("dedup"):  # `filled`: records given their delivery time
            find_duplicates(con, existing, timeless=bool(filled), line_tables=lines)
        read = dict(con.execute("SELECT _fmt, count(*) FROM mapped WHERE _reason IS NULL GROUP BY 1").fetchall())
        dups = dict(con.execute(
            "SELECT _fmt, count(*) FROM mapped WHERE _row IN (SELECT _row FROM dropped) GROUP BY 1"
        ).fetchall())  # fmt: skip
        for fmt, n in read.items():
            c = self.result.counts(fmt)
            d = dups.get(fmt, 0)
            c.ingested += n - d
            c.duplicates += d
            self.result.ingested += n - d
            self.result.duplicates += d
        cols = []
        for c_name in EVENT_COLUMN_NAMES:
            if c_name in GEO_COLUMNS:
                cols.append(f'coalesce(g."{c_name}", m."{c_name}") AS "{c_name}"')
            else:
                cols.append(f'm."{c_name}"')
        any_dropped = bool(dups)
        not_dropped = "AND m._row NOT IN (SELECT _row FROM dropped)" if any_dropped else ""
        if any_dropped:  # a date whose events were all known already gets no (empty) file
            dates = [r[0] for r in con.execute(
                f"SELECT DISTINCT ts::DATE FROM mapped m WHERE _reason IS NULL {not_dropped} ORDER BY 1"
            ).fetchall()]  # fmt: skip
        order = ", ".join(f"m.{c.strip()}" for c in ORDER["events"].split(","))

        def write(d: dt.date) -> None:
            target = out / f"date={d}" / f"part-{uuid.uuid4()}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            cur = con.cursor()  # same in-memory database, own connection: COPYs can run side by side
            try:
                cur.execute(
                    f"""COPY (SELECT {", ".join(cols)} FROM mapped m LEFT JOIN geo g ON g.ip = m.src_ip
                    WHERE m._reason IS NULL AND m.ts >= '{d}'::DATE AND m.ts < '{d}'::DATE + INTERVAL 1 DAY
                    {not_dropped} ORDER BY {order}) TO {sql_path(target)} ({self.lake.parquet_options()})"""
                )
            finally:
                cur.close()

        # A day's file smaller than a row group is written by one thread, so
        # several days are written at once (DuckDB releases the GIL).
        with self.result.timed("write"), ThreadPoolExecutor(max_workers=self.cfg.ingest.threads) as pool:
            list(pool.map(write, dates))
        con.execute("DROP TABLE IF EXISTS dropped")
        self._touched = {str(d) for d in dates}

    def _stage_dead(self, batch: _Batch, out: Path) -> None:
        if batch.dead:
            opts = self.lake.parquet_options()
            stage_dead(self.con, batch.dead, self.lake.all_files("dead_letter"), opts, out, self.result)

    def _compact_touched(self) -> None:
        for d in sorted(self._touched):
            self.lake.compact(self.con, "events", d)
        self._touched = set()


def ingest(
    args: list[str],
    cfg: Config,
    lake_root: Path,
    force_format: str | None = None,
    progress: ProgressFn | None = None,
    *,
    follow: float | None = None,
    stop: StopFn | None = None,
    on_pass: Callable[[IngestResult], None] | None = None,
) -> IngestResult:
    """Ingest files, directories, globs, ``s3://`` and ``cloudwatch://`` sources into the lake at ``lake_root``.

    With ``follow`` (seconds), keep reading the same sources every ``follow``
    seconds until ``stop`` says yes; ``on_pass`` gets each pass's result and
    the return value sums them (errors and pending: the last pass's).
    """
    lake = Lake(lake_root, cfg.lake)
    with lake.writer():
        ing = Ingestor(cfg, lake, force_format)
        ing.follower = FollowedFiles() if follow is not None else None
        try:
            lake.sync_rollups(ing.con)  # a changed rollup definition, a lake from before snapshots; else a no-op
            if follow is None:
                return ing.run(args, progress, stop)
            total = IngestResult()
            while True:
                ing.result = IngestResult()
                one = ing.run(args, progress, stop)
                total.add(one)
                if on_pass is not None:
                    on_pass(one)
                if sleep_unless_stopped(follow, stop):
                    return total
        except Exception as exc:
            if is_no_space(exc):
                where = exc.filename if isinstance(exc, OSError) and exc.filename else lake_root
                raise NoSpaceError(str(where), ing.data_committed) from exc
            raise
        finally:
            if ing.follower is not None:
                ing.follower.close()
            ing.con.close()


__all__ = ["IngestResult", "Ingestor", "NoSpaceError", "ingest", "is_remote"]
