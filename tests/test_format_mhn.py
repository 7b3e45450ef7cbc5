# SPDX-License-Identifier: MIT
"""MHN sessions (mongoexport of mnemosyne's ``session`` collection): the real sample, drift, hostile records.

The sample in ../shared/samples/mhn_dionaea_sessions is read in place, never copied; every other record
here is written by hand in the shapes mongoexport and mnemosyne write.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from lakeutil import hf, query

from honeyfarm.collect.files import first_lines, read_head
from honeyfarm.config import Config, GeoIPConfig, IngestConfig
from honeyfarm.eventids import EVENT_IDS
from honeyfarm.formats import detect_format, registry
from honeyfarm.formats.mhn import MHNSessionFormat
from honeyfarm.pipeline import ingest

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
MHN = SAMPLES / "mhn_dionaea_sessions" / "dekuwin24-SecurityWeek9_2017-11.mhn-session.json"
NO_GEO = Config(geoip=GeoIPConfig(enabled=False))
COLS = "ts, eventid, source_format, sensor, src_ip, src_port, dst_ip, dst_port, transport, protocol, extra"


def need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"shared sample {path} is absent (samples live outside the project)")
    return path


def events(lake: Path, where: str = "true") -> list[dict[str, Any]]:
    rows = query(lake, f"SELECT {COLS} FROM events WHERE {where} ORDER BY ts, src_port")
    out = []
    for r in rows:
        d = dict(zip([c.strip() for c in COLS.split(",")], r, strict=True))
        d["extra"] = json.loads(d["extra"]) if d["extra"] else {}
        out.append(d)
    return out


def mongo(**fields: Any) -> dict[str, Any]:
    """A session document as mongoexport writes it, with ``fields`` replacing (or, as None, removing) keys."""
    rec: dict[str, Any] = {
        "_id": {"$oid": "5a069662616a1e7668dd40f5"},
        "protocol": "smbd",
        "hpfeed_id": {"$oid": "5a069660616a1e7668dd40f4"},
        "timestamp": {"$date": "2017-11-11T06:19:12.385+0000"},
        "source_ip": "198.51.100.7",
        "source_port": 40000,
        "destination_port": 445,
        "identifier": "0cd756ea-c6a8-11e7-910c-42010a800002",
        "honeypot": "dionaea",
    }
    rec.update(fields)
    return {k: v for k, v in rec.items() if v is not None}


def write(path: Path, records: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the real sample


@pytest.fixture(scope="module")
def sample_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lake = tmp_path_factory.mktemp("mhn") / "lake"
    # small batches: the sample crosses batch boundaries as a long history would
    r = ingest([str(need(MHN))], Config(geoip=GeoIPConfig(enabled=False), ingest=IngestConfig(batch_bytes=65536)), lake)
    assert r.errors == [] and r.dead_letter == 0
    return lake


def test_sample_one_event_per_line_sensor_time_and_protocols(sample_lake: Path) -> None:
    docs = [json.loads(ln) for ln in MHN.read_bytes().split(b"\n") if ln.strip()]
    assert query(sample_lake, "SELECT count(*), count(DISTINCT event_id) FROM events")[0] == (len(docs), len(docs))
    got = events(sample_lake)
    assert {e["source_format"] for e in got} == {"mhn"}
    # sensor is the MHN identifier; ts is $date in UTC, to the millisecond
    by_oid = {e["extra"]["_id"]["$oid"]: e for e in got}
    assert len(by_oid) == len(docs)
    for d in docs:
        e = by_oid[d["_id"]["$oid"]]
        assert e["sensor"] == d["identifier"]
        want = dt.datetime.strptime(d["timestamp"]["$date"], "%Y-%m-%dT%H:%M:%S.%f%z")
        assert e["ts"] == want.astimezone(dt.UTC).replace(tzinfo=None)
        assert (e["src_ip"], e["src_port"], e["dst_port"]) == (d["source_ip"], d["source_port"], d["destination_port"])
        assert e["extra"]["protocol"] == d["protocol"] and e["extra"]["honeypot"] == "dionaea"
        for mapped in ("timestamp", "identifier", "source_ip", "source_port", "destination_port"):
            assert mapped not in e["extra"]
    # MHN's service names become the protocol spoken; pcap (closed-port attempts) is a reject with none
    pairs = Counter((e["extra"]["protocol"], e["protocol"], e["eventid"], e["transport"]) for e in got)
    want_of = {
        "pcap": (None, "dionaea.connection.reject", "tcp"),
        "smbd": ("smb", "dionaea.connection.accept", "tcp"),
        "mssqld": ("mssql", "dionaea.connection.accept", "tcp"),
        "mysqld": ("mysql", "dionaea.connection.accept", "tcp"),
        "SipSession": ("sip", "dionaea.connection.accept", None),
        "SipCall": ("sip", "dionaea.connection.accept", None),
        "RtpUdpStream": ("rtp", "dionaea.connection.accept", "udp"),
    }
    assert {k[0] for k in pairs} == set(want_of)
    for (mhn_proto, *rest), _ in pairs.items():
        assert tuple(rest) == want_of[mhn_proto], mhn_proto
    assert Counter(d["protocol"] for d in docs) == Counter(e["extra"]["protocol"] for e in got)


def test_sample_counts_in_the_dionaea_family_and_reingest_adds_nothing(sample_lake: Path) -> None:
    rows = dict(query(sample_lake, "SELECT split_part(eventid, '.', 1), count(*) FROM events GROUP BY 1"))
    assert rows == {"dionaea": query(sample_lake, "SELECT count(*) FROM events")[0][0]}
    again = ingest([str(MHN)], NO_GEO, sample_lake)
    assert (again.ingested, again.dead_letter) == (0, 0)


# --------------------------------------------------------------------------- detection and registration


def _first(path: Path) -> list[bytes]:
    lines: list[bytes] = first_lines(read_head(path))
    return lines


def test_detected_as_mhn_and_no_other_detector_claims_it() -> None:
    lines = _first(need(MHN))
    found = detect_format(lines)
    assert found is not None and found.name == "mhn"
    for name, fmt in registry().items():
        assert fmt.detect(lines) == (name == "mhn"), name


@pytest.mark.parametrize(
    "sample_dir",
    ["cowrie_json", "dionaea_json", "suricata_eve", "heralding_session_json", "tanner_report",
     "aws_route53_resolver_query_log", "aws_route53_query_log", "aws_vpc_flow"],
)  # fmt: skip
def test_mhn_detector_leaves_other_formats_alone(sample_dir: str) -> None:
    files = (
        sorted(p for p in (SAMPLES / sample_dir).iterdir() if p.name != "SOURCES.md")
        if (SAMPLES / sample_dir).is_dir()
        else []
    )
    if not files:
        pytest.skip(f"no shared samples in {SAMPLES / sample_dir}")
    for f in files:
        assert not MHNSessionFormat().detect(_first(f)), f.name


def test_registered_with_registered_eventids_and_listed_by_the_cli(tmp_path: Path) -> None:
    fmt = registry()["mhn"]
    assert fmt.eventids <= set(EVENT_IDS)
    assert "mhn.session" in EVENT_IDS
    p = hf("formats", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert any(line.split()[0] == "mhn" and "Modern Honey Network" in line for line in p.stdout.splitlines())


# --------------------------------------------------------------------------- drift


def test_mongoexport_and_mnemosyne_drift(tmp_path: Path) -> None:
    t = "2017-11-11T06:19:12.385"
    ms = int(dt.datetime.fromisoformat(t + "+00:00").timestamp() * 1000)
    recs = [
        mongo(timestamp={"$date": t + "Z"}, source_port=1),  # mongoexport >= 3.4 (relaxed)
        mongo(timestamp={"$date": {"$numberLong": str(ms)}}, source_port=2),  # canonical
        mongo(timestamp={"$date": ms}, source_port=3),  # legacy number
        mongo(timestamp=t + "+02:00", source_port=4),  # another exporter: a plain string with an offset
        mongo(source_port={"$numberInt": "5"}, destination_port="445"),  # wrapped / string numbers
        mongo(source_port=6, source_ip="::ffff:203.0.113.9", destination_ip="::ffff:192.0.2.1"),
        mongo(source_port=7, honeypot="cowrie", protocol="ssh", destination_port=22),
        mongo(source_port=8, honeypot="kippo", protocol="ssh", destination_port=22),
        mongo(source_port=9, honeypot="conpot", protocol="modbus", destination_port=502),
        mongo(source_port=10, protocol="httpd", destination_port=80),
        mongo(source_port=11, identifier=None),  # no sensor: the fleet mapping may name it
    ]
    lake = tmp_path / "lake"
    r = ingest([str(write(tmp_path / "session.json", recs))], NO_GEO, lake, force_format="mhn")
    assert (r.ingested, r.dead_letter) == (len(recs), 0)
    ev = {e["src_port"]: e for e in events(lake)}
    utc = dt.datetime(2017, 11, 11, 6, 19, 12, 385000)
    assert [ev[i]["ts"] for i in (1, 2, 3)] == [utc] * 3
    assert ev[4]["ts"] == utc - dt.timedelta(hours=2)
    assert (ev[5]["dst_port"], ev[5]["protocol"]) == (445, "smb")
    assert (ev[6]["src_ip"], ev[6]["dst_ip"]) == ("203.0.113.9", "192.0.2.1")
    assert [ev[i]["eventid"] for i in (7, 8, 9, 10)] == [
        "cowrie.session.connect", "cowrie.session.connect", "mhn.session", "dionaea.connection.accept"
    ]  # fmt: skip
    assert (ev[7]["protocol"], ev[7]["transport"], ev[9]["protocol"], ev[9]["extra"]["honeypot"]) == (
        "ssh", "tcp", "modbus", "conpot"
    )  # fmt: skip
    assert (ev[10]["protocol"], ev[10]["transport"]) == ("http", "tcp")
    assert ev[11]["sensor"] is None and ev[1]["sensor"] == "0cd756ea-c6a8-11e7-910c-42010a800002"


# --------------------------------------------------------------------------- hostile records


def test_bad_records_dead_letter_with_reasons_and_none_vanish(tmp_path: Path) -> None:
    good = mongo()
    bad: list[tuple[Any, str]] = [
        (mongo(timestamp={"$date": "yesterday"}), "unparseable timestamp: "),
        (mongo(timestamp={"$date": {"$numberLong": "not a number"}}), "unparseable timestamp: "),
        (mongo(timestamp={"$date": None}), "unparseable timestamp: "),
        (mongo(honeypot=None), "missing honeypot"),
        (mongo(source_port="abc"), "source_port: not INTEGER"),
        (mongo(destination_port=4.5), "destination_port: not INTEGER"),
        (mongo(source_ip=12345), "source_ip: not a string"),
        (mongo(identifier={"$oid": "x"}), "identifier: not a string"),
        (mongo(honeypot=["dionaea"]), "honeypot: not a string"),
        ("[1, 2, 3]", "not a JSON object"),
        ('{ "_id" : { "$oid" : "5a06", "timestamp" : ', "invalid JSON"),
    ]
    # A record without a timestamp is not bad: it takes the file's delivery time (issue 15).
    lines = [good, mongo(timestamp=None), *(b for b, _ in bad), "", "   "]
    lake = tmp_path / "lake"
    r = ingest([str(write(tmp_path / "s.json", lines))], NO_GEO, lake, force_format="mhn")
    assert (r.ingested, r.dead_letter) == (2, len(bad))
    sources = query(lake, "SELECT json_extract_string(extra, '$.time_source') FROM events")
    assert sorted(sources, key=str) == sorted([(None,), ("file-mtime",)], key=str)
    reasons = [row[0] for row in query(lake, "SELECT reason FROM dead_letter ORDER BY line")]
    assert len(reasons) == len(bad)
    for got, (_, want) in zip(reasons, bad, strict=True):
        assert got.startswith(want), (got, want)
    # a hostile $date is cut in the reason, not repeated whole
    long = mongo(timestamp={"$date": "x" * 10_000})
    r2 = ingest([str(write(tmp_path / "long.json", [long]))], NO_GEO, tmp_path / "lake2", force_format="mhn")
    assert r2.dead_letter == 1
    (reason,) = query(tmp_path / "lake2", "SELECT reason FROM dead_letter")[0]
    assert reason.startswith("unparseable timestamp: ") and len(reason) < 120
