# SPDX-License-Identifier: MIT
"""Real ``redis-server`` processes for the Redis trap's tests, and a raw RESP client.

Each server is Debian 12's ``/usr/bin/redis-server`` started by the test as an unprivileged
child on a free loopback port, with its own temporary directory, no persistence and no
config file; it is stopped by its PID.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sensorutil import HONEYFARM, free_port, stop_process, wait_port

REDIS_SERVER = Path("/usr/bin/redis-server")


def redis_missing() -> str | None:
    missing = [t for t in ("redis-server", "redis-cli") if shutil.which(t) is None]
    return f"not installed: {', '.join(missing)} (scripts/install-system-deps.sh installs them)" if missing else None


@dataclass
class RealRedis:
    port: int
    dir: Path
    proc: subprocess.Popen[bytes]


@contextlib.contextmanager
def run_real_redis(workdir: Path, *extra: str) -> Iterator[RealRedis]:
    """redis-server as the trap's default configuration claims to be (exposed, protected configs on)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    args = [
        str(REDIS_SERVER),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
        "--protected-mode",
        "no",
        "--enable-protected-configs",
        "yes",
        "--enable-module-command",
        "yes",
        "--daemonize",
        "no",
        *extra,
    ]
    with (workdir / "redis.log").open("wb") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=log, cwd=workdir)
        try:
            wait_port(port, proc=proc)
            yield RealRedis(port, workdir, proc)
        finally:
            stop_process(proc)


# --- the differential probes: the same bytes to the real server and to the trap ---------------------

LONG = "y" * 200
PROBES: list[bytes] = [
    b"PING\r\n",
    b"PING\n",
    b"ping hello\r\n",
    b"*1\r\n$4\r\nPING\r\n",
    b"*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n",
    b"ECHO\r\n",
    b"echo a b\r\n",
    b"foo a b\r\n",
    b"FOO\r\n",
    f"nosuchcmd {LONG} z\r\n".encode(),
    b"get\r\n",
    b"set k\r\n",
    b"config\r\n",
    b"config foo\r\n",
    b"config get\r\n",
    b"config get dbfilename\r\n",
    b"config get nosuch\r\n",
    b"config get requirepass\r\n",
    b"config set nosuch 1\r\n",
    b"config set dir\r\n",
    b"config set dir /nonexistent-dir-xyz\r\n",
    b"config set dbfilename /etc/x\r\n",
    b"config set dir /tmp extra\r\n",
    b"config set maxmemory abc\r\n",
    b"config set databases 2\r\n",
    b"set k v\r\nget k\r\nexists k k j\r\ntype k\r\nttl k\r\nexpire k 100\r\nttl k\r\ndbsize\r\ndel k j\r\nget k\r\n",
    b"set k v ex 0\r\nset k v ex x\r\nset k v foo\r\nset k v nx\r\nset k w xx get\r\n",
    b"set n 5\r\nincr n\r\nincrby n 10\r\nappend n x\r\nstrlen n\r\nincr n\r\nmget n q\r\n",
    b"mset a 1 b\r\nmset a 1\r\ngetdel a\r\nrename zz yy\r\n",
    b"set a x\r\nlpush a b\r\nkeys *\r\nkeys nomatch*\r\nscan 0\r\nrandomkey\r\n",
    b"type nokey\r\nttl nokey\r\nexpire nokey 10\r\nexpire k x\r\n",
    b"select 16\r\nselect x\r\nselect -1\r\nselect 3\r\n",
    b"flushall async\r\nflushall x\r\nflushdb\r\n",
    b"keys\r\n",
    b"auth\r\nauth x\r\nauth a b\r\nauth default x\r\nauth a b c\r\n",
    b"set a 'b c'\r\nget a\r\n",
    b'echo "a\\x41\\n\\t"\r\n',
    b"echo 'it\\'s'\r\n",
    b"\r\n  \r\nPING\r\n",
    b'GET "unterminated\r\n',
    b'echo "a"b\r\n',
    b"*x\r\n",
    b"*1\r\n$x\r\n",
    b"*1\r\n+PING\r\n",
    b"*1\r\n$-1\r\n",
    b"*1\r\n$536870913\r\n",
    b"*0\r\n*-1\r\nPING\r\n",
    b"$4\r\nPING\r\n",
    b"*1\r\n$4\r\nPINGxx",
    b"*2\r\n$4\r\nPING\r\n$1\r\nab\r\n",
    b"*2\r\n$4\r\nECHO\r\n$3\r\nabcXY",
    b"x" * 70000,
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST / HTTP/1.1\r\n\r\n",
    b"QUIT\r\nPING\r\n",
    b"info nosuch\r\n",
    b"eval 'return 1' 0\r\neval \"return 'abc'\" 0\r\neval 'return 1'\r\neval 'return 1' x\r\n",
    b"eval 'return 1' 5\r\neval x -1\r\nevalsha abc 0\r\nscript exists abc\r\nscript kill\r\n",
    b"eval \"local io_l = package.loadlib('/usr/lib/x86_64-linux-gnu/liblua5.1.so.0', 'luaopen_io'); "
    b"local io = io_l(); local f = io.popen('id', 'r'); return f:read('*a')\" 0\r\n",
    b"eval \"return os.execute('id')\" 0\r\n",
    b"script load 'return 1'\r\nevalsha e0e1f9fabfc9d4800c877a703b823ac0578ff8db 0\r\n",
    b"module\r\nmodule load\r\nmodule list\r\nmodule foo\r\n",
    b"module load /tmp/nonexistent-xyz.so\r\nmodule unload foo\r\n",
    b"client setname foo\r\nclient getname\r\nclient setname 'a b'\r\nclient\r\nclient foo\r\n",
    b"client setname\r\nclient kill 1.2.3.4:5\r\n",
    b"hello 4\r\nhello x\r\n",
    b"role\r\ncommand count\r\ncommand foo\r\ncommand info get nosuch\r\ncommand docs get\r\n",
    b"slaveof\r\nslaveof a\r\nslaveof a b\r\nreplicaof 127.0.0.1 99999\r\nreplicaof no one\r\n",
    b"debug segfault\r\nacl whoami\r\nlastsave x\r\n",
    b"script\r\nscript foo\r\nscript flush\r\n",
    b"config help\r\nconfig resetstat\r\n",
    b"zadd z 1 a\r\nhset h a b\r\nsmembers s\r\nlrange x 0 -1\r\n",
    b"client setname scanner\r\nclient list\r\nclient info\r\n",
    b"set a b\r\nsave\r\nlastsave\r\ninfo keyspace\r\n",
    b"hello\r\nhello 2 setname x\r\n",
    b"monitor\r\n",
    b"*3\r\n$3\r\nfoo\r\n$4\r\na\r\nb\r\n$4\r\nc\x00d\xff\r\n",  # CR/LF, NUL, a non-UTF-8 byte
    b"*2\r\n$200\r\n" + b"N" * 200 + b"\r\n$1\r\nx\r\n",  # a name past redis' %.128s
    b"*2\r\n$3\r\nGET\r\n$0\r\n\r\nconfig get *max-*-entries-nosuch*\r\n",
    b"config set rdbcompression foo\r\nconfig set hz abc\r\nconfig set timeout -5\r\n",
    b"config set rdbcompression YES\r\nconfig get rdbcompression\r\n",
    b"config set slave-read-only no\r\nconfig get replica-read-only\r\nconfig set replica-read-only yes\r\n",
    b"pubsub channels\r\npubsub numpat\r\npubsub numsub a b\r\ncluster nodes\r\ncluster info\r\ncluster foo\r\n",
    b"slowlog get\r\nslowlog len\r\nlatency latest\r\nmemory usage x\r\nfunction list\r\nwait 0 0\r\nreadonly\r\n",
    b"acl users\r\nacl list\r\nacl whoami\r\nselect 2\r\nreset\r\nsubscribe a b\r\nping\r\nget k\r\n",
    b"subscribe a b\r\nunsubscribe a\r\nunsubscribe\r\nunsubscribe\r\nreset\r\n",
    b"CONFIG GET Dir\r\nconfig set DBFILENAME x\r\nconfig get dbfilename\r\nconfig set dbfilename dump.rdb\r\n",
]


def normalise(raw: bytes, real_dir: str) -> bytes:
    """Values that differ between any two redis-servers (ids, time, addresses) made equal."""
    raw = re.sub(rb"\$\d+\r\n" + re.escape(real_dir.encode()) + rb"\r\n", b"$14\r\n/var/lib/redis\r\n", raw)
    raw = re.sub(rb":\d{9,}\r\n", b":<time>\r\n", raw)  # LASTSAVE
    raw = re.sub(rb"id=\d+ addr=\S+ laddr=\S+ fd=\d+", b"id=N addr=A laddr=L fd=F", raw)
    if b" qbuf=" in raw:  # CLIENT LIST: buffer sizes depend on the input read so far; age and idle on the clock
        raw = re.sub(rb"(?<=[ -])(qbuf|qbuf-free|argv-mem|tot-mem|obl|age|idle|rbs|rbp)=\d+", rb"\1=N", raw)
        raw = re.sub(rb"\$\d+\r\nid=N", b"$N\r\nid=N", raw)
    raw = re.sub(rb"\+\d+\.\d{6} \[(\d+) [\d.:]+\]", rb"+T [\1 A]", raw)  # MONITOR's feed
    raw = re.sub(rb"\$2\r\nid\r\n:\d+\r\n", b"$2\r\nid\r\n:N\r\n", raw)  # HELLO's client id
    return raw


SENTINEL = b"*2\r\n$4\r\nECHO\r\n$7\r\n__end__\r\n"
SENTINEL_REPLY = b"$7\r\n__end__\r\n"


def exchange(port: int, data: bytes, sentinel: bytes | None = None, quiet: float = 0.4, limit: float = 5.0) -> bytes:
    """Send ``data`` on a new connection; what comes back until EOF (marked ``<EOF>``), ``sentinel``,
    or ``quiet`` seconds of silence, at most ``limit`` seconds."""
    out = b""
    with socket.create_connection(("127.0.0.1", port), timeout=limit) as s:
        s.sendall(data)
        deadline = time.monotonic() + limit
        s.settimeout(quiet)
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                return out + b"<RST>"
            if not chunk:
                return out + b"<EOF>"
            out += chunk
            if sentinel is not None and out.endswith(sentinel):
                break
    return out


def parse(b: bytes, i: int = 0) -> tuple[object, int]:
    """One RESP2 reply (the tests' own reader: trusted, small)."""
    j = b.index(b"\r\n", i)
    kind, line, i = b[i : i + 1], b[i + 1 : j], j + 2
    if kind == b"*":
        n = int(line)
        if n < 0:
            return None, i
        items = []
        for _ in range(n):
            v, i = parse(b, i)
            items.append(v)
        return items, i
    if kind == b"$":
        n = int(line)
        if n >= 0 and len(b) < i + n + 2:
            raise IndexError("incomplete bulk")
        return (None, i) if n < 0 else (b[i : i + n], i + n + 2)
    if kind == b":":
        return int(line), i
    return (kind + line), i


def command(port: int, *args: str | bytes, timeout: float = 10.0) -> object:
    """One command on a new connection; its parsed reply."""
    enc = [a.encode() if isinstance(a, str) else a for a in args]
    data = b"*%d\r\n" % len(enc) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in enc)
    buf = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed after {buf[:200]!r}")
            buf += chunk
            with contextlib.suppress(ValueError, IndexError):
                return parse(buf)[0]


def exchange_on(s: socket.socket, replies: int) -> bytes:
    """Read until ``replies`` CRLF-terminated simple replies or short bulks came (small test helper)."""
    buf = b""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        buf += s.recv(4096)
        lines = buf.split(b"\r\n")
        n = sum(1 for x in lines[:-1] if x[:1] in (b"+", b"-", b":", b"$") and x != b"$0") + buf.count(b"$0\r\n\r\n")
        if n >= replies:
            return buf
    return buf


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cli_json(*args: str, cwd: Path) -> Any:
    res = subprocess.run([*HONEYFARM, *args, "--json"], capture_output=True, text=True, timeout=120, cwd=cwd)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout)


def cli(port: int, *args: str) -> str:
    out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args], capture_output=True, timeout=30)
    return out.stdout.decode(errors="replace").strip()


def dead_letters(lake: Path, cwd: Path) -> Any:
    sql = "SELECT reason, raw::VARCHAR AS raw FROM dead_letter LIMIT 3"
    return cli_json("query", sql, "--lake", str(lake), cwd=cwd)
