# SPDX-License-Identifier: MIT
"""The client's TLS fingerprint, from its raw ClientHello: SNI, ALPN, JA3 and JA4.

The trap reads the first TLS record with ``MSG_PEEK`` before the TLS layer sees the socket
(:func:`peek_client_hello`), so the handshake itself is Python's ``ssl`` as usual. The ClientHello
is parsed here by hand (RFC 8446 §4.1.2): every length is checked against what is left, so a
truncated or lying hello gives ``None``, never an exception or a read past the data.

JA3 (Salesforce): ``version,ciphers,extensions,groups,point_formats`` in decimal, ``-``-joined,
GREASE values (RFC 8701) left out; its MD5. JA4 (FoxIO, JA4_a_b_c): ``t`` + TLS version + SNI
flag + cipher and extension counts + ALPN's first and last character, then the truncated SHA-256
of the sorted ciphers and of the sorted extensions (SNI and ALPN left out) with the signature
algorithms in their order.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import struct
from dataclasses import dataclass

MAX_RECORD = 16384 + 5
_VERSIONS = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3", 0x0002: "s2"}


def is_grease(v: int) -> bool:
    return (v & 0x0F0F) == 0x0A0A and (v >> 8) == (v & 0xFF)


@dataclass(frozen=True)
class ClientHello:
    version: int
    ciphers: tuple[int, ...]
    extensions: tuple[int, ...]
    groups: tuple[int, ...]
    point_formats: tuple[int, ...]
    sig_algs: tuple[int, ...]
    versions: tuple[int, ...]
    sni: str | None
    alpn: tuple[str, ...]

    def max_version(self) -> int:
        """The highest TLS version offered (supported_versions, else the legacy field)."""
        vs = [v for v in self.versions if not is_grease(v)]
        return max(vs) if vs else self.version

    def ja3(self) -> str:
        def j(xs: tuple[int, ...]) -> str:
            return "-".join(str(x) for x in xs if not is_grease(x))

        return ",".join((str(self.version), j(self.ciphers), j(self.extensions), j(self.groups), j(self.point_formats)))

    def ja3_hash(self) -> str:
        return hashlib.md5(self.ja3().encode()).hexdigest()

    def ja4(self) -> str:
        ver = _VERSIONS.get(self.max_version(), "00")
        ciphers = [c for c in self.ciphers if not is_grease(c)]
        exts = [e for e in self.extensions if not is_grease(e)]
        alpn = self.alpn[0] if self.alpn else ""
        if not alpn:
            a = "00"
        elif alpn[0].isalnum() and alpn[-1].isalnum() and alpn.isascii():
            a = alpn[0] + alpn[-1]
        else:
            hx = alpn.encode("utf-8", "surrogateescape").hex()
            a = hx[0] + hx[-1]
        part_a = f"t{ver}{'d' if self.sni else 'i'}{min(len(ciphers), 99):02d}{min(len(exts), 99):02d}{a}"
        part_b = _h12(",".join(f"{c:04x}" for c in sorted(ciphers))) if ciphers else "000000000000"
        rest = sorted(e for e in exts if e not in (0x0000, 0x0010))
        text = ",".join(f"{e:04x}" for e in rest)
        sigs = [s for s in self.sig_algs if not is_grease(s)]
        if sigs:
            text += "_" + ",".join(f"{s:04x}" for s in sigs)
        part_c = _h12(text) if rest else "000000000000"
        return f"{part_a}_{part_b}_{part_c}"


def _h12(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError("truncated")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int(struct.unpack(">H", self.take(2))[0])

    def vec(self, lenbytes: int) -> _Reader:
        n = self.u8() if lenbytes == 1 else self.u16() if lenbytes == 2 else int.from_bytes(self.take(3), "big")
        return _Reader(self.take(n))

    def u16s(self) -> tuple[int, ...]:
        n = len(self.data) - self.pos
        return tuple(self.u16() for _ in range(n // 2))

    def done(self) -> bool:
        return self.pos >= len(self.data)


def parse_client_hello(record: bytes) -> ClientHello | None:
    """The ClientHello in the first TLS record(s) ``record``, or None if it is not one."""
    try:
        return _parse(record)
    except (ValueError, struct.error, UnicodeDecodeError):
        return None


def _parse(record: bytes) -> ClientHello | None:
    r = _Reader(record)
    if r.u8() != 0x16:
        return None
    r.take(2)
    body = r.vec(2)
    if body.u8() != 1:
        return None
    n = int.from_bytes(body.take(3), "big")
    hello = _Reader(body.data[body.pos : body.pos + n])  # a hello longer than its record is cut at it
    version = hello.u16()
    hello.take(32)
    hello.vec(1)  # session id
    ciphers = hello.vec(2).u16s()
    hello.vec(1)  # compression methods
    exts: list[int] = []
    groups: tuple[int, ...] = ()
    points: tuple[int, ...] = ()
    sigs: tuple[int, ...] = ()
    versions: tuple[int, ...] = ()
    sni: str | None = None
    alpn: list[str] = []
    if not hello.done():
        ext_block = hello.vec(2) if len(hello.data) - hello.pos >= 2 else _Reader(b"")
        while not ext_block.done() and len(exts) < 512:
            etype = ext_block.u16()
            data = ext_block.vec(2)
            exts.append(etype)
            if etype == 0x0000:
                names = data.vec(2)
                while not names.done():
                    kind = names.u8()
                    name = names.vec(2).data
                    if kind == 0 and sni is None:
                        sni = name.decode("ascii", "backslashreplace")[:255]
            elif etype == 0x000A:
                groups = data.vec(2).u16s()
            elif etype == 0x000B:
                points = tuple(data.vec(1).data)
            elif etype == 0x000D:
                sigs = data.vec(2).u16s()
            elif etype == 0x002B:
                versions = data.vec(1).u16s()
            elif etype == 0x0010:
                protos = data.vec(2)
                while not protos.done() and len(alpn) < 16:
                    alpn.append(protos.vec(1).data.decode("utf-8", "surrogateescape"))
    return ClientHello(version, ciphers, tuple(exts), groups, points, sigs, versions, sni, tuple(alpn))


async def peek_client_hello(sock: socket.socket, timeout: float) -> bytes:
    """The first TLS record on ``sock`` (or whatever arrived: fewer bytes, not TLS), left unread.

    Waits until the record is complete, the peer stops, or ``timeout``. The bytes stay in the
    kernel's buffer for the TLS layer that reads the socket next.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    data = b""
    delay = 0.005
    while True:
        try:
            data = sock.recv(MAX_RECORD, socket.MSG_PEEK)
            if not data:
                return b""  # the peer closed
        except (BlockingIOError, InterruptedError):
            pass
        if data and data[0] != 0x16:
            return data  # not TLS
        if len(data) >= 5 and len(data) >= 5 + int.from_bytes(data[3:5], "big"):
            return data[: 5 + int.from_bytes(data[3:5], "big")]
        left = deadline - loop.time()
        if left <= 0:
            return data
        if not data:
            await _readable(loop, sock, left)
        else:  # part of the record: the rest follows in the next segments
            await asyncio.sleep(min(delay, left))
            delay = min(delay * 2, 0.1)


async def _readable(loop: asyncio.AbstractEventLoop, sock: socket.socket, timeout: float) -> None:
    fut: asyncio.Future[None] = loop.create_future()
    fd = sock.fileno()

    def ready() -> None:
        if not fut.done():
            fut.set_result(None)

    loop.add_reader(fd, ready)
    try:
        await asyncio.wait_for(fut, timeout)
    except TimeoutError:
        pass
    finally:
        loop.remove_reader(fd)
