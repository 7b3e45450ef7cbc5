# SPDX-License-Identifier: MIT
"""Tanner (tanner_report.json) and Heralding (log_session.json, auth.csv) formats.

The real samples in ../shared/samples are read in place, never copied; the
auth.csv fixture is hand-written here (there is no public sample). The formats
are registered for each test only (``monkeypatch.setitem`` on ``FORMATS``).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from lakeutil import cli_env, query

from honeyfarm.analysis.panels import PANELS, Filters
from honeyfarm.config import Config, GeoIPConfig, IngestConfig
from honeyfarm.formats import FORMATS, detect_format
from honeyfarm.formats.heralding import HeraldingAuthFormat, HeraldingSessionFormat
from honeyfarm.formats.tanner import TannerFormat
from honeyfarm.lake.store import Lake
from honeyfarm.pipeline import IngestResult, ingest

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
TANNER = SAMPLES / "tanner_report" / "yehezkiel1086-ml-web-honeypot_2025-05.tanner_report.json"
HERALDING = SAMPLES / "heralding_session_json" / "PRO3-SIB19-Zero-Day-IP-Blacklist_2020-12.log_session.json"
COWRIE_DIR = SAMPLES / "cowrie_json"

needs_samples = pytest.mark.skipif(
    not (TANNER.is_file() and HERALDING.is_file()),
    reason=f"../shared/samples not present: {TANNER.parent} or {HERALDING.parent} is missing",
)

NO_GEO = Config(geoip=GeoIPConfig(enabled=False))
SMALL_BATCHES = Config(geoip=GeoIPConfig(enabled=False), ingest=IngestConfig(batch_bytes=4096))

HEADER = (
    "timestamp,auth_id,session_id,source_ip,source_port,destination_ip,destination_port,protocol,"
    "username,password,password_hash\n"
)
SESSION_A = "5a0d2f43-8a0c-4f5e-8b65-1a2b3c4d5e6f"
# Hand-written rows as Heralding's csv.DictWriter writes them.
AUTH_ROWS = [
    f"2021-03-01 10:00:00.123456,0b7e3c52-6a4f-4f55-9d8f-0b3cb2a0b1a1,{SESSION_A},::ffff:203.0.113.5,51234,"
    '192.0.2.10,22,ssh,root,"pa,ss""w0rd",\n',
    f"2021-03-01 10:00:01.000002,0b7e3c52-6a4f-4f55-9d8f-0b3cb2a0b1a2,{SESSION_A},203.0.113.5,51234,"
    "192.0.2.10,22,ssh,admin,,\n",
    "2021-03-01 10:00:02.5,0b7e3c52-6a4f-4f55-9d8f-0b3cb2a0b1a3,6b1e3f54-9b1d-4a6f-9c76-2b3c4d5e6f70,"
    "198.51.100.9,40000,192.0.2.10,21,ftp,админ,пароль€,\n",
    "2021-03-01 10:00:03.000001,0b7e3c52-6a4f-4f55-9d8f-0b3cb2a0b1a4,7c2f4065-ac2e-4b70-8d87-3c4d5e6f7081,"
    "198.51.100.10,40001,192.0.2.10,110,pop3,user,,5f4dcc3b5aa765d61d8327deb882cf99\n",
]


@pytest.fixture
def formats(monkeypatch: pytest.MonkeyPatch) -> None:
    for fmt in (TannerFormat(), HeraldingSessionFormat(), HeraldingAuthFormat()):
        monkeypatch.setitem(FORMATS, fmt.name, fmt)


def _ingest(paths: list[Path], lake: Path, cfg: Config = NO_GEO) -> IngestResult:
    result = ingest([str(p) for p in paths], cfg, lake)
    assert result.errors == []
    return result


def _rows(lake: Path, sql: str) -> list[dict[str, Any]]:
    con = Lake(lake).connect()
    try:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


def _lines(path: Path) -> list[bytes]:
    return [ln for ln in path.read_bytes().split(b"\n") if ln.strip()]


def _panel(lake: Path, name: str) -> list[dict[str, Any]]:
    con = Lake(lake).connect()
    try:
        rows: list[dict[str, Any]] = PANELS[name].func(con, Filters()).to_pylist()
        return rows
    finally:
        con.close()


# --------------------------------------------------------------------------- tanner


@needs_samples
def test_tanner_sample_one_event_per_request(formats: None, tmp_path: Path) -> None:
    records = [json.loads(ln) for ln in _lines(TANNER)]
    lake = tmp_path / "lake"
    first = _ingest([TANNER], lake)
    assert (first.ingested, first.dead_letter) == (len(records), 0) == (2000, 0)
    assert first.by_format["tanner"].ingested == 2000
    again = _ingest([TANNER], lake)
    assert (again.ingested, again.dead_letter) == (0, 0)
    assert query(lake, "SELECT count(*), count(DISTINCT event_id) FROM events") == [(2000, 2000)]
    assert query(lake, "SELECT DISTINCT eventid, source_format, protocol, transport FROM events") == [
        ("tanner.request", "tanner", "http", "tcp")
    ]
    # Attack types as Tanner detected them, counted independently.
    expected = Counter(r["response_msg"]["response"]["message"]["detection"]["name"] for r in records)
    got = dict(query(lake, "SELECT extra->>'attack_type', count(*) FROM events GROUP BY 1"))
    assert got == dict(expected) and got["xss"] == 144 and got["sqli"] == 4
    methods = dict(query(lake, "SELECT extra->>'method', count(*) FROM events GROUP BY 1"))
    assert methods == dict(Counter(r["method"] for r in records))

    # The first request, field by field.
    r0 = records[0]
    ev = _rows(lake, f"SELECT * FROM events WHERE ts = '{r0['timestamp']}' AND url = '/'")
    assert len(ev) == 1
    e = ev[0]
    assert e["ts"] == dt.datetime(2025, 5, 6, 5, 10, 53, 993825)
    assert (e["src_ip"], e["src_port"]) == ("172.18.0.1", 55778)
    assert e["sensor"] == "35c07117-8e71-4adf-ae8b-7f21142a0c19"
    assert e["session"] == "96060529-1172-409f-9375-7d5184893fa2"
    assert e["client_version"] == r0["headers"]["user-agent"]
    extra = json.loads(e["extra"])
    assert extra["method"] == "GET" and extra["attack_type"] == "index" and extra["status"] == 200
    assert extra["headers"]["host"] == "localhost" and extra["cookies"] == r0["cookies"]
    assert not {"timestamp", "path", "uuid", "peer"} & set(extra)

    # A POST with post_data, and a detected SQL injection.
    post = next(r for r in records if "post_data" in r)
    e = _rows(lake, f"SELECT * FROM events WHERE ts = '{post['timestamp']}' AND extra->>'method' = 'POST'")[0]
    assert e["url"] == post["path"] and json.loads(e["extra"])["post_data"] == post["post_data"]
    assert e["client_version"] == post["headers"]["user-agent"]
    sqli = next(r for r in records if r["response_msg"]["response"]["message"]["detection"]["name"] == "sqli")
    e = _rows(lake, f"SELECT * FROM events WHERE ts = '{sqli['timestamp']}' AND extra->>'attack_type' = 'sqli'")[0]
    assert e["url"] == sqli["path"]
    assert json.loads(e["extra"])["response_msg"]["response"]["message"]["detection"]["payload"]["page"]


def test_tanner_drift_and_dead_letters(formats: None, tmp_path: Path) -> None:
    good = {
        "method": "GET", "path": "/wp-login.php?x=1", "uuid": "u-1", "status": 200,
        "headers": {"User-Agent": "curl/8.0"}, "peer": {"ip": "::ffff:203.0.113.7", "port": 4242},
        "response_msg": {"response": {"message": {"detection": {"name": "lfi", "type": 2}, "sess_uuid": "s-1"}}},
        "timestamp": "2025-05-06T07:00:00+02:00",
    }  # fmt: skip
    lines = [
        json.dumps(good),
        json.dumps({**good, "timestamp": "2025-05-06T05:00:01Z", "peer": {"ip": "203.0.113.8", "port": 1}}),
        "{not json",
        json.dumps({**good, "path": None}),
        json.dumps({**good, "peer": {"ip": "203.0.113.7", "port": "http"}}),
        json.dumps({**good, "timestamp": "yesterday"}),
    ]
    log = tmp_path / "tanner_report.json"
    log.write_text("\n".join(lines) + "\n")
    lake = tmp_path / "lake"
    res = _ingest([log], lake)
    assert (res.ingested, res.dead_letter) == (2, 4)
    rows = _rows(lake, "SELECT ts, src_ip, src_port, client_version, session, extra FROM events ORDER BY ts")
    assert [r["ts"] for r in rows] == [dt.datetime(2025, 5, 6, 5, 0), dt.datetime(2025, 5, 6, 5, 0, 1)]
    assert (rows[0]["src_ip"], rows[0]["src_port"], rows[0]["client_version"]) == ("203.0.113.7", 4242, "curl/8.0")
    assert rows[0]["session"] == "s-1" and json.loads(rows[0]["extra"])["attack_type"] == "lfi"
    reasons = sorted(r[0] for r in query(lake, "SELECT reason FROM dead_letter"))
    assert reasons == [
        "invalid JSON", "missing path", "peer.port: not INTEGER", "unparseable timestamp: yesterday",
    ]  # fmt: skip
    assert _ingest([log], lake).dead_letter == 0  # dead letters are not repeated either


# --------------------------------------------------------------------------- heralding sessions


@needs_samples
def test_heralding_session_sample_and_credentials_panels(formats: None, tmp_path: Path) -> None:
    records = [json.loads(ln) for ln in _lines(HERALDING)]
    expected = sum(1 + len(r["auth_attempts"]) for r in records)  # one session + one per attempt
    assert expected == 2
    lake = tmp_path / "lake"
    first = _ingest([HERALDING], lake)
    assert (first.ingested, first.dead_letter) == (expected, 0)
    assert _ingest([HERALDING], lake).ingested == 0
    rows = _rows(lake, "SELECT * FROM events ORDER BY ts")
    s, a = rows
    assert s["eventid"] == "heralding.session" and a["eventid"] == "heralding.login.failed"
    assert s["ts"] == dt.datetime(2020, 12, 28, 13, 16, 40, 622979)
    assert a["ts"] == dt.datetime(2020, 12, 28, 13, 16, 47, 735885)
    for e in (s, a):
        assert e["session"] == "d3b94817-c6f6-4843-b52b-82ef0c4061a4"
        assert (e["src_ip"], e["src_port"], e["dst_ip"], e["dst_port"]) == ("127.0.0.1", 40694, "127.0.0.1", 23)
        assert (e["protocol"], e["transport"], e["source_format"]) == ("telnet", "tcp", "heralding")
    assert s["duration"] == 30.0 and (s["username"], s["password"]) == (None, None)
    assert json.loads(s["extra"]) == {"num_auth_attempts": 1, "session_ended": True, "auxiliary_data": {}}
    assert (a["username"], a["password"]) == ("aa", "aa") and json.loads(a["extra"]) == {"attempt": 1}
    assert s["event_id"] != a["event_id"]

    assert _panel(lake, "top-credentials") == [{"username": "aa", "password": "aa", "attempts": 1, "successes": 0}]
    assert _panel(lake, "top-usernames") == [{"username": "aa", "attempts": 1, "successes": 0}]
    # The CLI reads the lake only, so it sees the events without the registration.
    out = subprocess.run(
        [sys.executable, "-m", "honeyfarm.cli", "report", "top-credentials", "--json", "--lake", str(lake)],
        capture_output=True, text=True, env=cli_env(), timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert '"aa"' in out.stdout


def test_heralding_session_drift_and_dead_letters(formats: None, tmp_path: Path) -> None:
    base = {
        "timestamp": "2024-01-02 03:04:05.000006", "duration": 2, "session_id": "sess-1",
        "source_ip": "::ffff:198.51.100.1", "source_port": 5000, "destination_ip": "192.0.2.1",
        "destination_port": 22, "protocol": "ssh", "num_auth_attempts": 3,
        "auth_attempts": [
            {"timestamp": "2024-01-02 03:04:06.000001", "username": "root", "password": "123456"},
            {"timestamp": "2024-01-02T03:04:07+00:00", "username": "пользователь", "password": None},
            {"username": "admin", "password": ""},
        ],
        "session_ended": True, "auxiliary_data": {"banner": "x"},
    }  # fmt: skip
    lines = [
        json.dumps(base, ensure_ascii=False),
        json.dumps({**base, "session_id": "sess-2", "timestamp": "2024-01-02 05:00:00+02:00", "auth_attempts": []}),
        json.dumps({**base, "session_id": "sess-3", "auth_attempts": "root:root"}),
        json.dumps({**base, "session_id": "sess-4", "auth_attempts": [{"timestamp": "soon", "username": "x"}]}),
        json.dumps({**base, "session_id": "sess-5", "source_port": "abc"}),
        '{"timestamp": "2024-01-02 03:04:05", "session_id": ',
    ]
    log = tmp_path / "log_session.json"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    lake = tmp_path / "lake"
    res = _ingest([log], lake)
    assert (res.ingested, res.dead_letter) == (4 + 1, 4)
    rows = _rows(lake, "SELECT * FROM events ORDER BY session, ts, eventid DESC")
    assert [(r["session"], r["eventid"]) for r in rows] == [
        ("sess-1", "heralding.session"), ("sess-1", "heralding.login.failed"),
        ("sess-1", "heralding.login.failed"), ("sess-1", "heralding.login.failed"),
        ("sess-2", "heralding.session"),
    ]  # fmt: skip
    assert rows[0]["src_ip"] == "198.51.100.1"
    # The attempt without a time of its own takes the session's.
    assert [(r["ts"], r["username"], r["password"]) for r in rows[1:4]] == [
        (dt.datetime(2024, 1, 2, 3, 4, 5, 6), "admin", ""),
        (dt.datetime(2024, 1, 2, 3, 4, 6, 1), "root", "123456"),
        (dt.datetime(2024, 1, 2, 3, 4, 7), "пользователь", None),
    ]
    assert rows[4]["ts"] == dt.datetime(2024, 1, 2, 3, 0)  # +02:00 converted to UTC
    reasons = sorted(r[0] for r in query(lake, "SELECT reason FROM dead_letter"))
    assert reasons == [
        "auth_attempts: not a list", "auth_attempts: unparseable timestamp", "invalid JSON",
        "source_port: not INTEGER",
    ]  # fmt: skip
    assert _ingest([log], lake).ingested == 0


# --------------------------------------------------------------------------- auth.csv


def test_heralding_auth_csv(formats: None, tmp_path: Path) -> None:
    log = tmp_path / "auth.csv"
    log.write_text(HEADER + "".join(AUTH_ROWS), encoding="utf-8")
    lake = tmp_path / "lake"
    res = _ingest([log], lake)
    assert (res.ingested, res.dead_letter) == (len(AUTH_ROWS), 0)
    assert res.by_format["heralding_auth"].ingested == 4
    assert _ingest([log], lake).ingested == 0
    rows = _rows(lake, "SELECT * FROM events ORDER BY ts")
    assert {r["eventid"] for r in rows} == {"heralding.auth"}
    assert {r["source_format"] for r in rows} == {"heralding_auth"}
    assert [(r["username"], r["password"], r["protocol"]) for r in rows] == [
        ("root", 'pa,ss"w0rd', "ssh"), ("admin", "", "ssh"), ("админ", "пароль€", "ftp"), ("user", "", "pop3"),
    ]  # fmt: skip
    r0 = rows[0]
    assert r0["ts"] == dt.datetime(2021, 3, 1, 10, 0, 0, 123456)
    assert (r0["session"], r0["src_ip"], r0["src_port"], r0["dst_ip"], r0["dst_port"]) == (
        SESSION_A, "203.0.113.5", 51234, "192.0.2.10", 22,
    )  # fmt: skip
    assert json.loads(r0["extra"]) == {"auth_id": "0b7e3c52-6a4f-4f55-9d8f-0b3cb2a0b1a1"}
    assert json.loads(rows[3]["extra"])["password_hash"] == "5f4dcc3b5aa765d61d8327deb882cf99"
    assert rows[2]["ts"] == dt.datetime(2021, 3, 1, 10, 0, 2, 500000)
    # auth.csv repeats log_session.json's attempts: not counted again by the credential panels.
    assert _panel(lake, "top-credentials") == []


def test_heralding_auth_csv_header_in_later_batches_and_old_layouts(formats: None, tmp_path: Path) -> None:
    # Two rotated logs concatenated: the second header lands mid-file, in a later batch.
    rows = [AUTH_ROWS[i % len(AUTH_ROWS)].replace("0b7e3c52", f"{i:08x}", 1) for i in range(60)]
    text = HEADER + "".join(rows[:30]) + HEADER.replace("\n", "\r\n") + "".join(rows[30:])
    old = (
        "timestamp,auth_id,auth_type,session_id,source_ip,souce_port,destination_port,protocol,username,password\r\n"
        "2016-05-01 01:02:03.000004,1b7e3c52-6a4f-4f55-9d8f-0b3cb2a0b1a1,plaintext,"
        "9a0d2f43-8a0c-4f5e-8b65-1a2b3c4d5e6f,203.0.113.77,2222,23,telnet,guest,guest\r\n"
        "2019-05-01 01:02:03.000004,2b7e3c52-6a4f-4f55-9d8f-0b3cb2a0b1a1,"
        "9a0d2f43-8a0c-4f5e-8b65-1a2b3c4d5e6f,203.0.113.78,2223,192.0.2.1,21,ftp,anon,anon@\n"
    )
    (tmp_path / "logs").mkdir()
    big = tmp_path / "logs" / "auth.csv"
    big.write_text(text, encoding="utf-8")
    assert len((HEADER + "".join(rows[:30])).encode()) > 4096  # past the first 4 KiB batch
    legacy = tmp_path / "logs" / "log_auth.csv"
    legacy.write_text(old, encoding="utf-8")
    lake = tmp_path / "lake"
    res = _ingest([big, legacy], lake, SMALL_BATCHES)
    assert (res.ingested, res.dead_letter) == (62, 0)
    got = _rows(lake, "SELECT * FROM events WHERE ts < '2020-01-01' ORDER BY ts")
    assert [(r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"], r["protocol"], r["username"]) for r in got] == [
        ("203.0.113.77", 2222, None, 23, "telnet", "guest"),
        ("203.0.113.78", 2223, "192.0.2.1", 21, "ftp", "anon"),
    ]
    assert json.loads(got[0]["extra"])["auth_type"] == "plaintext"


def test_heralding_auth_csv_dead_letters(formats: None, tmp_path: Path) -> None:
    bad = [
        'not,a,"heralding row\n',  # unbalanced quote
        "2021-03-01 10:00:00,only,five,fields,here\n",
        "someday,0b7e3c52-6a4f-4f55-9d8f-0b3cb2a0b1a9,s,203.0.113.5,1,192.0.2.10,22,ssh,u,p,\n",
        "2021-03-01 10:00:00,0b7e3c52-6a4f-4f55-9d8f-0b3cb2a0b1a8,s,203.0.113.5,x,192.0.2.10,22,ssh,u,p,\n",
    ]
    log = tmp_path / "auth.csv"
    log.write_text(HEADER + AUTH_ROWS[0] + "".join(bad), encoding="utf-8")
    lake = tmp_path / "lake"
    res = _ingest([log], lake)
    assert (res.ingested, res.dead_letter) == (1, 4)
    reasons = sorted(r[0] for r in query(lake, "SELECT reason FROM dead_letter"))
    assert reasons == [
        "expected 10 or 11 CSV fields, got 5", "malformed CSV row", "source_port: not INTEGER",
        "unparseable timestamp: someday",
    ]  # fmt: skip


# --------------------------------------------------------------------------- detection


def _cowrie_lines() -> list[bytes]:
    if COWRIE_DIR.is_dir():
        files = sorted(COWRIE_DIR.glob("*.json"))
        if files:
            return _lines(files[0])[:20]
    rec = {"eventid": "cowrie.session.connect", "timestamp": "2024-01-01T00:00:00Z", "src_ip": "1.2.3.4"}
    return [json.dumps(rec).encode()]


HONEYFARM_LINES = [
    json.dumps({"ts": "2024-01-01T00:00:00Z", "eventid": "heralding.login.failed", "username": "a"}).encode(),
]


@needs_samples
def test_detection(formats: None) -> None:
    tanner, session, auth = TannerFormat(), HeraldingSessionFormat(), HeraldingAuthFormat()
    samples = {
        "tanner": _lines(TANNER)[:20],
        "heralding": _lines(HERALDING)[:20],
        "heralding_auth": (HEADER + "".join(AUTH_ROWS)).encode().splitlines(),
        "heralding_auth_no_header": "".join(AUTH_ROWS).encode().splitlines(),
        "cowrie": _cowrie_lines(),
        "honeyfarm": HONEYFARM_LINES,
    }
    owner = {"heralding_auth_no_header": "heralding_auth"}
    for key, lines in samples.items():
        want = owner.get(key, key)
        fmt = detect_format(lines)
        assert fmt is not None and fmt.name == want, key
        for mine in (tanner, session, auth):
            assert mine.detect(lines) == (mine.name == want), (mine.name, key)
    # Cowrie's and honeyfarm's detectors leave ours alone.
    for name in ("cowrie", "honeyfarm"):
        for key in ("tanner", "heralding", "heralding_auth"):
            assert not FORMATS[name].detect(samples[key]), (name, key)
    assert tanner.priority < FORMATS["cowrie"].priority and FORMATS["honeyfarm"].priority < tanner.priority
