# SPDX-License-Identifier: MIT
"""Raw-socket probes and a stock-config sshd for the wire-level differential tests.

The real sshd here runs Debian 12's ``sshd_config`` as shipped
(``../shared/peers/sshd_config``: MaxStartups, MaxAuthTries, LoginGraceTime at
OpenSSH's defaults), only its port, host keys and pid file moved to the test's
own directory, so that every difference a probe finds is the trap's.
"""

from __future__ import annotations

import contextlib
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sensorutil import RealSSHD, run_real_sshd

PEERS = Path(__file__).resolve().parents[2] / "shared" / "peers"
STOCK_CONFIG = PEERS / "sshd_config"


StockSSHD = RealSSHD  # the same sshd, started with the stock config


def stock_config(workdir: Path, port: int) -> str:
    """``../shared/peers/sshd_config`` with this test's port, keys and pid file."""
    out: list[str] = []
    for line in STOCK_CONFIG.read_text(encoding="utf-8").splitlines():
        if re.match(r"\s*(Port|HostKey|PidFile)\s", line):
            continue
        out.append(line)
    out += [f"Port {port}", f"PidFile {workdir}/sshd.pid"]
    out += [f"HostKey {workdir}/ssh_host_{t}_key" for t in ("rsa", "ecdsa", "ed25519")]
    return "\n".join(out) + "\n"


@contextlib.contextmanager
def run_stock_sshd(workdir: Path) -> Iterator[StockSSHD]:
    """Debian 12's sshd with its stock config on 127.0.0.1 (needs root and openssh-server)."""
    with run_real_sshd(workdir, stock_config) as sshd:
        yield sshd


@dataclass
class RawAnswer:
    """What came back after the server's banner, and whether the server hung up."""

    banner: bytes
    reply: bytes
    closed: bool


def read_banner(s: socket.socket, timeout: float = 10.0) -> bytes:
    s.settimeout(timeout)
    buf = b""
    while not buf.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            break
        buf += c
    return buf


def raw_probe(port: int, data: bytes, wait: float = 3.0, wait_banner: bool = True) -> RawAnswer:
    """Send ``data`` (after reading the server's banner), collect the answer until close or ``wait``."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        banner = read_banner(s) if wait_banner else b""
        with contextlib.suppress(OSError):
            s.sendall(data)
        reply, closed = b"", False
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                break
            except OSError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            reply += chunk
        return RawAnswer(banner, reply, closed)
