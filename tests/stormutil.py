# SPDX-License-Identifier: MIT
"""An attacker's storm against the SSH trap, for the stall test and its benchmark.

Run at once, for ``duration`` seconds, all on 127.0.0.1:

* group exchange: the real OpenSSH client with
  ``KexAlgorithms=diffie-hellman-group-exchange-sha256`` and chacha20-poly1305,
  for which it asks for an 8192-bit group (``SSH2_MSG_KEX_DH_GEX_REQUEST(2048<8192<8192)``
  in its ``-v`` output, checked), ``gex_parallel`` clients in a loop;
* a connection flood: ``flood_waves`` waves of ``flood`` raw TCP connections
  opened at once from a separate process (this file run as a script), spread
  over the storm; a quarter send random bytes, a quarter an SSH banner and then
  random bytes, the rest nothing; all closed (half with a RST) 0.3 s later;
* a password brute force: ``hydra -t 16`` (``sshpass`` + ``ssh`` loops without it);
* a probe: every 0.25 s a fresh connection timed until the server's banner arrives.

Every process started here is stopped by its PID when the storm ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

SSH_OPTS = [
    "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=30",
    "-o", "PreferredAuthentications=password", "-o", "NumberOfPasswordPrompts=1",
]  # fmt: skip
GEX_ASK_8192 = "SSH2_MSG_KEX_DH_GEX_REQUEST(2048<8192<8192)"


@dataclass
class StormResult:
    gex_runs: int = 0
    gex_8192: int = 0  # runs whose client asked for 8192 bits
    gex_kex_done: int = 0  # runs that got through NEWKEYS
    gex_auth_ok: int = 0
    gex_seconds: list[float] = field(default_factory=list)
    banner_ms: list[float] = field(default_factory=list)
    banner_missing: int = 0
    flood_report: str = ""
    brute: str = ""

    def summary(self) -> str:
        b = sorted(self.banner_ms) or [float("nan")]
        g = sorted(self.gex_seconds) or [float("nan")]
        return (
            f"gex: {self.gex_runs} runs, {self.gex_8192} asked 8192, {self.gex_kex_done} kex done, "
            f"{self.gex_auth_ok} logged in, median {g[len(g) // 2]:.2f} s; "
            f"banner: {len(self.banner_ms)} probes, median {b[len(b) // 2]:.0f} ms, max {b[-1]:.0f} ms, "
            f"{self.banner_missing} without banner; flood: {self.flood_report}; brute force: {self.brute}"
        )


def _gex_loop(port: int, password: str, deadline: float, res: StormResult, lock: threading.Lock) -> None:
    while time.monotonic() < deadline:
        argv = [
            "sshpass", "-p", password, "ssh", "-v", *SSH_OPTS, "-p", str(port),
            "-o", "KexAlgorithms=diffie-hellman-group-exchange-sha256",
            "-c", "chacha20-poly1305@openssh.com", "root@127.0.0.1", "echo", "gex-ok",
        ]  # fmt: skip
        t0 = time.monotonic()
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=90)
        except subprocess.TimeoutExpired:
            continue
        with lock:
            res.gex_runs += 1
            res.gex_seconds.append(time.monotonic() - t0)
            res.gex_8192 += GEX_ASK_8192 in r.stderr
            res.gex_kex_done += "SSH2_MSG_NEWKEYS received" in r.stderr
            res.gex_auth_ok += r.returncode == 0 and "gex-ok" in r.stdout


def _banner_probe(port: int, deadline: float, res: StormResult) -> None:
    while time.monotonic() < deadline:
        t0 = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.settimeout(10)
                data = b""
                while b"\n" not in data and len(data) < 512:
                    chunk = s.recv(512)
                    if not chunk:
                        break
                    data += chunk
            if data.startswith(b"SSH-2.0-"):
                res.banner_ms.append((time.monotonic() - t0) * 1000)
            else:
                res.banner_missing += 1
        except OSError:
            res.banner_missing += 1
        time.sleep(0.25)


def _brute(port: int, seconds: float, work: Path) -> subprocess.Popen[bytes]:
    words = [f"pw{i:05d}" for i in range(20000)]
    (work / "passwords.txt").write_text("\n".join(words) + "\n")
    if shutil.which("hydra"):
        argv = ["hydra", "-l", "admin", "-P", str(work / "passwords.txt"), "-t", "16", "-I", "-s", str(port),
                "-w", "30", "ssh://127.0.0.1"]  # fmt: skip
    else:  # sshpass loops: 8 shells trying one password after another
        loop = (
            f"for p in $(seq 1 100000); do sshpass -p wrong$p ssh {' '.join(SSH_OPTS)} -p {port} "
            "admin@127.0.0.1 true; done"
        )
        argv = ["sh", "-c", " & ".join([loop] * 8) + " & wait"]
    with (work / "brute.log").open("wb") as log:  # the child keeps its own descriptor
        # cwd: hydra writes its hydra.restore file there, never into the work tree
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=work)


def run_storm(
    port: int,
    work: Path,
    duration: float = 20.0,
    flood: int = 2000,
    flood_waves: int = 2,
    gex_parallel: int = 2,
    password: str = "x",
) -> StormResult:
    """All four at once for ``duration`` seconds; returns what the clients saw."""
    work.mkdir(parents=True, exist_ok=True)
    res = StormResult()
    lock = threading.Lock()
    deadline = time.monotonic() + duration
    brute = _brute(port, duration, work)
    flood_proc = subprocess.Popen(
        [sys.executable, __file__, str(port), str(flood), str(flood_waves), str(duration)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    threads = [
        threading.Thread(target=_gex_loop, args=(port, password, deadline, res, lock)) for _ in range(gex_parallel)
    ]
    threads.append(threading.Thread(target=_banner_probe, args=(port, deadline, res)))
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join(duration + 120)
        out, _ = flood_proc.communicate(timeout=60)
        res.flood_report = out.decode(errors="replace").strip().splitlines()[-1] if out.strip() else "no report"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(brute.pid, 15)
        brute.wait(10)
        if flood_proc.poll() is None:
            flood_proc.kill()
            flood_proc.wait(5)
    log = (work / "brute.log").read_text(errors="replace")
    tried = log.count("[ATTEMPT]") or sum("login:" in line for line in log.splitlines())
    res.brute = f"{'hydra' if shutil.which('hydra') else 'sshpass'} ran {duration:g} s" + (
        f", {tried}" if tried else ""
    )
    return res


# --- the flood, as its own process (so its sockets and CPU are not the test's) ------


async def _wave(port: int, count: int) -> tuple[int, int]:
    loop = asyncio.get_running_loop()
    sem = asyncio.Semaphore(256)
    socks: list[socket.socket] = []
    failed = 0

    async def one(i: int) -> None:
        nonlocal failed
        s = socket.socket()
        s.setblocking(False)
        async with sem:
            try:
                await asyncio.wait_for(loop.sock_connect(s, ("127.0.0.1", port)), 10)
                if i % 4 == 0:
                    await loop.sock_sendall(s, os.urandom(random.randint(1, 600)))
                elif i % 4 == 1:
                    await loop.sock_sendall(s, b"SSH-2.0-flood_1.0\r\n" + os.urandom(random.randint(1, 600)))
            except (OSError, TimeoutError):
                failed += 1
                s.close()
                return
        socks.append(s)

    await asyncio.gather(*(one(i) for i in range(count)))
    await asyncio.sleep(0.3)
    for i, s in enumerate(socks):
        if i % 2:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST
        s.close()
    return len(socks), failed


async def _flood(port: int, count: int, waves: int, duration: float) -> str:
    """``waves`` waves of ``count`` connections, spread over ``duration`` seconds."""
    opened = failed = 0
    start = time.monotonic()
    for w in range(waves):
        await asyncio.sleep(max(0.0, start + w * duration / waves - time.monotonic()))
        o, f = await _wave(port, count)
        opened, failed = opened + o, failed + f
    return f"{waves} waves of {count}: {opened} connections opened, {failed} refused or failed"


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    port, count, waves, duration = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    print(asyncio.run(_flood(port, count, waves, duration)), flush=True)
