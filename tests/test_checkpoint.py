"""Resuming files from their checkpoints: growth, unfinished lines, rotation, truncation; lake layout and compaction."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
import zstandard
from lakeutil import query

from honeyfarm.config import Config, GeoIPConfig, IngestConfig, LakeConfig
from honeyfarm.lake.store import Lake
from honeyfarm.pipeline import ingest


def cfg(batch_bytes: int = 256 * 1024 * 1024, compact_min_files: int = 8) -> Config:
    return Config(
        geoip=GeoIPConfig(enabled=False),
        ingest=IngestConfig(batch_bytes=batch_bytes),
        lake=LakeConfig(compact_min_files=compact_min_files),
    )


NO_GEO = cfg()


def line(tag: str, i: int, day: int = 1) -> bytes:
    """One distinct Cowrie record (~220 bytes); ``tag`` keeps generations of a file apart."""
    rec = {
        "eventid": "cowrie.login.failed",
        "timestamp": f"2024-03-{day:02d}T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}.{i % 1_000_000:06d}Z",
        "session": f"{tag}-{i:06d}",
        "src_ip": "198.51.100.7",
        "src_port": 40000 + i % 20000,
        "dst_ip": "10.0.0.1",
        "dst_port": 22,
        "username": "root",
        "password": f"{tag}-pw-{i}",
        "sensor": "sensor-a",
    }
    return json.dumps(rec).encode()


def lines(tag: str, start: int, n: int, day: int = 1) -> bytes:
    return b"".join(line(tag, i, day) + b"\n" for i in range(start, start + n))


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


def count(lake: Path) -> int:
    return int(query(lake, "SELECT count(*) FROM events")[0][0])


def assert_exact(lake: Path, expected: int) -> None:
    assert query(lake, "SELECT count(*), count(DISTINCT event_id), count(DISTINCT session) FROM events") == [
        (expected, expected, expected)
    ]


def checkpoints(lake: Path) -> list[dict[str, Any]]:
    body = json.loads((lake / "_state" / "checkpoints.json").read_text())
    assert body["version"] == 1
    return list(body["files"])


# --------------------------------------------------------------------------- growth


@pytest.mark.parametrize("batch_bytes", [256 * 1024 * 1024, 4096], ids=["one-batch", "small-batches"])
def test_growing_file_resumes_where_it_stopped(tmp_path: Path, batch_bytes: int) -> None:
    src = tmp_path / "cowrie.json"
    lake = tmp_path / "lake"
    src.write_bytes(lines("g", 0, 100))
    r1 = ingest([str(src)], cfg(batch_bytes), lake)
    assert (r1.ingested, r1.duplicates, r1.dead_letter) == (100, 0, 0)
    append(src, lines("g", 100, 37))
    r2 = ingest([str(src)], cfg(batch_bytes), lake)
    # Only the new lines were read: nothing was seen twice.
    assert (r2.ingested, r2.duplicates, r2.dead_letter) == (37, 0, 0)
    r3 = ingest([str(src)], cfg(batch_bytes), lake)
    assert (r3.ingested, r3.duplicates) == (0, 0)
    assert_exact(lake, 137)
    [cp] = checkpoints(lake)
    assert cp["offset"] == src.stat().st_size
    assert cp["lines"] == 137
    assert cp["path"] == str(src)


def test_small_file_growing_past_head_size_resumes(tmp_path: Path) -> None:
    src = tmp_path / "cowrie.json"
    lake = tmp_path / "lake"
    src.write_bytes(lines("s", 0, 3))  # well under the 4096-byte identity head
    assert src.stat().st_size < 4096
    assert ingest([str(src)], NO_GEO, lake).ingested == 3
    for start, n in ((3, 2), (5, 40), (45, 1)):
        append(src, lines("s", start, n))
        r = ingest([str(src)], NO_GEO, lake)
        assert (r.ingested, r.duplicates) == (n, 0)
    assert src.stat().st_size > 4096
    assert_exact(lake, 46)
    assert len(checkpoints(lake)) == 1


def test_complete_last_line_without_newline_is_ingested(tmp_path: Path) -> None:
    src = tmp_path / "cowrie.json"
    lake = tmp_path / "lake"
    src.write_bytes(lines("n", 0, 10) + line("n", 10))  # last record complete, no newline
    r = ingest([str(src)], NO_GEO, lake)
    assert (r.ingested, r.pending) == (11, [])
    # The writer then ends the line and goes on.
    append(src, b"\n" + lines("n", 11, 5))
    r2 = ingest([str(src)], NO_GEO, lake)
    assert (r2.ingested, r2.duplicates, r2.dead_letter, r2.pending) == (5, 0, 0, [])
    assert_exact(lake, 16)


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"], ids=["lf", "crlf"])
def test_line_numbers_stay_true_after_a_line_taken_without_newline(tmp_path: Path, eol: bytes) -> None:
    src = tmp_path / "cowrie.json"
    lake = tmp_path / "lake"
    src.write_bytes(line("n", 0) + eol + line("n", 1) + eol + line("n", 2))  # lines 1-3, the 3rd without newline
    assert ingest([str(src)], NO_GEO, lake).ingested == 3
    append(src, eol + line("n", 3) + eol + b"{not json" + eol)  # line 4 good, line 5 bad
    r = ingest([str(src)], NO_GEO, lake)
    assert (r.ingested, r.dead_letter) == (1, 1)
    assert query(lake, "SELECT line, raw FROM dead_letter") == [(5, b"{not json")]
    [cp] = checkpoints(lake)
    assert cp["lines"] == 5


def test_unfinished_last_line_is_pending_then_ingested_once_complete(tmp_path: Path) -> None:
    src = tmp_path / "cowrie.json"
    lake = tmp_path / "lake"
    last = line("p", 20)
    cut = len(last) // 2
    src.write_bytes(lines("p", 0, 20) + last[:cut])
    r1 = ingest([str(src)], NO_GEO, lake)
    assert r1.ingested == 20
    assert r1.dead_letter == 0
    assert r1.pending == [{"file": str(src), "bytes": cut}]
    assert count(lake) == 20
    # Still unfinished: still pending, nothing lost or duplicated.
    r2 = ingest([str(src)], NO_GEO, lake)
    assert (r2.ingested, r2.duplicates, r2.dead_letter) == (0, 0, 0)
    assert r2.pending == [{"file": str(src), "bytes": cut}]
    append(src, last[cut:] + b"\n" + lines("p", 21, 4))
    r3 = ingest([str(src)], NO_GEO, lake)
    assert (r3.ingested, r3.duplicates, r3.dead_letter, r3.pending) == (5, 0, 0, [])
    assert_exact(lake, 25)
    assert query(lake, "SELECT count(*) FROM events WHERE session = 'p-000020'") == [(1,)]


def test_pending_with_small_batches(tmp_path: Path) -> None:
    src = tmp_path / "cowrie.json"
    lake = tmp_path / "lake"
    last = line("q", 200)
    src.write_bytes(lines("q", 0, 200) + last[:50])
    r1 = ingest([str(src)], cfg(4096), lake)
    assert r1.ingested == 200 and r1.pending == [{"file": str(src), "bytes": 50}]
    append(src, last[50:] + b"\n")
    r2 = ingest([str(src)], cfg(4096), lake)
    assert (r2.ingested, r2.duplicates, r2.pending) == (1, 0, [])
    assert_exact(lake, 201)


# --------------------------------------------------------------------------- rotation


def test_rotation_rename_and_new_file_both_ingested(tmp_path: Path) -> None:
    logs = tmp_path / "log"
    logs.mkdir()
    lake = tmp_path / "lake"
    cur = logs / "cowrie.json"
    cur.write_bytes(lines("gen1", 0, 100))
    assert ingest([str(logs)], NO_GEO, lake).ingested == 100
    append(cur, lines("gen1", 100, 30))  # written before rotation, not yet ingested
    cur.rename(logs / "cowrie.json.1")
    cur.write_bytes(lines("gen2", 0, 40))
    r = ingest([str(logs)], NO_GEO, lake)
    assert r.errors == []
    assert (r.ingested, r.duplicates, r.dead_letter) == (70, 0, 0)
    assert_exact(lake, 170)
    again = ingest([str(logs)], NO_GEO, lake)
    assert (again.ingested, again.duplicates) == (0, 0)


@pytest.mark.parametrize("compress", ["gzip", "zstd"])
def test_rotation_then_compression_resumes_without_duplicates(tmp_path: Path, compress: str) -> None:
    logs = tmp_path / "log"
    logs.mkdir()
    lake = tmp_path / "lake"
    cur = logs / "cowrie.json"
    cur.write_bytes(lines("gen1", 0, 100))
    assert ingest([str(logs)], NO_GEO, lake).ingested == 100
    append(cur, lines("gen1", 100, 30))
    rotated = logs / "cowrie.json.1"
    cur.rename(rotated)
    cur.write_bytes(lines("gen2", 0, 40))
    data = rotated.read_bytes()
    if compress == "gzip":
        (logs / "cowrie.json.1.gz").write_bytes(gzip.compress(data))
    else:
        (logs / "cowrie.json.1.zst").write_bytes(zstandard.ZstdCompressor().compress(data))
    rotated.unlink()
    r = ingest([str(logs)], NO_GEO, lake)
    assert r.errors == []
    assert (r.ingested, r.duplicates, r.dead_letter) == (70, 0, 0)
    assert_exact(lake, 170)


def test_rotated_file_ingested_then_gzipped_adds_nothing(tmp_path: Path) -> None:
    logs = tmp_path / "log"
    logs.mkdir()
    lake = tmp_path / "lake"
    cur = logs / "cowrie.json"
    cur.write_bytes(lines("gen1", 0, 100))
    ingest([str(logs)], NO_GEO, lake)
    append(cur, lines("gen1", 100, 30))
    cur.rename(logs / "cowrie.json.1")
    cur.write_bytes(lines("gen2", 0, 40))
    assert ingest([str(logs)], NO_GEO, lake).ingested == 70
    # logrotate's delaycompress: the .1 is compressed at the next rotation.
    (logs / "cowrie.json.1").rename(logs / "cowrie.json.2")
    with open(logs / "cowrie.json.2", "rb") as f_in, gzip.open(logs / "cowrie.json.2.gz", "wb") as f_out:
        shutil.copyfileobj(f_in, f_out)
    (logs / "cowrie.json.2").unlink()
    append(cur, lines("gen2", 40, 10))
    cur.rename(logs / "cowrie.json.1")
    cur.write_bytes(lines("gen3", 0, 5))
    r = ingest([str(logs)], NO_GEO, lake)
    assert (r.ingested, r.duplicates, r.dead_letter) == (15, 0, 0)
    assert_exact(lake, 185)


def test_copytruncate_gives_exact_totals(tmp_path: Path) -> None:
    logs = tmp_path / "log"
    logs.mkdir()
    lake = tmp_path / "lake"
    cur = logs / "cowrie.json"
    cur.write_bytes(lines("gen1", 0, 100))
    assert ingest([str(logs)], NO_GEO, lake).ingested == 100
    append(cur, lines("gen1", 100, 30))
    shutil.copyfile(cur, logs / "cowrie.json.1")
    with open(cur, "r+b") as f:
        f.truncate(0)
    append(cur, lines("gen2", 0, 40))
    r = ingest([str(logs)], NO_GEO, lake)
    assert r.errors == []
    assert (r.ingested, r.duplicates, r.dead_letter) == (70, 0, 0)
    assert_exact(lake, 170)
    # The truncated file keeps growing; the copy is done.
    append(cur, lines("gen2", 40, 7))
    r2 = ingest([str(logs)], NO_GEO, lake)
    assert (r2.ingested, r2.duplicates) == (7, 0)
    assert_exact(lake, 177)


def test_copytruncate_with_lines_lost_between_copy_and_truncate_is_never_double_counted(tmp_path: Path) -> None:
    """Truncated file refilled past the old offset: it is a new file (new head), read from zero."""
    logs = tmp_path / "log"
    logs.mkdir()
    lake = tmp_path / "lake"
    cur = logs / "cowrie.json"
    cur.write_bytes(lines("gen1", 0, 50))
    ingest([str(logs)], NO_GEO, lake)
    shutil.copyfile(cur, logs / "cowrie.json.1")
    with open(cur, "r+b") as f:
        f.truncate(0)
    append(cur, lines("gen2", 0, 300))  # longer than the old offset
    r = ingest([str(logs)], NO_GEO, lake)
    assert (r.ingested, r.duplicates) == (300, 0)
    assert_exact(lake, 350)


def test_truncate_and_rewrite_with_different_content(tmp_path: Path) -> None:
    src = tmp_path / "cowrie.json"
    lake = tmp_path / "lake"
    src.write_bytes(lines("old", 0, 100))
    ingest([str(src)], NO_GEO, lake)
    src.write_bytes(lines("new", 0, 60))
    r = ingest([str(src)], NO_GEO, lake)
    assert (r.ingested, r.duplicates) == (60, 0)
    assert_exact(lake, 160)


@pytest.mark.parametrize("new_lines", [10, 200], ids=["shorter-than-offset", "longer-than-offset"])
def test_rewrite_with_same_head_is_caught_by_tail_check(tmp_path: Path, new_lines: int) -> None:
    src = tmp_path / "cowrie.json"
    lake = tmp_path / "lake"
    head = lines("keep", 0, 30)
    assert len(head) > 4096  # the file identity (first 4096 bytes) is unchanged
    src.write_bytes(head + lines("old", 0, 100))
    assert ingest([str(src)], NO_GEO, lake).ingested == 130
    src.write_bytes(head + lines("new", 0, new_lines))
    r = ingest([str(src)], NO_GEO, lake)
    # Read again from the start: the kept lines are duplicates, the new ones are all taken.
    assert (r.ingested, r.duplicates, r.dead_letter) == (new_lines, 30, 0)
    assert_exact(lake, 130 + new_lines)


def test_rewrite_of_small_file_after_truncation(tmp_path: Path) -> None:
    src = tmp_path / "cowrie.json"
    lake = tmp_path / "lake"
    src.write_bytes(lines("a", 0, 5))
    ingest([str(src)], NO_GEO, lake)
    src.write_bytes(lines("a", 0, 2))  # truncated mid-way; same first bytes
    r = ingest([str(src)], NO_GEO, lake)
    assert (r.ingested, r.duplicates) == (0, 2)
    append(src, lines("b", 0, 4))
    r2 = ingest([str(src)], NO_GEO, lake)
    assert (r2.ingested, r2.duplicates) == (4, 0)
    assert_exact(lake, 9)


# --------------------------------------------------------------------------- dedup


def test_same_file_copied_under_another_name_adds_nothing(tmp_path: Path) -> None:
    src = tmp_path / "a" / "cowrie.json"
    src.parent.mkdir()
    lake = tmp_path / "lake"
    src.write_bytes(lines("c", 0, 120))
    ingest([str(src)], NO_GEO, lake)
    copy = tmp_path / "b" / "backup-of-cowrie.log"
    copy.parent.mkdir()
    shutil.copyfile(src, copy)
    r = ingest([str(copy)], NO_GEO, lake)
    assert (r.ingested, r.dead_letter, r.errors) == (0, 0, [])
    assert_exact(lake, 120)


def test_copy_read_from_scratch_is_all_duplicates(tmp_path: Path) -> None:
    src = tmp_path / "cowrie.json"
    lake = tmp_path / "lake"
    src.write_bytes(lines("c", 0, 120) + b"{bad\n")
    ingest([str(src)], cfg(4096), lake)
    (lake / "_state" / "checkpoints.json").unlink()
    copy = tmp_path / "copy.json"
    shutil.copyfile(src, copy)
    r = ingest([str(copy)], cfg(4096), lake)
    assert (r.ingested, r.duplicates) == (0, 120)
    assert_exact(lake, 120)


def test_reread_of_only_duplicates_adds_no_files(tmp_path: Path) -> None:
    """A batch whose events are all in the lake already (re-read after a kill, a copy) writes no Parquet file."""
    src = tmp_path / "cowrie.json"
    lake = tmp_path / "lake"
    src.write_bytes(lines("e", 0, 30, day=1) + lines("e", 30, 30, day=2) + lines("e", 60, 30, day=3))
    ingest([str(src)], NO_GEO, lake)
    before = sorted(p.relative_to(lake) for p in lake.rglob("events/*/*.parquet"))
    assert len(before) == 3
    (lake / "_state" / "checkpoints.json").unlink()
    r = ingest([str(src)], NO_GEO, lake)
    assert (r.ingested, r.duplicates) == (0, 90)
    after = sorted(p.relative_to(lake) for p in lake.rglob("events/*/*.parquet"))
    assert after == before
    for f in lake.rglob("events/*/*.parquet"):
        assert pq.read_metadata(f).num_rows > 0, f"empty Parquet file {f.relative_to(lake)}"


def test_duplicate_lines_within_one_batch_kept_once(tmp_path: Path) -> None:
    src = tmp_path / "cowrie.json"
    lake = tmp_path / "lake"
    block = lines("d", 0, 10)
    src.write_bytes(block + block + block)
    r = ingest([str(src)], NO_GEO, lake)
    assert (r.ingested, r.duplicates) == (10, 20)
    assert_exact(lake, 10)


# --------------------------------------------------------------------------- lake layout


def test_lake_is_hive_partitioned_and_readable_by_pyarrow(tmp_path: Path) -> None:
    src = tmp_path / "cowrie.json"
    lake = tmp_path / "lake"
    src.write_bytes(lines("h", 0, 30, day=1) + lines("h", 30, 20, day=2) + lines("h", 50, 10, day=5))
    ingest([str(src)], NO_GEO, lake)
    parts = sorted(p.name for p in (lake / "events").iterdir())
    assert parts == ["date=2024-03-01", "date=2024-03-02", "date=2024-03-05"]
    for p in (lake / "events").iterdir():
        files = list(p.iterdir())
        assert files and all(f.suffix == ".parquet" for f in files)
        for f in files:
            assert "date" not in pq.read_schema(f).names  # the partition key lives in the path only
    ds = pads.dataset(lake / "events", format="parquet", partitioning="hive")
    table = ds.to_table()
    assert table.num_rows == 60
    by_date: dict[str, int] = {}
    for d in table.column("date").to_pylist():
        by_date[str(d)] = by_date.get(str(d), 0) + 1
    assert by_date == {"2024-03-01": 30, "2024-03-02": 20, "2024-03-05": 10}
    assert len({tuple(r.values()) for r in table.drop_columns(["date"]).to_pylist()}) == 60  # all distinct
    # Nothing left in staging, state outside the table directories.
    assert not any((lake / "_staging").glob("**/*.parquet"))
    assert (lake / "_state" / "checkpoints.json").is_file()


def test_compaction_leaves_one_file_per_partition_with_exact_count(tmp_path: Path) -> None:
    src = tmp_path / "cowrie.json"
    lake = tmp_path / "lake"
    conf = cfg(compact_min_files=3)
    total = 0
    src.write_bytes(b"")
    files_after: list[int] = []
    for step in range(6):
        append(src, lines("k", step * 10, 10))
        r = ingest([str(src)], conf, lake)
        assert (r.ingested, r.duplicates) == (10, 0)
        total += 10
        files_after.append(len(Lake(lake).partition_files("events", "2024-03-01")))
    assert files_after == [1, 2, 1, 2, 1, 2]
    assert_exact(lake, total)
    append(src, lines("k", 60, 10))
    ingest([str(src)], conf, lake)
    assert len(Lake(lake).partition_files("events", "2024-03-01")) == 1
    assert_exact(lake, 70)
    # The compacted file is sorted by time.
    ts = [r[0] for r in query(lake, "SELECT ts FROM events")]
    assert ts == sorted(ts)
    # Dedup still sees the compacted events.
    (lake / "_state" / "checkpoints.json").unlink()
    r = ingest([str(src)], conf, lake)
    assert (r.ingested, r.duplicates) == (0, 70)
    assert_exact(lake, 70)


def test_compaction_only_touches_partitions_written(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    conf = cfg(compact_min_files=3)
    for day in (1, 2):
        for k in range(2):
            f = tmp_path / f"d{day}-{k}.json"
            f.write_bytes(lines(f"d{day}k{k}", 0, 5, day=day))
            ingest([str(f)], conf, lake)
    assert len(Lake(lake).partition_files("events", "2024-03-01")) == 2
    f = tmp_path / "d2-2.json"
    f.write_bytes(lines("d2k2", 0, 5, day=2))
    ingest([str(f)], conf, lake)
    assert len(Lake(lake).partition_files("events", "2024-03-02")) == 1
    assert len(Lake(lake).partition_files("events", "2024-03-01")) == 2
    assert_exact(lake, 25)


def test_checkpoint_file_is_valid_json_naming_every_file(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    paths = []
    for k in range(3):
        p = tmp_path / f"f{k}.json"
        p.write_bytes(lines(f"f{k}", 0, 10 + k))
        paths.append(p)
    ingest([str(p) for p in paths], cfg(4096), lake)
    cps = checkpoints(lake)
    by_path = {cp["path"]: cp for cp in cps}
    assert set(by_path) == {str(p) for p in paths}
    for p in paths:
        assert by_path[str(p)]["offset"] == p.stat().st_size
    leftovers = [n for n in os.listdir(lake / "_state") if n.endswith(".tmp")]
    assert leftovers == []


def test_file_and_its_copy_in_one_fresh_run_counted_once(tmp_path: Path) -> None:
    a = tmp_path / "cowrie.json"
    a.write_bytes(lines("t", 0, 80) + b"{bad\n" + lines("t", 80, 20))
    shutil.copyfile(a, tmp_path / "cowrie.json.bak")
    lake = tmp_path / "lake"
    r = ingest([str(tmp_path)], NO_GEO, lake)
    assert (r.ingested, r.duplicates, r.dead_letter) == (100, 100, 1)
    assert_exact(lake, 100)
    assert query(lake, "SELECT count(*) FROM dead_letter") == [(1,)]


# --------------------------------------------------------------------------- compressed file still being written


def _compress(kind: str, data: bytes) -> bytes:
    return gzip.compress(data) if kind == "gzip" else zstandard.ZstdCompressor().compress(data)


@pytest.mark.parametrize("batch_bytes", [4096, 256 * 1024 * 1024], ids=["small-batches", "default-batch"])
@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_compressed_file_cut_short_loses_nothing_once_complete(tmp_path: Path, kind: str, batch_bytes: int) -> None:
    """A compressed file read while cut short (damaged, or still being written) resumes exactly once whole.

    The cut is reported as damage (an error and one dead letter holding the cut-off line), not as
    pending: only a plain file can still be growing.
    """
    data = lines("z", 0, 2000)
    full = _compress(kind, data)
    src = tmp_path / f"cowrie.json.1.{'gz' if kind == 'gzip' else 'zst'}"
    lake = tmp_path / "lake"
    src.write_bytes(full[: len(full) * 2 // 3])
    r1 = ingest([str(src)], cfg(batch_bytes), lake)
    assert len(r1.errors) == 1 and "stream truncated" in r1.errors[0], r1.errors
    assert r1.pending == []
    # Whole lines before the cut are kept (about 2/3 of the file), the cut-off one is a dead letter.
    assert 1000 < r1.ingested < 2000
    assert r1.dead_letter == 1
    src.write_bytes(full)
    r2 = ingest([str(src)], cfg(batch_bytes), lake)
    assert r2.errors == []
    # Every record once: none lost at the cut, none split into two bad halves.
    assert_exact(lake, 2000)
    assert r1.ingested + r2.ingested == 2000
    assert (r2.duplicates, r2.dead_letter) == (0, 0)
    [(line, reason)] = query(lake, "SELECT line, reason FROM dead_letter")
    assert line == r1.ingested + 1 and "truncated" in reason


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_compressed_file_cut_short_is_damage_not_pending(tmp_path: Path, kind: str) -> None:
    """The unfinished rest of a cut compressed stream is reported as damage with its offset, not as pending."""
    data = lines("z", 0, 2000)
    full = _compress(kind, data)
    src = tmp_path / "cowrie.json.1.gz"
    src.write_bytes(full[: len(full) * 2 // 3])
    r = ingest([str(src)], NO_GEO, tmp_path / "lake")
    assert r.ingested < 2000
    assert r.pending == []
    assert [e.split(":")[0] for e in r.errors] == [str(src)]
    assert f"at byte {len(full) * 2 // 3}" in r.errors[0]
