# SPDX-License-Identifier: MIT
"""Channels after login, the trap against Debian 12's real sshd, with the real ``ssh`` client.

Each probe runs against both servers (user ``sshtest`` on each) and the answers are compared where
the client can see them: stdout/stderr split and exit status of exec channels, standard input fed
to ``sh``/``bash -s``/``cat``, the environment's names, order and connection values, subsystem and
forwarding answers, and the bytes of a pty session around bash's readline (bracketed paste,
Ctrl-C, TAB completion, Ctrl-D). Host names and prompts differ on purpose and are normalised.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pty
import re
import secrets
import select
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sensorutil import SSH_OPTS, RealSSHD, SensorProc, need, run_real_sshd, run_sensor, sshd_available

USER, PASSWORD = "sshtest", "Test-Pass-123"
Target = tuple[int, str]  # (port, kind)

pytestmark = pytest.mark.skipif(
    bool(need("ssh", "sshpass") or sshd_available()), reason=str(need("ssh", "sshpass") or sshd_available())
)


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealSSHD]:
    with run_real_sshd(tmp_path_factory.mktemp("real-sshd")) as s:
        yield s


@pytest.fixture(scope="module")
def trap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SensorProc]:
    overrides: dict[str, dict[str, Any]] = {
        "sensor.credentials": {"userdb": [f"{USER}:x:{PASSWORD}", "root:x:root-pw-1"]},
        "sensor.limits": {"max_per_ip": 1000},
    }
    with run_sensor(tmp_path_factory.mktemp("channels"), overrides) as s:
        yield s


def ssh(port: int, *opts: str, cmd: str | None = None, stdin: bytes | None = None, user: str = USER,
        password: str = PASSWORD, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:  # fmt: skip
    # ssh keeps the first value of an option: a LogLevel in ``opts`` must come before SSH_OPTS'.
    first = [o for o in opts if o.startswith("-oLogLevel=")]
    rest = [o for o in opts if not o.startswith("-oLogLevel=")]
    argv = ["sshpass", "-p", password, "ssh", *first, *SSH_OPTS, "-p", str(port), *rest, f"{user}@127.0.0.1"]
    if cmd is not None:
        argv.append(cmd)
    return subprocess.run(
        argv, input=stdin if stdin is not None else b"", capture_output=True, timeout=timeout, check=False
    )


def both(real: RealSSHD, trap: SensorProc, *opts: str, **kw: Any) -> tuple[Any, Any]:
    return ssh(real.port, *opts, **kw), ssh(trap.ssh_port, *opts, **kw)


# --- exec channels ------------------------------------------------------------------------------


def test_stdout_stderr_and_exit_status_are_apart_as_on_sshd(real: RealSSHD, trap: SensorProc) -> None:
    r, t = both(real, trap, cmd="nosuchcmd; echo out; ls /nonexistent-dir")
    assert (t.stdout, t.stderr, t.returncode) == (r.stdout, r.stderr, r.returncode)
    assert r.stdout == b"out\n" and b"bash: line 1: nosuchcmd: command not found\n" in r.stderr


def test_shell_without_a_pty_reads_a_pipe_as_on_sshd(real: RealSSHD, trap: SensorProc) -> None:
    script = b"nosuchcmd\necho hi\nexit 3\necho never\n"
    r, t = both(real, trap, "-T", stdin=script)
    assert r.returncode == t.returncode == 3
    # The motd (pam_motd prints it for any shell session), then the script's output; uname line aside.
    assert t.stdout.split(b"\n", 1)[1] == r.stdout.split(b"\n", 1)[1]
    assert r.stdout.endswith(b"permitted by applicable law.\nhi\n")
    assert r.stderr.endswith(b"bash: line 1: nosuchcmd: command not found\n")
    assert t.stderr.endswith(b"bash: line 1: nosuchcmd: command not found\n")  # real: `-bash: ...` (login shell)


def test_exec_with_a_pty_merges_the_streams_as_on_sshd(real: RealSSHD, trap: SensorProc) -> None:
    r, t = both(real, trap, "-tt", cmd="nosuchcmd; echo out; exit 5")
    assert (
        (t.stdout, t.returncode)
        == (r.stdout, r.returncode)
        == (
            b"bash: line 1: nosuchcmd: command not found\r\nout\r\n",
            5,
        )
    )


def test_exit_in_exec_prints_no_logout(real: RealSSHD, trap: SensorProc) -> None:
    r, t = both(real, trap, cmd="exit 3")
    assert (t.stdout, t.stderr, t.returncode) == (r.stdout, r.stderr, r.returncode) == (b"", b"", 3)


def test_stdin_is_fed_to_sh_and_logged(real: RealSSHD, trap: SensorProc) -> None:
    script = f"echo hi-{secrets.token_hex(3)}\nexit 4\n".encode()
    r, t = both(real, trap, cmd="sh", stdin=script)
    assert (t.stdout, t.returncode) == (r.stdout, r.returncode)
    assert r.returncode == 4 and r.stdout.startswith(b"hi-")
    digest = hashlib.sha256(script).hexdigest()
    evs = trap.wait_for(
        lambda es: any(e["eventid"] == "cowrie.session.stdin" and e.get("sha256") == digest for e in es)
    )
    ev = next(e for e in evs if e["eventid"] == "cowrie.session.stdin" and e.get("sha256") == digest)
    assert ev["command"] == "sh" and ev["size"] == len(script) and ev["text"] == script.decode()
    stored = trap.spool / "downloads" / digest[:2] / digest
    assert stored.read_bytes() == script  # captured like an upload


def test_bash_s_reads_the_script_from_stdin(real: RealSSHD, trap: SensorProc) -> None:
    r, t = both(real, trap, cmd="bash -s", stdin=b"echo from-bash-s\nexit 7\n")
    assert (t.stdout, t.returncode) == (r.stdout, r.returncode) == (b"from-bash-s\n", 7)


def test_cat_writes_stdin_to_a_file_that_stays(real: RealSSHD, trap: SensorProc) -> None:
    name = f"/tmp/hf-chan-{secrets.token_hex(4)}"
    data = b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA planted\n"
    try:
        r, t = both(real, trap, cmd=f"cat > {name}; wc -c < {name}", stdin=data)
        assert (t.stdout, t.returncode) == (r.stdout, r.returncode) == (f"{len(data)}\n".encode(), 0)
        r2, t2 = both(real, trap, cmd=f"cat {name}")
        assert t2.stdout == r2.stdout == data  # a second connection sees it
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


def test_binary_piped_into_cat_is_kept_byte_for_byte(real: RealSSHD, trap: SensorProc) -> None:
    data = secrets.token_bytes(3000) + b"\xe2\x9c"  # ends inside a UTF-8 sequence
    name = f"/tmp/hf-bin-{secrets.token_hex(4)}"
    try:
        r, t = both(real, trap, cmd=f"cat > {name}; md5sum < {name}; wc -c < {name}", stdin=data)
        assert t.stdout == r.stdout == f"{hashlib.md5(data).hexdigest()}  -\n{len(data)}\n".encode()
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)
    digest = hashlib.sha256(data).hexdigest()
    trap.wait_for(lambda es: any(e["eventid"] == "cowrie.session.stdin" and e.get("sha256") == digest for e in es))
    assert (trap.spool / "downloads" / digest[:2] / digest).read_bytes() == data


# --- environment ------------------------------------------------------------------------------------------


def _env(out: bytes) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in out.decode().replace("\r", "").splitlines() if "=" in line]
    return dict((k, v) for k, v in pairs)


# Variables both servers set the same way (the trap's persona adds LANG and HOSTNAME of its own).
SSHD_NAMES = ["SHELL", "PWD", "LOGNAME", "MOTD_SHOWN", "HOME", "SSH_CONNECTION", "TERM", "USER", "SHLVL",
              "SSH_CLIENT", "PATH", "SSH_TTY", "_"]  # fmt: skip


@pytest.mark.parametrize("mode", ["exec", "pty"])
def test_environment_is_the_connection_s_as_on_sshd(real: RealSSHD, trap: SensorProc, mode: str) -> None:
    opts = ("-tt", "-o", "SetEnv=TERM=vt220") if mode == "pty" else ()
    envs = {}
    for name, port in (("real", real.port), ("trap", trap.ssh_port)):
        # `env; true`: a lone `env` is exec'ed by `bash -c`, which then shows SHLVL=0 (the shell's business).
        res = ssh(port, *opts, cmd="env; true")
        assert res.returncode == 0, res.stderr
        env = _env(res.stdout)
        client_ip, client_port, server_ip, server_port = env["SSH_CONNECTION"].split()
        assert (client_ip, server_ip, int(server_port)) == ("127.0.0.1", "127.0.0.1", port)
        assert env["SSH_CLIENT"] == f"{client_ip} {client_port} {server_port}"
        envs[name] = env
    common = {k: v for k, v in envs["real"].items() if k in SSHD_NAMES}
    trap_common = {k: v for k, v in envs["trap"].items() if k in SSHD_NAMES}
    assert list(trap_common) == list(common)  # same names, same (bash hash) order
    for k in ("SHELL", "PWD", "LOGNAME", "MOTD_SHOWN", "HOME", "USER", "SHLVL", "PATH", "_"):
        assert trap_common[k] == common[k], k
    if mode == "pty":
        assert re.fullmatch(r"/dev/pts/\d+", envs["trap"]["SSH_TTY"])
        assert envs["trap"]["TERM"] == envs["real"]["TERM"]
    else:
        assert "SSH_TTY" not in envs["trap"] and "TERM" not in envs["trap"]


# --- subsystems and forwarding ---------------------------------------------------------------------


def test_unknown_subsystem_fails_as_on_sshd(real: RealSSHD, trap: SensorProc) -> None:
    r, t = both(real, trap, "-s", cmd="foo")
    assert r.returncode == t.returncode == 255
    assert b"subsystem request failed on channel 0" in r.stderr
    assert t.stderr == r.stderr


@pytest.mark.parametrize("target", ["127.0.0.1:1", "nonexistent.invalid:80"])
def test_stdio_forwarding_answer_as_on_sshd(real: RealSSHD, trap: SensorProc, target: str) -> None:
    r, t = both(real, trap, "-oLogLevel=INFO", "-W", target)
    strip = re.compile(rb"Warning: Permanently added[^\n]*\n")
    assert r.returncode == t.returncode == 255
    assert b"open failed: connect failed: " in r.stderr
    assert strip.sub(b"", t.stderr) == strip.sub(b"", r.stderr)
    host, port = target.rsplit(":", 1)
    evs = trap.wait_for(
        lambda es: any(e["eventid"] == "cowrie.direct-tcpip.request" and e.get("dst_ip") == host for e in es)
    )
    ev = next(e for e in evs if e["eventid"] == "cowrie.direct-tcpip.request" and e.get("dst_ip") == host)
    assert ev["dst_port"] == int(port)


def test_remote_forward_answers_as_on_sshd_without_listening(real: RealSSHD, trap: SensorProc) -> None:
    opts = ("-oLogLevel=INFO", "-R", "0:localhost:80")
    r, t = both(real, trap, *opts, cmd="sleep 1; echo done")
    pat = re.compile(rb"Allocated port (\d+) for remote forward to localhost:80\r?\n")
    assert pat.search(r.stderr) and r.stdout == b"done\n"
    m = pat.search(t.stderr)
    assert m and t.stdout == b"done\n" and t.returncode == r.returncode == 0
    import socket

    with socket.socket() as s, pytest.raises(OSError):
        s.settimeout(2)
        s.connect(("127.0.0.1", int(m.group(1))))  # nothing listens there
    # A non-root user cannot bind a privileged port.
    r, t = both(real, trap, "-oLogLevel=INFO", "-R", "80:localhost:80", cmd="sleep 1; echo done")
    assert b"Warning: remote port forwarding failed for listen port 80" in r.stderr
    assert b"Warning: remote port forwarding failed for listen port 80" in t.stderr
    evs = trap.wait_for(lambda es: sum(e["eventid"] == "cowrie.tcpip-forward.request" for e in es) >= 2)
    reqs = [e for e in evs if e["eventid"] == "cowrie.tcpip-forward.request"]
    assert [(e["listen_port"], e["accepted"]) for e in reqs[-2:]] == [(0, True), (80, False)]


# --- the pty: bash's readline ---------------------------------------------------------------------------


class Pty:
    """``ssh -tt`` on a pty of our own; every byte the server sends is kept."""

    def __init__(self, port: int) -> None:
        master, slave = pty.openpty()
        env = dict(os.environ, TERM="xterm-256color")
        argv = ["sshpass", "-p", PASSWORD, "ssh", *SSH_OPTS, "-tt", "-p", str(port), f"{USER}@127.0.0.1"]
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env)
        os.close(slave)
        self.fd = master
        self.buf = b""

    def _read(self, wait: float) -> bool | None:
        """Read what arrives within ``wait`` seconds: None if nothing came, False once the session ended."""
        r, _, _ = select.select([self.fd], [], [], wait)
        if not r:
            return None
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            return False
        self.buf += data
        return bool(data)

    def pump(self, until: bytes, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while until not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{until!r} not seen: {self.buf[-500:]!r}")
            if self._read(min(left, 0.2)) is False:
                return  # the session ended (EOF or EIO on the pty)

    def settle(self, quiet: float = 0.6) -> None:
        while self._read(quiet):
            pass

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)
        self.settle()

    def close(self) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        os.close(self.fd)


REAL_PROMPT = re.compile(rb"\x1b\]0;[^\x07]*\x07\x1b\[01;32m[^\x1b]*\x1b\[00m:\x1b\[01;34m([^\x1b]*)\x1b\[00m\$ ")
TRAP_PROMPT = re.compile(rb"sshtest@web-01:([^$\r\n]*)\$ ")


def _session(port: int, keys: list[bytes], prompt: re.Pattern[bytes]) -> bytes:
    cli = Pty(port)
    try:
        cli.pump(b"$ ")
        cli.settle()
        start = len(cli.buf)
        for k in keys:
            cli.send(k)
        cli.pump(b"logout\r\n")
        return prompt.sub(rb"<P \1>", cli.buf[start:])
    finally:
        cli.close()


def test_pty_readline_bytes_as_bash(real: RealSSHD, trap: SensorProc) -> None:
    d = f"/tmp/hf-tab-{secrets.token_hex(4)}"
    setup = f"mkdir -p {d}/beta && touch {d}/alpha1 {d}/alpha2 {d}/gamma.txt"
    try:
        for port in (real.port, trap.ssh_port):
            assert ssh(port, cmd=setup).returncode == 0
        keys = [
            b"echo abc",
            b"\x03",  # Ctrl-C after typing: ^C, the line dropped, a new prompt
            b"\x1b[200~echo pasted\x1b[201~",
            b"\r",  # bracketed paste, then Enter
            b"ech",
            b"\t",
            b"\x03",  # a command name completed
            f"ls {d}/al".encode(),
            b"\t",
            b"\t",
            b"\t",
            b"\x03",  # common part + bell, bell, then the list
            f"ls {d}/b".encode(),
            b"\t",
            b"\x03",  # a directory: its slash
            f"cat {d}/ga".encode(),
            b"\t",
            b"\r",  # a file: a space, then run
            b"xyzzy-nothing",
            b"\t",
            b"\x03",  # no match: the bell
            b"\x04",  # Ctrl-D on an empty line: logout
        ]
        r = _session(real.port, keys, REAL_PROMPT)
        t = _session(trap.ssh_port, keys, TRAP_PROMPT)
        assert t == r
        assert b"\x1b[?2004h<P ~>" in r and b"^C" in r and b"alpha1  alpha2  \r\n" in r
    finally:
        subprocess.run(["rm", "-rf", d], check=False)


def test_pty_continuation_prompt_as_bash(real: RealSSHD, trap: SensorProc) -> None:
    """An unfinished command (an `if` without `fi`, an open quote) gets bash's PS2 `> `, then runs whole."""
    keys = [b"if true; then\r", b"echo yes\r", b"fi\r", b"echo 'a\r", b"b'\r", b"\x04"]
    r = _session(real.port, keys, REAL_PROMPT)
    t = _session(trap.ssh_port, keys, TRAP_PROMPT)
    assert t == r
    assert b"> " in r and b"yes\r\n" in r and b"a\r\nb\r\n" in r


# --- sessions per connection ------------------------------------------------------------------------------


async def _open_sessions(port: int, n: int) -> list[str]:
    import asyncssh

    outcomes: list[str] = []
    async with asyncssh.connect(
        "127.0.0.1", port, username=USER, password=PASSWORD, known_hosts=None, client_keys=None
    ) as conn:
        chans = []
        for _ in range(n):
            try:
                chan, _session = await conn.create_session(asyncssh.SSHClientSession, "sleep 5")
            except asyncssh.ChannelOpenError as exc:
                outcomes.append(f"{exc.code}:{exc.reason}")
                continue
            chans.append(chan)
            outcomes.append("open")
        for chan in chans:
            chan.close()
    return outcomes


def test_max_sessions_per_connection_as_on_sshd(real: RealSSHD, trap: SensorProc) -> None:
    import asyncio

    r = asyncio.run(_open_sessions(real.port, 11))
    t = asyncio.run(_open_sessions(trap.ssh_port, 11))
    assert t == r == ["open"] * 10 + ["2:open failed"]


@contextlib.contextmanager
def _sshd_without_forwarding(real: RealSSHD) -> Iterator[int]:
    """The same real sshd (keys, users, PAM) on another port with ``AllowTcpForwarding no``."""
    from sensorutil import free_port, wait_port

    port = free_port()
    text = (real.workdir / "sshd_config").read_text()
    text = re.sub(r"(?m)^Port \d+$", f"Port {port}", text)
    text = re.sub(r"(?m)^PidFile .*$", f"PidFile {real.workdir}/sshd-nofwd.pid", text)
    cfg = real.workdir / "sshd_config_nofwd"
    cfg.write_text(text + "AllowTcpForwarding no\n")
    proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(cfg)], stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc=proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def test_forwarding_refused_by_policy_as_sshd_with_forwarding_off(
    real: RealSSHD, tmp_path_factory: pytest.TempPathFactory
) -> None:
    overrides: dict[str, dict[str, Any]] = {
        "sensor.credentials": {"userdb": [f"{USER}:x:{PASSWORD}"]},
        "sensor.ssh": {"forward_answer": "prohibited", "remote_forward": "refuse"},
    }
    strip = re.compile(rb"Warning: Permanently added[^\n]*\n")
    with _sshd_without_forwarding(real) as port, run_sensor(tmp_path_factory.mktemp("nofwd"), overrides) as sp:
        for opts in (("-W", "127.0.0.1:1"), ("-R", "18080:localhost:80")):
            cmd = None if opts[0] == "-W" else "sleep 1; echo done"
            r = ssh(port, "-oLogLevel=INFO", *opts, cmd=cmd)
            t = ssh(sp.ssh_port, "-oLogLevel=INFO", *opts, cmd=cmd)
            assert (strip.sub(b"", t.stderr), t.stdout, t.returncode) == (
                strip.sub(b"", r.stderr),
                r.stdout,
                r.returncode,
            )
            assert b"administratively prohibited" in r.stderr or b"remote port forwarding failed" in r.stderr
