# SPDX-License-Identifier: MIT
"""Suricata EVE and Dionaea ``log_json`` formats: real samples and hand-written drift.

The samples in ../shared/samples/{suricata_eve,dionaea_json} are read in place
(never copied into the project); every count is computed here from the raw
lines, independently of the parser. The formats are registered for these tests
only (the permanent registration is one line in ``honeyfarm.formats``).
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from lakeutil import query

import honeyfarm.formats
from honeyfarm.analysis.panels import Filters, top_credentials
from honeyfarm.collect.files import first_lines, read_head
from honeyfarm.config import Config, GeoIPConfig
from honeyfarm.formats import detect_format
from honeyfarm.formats.cowrie import CowrieFormat
from honeyfarm.formats.dionaea import DionaeaJsonFormat
from honeyfarm.formats.honeyfarm import HoneyfarmFormat
from honeyfarm.formats.suricata import EVENT_TYPES, SuricataFormat
from honeyfarm.lake.store import Lake
from honeyfarm.pipeline import ingest

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
SURICATA_DIR = SAMPLES / "suricata_eve"
DIONAEA_DIR = SAMPLES / "dionaea_json"
needs_samples = pytest.mark.skipif(
    not (SURICATA_DIR.is_dir() and DIONAEA_DIR.is_dir()),
    reason=f"../shared/samples not present: {SURICATA_DIR} or {DIONAEA_DIR} is missing",
)

S_OISF = "oisf-suricata-pr-commit-26a62aea_2025-10-09.eve.json"
S_2017 = "surevego-testdata_2017-01-30.eve.json"
S_BROKEN = "surevego-testdata_eve_broken.json"
S_TPOT = "tharshithgoud-Vikrant-tpot_2023-02-03.eve.json"
S_CLEAN = (S_OISF, S_2017, S_TPOT)
D_HARY = "hary654321-dionaea_2024-05.dionaea.json"

NO_GEO = Config(geoip=GeoIPConfig(enabled=False))
EVENTID_RE = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)+$")
# Top-level Suricata keys a column always carries (never repeated in `extra`).
SURICATA_MAPPED = {"timestamp", "flow_id", "src_ip", "src_port", "dest_ip", "dest_port", "proto"}


@pytest.fixture(autouse=True)
def _register(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(honeyfarm.formats.FORMATS, "suricata", SuricataFormat())
    monkeypatch.setitem(honeyfarm.formats.FORMATS, "dionaea", DionaeaJsonFormat())


# --------------------------------------------------------------------------- helpers


def _utc(ts: str) -> dt.datetime:
    t = dt.datetime.fromisoformat(ts)
    return t.astimezone(dt.UTC).replace(tzinfo=None) if t.tzinfo else t


def _good(path: Path) -> list[tuple[int, bytes, dict[str, Any]]]:
    """(line number, raw line, record) of every JSON-object line with a parseable timestamp."""
    out = []
    for no, raw in enumerate(path.read_bytes().split(b"\n"), 1):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw)
            _utc(rec["timestamp"])
        except (ValueError, KeyError, TypeError):
            continue
        if isinstance(rec, dict):
            out.append((no, raw, rec))
    return out


def _bad_lines(path: Path) -> list[int]:
    good = {no for no, _, _ in _good(path)}
    lines = path.read_bytes().split(b"\n")
    return [no for no, raw in enumerate(lines, 1) if raw.strip() and no not in good]


def _distinct(path: Path) -> int:
    return len({raw.rstrip(b"\r") for _, raw, _ in _good(path)})


def _events(lake: Path, where: str = "true") -> list[dict[str, Any]]:
    from honeyfarm.lake.store import Lake

    con = Lake(lake).connect()
    try:
        rel = con.sql(f"SELECT * FROM events WHERE {where}")
        return [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]
    finally:
        con.close()


def _one(lake: Path, where: str) -> dict[str, Any]:
    rows = _events(lake, where)
    assert len(rows) == 1, rows
    return rows[0]


def _jsonl(records: list[Any]) -> bytes:
    return b"".join((r if isinstance(r, str) else json.dumps(r)).encode() + b"\n" for r in records)


# --------------------------------------------------------------------------- Suricata samples


@needs_samples
@pytest.mark.parametrize("name", S_CLEAN)
def test_suricata_clean_sample_every_record_one_event(tmp_path: Path, name: str) -> None:
    path = SURICATA_DIR / name
    good = _good(path)
    assert len(good) == len([ln for ln in path.read_bytes().split(b"\n") if ln.strip()])  # clean: all good
    r = ingest([str(path)], NO_GEO, tmp_path / "lake")
    # Identical lines (the 2017 capture repeats two DNS answers byte for byte) are one event.
    assert (r.ingested, r.duplicates, r.dead_letter, r.errors) == (_distinct(path), len(good) - _distinct(path), 0, [])
    assert set(r.by_format) == {"suricata"}
    by_type = collections.Counter(rec["event_type"] for rec in {raw: rec for _, raw, rec in good}.values())
    got = dict(query(tmp_path / "lake", "SELECT eventid, count(*) FROM events GROUP BY 1"))
    assert got == {f"suricata.{t}": n for t, n in by_type.items()}
    assert query(tmp_path / "lake", "SELECT count(*) FROM dead_letter") == [(0,)]
    assert query(tmp_path / "lake", "SELECT DISTINCT source_format FROM events") == [("suricata",)]


@needs_samples
@pytest.mark.parametrize("name", S_CLEAN)
def test_suricata_columns_and_extra_match_raw_records(tmp_path: Path, name: str) -> None:
    path = SURICATA_DIR / name
    ingest([str(path)], NO_GEO, tmp_path / "lake")
    expected: collections.Counter[tuple[Any, ...]] = collections.Counter()
    expected_extra: collections.Counter[str | None] = collections.Counter()
    for rec in {raw: rec for _, raw, rec in _good(path)}.values():  # identical lines are one event
        expected[
            (
                _utc(rec["timestamp"]),
                f"suricata.{rec['event_type']}",
                str(rec["flow_id"]) if "flow_id" in rec else None,
                rec.get("src_ip"),
                rec.get("src_port"),
                rec.get("dest_ip"),
                rec.get("dest_port"),
                rec["proto"].lower() if "proto" in rec else None,
            )
        ] += 1
        drop = set(SURICATA_MAPPED) | {"event_type", "host"}
        if rec.get("app_proto") not in (None, "failed"):
            drop.add("app_proto")
        extra = {k: v for k, v in rec.items() if k not in drop}
        expected_extra[json.dumps(extra, sort_keys=True) if extra else None] += 1
    rows = _events(tmp_path / "lake")
    got = collections.Counter(
        (e["ts"], e["eventid"], e["session"], e["src_ip"], e["src_port"], e["dst_ip"], e["dst_port"], e["transport"])
        for e in rows
    )
    assert got == expected
    got_extra = collections.Counter(
        json.dumps(json.loads(e["extra"]), sort_keys=True) if e["extra"] else None for e in rows
    )
    assert got_extra == expected_extra


@needs_samples
def test_suricata_broken_sample_bad_lines_dead_good_lines_ingested(tmp_path: Path) -> None:
    path = SURICATA_DIR / S_BROKEN
    bad = _bad_lines(path)
    assert len(bad) == 7  # the surevego authors' corruptions (blank lines are not records)
    r = ingest([str(path)], NO_GEO, tmp_path / "lake")
    assert (r.ingested, r.dead_letter, r.errors) == (_distinct(path), len(bad), [])
    rows = query(tmp_path / "lake", "SELECT line, reason, source_format FROM dead_letter ORDER BY line")
    assert [line for line, _, _ in rows] == bad
    assert all(reason and fmt == "suricata" for _, reason, fmt in rows)
    reasons = {line: reason for line, reason, _ in rows}
    assert reasons[1] == "invalid JSON"  # tab-separated garbage
    assert reasons[2].startswith("unparseable timestamp: 2017-01-30T16:12:26.985026+0100asloefbnjhowebfg")
    assert reasons[4] == "invalid JSON"  # "timestamp":""2017-...""
    assert reasons[5] == "invalid JSON"  # unquoted timestamp
    # Good lines of the broken file map to the same events as in the clean capture.
    ingest([str(SURICATA_DIR / S_2017)], NO_GEO, tmp_path / "clean")
    broken_ids = {e for (e,) in query(tmp_path / "lake", "SELECT event_id FROM events")}
    clean_ids = {e for (e,) in query(tmp_path / "clean", "SELECT event_id FROM events")}
    assert broken_ids <= clean_ids


@needs_samples
def test_reingest_of_all_samples_adds_nothing(tmp_path: Path) -> None:
    files = [str(SURICATA_DIR / n) for n in (*S_CLEAN, S_BROKEN)] + [str(DIONAEA_DIR / D_HARY)]
    lake = tmp_path / "lake"
    first = ingest(files, NO_GEO, lake)
    assert first.errors == []
    assert set(first.by_format) == {"suricata", "dionaea"}
    counts = query(lake, "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM dead_letter)")
    # The same lines in new files (reversed, so no checkpoint matches and every line is read again):
    # each is known by its event id and dropped.
    suricata = [ln for f in files[:-1] for ln in Path(f).read_bytes().split(b"\n")]
    dionaea = Path(files[-1]).read_bytes().split(b"\n")
    (tmp_path / "eve-reversed.json").write_bytes(b"\n".join(reversed(suricata)) + b"\n")
    (tmp_path / "dionaea-reversed.json").write_bytes(b"\n".join(reversed(dionaea)) + b"\n")
    again = ingest([str(tmp_path / "eve-reversed.json"), str(tmp_path / "dionaea-reversed.json")], NO_GEO, lake)
    assert (again.ingested, again.errors) == (0, [])
    assert again.duplicates == first.ingested + first.duplicates
    assert query(lake, "SELECT count(*) FROM events") == [(counts[0][0],)]
    assert ingest(files, NO_GEO, lake).ingested == 0


@needs_samples
def test_suricata_chosen_records(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest([str(SURICATA_DIR / n) for n in S_CLEAN], NO_GEO, lake)
    # T-Pot http record: ports, url from hostname + path, user agent.
    e = _one(lake, "eventid = 'suricata.http' AND ts = '2023-02-03 03:10:44.198918'")
    assert (e["src_ip"], e["src_port"], e["dst_ip"], e["dst_port"]) == ("172.17.0.2", 58726, "185.125.190.39", 80)
    assert (e["transport"], e["protocol"], e["session"]) == ("tcp", "http", "995669975472019")
    assert e["url"] == "http://ports.ubuntu.com/ubuntu-ports/dists/jammy/InRelease"
    assert e["client_version"] == "Debian APT-HTTP/1.3 (2.4.8)"
    assert json.loads(e["extra"])["http"]["http_method"] == "GET"
    # 2017 capture: +0100 offset normalised to UTC.
    e = _one(lake, "eventid = 'suricata.stats'")
    assert e["ts"] == dt.datetime(2017, 1, 30, 15, 14, 11, 442531)
    assert (e["src_ip"], e["src_port"], e["session"], e["transport"]) == (None, None, None, None)
    assert json.loads(e["extra"])["stats"]["uptime"] == 1
    # app_proto "failed" is not a protocol: kept in extra.
    rows = _events(lake, "eventid = 'suricata.flow' AND extra LIKE '%\"app_proto\":\"failed\"%'")
    assert len(rows) == 2 and all(r["protocol"] is None and r["transport"] == "udp" for r in rows)
    # Suricata 8 tls record upgraded from an HTTP CONNECT: protocol from the record type.
    e = _one(lake, "eventid = 'suricata.tls' AND ts = '2025-10-09 11:20:22.749582'")
    assert (e["protocol"], e["dst_port"]) == ("tls", 3128)
    assert json.loads(e["extra"])["tls"] == {"from_proto": "http"}
    # CONNECT requests: the authority is kept as-is.
    assert query(lake, "SELECT count(*) FROM events WHERE url = 'registry-1.docker.io:443'")[0][0] > 0
    # Alert: signature in extra; fileinfo md5 stays in extra.
    e = _one(lake, "eventid = 'suricata.alert' AND ts = '2025-10-09 11:15:05.897792'")
    assert json.loads(e["extra"])["alert"]["signature"] == "SURICATA HTTP invalid response chunk len"
    assert (e["src_port"], e["dst_port"], e["protocol"]) == (2376, 34178, "http")
    md5s = query(lake, "SELECT count(*) FROM events WHERE extra->>'$.fileinfo.md5' IS NOT NULL")[0][0]
    assert md5s == 43


# --------------------------------------------------------------------------- Suricata drift (hand-written)


def _eve(event_type: str, ts: str = "2024-03-01T10:00:00.000001+0000", **fields: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "timestamp": ts,
        "flow_id": 1234567890123456,
        "event_type": event_type,
        "src_ip": "198.51.100.7",
        "src_port": 40000,
        "dest_ip": "10.0.0.1",
        "dest_port": 22,
        "proto": "TCP",
    }
    rec.update(fields)
    return rec


def test_suricata_ssh_fileinfo_unknown_type_and_mapped_ipv6(tmp_path: Path) -> None:
    ssh = {
        "client": {
            "proto_version": "2.0",
            "software_version": "libssh_0.9.6",
            "hassh": {"hash": "ec7378c1a92f5a8dde7e8b7a1ddf33d1", "string": "x"},
        },
        "server": {"proto_version": "2.0", "software_version": "OpenSSH_8.9"},
    }
    fileinfo = {"filename": "/x.sh", "sha256": "AB" * 32, "md5": "cd" * 16, "size": 3}
    src = tmp_path / "eve.json"
    src.write_bytes(
        _jsonl(
            [
                _eve("ssh", "2024-03-01T04:30:00.5-0530", ssh=ssh, src_ip="::ffff:203.0.113.9", host="sensor-1"),
                "",
                "   ",
                _eve("fileinfo", app_proto="http", fileinfo=fileinfo, http={"hostname": "h", "url": "/x.sh"}),
                _eve("newthing", app_proto="failed", newthing={"a": 1}),
                _eve("http", http={"hostname": "h", "http_port": 8080, "url": "/a?b"}, dest_port=8080),
            ]
        )
    )
    r = ingest([str(src)], NO_GEO, tmp_path / "lake")
    assert (r.ingested, r.dead_letter, r.errors) == (4, 0, [])  # blank lines are not records
    lake = tmp_path / "lake"
    e = _one(lake, "eventid = 'suricata.ssh'")
    assert e["ts"] == dt.datetime(2024, 3, 1, 10, 0, 0, 500000)
    assert (e["src_ip"], e["sensor"], e["protocol"]) == ("203.0.113.9", "sensor-1", "ssh")
    assert e["client_version"] == "SSH-2.0-libssh_0.9.6"
    assert e["hassh"] == "ec7378c1a92f5a8dde7e8b7a1ddf33d1"
    assert e["username"] is None and e["password"] is None
    assert "host" not in json.loads(e["extra"]) and "event_type" not in json.loads(e["extra"])
    e = _one(lake, "eventid = 'suricata.fileinfo'")
    assert e["sha256"] == "ab" * 32
    assert json.loads(e["extra"])["fileinfo"]["md5"] == "cd" * 16
    assert e["url"] == "http://h/x.sh"
    e = _one(lake, "eventid = 'suricata.other'")
    extra = json.loads(e["extra"])
    assert (extra["event_type"], extra["app_proto"], extra["newthing"]) == ("newthing", "failed", {"a": 1})
    assert e["protocol"] is None
    e = _one(lake, "eventid = 'suricata.http'")
    assert e["url"] == "http://h:8080/a?b"


def test_suricata_bad_records_are_dead_letters(tmp_path: Path) -> None:
    src = tmp_path / "eve.json"
    src.write_bytes(
        _jsonl(
            [
                _eve("alert"),
                _eve("alert", src_port="abc"),
                _eve("alert", dest_port=1.5),
                {**_eve("alert"), "event_type": 5},
                {k: v for k, v in _eve("alert").items() if k != "event_type"},
                {k: v for k, v in _eve("alert").items() if k != "timestamp"},
                _eve("alert", ts="yesterday"),
                _eve("alert", src_ip={"v": 4}),
                '[{"event_type": "alert"}]',
                '{"timestamp":"2024-03-01T10:00:00Z","event_type":"al',
            ]
        )
    )
    r = ingest([str(src)], NO_GEO, tmp_path / "lake", force_format="suricata")
    # The record without a timestamp is not a dead letter: it takes the file's delivery time (issue 15).
    assert (r.ingested, r.dead_letter) == (2, 8)
    reasons = [reason for _, reason in query(tmp_path / "lake", "SELECT line, reason FROM dead_letter ORDER BY line")]
    assert reasons[0] == "src_port: not INTEGER"
    assert reasons[1] == "dest_port: not INTEGER"
    assert reasons[2] == "event_type: not a string"
    assert reasons[3] == "missing event_type"
    assert reasons[4] == "unparseable timestamp: yesterday"
    assert reasons[5] == "src_ip: not a string"
    assert reasons[6] in ("not a JSON object", "invalid JSON")
    assert reasons[7] == "invalid JSON"
    sources = query(tmp_path / "lake", "SELECT json_extract_string(extra, '$.time_source') FROM events ORDER BY 1")
    assert sorted(sources, key=str) == sorted([(None,), ("file-mtime",)], key=str)


# --------------------------------------------------------------------------- Dionaea


@needs_samples
def test_dionaea_sample_every_record_one_event(tmp_path: Path) -> None:
    path = DIONAEA_DIR / D_HARY
    good = _good(path)
    assert len(good) == len([ln for ln in path.read_bytes().split(b"\n") if ln.strip()])
    lake = tmp_path / "lake"
    r = ingest([str(path)], NO_GEO, lake)
    assert (r.ingested, r.duplicates, r.dead_letter, r.errors) == (len(good), 0, 0, [])
    assert set(r.by_format) == {"dionaea"}
    expected = collections.Counter(
        (
            _utc(rec["timestamp"]),
            f"dionaea.connection.{rec['connection']['type']}",
            rec["src_ip"],
            rec["src_port"],
            rec["dst_ip"],
            rec["dst_port"],
            rec["connection"]["transport"],
            json.dumps(
                {k: v for k, v in rec.items() if k not in ("timestamp", "src_ip", "src_port", "dst_ip", "dst_port")},
                sort_keys=True,
            ),
        )
        for _, _, rec in good
    )
    rows = _events(lake)
    got = collections.Counter(
        (
            e["ts"], e["eventid"], e["src_ip"], e["src_port"], e["dst_ip"], e["dst_port"], e["transport"],
            json.dumps(json.loads(e["extra"]), sort_keys=True),
        )
        for e in rows
    )  # fmt: skip
    assert got == expected
    assert dict(query(lake, "SELECT protocol, count(*) FROM events GROUP BY 1")) == {
        "http": 486, "smb": 14, "mongodb": 12, "epmapper": 4, "mssql": 4,
    }  # fmt: skip
    # Naive timestamps are UTC already.
    e = _one(lake, "src_port = 42830 AND dst_port = 81")
    assert e["ts"] == dt.datetime(2024, 5, 17, 7, 5, 23, 517478)
    assert (e["src_ip"], e["dst_ip"], e["protocol"], e["source_format"]) == (
        "192.168.144.1", "192.168.144.2", "http", "dionaea",
    )  # fmt: skip
    assert json.loads(e["extra"]) == {
        "connection": {"protocol": "httpd", "transport": "tcp", "type": "accept"},
        "src_hostname": "",
    }
    assert e["username"] is None and e["url"] is None


def _dio(**fields: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "connection": {"protocol": "ftpd", "transport": "tcp", "type": "accept"},
        "dst_ip": "::ffff:10.0.0.2",
        "dst_port": 21,
        "src_hostname": "",
        "src_ip": "::ffff:203.0.113.5",
        "src_port": 42830,
        "timestamp": "2024-05-17T07:05:23.517478",
    }
    rec.update(fields)
    return rec


def test_dionaea_credentials_ftp_commands_and_drift(tmp_path: Path) -> None:
    creds = [{"username": "root", "password": "x"}, {"username": "admin", "password": "y"}]
    cmds = [{"command": "USER", "arguments": ["root"]}, {"command": "PASS", "arguments": ["x"]}]
    src = tmp_path / "dionaea.json"
    src.write_bytes(
        _jsonl(
            [
                _dio(credentials=creds, ftp={"commands": cmds}),
                "",
                # flat_data = true
                _dio(
                    src_port=1,
                    credentials={"username": ["anonymous", "b"], "password": ["a@b", None]},
                    ftp={"commands": {"command": ["USER", "LIST"], "arguments": ["anonymous", ""]}},
                ),
                _dio(src_port=2, ftp={"commands": [{"command": "SYST", "arguments": []}]}),
                _dio(
                    src_port=3,
                    timestamp="2024-05-17T09:05:23+02:00",
                    connection={"protocol": "mssqld", "transport": "tcp", "type": "reject"},
                ),
                _dio(src_port=4, connection={"protocol": "x", "transport": "udp", "type": "weird"}),
                _dio(src_port=5, timestamp=1715929523517, dst_ip=None, dst_port=None, dest_ip="10.0.0.9", dest_port=80),
            ]
        )
    )
    r = ingest([str(src)], NO_GEO, tmp_path / "lake")
    assert (r.ingested, r.dead_letter, r.errors) == (6, 0, [])
    assert set(r.by_format) == {"dionaea"}
    lake = tmp_path / "lake"
    e = _one(lake, "src_port = 42830")
    assert (e["eventid"], e["username"], e["password"]) == ("dionaea.login", "root", "x")
    assert (e["src_ip"], e["dst_ip"], e["protocol"], e["transport"]) == ("203.0.113.5", "10.0.0.2", "ftp", "tcp")
    assert e["command"] == "USER root\nPASS x"
    assert json.loads(e["extra"])["credentials"] == creds  # every pair kept
    e = _one(lake, "src_port = 1")
    assert (e["eventid"], e["username"], e["password"], e["command"]) == (
        "dionaea.login", "anonymous", "a@b", "USER anonymous\nLIST",
    )  # fmt: skip
    e = _one(lake, "src_port = 2")
    assert (e["eventid"], e["command"], e["username"]) == ("dionaea.ftp.command", "SYST", None)
    e = _one(lake, "src_port = 3")
    assert (e["eventid"], e["protocol"], e["ts"]) == (
        "dionaea.connection.reject",
        "mssql",
        dt.datetime(2024, 5, 17, 7, 5, 23),
    )
    e = _one(lake, "src_port = 4")
    assert (e["eventid"], e["protocol"], e["transport"]) == ("dionaea.connection.other", "x", "udp")
    assert json.loads(e["extra"])["connection"]["type"] == "weird"
    e = _one(lake, "src_port = 5")
    assert (e["ts"], e["dst_ip"], e["dst_port"]) == (dt.datetime(2024, 5, 17, 7, 5, 23, 517000), "10.0.0.9", 80)
    # Dionaea's logins count in the credential panels (one attempt per connection's first pair; issue 15), through
    # the rollups and through the raw events alike.
    want = [("anonymous", "a@b", 1, 0), ("root", "x", 1, 0)]
    con = Lake(lake).connect(1)
    for rollups in ("true", "false"):
        con.execute(f"SET VARIABLE honeyfarm_rollups = {rollups}")
        got = sorted(tuple(r.values()) for r in top_credentials(con, Filters()).to_pylist())
        assert got == want, rollups


def test_dionaea_bad_records_are_dead_letters(tmp_path: Path) -> None:
    src = tmp_path / "dionaea.json"
    src.write_bytes(
        _jsonl(
            [
                _dio(),
                _dio(src_port="abc"),
                _dio(timestamp="garbage"),
                {k: v for k, v in _dio().items() if k != "connection"},
                {k: v for k, v in _dio().items() if k != "timestamp"},
                _dio(src_ip=5),
                _dio(connection=[1]),
                '{"connection": {"protocol": "httpd", "transport": "tcp", "ty',
            ]
        )
    )
    r = ingest([str(src)], NO_GEO, tmp_path / "lake", force_format="dionaea")
    # The record without a timestamp takes the file's delivery time instead of dead-lettering (issue 15).
    assert (r.ingested, r.dead_letter) == (2, 6)
    reasons = [reason for _, reason in query(tmp_path / "lake", "SELECT line, reason FROM dead_letter ORDER BY line")]
    assert reasons == [
        "src_port: not INTEGER",
        "unparseable timestamp: garbage",
        "missing connection",
        "src_ip: not a string",
        "connection: not an object",
        "invalid JSON",
    ]


# --------------------------------------------------------------------------- detection and eventids


def _sample(path: Path) -> list[bytes]:
    return first_lines(read_head(path))


@needs_samples
@pytest.mark.parametrize(
    ("path", "fmt"),
    [*((SURICATA_DIR / n, "suricata") for n in (*S_CLEAN, S_BROKEN)), (DIONAEA_DIR / D_HARY, "dionaea")],
    ids=lambda v: v.name if isinstance(v, Path) else v,
)
def test_detection_of_samples(path: Path, fmt: str) -> None:
    sample = _sample(path)
    found = detect_format(sample)
    assert found is not None and found.name == fmt
    assert not CowrieFormat().detect(sample)
    assert not HoneyfarmFormat().detect(sample)
    other = DionaeaJsonFormat() if fmt == "suricata" else SuricataFormat()
    assert not other.detect(sample)


@needs_samples
def test_new_detectors_do_not_claim_other_samples() -> None:
    others = [
        p
        for p in sorted(SAMPLES.glob("*/*"))
        if p.parent.name not in ("suricata_eve", "dionaea_json") and p.is_file() and p.suffix != ".md"
    ]
    assert any(p.parent.name == "cowrie_json" for p in others)
    for p in others:
        sample = _sample(p)
        assert not SuricataFormat().detect(sample), p
        assert not DionaeaJsonFormat().detect(sample), p


def test_detectors_do_not_claim_cowrie_or_honeyfarm_lines() -> None:
    cowrie = _jsonl(
        [
            {
                "eventid": "cowrie.session.connect",
                "timestamp": "2024-03-01T10:00:00Z",
                "src_ip": "198.51.100.7",
                "src_port": 1,
                "session": "a",
            }
        ]
    ).splitlines()
    hf = _jsonl([{"eventid": "cowrie.login.failed", "ts": "2024-03-01T10:00:00Z", "src_ip": "1.2.3.4"}]).splitlines()
    for sample in (cowrie, hf):
        assert not SuricataFormat().detect(sample)
        assert not DionaeaJsonFormat().detect(sample)
    assert detect_format(cowrie) is not None and detect_format(cowrie).name == "cowrie"  # type: ignore[union-attr]
    assert detect_format(hf) is not None and detect_format(hf).name == "honeyfarm"  # type: ignore[union-attr]
    assert SuricataFormat.priority < CowrieFormat.priority and DionaeaJsonFormat.priority < CowrieFormat.priority
    assert HoneyfarmFormat.priority < SuricataFormat.priority


@needs_samples
def test_emitted_eventids_are_declared(tmp_path: Path) -> None:
    for fmt in (SuricataFormat(), DionaeaJsonFormat()):
        assert all(EVENTID_RE.match(e) and e.startswith(f"{fmt.name}.") for e in fmt.eventids)
    assert {f"suricata.{t}" for t in EVENT_TYPES} | {"suricata.other"} == SuricataFormat.eventids
    lake = tmp_path / "lake"
    ingest([str(SURICATA_DIR), str(DIONAEA_DIR)], NO_GEO, lake)
    for fmt_name, eid in query(lake, "SELECT DISTINCT source_format, eventid FROM events"):
        assert eid in honeyfarm.formats.FORMATS[fmt_name].eventids
