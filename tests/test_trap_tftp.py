# SPDX-License-Identifier: MIT
"""The TFTP trap with the tftp-hpa client and a raw RFC 1350/2347 client.

* ``tftp -c put`` → ``tftp.session.file_upload`` with the sha256 of the bytes, kept in the content store;
* ``tftp -c get`` of a persona file (octet and netascii) and of a missing one (ERROR 1);
* options (blksize, tsize, timeout) acknowledged as tftpd-hpa does, every answer from a new port
  that ignores everyone but the requester; retransmission bounded for an unverified peer;
* ``..`` refused, per-peer transfers capped, seeded fuzz leaves the sensor serving.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sensorutil import SensorProc, need, run_sensor

CONFIG = "!\nhostname core-sw-02\ninterface Vlan1\n ip address 10.0.0.2 255.255.255.0\n!\n"
FILES = {"startup-config": CONFIG, "pxelinux.cfg/default": "DEFAULT linux\n"}

pytestmark = pytest.mark.skipif(need("tftp") is not None, reason=need("tftp") or "")


def udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def sensor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SensorProc, int]]:
    port = udp_port()
    overrides: dict[str, dict[str, Any]] = {
        "sensor.tftp": {
            "enabled": True,
            "listen": [f"127.0.0.1:{port}"],
            "files": {json.dumps(k): v for k, v in FILES.items()},  # quoted: `/` is no bare TOML key
            "timeout": 0.5,
            "retries": 2,
        },
        "sensor.ssh": {"enabled": False},
        "sensor.telnet": {"enabled": False},
    }
    with run_sensor(tmp_path_factory.mktemp("sensor"), overrides) as sp:
        sp.wait_for(lambda evs: any(e["eventid"] == "honeyfarm.sensor.start" for e in evs))
        yield sp, port


def wait_event(sp: SensorProc, eventid: str, pred: Any, timeout: float = 10.0) -> dict[str, Any]:
    evs = sp.wait_for(lambda evs: any(e["eventid"] == eventid and pred(e) for e in evs), timeout)
    return next(e for e in evs if e["eventid"] == eventid and pred(e))


def tftp(port: int, *args: str, mode: str = "binary", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["tftp", "127.0.0.1", str(port), "-m", mode, "-c", *args], capture_output=True, text=True, timeout=20, cwd=cwd
    )


def request(opcode: int, name: str, mode: str = "octet", **options: str) -> bytes:
    body = name.encode() + b"\0" + mode.encode() + b"\0"
    body += b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in options.items())
    return struct.pack("!H", opcode) + body


def client() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(3)
    return s


# --- the tftp-hpa client --------------------------------------------------------------------------


def test_put_is_captured_with_its_sha256(sensor: tuple[SensorProc, int], tmp_path: Path) -> None:
    sp, port = sensor
    for name, size in (("mips.bin", 5000), ("arm7", 1024)):  # 1024: ends with an empty block
        payload = os.urandom(size)
        (tmp_path / name).write_bytes(payload)
        res = tftp(port, "put", name, name, cwd=tmp_path)
        assert res.returncode == 0 and not res.stdout.strip() and not res.stderr.strip(), res
        ev = wait_event(sp, "tftp.session.file_upload", lambda e, n=name: e["extra"]["filename"] == n)
        assert ev["sha256"] == hashlib.sha256(payload).hexdigest()
        assert ev["extra"]["size"] == size and ev["extra"]["complete"] and not ev["extra"]["truncated"]
        assert ev["transport"] == "udp" and ev["protocol"] == "tftp"
        found = list(sp.spool.rglob(ev["sha256"]))
        assert found and found[0].read_bytes() == payload
    req = wait_event(sp, "tftp.request.received", lambda e: e["extra"].get("filename") == "mips.bin")
    assert req["extra"]["opcode"] == "wrq" and req["extra"]["mode"] == "octet" and req["extra"]["answer"] == "ack"


def test_get_of_a_persona_file_and_of_a_missing_one(sensor: tuple[SensorProc, int], tmp_path: Path) -> None:
    sp, port = sensor
    res = tftp(port, "get", "startup-config", "octet.txt", cwd=tmp_path)
    assert res.returncode == 0, res
    assert (tmp_path / "octet.txt").read_text() == CONFIG
    res = tftp(port, "get", "pxelinux.cfg/default", "ascii.txt", mode="ascii", cwd=tmp_path)
    assert res.returncode == 0, res
    assert (tmp_path / "ascii.txt").read_text() == "DEFAULT linux\n"  # netascii CRLF turned back into LF
    res = tftp(port, "get", "shadow", "missing.txt", cwd=tmp_path)
    assert "Error code 1: File not found" in res.stdout + res.stderr
    ev = wait_event(sp, "tftp.request.received", lambda e: e["extra"].get("filename") == "shadow")
    assert ev["extra"]["opcode"] == "rrq" and ev["extra"]["answer"] == "error: File not found"


# --- the protocol as tftpd-hpa speaks it ------------------------------------------------------------


def test_options_and_the_transfer_port(sensor: tuple[SensorProc, int]) -> None:
    _, port = sensor
    c = client()
    c.sendto(request(1, "startup-config", blksize="16", tsize="0", timeout="2", bogus="1"), ("127.0.0.1", port))
    data, tid = c.recvfrom(1000)
    assert tid[1] != port  # a new transfer ID, as a real server
    assert data == b"\x00\x06blksize\x0016\x00tsize\x00" + str(len(CONFIG)).encode() + b"\x00timeout\x002\x00"
    stranger = client()
    stranger.sendto(struct.pack("!HH", 4, 0), tid)  # the transfer port talks to the requester only
    c.sendto(struct.pack("!HH", 4, 0), tid)
    got = b""
    block = 1
    while True:
        data, addr = c.recvfrom(1000)
        assert addr == tid and struct.unpack("!HH", data[:4]) == (3, block)
        got += data[4:]
        c.sendto(struct.pack("!HH", 4, block), tid)
        if len(data) - 4 < 16:
            break
        block += 1
    assert got == CONFIG.encode()
    stranger.settimeout(0.3)
    with pytest.raises(TimeoutError):
        stranger.recvfrom(100)
    stranger.close()
    c.close()


def test_an_unanswered_block_is_sent_twice_at_most(sensor: tuple[SensorProc, int]) -> None:
    """A forged source never answers: it gets the first block and one retransmission, no more."""
    _, port = sensor
    c = client()
    c.settimeout(2.0)
    c.sendto(request(1, "startup-config"), ("127.0.0.1", port))
    got = []
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        try:
            got.append(c.recvfrom(1000)[0])
        except TimeoutError:
            break
    assert len(got) == 2 and got[0] == got[1] and got[0][:4] == b"\x00\x03\x00\x01"
    c.close()


def test_traversal_and_bad_requests_are_refused(sensor: tuple[SensorProc, int]) -> None:
    sp, port = sensor
    c = client()
    c.sendto(request(1, "../../etc/passwd"), ("127.0.0.1", port))
    assert c.recvfrom(100)[0] == b"\x00\x05\x00\x02Access violation\x00"
    c.sendto(request(2, "x.bin", mode="mail"), ("127.0.0.1", port))
    assert c.recvfrom(100)[0] == b"\x00\x05\x00\x04Unknown mode\x00"
    c.sendto(request(2, "big.bin", tsize=str(10**12)), ("127.0.0.1", port))
    assert c.recvfrom(100)[0] == b"\x00\x05\x00\x03Disk full or allocation exceeded\x00"
    c.close()
    ev = wait_event(sp, "tftp.request.received", lambda e: e["extra"].get("filename") == "../../etc/passwd")
    assert ev["extra"]["answer"] == "error: Access violation"


def test_an_abandoned_upload_keeps_its_blocks(sensor: tuple[SensorProc, int]) -> None:
    sp, port = sensor
    c = client()
    c.sendto(request(2, "half.bin"), ("127.0.0.1", port))
    data, tid = c.recvfrom(100)
    assert data == b"\x00\x04\x00\x00"
    c.sendto(b"\x00\x03\x00\x01" + b"A" * 512, tid)
    assert c.recvfrom(100)[0] == b"\x00\x04\x00\x01"
    c.close()  # the peer goes away: retries, then the block it sent is kept
    ev = wait_event(sp, "tftp.session.file_upload", lambda e: e["extra"]["filename"] == "half.bin")
    assert ev["extra"]["complete"] is False and ev["extra"]["size"] == 512 and ev["extra"]["blocks"] == 1
    assert ev["sha256"] == hashlib.sha256(b"A" * 512).hexdigest()


def test_transfers_per_peer_are_capped(sensor: tuple[SensorProc, int]) -> None:
    sp, port = sensor
    time.sleep(1.5)  # transfers of the tests before have given up by now
    socks = [client() for _ in range(5)]
    for i, s in enumerate(socks):
        s.sendto(request(2, f"hold{i}.bin"), ("127.0.0.1", port))
    answered = 0
    for s in socks:
        s.settimeout(0.5)
        try:
            if s.recvfrom(100)[0] == b"\x00\x04\x00\x00":
                answered += 1
        except TimeoutError:
            pass
        s.close()
    assert answered == 4  # max_transfers_per_ip
    ev = wait_event(sp, "tftp.request.received", lambda e: e["extra"].get("answer") == "dropped: busy")
    assert ev["extra"]["filename"] == "hold4.bin"


def test_fuzz_leaves_it_serving(sensor: tuple[SensorProc, int], tmp_path: Path) -> None:
    sp, port = sensor
    rng = random.Random(14)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(150):
            kind = i % 3
            if kind == 0:
                pkt = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 600)))
            elif kind == 1:  # a request with random fields and options
                fields = [
                    bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40))) for _ in range(rng.randint(0, 9))
                ]
                pkt = struct.pack("!H", rng.choice([1, 2])) + b"\0".join(fields) + rng.choice([b"\0", b""])
            else:  # stray DATA/ACK/ERROR/OACK to the well-known port
                pkt = struct.pack("!HH", rng.randint(3, 6), rng.randint(0, 65535)) + os.urandom(rng.randint(0, 20))
            s.sendto(pkt, ("127.0.0.1", port))
            if i % 40 == 39:
                time.sleep(1.0)  # stay under the per-address packet budget, so the parser sees them
    time.sleep(1.5)
    res = tftp(port, "get", "startup-config", "after.txt", cwd=tmp_path)
    assert res.returncode == 0 and (tmp_path / "after.txt").read_text() == CONFIG, res
    assert sp.proc is not None and sp.proc.poll() is None
    log = (sp.workdir / "sensor.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
