# SPDX-License-Identifier: MIT
"""Real Telnet daemons on loopback and the probes that compare them with the trap.

The daemons follow ``../shared/peers/start-telnetd.sh``: Debian's ``inetutils-telnetd`` through
``systemd-socket-activate --inetd`` (``/bin/login``), and BusyBox 1.35 ``telnetd`` from Debian's
``busybox-static`` (unpacked with ``apt-get download`` + ``dpkg-deb -x``, never installed) with
BusyBox's own ``login``. Both need root (a pty and login(1)). Every process started here is
stopped by its PID.

A probe is a scripted client that answers option negotiation like one kind of real client
(``silent``: answers nothing; ``wont``: refuses everything, as careful scanners do; ``mirai``:
Mirai's scanner, WONT to every DO but NAWS, DO to every WILL) and records what the server sent,
with times.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sensorutil import free_port, stop_process, wait_port

IAC, SB, SE, WILL, WONT, DO, DONT = 255, 250, 240, 251, 252, 253, 254
CACHE = Path(os.environ.get("HONEYFARM_TELNETD_CACHE", "/tmp/honeyfarm-telnetd-real"))
TEST_USER, TEST_PASSWORD = "sshtest", "Test-Pass-123"


def missing() -> str | None:
    """Why the real daemons cannot run here (None when they can)."""
    if os.geteuid() != 0:
        return "real telnetd needs root (a pty and /bin/login)"
    for tool in ("/usr/sbin/telnetd", "/bin/login"):
        if not Path(tool).exists():
            return f"{tool} missing (scripts/install-system-deps.sh installs inetutils-telnetd)"
    for tool in ("systemd-socket-activate", "apt-get", "dpkg-deb", "useradd", "chpasswd"):
        if shutil.which(tool) is None:
            return f"{tool} missing"
    return None


def ensure_user() -> None:
    """The test account of the real peers, as start-sshd.sh makes it (idempotent)."""
    if subprocess.run(["id", TEST_USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", TEST_USER], check=True, capture_output=True)
    subprocess.run(["chpasswd"], input=f"{TEST_USER}:{TEST_PASSWORD}\n", text=True, check=True, capture_output=True)


def busybox_binary() -> Path:
    """Debian's static BusyBox 1.35, unpacked once into ``CACHE`` (not installed)."""
    bb = CACHE / "bin" / "busybox"
    if not bb.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["apt-get", "download", "busybox-static"], cwd=CACHE, check=True, capture_output=True, timeout=120
        )
        deb = next(CACHE.glob("busybox-static_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(CACHE)], check=True, capture_output=True)
        deb.unlink()
    login = CACHE / "bin" / "login"  # BusyBox picks the applet from argv[0]
    if not login.is_symlink():
        login.symlink_to(bb)
    return bb


@dataclass
class Daemon:
    port: int
    proc: subprocess.Popen[bytes]


@contextlib.contextmanager
def real_daemons() -> Iterator[tuple[Daemon, Daemon]]:
    """(inetutils-telnetd, busybox telnetd) listening on loopback; stopped by PID afterwards."""
    ensure_user()
    bb = busybox_binary()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        p1 = free_port()
        inet = subprocess.Popen(
            ["systemd-socket-activate", "-l", f"127.0.0.1:{p1}", "--inetd", "-a", "/usr/sbin/telnetd"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(inet)
        p2 = free_port()
        # No issue file: most routers have no /etc/issue.net (the trap's busybox persona neither).
        noissue = CACHE / "no-issue.net"
        busy = subprocess.Popen(
            [
                str(bb),
                "telnetd",
                "-F",
                "-p",
                str(p2),
                "-b",
                "127.0.0.1",
                "-l",
                str(bb.parent / "login"),
                "-f",
                str(noissue),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(busy)
        for port, proc in ((p1, inet), (p2, busy)):
            _wait_listen(port, proc)
        yield Daemon(p1, inet), Daemon(p2, busy)
    finally:
        for proc in procs:
            stop_process(proc)


def _wait_listen(port: int, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Wait until ``port`` listens without connecting (a connection would start a telnetd)."""
    deadline = time.monotonic() + timeout
    needle = f"127.0.0.1:{port} "
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"telnet daemon exited with {proc.returncode}")
        out = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True).stdout
        if needle in out.replace("\t", " ") + " ":
            return
        time.sleep(0.05)
    wait_port(port, 1, proc)  # no `ss`: fall back to a connection


# --- probes ---------------------------------------------------------------------------------------

Step = tuple[bytes | float, bytes]  # (wait for these data bytes | seconds since the previous step, send)


@dataclass
class Record:
    chunks: list[tuple[float, bytes]] = field(default_factory=list)  # server -> client
    sent: list[tuple[float, bytes]] = field(default_factory=list)
    eof: float | None = None

    @property
    def data(self) -> bytes:
        return b"".join(c for _, c in self.chunks)

    def when(self, needle: bytes, start: int = 0) -> float:
        """Time at which the server stream first contained ``needle`` (after byte ``start``)."""
        seen = b""
        for t, c in self.chunks:
            seen += c
            if seen.find(needle, start) >= 0:
                return t
        raise AssertionError(f"{needle!r} never sent; got {self.data!r}")


def _answers(mode: str, chunk: bytes) -> bytes:
    """Replies of a ``mode`` client to the option commands in ``chunk`` (whole commands only)."""
    out = bytearray()
    for m in re.finditer(rb"\xff([\xfb-\xfe])(.)", chunk, re.S):
        verb, opt = m.group(1)[0], m.group(2)[0]
        if mode == "wont":
            if verb == DO:
                out += bytes([IAC, WONT, opt])
            elif verb == WILL:
                out += bytes([IAC, DONT, opt])
        elif mode == "mirai":
            if verb == DO and opt == 31:
                out += bytes([IAC, WILL, 31, IAC, SB, 31, 0, 80, 0, 24, IAC, SE])
            elif verb == DO:
                out += bytes([IAC, WONT, opt])
            elif verb == WILL:
                out += bytes([IAC, DO, opt])
    return bytes(out)


def refusals(chunk: bytes) -> bytes:
    """What a client that refuses every option answers to the commands in ``chunk``."""
    return _answers("wont", chunk)


def _plain(data: bytes) -> bytes:
    """The data bytes of a server stream (commands and subnegotiations removed)."""
    data = re.sub(rb"\xff\xfa.*?\xff\xf0", b"", data, flags=re.S)
    data = re.sub(rb"\xff[\xfb-\xfe].", b"", data, flags=re.S)
    return data.replace(b"\xff\xff", b"\xff")


async def probe(port: int, mode: str, steps: list[Step], quiet: float = 1.0, total: float = 30.0) -> Record:
    """Run ``steps``; stop at EOF, ``total`` seconds, or ``quiet`` seconds of silence after the last step."""
    rec = Record()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    loop = asyncio.get_running_loop()
    t0 = last = loop.time()
    todo = list(steps)
    consumed = 0  # data bytes matched by earlier steps
    try:
        while True:
            now = loop.time()
            if now - t0 > total:
                break
            if todo:
                trigger, payload = todo[0]
                plain = _plain(rec.data)
                ready = (now - last >= trigger) if isinstance(trigger, float) else plain.find(trigger, consumed) >= 0
                if ready:
                    if isinstance(trigger, bytes):
                        consumed = plain.find(trigger, consumed) + len(trigger)
                    todo.pop(0)
                    writer.write(payload)
                    rec.sent.append((now - t0, payload))
                    last = now
                    continue
            wait = 0.02 if todo else quiet
            try:
                chunk = await asyncio.wait_for(reader.read(4096), wait)
            except TimeoutError:
                if not todo:
                    break
                continue
            if not chunk:
                rec.eof = loop.time() - t0
                break
            rec.chunks.append((loop.time() - t0, chunk))
            if reply := _answers(mode, chunk):
                writer.write(reply)
                rec.sent.append((loop.time() - t0, reply))
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    return rec


def normalise(data: bytes) -> bytes:
    """Host-specific bits of a stream: the kernel release in the banner and the pty number."""
    data = re.sub(rb"\r\nLinux \S+ \(", b"\r\nLinux <release> (", data)
    return re.sub(rb"\(pts/\d+\)", b"(pts/N)", data)


class Proxy:
    """A logging TCP relay: what a real client (telnet(1)) and a server said, both ways, in order."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = 0
        self.log: list[tuple[str, bytes]] = []
        self._server: asyncio.AbstractServer | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> Proxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for w in self._writers:
            w.close()
        await self._server.wait_closed()

    async def _handle(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        sr, sw = await asyncio.open_connection("127.0.0.1", self.target)
        self._writers += [cw, sw]

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter, tag: str) -> None:
            with contextlib.suppress(ConnectionError):
                while chunk := await r.read(4096):
                    self.log.append((tag, chunk))
                    w.write(chunk)
            w.close()

        await asyncio.gather(pipe(cr, sw, "C"), pipe(sr, cw, "S"), return_exceptions=True)

    def stream(self, tag: str) -> bytes:
        return b"".join(c for t, c in self.log if t == tag)


def hostname() -> str:
    return socket.gethostname()
