"""Ingest of the real Cowrie logs in ../shared/samples/cowrie_json (2017-2026 format drift).

The samples are read in place (read-only, never copied into the project). Every
check compares the lake against the raw JSON lines, parsed independently here.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from honeyfarm.config import Config, GeoIPConfig
from honeyfarm.lake.store import Lake
from honeyfarm.pipeline import ingest

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
COWRIE_DIR = SAMPLES / "cowrie_json"

pytestmark = pytest.mark.skipif(
    not COWRIE_DIR.is_dir(), reason=f"../shared/samples not present: {COWRIE_DIR} is missing"
)

F2017 = "scriptzteam-realtime-ssh-honeypot_2017-11-15.cowrie.json"
F2018A = "kareiva-cowrie-logs_2018-05-24.cowrie.json"
F2018B = "kareiva-cowrie-logs_2018-06-12.cowrie.json"
F2019 = "ranguli-honeylist_2019-07.cowrie.json"
F2026 = "hoanb1-cowrie-honeypot_2026-02-19.cowrie.json"
FLOCAL = "local-cowrie-3.1.4-loopback.cowrie.json"
ALL_FILES = (F2017, F2018A, F2018B, F2019, F2026, FLOCAL)

FILE_EVENTS = {"cowrie.session.file_download", "cowrie.session.file_upload", "cowrie.virustotal.scanfile"}
# Keys whose value a column carries: they must not be repeated in `extra`.
MAPPED_KEYS = {
    "timestamp", "eventid", "sensor", "session", "src_ip", "src_port", "dst_ip", "dst_port", "protocol",
    "username", "password", "input", "url", "version", "hassh", "duration", "duration_ms",
}  # fmt: skip

COLUMNS = (
    "ts", "event_id", "eventid", "source_format", "sensor", "session", "src_ip", "src_port", "dst_ip",
    "dst_port", "protocol", "username", "password", "command", "url", "sha256", "client_version", "hassh",
    "duration", "extra",
)  # fmt: skip

NO_GEO = Config(geoip=GeoIPConfig(enabled=False))


def _json_files() -> list[Path]:
    return sorted(COWRIE_DIR.glob("*.json"))


def _raw_lines(path: Path) -> list[bytes]:
    return [ln for ln in path.read_bytes().split(b"\n") if ln.strip()]


def _raw_records(name: str) -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in _raw_lines(COWRIE_DIR / name)]


def _banner(v: str | None) -> str | None:
    """1.x logs write the SSH banner as a Python bytes repr (``b'SSH-2.0-Go'``): the lake holds the text."""
    if v is not None and v[:2] in ("b'", 'b"'):
        return bytes(ast.literal_eval(v)).decode("utf-8", "replace")  # not UTF-8: \xNN escapes in the lake
    return v


def _utc_naive(ts: str) -> dt.datetime:
    t = dt.datetime.fromisoformat(ts)
    return t.astimezone(dt.UTC).replace(tzinfo=None)


def _rows(lake: Path, where: str = "true") -> list[dict[str, Any]]:
    con = Lake(lake).connect()
    try:
        rel = con.sql(f"SELECT {', '.join(COLUMNS)} FROM events WHERE {where}")
        names = rel.columns
        return [dict(zip(names, r, strict=True)) for r in rel.fetchall()]
    finally:
        con.close()


def _key(session: str | None, eventid: str, ts: dt.datetime) -> tuple[str | None, str, dt.datetime]:
    return (session, eventid, ts)


@pytest.fixture(scope="module")
def all_lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    lake = tmp_path_factory.mktemp("samples") / "lake"
    result = ingest([str(COWRIE_DIR)], NO_GEO, lake)
    return lake, result


@pytest.fixture(scope="module")
def per_file(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
    """Each sample ingested into its own lake; rows keyed by (session, eventid, ts), unique in the samples."""
    out: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
    base = tmp_path_factory.mktemp("per_file")
    for name in ALL_FILES:
        lake = base / name
        r = ingest([str(COWRIE_DIR / name)], NO_GEO, lake)
        assert r.errors == [], r.errors
        assert r.dead_letter == 0
        rows = _rows(lake)
        keyed = {_key(row["session"], row["eventid"], row["ts"]): row for row in rows}
        assert len(keyed) == len(rows), f"{name}: (session, eventid, ts) not unique in the lake"
        out[name] = keyed
    return out


def _lookup(
    per_file: dict[str, dict[tuple[Any, ...], dict[str, Any]]], name: str, rec: dict[str, Any]
) -> dict[str, Any]:
    key = _key(rec.get("session"), rec["eventid"], _utc_naive(rec["timestamp"]))
    assert key in per_file[name], f"{name}: no event for raw record {key}"
    return per_file[name][key]


# --------------------------------------------------------------------------- totals


def test_samples_present_with_expected_files() -> None:
    names = {p.name for p in _json_files()}
    assert set(ALL_FILES) <= names


def test_ingest_all_samples_one_event_per_json_line(all_lake: tuple[Path, Any]) -> None:
    lake, result = all_lake
    expected = sum(len(_raw_lines(p)) for p in _json_files())
    assert expected > 9000
    assert result.errors == []
    assert result.pending == []
    assert result.dead_letter == 0
    assert result.duplicates == 0
    assert result.ingested == expected
    assert result.by_format["cowrie"].ingested == expected
    # SOURCES.md is skipped by the directory walk: only the .json files are read.
    assert result.files == len(_json_files())
    con = Lake(lake).connect()
    try:
        assert con.sql("SELECT count(*) FROM events").fetchall() == [(expected,)]
        assert con.sql("SELECT count(*) FROM dead_letter").fetchall() == [(0,)]
    finally:
        con.close()


def test_reingest_samples_adds_nothing(all_lake: tuple[Path, Any]) -> None:
    lake, first = all_lake
    again = ingest([str(COWRIE_DIR)], NO_GEO, lake)
    assert again.errors == []
    assert again.ingested == 0
    assert again.dead_letter == 0
    con = Lake(lake).connect()
    try:
        assert con.sql("SELECT count(*) FROM events").fetchall() == [(first.ingested,)]
        assert con.sql("SELECT count(*) FROM dead_letter").fetchall() == [(0,)]
    finally:
        con.close()


def test_reingest_samples_into_fresh_checkpoints_counts_all_as_duplicates(tmp_path: Path) -> None:
    """Without checkpoints the lines are read again and every one is recognised as a duplicate."""
    lake = tmp_path / "lake"
    first = ingest([str(COWRIE_DIR)], NO_GEO, lake)
    (lake / "_state" / "checkpoints.json").unlink()
    again = ingest([str(COWRIE_DIR)], NO_GEO, lake)
    assert again.ingested == 0
    assert again.duplicates == first.ingested
    assert again.dead_letter == 0
    con = Lake(lake).connect()
    try:
        assert con.sql("SELECT count(*) FROM events").fetchall() == [(first.ingested,)]
    finally:
        con.close()


def test_event_ids_unique_and_eventids_all_cowrie(all_lake: tuple[Path, Any]) -> None:
    lake, result = all_lake
    con = Lake(lake).connect()
    try:
        [(n, distinct)] = con.sql("SELECT count(*), count(DISTINCT event_id) FROM events").fetchall()
        assert n == distinct == result.ingested
        assert con.sql("SELECT count(*) FROM events WHERE event_id IS NULL").fetchall() == [(0,)]
        eventids = {r[0] for r in con.sql("SELECT DISTINCT eventid FROM events").fetchall()}
        assert eventids, "no eventid"
        assert all(e.startswith("cowrie.") for e in eventids), eventids
        raw = {rec["eventid"] for name in ALL_FILES for rec in _raw_records(name)}
        assert eventids == raw
        assert con.sql("SELECT DISTINCT source_format FROM events").fetchall() == [("cowrie",)]
    finally:
        con.close()


def test_timestamps_are_plain_timestamp_with_microseconds(all_lake: tuple[Path, Any]) -> None:
    lake, _ = all_lake
    con = Lake(lake).connect()
    try:
        types = dict(con.sql("SELECT column_name, column_type FROM (DESCRIBE events)").fetchall())
        assert types["ts"] == "TIMESTAMP"
        got = sorted(r[0] for r in con.sql("SELECT ts FROM events").fetchall())
    finally:
        con.close()
    expected = sorted(_utc_naive(rec["timestamp"]) for name in ALL_FILES for rec in _raw_records(name))
    assert got == expected
    assert any(t.microsecond % 1000 != 0 for t in got), "sub-millisecond precision lost"


def test_partitions_follow_event_dates(all_lake: tuple[Path, Any]) -> None:
    lake, _ = all_lake
    dates = {_utc_naive(rec["timestamp"]).date().isoformat() for name in ALL_FILES for rec in _raw_records(name)}
    on_disk = {p.name.split("=", 1)[1] for p in (lake / "events").iterdir() if p.name.startswith("date=")}
    assert on_disk == dates
    con = Lake(lake).connect()
    try:
        assert con.sql("SELECT count(*) FROM events WHERE date <> ts::DATE").fetchall() == [(0,)]
    finally:
        con.close()


# --------------------------------------------------------------------------- per-file drift


@pytest.mark.parametrize("name", ALL_FILES)
def test_every_raw_record_maps_to_its_columns(per_file: dict[str, Any], name: str) -> None:
    recs = _raw_records(name)
    assert len(per_file[name]) == len(recs)
    for rec in recs:
        row = _lookup(per_file, name, rec)
        assert row["sensor"] == rec.get("sensor")
        assert row["src_ip"] == rec.get("src_ip")
        assert row["src_port"] == rec.get("src_port")
        assert row["dst_ip"] == rec.get("dst_ip")
        assert row["dst_port"] == rec.get("dst_port")
        assert row["username"] == rec.get("username")
        assert row["password"] == rec.get("password")
        assert row["command"] == rec.get("input")
        assert row["url"] == rec.get("url")
        assert row["client_version"] == _banner(rec.get("version")) or "\\x" in row["client_version"]
        if "protocol" in rec:
            assert row["protocol"] == rec["protocol"]


@pytest.mark.parametrize("name", ALL_FILES)
def test_unmapped_keys_kept_in_extra_unchanged(per_file: dict[str, Any], name: str) -> None:
    for rec in _raw_records(name):
        row = _lookup(per_file, name, rec)
        mapped = MAPPED_KEYS | ({"shasum"} if rec["eventid"] in FILE_EVENTS else set())
        want = {k: v for k, v in rec.items() if k not in mapped}
        got = json.loads(row["extra"]) if row["extra"] is not None else {}
        assert got == want, (name, rec["eventid"], rec.get("session"))


@pytest.mark.parametrize("name", [F2017, F2018A, F2018B])
def test_old_logs_hassh_computed_from_kex_lists_on_client_version(per_file: dict[str, Any], name: str) -> None:
    checked = 0
    for rec in _raw_records(name):
        if rec["eventid"] != "cowrie.client.version" or "kexAlgs" not in rec:
            continue
        assert "hassh" not in rec  # the point: old logs carry only the lists
        algs = ";".join(",".join(rec[k]) for k in ("kexAlgs", "encCS", "macCS", "compCS"))
        expected = hashlib.md5(algs.encode()).hexdigest()
        row = _lookup(per_file, name, rec)
        assert row["hassh"] == expected
        checked += 1
    assert checked > 40


def test_known_hassh_of_first_2017_client_version_line(per_file: dict[str, Any]) -> None:
    line = next(ln for ln in _raw_lines(COWRIE_DIR / F2017) if b'"cowrie.client.version"' in ln)
    rec = json.loads(line)
    algs = f"{','.join(rec['kexAlgs'])};{','.join(rec['encCS'])};{','.join(rec['macCS'])};{','.join(rec['compCS'])}"
    expected = hashlib.md5(algs.encode("utf-8")).hexdigest()
    row = _lookup(per_file, F2017, rec)
    assert row["hassh"] is not None
    assert row["hassh"] == expected


@pytest.mark.parametrize("name", [F2019, F2026, FLOCAL])
def test_given_hassh_is_kept(per_file: dict[str, Any], name: str) -> None:
    n = 0
    for rec in _raw_records(name):
        if "hassh" in rec:
            assert _lookup(per_file, name, rec)["hassh"] == rec["hassh"]
            n += 1
    assert n > 0


@pytest.mark.parametrize(
    ("name", "raw_key", "scale", "raw_type"),
    [
        (F2018A, "duration", 1.0, float),
        (F2018B, "duration", 1.0, float),
        (F2017, "duration", 1.0, float),
        (F2019, "duration", 1.0, float),
        (F2026, "duration", 1.0, str),
        (FLOCAL, "duration_ms", 1000.0, int),
    ],
)
def test_duration_lands_in_seconds(
    per_file: dict[str, Any], name: str, raw_key: str, scale: float, raw_type: type
) -> None:
    n = 0
    for rec in _raw_records(name):
        row = _lookup(per_file, name, rec)
        if raw_key in rec:
            assert isinstance(rec[raw_key], raw_type)
            assert row["duration"] == pytest.approx(float(rec[raw_key]) / scale, rel=1e-12, abs=1e-9)
            n += 1
        elif "duration" not in rec and "duration_ms" not in rec:
            assert row["duration"] is None
    assert n > 0


def test_string_duration_2_8_is_2_8_seconds(per_file: dict[str, Any]) -> None:
    recs = [r for r in _raw_records(F2026) if r.get("duration") == "2.8"]
    assert recs, 'the 2026 sample has a duration of "2.8"'
    for rec in recs:
        assert _lookup(per_file, F2026, rec)["duration"] == pytest.approx(2.8)


def test_duration_ms_2997_is_2_997_seconds(per_file: dict[str, Any]) -> None:
    recs = [r for r in _raw_records(FLOCAL) if r.get("duration_ms") == 2997]
    assert recs
    for rec in recs:
        row = _lookup(per_file, FLOCAL, rec)
        assert row["duration"] == pytest.approx(2.997)
        assert "duration_ms" not in json.loads(row["extra"])


@pytest.mark.parametrize("name", [F2017, F2018A, F2018B])
def test_system_and_iserror_end_up_in_extra(per_file: dict[str, Any], name: str) -> None:
    n = 0
    for rec in _raw_records(name):
        if "system" not in rec:
            continue
        extra = json.loads(_lookup(per_file, name, rec)["extra"])
        assert extra["system"] == rec["system"]
        assert extra["isError"] == rec["isError"]
        n += 1
    assert n > 1000


def test_protocol_derived_from_system_when_absent(per_file: dict[str, Any]) -> None:
    for rec in _raw_records(F2017):
        if "protocol" in rec or "system" not in rec:
            continue
        row = _lookup(per_file, F2017, rec)
        if "ssh" in rec["system"].lower():
            assert row["protocol"] == "ssh"


def test_session_params_message_list_stays_a_list_in_extra(per_file: dict[str, Any]) -> None:
    recs = [r for r in _raw_records(F2019) if r["eventid"] == "cowrie.session.params"]
    assert recs
    for rec in recs:
        assert rec["message"] == []
        extra = json.loads(_lookup(per_file, F2019, rec)["extra"])
        assert extra["message"] == []
        assert isinstance(extra["message"], list)


@pytest.mark.parametrize("name", ALL_FILES)
def test_sha256_only_for_file_events(per_file: dict[str, Any], name: str) -> None:
    for rec in _raw_records(name):
        row = _lookup(per_file, name, rec)
        if rec["eventid"] in FILE_EVENTS and "shasum" in rec:
            assert row["sha256"] == rec["shasum"].lower()
            assert "shasum" not in json.loads(row["extra"] or "{}")
        else:
            assert row["sha256"] is None, (rec["eventid"], row["sha256"])


def test_file_downloads_have_sha256(per_file: dict[str, Any]) -> None:
    n = 0
    for name in ALL_FILES:
        for rec in _raw_records(name):
            if rec["eventid"] == "cowrie.session.file_download":
                row = _lookup(per_file, name, rec)
                assert row["sha256"] is not None and len(row["sha256"]) == 64
                n += 1
    assert n >= 14 + 3 + 3


@pytest.mark.parametrize("name", [F2026, FLOCAL])
def test_log_closed_shasum_stays_in_extra_not_sha256(per_file: dict[str, Any], name: str) -> None:
    recs = [r for r in _raw_records(name) if r["eventid"] == "cowrie.log.closed" and "shasum" in r]
    assert recs
    for rec in recs:
        row = _lookup(per_file, name, rec)
        assert row["sha256"] is None
        assert json.loads(row["extra"])["shasum"] == rec["shasum"]
