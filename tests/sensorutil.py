# SPDX-License-Identifier: MIT
"""Start real processes for the sensor tests: ``honeyfarm sensor`` and a real OpenSSH sshd.

Everything listens on 127.0.0.1 only, on ports the kernel hands out, and every
wait is bounded. The real sshd follows ``../shared/peers/start-sshd.sh``
(Debian 12's openssh-server, installed by ``scripts/install-system-deps.sh``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HONEYFARM = [sys.executable, "-m", "honeyfarm.cli"]
SSHD = Path("/usr/sbin/sshd")
SSH_OPTS = [
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "ConnectTimeout=10",
]


def rss_kb(pid: int) -> int:
    """Resident memory of a process (VmRSS, KiB); 0 once it is gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 20.0, proc: subprocess.Popen[Any] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def sensor_toml(sections: dict[str, dict[str, Any]]) -> str:
    out = []
    for name, values in sections.items():
        out.append(f"[{name}]")
        out += [f"{k} = {toml_value(v)}" for k, v in values.items()]
        out.append("")
    return "\n".join(out)


@dataclass
class SensorProc:
    workdir: Path
    ssh_port: int
    telnet_port: int
    proc: subprocess.Popen[bytes] | None = None
    config: Path = field(init=False)

    @property
    def spool(self) -> Path:
        return self.workdir / "spool"

    def events(self) -> list[dict[str, Any]]:
        """Every event written so far (the sensor fsyncs its spool every 0.1 s in tests)."""
        out: list[dict[str, Any]] = []
        for p in sorted((self.spool / "events").glob("*.jsonl*")):
            for line in p.read_bytes().splitlines():
                if line.strip():
                    out.append(json.loads(line))
        return out

    def wait_for(self, pred: Any, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Events once ``pred(events)`` is true (bounded wait)."""
        deadline = time.monotonic() + timeout
        while True:
            evs = self.events()
            if pred(evs):
                return evs
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met after {timeout} s; {len(evs)} events")
            time.sleep(0.1)

    def stop(self) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


def default_sections(workdir: Path, ssh_port: int, telnet_port: int) -> dict[str, dict[str, Any]]:
    return {
        "sensor": {},
        "sensor.identity": {"name": "test-sensor", "region": "test-region-1", "provider": "test", "hourly_cost": 0.01},
        "sensor.spool": {"dir": str(workdir / "spool"), "fsync_interval": 0.1},
        "sensor.ssh": {"listen": [f"127.0.0.1:{ssh_port}"], "auth_fail_delay": 0.2},
        "sensor.telnet": {"listen": [f"127.0.0.1:{telnet_port}"], "fail_delay": 0.2},
        "sensor.downloads": {"allow_loopback": True, "timeout": 10.0},
        "sensor.credentials": {"userdb": ["root:x:!root", "root:x:!123456", "root:x:*", "admin:x:admin2024"]},
    }


@contextlib.contextmanager
def run_sensor(workdir: Path, overrides: dict[str, dict[str, Any]] | None = None) -> Iterator[SensorProc]:
    """``honeyfarm sensor`` as a real subprocess; SIGTERM at the end."""
    sp = SensorProc(workdir, free_port(), free_port())
    sections = default_sections(workdir, sp.ssh_port, sp.telnet_port)
    for k, v in (overrides or {}).items():
        sections.setdefault(k, {}).update(v)
    sp.config = workdir / "honeyfarm.toml"
    sp.config.write_text(sensor_toml(sections), encoding="utf-8")
    log = (workdir / "sensor.log").open("wb")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    sp.proc = subprocess.Popen([*HONEYFARM, "sensor", "-c", str(sp.config)], stdout=log, stderr=log, env=env)
    try:
        if sections["sensor.ssh"].get("enabled", True):
            wait_port(sp.ssh_port, proc=sp.proc)
        if sections["sensor.telnet"].get("enabled", True):
            wait_port(sp.telnet_port, proc=sp.proc)
        yield sp
    finally:
        rc = sp.stop()
        log.close()
        if rc not in (0, -signal.SIGTERM):
            print((workdir / "sensor.log").read_text(errors="replace")[-4000:])


def sshd_available() -> str | None:
    """Why a real sshd cannot be started here, or None."""
    if not SSHD.exists():
        return "openssh-server is not installed (scripts/install-system-deps.sh installs it)"
    if os.geteuid() != 0:
        return "a real sshd with password login needs root (privilege separation, PAM)"
    return None


@dataclass
class RealSSHD:
    port: int
    workdir: Path
    proc: subprocess.Popen[bytes]
    user: str = "sshtest"
    password: str = "Test-Pass-123"


def fingerprint_config(workdir: Path, port: int) -> str:
    """The fingerprint tests' sshd: only the test user, password login, a wide MaxStartups."""
    return "\n".join(
        [
            f"Port {port}",
            "ListenAddress 127.0.0.1",
            *(f"HostKey {workdir}/ssh_host_{t}_key" for t in ("rsa", "ecdsa", "ed25519")),
            f"PidFile {workdir}/sshd.pid",
            "PasswordAuthentication yes",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin no",
            "UsePAM yes",
            "AllowUsers sshtest",
            "MaxStartups 100:30:200",
            "MaxAuthTries 6",
            "Subsystem sftp /usr/lib/openssh/sftp-server",
            "",
        ]
    )


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 10 s: every peer a test starts is stopped by its PID."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@contextlib.contextmanager
def run_real_sshd(workdir: Path, config: Callable[[Path, int], str] = fingerprint_config) -> Iterator[RealSSHD]:
    """Debian 12's sshd on loopback with its own keys and ``config(workdir, port)`` (as
    ../shared/peers/start-sshd.sh); user sshtest / Test-Pass-123."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    for t in ("rsa", "ecdsa", "ed25519"):
        key = workdir / f"ssh_host_{t}_key"
        if not key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", t, "-N", "", "-f", str(key)], check=True)
    if subprocess.run(["id", "sshtest"], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", "sshtest"], check=True)
    subprocess.run(["chpasswd"], input=b"sshtest:Test-Pass-123\n", check=True)
    Path("/run/sshd").mkdir(exist_ok=True)
    cfg = workdir / "sshd_config"
    cfg.write_text(config(workdir, port), encoding="utf-8")
    subprocess.run([str(SSHD), "-t", "-f", str(cfg)], check=True)
    # -D: stay in the foreground so the test owns the process; -e: log to stderr.
    with (workdir / "sshd.log").open("wb") as log:
        proc = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(cfg)], stdout=subprocess.DEVNULL, stderr=log)
        try:
            wait_port(port, proc=proc)
            yield RealSSHD(port, workdir, proc)
        finally:
            stop_process(proc)


def need(*tools: str) -> str | None:
    missing = [t for t in tools if shutil.which(t) is None]
    return f"not installed: {', '.join(missing)} (scripts/install-system-deps.sh installs them)" if missing else None
