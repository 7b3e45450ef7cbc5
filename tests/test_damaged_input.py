# SPDX-License-Identifier: MIT
"""Damaged input is never lost in silence (issue 10).

Mutated copies of the real logs in ``../shared/samples`` (built here, never
copied into the repository): gzip without its trailer or with garbage after
it, cut gzip and zstd streams, zstd followed by garbage or with a flipped
byte, a damaged Dionaea SQLite database; plus a UTF-8 byte-order mark, a full
disk (a real 2 MB tmpfs) and a followed file name renamed away by logrotate.

Every line that decodes is ingested; what does not is reported with the file,
the byte offset and the reason, on stderr and in ``dead_letter``, with exit 1.
"""

from __future__ import annotations

import gzip
import json
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
import zstandard
from lakeutil import cli_env, hf, lake_counts, query, small_tmpfs, wait_for_events

from honeyfarm.collect.dionaea_sqlite import is_dionaea_sqlite
from honeyfarm.config import Config, GeoIPConfig
from honeyfarm.pipeline import ingest

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
COWRIE = sorted((SAMPLES / "cowrie_json").glob("*.cowrie.json"))
DIONAEA = SAMPLES / "dionaea_sqlite" / "andri-x99-skripsi_2020-02.dionaea.sqlite"
needs_cowrie = pytest.mark.skipif(not COWRIE, reason=f"../shared/samples not present: {SAMPLES}/cowrie_json is missing")
needs_dionaea = pytest.mark.skipif(not DIONAEA.exists(), reason=f"../shared/samples not present: {DIONAEA} is missing")
NO_GEO = Config(geoip=GeoIPConfig(enabled=False))


# --------------------------------------------------------------------------- oracles: what zcat / zstd -d can read


def _gzip_prefix(damaged: bytes) -> bytes:
    """Everything zlib decodes from a gzip stream before it ends or breaks (what ``zcat`` prints)."""
    d = zlib.decompressobj(31)
    out = []
    for i in range(len(damaged)):
        try:
            out.append(d.decompress(damaged[i : i + 1]))
        except zlib.error:
            break
        if d.eof:
            break
    return b"".join(out)


def _zstd_prefix(damaged: bytes) -> tuple[bytes, int]:
    """What one zstd decoder fed a byte at a time gives before it ends or raises, and the byte it raised at."""
    d = zstandard.ZstdDecompressor().decompressobj()
    out = []
    for i in range(len(damaged)):
        try:
            out.append(d.decompress(damaged[i : i + 1]))
        except zstandard.ZstdError:
            return b"".join(out), i
        if d.eof:
            break
    return b"".join(out), len(damaged)


# (damaged file bytes, decodable prefix, offset of the damage, start of the reason)
Mutation = Callable[[bytes], tuple[bytes, bytes, int, str]]


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _zst(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(write_checksum=True).compress(data)


def _gzip_no_trailer(data: bytes) -> tuple[bytes, bytes, int, str]:
    damaged = _gz(data)[:-8]
    return damaged, data, len(damaged), "gzip stream truncated: missing trailer"


def _gzip_trailing_garbage(data: bytes) -> tuple[bytes, bytes, int, str]:
    gz = _gz(data)
    return gz + b"GARBAGE\x01\x02\n", data, len(gz), "trailing garbage after the last gzip member"


def _gzip_cut(data: bytes) -> tuple[bytes, bytes, int, str]:
    damaged = _gz(data)[: len(_gz(data)) * 2 // 3]
    return damaged, _gzip_prefix(damaged), len(damaged), "gzip stream truncated: deflate data cut short"


def _gzip_flipped(data: bytes) -> tuple[bytes, bytes, int, str]:
    flipped = bytearray(_gz(data))
    flipped[len(flipped) // 2] ^= 0xFF
    # Deflate has no per-block check: a flipped byte is caught by a decoding error or, at the end, by
    # the CRC; the offset depends on which (-1: not compared), the lines are zcat's either way.
    return bytes(flipped), _gzip_prefix(bytes(flipped)), -1, "gzip "


def _zstd_trailing_garbage(data: bytes) -> tuple[bytes, bytes, int, str]:
    zs = _zst(data)
    return zs + b"GARBAGE!", data, len(zs), "trailing garbage after the last zstd frame"


def _zstd_cut(data: bytes) -> tuple[bytes, bytes, int, str]:
    damaged = _zst(data)[: len(_zst(data)) * 2 // 3]
    return damaged, _zstd_prefix(damaged)[0], len(damaged), "zstd stream truncated: frame cut short"


def _zstd_flipped(data: bytes) -> tuple[bytes, bytes, int, str]:
    flipped = bytearray(_zst(data))
    flipped[len(flipped) // 2] ^= 0xFF
    prefix, at = _zstd_prefix(bytes(flipped))
    return bytes(flipped), prefix, at, "zstd data corrupt"


MUTATIONS: dict[str, Mutation] = {
    "gzip-no-trailer": _gzip_no_trailer,
    "gzip-trailing-garbage": _gzip_trailing_garbage,
    "gzip-cut": _gzip_cut,
    "gzip-flipped-byte": _gzip_flipped,
    "zstd-trailing-garbage": _zstd_trailing_garbage,
    "zstd-cut": _zstd_cut,
    "zstd-flipped-byte": _zstd_flipped,
}


@needs_cowrie
@pytest.mark.parametrize("name", list(MUTATIONS))
def test_every_decodable_line_is_ingested_and_the_damage_reported(tmp_path: Path, name: str) -> None:
    damaged_dir, plain_dir = tmp_path / "damaged", tmp_path / "plain"
    damaged_dir.mkdir()
    plain_dir.mkdir()
    expect: dict[str, tuple[int, str, bytes]] = {}  # file -> (offset, reason, cut-off line)
    for src in COWRIE:
        damaged, prefix, offset, reason = MUTATIONS[name](src.read_bytes())
        path = damaged_dir / f"{src.name}.{'gz' if name.startswith('gzip') else 'zst'}"
        path.write_bytes(damaged)
        whole = prefix[: prefix.rfind(b"\n") + 1]
        # The same lines as a plain file: what the damaged file must give, line for line.
        (plain_dir / src.name).write_bytes(whole)
        expect[str(path)] = (offset, reason, prefix[len(whole) :])
        if name.startswith("gzip") and shutil.which("zcat"):
            assert subprocess.run(["zcat", str(path)], capture_output=True).stdout == prefix  # the oracle is zcat's
    base = ingest([str(plain_dir)], NO_GEO, tmp_path / "base")
    assert base.errors == [] and base.ingested > 0

    lake = tmp_path / "lake"
    r = ingest([str(damaged_dir)], NO_GEO, lake)
    assert r.pending == []  # a compressed file is never "still being written"
    assert (r.ingested, r.dead_letter) == (base.ingested, base.dead_letter + len(COWRIE))
    assert len(r.errors) == len(COWRIE)
    for err in r.errors:
        file = err.split(": ", 1)[0]
        offset, reason, _ = expect[file]
        assert err.startswith(f"{file}: {reason}"), err
        assert f"at byte {offset};" in err or offset == -1, err
    damage = "reason LIKE 'gzip %' OR reason LIKE 'zstd %' OR reason LIKE 'trailing garbage %'"
    rows = query(lake, f"SELECT file, reason, raw FROM dead_letter WHERE {damage}")
    assert sorted(f for f, _, _ in rows) == sorted(expect)  # one per damaged file
    for file, reason, raw in rows:
        offset, why, fragment = expect[file]
        assert reason.startswith(why)
        assert reason.endswith(f" at byte {offset}") or offset == -1  # corrupt: "(the decoder's message)" before it
        assert raw == fragment  # a line cut by the damage is kept here, not lost
    assert query(lake, "SELECT count(*) FROM events") == query(tmp_path / "base", "SELECT count(*) FROM events")

    # A second run adds nothing, duplicates nothing, and still says the files are damaged.
    again = ingest([str(damaged_dir)], NO_GEO, lake)
    assert (again.ingested, again.duplicates, again.dead_letter) == (0, 0, 0)
    assert sorted(again.errors) == sorted(r.errors)
    assert query(lake, "SELECT count(*) FROM dead_letter") == [(base.dead_letter + len(COWRIE),)]


@needs_cowrie
def test_cli_exits_non_zero_with_one_line_per_damaged_file(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    data = COWRIE[0].read_bytes()
    gz = _gz(data)
    (logs / "a.json.gz").write_bytes(gz[:-8])
    (logs / "b.json.zst").write_bytes(_zst(data) + b"GARBAGE!")
    p = hf("ingest", str(logs), "--lake", str(tmp_path / "lake"), cwd=tmp_path, env=cli_env(COLUMNS="60"))
    assert p.returncode == 1, p.stderr
    assert "Traceback" not in p.stderr
    n = data.count(b"\n")
    assert p.stderr.strip().splitlines() == [
        f"error: {logs / 'a.json.gz'}: gzip stream truncated: missing trailer at byte {len(gz) - 8}; "
        f"read the {n:,} lines before it",
        f"error: {logs / 'b.json.zst'}: trailing garbage after the last zstd frame at byte {len(_zst(data))}; "
        f"read the {n:,} lines before it",
    ]
    assert "waiting" not in p.stderr


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_complete_compressed_file_without_final_newline_ingests_its_last_line(tmp_path: Path, kind: str) -> None:
    lines = [_event(i) for i in range(50)]
    data = b"\n".join(lines)  # no newline after the last record: it cannot grow, so it is whole
    src = tmp_path / ("c.json.gz" if kind == "gzip" else "c.json.zst")
    src.write_bytes(_gz(data) if kind == "gzip" else _zst(data))
    r = ingest([str(src)], NO_GEO, tmp_path / "lake")
    assert (r.ingested, r.dead_letter, r.errors, r.pending) == (50, 0, [], [])


def test_stream_that_decodes_nothing_is_reported_not_skipped(tmp_path: Path) -> None:
    src = tmp_path / "broken.json.zst"
    src.write_bytes(b"\x28\xb5\x2f\xfd" + b"\xff" * 200)  # a zstd magic, then nothing that decodes
    r = ingest([str(src)], NO_GEO, tmp_path / "lake")
    assert r.ingested == 0 and r.dead_letter == 1
    [err] = r.errors
    assert err.startswith(f"{src}: zstd data corrupt") and " at byte " in err


# --------------------------------------------------------------------------- byte-order mark


def _event(i: int, password: str = "") -> bytes:
    return json.dumps(
        {
            "eventid": "cowrie.login.failed",
            "timestamp": f"2026-11-20T10:{i // 60 % 60:02d}:{i % 60:02d}.{i:06d}Z",
            "session": f"s{i:08x}",
            "src_ip": "198.51.100.9",
            "username": "root",
            "password": password or f"pw-{i}",
        }
    ).encode()


@pytest.mark.parametrize("kind", ["plain", "gzip"])
def test_utf8_bom_is_stripped_and_the_first_record_ingested(tmp_path: Path, kind: str) -> None:
    data = b"\xef\xbb\xbf" + b"".join(_event(i) + b"\n" for i in range(10))
    src = tmp_path / ("bom.json" if kind == "plain" else "bom.json.gz")
    src.write_bytes(data if kind == "plain" else _gz(data))
    lake = tmp_path / "lake"
    r = ingest([str(src)], NO_GEO, lake)
    assert (r.ingested, r.dead_letter, r.errors) == (10, 0, [])
    assert query(lake, "SELECT count(*) FROM events WHERE session = 's00000000'") == [(1,)]
    if kind == "plain":  # the checkpoint counts the mark: an appended line resumes exactly
        with src.open("ab") as f:
            f.write(_event(10) + b"\n")
        r2 = ingest([str(src)], NO_GEO, lake)
        assert (r2.ingested, r2.duplicates, r2.dead_letter) == (1, 0, 0)


# --------------------------------------------------------------------------- damaged Dionaea SQLite


def _damage_page(src: Path, dst: Path, page: int, data: bytes | None = None) -> None:
    shutil.copy(src, dst)
    size = sqlite3.connect(src).execute("PRAGMA page_size").fetchone()[0]
    with dst.open("r+b") as f:
        f.seek((page - 1) * size)
        f.write(data if data is not None else b"\xa5" * size)


def _leaf_page(db: Path, table: str, nth: int) -> int:
    con = sqlite3.connect(db)
    try:
        pages = [r[0] for r in con.execute("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf'", (table,))]
    except sqlite3.OperationalError:
        pytest.skip("this SQLite has no dbstat table to find a leaf page")
    finally:
        con.close()
    return int(pages[nth])


def _readable_connections(db: Path) -> set[int]:
    """Connections a lookup by id can read (the oracle: every one of them must be ingested)."""
    con = sqlite3.connect(db)
    ok = set()
    for i in range(1, 519):
        try:
            if con.execute("SELECT connection FROM connections WHERE rowid = ?", (i,)).fetchone():
                ok.add(i)
        except sqlite3.DatabaseError:
            pass
    return ok


@needs_dionaea
def test_damaged_dionaea_database_is_salvaged_and_reported(tmp_path: Path) -> None:
    db, pristine = tmp_path / "dionaea.sqlite", tmp_path / "pristine.sqlite"
    shutil.copy(DIONAEA, pristine)
    _damage_page(pristine, db, _leaf_page(pristine, "connections", 3))
    readable = _readable_connections(db)
    assert 400 < len(readable) < 518
    assert is_dionaea_sqlite(db)
    p = hf("ingest", str(db), "--lake", "lake", cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    assert "Traceback" not in p.stderr
    [line] = p.stderr.strip().splitlines()
    missing = 518 - len(readable)
    assert line.startswith(f"error: damaged SQLite database: {db}: table connections: {missing:,} rows from rowid ")
    assert "unreadable (database disk image is malformed)" in line
    conns = query(tmp_path / "lake", "SELECT count(*) FROM events WHERE eventid LIKE 'dionaea.connection.%'")
    assert conns == [(len(readable),)]  # every connection a lookup can read, and no other
    dead = query(tmp_path / "lake", "SELECT file, source_format, reason FROM dead_letter")
    assert [(f, fmt) for f, fmt, _ in dead] == [(str(db), "dionaea_sqlite")]
    assert dead[0][2].startswith(f"table connections: {missing:,} rows from rowid")
    # A second run: nothing new, nothing twice, still reported.
    p2 = hf("ingest", str(db), "--lake", "lake", "--json", cwd=tmp_path)
    assert p2.returncode == 1
    out = json.loads(p2.stdout)
    assert (out["ingested"], out["dead_letter"], len(out["errors"])) == (0, 0, 1)


@needs_dionaea
def test_database_whose_schema_does_not_read_is_one_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "dionaea.sqlite"
    header = DIONAEA.read_bytes()[:100]
    _damage_page(DIONAEA, db, 1, header + os.urandom(4096 - 100))  # the schema page, its header kept
    assert is_dionaea_sqlite(db) is False  # never raises
    p = hf("ingest", str(db), "--lake", "lake", cwd=tmp_path)
    assert p.returncode == 1
    assert "Traceback" not in p.stderr and "cannot detect the format" not in p.stderr
    [line] = p.stderr.strip().splitlines()
    assert line.startswith(f"error: damaged SQLite database: {db}: ") and line.endswith("; nothing could be read")


def test_is_dionaea_sqlite_never_raises_on_garbage(tmp_path: Path) -> None:
    for i, body in enumerate([b"", b"\xff" * 50, os.urandom(4096), b"\x00" * 8192]):
        f = tmp_path / f"g{i}.sqlite"
        f.write_bytes(b"SQLite format 3\x00" + body)
        assert is_dionaea_sqlite(f) is False


# --------------------------------------------------------------------------- full disk


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 2 MB tmpfs (needs root); unmounted afterwards."""
    with small_tmpfs(tmp_path / "disk", "2m") as disk:
        yield disk


def test_full_disk_is_one_line_and_a_rerun_loses_nothing(tmp_path: Path, small_disk: Path) -> None:
    n = 60_000
    src = tmp_path / "cowrie.json"
    # Random passwords: the events do not compress to less than the 2 MB disk.
    src.write_bytes(b"".join(_event(i, secrets.token_hex(24)) + b"\n" for i in range(n)))
    lake = small_disk / "lake"
    env = cli_env(COLUMNS="60")
    p = hf("ingest", str(src), "--lake", str(lake), cwd=tmp_path, env=env)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "Traceback" not in p.stderr
    assert p.stderr.strip().splitlines() == [
        f"honeyfarm ingest: no space left on device writing {lake}; nothing from this batch was committed "
        "(checkpoints unchanged); free space and re-run"
    ]
    assert not list((lake / "_staging").rglob("*.parquet")), "staged files are cleaned up"
    subprocess.run(["mount", "-o", "remount,size=256m", str(small_disk)], check=True)
    p2 = hf("ingest", str(src), "--lake", str(lake), "--json", cwd=tmp_path, env=env)
    assert p2.returncode == 0, p2.stderr
    assert query(lake, "SELECT count(*), count(DISTINCT password) FROM events") == [(n, n)]


# --------------------------------------------------------------------------- following one file name


def test_following_one_name_drains_the_renamed_file_first(tmp_path: Path) -> None:
    """logrotate renames the live file while the writer (which holds it open) keeps writing into it."""
    logs = tmp_path / "logs"
    logs.mkdir()
    live = logs / "cowrie.json"
    lake = tmp_path / "lake"
    i = 0

    def write(fh: BinaryIO, k: int) -> None:
        nonlocal i
        for _ in range(k):
            fh.write(_event(i) + b"\n")
            i += 1
        fh.flush()

    writer = live.open("ab")
    write(writer, 300)
    cmd = [sys.executable, "-m", "honeyfarm.cli", "ingest", str(live), "--lake", str(lake), "--follow"]
    proc = subprocess.Popen([*cmd, "--interval", "0.3"], env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for_events(lake, 300, proc)
        for rotation in (1, 2):
            write(writer, 200)
            live.rename(logs / f"cowrie.json.{rotation}")
            write(writer, 100)  # still into the old file, under its new name
            writer.close()
            writer = live.open("ab")  # the writer reopens the name: a new file
            write(writer, 150)
            wait_for_events(lake, i, proc)
        time.sleep(1.0)  # a few more polls: nothing more may arrive
    finally:
        writer.close()
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert i == 300 + 2 * 450
    assert lake_counts(lake) == (i, i)  # every line once: none lost in the renamed file, none twice
    assert query(lake, "SELECT count(*) FROM dead_letter") == [(0,)]
