# SPDX-License-Identifier: MIT
"""Files an attacker writes are there when the same address comes back — and only for it.

End to end with the real ``ssh`` and ``telnet`` clients: a key planted in
``~/.ssh/authorized_keys`` over SSH from 127.0.0.1 is read back by a new SSH connection, by a
Telnet session from the same address and after a restart of the sensor, and is not seen from
127.0.0.2 (Linux routes all of 127/8 to loopback). The snapshot store itself (expiry, caps,
hashed names, a damaged snapshot) is tested directly with a clock of its own.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from sensorutil import SSH_OPTS, SensorProc, need, run_sensor

from honeyfarm.sensor.shell.fs.node import Node
from honeyfarm.sensor.shell.fs.overlays import OverlayStore, address_key

PW = "persist-pw-1"
OVERRIDES: dict[str, dict[str, Any]] = {"sensor.credentials": {"userdb": [f"root:x:{PW}"]}}
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHp7bGlzdGVuIHRvIG1lIHBsZWFzZQ attacker@botnet"


def ssh(sp: SensorProc, cmd: str, *, src: str = "127.0.0.1") -> subprocess.CompletedProcess[str]:
    argv = ["sshpass", "-p", PW, "ssh", *SSH_OPTS, "-b", src, "-p", str(sp.ssh_port), "root@127.0.0.1", cmd]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False)


def telnet_run(sp: SensorProc, cmd: str) -> str:
    """Log in with the real telnet client from 127.0.0.1, run ``cmd``, return what it printed."""
    proc = subprocess.Popen(
        ["telnet", "127.0.0.1", str(sp.telnet_port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    buf = b""

    def until(needle: bytes, timeout: float = 20) -> bytes:
        nonlocal buf
        deadline = time.monotonic() + timeout
        while needle not in buf:
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} not seen: {buf[-400:]!r}")
            chunk = proc.stdout.read(65536) if proc.stdout else None  # type: ignore[union-attr]
            if chunk:
                buf += chunk
            else:
                time.sleep(0.05)
        head, _, buf = buf.partition(needle)
        return head

    try:
        until(b"login: ")
        proc.stdin.write(b"root\n")
        proc.stdin.flush()
        until(b"Password: ")
        proc.stdin.write(PW.encode() + b"\n")
        proc.stdin.flush()
        until(b"# ")
        proc.stdin.write(cmd.encode() + b"; echo END-OF-IT\n")
        proc.stdin.flush()
        until(b"END-OF-IT")  # the echoed command line
        out = until(b"END-OF-IT")  # the command's own output ends here
        proc.stdin.write(b"exit\n")
        proc.stdin.flush()
        return out.decode(errors="replace")
    finally:
        proc.kill()
        proc.wait(5)
        proc.stdin.close()
        proc.stdout.close()


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.mark.skipif(bool(need("ssh", "sshpass", "telnet")), reason=str(need("ssh", "sshpass", "telnet")))
def test_planted_key_is_there_when_the_same_address_returns(spool_dir: Path) -> None:
    with run_sensor(spool_dir, OVERRIDES) as sp:
        res = ssh(sp, f"mkdir -p ~/.ssh; echo '{KEY}' >> ~/.ssh/authorized_keys; chmod 600 ~/.ssh/authorized_keys")
        assert res.returncode == 0, res.stderr
        assert ssh(sp, "cat ~/.ssh/authorized_keys").stdout == KEY + "\n"  # a new connection
        other = ssh(sp, "cat ~/.ssh/authorized_keys; ls /tmp", src="127.0.0.2")
        assert other.returncode == 0 and KEY not in other.stdout  # another address: a fresh machine
        assert KEY in telnet_run(sp, "cat /root/.ssh/authorized_keys")  # Telnet shares the address's files
        names = os.listdir(sp.spool / "state" / "overlays")
        assert sorted(names) == sorted({f"{address_key('127.0.0.1')}.json"} | ({f"{address_key('127.0.0.2')}.json"}
                                                                                  & set(names)))  # fmt: skip
        assert all(re.fullmatch(r"[0-9a-f]{64}\.json", n) for n in names)
    with run_sensor(spool_dir, OVERRIDES) as sp:  # a restart keeps them
        assert ssh(sp, "cat ~/.ssh/authorized_keys").stdout == KEY + "\n"
        assert ssh(sp, "cat ~/.ssh/authorized_keys", src="127.0.0.2").stdout == ""


@pytest.mark.skipif(bool(need("ssh", "sshpass")), reason=str(need("ssh", "sshpass")))
def test_persistence_off_forgets_between_logins(spool_dir: Path) -> None:
    with run_sensor(spool_dir, {**OVERRIDES, "sensor.persistence": {"enabled": False}}) as sp:
        assert ssh(sp, "echo x > /tmp/left-here").returncode == 0
        res = ssh(sp, "cat /tmp/left-here")
        assert res.returncode == 1 and "No such file or directory" in res.stderr


# --- the snapshot store -------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _write(store: OverlayStore, ip: str, name: str, data: bytes) -> None:
    async def go() -> None:
        overlay = store.open(ip)
        overlay.nodes[name] = Node("f", 0o644, 0, 0, 0.0, data)
        overlay.used += len(name) + len(data)
        overlay.changed()  # schedules a write on the running loop...
        await store.flush(ip)  # ...done now

    asyncio.run(go())


def _store(root: Path, clock: Clock, **kw: Any) -> OverlayStore:
    args: dict[str, Any] = {"ttl": 3600.0, "max_bytes": 1 << 20, "max_files": 100, "overlay_bytes": 1 << 16}
    args.update(kw)
    return OverlayStore(root, clock=clock, **args)


def test_snapshots_expire_after_ttl(tmp_path: Path) -> None:
    clock = Clock()

    async def go() -> None:
        store = _store(tmp_path, clock)
        overlay = store.open("203.0.113.7")
        overlay.nodes["/tmp/x"] = Node("f", 0o644, 0, 0, 0.0, b"payload")
        overlay.changed()
        await store.flush("203.0.113.7")
        assert store.path_of("203.0.113.7").exists()

    asyncio.run(go())
    fresh = _store(tmp_path, clock)  # a new process: only the disk
    assert fresh.open("203.0.113.7").nodes["/tmp/x"] == Node("f", 0o644, 0, 0, 0.0, b"payload")
    clock.now += 3601
    later = _store(tmp_path, clock)
    assert later.open("203.0.113.7").nodes == {}
    assert not later.path_of("203.0.113.7").exists()


def test_store_is_capped_and_evicts_the_oldest(tmp_path: Path) -> None:
    clock = Clock()
    store = _store(tmp_path, clock, max_files=2)
    for ip in ["198.51.100.1", "198.51.100.2", "198.51.100.3"]:
        _write(store, ip, "/tmp/f", b"x" * 10)
        clock.now += 1
    assert len(store) == 2 and not store.path_of("198.51.100.1").exists()  # the oldest went
    assert store.path_of("198.51.100.2").exists() and store.path_of("198.51.100.3").exists()
    capped = _store(tmp_path / "b", clock, max_bytes=4096)
    for ip in ["198.51.100.1", "198.51.100.2"]:
        _write(capped, ip, "/tmp/big", secrets.token_bytes(2000))
        clock.now += 1
    assert capped.total_bytes <= 4096 and len(capped) == 1 and capped.path_of("198.51.100.2").exists()
    assert sum(p.stat().st_size for p in (tmp_path / "b").iterdir()) <= 4096


def test_damaged_snapshot_is_ignored_and_names_are_hashes(tmp_path: Path) -> None:
    clock = Clock()
    store = _store(tmp_path, clock)
    _write(store, "192.0.2.9", "/root/.ssh/authorized_keys", KEY.encode())
    path = store.path_of("192.0.2.9")
    assert path.name == f"{address_key('192.0.2.9')}.json" and "192.0.2.9" not in path.read_text()
    path.write_text('{"v": 1, "nodes": [["../../etc/passwd", "f", 420, 0, 0, 0, "", null, ""]]}')
    again = _store(tmp_path, clock)
    assert again.open("192.0.2.9").nodes == {}  # refused as a whole, and removed
    assert not path.exists()


@pytest.mark.skipif(bool(need("scp", "ssh", "sshpass")), reason=str(need("scp", "ssh", "sshpass")))
@pytest.mark.parametrize("mode", ["sftp", "scp-legacy"])
def test_key_copied_with_scp_is_seen_by_the_shell(spool_dir: Path, mode: str) -> None:
    key_file = spool_dir / "key.pub"
    key_file.write_text(KEY + "\n")
    (spool_dir / "sensor").mkdir()
    with run_sensor(spool_dir / "sensor", OVERRIDES) as sp:
        argv = ["sshpass", "-p", PW, "scp", *SSH_OPTS, *(["-O"] if mode == "scp-legacy" else []), "-P",
                str(sp.ssh_port), str(key_file), "root@127.0.0.1:.ssh/authorized_keys"]  # fmt: skip
        res = subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False)
        assert res.returncode == 0, res.stderr
        out = ssh(sp, "cat /root/.ssh/authorized_keys; ls -l /root/.ssh/authorized_keys")
        assert out.stdout.startswith(KEY + "\n") and f" {len(KEY) + 1} " in out.stdout


def test_pending_changes_are_written_by_flush_all(tmp_path: Path) -> None:
    clock = Clock()

    async def go() -> None:
        store = _store(tmp_path, clock, delay=3600.0)  # the timer alone would never fire in this test
        overlay = store.open("2001:db8::1")
        overlay.nodes["/tmp/t"] = Node("f", 0o644, 0, 0, 0.0, b"telnet wrote this")
        overlay.changed()
        assert not store.path_of("2001:db8::1").exists()
        await store.flush_all()  # what the runtime calls at shutdown
        assert store.path_of("2001:db8::1").exists()

    asyncio.run(go())
    assert _store(tmp_path, clock).open("2001:db8:0::1").nodes["/tmp/t"].data == b"telnet wrote this"
