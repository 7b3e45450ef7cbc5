# SPDX-License-Identifier: MIT
"""SSH trap benchmark (not a test): honeyfarm's sensor against real Cowrie 3.1.4, one run, one machine.

    .venv/bin/python bench/sensor.py                 # full run, ~2–3 minutes (as root, for Cowrie)
    .venv/bin/python bench/sensor.py --quick         # smoke run, ~1 minute
    .venv/bin/python bench/sensor.py --skip-cowrie --json

Both servers listen on 127.0.0.1 only, on free ports, and run one after the
other (never side by side) with the same rules:

* credentials: the same userdb (``root:x:!root``, ``root:x:!123456``,
  ``root:x:Sup3r-S3cret-9``, ``admin:x:admin2024``);
* equal failure delays: Cowrie answers a wrong password after a fixed 1 s
  (Twisted Conch's ``passwordDelay``), honeyfarm is started with
  ``sensor.ssh.auth_fail_delay = 1.0`` (a mean; pam_unix-like ±25 % jitter);
* telnet and downloads off for honeyfarm (telnet off for Cowrie), connection
  caps raised (``max_connections``/``max_per_ip`` 12000), and both processes
  get RLIMIT_NOFILE = this machine's hard limit.

For each server it measures:

* RSS (``psutil`` ``memory_info().rss`` of the server process and its children,
  e.g. honeyfarm's DH worker; for Cowrie the daemonised ``twistd`` found through its pid file) at idle after start, its
  peak (sampled every 0.1 s) during the hydra runs and sessions, and after;
* ``hydra -t 16`` and ``hydra -t 64`` (``-I``, no ``-f``; a fixed user and
  password list, sized to ~20 s per run, the valid passwords last): wall time,
  login attempts the server itself logged (its JSON log), attempts/s, server
  CPU seconds (user+system, children included) per attempt, and the passwords
  hydra found (a sanity check: both servers must give the same two);
* CPU per successful session: N asyncssh clients (4 at a time) log in as
  root, run ``uname -a``, read the output and close; server CPU / N. The
  key exchange the client negotiates is reported (honeyfarm offers OpenSSH's
  sntrup761x25519 first, Cowrie does not: ``--kex curve25519-sha256`` compares
  like with like);
* CPU per interactive session, as bots use the honeypot: pty + shell, then
  ``uname -a``, ``cat /proc/cpuinfo | grep name | wc -l``, ``w``, ``exit``;
  once as root and once as ``admin``, a user without a home in Cowrie's fake
  filesystem (the peers' notes give Cowrie ~20 ms and ~150 ms for these);
* RSS while holding ``--connections`` (10,000) idle TCP connections opened by
  this process, 40 at a time (each counted as served once the server's banner
  arrives; never answered; the next batch once the last is served, so
  Twisted's default listen backlog of 50 does not overflow), with counts of
  refused/closed and never-served connections.

Targets (PASS/MISS): honeyfarm's CPU per session ≤ 1/5 of Cowrie's, its RSS ≤
1/2 of Cowrie's (idle and peak), and 10,000 connections held in ≤ 256 MB.

Cowrie is installed and started as ``../shared/peers/start-cowrie.sh`` does: a
venv from Debian's ``/usr/bin/python3`` in ``--cache`` (``pip install
cowrie==3.1.4`` on first use), run by the unprivileged user ``cowrie``
(created with ``useradd`` if missing), since Cowrie refuses to run as root.
Without root or ``/usr/bin/python3`` only honeyfarm is measured (and the reason
printed). Every process started here is stopped by its PID at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import math
import os
import re
import resource
import selectors
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import honeyfarm  # noqa: F401  # first: its import silences asyncssh's one DSA import-time warning

# isort: split
import asyncssh
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from cowrieutil import COWRIE_VERSION, Server, cowrie_unavailable, run_cowrie  # noqa: E402
from cowrieutil import terminate as _terminate  # noqa: E402
from sensorutil import free_port, sensor_toml, wait_port  # noqa: E402

HYDRA = "hydra"
USERDB = ["root:x:!root", "root:x:!123456", "root:x:Sup3r-S3cret-9", "admin:x:admin2024"]
SESSION_USER, SESSION_PASSWORD = "root", "Sup3r-S3cret-9"
EXPECTED_FOUND = {("admin", "admin2024"), ("root", "Sup3r-S3cret-9")}
HYDRA_USERS = ["root", "admin", "ubuntu", "test", "user", "oracle", "pi", "postgres", "guest", "support"]
COMMON_PASSWORDS = [
    "123456", "password", "root", "admin", "12345678", "qwerty", "111111", "toor", "changeme", "raspberry",
    "guest", "letmein", "test", "default", "1234", "ubuntu", "P@ssw0rd", "passw0rd", "abc123", "12345",
]  # fmt: skip
VALID_PASSWORDS = ["admin2024", "Sup3r-S3cret-9"]  # last in the list, so hydra tries (nearly) everything


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- servers ---------------------------------------------------------------------------------


@contextlib.contextmanager
def run_honeyfarm(workdir: Path, nofile: int, connections: int) -> Iterator[Server]:
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cap = max(12000, connections + 2000)
    sections = {
        "sensor.identity": {"name": "bench-sensor", "region": "bench", "provider": "local"},
        "sensor.spool": {"dir": str(workdir / "spool")},
        "sensor.ssh": {"listen": [f"127.0.0.1:{port}"], "auth_fail_delay": 1.0},
        "sensor.telnet": {"enabled": False},
        "sensor.downloads": {"enabled": False},
        "sensor.limits": {"max_connections": cap, "max_per_ip": cap, "nofile": nofile},
        "sensor.credentials": {"userdb": USERDB},
    }
    config = workdir / "honeyfarm.toml"
    config.write_text(sensor_toml(sections), encoding="utf-8")
    out = (workdir / "sensor.log").open("wb")
    cmd = [sys.executable, "-m", "honeyfarm.cli", "sensor", "-c", str(config)]
    popen = subprocess.Popen(cmd, stdout=out, stderr=out, env={**os.environ, "PYTHONUNBUFFERED": "1"}, cwd=ROOT)
    try:
        wait_port(port, timeout=60, proc=popen)
        events = workdir / "spool" / "events"
        yield Server(
            "honeyfarm",
            port,
            psutil.Process(popen.pid),
            lambda: sorted(events.glob("*.jsonl*")),
            lambda: _terminate(popen),
            {"config": str(config), "cmd": " ".join(cmd)},
        )
    except Exception:
        out.flush()
        log("honeyfarm sensor log tail:\n" + (workdir / "sensor.log").read_text(errors="replace")[-3000:])
        raise
    finally:
        _terminate(popen)
        out.close()


# --- measurements --------------------------------------------------------------------------------


class RSSSampler:
    """Peak RSS of a process, sampled every 0.1 s in a thread while inside ``with``."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, self.server.rss())
            if self._stop.wait(0.1):
                return

    def __enter__(self) -> RSSSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def settle_logins(server: Server, timeout: float = 15.0, quiet: float = 2.5) -> int:
    """The login count once it has not changed for ``quiet`` seconds (honeyfarm flushes its spool each 1 s)."""
    deadline = time.monotonic() + timeout
    last, since = server.logins(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        n = server.logins()
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


def hydra_lists(workdir: Path, tasks: int, per_task: int) -> tuple[Path, Path, int]:
    n_pw = max(len(VALID_PASSWORDS) + 1, math.ceil(tasks * per_task / len(HYDRA_USERS)))
    fillers = COMMON_PASSWORDS + [f"Summer{i:04d}!" for i in range(max(0, n_pw))]
    passwords = fillers[: n_pw - len(VALID_PASSWORDS)] + VALID_PASSWORDS
    users_f, pw_f = workdir / f"users-{tasks}.txt", workdir / f"passwords-{tasks}.txt"
    users_f.write_text("\n".join(HYDRA_USERS) + "\n", encoding="utf-8")
    pw_f.write_text("\n".join(passwords) + "\n", encoding="utf-8")
    return users_f, pw_f, len(HYDRA_USERS) * len(passwords)


FOUND_RE = re.compile(r"\[\d+\]\[ssh\] host: \S+\s+login: (\S+)\s+password: (.*)$")


def run_hydra(server: Server, workdir: Path, tasks: int, per_task: int) -> dict[str, Any]:
    users, passwords, planned = hydra_lists(workdir, tasks, per_task)
    cmd = [HYDRA, "-L", str(users), "-P", str(passwords), "-t", str(tasks), "-I"]
    cmd.append(f"ssh://127.0.0.1:{server.port}")
    logins0, cpu0 = server.logins(), server.cpu()
    t0 = time.perf_counter()
    timeout = 60 + 5 * planned / tasks
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=workdir)
        out, rc = r.stdout + r.stderr, r.returncode
    except subprocess.TimeoutExpired as exc:
        out, rc = f"{exc.stdout or ''}{exc.stderr or ''}\n[bench] hydra killed after {timeout:.0f} s", -9
    wall = time.perf_counter() - t0
    time.sleep(1.0)  # the server's last replies and closes
    cpu = server.cpu() - cpu0
    attempts = settle_logins(server) - logins0
    found = sorted({m.groups() for m in map(FOUND_RE.search, out.splitlines()) if m})
    server_algs = server.info.get("server_kex", [])
    kex = next((a for a in server.client_kex_algs() if a in server_algs), "?")
    (workdir / f"hydra-{server.name.split()[0]}-t{tasks}.log").write_text(out, encoding="utf-8")
    return {
        "tasks": tasks,
        "planned": planned,
        "attempts": attempts,
        "wall_s": wall,
        "attempts_per_s": attempts / wall if wall else 0.0,
        "cpu_s": cpu,
        "cpu_ms_per_attempt": 1000 * cpu / attempts if attempts else None,
        "kex": kex,
        "found": [f"{u}:{p}" for u, p in found],
        "found_ok": set(found) == EXPECTED_FOUND,
        "errors": [line for line in out.splitlines() if line.startswith("[ERROR]")][:5],
        "returncode": rc,
    }


def server_kex_algs(port: int, timeout: float = 10.0) -> list[str]:
    """The server's KEXINIT kex list (what an SSH client chooses from)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                return []
            buf += chunk
        buf = buf.split(b"\n", 1)[1]
        s.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
        while len(buf) < 5 or len(buf) < 4 + struct.unpack(">I", buf[:4])[0]:
            chunk = s.recv(65536)
            if not chunk:
                return []
            buf += chunk
    payload = buf[5 : 4 + struct.unpack(">I", buf[:4])[0]]
    if payload[:1] != b"\x14":
        return []
    (n,) = struct.unpack_from(">I", payload, 17)
    return payload[21 : 21 + n].decode("ascii", "replace").split(",")


def client_kex(server_algs: list[str], forced: str | None) -> str:
    if forced:
        return forced
    from asyncssh.kex import get_default_kex_algs

    for alg in get_default_kex_algs():
        name = alg.decode()
        if not name.startswith("gss-") and name in server_algs:
            return name
    return "?"


# What bots type in an interactive shell (Cowrie's own measurements quote ~20 ms per root session
# and ~150 ms for a user without a home in its fake filesystem: its shell is the heavy part).
SHELL_INPUT = "uname -a\ncat /proc/cpuinfo | grep name | wc -l\nw\nexit\n"
SHELL_USER, SHELL_USER_PASSWORD = "admin", "admin2024"


async def _sessions(
    port: int,
    n: int,
    concurrency: int,
    command: str,
    kex: str | None,
    mode: str = "exec",
    user: tuple[str, str] = (SESSION_USER, SESSION_PASSWORD),
) -> dict[str, Any]:
    sem = asyncio.Semaphore(concurrency)
    stats: dict[str, Any] = {"ok": 0, "exec_ok": 0, "failed": 0, "errors": {}, "sample": None}
    kwargs: dict[str, Any] = {"kex_algs": [kex]} if kex else {}

    async def one() -> None:
        async with sem:
            try:
                async with asyncio.timeout(30):
                    conn = await asyncssh.connect(
                        "127.0.0.1",
                        port,
                        username=user[0],
                        password=user[1],
                        known_hosts=None,
                        client_keys=None,
                        agent_path=None,
                        gss_host=None,
                        preferred_auth="password",
                        **kwargs,
                    )
                    async with conn:
                        stats["ok"] += 1
                        if mode == "shell":
                            proc = await conn.create_process(term_type="xterm", term_size=(80, 24))
                            proc.stdin.write(SHELL_INPUT)
                            text = ""
                            async with asyncio.timeout(15):
                                while chunk := await proc.stdout.read(65536):
                                    text += str(chunk)
                            await proc.wait_closed()
                            if "Linux" in text:
                                stats["exec_ok"] += 1
                            if stats["sample"] is None:
                                stats["sample"] = {"stdout": text[-200:]}
                            return
                        r = await conn.run(command, check=False, timeout=15)
                        out = str(r.stdout or "")
                        if r.exit_status == 0 and out.strip():
                            stats["exec_ok"] += 1
                        if stats["sample"] is None:
                            stats["sample"] = {"exit_status": r.exit_status, "stdout": out[:200]}
            except (OSError, asyncssh.Error, TimeoutError) as exc:
                stats["failed"] += 1
                key = f"{type(exc).__name__}: {exc}"[:120]
                stats["errors"][key] = stats["errors"].get(key, 0) + 1

    await asyncio.gather(*(one() for _ in range(n)))
    return stats


def run_sessions(
    server: Server,
    n: int,
    concurrency: int,
    command: str,
    kex: str | None,
    mode: str = "exec",
    user: tuple[str, str] = (SESSION_USER, SESSION_PASSWORD),
) -> dict[str, Any]:
    negotiated = client_kex(server.info.get("server_kex", []), kex)
    cpu0 = server.cpu()
    t0 = time.perf_counter()
    stats = asyncio.run(_sessions(server.port, n, concurrency, command, kex, mode, user))
    wall = time.perf_counter() - t0
    time.sleep(0.5)
    cpu = server.cpu() - cpu0
    return {
        "n": n,
        "concurrency": concurrency,
        "command": command if mode == "exec" else f"interactive shell as {user[0]}: {SHELL_INPUT!r}",
        "mode": mode,
        "kex": negotiated,
        **stats,
        "wall_s": wall,
        "cpu_s": cpu,
        # per successful login: a session whose exec failed still cost the KEX, auth and channel
        "cpu_ms_per_session": 1000 * cpu / stats["ok"] if stats["ok"] else None,
    }


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def hold_connections(server: Server, n: int, batch: int, batch_timeout: float, hold: float) -> dict[str, Any]:
    """Open ``n`` silent TCP connections, ``batch`` at a time; RSS once they are held and served.

    A connection counts as served once the server's banner arrives (it is never answered). The next
    batch starts when the previous one is served or after ``batch_timeout`` s, so a server's small
    listen backlog (Twisted's default is 50) paces the run instead of overflowing; after two batches
    in a row with nothing served the run stops opening more.
    """
    rss0 = server.rss()
    sel = selectors.DefaultSelector()
    socks: list[socket.socket] = []
    served = refused = 0
    pending: set[socket.socket] = set()
    stalled = 0
    t0 = time.perf_counter()

    def poll(timeout: float) -> int:
        nonlocal served, refused
        got = 0
        for key, _ in sel.select(timeout):
            s: socket.socket = key.fileobj  # type: ignore[assignment]
            sel.unregister(s)
            pending.discard(s)
            try:
                data = s.recv(256)
            except OSError:
                data = b""
            if data:
                served += 1
                got += 1
            else:
                refused += 1
                s.close()
        return got

    try:
        for start in range(0, n, batch):
            if not server.alive():
                log(f"{server.name} died after {start} connections")
                break
            if start and start % 2000 == 0:
                log(f"{server.name}: {served:,} connections served, {len(pending):,} waiting, RSS "
                    f"{server.rss() / 2**20:.1f} MB")  # fmt: skip
            for _ in range(min(batch, n - start)):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                rc = s.connect_ex(("127.0.0.1", server.port))
                if rc not in (0, errno.EINPROGRESS):
                    refused += 1
                    s.close()
                    continue
                socks.append(s)
                pending.add(s)
                sel.register(s, selectors.EVENT_READ)
            got = 0
            deadline = time.monotonic() + batch_timeout
            while pending and time.monotonic() < deadline:
                got += poll(0.2)
            stalled = 0 if got else stalled + 1
            if stalled >= 2:
                log(f"{server.name}: nothing served for two batches ({2 * batch_timeout:.0f} s); stop opening")
                break
        open_s = time.perf_counter() - t0
        time.sleep(hold)  # let the server settle (and show whether it drops idle connections)
        poll(0)
        rss = server.rss() if server.alive() else None
        # still open = served and not closed by the server since
        closed_later = 0
        for s in socks:
            if s.fileno() < 0 or s in pending:
                continue
            try:
                if s.recv(1, socket.MSG_PEEK) == b"":
                    closed_later += 1
            except BlockingIOError:
                pass
            except OSError:
                closed_later += 1
        return {
            "requested": n,
            "opened": len(socks),
            "served": served,
            "refused_or_closed": refused,
            "never_served": len(pending),
            "closed_while_held": closed_later,
            "open_s": open_s,
            "rss_idle_mb": rss0 / 2**20,
            "rss_mb": rss / 2**20 if rss is not None else None,
            "kb_per_conn": (rss - rss0) / 1024 / served if rss is not None and served else None,
            "alive": server.alive(),
        }
    finally:
        sel.close()
        for s in socks:
            s.close()


def measure(server: Server, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    res: dict[str, Any] = {"name": server.name, "port": server.port, "pid": server.proc.pid, **server.info}
    with contextlib.suppress(psutil.Error, AttributeError):
        res["nofile"] = server.proc.rlimit(psutil.RLIMIT_NOFILE)[0]
    with contextlib.suppress(OSError, struct.error):
        server.info["server_kex"] = res["server_kex"] = server_kex_algs(server.port)
    time.sleep(args.settle)
    res["rss_idle_mb"] = server.rss() / 2**20
    # USS (JSON only): pages no other process maps. Not comparable between the two: honeyfarm shares
    # its venv's libpython/OpenSSL pages with this bench process, Cowrie's /usr/bin/python3 shares nothing.
    with contextlib.suppress(psutil.Error):
        res["uss_idle_mb"] = server.proc.memory_full_info().uss / 2**20
    log(f"{server.name}: pid {server.proc.pid}, port {server.port}, idle RSS {res['rss_idle_mb']:.1f} MB")
    with RSSSampler(server) as sampler:
        res["hydra"] = []
        if shutil.which(HYDRA):
            for tasks in args.tasks:
                h = run_hydra(server, workdir, tasks, args.per_task)
                res["hydra"].append(h)
                log(f"{server.name}: hydra -t {tasks}: {h['attempts']} attempts in {h['wall_s']:.1f} s, "
                    f"{h['cpu_s']:.2f} CPU s, found {h['found']}")  # fmt: skip
        else:
            res["hydra_skipped"] = "hydra is not installed (scripts/install-system-deps.sh installs it)"
        res["rss_after_hydra_mb"] = server.rss() / 2**20
        s = run_sessions(server, args.sessions, args.session_concurrency, args.command, args.kex)
        res["sessions"] = s
        log(f"{server.name}: {s['ok']}/{s['n']} logins, {s['exec_ok']} exec ok, {s['cpu_s']:.2f} CPU s, "
            f"kex {s['kex']}, sample {s['sample']}, errors {s['errors']}")  # fmt: skip
        for key, user in (
            ("shell_root", (SESSION_USER, SESSION_PASSWORD)),
            ("shell_user", (SHELL_USER, SHELL_USER_PASSWORD)),
        ):
            sh = run_sessions(server, args.sessions, args.session_concurrency, args.command, args.kex, "shell", user)
            res[key] = sh
            log(f"{server.name}: {key}: {sh['ok']}/{sh['n']} logins, {sh['exec_ok']} ok, {sh['cpu_s']:.2f} CPU s, "
                f"sample {sh['sample']}, errors {sh['errors']}")  # fmt: skip
        res["rss_after_sessions_mb"] = server.rss() / 2**20
    res["rss_peak_mb"] = sampler.peak / 2**20
    if args.connections:
        c = hold_connections(server, args.connections, args.batch, args.batch_timeout, args.hold)
        res["conns"] = c
        log(f"{server.name}: {c['served']}/{c['requested']} connections served, RSS {c['rss_mb']} MB, "
            f"refused/closed {c['refused_or_closed']}, never served {c['never_served']}")  # fmt: skip
        if server.alive():
            time.sleep(args.settle)
            res["rss_after_conns_mb"] = server.rss() / 2**20
    res["alive_at_end"] = server.alive()
    return res


# --- report --------------------------------------------------------------------------------------


def fmt(v: Any, spec: str = ".1f") -> str:
    if v is None:
        return "–"
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return format(v, spec)
    return str(v)


def ratio(a: Any, b: Any) -> str:
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or not b:
        return ""
    return f"{a / b:.2f}"


def report(results: dict[str, Any]) -> list[dict[str, Any]]:
    hf = results["honeyfarm"]
    cw = results.get("cowrie") or {}
    has_cw = "rss_idle_mb" in cw
    rows: list[tuple[str, Any, Any, str]] = []

    def row(label: str, a: Any, b: Any, spec: str = ".1f", with_ratio: bool = True) -> None:
        rows.append((label, fmt(a, spec), fmt(b, spec) if has_cw else "n/a", ratio(a, b) if with_ratio else ""))

    def get(d: dict[str, Any], *path: Any) -> Any:
        for p in path:
            if isinstance(d, dict):
                d = d.get(p)  # type: ignore[assignment]
            elif isinstance(d, list) and isinstance(p, int) and p < len(d):
                d = d[p]
            else:
                return None
        return d

    row("RSS idle after start, MB", hf["rss_idle_mb"], cw.get("rss_idle_mb"))
    for i, t in enumerate(results["params"]["tasks"]):
        h, c = get(hf, "hydra", i) or {}, get(cw, "hydra", i) or {}
        if not h:
            continue
        row(f"hydra -t {t}: login attempts logged (planned {h['planned']})", h["attempts"], c.get("attempts"), "d")
        row(f"hydra -t {t}: wall s", h["wall_s"], c.get("wall_s"))
        if i == 0:
            row("hydra: key exchange (hydra's libssh chose)", h["kex"], c.get("kex"), with_ratio=False)
        row(f"hydra -t {t}: attempts/s", h["attempts_per_s"], c.get("attempts_per_s"))
        row(f"hydra -t {t}: server CPU ms / attempt", h["cpu_ms_per_attempt"], c.get("cpu_ms_per_attempt"), ".2f")
        ok = {True: "OK", False: "UNEXPECTED"}
        row(
            f"hydra -t {t}: passwords found",
            f"{', '.join(h['found']) or 'none'} ({ok[h['found_ok']]})",
            f"{', '.join(c.get('found', [])) or 'none'} ({ok[bool(c.get('found_ok'))]})" if c else None,
            with_ratio=False,
        )
    row("RSS after hydra, MB", hf["rss_after_hydra_mb"], cw.get("rss_after_hydra_mb"))
    s, cs = hf["sessions"], cw.get("sessions") or {}
    row(
        f"sessions ({s['command']!r}): logins ok / exec ok / failed of {s['n']}",
        f"{s['ok']} / {s['exec_ok']} / {s['failed']}",
        f"{cs['ok']} / {cs['exec_ok']} / {cs['failed']}" if cs else None,
        with_ratio=False,
    )
    row("sessions: key exchange the client chose", s["kex"], cs.get("kex"), with_ratio=False)
    row("sessions: wall s", s["wall_s"], cs.get("wall_s"))
    row("**server CPU ms per exec session**", s["cpu_ms_per_session"], cs.get("cpu_ms_per_session"))
    for key, who in (("shell_root", "root"), ("shell_user", f"{SHELL_USER} (no home in Cowrie's fs)")):
        sh, csh = hf.get(key) or {}, cw.get(key) or {}
        if sh:
            row(
                f"interactive shell as {who}: logins ok / shell ok of {sh['n']}",
                f"{sh['ok']} / {sh['exec_ok']}",
                f"{csh['ok']} / {csh['exec_ok']}" if csh else None,
                with_ratio=False,
            )
            row(f"**server CPU ms per interactive session as {who}**", sh["cpu_ms_per_session"],
                csh.get("cpu_ms_per_session"))  # fmt: skip
    row("**RSS peak during hydra + sessions, MB**", hf["rss_peak_mb"], cw.get("rss_peak_mb"))
    c, cc = hf.get("conns"), cw.get("conns") or {}
    if c:
        n = c["requested"]
        row(
            f"{n:,} idle connections: served / refused+closed / never served",
            f"{c['served']:,} / {c['refused_or_closed']:,} / {c['never_served']:,}",
            f"{cc['served']:,} / {cc['refused_or_closed']:,} / {cc['never_served']:,}" if cc else None,
            with_ratio=False,
        )
        row(f"{n:,} idle connections: seconds to open", c["open_s"], cc.get("open_s"))
        row(f"**{n:,} idle connections: RSS, MB**", c["rss_mb"], cc.get("rss_mb"))
        row(f"{n:,} idle connections: KB per connection", c["kb_per_conn"], cc.get("kb_per_conn"))
        row(f"{n:,} idle connections: closed by the server while held", c["closed_while_held"],
            cc.get("closed_while_held"), "d", with_ratio=False)  # fmt: skip
        row("RSS after the connections closed, MB", hf.get("rss_after_conns_mb"), cw.get("rss_after_conns_mb"))

    cname = cw.get("name", f"Cowrie {COWRIE_VERSION}")
    print(f"| SSH trap on 127.0.0.1, equal 1 s failure delays | honeyfarm | {cname} | honeyfarm / Cowrie |")
    print("|---|---:|---:|---:|")
    for label, a, b, r in rows:
        print(f"| {label} | {a} | {b} | {r} |")

    targets: list[dict[str, Any]] = []

    def target(name: str, ok: bool | None, detail: str) -> None:
        targets.append({"target": name, "result": {True: "PASS", False: "MISS", None: "n/a"}[ok], "detail": detail})

    for label, key in (("exec", "sessions"), ("interactive root", "shell_root"), ("interactive user", "shell_user")):
        a, b = (hf.get(key) or {}).get("cpu_ms_per_session"), (cw.get(key) or {}).get("cpu_ms_per_session")
        name = f"CPU per {label} session ≤ 1/5 of Cowrie's"
        if a and b:
            target(name, a <= b / 5, f"{a:.1f} ms vs {b:.1f} ms = 1/{b / a:.1f}")
        else:
            target(name, None, "Cowrie not measured" if not has_cw else "no sessions")
    for label, key in (("idle", "rss_idle_mb"), ("peak", "rss_peak_mb")):
        a, b = hf.get(key), cw.get(key)
        if has_cw and a and b:
            target(f"RSS ({label}) ≤ 1/2 of Cowrie's", a <= b / 2, f"{a:.1f} MB vs {b:.1f} MB = 1/{b / a:.2f}")
        else:
            target(f"RSS ({label}) ≤ 1/2 of Cowrie's", None, "Cowrie not measured")
    if c:
        ok = c["rss_mb"] is not None and c["rss_mb"] <= 256 and c["served"] == c["requested"]
        note = "" if c["requested"] >= 10_000 else " (fewer than the target's 10,000: --connections)"
        target(
            "10,000 concurrent connections in ≤ 256 MB",
            ok if c["requested"] >= 10_000 else None,
            f"{c['served']:,}/{c['requested']:,} served, {fmt(c['rss_mb'])} MB{note}",
        )
    print()
    for t in targets:
        print(f"- {t['result']}: {t['target']} — {t['detail']}")
    if not has_cw:
        print(f"\nCowrie not measured: {cw.get('skipped', 'unknown reason')}")
    if s["ok"] and s["exec_ok"] < s["ok"]:
        print(f"\nhoneyfarm: {s['ok'] - s['exec_ok']} logins whose {s['command']!r} failed; first: {s['sample']}")
    return targets


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller counts: a ~1 minute smoke run")
    ap.add_argument("--skip-cowrie", action="store_true", help="measure honeyfarm only")
    ap.add_argument("--json", action="store_true", help="print the results as JSON instead of the table")
    ap.add_argument("--connections", type=int, default=None, help="idle connections to hold (default 10000)")
    ap.add_argument("--sessions", type=int, default=None, help="full sessions per server (default 200)")
    ap.add_argument("--session-concurrency", type=int, default=4)
    ap.add_argument("--command", default="uname -a", help="exec command each session runs")
    ap.add_argument("--kex", default=None, help="force the session client's key exchange, e.g. curve25519-sha256")
    ap.add_argument("--tasks", type=int, nargs="+", default=[16, 64], help="hydra -t values")
    ap.add_argument("--per-task", type=int, default=None, help="hydra attempts per task (default 20: ~20 s a run)")
    ap.add_argument("--batch", type=int, default=40, help="idle connections opened per batch")
    ap.add_argument("--batch-timeout", type=float, default=10.0, help="seconds to wait for a batch's banners")
    ap.add_argument("--hold", type=float, default=3.0, help="seconds to hold the connections before measuring")
    ap.add_argument("--settle", type=float, default=2.0, help="seconds after start (and after load) before RSS")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "honeyfarm-bench")
    ap.add_argument("--keep", action="store_true", help="keep the run's work directory (logs, spool, state)")
    args = ap.parse_args()
    if args.connections is None:
        args.connections = 2000 if args.quick else 10_000
    if args.sessions is None:
        args.sessions = 40 if args.quick else 200
    if args.per_task is None:
        args.per_task = 4 if args.quick else 20

    nofile = raise_nofile()
    if args.connections > nofile - 500:
        log(f"RLIMIT_NOFILE is {nofile}: holding {nofile - 500} connections instead of {args.connections}")
        args.connections = max(0, nofile - 500)
    args.cache.mkdir(parents=True, exist_ok=True)
    args.cache.chmod(0o755)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=args.cache))
    work.chmod(0o755)  # the cowrie user needs to reach its state dir
    params = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    results: dict[str, Any] = {"params": {**params, "nofile": nofile, "cpus": os.cpu_count(), "work": str(work)}}
    try:
        log(f"honeyfarm: starting (work dir {work})")
        with run_honeyfarm(work / "honeyfarm", nofile, args.connections) as hf:
            results["honeyfarm"] = measure(hf, args, work)
        why = "--skip-cowrie" if args.skip_cowrie else cowrie_unavailable()
        if why:
            log(f"Cowrie not measured: {why}")
            results["cowrie"] = {"skipped": why}
        else:
            try:
                log("Cowrie: starting")
                with run_cowrie(args.cache, work / "cowrie", nofile, USERDB) as cw:
                    results["cowrie"] = measure(cw, args, work)
            except (OSError, RuntimeError, subprocess.SubprocessError, psutil.Error) as exc:
                log(f"Cowrie failed: {exc}")
                results["cowrie"] = {"skipped": f"Cowrie could not be measured: {exc}"}
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            results["targets"] = report(results)
        print(json.dumps(results, indent=2, default=str))
    else:
        print()
        results["targets"] = report(results)
        kept = f"; logs, spools and state kept in {work}" if args.keep else ""
        print(f"\n(python {sys.version.split()[0]}, asyncssh {asyncssh.__version__}, {os.cpu_count()} CPUs, "
              f"RLIMIT_NOFILE {nofile}{kept})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
