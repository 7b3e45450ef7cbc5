"""Ingest of hand-written inputs: timestamp offsets, compression, paths, format detection, honeyfarm JSON lines."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import zstandard
from lakeutil import query

from honeyfarm.config import Config, GeoIPConfig
from honeyfarm.pipeline import ingest
from honeyfarm.schema import EVENT_COLUMN_NAMES

NO_GEO = Config(geoip=GeoIPConfig(enabled=False))


# --------------------------------------------------------------------------- helpers


def cowrie(session: str, ts: str, eventid: str = "cowrie.login.failed", **fields: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "eventid": eventid,
        "timestamp": ts,
        "session": session,
        "src_ip": "198.51.100.7",
        "src_port": 40000,
        "dst_ip": "10.0.0.1",
        "dst_port": 22,
        "sensor": "test-sensor",
    }
    rec.update(fields)
    return rec


def jsonl(records: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def sample_records(n: int = 50, day: str = "2024-03-01") -> list[dict[str, Any]]:
    return [
        cowrie(f"s{i:04d}", f"{day}T10:{i // 60:02d}:{i % 60:02d}.{i:06d}Z", username=f"u{i}", password=f"p{i}")
        for i in range(n)
    ]


def count(lake: Path, table: str = "events") -> int:
    return int(query(lake, f"SELECT count(*) FROM {table}")[0][0])


def all_events(lake: Path) -> list[tuple[Any, ...]]:
    cols = ", ".join(f'"{c}"' for c in EVENT_COLUMN_NAMES)
    return query(lake, f"SELECT {cols} FROM events ORDER BY ALL")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    toml = cwd / "honeyfarm-test.toml"
    if not toml.exists():
        toml.write_text("[geoip]\nenabled = false\n")
    env = {k: v for k, v in os.environ.items() if k not in ("HONEYFARM_CONFIG", "HONEYFARM_LAKE")}
    return subprocess.run(
        [sys.executable, "-m", "honeyfarm.cli", *args, "--config", str(toml)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


# --------------------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-03-01T10:00:00.123456Z", dt.datetime(2024, 3, 1, 10, 0, 0, 123456)),
        ("2024-03-01T10:00:00.123456+0000", dt.datetime(2024, 3, 1, 10, 0, 0, 123456)),
        ("2024-03-01T12:00:00.5+02:00", dt.datetime(2024, 3, 1, 10, 0, 0, 500000)),
        ("2024-03-01T00:30:00+02:00", dt.datetime(2024, 2, 29, 22, 30, 0)),
        ("2024-03-01T04:30:00.000001-0530", dt.datetime(2024, 3, 1, 10, 0, 0, 1)),
    ],
)
def test_cowrie_timestamp_offsets_converted_to_utc(tmp_path: Path, raw: str, expected: dt.datetime) -> None:
    src = tmp_path / "cowrie.json"
    src.write_bytes(jsonl([cowrie("abc", raw)]))
    r = ingest([str(src)], NO_GEO, tmp_path / "lake")
    assert (r.ingested, r.dead_letter, r.errors) == (1, 0, [])
    assert query(tmp_path / "lake", "SELECT ts, date FROM events") == [(expected, expected.date())]
    # The partition directory follows the UTC date, not the local one.
    assert (tmp_path / "lake" / "events" / f"date={expected.date().isoformat()}").is_dir()


def test_same_instant_with_z_and_plus0000_share_ts(tmp_path: Path) -> None:
    src = tmp_path / "cowrie.json"
    src.write_bytes(
        jsonl(
            [
                cowrie("a", "2018-05-24T00:07:26.106328Z"),
                cowrie("b", "2018-05-24T00:07:26.106328+0000"),
                cowrie("c", "2018-05-24T02:07:26.106328+02:00"),
            ]
        )
    )
    r = ingest([str(src)], NO_GEO, tmp_path / "lake")
    assert r.ingested == 3
    rows = query(tmp_path / "lake", "SELECT DISTINCT ts FROM events")
    assert rows == [(dt.datetime(2018, 5, 24, 0, 7, 26, 106328),)]


# --------------------------------------------------------------------------- compression


def _write_variants(folder: Path, data: bytes) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    plain = folder / "cowrie.json"
    plain.write_bytes(data)
    gz = folder / "cowrie.json.gz"
    gz.write_bytes(gzip.compress(data))
    zst = folder / "cowrie.json.zst"
    zst.write_bytes(zstandard.ZstdCompressor().compress(data))
    return {"plain": plain, "gzip": gz, "zstd": zst}


def test_gzip_and_zstd_give_the_same_events_as_plain(tmp_path: Path) -> None:
    data = jsonl(sample_records(300))
    files = _write_variants(tmp_path / "in", data)
    events = {}
    for kind, path in files.items():
        lake = tmp_path / f"lake-{kind}"
        r = ingest([str(path)], NO_GEO, lake)
        assert (r.ingested, r.duplicates, r.dead_letter, r.errors, r.pending) == (300, 0, 0, [], []), kind
        events[kind] = all_events(lake)
    assert len(events["plain"]) == 300
    assert events["gzip"] == events["plain"]
    assert events["zstd"] == events["plain"]


def test_compressed_copy_of_ingested_file_adds_nothing(tmp_path: Path) -> None:
    data = jsonl(sample_records(120))
    files = _write_variants(tmp_path / "in", data)
    lake = tmp_path / "lake"
    r = ingest([str(files["plain"])], NO_GEO, lake)
    assert r.ingested == 120
    for kind in ("gzip", "zstd"):
        again = ingest([str(files[kind])], NO_GEO, lake)
        assert again.ingested == 0, kind
        assert again.errors == []
    assert count(lake) == 120


def test_multi_member_gzip_and_multi_frame_zstd_read_whole(tmp_path: Path) -> None:
    recs = sample_records(100)
    a, b = jsonl(recs[:40]), jsonl(recs[40:])
    gz = tmp_path / "multi.json.gz"
    gz.write_bytes(gzip.compress(a) + gzip.compress(b))
    zst = tmp_path / "multi.json.zst"
    c = zstandard.ZstdCompressor()
    zst.write_bytes(c.compress(a) + c.compress(b))
    for path in (gz, zst):
        lake = tmp_path / f"lake-{path.suffix}"
        r = ingest([str(path)], NO_GEO, lake)
        assert (r.ingested, r.dead_letter, r.pending) == (100, 0, []), path.name
        assert count(lake) == 100


def test_compressed_last_line_without_newline_is_taken(tmp_path: Path) -> None:
    data = jsonl(sample_records(10)).rstrip(b"\n")
    gz = tmp_path / "nonl.json.gz"
    gz.write_bytes(gzip.compress(data))
    r = ingest([str(gz)], NO_GEO, tmp_path / "lake")
    assert (r.ingested, r.pending) == (10, [])


def test_compression_detected_by_magic_not_name(tmp_path: Path) -> None:
    data = jsonl(sample_records(20))
    odd = tmp_path / "looks-plain.json"
    odd.write_bytes(gzip.compress(data))
    r = ingest([str(odd)], NO_GEO, tmp_path / "lake")
    assert (r.ingested, r.dead_letter, r.errors) == (20, 0, [])


# --------------------------------------------------------------------------- paths


def _tree(root: Path) -> dict[str, int]:
    """A few Cowrie files in nested folders; returns name -> number of events."""
    sizes = {"a/cowrie.json": 5, "a/b/cowrie.json.1": 7, "c/cowrie.json.2.gz": 11}
    offset = 0
    for rel, n in sizes.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        recs = [cowrie(f"{rel}-{i}", f"2024-04-0{1 + i % 3}T01:02:03.{offset + i:06d}Z") for i in range(n)]
        data = jsonl(recs)
        p.write_bytes(gzip.compress(data) if rel.endswith(".gz") else data)
        offset += n
    (root / "a" / "README.md").write_text("# not a log\n")
    (root / "a" / ".hidden.json").write_bytes(jsonl([cowrie("hidden", "2024-04-01T00:00:00Z")]))
    (root / ".git").mkdir()
    (root / ".git" / "x.json").write_bytes(jsonl([cowrie("git", "2024-04-01T00:00:00Z")]))
    return sizes


def test_directory_is_walked_recursively_skipping_hidden_and_docs(tmp_path: Path) -> None:
    sizes = _tree(tmp_path / "logs")
    r = ingest([str(tmp_path / "logs")], NO_GEO, tmp_path / "lake")
    assert r.errors == []
    assert r.files == 3
    assert r.ingested == sum(sizes.values())
    sessions = {s for (s,) in query(tmp_path / "lake", "SELECT DISTINCT session FROM events")}
    assert "hidden" not in sessions and "git" not in sessions


def test_recursive_glob_selects_matching_files(tmp_path: Path) -> None:
    sizes = _tree(tmp_path / "logs")
    r = ingest([str(tmp_path / "logs" / "**" / "cowrie.json*")], NO_GEO, tmp_path / "lake")
    assert r.errors == []
    assert r.ingested == sum(sizes.values())


def test_glob_subset_and_overlapping_args_read_each_file_once(tmp_path: Path) -> None:
    sizes = _tree(tmp_path / "logs")
    logs = tmp_path / "logs"
    args = [str(logs / "a" / "*.json"), str(logs / "a" / "cowrie.json"), str(logs / "a")]
    r = ingest(args, NO_GEO, tmp_path / "lake")
    assert r.errors == []
    assert r.files == 2  # a/cowrie.json and a/b/cowrie.json.1, each once
    assert r.duplicates == 0
    assert r.ingested == sizes["a/cowrie.json"] + sizes["a/b/cowrie.json.1"]


def test_glob_without_match_is_an_error(tmp_path: Path) -> None:
    r = ingest([str(tmp_path / "nothing-*.json")], NO_GEO, tmp_path / "lake")
    assert r.ingested == 0
    assert len(r.errors) == 1 and "no file matches" in r.errors[0]


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    r = ingest([str(tmp_path / "absent.json")], NO_GEO, tmp_path / "lake")
    assert r.ingested == 0
    assert len(r.errors) == 1 and "absent.json" in r.errors[0]


def test_empty_file_is_neither_error_nor_event(tmp_path: Path) -> None:
    (tmp_path / "empty.json").write_bytes(b"")
    (tmp_path / "blank.json").write_bytes(b"\n\n  \n")
    r = ingest([str(tmp_path / "empty.json"), str(tmp_path / "blank.json")], NO_GEO, tmp_path / "lake")
    assert (r.ingested, r.dead_letter, r.errors) == (0, 0, [])


# --------------------------------------------------------------------------- format detection


def hf(eventid: str, ts: str, **fields: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {"eventid": eventid, "ts": ts}
    rec.update(fields)
    return rec


def test_formats_detected_per_file_in_one_run(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a-cowrie.json").write_bytes(jsonl(sample_records(6)))
    (tmp_path / "in" / "b-spool.jsonl").write_bytes(
        jsonl([hf("cowrie.login.failed", f"2024-03-01T00:00:0{i}Z", sensor="hf", session=f"h{i}") for i in range(4)])
    )
    r = ingest([str(tmp_path / "in")], NO_GEO, tmp_path / "lake")
    assert r.errors == []
    assert r.by_format["cowrie"].ingested == 6
    assert r.by_format["honeyfarm"].ingested == 4
    assert r.ingested == 10
    rows = dict(query(tmp_path / "lake", "SELECT source_format, count(*) FROM events GROUP BY 1"))
    assert rows == {"cowrie": 6, "honeyfarm": 4}


def test_detection_skips_leading_garbage_and_blank_lines(tmp_path: Path) -> None:
    src = tmp_path / "cowrie.json"
    src.write_bytes(b"\n   \nnot json at all\n" + jsonl(sample_records(3)))
    r = ingest([str(src)], NO_GEO, tmp_path / "lake")
    assert r.errors == []
    assert r.by_format["cowrie"].ingested == 3
    assert r.dead_letter == 1
    assert query(tmp_path / "lake", "SELECT line, reason FROM dead_letter") == [(3, "invalid JSON")]


def test_undetectable_file_reported_in_errors(tmp_path: Path) -> None:
    good = tmp_path / "cowrie.json"
    good.write_bytes(jsonl(sample_records(5)))
    bad = tmp_path / "notes.txt"
    bad.write_text("hello\nworld\n")
    other = tmp_path / "other.json"
    other.write_bytes(jsonl([{"event": "x", "time": "2024-01-01T00:00:00Z"}]))
    r = ingest([str(good), str(bad), str(other)], NO_GEO, tmp_path / "lake")
    assert r.ingested == 5
    assert len(r.errors) == 2
    assert any("notes.txt" in e and "cannot detect" in e for e in r.errors)
    assert any("other.json" in e and "cannot detect" in e for e in r.errors)
    # Nothing of an undetected file is consumed: no checkpoint, no dead letter.
    assert r.dead_letter == 0
    cps = json.loads((tmp_path / "lake" / "_state" / "checkpoints.json").read_text())["files"]
    assert [Path(c["path"]).name for c in cps] == ["cowrie.json"]


def test_force_format_reads_an_undetectable_file(tmp_path: Path) -> None:
    # First lines are not JSON objects, so detection fails; the rest is Cowrie.
    src = tmp_path / "weird.log"
    recs = sample_records(25)
    src.write_bytes(b"".join(b"[1]\n" for _ in range(20)) + jsonl(recs))
    r0 = ingest([str(src)], NO_GEO, tmp_path / "lake0")
    assert r0.ingested == 0 and len(r0.errors) == 1
    r = ingest([str(src)], NO_GEO, tmp_path / "lake", force_format="cowrie")
    assert r.errors == []
    assert r.ingested == 25
    assert r.dead_letter == 20
    assert {reason for (reason,) in query(tmp_path / "lake", "SELECT DISTINCT reason FROM dead_letter")} == {
        "not a JSON object"
    }


def test_force_wrong_format_sends_records_to_dead_letter(tmp_path: Path) -> None:
    src = tmp_path / "cowrie.json"
    src.write_bytes(jsonl(sample_records(8)))
    # (Not `honeyfarm`: a record without its `ts` now takes its delivery time instead of dead-lettering.)
    r = ingest([str(src)], NO_GEO, tmp_path / "lake", force_format="suricata")
    assert r.errors == []
    assert (r.ingested, r.dead_letter) == (0, 8)
    assert r.by_format["suricata"].dead_letter == 8
    assert query(tmp_path / "lake", "SELECT DISTINCT reason, source_format FROM dead_letter") == [
        ("missing event_type", "suricata")
    ]


def test_force_unknown_format_raises(tmp_path: Path) -> None:
    src = tmp_path / "cowrie.json"
    src.write_bytes(jsonl(sample_records(1)))
    with pytest.raises(KeyError):
        ingest([str(src)], NO_GEO, tmp_path / "lake", force_format="nope")


# --------------------------------------------------------------------------- honeyfarm JSON lines


def test_honeyfarm_format_maps_columns_and_extra(tmp_path: Path) -> None:
    recs = [
        hf(
            "cowrie.login.failed",
            "2024-05-06T07:08:09.123456Z",
            event_id=1234567890123,
            sensor="sensor-1",
            session="sess1",
            src_ip="203.0.113.9",
            src_port=51515,
            dst_ip="10.1.1.1",
            dst_port="2222",
            transport="tcp",
            protocol="ssh",
            username="root",
            password="hunter2",
            duration=1.25,
            hassh="abcdef",
            extra={"k": [1, 2], "nested": {"a": None}},
            region="eu-west-1",
            exposure="internet",
        ),
        hf("cowrie.command.input", "2024-05-06T09:08:09+02:00", sensor="sensor-1", command="uname -a"),
    ]
    src = tmp_path / "spool.jsonl"
    src.write_bytes(jsonl(recs))
    r = ingest([str(src)], NO_GEO, tmp_path / "lake")
    assert r.errors == []
    assert (r.ingested, r.dead_letter) == (2, 0)
    assert r.by_format["honeyfarm"].ingested == 2
    rows = query(
        tmp_path / "lake",
        "SELECT ts, event_id, eventid, source_format, sensor, session, src_ip, src_port, dst_ip, dst_port, "
        "transport, protocol, username, password, command, duration, hassh, extra FROM events ORDER BY eventid DESC",
    )
    first, second = rows
    # A given event_id (an export's) is not stored: the id is the stored event's natural key.
    assert isinstance(first[1], int) and first[1] != 1234567890123
    assert first[:1] + first[2:17] == (
        dt.datetime(2024, 5, 6, 7, 8, 9, 123456),
        "cowrie.login.failed",
        "honeyfarm",
        "sensor-1",
        "sess1",
        "203.0.113.9",
        51515,
        "10.1.1.1",
        2222,
        "tcp",
        "ssh",
        "root",
        "hunter2",
        None,
        1.25,
        "abcdef",
    )
    extra = json.loads(first[17])
    assert extra == {"k": [1, 2], "nested": {"a": None}, "region": "eu-west-1", "exposure": "internet"}
    assert second[0] == dt.datetime(2024, 5, 6, 7, 8, 9)
    assert second[2] == "cowrie.command.input"
    assert second[14] == "uname -a"
    assert second[1] is not None and second[1] != first[1]
    assert second[17] is None  # no extra at all


def test_honeyfarm_given_event_id_does_not_make_events_the_same(tmp_path: Path) -> None:
    """Events are identified by what they hold (the natural key), not by an id a record claims."""
    a = tmp_path / "a.jsonl"
    a.write_bytes(jsonl([hf("cowrie.session.connect", "2024-05-06T00:00:00Z", event_id=42, sensor="x")]))
    b = tmp_path / "b.jsonl"
    b.write_bytes(
        jsonl(
            [
                hf("cowrie.session.connect", "2024-05-06T00:00:01Z", event_id=42, sensor="y"),
                hf("cowrie.session.connect", "2024-05-06T00:00:00Z", event_id=7, sensor="x"),
            ]
        )
    )
    lake = tmp_path / "lake"
    assert ingest([str(a)], NO_GEO, lake).ingested == 1
    r = ingest([str(b)], NO_GEO, lake)
    assert (r.ingested, r.duplicates) == (1, 1)  # the second record of b is a's, whatever id it claims
    assert sorted(s for (s,) in query(lake, "SELECT sensor FROM events")) == ["x", "y"]


def test_honeyfarm_roundtrip_of_lake_rows(tmp_path: Path) -> None:
    """Events exported as honeyfarm JSON lines re-ingest into an identical lake."""
    src = tmp_path / "cowrie.json"
    src.write_bytes(jsonl(sample_records(30)))
    lake1 = tmp_path / "lake1"
    ingest([str(src)], NO_GEO, lake1)
    cols = [c for c in EVENT_COLUMN_NAMES]
    rows = query(lake1, f"SELECT {', '.join(cols)} FROM events ORDER BY event_id")
    out = []
    for row in rows:
        rec = dict(zip(cols, row, strict=True))
        rec["ts"] = rec["ts"].isoformat() + "Z"
        rec["extra"] = json.loads(rec["extra"]) if rec["extra"] else None
        out.append({k: v for k, v in rec.items() if v is not None})
    spool = tmp_path / "export.jsonl"
    spool.write_bytes(jsonl(out))
    lake2 = tmp_path / "lake2"
    r = ingest([str(spool)], NO_GEO, lake2)
    assert (r.ingested, r.dead_letter, r.errors) == (30, 0, [])
    assert r.by_format == {"honeyfarm": r.by_format["honeyfarm"]}
    assert all_events(lake2) == all_events(lake1)


def test_honeyfarm_bad_types_are_dead_letters(tmp_path: Path) -> None:
    src = tmp_path / "spool.jsonl"
    src.write_bytes(
        jsonl(
            [
                hf("cowrie.session.connect", "2024-05-06T00:00:00Z", src_port=1),
                hf("cowrie.session.connect", "2024-05-06T00:00:00Z", src_port="abc"),
                hf("cowrie.session.connect", "2024-05-06T00:00:00Z", extra=[1, 2]),
                hf("cowrie.session.connect", "yesterday"),
                hf("cowrie.session.connect", "2024-05-06T00:00:00Z", event_id="not-a-number"),
            ]
        )
    )
    r = ingest([str(src)], NO_GEO, tmp_path / "lake")
    assert (r.ingested, r.dead_letter) == (1, 4)
    rows = query(tmp_path / "lake", "SELECT line, reason FROM dead_letter ORDER BY line")
    assert [line for line, _ in rows] == [2, 3, 4, 5]
    reasons = [reason for _, reason in rows]
    assert reasons[0].startswith("src_port")
    assert reasons[1] == "extra: not an object"
    assert reasons[2].startswith("unparseable ts")
    assert reasons[3].startswith("event_id")


# --------------------------------------------------------------------------- CLI


def test_cli_ingest_json_output_and_exit_code(tmp_path: Path) -> None:
    src = tmp_path / "cowrie.json"
    src.write_bytes(jsonl(sample_records(12)))
    p = cli("ingest", str(src), "--lake", str(tmp_path / "lake"), "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["ingested"] == 12
    assert out["duplicates"] == 0
    assert out["dead_letter"] == 0
    assert out["by_format"] == {"cowrie": {"ingested": 12, "duplicates": 0, "dead_letter": 0}}
    assert count(tmp_path / "lake") == 12


def test_cli_undetectable_file_exits_1(tmp_path: Path) -> None:
    good = tmp_path / "cowrie.json"
    good.write_bytes(jsonl(sample_records(3)))
    bad = tmp_path / "notes.txt"
    bad.write_text("plain text\n")
    p = cli("ingest", str(good), str(bad), "--lake", str(tmp_path / "lake"), "--json", cwd=tmp_path)
    assert p.returncode == 1
    out = json.loads(p.stdout)
    assert out["ingested"] == 3
    assert any("notes.txt" in e for e in out["errors"])
    assert "notes.txt" in p.stderr


def test_cli_format_option_forces_parser(tmp_path: Path) -> None:
    src = tmp_path / "weird.log"
    src.write_bytes(b"".join(b"[1]\n" for _ in range(20)) + jsonl(sample_records(4)))
    p = cli("ingest", str(src), "--lake", str(tmp_path / "lake"), "--json", "--format", "cowrie", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert (out["ingested"], out["dead_letter"]) == (4, 20)


def test_cli_unknown_format_exits_2(tmp_path: Path) -> None:
    src = tmp_path / "cowrie.json"
    src.write_bytes(jsonl(sample_records(1)))
    p = cli("ingest", str(src), "--lake", str(tmp_path / "lake"), "--format", "nope", cwd=tmp_path)
    assert p.returncode == 2
    assert not (tmp_path / "lake" / "events").exists()


def test_result_times_each_stage_of_the_work(tmp_path: Path) -> None:
    """bench/ingest.py prints where ingest's time goes from ``IngestResult.stages``: every stage a batch
    runs through is timed, and the stages fit inside the run's wall time (nothing counted twice)."""
    (tmp_path / "a.json").write_bytes(jsonl(sample_records(200)))
    t = time.perf_counter()
    r = ingest([str(tmp_path / "a.json")], NO_GEO, tmp_path / "lake")
    wall = time.perf_counter() - t
    assert r.ingested == 200
    assert {"map", "geoip", "dedup", "write", "rollups", "commit (fsync, snapshot)", "checkpoints"} <= set(r.stages)
    assert all(v >= 0 for v in r.stages.values())
    assert sum(r.stages.values()) <= wall
    assert "stages" not in r.to_dict()  # timings are not part of the result a caller compares
