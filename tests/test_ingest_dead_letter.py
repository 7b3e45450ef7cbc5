"""Records that cannot be parsed go to the dead_letter table with file, line, reason and raw bytes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lakeutil import query

from honeyfarm.config import Config, GeoIPConfig, IngestConfig
from honeyfarm.lake.store import Lake
from honeyfarm.pipeline import ingest

MAX_RECORD = 2048


def cfg(batch_bytes: int = 256 * 1024 * 1024, max_record_bytes: int = MAX_RECORD) -> Config:
    return Config(
        geoip=GeoIPConfig(enabled=False),
        ingest=IngestConfig(batch_bytes=batch_bytes, max_record_bytes=max_record_bytes),
    )


def good(i: int, **fields: Any) -> bytes:
    rec: dict[str, Any] = {
        "eventid": "cowrie.login.failed",
        "timestamp": f"2024-03-01T10:{(i // 60) % 60:02d}:{i % 60:02d}.{i:06d}Z",
        "session": f"good{i:05d}",
        "src_ip": "198.51.100.7",
        "src_port": 40000 + i % 1000,
        "username": "root",
        "password": f"pw{i}",
    }
    rec.update(fields)
    return json.dumps(rec).encode()


def padded(i: int, size: int) -> bytes:
    """A valid Cowrie record of exactly ``size`` bytes (without the newline)."""
    base = good(i, pad="")
    line = good(i, pad="x" * (size - len(base)))
    assert len(line) == size
    return line


def dead_rows(lake: Path) -> list[dict[str, Any]]:
    con = Lake(lake).connect()
    try:
        rel = con.sql("SELECT file, line, source_format, reason, raw, raw_size, dead_id, ingested_at FROM dead_letter")
        names = rel.columns
        rows = [dict(zip(names, r, strict=True)) for r in rel.fetchall()]
    finally:
        con.close()
    return sorted(rows, key=lambda r: (r["file"], r["line"]))


# Bad records, each with the start of the reason it must get.
BAD: list[tuple[str, bytes, str]] = [
    ("invalid_json", b'{"eventid": "cowrie.login.failed", "timestamp": ', "invalid JSON"),
    ("array", b'[{"eventid":"cowrie.login.failed","timestamp":"2024-03-01T10:00:00Z"}]', "not a JSON object"),
    ("string", b'"just a string"', "not a JSON object"),
    ("number", b"42", "not a JSON object"),
    ("missing_eventid", b'{"timestamp": "2024-03-01T10:00:00Z", "session": "x"}', "missing eventid"),
    # A record with no time at all takes its delivery time (tests/test_delivery_time.py); an empty one is bad data.
    ("empty_timestamp", b'{"eventid": "cowrie.login.failed", "timestamp": ""}', "unparseable timestamp"),
    (
        "bad_timestamp",
        b'{"eventid": "cowrie.login.failed", "timestamp": "yesterday at noon"}',
        "unparseable timestamp",
    ),
    (
        "bad_date",
        b'{"eventid": "cowrie.login.failed", "timestamp": "2024-13-45T99:00:00Z"}',
        "unparseable timestamp",
    ),
    ("src_port_abc", good(9000, src_port="abc"), "src_port"),
    ("dst_port_abc", good(9001, dst_port="22/tcp"), "dst_port"),
    ("duration_word", good(9002, duration="long"), "duration"),
    ("invalid_utf8", good(9003, username="caf\u00e9").replace(b"caf\\u00e9", b"caf\xe9"), "invalid UTF-8"),
    (
        "invalid_utf8_ff",
        b'{"eventid":"cowrie.login.failed","timestamp":"2024-03-01T10:00:00Z","x":"\xff\xfe"}',
        "invalid UTF-8",
    ),
    ("trailing_garbage", b'{"eventid":"cowrie.login.failed","timestamp":"2024-03-01T10:00:00Z"} tail', "invalid JSON"),
]


def _mixed_file(path: Path) -> tuple[list[tuple[int, str, bytes, str]], int]:
    """Good and bad lines interleaved, with blank lines; returns (bad: line, name, raw, reason), good count."""
    lines: list[bytes] = []
    bad: list[tuple[int, str, bytes, str]] = []
    n_good = 0
    for name, raw, reason in BAD:
        lines.append(good(n_good))
        n_good += 1
        lines.append(b"")  # blank
        lines.append(raw)
        bad.append((len(lines), name, raw, reason))
        lines.append(b"  \t ")  # whitespace-only, short
    lines.append(good(n_good))
    n_good += 1
    big = b"x" * 100 + padded(n_good + 100, 5000)
    lines.append(big)
    bad.append((len(lines), "oversized", big, "record longer than ingest.max_record_bytes"))
    lines.append(good(n_good))
    n_good += 1
    path.write_bytes(b"\n".join(lines) + b"\n")
    return bad, n_good


@pytest.mark.parametrize("batch_bytes", [256 * 1024 * 1024, 4096], ids=["one-batch", "many-batches"])
def test_each_bad_record_lands_in_dead_letter_with_line_reason_and_raw(tmp_path: Path, batch_bytes: int) -> None:
    src = tmp_path / "cowrie.json"
    bad, n_good = _mixed_file(src)
    lake = tmp_path / "lake"
    r = ingest([str(src)], cfg(batch_bytes), lake)
    assert r.errors == []
    assert r.ingested == n_good
    assert r.dead_letter == len(bad)
    assert r.by_format["cowrie"].dead_letter == len(bad)
    assert query(lake, "SELECT count(*) FROM events") == [(n_good,)]
    rows = dead_rows(lake)
    assert [row["line"] for row in rows] == [line for line, *_ in bad]
    for row, (_line, name, raw, reason) in zip(rows, bad, strict=True):
        assert row["file"] == str(src), name
        assert row["source_format"] == "cowrie", name
        assert row["reason"].startswith(reason), (name, row["reason"])
        if name == "oversized":
            assert row["raw"] == raw[:MAX_RECORD], name
            assert str(MAX_RECORD) in row["reason"]
        else:
            assert row["raw"] == raw, name
        assert row["raw_size"] == len(raw), name
    ids = [row["dead_id"] for row in rows]
    assert len(set(ids)) == len(ids)
    assert all(row["ingested_at"] is not None for row in rows)


def test_good_lines_next_to_bad_ones_are_all_ingested(tmp_path: Path) -> None:
    src = tmp_path / "cowrie.json"
    _, n_good = _mixed_file(src)
    lake = tmp_path / "lake"
    ingest([str(src)], cfg(), lake)
    sessions = sorted(s for (s,) in query(lake, "SELECT session FROM events"))
    assert sessions == [f"good{i:05d}" for i in range(n_good)]


@pytest.mark.parametrize("name", [b[0] for b in BAD])
def test_single_bad_record_between_good_ones(tmp_path: Path, name: str) -> None:
    raw, reason = next((raw, reason) for n, raw, reason in BAD if n == name)
    src = tmp_path / "cowrie.json"
    src.write_bytes(b"\n".join([good(1), good(2), raw, good(3)]) + b"\n")
    lake = tmp_path / "lake"
    r = ingest([str(src)], cfg(), lake)
    assert (r.ingested, r.dead_letter, r.errors) == (3, 1, [])
    [(line, got_reason, got_raw, size)] = query(lake, "SELECT line, reason, raw, raw_size FROM dead_letter")
    assert line == 3
    assert got_reason.startswith(reason)
    assert (got_raw, size) == (raw, len(raw))


def test_invalid_utf8_reason_names_the_byte(tmp_path: Path) -> None:
    raw = b'{"eventid":"cowrie.login.failed","timestamp":"2024-03-01T10:00:00Z","u":"ab\xc3"}'
    src = tmp_path / "cowrie.json"
    src.write_bytes(good(1) + b"\n" + raw + b"\n" + good(2) + b"\n")
    lake = tmp_path / "lake"
    r = ingest([str(src)], cfg(), lake)
    assert (r.ingested, r.dead_letter) == (2, 1)
    [(line, reason, got)] = query(lake, "SELECT line, reason, raw FROM dead_letter")
    assert line == 2
    bad_at = raw.index(b"\xc3")
    assert reason == f"invalid UTF-8 at byte {bad_at}"
    assert got == raw


def test_long_line_within_block_goes_to_dead_letter_capped(tmp_path: Path) -> None:
    long_line = padded(7, 3000)
    src = tmp_path / "cowrie.json"
    src.write_bytes(b"\n".join([good(1), long_line, good(2)]) + b"\n")
    lake = tmp_path / "lake"
    r = ingest([str(src)], cfg(), lake)
    assert (r.ingested, r.dead_letter) == (2, 1)
    [(line, reason, raw, size)] = query(lake, "SELECT line, reason, raw, raw_size FROM dead_letter")
    assert line == 2
    assert reason.startswith("record longer than ingest.max_record_bytes")
    assert raw == long_line[:MAX_RECORD]
    assert size == len(long_line)  # the record's size, as for every other dead letter (no line ending)


def test_line_longer_than_read_block_is_skipped_with_bounded_memory(tmp_path: Path) -> None:
    """A line longer than the whole read block takes the reader's skip path; neighbours survive."""
    huge = padded(8, 50_000)
    src = tmp_path / "cowrie.json"
    src.write_bytes(b"\n".join([good(1), huge, good(2), padded(9, 20_000), good(3)]) + b"\n")
    lake = tmp_path / "lake"
    r = ingest([str(src)], cfg(batch_bytes=4096), lake)
    assert (r.ingested, r.dead_letter, r.errors) == (3, 2, [])
    rows = query(lake, "SELECT line, raw, raw_size FROM dead_letter ORDER BY line")
    assert [(line, raw) for line, raw, _ in rows] == [(2, huge[:MAX_RECORD]), (4, padded(9, 20_000)[:MAX_RECORD])]
    assert [size for *_, size in rows] == [50_000, 20_000]
    assert sorted(s for (s,) in query(lake, "SELECT session FROM events")) == ["good00001", "good00002", "good00003"]


@pytest.mark.parametrize("size", [3000, 50_000], ids=["within-block", "longer-than-block"])
def test_oversized_crlf_record_size_excludes_line_ending(tmp_path: Path, size: int) -> None:
    big = padded(5, size)
    src = tmp_path / "cowrie.json"
    src.write_bytes(good(1) + b"\r\n" + big + b"\r\n" + good(2) + b"\r\n")
    lake = tmp_path / "lake"
    r = ingest([str(src)], cfg(batch_bytes=4096), lake)
    assert (r.ingested, r.dead_letter) == (2, 1)
    assert query(lake, "SELECT line, raw, raw_size FROM dead_letter") == [(2, big[:MAX_RECORD], size)]


def test_record_of_exactly_max_record_bytes_is_kept(tmp_path: Path) -> None:
    """``max_record_bytes`` is the longest record kept whole: the line ending is not part of the record."""
    src = tmp_path / "cowrie.json"
    src.write_bytes(padded(1, MAX_RECORD) + b"\n" + padded(2, MAX_RECORD + 1) + b"\n")
    lake = tmp_path / "lake"
    r = ingest([str(src)], cfg(), lake)
    assert r.dead_letter == 1
    assert r.ingested == 1
    assert query(lake, "SELECT line FROM dead_letter") == [(2,)]


def test_blank_lines_are_neither_events_nor_dead_letters(tmp_path: Path) -> None:
    src = tmp_path / "cowrie.json"
    src.write_bytes(b"\n" + good(1) + b"\n\n\r\n   \n\t\n" + good(2) + b"\n\n")
    lake = tmp_path / "lake"
    r = ingest([str(src)], cfg(), lake)
    assert (r.ingested, r.dead_letter, r.pending) == (2, 0, [])
    assert query(lake, "SELECT count(*) FROM dead_letter") == [(0,)]


def test_long_whitespace_only_line_is_blank_not_dead_letter(tmp_path: Path) -> None:
    src = tmp_path / "cowrie.json"
    src.write_bytes(good(1) + b"\n" + b" " * 40 + b"\n" + b"\t" * 20 + b"\n" + good(2) + b"\n")
    lake = tmp_path / "lake"
    r = ingest([str(src)], cfg(), lake)
    assert r.ingested == 2
    assert r.dead_letter == 0
    assert query(lake, "SELECT count(*) FROM dead_letter") == [(0,)]


def test_crlf_line_endings_are_not_part_of_the_record(tmp_path: Path) -> None:
    src = tmp_path / "cowrie.json"
    src.write_bytes(good(1) + b"\r\n" + b"{broken\r\n" + good(2) + b"\r\n")
    lake = tmp_path / "lake"
    r = ingest([str(src)], cfg(), lake)
    assert (r.ingested, r.dead_letter) == (2, 1)
    assert query(lake, "SELECT line, raw, raw_size FROM dead_letter") == [(2, b"{broken", 7)]
    # Same records with LF endings are the same events.
    lf = tmp_path / "lf.json"
    lf.write_bytes(good(2) + b"\n" + good(1) + b"\n")
    again = ingest([str(lf)], cfg(), lake)
    assert (again.ingested, again.duplicates) == (0, 2)


def test_reingest_same_file_adds_no_dead_letters(tmp_path: Path) -> None:
    src = tmp_path / "cowrie.json"
    bad, _ = _mixed_file(src)
    lake = tmp_path / "lake"
    ingest([str(src)], cfg(), lake)
    again = ingest([str(src)], cfg(), lake)
    assert (again.ingested, again.dead_letter, again.errors) == (0, 0, [])
    assert query(lake, "SELECT count(*) FROM dead_letter") == [(len(bad),)]


def test_reread_without_checkpoints_adds_no_dead_letters(tmp_path: Path) -> None:
    """The dead-letter id is stable: reading the same lines again (lost checkpoints) adds nothing."""
    src = tmp_path / "cowrie.json"
    bad, n_good = _mixed_file(src)
    lake = tmp_path / "lake"
    ingest([str(src)], cfg(batch_bytes=4096), lake)
    (lake / "_state" / "checkpoints.json").unlink()
    again = ingest([str(src)], cfg(batch_bytes=4096), lake)
    assert again.ingested == 0
    assert again.duplicates == n_good
    assert again.dead_letter == 0
    assert query(lake, "SELECT count(*), count(DISTINCT dead_id) FROM dead_letter") == [(len(bad), len(bad))]
    assert query(lake, "SELECT count(*) FROM events") == [(n_good,)]


def test_bad_lines_appended_later_get_their_true_line_numbers(tmp_path: Path) -> None:
    src = tmp_path / "cowrie.json"
    src.write_bytes(b"".join(good(i) + b"\n" for i in range(10)))
    lake = tmp_path / "lake"
    assert ingest([str(src)], cfg(), lake).ingested == 10
    with open(src, "ab") as f:
        f.write(good(10) + b"\n" + b"{nope\n" + good(11) + b"\n" + b"[]\n")
    r = ingest([str(src)], cfg(), lake)
    assert (r.ingested, r.duplicates, r.dead_letter) == (2, 0, 2)
    assert query(lake, "SELECT line, raw FROM dead_letter ORDER BY line") == [(12, b"{nope"), (14, b"[]")]


def test_dead_letter_of_gzip_file_counts_decompressed_lines(tmp_path: Path) -> None:
    import gzip

    src = tmp_path / "cowrie.json.gz"
    src.write_bytes(gzip.compress(b"\n".join([good(1), b"", good(2), b"oops", good(3)]) + b"\n"))
    lake = tmp_path / "lake"
    r = ingest([str(src)], cfg(), lake)
    assert (r.ingested, r.dead_letter) == (3, 1)
    assert query(lake, "SELECT file, line, raw FROM dead_letter") == [(str(src), 4, b"oops")]


def test_cli_json_output_has_the_counts(tmp_path: Path) -> None:
    src = tmp_path / "cowrie.json"
    bad, n_good = _mixed_file(src)
    toml = tmp_path / "hf.toml"
    toml.write_text(f"[geoip]\nenabled = false\n[ingest]\nmax_record_bytes = {MAX_RECORD}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("HONEYFARM_CONFIG", "HONEYFARM_LAKE")}
    p = subprocess.run(
        [sys.executable, "-m", "honeyfarm.cli", "ingest", str(src), "--lake", str(tmp_path / "lake"),
         "--config", str(toml), "--json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert {"ingested", "duplicates", "dead_letter", "by_format"} <= set(out)
    assert out["ingested"] == n_good
    assert out["duplicates"] == 0
    assert out["dead_letter"] == len(bad)
    assert out["by_format"] == {"cowrie": {"ingested": n_good, "duplicates": 0, "dead_letter": len(bad)}}
