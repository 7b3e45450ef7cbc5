# SPDX-License-Identifier: MIT
"""The sensor against the real clients attackers use: OpenSSH's ssh/scp/sftp, sshpass, hydra, medusa.

One sensor (a real ``honeyfarm sensor`` subprocess on loopback) serves the whole
module. Every test checks both sides: what the client printed or returned, and
the events the sensor wrote for that client's session. Sessions are told apart
by a password used only once (the test userdb lets root in with anything but
``root`` and ``123456``). Telnet, uids, downloads, floods and ingest are in
``test_sensor_clients2.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import pty
import re
import secrets
import socket
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from sensorutil import HONEYFARM, SSH_OPTS, SensorProc, need, run_sensor

Events = list[dict[str, Any]]

CLIENT_OVERRIDES: dict[str, dict[str, Any]] = {
    "sensor.credentials": {
        "userdb": ["root:x:!root", "root:x:!123456", "root:x:*", "admin:x:admin2024", "newuser7:x:*"]
    },
    # hydra/medusa and the floods open many connections from 127.0.0.1; sshd's MaxStartups early drop
    # has its own differential test (test_diff_sshd_wire), so it is opened wide here.
    "sensor.limits": {"max_per_ip": 10000},
    "sensor.ssh": {"max_startups": "10000", "max_per_ip": 10000},
}


@pytest.fixture(scope="module")
def sensor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SensorProc]:
    with run_sensor(tmp_path_factory.mktemp("clients"), CLIENT_OVERRIDES) as s:
        yield s


# --- helpers ------------------------------------------------------------------


def skip_unless(*tools: str) -> pytest.MarkDecorator:
    why = need(*tools)
    return pytest.mark.skipif(why is not None, reason=str(why))


def unique_pw(prefix: str = "pw") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def ssh_argv(
    sp: SensorProc, password: str, *opts: str, cmd: str | None = None, user: str = "root", prog: str = "ssh"
) -> list[str]:
    """sshpass + ssh/scp/sftp against the sensor; ``opts`` go before the target (scp/sftp: they are the args)."""
    if prog in ("scp", "sftp"):
        return ["sshpass", "-p", password, prog, *SSH_OPTS, "-P", str(sp.ssh_port), *opts]
    tail = [] if cmd is None else [cmd]
    return ["sshpass", "-p", password, "ssh", *SSH_OPTS, "-p", str(sp.ssh_port), *opts, f"{user}@127.0.0.1", *tail]


def run(argv: list[str], timeout: float = 60, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, **kw)


def of_session(evs: Events, sid: str) -> Events:
    return [e for e in evs if e.get("session") == sid]


def ids(evs: Events) -> list[str]:
    return [e["eventid"] for e in evs]


def wait_session(sp: SensorProc, password: str, *, closed: bool = True, timeout: float = 15) -> Events:
    """Events of the session that logged in (or tried) with ``password``, once it has closed."""

    def find(evs: Events) -> str | None:
        for e in evs:
            if e["eventid"].startswith("cowrie.login.") and e.get("password") == password:
                return str(e["session"])
        return None

    def done(evs: Events) -> bool:
        sid = find(evs)
        if sid is None:
            return False
        return not closed or "cowrie.session.closed" in ids(of_session(evs, sid))

    evs = sp.wait_for(done, timeout)
    sid = find(evs)
    assert sid is not None
    return of_session(evs, sid)


def one(evs: Events, eventid: str) -> dict[str, Any]:
    found = [e for e in evs if e["eventid"] == eventid]
    assert len(found) == 1, (eventid, ids(evs))
    return found[0]


class Spawn:
    """A client process driven like expect(1): on pipes, or on a pty of a given size."""

    def __init__(self, argv: list[str], *, winsize: tuple[int, int] | None = None, env: dict[str, str] | None = None):
        self.buf = bytearray()
        self.pos = 0
        self._lock = threading.Lock()
        self._master: int | None = None
        if winsize is not None:
            master, slave = pty.openpty()
            rows, cols = winsize
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            try:
                self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env)
            finally:
                os.close(slave)
            self._master = master
            self._rfd = self._wfd = master
        else:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env
            )
            assert self.proc.stdin is not None and self.proc.stdout is not None
            self._rfd, self._wfd = self.proc.stdout.fileno(), self.proc.stdin.fileno()
        self._thread = threading.Thread(target=self._reader, daemon=True)
        self._thread.start()

    def _reader(self) -> None:
        while True:
            try:
                data = os.read(self._rfd, 65536)
            except OSError:  # EIO: the pty's other side is gone
                return
            if not data:
                return
            with self._lock:
                self.buf += data

    @property
    def text(self) -> str:
        with self._lock:
            return self.buf.decode("utf-8", "replace")

    def expect(self, needle: str, timeout: float = 15) -> str:
        """Wait for ``needle`` after the last match; return what came before it."""
        want = needle.encode()
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                i = self.buf.find(want, self.pos)
                if i >= 0:
                    before = bytes(self.buf[self.pos : i])
                    self.pos = i + len(want)
                    return before.decode("utf-8", "replace")
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} not seen after {timeout} s; output so far: {self.text[-2000:]!r}")
            time.sleep(0.02)

    def send(self, data: str) -> None:
        os.write(self._wfd, data.encode())

    def close(self, timeout: float = 15) -> int:
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait(5)
        finally:
            if self._master is not None:
                with contextlib.suppress(OSError):
                    os.close(self._master)
            for f in (self.proc.stdin, self.proc.stdout):
                if f is not None:
                    f.close()
            self._thread.join(5)
        return rc


# --- 1. exec ------------------------------------------------------------------


@skip_unless("ssh", "sshpass")
def test_exec_command_output_status_and_events(sensor: SensorProc) -> None:
    pw = unique_pw()
    res = run(ssh_argv(sensor, pw, cmd="uname -a; id; foo"))
    assert "Linux web-01 6.1.0-28-cloud-amd64 #1 SMP PREEMPT_DYNAMIC" in res.stdout
    assert "x86_64 GNU/Linux" in res.stdout
    assert "uid=0(root) gid=0(root) groups=0(root)" in res.stdout
    assert res.stderr == "bash: line 1: foo: command not found\n"  # bash -c's wording, on stderr
    assert res.returncode == 127

    evs = wait_session(sensor, pw)
    sid = evs[0]["session"]
    assert re.fullmatch(r"[0-9a-f]{12}", sid)
    order = ids(evs)
    for eid in (
        "cowrie.session.connect",
        "cowrie.client.version",
        "cowrie.client.kex",
        "cowrie.login.success",
        "cowrie.session.params",
        "cowrie.command.input",
        "cowrie.command.failed",
        "cowrie.session.closed",
    ):
        assert eid in order, (eid, order)
    assert order[0] == "cowrie.session.connect" and order[-1] == "cowrie.session.closed"
    assert one(evs, "cowrie.client.version")["client_version"].startswith("SSH-2.0-OpenSSH_9.2p1")
    assert re.fullmatch(r"[0-9a-f]{32}", one(evs, "cowrie.client.kex")["hassh"])
    ok = one(evs, "cowrie.login.success")
    assert (ok["username"], ok["password"]) == ("root", pw)
    assert one(evs, "cowrie.command.input")["command"] == "uname -a; id; foo"
    assert one(evs, "cowrie.command.failed")["command"] == "foo"
    assert one(evs, "cowrie.session.closed")["duration"] > 0
    assert {e["protocol"] for e in evs} == {"ssh"}
    assert {e["dst_port"] for e in evs} == {sensor.ssh_port}


# --- 2. interactive -------------------------------------------------------------


@skip_unless("ssh", "sshpass")
def test_interactive_pty_session_and_replay(sensor: SensorProc) -> None:
    pw = unique_pw()
    cli = Spawn(ssh_argv(sensor, pw, "-t"), winsize=(40, 132))
    try:
        cli.expect("root@web-01:~# ")
        cli.send("whoami\r")
        assert "root" in cli.expect("root@web-01:~# ")
        cli.send("cd /tmp\r")
        cli.expect("root@web-01:/tmp# ")
        cli.send("pwd\r")
        assert "/tmp\r\n" in cli.expect("root@web-01:/tmp# ")
        cli.send("exit\r")
        cli.expect("logout")
    finally:
        rc = cli.close()
    assert rc == 0
    assert "Debian GNU/Linux comes with ABSOLUTELY NO WARRANTY" in cli.text

    evs = wait_session(sensor, pw)
    size = one(evs, "cowrie.client.size")
    assert (size["width"], size["height"]) == (132, 40)
    assert [e["command"] for e in evs if e["eventid"] == "cowrie.command.input"] == ["whoami", "cd /tmp", "pwd", "exit"]
    closed = one(evs, "cowrie.log.closed")
    sid = evs[0]["session"]
    assert closed["ttylog"] == f"tty/{sid}.cast"
    assert (sensor.spool / closed["ttylog"]).stat().st_size == closed["size"] > 0

    rep = run([*HONEYFARM, "replay", sid, "--spool", str(sensor.spool), "--speed", "0"], timeout=60)
    assert rep.returncode == 0, rep.stderr
    assert "root@web-01:/tmp# " in rep.stdout
    assert "\n/tmp" in rep.stdout.replace("\r", "")
    assert "whoami" in rep.stdout and "logout" in rep.stdout


# --- 3. wrong passwords -----------------------------------------------------------


@skip_unless("ssh", "sshpass")
def test_wrong_password_fails_and_is_logged_verbatim(sensor: SensorProc) -> None:
    t0 = time.time()
    res = run(ssh_argv(sensor, "root", cmd="true"))
    assert res.returncode == 5  # sshpass: "invalid/incorrect password"
    weird = f"pw with spaces 'quote' \"dq\" ü {secrets.token_hex(3)}"
    res = run(ssh_argv(sensor, weird, cmd="true", user="admin"))
    assert res.returncode == 5
    evs = wait_session(sensor, weird)
    failed = [e for e in evs if e["eventid"] == "cowrie.login.failed"]
    assert [(e["username"], e["password"]) for e in failed] == [("admin", weird)]
    assert "cowrie.login.success" not in ids(evs)
    # the root/root attempt of the first client, exactly as typed
    all_evs = sensor.events()
    assert any(
        e["eventid"] == "cowrie.login.failed"
        and (e["username"], e["password"]) == ("root", "root")
        and e["ts"] >= time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0 - 1))
        for e in all_evs
    )


@skip_unless("ssh")
def test_too_many_authentication_failures(sensor: SensorProc, tmp_path: Path) -> None:
    pw = unique_pw("bad")
    askpass = tmp_path / "askpass.sh"
    askpass.write_text(f"#!/bin/sh\necho '{pw}'\n")
    askpass.chmod(0o755)
    env = {**os.environ, "SSH_ASKPASS": str(askpass), "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"}
    argv = [
        "ssh",
        *SSH_OPTS,
        "-o",
        "NumberOfPasswordPrompts=10",
        "-o",
        "PreferredAuthentications=password",
        "-p",
        str(sensor.ssh_port),
        "admin@127.0.0.1",
        "true",
    ]
    res = run(argv, env=env, timeout=60)
    assert res.returncode == 255
    assert res.stderr.count("Permission denied, please try again.") == 5
    assert "Too many authentication failures" in res.stderr

    evs = sensor.wait_for(
        lambda evs: (
            sum(1 for e in evs if e.get("password") == pw) == 6
            and any(e["eventid"] == "cowrie.session.closed" for e in of_session(evs, _sid_by_pw(evs, pw)))
        ),
        timeout=20,
    )
    sess = of_session(evs, _sid_by_pw(evs, pw))
    failed = [e for e in sess if e["eventid"] == "cowrie.login.failed"]
    assert [(e["username"], e["password"]) for e in failed] == [("admin", pw)] * 6


def _sid_by_pw(evs: Events, pw: str) -> str:
    return next((str(e["session"]) for e in evs if e.get("password") == pw), "-")


class _DropAfterPassword(asyncssh.SSHClient):
    """Sends a password and hangs up 50 ms later, well inside the failure delay."""

    def __init__(self, password: str, sent: list[str]) -> None:
        self.password = password
        self.sent = sent
        self.conn: asyncssh.SSHClientConnection | None = None

    def connection_made(self, conn: asyncssh.SSHClientConnection) -> None:
        self.conn = conn

    def password_auth_requested(self) -> str:
        assert self.conn is not None
        asyncio.get_running_loop().call_later(0.05, self.conn.abort)
        self.sent.append(self.password)
        return self.password


def test_failed_password_logged_when_client_hangs_up_during_delay(sensor: SensorProc) -> None:
    pws = [unique_pw("drop") for _ in range(3)]
    sent: list[str] = []

    async def attempt(pw: str) -> None:
        with contextlib.suppress(asyncssh.Error, OSError, TimeoutError):
            async with asyncio.timeout(10):
                conn = await asyncssh.connect(
                    "127.0.0.1",
                    sensor.ssh_port,
                    username="admin",
                    known_hosts=None,
                    preferred_auth="password",
                    client_factory=lambda: _DropAfterPassword(pw, sent),
                )
                conn.close()

    async def main() -> None:
        await asyncio.gather(*(attempt(pw) for pw in pws))

    asyncio.run(main())
    assert sorted(sent) == sorted(pws)  # each password reached the server
    time.sleep(1.5)  # well past the 0.2 s (±25%) failure delay and the 0.1 s spool fsync
    logged = {e.get("password") for e in sensor.events() if e["eventid"] == "cowrie.login.failed"}
    assert set(pws) <= logged


# --- 4. uploads ---------------------------------------------------------------------


@skip_unless("scp", "sftp", "sshpass")
@pytest.mark.parametrize("mode", ["scp", "scp-legacy", "sftp-batch"])
def test_upload_is_captured_not_written(sensor: SensorProc, tmp_path: Path, mode: str) -> None:
    data = os.urandom(70_000) + mode.encode()
    sha = hashlib.sha256(data).hexdigest()
    src = tmp_path / "payload.bin"
    src.write_bytes(data)
    target = Path(f"/tmp/evil-{secrets.token_hex(6)}")
    pw = unique_pw(mode)
    if mode == "sftp-batch":
        batch = tmp_path / "batch"
        batch.write_text(f"put {src} {target}\nls -l {target}\n")
        # -b implies BatchMode (no passwords); sshpass answers the prompt instead.
        res = run([*ssh_argv(sensor, pw, "-o", "BatchMode=no", "-b", str(batch), prog="sftp"), "root@127.0.0.1"])
        assert res.returncode == 0, res.stderr
        assert target.name in res.stdout
    else:
        extra = ["-O"] if mode == "scp-legacy" else []
        res = run(ssh_argv(sensor, pw, *extra, str(src), f"root@127.0.0.1:{target}", prog="scp"))
        if mode == "scp-legacy":
            assert res.returncode == 0, res.stderr
        # (scp over SFTP: its exit status is tested on its own below)
    assert not target.exists(), "the upload reached the host's filesystem"

    evs = wait_session(sensor, pw)
    up = one(evs, "cowrie.session.file_upload")
    assert up["sha256"] == sha
    assert up["size"] == len(data)
    assert up["filename"] == str(target)
    stored = sensor.spool / "downloads" / sha[:2] / sha
    assert stored.read_bytes() == data


@skip_unless("scp", "sshpass")
def test_scp_sftp_mode_exit_status(sensor: SensorProc, tmp_path: Path) -> None:
    src = tmp_path / "small.bin"
    src.write_bytes(os.urandom(1000))
    target = f"/tmp/evil-{secrets.token_hex(6)}"
    res = run(ssh_argv(sensor, unique_pw(), str(src), f"root@127.0.0.1:{target}", prog="scp"))
    assert res.returncode == 0, res.stderr


# --- 5. public key ------------------------------------------------------------------


@skip_unless("ssh", "sshpass", "ssh-keygen")
def test_public_key_offered_then_password(sensor: SensorProc, tmp_path: Path) -> None:
    key = tmp_path / "id_test"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30)
    fp = run(["ssh-keygen", "-lf", f"{key}.pub"]).stdout.split()[1]
    assert fp.startswith("SHA256:")
    pw = unique_pw()
    opts = ["-i", str(key), "-o", "IdentitiesOnly=yes", "-o", "PreferredAuthentications=publickey,password"]
    res = run(ssh_argv(sensor, pw, *opts, cmd="echo in"))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "in"

    evs = wait_session(sensor, pw)
    offered = one(evs, "cowrie.client.fingerprint")
    assert offered["fingerprint"] == fp
    assert offered["key_type"] == "ssh-ed25519"
    assert offered["username"] == "root"
    order = ids(evs)
    assert order.index("cowrie.client.fingerprint") < order.index("cowrie.login.success")


# --- 6. environment -----------------------------------------------------------------


@skip_unless("ssh", "sshpass")
def test_setenv_is_logged(sensor: SensorProc) -> None:
    pw = unique_pw()
    env = {**os.environ, "HF_SENT": "sent value"}
    res = run(ssh_argv(sensor, pw, "-o", "SetEnv=FOO=bar", "-o", "SendEnv=HF_SENT", cmd="true"), env=env)
    assert res.returncode == 0, res.stderr
    evs = wait_session(sensor, pw)
    got = {e["name"]: e["value"] for e in evs if e["eventid"] == "cowrie.client.var"}
    assert got["FOO"] == "bar"
    assert got["HF_SENT"] == "sent value"


# --- 7. port forwarding ---------------------------------------------------------------


@skip_unless("ssh", "sshpass")
def test_direct_tcpip_is_logged_and_refused(sensor: SensorProc) -> None:
    pw = unique_pw()
    argv = ssh_argv(sensor, pw, "-W", "10.1.2.3:8080")
    argv.insert(4, "-oLogLevel=INFO")  # ssh keeps the first value given: show the channel-open failure
    res = run(argv)
    assert res.returncode == 255
    assert "open failed: connect failed: Connection refused" in res.stderr
    evs = wait_session(sensor, pw)
    req = one(evs, "cowrie.direct-tcpip.request")
    assert (req["dst_ip"], req["dst_port"]) == ("10.1.2.3", 8080)


@skip_unless("ssh", "sshpass")
def test_direct_tcpip_to_a_listening_port_is_not_forwarded(sensor: SensorProc) -> None:
    with socket.socket() as lsock:
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(8)
        lsock.setblocking(False)
        port = lsock.getsockname()[1]
        pw = unique_pw()
        res = run(ssh_argv(sensor, pw, "-W", f"127.0.0.1:{port}"), timeout=30)
        assert res.returncode == 255
        assert "stdio forwarding failed" in res.stderr
        evs = wait_session(sensor, pw)
        req = one(evs, "cowrie.direct-tcpip.request")
        assert (req["dst_ip"], req["dst_port"]) == ("127.0.0.1", port)
        with pytest.raises(BlockingIOError):
            lsock.accept()  # nobody connected


# --- 8. brute-forcers ---------------------------------------------------------------

PASSWORDS = ["password", "123456", "admin", "qwerty", "letmein", "toor", "changeme", "passw0rd", "dragon", "admin2024"]


def _new_sessions(sp: SensorProc, before: set[str], version_prefix: str) -> Events:
    evs = sp.events()
    sids = {
        e["session"]
        for e in evs
        if e["eventid"] == "cowrie.client.version"
        and e["session"] not in before
        and e["client_version"].startswith(version_prefix)
    }
    return [e for e in evs if e.get("session") in sids]


def _sessions(sp: SensorProc) -> set[str]:
    return {str(e["session"]) for e in sp.events() if "session" in e}


def _wait_closed(sp: SensorProc, before: set[str], timeout: float = 20) -> None:
    def ok(evs: Events) -> bool:
        opened = {e["session"] for e in evs if e["eventid"] == "cowrie.session.connect"} - before
        shut = {e["session"] for e in evs if e["eventid"] == "cowrie.session.closed"}
        return bool(opened) and opened <= shut

    sp.wait_for(ok, timeout)


@skip_unless("hydra")
def test_hydra_ssh_finds_the_password(sensor: SensorProc, tmp_path: Path) -> None:
    (tmp_path / "pw.txt").write_text("\n".join(PASSWORDS) + "\n")
    before = _sessions(sensor)
    res = run(
        ["hydra", "-l", "admin", "-P", "pw.txt", "-t", "4", "-I", f"ssh://127.0.0.1:{sensor.ssh_port}"],
        120,
        cwd=tmp_path,
    )
    found = re.findall(r"\[ssh\] host: 127\.0\.0\.1\s+login: (\S+)\s+password: (\S+)", res.stdout)
    assert found == [("admin", "admin2024")], res.stdout
    _wait_closed(sensor, before)
    evs = _new_sessions(sensor, before, "SSH-2.0-libssh")
    ok = [(e["username"], e["password"]) for e in evs if e["eventid"] == "cowrie.login.success"]
    failed = [(e["username"], e["password"]) for e in evs if e["eventid"] == "cowrie.login.failed"]
    assert ok == [("admin", "admin2024")]
    assert {u for u, _ in failed} == {"admin"}
    assert {p for _, p in failed} <= set(PASSWORDS[:-1])
    # the 10th password goes out once a task is free: at most 3 attempts were still in flight
    assert len({p for _, p in failed}) >= len(PASSWORDS) - 4


@skip_unless("medusa")
def test_medusa_ssh_finds_the_password(sensor: SensorProc, tmp_path: Path) -> None:
    (tmp_path / "pw.txt").write_text("\n".join(PASSWORDS) + "\n")
    before = _sessions(sensor)
    argv = ["medusa", "-h", "127.0.0.1", "-n", str(sensor.ssh_port), "-u", "admin", "-P", "pw.txt", "-M", "ssh"]
    res = run([*argv, "-t", "4"], 120, cwd=tmp_path)
    assert "ACCOUNT FOUND: [ssh] Host: 127.0.0.1 User: admin Password: admin2024 [SUCCESS]" in res.stdout, res.stdout
    assert len(re.findall(r"ACCOUNT FOUND", res.stdout)) == 1
    _wait_closed(sensor, before)
    evs = _new_sessions(sensor, before, "SSH-2.0-MEDUSA")
    ok = [(e["username"], e["password"]) for e in evs if e["eventid"] == "cowrie.login.success"]
    failed = {(e["username"], e["password"]) for e in evs if e["eventid"] == "cowrie.login.failed"}
    assert ok == [("admin", "admin2024")]
    assert failed and failed <= {("admin", p) for p in PASSWORDS[:-1]}
