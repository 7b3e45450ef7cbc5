# SPDX-License-Identifier: MIT
"""The SMB trap against real clients on loopback:

* ``smbclient`` (Samba 4.17) over SMB 3.1.1 and over SMB1 (NT1) lists the shares (srvsvc
  NetShareEnumAll on the DCE/RPC pipes) and uploads a file, which lands in the content store;
* impacket's SMB client logs in over SMB1 and SMB 3.1.1: the hashcat line the trap logs verifies
  against the password (the NTProofStr recomputed with ``impacket.ntlm``);
* impacket's svcctl client (PsExec's first steps) creates a service: the binary path is logged;
* nmap's ``smb-protocols``, ``smb-os-discovery``, ``smb2-security-mode``, ``smb-vuln-ms17-010`` and
  ``smb-enum-shares`` see a Windows Server 2016 that is VULNERABLE, and the probe is logged;
* the public DoublePulsar checker's ping is answered as a clean host and logged;
* the NetBIOS session service answers a session request first;
* seeded mutations of real clients' packets never break the sensor.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import random
import re
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from sensorutil import SensorProc, free_port, need, run_sensor, wait_port
from smbutil import (
    DP_NEGOTIATE,
    DP_SESSION_SETUP,
    DP_TRANS2_PING,
    DP_TREE_CONNECT,
    doublepulsar_check,
    recording_proxy,
    recv_frame,
    replay,
    session_request,
    smb2_negotiate,
)

PASSWORD = "Winter2024!"
NT1 = ["-m", "NT1", "--option=client min protocol=NT1"]


@pytest.fixture(scope="module")
def sensor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SensorProc, int, int]]:
    port, nb_port = free_port(), free_port()
    overrides: dict[str, dict[str, Any]] = {
        "sensor.smb": {
            "enabled": True,
            "listen": [f"127.0.0.1:{port}"],
            "netbios_listen": [f"127.0.0.1:{nb_port}"],
            "max_file_bytes": 64 * 1024,
        },
        "sensor.limits": {"max_per_ip": 400},
    }
    with run_sensor(tmp_path_factory.mktemp("sensor"), overrides) as sp:
        wait_port(port, proc=sp.proc)
        wait_port(nb_port, proc=sp.proc)
        yield sp, port, nb_port


def events_of(sp: SensorProc, eventid: str, pred: Any = lambda e: True, timeout: float = 10.0) -> list[dict[str, Any]]:
    evs = sp.wait_for(lambda evs: any(e["eventid"] == eventid and pred(e) for e in evs), timeout)
    return [e for e in evs if e["eventid"] == eventid and pred(e)]


def smbclient(port: int, *args: str) -> str:
    proc = subprocess.run(
        ["smbclient", "-p", str(port), *args], capture_output=True, text=True, timeout=30, check=False
    )
    return proc.stdout + proc.stderr


def ntproof(user: str, domain: str, challenge: bytes, blob: bytes, password: str) -> str:
    from impacket import ntlm

    ntowf = hmac.new(ntlm.compute_nthash(password), (user.upper() + domain).encode("utf-16-le"), "md5").digest()
    return hmac.new(ntowf, challenge + blob, "md5").hexdigest()


def assert_hash_verifies(event: dict[str, Any], password: str) -> None:
    assert event["extra"]["hashcat_mode"] == 5600
    user, empty, domain, challenge, proof, blob = event["extra"]["hashcat"].split(":")
    assert empty == "" and user == event["username"]
    assert ntproof(user, domain, bytes.fromhex(challenge), bytes.fromhex(blob), password) == proof


def assert_uploaded(sp: SensorProc, name: str, content: bytes) -> dict[str, Any]:
    sha = hashlib.sha256(content).hexdigest()
    up = events_of(sp, "smb.session.file_upload", lambda e: e["extra"]["path"].endswith(name))[-1]
    assert up["sha256"] == sha and up["extra"]["size"] == len(content) and up["extra"]["truncated"] is False
    assert (sp.spool / "downloads" / sha[:2] / sha).read_bytes() == content
    return up


@pytest.mark.skipif(need("smbclient") is not None, reason=need("smbclient") or "")
@pytest.mark.parametrize("dialect", ["SMB3", "NT1"])
def test_smbclient_lists_the_shares_and_its_upload_is_captured(
    sensor: tuple[SensorProc, int, int], tmp_path: Path, dialect: str
) -> None:
    sp, port, _ = sensor
    proto = NT1 if dialect == "NT1" else ["-m", "SMB3"]
    out = smbclient(port, "-L", "//127.0.0.1", "-N", *proto)
    for share, kind, comment in (
        ("ADMIN$", "Disk", "Remote Admin"),
        ("IPC$", "IPC", "Remote IPC"),
        ("Public", "Disk", ""),
    ):
        assert re.search(rf"^\s+{re.escape(share)}\s+{kind}\s+{comment}", out, re.M), out
    content = os.urandom(20_000) + dialect.encode()
    src = tmp_path / "payload.bin"
    src.write_bytes(content)
    name = f"drop-{dialect}.exe"
    out = smbclient(port, "//127.0.0.1/Public", "-U", f"alice%{PASSWORD}", *proto, "-c", f"put {src} {name}; ls")
    assert f"putting file {src}" in out, out
    assert re.search(rf"^\s+{name}\s+A\s+{len(content)}\s", out, re.M), out  # the listing shows it
    up = assert_uploaded(sp, name, content)
    assert up["extra"]["share"].lower() == "public"
    login = events_of(sp, "smb.login.success", lambda e: e["session"] == up["session"])[0]
    assert login["username"] == "alice" and login["extra"]["ntlm_version"] == "v2"
    assert_hash_verifies(login, PASSWORD)
    neg = events_of(sp, "smb.protocol.negotiate", lambda e: e["session"] == up["session"])[0]
    assert neg["extra"]["dialect"] == ("3.1.1" if dialect == "SMB3" else "NT LM 0.12")


@pytest.mark.skipif(need("smbclient") is not None, reason=need("smbclient") or "")
def test_an_smb1_negotiate_offering_smb2_is_answered_with_the_wildcard(sensor: tuple[SensorProc, int, int]) -> None:
    sp, port, _ = sensor
    out = smbclient(port, "-L", "//127.0.0.1", "-N", "--option=client min protocol=NT1")  # max: SMB3
    assert re.search(r"^\s+IPC\$\s+IPC\s+Remote IPC", out, re.M), out
    first = events_of(sp, "smb.protocol.negotiate", lambda e: "SMB 2.???" in e["extra"]["dialects"])[0]
    assert first["extra"]["smb_version"] == 1 and first["extra"]["dialect"] == "SMB 2.???"
    again = events_of(sp, "smb.protocol.negotiate", lambda e: e["session"] == first["session"])
    assert [e["extra"]["smb_version"] for e in again] == [1, 2] and again[1]["extra"]["dialect"] == "3.1.1"


@pytest.mark.parametrize("smb1", [True, False], ids=["SMB1", "SMB3"])
def test_impacket_login_gives_a_hashcat_line_that_verifies(sensor: tuple[SensorProc, int, int], smb1: bool) -> None:
    from impacket.smb import SMB_DIALECT
    from impacket.smbconnection import SMBConnection

    sp, port, _ = sensor
    conn = SMBConnection("127.0.0.1", "127.0.0.1", sess_port=port, preferredDialect=SMB_DIALECT if smb1 else None)
    user = f"imp{'1' if smb1 else '3'}"
    conn.login(user, PASSWORD, "CORP")
    assert conn.getServerOS().startswith("Windows") and conn.getServerName() == "WEB-01"
    content = b"MZ" + os.urandom(3000)
    conn.putFile("ADMIN$", f"Temp\\{user}.exe", io.BytesIO(content).read)
    shares = [s["shi1_netname"].rstrip("\x00") for s in conn.listShares()]
    assert shares == ["ADMIN$", "C$", "IPC$", "Users", "Public"]
    conn.logoff()
    conn.close()
    login = events_of(sp, "smb.login.success", lambda e: e["username"] == user)[0]
    assert login["extra"]["domain"] == "CORP" and login["extra"]["smb_version"] == (1 if smb1 else 2)
    assert_hash_verifies(login, PASSWORD)
    assert_uploaded(sp, f"{user}.exe", content)


@pytest.mark.parametrize("smb1", [True, False], ids=["SMB1", "SMB3"])
def test_svcctl_create_service_logs_the_binary_path(sensor: tuple[SensorProc, int, int], smb1: bool) -> None:
    from impacket.dcerpc.v5 import scmr, transport
    from impacket.smb import SMB_DIALECT

    sp, port, _ = sensor
    rpc = transport.SMBTransport("127.0.0.1", port, r"\svcctl", username="psexec", password=PASSWORD)
    if smb1:
        rpc.preferred_dialect(SMB_DIALECT)
    dce = rpc.get_dce_rpc()
    dce.connect()
    smb = rpc.get_smb_connection()
    dce.bind(scmr.MSRPC_UUID_SCMR)
    manager = scmr.hROpenSCManagerW(dce)["lpScHandle"]
    binary = rf"%COMSPEC% /Q /c echo whoami ^> \\127.0.0.1\C$\out{int(smb1)}.txt"
    scmr.hRCreateServiceW(dce, manager, "BTOBTO\x00", "BTOBTO\x00", lpBinaryPathName=binary + "\x00")
    dce.disconnect()
    smb.close()
    got = events_of(sp, "smb.dcerpc.request", lambda e: e.get("command") == binary)
    assert got[0]["extra"]["pipe"] == "svcctl"


@pytest.mark.skipif(need("nmap") is not None, reason=need("nmap") or "")
@pytest.mark.skipif(os.geteuid() != 0, reason="nmap -sU (see below) needs root")
def test_nmap_sees_windows_server_2016_vulnerable_to_ms17_010(sensor: tuple[SensorProc, int, int]) -> None:
    sp, port, _ = sensor
    # The scripts take the port from smbport; smb-os-discovery then looks up the UDP port of that
    # number unless it is 445/139, so the UDP port is scanned too (closed, but known to nmap).
    scripts = "smb-protocols,smb-os-discovery,smb2-security-mode,smb-vuln-ms17-010,smb-enum-shares"
    out = subprocess.run(
        ["nmap", "-Pn", "-n", "-sS", "-sU", "-p", f"T:{port},U:{port}", "--script", scripts,
         "--script-args", f"smbport={port}", "127.0.0.1"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert "NT LM 0.12 (SMBv1) [dangerous, but default]" in out, out
    for dialect in ("202", "210", "300", "302", "311"):
        assert re.search(rf"^\|\s+{dialect}$|^\|_\s+{dialect}$", out, re.M), out
    assert "OS: Windows Server 2016 Standard 14393 (Windows Server 2016 Standard 6.3)" in out, out
    assert "NetBIOS computer name: WEB-01" in out and "Workgroup: WORKGROUP" in out, out
    assert "Message signing enabled but not required" in out, out
    assert "State: VULNERABLE" in out, out
    assert re.search(
        r"\\\\127\.0\.0\.1\\ADMIN\$: \n\|\s+Type: STYPE_DISKTREE_HIDDEN\n\|\s+Comment: Remote Admin", out
    ), out
    probe = events_of(sp, "smb.exploit.ms17-010")[0]
    assert probe["extra"]["command"] == "TRANS PeekNamedPipe" and probe["extra"]["share"] == "IPC$"
    assert probe["extra"]["tool"] == "nmap smb-vuln-ms17-010"


def test_doublepulsar_ping_is_answered_as_a_clean_host(sensor: tuple[SensorProc, int, int]) -> None:
    sp, port, _ = sensor
    reply = doublepulsar_check(port)
    (status,) = struct.unpack_from("<I", reply, 4 + 5)
    assert status == 0xC0000002  # STATUS_NOT_IMPLEMENTED
    assert reply[34] == 0x41  # the checker's "not infected" (0x51 would be infected)
    got = events_of(sp, "smb.exploit.doublepulsar")[0]
    assert got["extra"]["subcommand"] == "ping" and got["extra"]["timeout"] == "0x00a4d9a6"


def test_netbios_session_service_answers_the_session_request_first(sensor: tuple[SensorProc, int, int]) -> None:
    sp, _, nb_port = sensor
    with socket.create_connection(("127.0.0.1", nb_port), timeout=10) as s:
        s.sendall(session_request("*SMBSERVER", "WORKSTATION7"))
        assert s.recv(4) == b"\x82\x00\x00\x00"
        s.sendall(smb2_negotiate())
        reply = recv_frame(s)
    assert reply[4:8] == b"\xfeSMB" and struct.unpack_from("<I", reply, 12)[0] == 0
    assert struct.unpack_from("<H", reply, 4 + 64 + 4)[0] == 0x0302
    closed = events_of(sp, "smb.session.closed", lambda e: e["extra"].get("calling_name") == "WORKSTATION7")[0]
    assert closed["extra"]["called_name"] == "*SMBSERVER"
    connect = events_of(sp, "smb.session.connect", lambda e: e["session"] == closed["session"])[0]
    assert connect["extra"]["netbios"] is True


def test_an_oversized_message_is_refused_before_it_is_read(sensor: tuple[SensorProc, int, int]) -> None:
    sp, port, _ = sensor
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"\x00\xff\xff\xff" + b"\xfeSMB")
        assert s.recv(16) == b""
    closed = events_of(sp, "smb.session.closed", lambda e: "over the limit" in e["extra"]["reason"])[0]
    connect = events_of(sp, "smb.session.connect", lambda e: e["session"] == closed["session"])[0]
    assert connect["extra"]["netbios"] is False


@pytest.mark.skipif(need("smbclient") is not None, reason=need("smbclient") or "")
def test_fuzzed_real_packets_never_break_the_sensor(sensor: tuple[SensorProc, int, int], tmp_path: Path) -> None:
    sp, port, _ = sensor
    src = tmp_path / "f.txt"
    src.write_bytes(b"fuzz corpus\n" * 10)
    with recording_proxy(port) as (proxy, flows):
        smbclient(proxy, "//127.0.0.1/Public", "-U", f"bob%{PASSWORD}", "-m", "SMB3", "-c", f"put {src} a.txt; ls")
        smbclient(proxy, "//127.0.0.1/Public", "-N", *NT1, "-c", f"put {src} b.txt; ls")
        smbclient(proxy, "-L", "//127.0.0.1", "-N", "-m", "SMB3")
        time.sleep(0.5)
    corpus = [f for f in flows if len(f) >= 3]
    assert len(corpus) >= 3
    corpus.append([DP_NEGOTIATE, DP_SESSION_SETUP, DP_TREE_CONNECT, DP_TRANS2_PING])  # SMB1 without NTLMSSP
    rng = random.Random(1414)
    deadline = time.monotonic() + 15
    runs = 0
    while runs < 1000 and time.monotonic() < deadline:
        flow = rng.choice(corpus)
        replay(port, flow, rng.randrange(len(flow)), rng)
        runs += 1
    assert runs >= 200 and sp.proc is not None and sp.proc.poll() is None
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:  # still serving
        s.sendall(smb2_negotiate())
        assert recv_frame(s)[4:8] == b"\xfeSMB"
    time.sleep(0.5)
    errors = [e["extra"]["reason"] for e in sp.events() if e["eventid"] == "smb.session.closed"]
    assert not [r for r in errors if r.startswith("error")], sorted(set(errors))
    log = (sp.workdir / "sensor.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]


def test_samba_persona_refusing_logins(tmp_path: Path) -> None:
    """``persona = "samba"``: no SMB1, no ADMIN$; ``accept_logins = "none"``: the login is refused
    (and still logged with its hash)."""
    from impacket.smbconnection import SessionError, SMBConnection

    port = free_port()
    overrides: dict[str, dict[str, Any]] = {
        "sensor.smb": {
            "enabled": True,
            "listen": [f"127.0.0.1:{port}"],
            "netbios_listen": [],
            "persona": "samba",
            "accept_logins": "none",
        },
    }
    with run_sensor(tmp_path, overrides) as sp:
        wait_port(port, proc=sp.proc)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:  # an SMB1-only NEGOTIATE
            s.sendall(DP_NEGOTIATE)
            reply = recv_frame(s)
            assert reply[4:8] == b"\xffSMB" and reply[36:39] == b"\x01\xff\xff"  # no dialect chosen
            assert s.recv(16) == b""  # and the connection is closed
        conn = SMBConnection("127.0.0.1", "127.0.0.1", sess_port=port, timeout=5)
        with pytest.raises(SessionError, match="STATUS_LOGON_FAILURE"):
            conn.login("mallory", PASSWORD, "WORKGROUP")
        conn.close()
        failed = events_of(sp, "smb.login.failed")[0]
        assert failed["username"] == "mallory"
        assert_hash_verifies(failed, PASSWORD)
        anon = SMBConnection("127.0.0.1", "127.0.0.1", sess_port=port, timeout=5)
        anon.login("", "")
        shares = [s["shi1_netname"].rstrip("\x00") for s in anon.listShares()]
        assert shares == ["Users", "Public", "IPC$"]
        anon.close()


# --- in process: paths the real clients above do not take -----------------------------------------


class _Log:
    src_ip = "192.0.2.7"

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def emit(self, eventid: str, /, **fields: Any) -> None:
        self.events.append((eventid, fields))


def _state(tmp_path: Path, **cfg: Any) -> Any:
    from types import SimpleNamespace

    from honeyfarm.config import Config  # noqa: F401 - imports the sensor config in its order
    from honeyfarm.sensor.capture.store import ContentStore
    from honeyfarm.sensor.traps.smb.config import SMBConfig
    from honeyfarm.sensor.traps.smb.state import SMBState, make_persona

    conf = SMBConfig(**cfg)
    ctx = SimpleNamespace(store=ContentStore(tmp_path / "store", 1 << 30), policy=None)
    conn = SimpleNamespace(log=_Log(), fields={}, extra={})
    return SMBState(cast(Any, ctx), conf, make_persona(conf, "unit"), cast(Any, conn))


def _smb2(command: int, body: bytes, session: int = 0, mid: int = 0, next_command: int = 0) -> bytes:
    head = b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ16s", 64, 0, 0, command, 1, 0, next_command, mid, 0, 0, session, b"")
    return head + body


def _setup(blob: bytes) -> bytes:
    return struct.pack("<HBBIIHHQ", 25, 0, 1, 0, 0, 88, len(blob), 0) + blob


def test_a_kerberos_first_client_is_steered_to_ntlm(tmp_path: Path) -> None:
    from honeyfarm.sensor.traps.smb import ntlm
    from honeyfarm.sensor.traps.smb.smb2 import SMB2

    smb2 = SMB2(_state(tmp_path))
    smb2.message(smb2_negotiate()[4:])
    krb = ntlm.der(0x60, ntlm.der(0x06, ntlm.SPNEGO_OID) + ntlm.der(0xA0, b"\x30\x03\xa2\x01\x00"))
    reply = smb2.message(_smb2(1, _setup(krb)))
    assert struct.unpack_from("<I", reply, 8)[0] == 0xC0000016  # MORE_PROCESSING_REQUIRED
    assert ntlm.NTLMSSP_OID in reply and ntlm.SIGNATURE not in reply
    (session,) = struct.unpack_from("<Q", reply, 40)
    negotiate = ntlm.SIGNATURE + struct.pack("<II", 1, ntlm.UNICODE | ntlm.NTLM) + b"\x00" * 16
    reply = smb2.message(_smb2(1, _setup(ntlm.neg_token_resp(1, negotiate)), session=session))
    assert struct.unpack_from("<Q", reply, 40)[0] == session and ntlm.SIGNATURE in reply
    assert len(smb2.sessions) == 1


def test_compounds_are_bounded(tmp_path: Path) -> None:
    from honeyfarm.sensor.traps.smb.smb2 import SMB2
    from honeyfarm.sensor.traps.stream import Malformed

    smb2 = SMB2(_state(tmp_path, max_compound=4))
    smb2.message(smb2_negotiate()[4:])
    four = smb2.message(
        (_smb2(13, struct.pack("<HH", 4, 0), next_command=72) + b"\x00" * 4) * 3 + _smb2(13, b"\x04\x00\x00\x00")
    )
    assert four.count(b"\xfeSMB") == 4
    echo = _smb2(13, struct.pack("<HH", 4, 0), next_command=72) + b"\x00" * 4
    with pytest.raises(Malformed, match="compounded"):
        smb2.message(echo * 5 + _smb2(13, struct.pack("<HH", 4, 0)))


def test_writes_are_kept_in_order_within_the_caps(tmp_path: Path) -> None:
    from honeyfarm.sensor.traps.smb.state import OVERWRITE_IF, Tree

    st = _state(tmp_path, max_file_bytes=4096, max_connection_bytes=5000)
    tree = st.tree_connect("\\\\h\\C$")
    assert isinstance(tree, Tree)
    opened = st.open(tree, "Windows\\a.exe", 0x12019F, OVERWRITE_IF, 0)
    assert not isinstance(opened, int)
    o = opened[0]
    st.write(o, 0, b"A" * 1000)
    st.write(o, 500, b"B" * 1000)  # rewrites kept bytes: only the new tail is kept
    st.write(o, 3000, b"C" * 2000)  # a gap, then past max_file_bytes
    st.write(o, 1 << 60, b"D")  # far past the cap: nothing allocated
    st.close(o)
    eventid, up = st.conn.log.events[-1]
    assert eventid == "smb.session.file_upload"
    assert up["extra"]["truncated"] and up["extra"]["out_of_order"] and up["extra"]["stored"] == 4096
    stored = (tmp_path / "store" / up["sha256"][:2] / up["sha256"]).read_bytes()
    assert stored == b"A" * 1000 + b"B" * 500 + b"\x00" * 1500 + b"C" * 1096
    assert st.tree_connect("\\\\h\\nope") == 0xC00000CC  # STATUS_BAD_NETWORK_NAME


def test_a_netntlmv1_response_is_logged_in_hashcat_mode_5500() -> None:
    from impacket import ntlm as impacket_ntlm

    from honeyfarm.sensor.traps.smb import ntlm

    challenge = bytes.fromhex("1122334455667788")
    nt, lm, _key = impacket_ntlm.computeResponseNTLMv1(
        0, challenge, b"\x00" * 8, "", "CORP", "bob", PASSWORD, use_ntlmv2=False
    )
    auth = ntlm.Auth("bob", "CORP", "WS1", lm, nt, 0)
    line, mode = auth.hashcat(challenge) or ("", 0)
    user, _, domain, lm_hex, nt_hex, chal_hex = line.split(":")
    assert bytes.fromhex(lm_hex) == lm
    assert (mode, auth.version, user, domain, chal_hex) == (5500, "v1", "bob", "CORP", challenge.hex())
    nthash = impacket_ntlm.compute_nthash(PASSWORD)
    assert bytes.fromhex(nt_hex) == impacket_ntlm.ntlmssp_DES_encrypt(nthash, challenge)
    assert ntlm.Auth("", "", "", b"\x00", b"", 0).version == "anonymous"
