# SPDX-License-Identifier: MIT
"""A real Debian 12 ``mariadbd`` 10.11 for the MySQL trap's differential tests, and a raw client.

The server runs as a child of the test on a free loopback port with a temporary datadir
(``mariadb-install-db``, about a second), with Debian's ``50-server.cnf`` character set
(utf8mb4 / utf8mb4_general_ci) and no TLS, as ``apt install mariadb-server`` leaves it. Root
keeps the ``normal`` authentication (mysql_native_password, empty password), so a wrong
password gets the real error 1045.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sensorutil import free_port, stop_process, wait_port

MARIADBD = "/usr/sbin/mariadbd"


def mariadb_missing() -> str | None:
    if not Path(MARIADBD).exists() or shutil.which("mariadb-install-db") is None:
        return "mariadb-server is not installed (scripts/install-system-deps.sh installs it)"
    return None


@dataclass
class RealMariaDB:
    port: int
    dir: Path
    proc: subprocess.Popen[bytes]


@contextlib.contextmanager
def run_real_mariadb(workdir: Path) -> Iterator[RealMariaDB]:
    workdir.mkdir(parents=True, exist_ok=True)
    data = workdir / "data"
    # mariadbd refuses to run as root without --user; as root it keeps root (the datadir is ours).
    user = ["--user=root"] if os.geteuid() == 0 else []
    install = ["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=normal"]
    subprocess.run([*install, "--skip-test-db", *user], check=True, capture_output=True, timeout=60)
    port = free_port()
    args = [
        MARIADBD,
        "--no-defaults",
        f"--datadir={data}",
        f"--socket={workdir / 'mysqld.sock'}",
        f"--pid-file={workdir / 'mysqld.pid'}",
        f"--port={port}",
        "--bind-address=127.0.0.1",
        "--character-set-server=utf8mb4",
        "--collation-server=utf8mb4_general_ci",
        "--skip-log-bin",
        "--innodb-buffer-pool-size=16M",
        f"--log-error={workdir / 'error.log'}",
        *user,
    ]
    with (workdir / "mariadbd.out").open("wb") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=log)
        try:
            wait_port(port, timeout=30, proc=proc)
            yield RealMariaDB(port, workdir, proc)
        finally:
            stop_process(proc)


# --- a raw client: the tests' own packet reader (trusted peers, small packets) ----------------------


def read_packet(s: socket.socket) -> tuple[int, bytes]:
    head = _exact(s, 4)
    return head[3], _exact(s, int.from_bytes(head[:3], "little"))


def _exact(s: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise ConnectionError(f"closed after {out!r}")
        out += chunk
    return out


def frame(seq: int, body: bytes) -> bytes:
    return len(body).to_bytes(3, "little") + bytes([seq]) + body


@dataclass
class Greeting:
    protocol: int
    version: str
    thread_id: int
    salt: bytes
    caps: int
    charset: int
    status: int
    auth_data_len: int
    reserved: bytes
    ext_caps: int
    plugin: str


def parse_greeting(body: bytes) -> Greeting:
    end = body.index(b"\0", 1)
    i = end + 1
    thread_id = struct.unpack_from("<I", body, i)[0]
    salt1 = body[i + 4 : i + 12]
    i += 13
    lower, charset, status, upper, alen = struct.unpack_from("<HBHHB", body, i)
    i += 8
    reserved = body[i : i + 6]
    ext = struct.unpack_from("<I", body, i + 6)[0]
    i += 10
    salt2 = body[i : i + 12]
    assert body[i + 12] == 0
    plugin = body[i + 13 :].rstrip(b"\0").decode()
    return Greeting(
        body[0], body[1:end].decode(), thread_id, salt1 + salt2, lower | upper << 16, charset, status, alen,
        reserved, ext, plugin,
    )  # fmt: skip


def native_token(password: bytes, salt: bytes) -> bytes:
    if not password:
        return b""
    a = hashlib.sha1(password).digest()
    b = hashlib.sha1(hashlib.sha1(a).digest()).digest()
    c = hashlib.sha1(salt + b).digest()
    return bytes(x ^ y for x, y in zip(a, c, strict=True))


def handshake_response(
    salt: bytes, user: bytes, password: bytes, plugin: bytes = b"mysql_native_password", caps: int = 0x000AA205
) -> bytes:
    """A PyMySQL-like HandshakeResponse41 (CLIENT_MYSQL set: no MariaDB extended capabilities)."""
    auth = native_token(password, salt) if plugin == b"mysql_native_password" else b"\x01" * 32
    body = struct.pack("<IIB", caps, 16 * 1024 * 1024, 45) + b"\0" * 23 + user + b"\0"
    return body + bytes([len(auth)]) + auth + plugin + b"\0"


def login(
    port: int, user: bytes, password: bytes, plugin: bytes = b"mysql_native_password"
) -> tuple[Greeting, list[tuple[int, bytes]]]:
    """Greeting, handshake response; the packets the server answers (an auth switch answered with junk)."""
    out: list[tuple[int, bytes]] = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        g = parse_greeting(read_packet(s)[1])
        s.sendall(frame(1, handshake_response(g.salt, user, password, plugin)))
        seq, body = read_packet(s)
        out.append((seq, body))
        if body[:1] == b"\xfe":
            s.sendall(frame(seq + 1, b"\x02" * 20))
            out.append(read_packet(s))
    return g, out


def query_packets(port: int, sqls: list[bytes], caps: int = 0x000AA205, ext: int = 0) -> list[list[tuple[int, bytes]]]:
    """Log in as root with an empty password and run each query; every answer's packets."""
    answers: list[list[tuple[int, bytes]]] = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        read_packet(s)
        body = struct.pack("<IIB", caps, 16 * 1024 * 1024, 45) + b"\0" * 19 + struct.pack("<I", ext)
        s.sendall(frame(1, body + b"root\0\0mysql_native_password\0"))
        _seq, ok = read_packet(s)
        assert ok[:1] == b"\x00", ok
        for sql in sqls:
            s.sendall(frame(0, b"\x03" + sql))
            answers.append(_answer(s, caps))
    return answers


def _answer(s: socket.socket, caps: int) -> list[tuple[int, bytes]]:
    """One command's answer: OK/ERR, or a result set up to its final EOF/OK."""
    first = read_packet(s)
    out = [first]
    if first[1][:1] in (b"\x00", b"\xff"):
        return out
    eofs = 0
    need = 1 if caps & 0x1000000 else 2
    while eofs < need:
        pkt = read_packet(s)
        out.append(pkt)
        if pkt[1][:1] == b"\xfe" and len(pkt[1]) < 9:
            eofs += 1
    return out
