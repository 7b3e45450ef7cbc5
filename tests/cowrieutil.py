# SPDX-License-Identifier: MIT
"""Start real Cowrie 3.1.4 (PyPI) on loopback, as ``../shared/peers/start-cowrie.sh`` does.

Shared by the benchmark (``bench/sensor.py``) and the shell differential test
(``tests/shelldiff.py``), so Cowrie is installed and started one way only: a
venv built from Debian's ``/usr/bin/python3`` (``pip install cowrie==3.1.4`` on
first use, then cached), run by the unprivileged user ``cowrie`` (created with
``useradd`` if missing), since Cowrie refuses to run as root. The server is a
``twistd`` daemon found through its pid file and stopped by that pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sensorutil import free_port, wait_port

COWRIE_VERSION = "3.1.4"
SYSTEM_PYTHON = Path("/usr/bin/python3")
LOGIN_EVENTS = (b'"cowrie.login.success"', b'"cowrie.login.failed"')
COWRIE_CFG = """\
# Overlay on the bundled cowrie.cfg.dist (cowrie {version} from PyPI), written by tests/cowrieutil.py.
[honeypot]
hostname = {hostname}
log_path = var/log/cowrie
state_path = var/lib/cowrie

[ssh]
enabled = true
listen_endpoints = tcp:{port}:interface=127.0.0.1

[telnet]
enabled = false

[output_jsonlog]
enabled = true
logfile = ${{honeypot:log_path}}/cowrie.json
"""


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@dataclass
class Server:
    """A server process under measurement: its port, its process and its JSON log files."""

    name: str
    port: int
    proc: psutil.Process
    log_files: Callable[[], list[Path]]
    stop: Callable[[], None]
    info: dict[str, Any] = field(default_factory=dict)

    def cpu(self) -> float:
        """User+system CPU seconds of the server and all its children (live and reaped)."""
        t = self.proc.cpu_times()
        total = t.user + t.system + t.children_user + t.children_system
        for child in self.proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                c = child.cpu_times()
                total += c.user + c.system
        return float(total)

    def rss(self) -> int:
        """The server's RSS with its children's (honeyfarm's DH worker process is part of its cost)."""
        total = int(self.proc.memory_info().rss)
        for child in self.proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += int(child.memory_info().rss)
        return total

    def alive(self) -> bool:
        try:
            return bool(self.proc.is_running() and self.proc.status() != psutil.STATUS_ZOMBIE)
        except psutil.Error:
            return False

    def logins(self) -> int:
        """Login attempts (success + failed) the server wrote to its JSON log so far."""
        n = 0
        for p in self.log_files():
            with contextlib.suppress(OSError):
                for line in p.read_bytes().splitlines():
                    if any(e in line for e in LOGIN_EVENTS):
                        n += 1
        return n

    def client_kex_algs(self) -> list[str]:
        """The kex list of the last client KEXINIT the server logged (`cowrie.client.kex`)."""
        last: dict[str, Any] | None = None
        for p in self.log_files():
            with contextlib.suppress(OSError):
                for line in p.read_bytes().splitlines():
                    if b'"cowrie.client.kex"' in line:
                        with contextlib.suppress(ValueError):
                            last = json.loads(line)
        if last is None:
            return []
        if isinstance(last.get("kex_algs"), str):  # honeyfarm
            return str(last["kex_algs"]).split(",")
        if isinstance(last.get("kexAlgs"), list):  # Cowrie
            return [str(x) for x in last["kexAlgs"]]
        return str(last.get("hasshAlgorithms", "")).split(";")[0].split(",")


def terminate(proc: psutil.Process | subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` seconds; a process already gone is fine."""
    with contextlib.suppress(psutil.Error, ProcessLookupError):
        proc.terminate()
        try:
            proc.wait(timeout)
        except (psutil.TimeoutExpired, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait(5)


def cowrie_unavailable() -> str | None:
    """Why Cowrie cannot be started here, or None."""
    if os.geteuid() != 0:
        return "not root: Cowrie must run as the unprivileged user `cowrie`, which needs root to create and su to"
    if not SYSTEM_PYTHON.exists():
        return f"{SYSTEM_PYTHON} is missing (Cowrie's venv is built from Debian's python3)"
    return None


def _ensure_user() -> None:
    if subprocess.run(["id", "cowrie"], capture_output=True, timeout=30).returncode != 0:
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", "cowrie"], check=True, timeout=60)


def _user_can_run(path: Path) -> bool:
    r = subprocess.run(["su", "cowrie", "-s", "/bin/sh", "-c", f"test -x '{path}'"], capture_output=True, timeout=30)
    return r.returncode == 0


def ensure_cowrie_venv(cache: Path) -> Path:
    """``cache/cowrievenv`` with cowrie==3.1.4 (installed on first use), readable by user ``cowrie``.

    When the ``cowrie`` user cannot reach ``cache`` (a work tree under a private home), the venv
    goes to the system temp directory instead, so it is still built once per machine.
    """
    _ensure_user()
    venv = cache / "cowrievenv"
    py = venv / "bin" / "python"
    want = f"cowrie=={COWRIE_VERSION}"
    if (venv / "bin" / "cowrie").exists():
        r = subprocess.run(
            [str(py), "-c", "import importlib.metadata as m; print(m.version('cowrie'))"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if r.stdout.strip() == COWRIE_VERSION and _user_can_run(py):
            return venv
    cache.mkdir(parents=True, exist_ok=True)
    if not _user_can_run(cache) and not os.access(venv / "bin" / "cowrie", os.X_OK):
        alt = Path(tempfile.gettempdir()) / "honeyfarm-cowrie"
        if alt != cache:
            log(f"user cowrie cannot reach {cache}: using {alt}")
            alt.mkdir(parents=True, exist_ok=True)
            alt.chmod(0o755)
            return ensure_cowrie_venv(alt)
    log(f"installing {want} into {venv} (first run only)")
    subprocess.run([str(SYSTEM_PYTHON), "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run([str(py), "-m", "pip", "install", "-q", want], check=True, timeout=900)
    # Twisted's plugin cache, written once here: the `cowrie` user cannot write into the venv.
    cache_plugins = "from twisted.plugin import IPlugin, getPlugins; list(getPlugins(IPlugin))"
    # cwd: importing Cowrie's plugins writes var/lib/cowrie/uuid below the current directory.
    subprocess.run([str(py), "-c", cache_plugins], check=False, capture_output=True, timeout=300, cwd=cache)
    return venv


@contextlib.contextmanager
def run_cowrie(cache: Path, workdir: Path, nofile: int, userdb: list[str], hostname: str = "svr04") -> Iterator[Server]:
    """Cowrie as start-cowrie.sh starts it: user `cowrie`, `cowrie start` (twistd daemon) in a state dir.

    ``workdir`` must be reachable by the ``cowrie`` user (not under a 0700 directory).
    """
    venv = ensure_cowrie_venv(cache)
    port = free_port()
    state = workdir
    for d in ("etc", "var/log/cowrie", "var/lib/cowrie/downloads", "var/lib/cowrie/tty", "var/run"):
        (state / d).mkdir(parents=True, exist_ok=True)
    cfg = COWRIE_CFG.format(version=COWRIE_VERSION, port=port, hostname=hostname)
    (state / "etc" / "cowrie.cfg").write_text(cfg, encoding="utf-8")
    (state / "etc" / "userdb.txt").write_text("\n".join(userdb) + "\n", encoding="utf-8")
    subprocess.run(["chown", "-R", "cowrie:cowrie", str(state)], check=True, timeout=60)
    pidfile = state / "var" / "run" / "cowrie.pid"
    # `ulimit -n`: the same RLIMIT_NOFILE honeyfarm raises itself to (su's PAM session would give 1024).
    script = f"cd {state} && ulimit -n {nofile} && PATH={venv}/bin:/usr/bin:/bin cowrie start"
    proc: psutil.Process | None = None

    def stop() -> None:
        if proc is not None:
            terminate(proc)

    try:
        r = subprocess.run(["su", "cowrie", "-s", "/bin/bash", "-c", script], capture_output=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"cowrie start failed ({r.returncode}): {(r.stdout + r.stderr).decode()[-2000:]}")
        deadline = time.monotonic() + 30
        while proc is None:
            with contextlib.suppress(OSError, ValueError, psutil.Error):
                proc = psutil.Process(int(pidfile.read_text().strip()))
            if proc is None and time.monotonic() > deadline:
                raise TimeoutError(f"no Cowrie pid file {pidfile} after 30 s")
            time.sleep(0.1)
        wait_port(port, timeout=60)
        logdir = state / "var" / "log" / "cowrie"
        yield Server(
            f"Cowrie {COWRIE_VERSION}",
            port,
            proc,
            lambda: sorted(logdir.glob("cowrie.json*")),
            stop,
            {"state": str(state), "twistd_pid": proc.pid, "cmdline": " ".join(proc.cmdline()[:6])},
        )
    except Exception:
        tail = state / "var" / "log" / "cowrie" / "cowrie.log"
        if tail.exists():
            log("cowrie.log tail:\n" + tail.read_text(errors="replace")[-3000:])
        raise
    finally:
        stop()
