# SPDX-License-Identifier: MIT
"""The SSH trap against a real Debian 12 sshd (OpenSSH 9.2p1), both started by this test.

What scanners see must be the same, host keys and speed aside: the banner, the
KEXINIT lists in order (so the same hasshServer), ssh-audit's full report,
nmap's version detection and ssh2-enum-algos / ssh-auth-methods, and a failed
password answered after a delay like sshd + pam_unix's (~2 s ± 25%), not
Cowrie's fixed 1 s.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import pytest
from sensorutil import RealSSHD, SensorProc, need, run_real_sshd, run_sensor, sshd_available

from honeyfarm.sensor.traps.ssh.openssh import OPENSSH_92_DEBIAN12

pytestmark = pytest.mark.skipif(sshd_available() is not None, reason=str(sshd_available()))


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealSSHD]:
    with run_real_sshd(tmp_path_factory.mktemp("sshd")) as s:
        yield s


@pytest.fixture(scope="module")
def trap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SensorProc]:
    # The default failure delay (2 s, as pam_unix), not the fast one other tests use.
    with run_sensor(tmp_path_factory.mktemp("trap"), {"sensor.ssh": {"auth_fail_delay": 2.0}}) as s:
        yield s


def kexinit(port: int) -> tuple[str, list[str], int, int]:
    """Banner, the ten KEXINIT name-lists, packet length and padding (as kexinit_probe.py)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(4096)
            assert chunk, "closed before the banner"
            buf += chunk
        banner, _, data = buf.partition(b"\n")
        s.sendall(b"SSH-2.0-OpenSSH_9.2p1 probe\r\n")
        deadline = time.monotonic() + 10
        while len(data) < 5 or len(data) < 4 + struct.unpack(">I", data[:4])[0]:
            assert time.monotonic() < deadline
            chunk = s.recv(65536)
            assert chunk
            data += chunk
    plen, padlen = struct.unpack(">IB", data[:5])
    payload = data[5 : 4 + plen - padlen]
    assert payload[0] == 20
    off, lists = 17, []
    for _ in range(10):
        (n,) = struct.unpack(">I", payload[off : off + 4])
        lists.append(payload[off + 4 : off + 4 + n].decode())
        off += 4 + n
    return banner.decode().strip(), lists, plen, padlen


def hassh_server(lists: list[str]) -> str:
    kex, _, enc, _, mac, _, comp, *_ = lists
    return hashlib.md5(f"{kex};{enc};{mac};{comp}".encode()).hexdigest()


def test_banner_and_kexinit_match_real_sshd(sshd: RealSSHD, trap: SensorProc) -> None:
    real_banner, real_lists, real_len, real_pad = kexinit(sshd.port)
    banner, lists, plen, pad = kexinit(trap.ssh_port)
    assert banner == real_banner
    assert lists == real_lists
    assert hassh_server(lists) == hassh_server(real_lists) == OPENSSH_92_DEBIAN12.hassh_server
    # Even the packet framing is the same (same names, same padding rule).
    assert (plen, pad) == (real_len, real_pad)


def _normalise_audit(text: str) -> str:
    text = re.sub(r"SHA256:\S+", "SHA256:<key>", text)
    # The DHEat rate test measures speed (a forking sshd is slower); keep the verdict, drop the numbers.
    text = re.sub(r"\d+ connections were created in [\d.]+ seconds, or [\d.]+ conns/sec", "<rate>", text)
    return re.sub(r"127\.0\.0\.1:\d+|port \d+", "<target>", text)


def _audit(port: int) -> str:
    exe = Path(sys.executable).with_name("ssh-audit")
    res = subprocess.run([str(exe), "-n", "-p", str(port), "127.0.0.1"], capture_output=True, timeout=120)
    return _normalise_audit(res.stdout.decode(errors="replace"))


def test_ssh_audit_sees_the_same_server(sshd: RealSSHD, trap: SensorProc) -> None:
    real, ours = _audit(sshd.port), _audit(trap.ssh_port)
    assert "OpenSSH 9.2p1" in real
    assert "(fin) ssh-ed25519" in real and "(fin) ssh-ed25519" in ours  # host keys were read from both
    assert ours == real


@pytest.mark.skipif(need("nmap") is not None, reason=str(need("nmap")))
def test_nmap_sees_the_same_server(sshd: RealSSHD, trap: SensorProc) -> None:
    res = subprocess.run(
        [
            "nmap",
            "-Pn",
            "-n",
            "-sV",
            "-p",
            f"{sshd.port},{trap.ssh_port}",
            "--script",
            "ssh2-enum-algos,ssh-auth-methods",
            "127.0.0.1",
        ],
        capture_output=True,
        timeout=180,
    )
    out = res.stdout.decode()
    sections = {
        m.group(1): m.group(2) for m in re.finditer(r"^(\d+)/tcp (.*?)(?=^\d+/tcp |^Service Info|\Z)", out, re.M | re.S)
    }
    real, ours = _nmap_blocks(sections[str(sshd.port)]), _nmap_blocks(sections[str(trap.ssh_port)])
    assert "OpenSSH 9.2p1 Debian 2+deb12u" in real["version"]
    assert "sntrup761x25519-sha512" in real["ssh2-enum-algos"]
    assert set(real) == {"version", "ssh2-enum-algos", "ssh-auth-methods"}
    assert ours == real


def _nmap_blocks(section: str) -> dict[str, str]:
    """Version line and each script's output (nmap prints scripts in the order they finish)."""
    lines = section.splitlines()
    blocks: dict[str, str] = {"version": lines[0]}
    name = None
    for line in lines[1:]:
        m = re.match(r"^\|_? ?([\w-]+): ?$", line) or re.match(r"^\| ([\w-]+): ", line)
        if m:
            name = m.group(1)
            blocks[name] = ""
        elif name is not None:
            blocks[name] += line + "\n"
    return blocks


def _banner_ms(port: int, n: int = 15) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            assert s.recv(256).startswith(b"SSH-2.0-OpenSSH_9.2p1")
        times.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.02)
    return sorted(times)[n // 2]


def test_banner_comes_after_a_sshd_like_delay(sshd: RealSSHD, trap: SensorProc) -> None:
    # sshd forks and re-executes itself before its banner (~8 ms on this machine); Cowrie answers in ~1 ms.
    real, ours = _banner_ms(sshd.port), _banner_ms(trap.ssh_port)
    assert real >= 3.0, real
    assert 3.0 <= ours <= max(3 * real, 30.0), (ours, real)


async def _failed_login_seconds(port: int, user: str) -> float:
    t0 = time.monotonic()
    with pytest.raises(asyncssh.PermissionDenied):
        async with asyncssh.connect(
            "127.0.0.1",
            port,
            username=user,
            password="definitely-wrong",
            known_hosts=None,
            client_keys=None,
            preferred_auth="password",
            connect_timeout=10,
        ):
            pass
    return time.monotonic() - t0


def test_failed_password_delay_like_sshd(sshd: RealSSHD, trap: SensorProc) -> None:
    # sshd (MaxAuthTries 6) retries the same wrong password once per attempt asyncssh makes: one attempt here.
    real = asyncio.run(_failed_login_seconds(sshd.port, sshd.user))
    ours = asyncio.run(_failed_login_seconds(trap.ssh_port, "root1"))
    # pam_unix: 2 s ± 25%, plus connection set-up (slow on a loaded 2-core machine). Cowrie answers in 1 s.
    assert 1.4 <= real <= 6.0, real
    assert 1.4 <= ours <= 6.0, ours
