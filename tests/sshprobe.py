# SPDX-License-Identifier: MIT
"""A raw SSH packet pipe after key exchange, for the wire-level differential tests.

asyncssh's client does the key exchange (so both servers see a real OpenSSH-like
KEXINIT with ``ext-info-c``) and then stops: every later packet the server sends
is recorded, not acted on, and the test sends whatever packets it likes, with
any padding, in any order — things no well-behaved client library would send.
"""

from __future__ import annotations

import asyncio
import os
import struct
from dataclasses import dataclass, field
from typing import Any

from asyncssh.connection import SSHClientConnection, SSHClientConnectionOptions
from asyncssh.packet import String, UInt32

MSG_DISCONNECT, MSG_IGNORE, MSG_SERVICE_REQUEST, MSG_SERVICE_ACCEPT, MSG_EXT_INFO = 1, 2, 5, 6, 7
MSG_GLOBAL_REQUEST, MSG_USERAUTH_REQUEST, MSG_USERAUTH_FAILURE, MSG_USERAUTH_SUCCESS = 80, 50, 51, 52
MSG_CHANNEL_OPEN = 90
_KEX = {20, 21, *range(30, 50)}


class _Recorder:
    """Takes the place of asyncssh's auth and channel handlers: keeps packets, acts on none."""

    def __init__(self, sink: list[tuple[int, bytes]]) -> None:
        self.sink = sink

    def log_received_packet(self, *_args: Any, **_kw: Any) -> None:
        pass

    def cancel(self) -> None:
        pass

    def process_packet(self, pkttype: int, _seq: int, packet: Any) -> bool:
        self.sink.append((pkttype, packet.get_remaining_payload()))
        return True


class _ProbeConn(SSHClientConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received: list[tuple[int, bytes]] = []
        self.lost: asyncio.Event = asyncio.Event()
        self._auth = _Recorder(self.received)  # type: ignore[assignment]

    def process_packet(self, pkttype: int, seq: int, packet: Any) -> Any:
        if pkttype in _KEX:
            return super().process_packet(pkttype, seq, packet)
        self.received.append((pkttype, packet.get_remaining_payload()))
        if pkttype == MSG_USERAUTH_SUCCESS:
            self._auth_complete = True  # so the server's global requests are recorded, not refused
        return True

    def connection_lost(self, exc: Exception | None = None) -> None:
        self.lost.set()
        super().connection_lost(exc)


@dataclass
class Probe:
    """One connection past key exchange: ``send`` raw payloads, ``collect`` what came back."""

    conn: _ProbeConn
    seen: int = 0
    log: list[tuple[int, bytes]] = field(default_factory=list)

    def send(self, payload: bytes, padlen: int | None = None) -> None:
        c = self.conn
        if c._transport is None:
            return
        blk, hdr = c._send_blocksize, c._send_enchdrlen
        if padlen is None:
            padlen = -(hdr + len(payload)) % blk
            if padlen < 4:
                padlen += blk
        packet = bytes([padlen]) + payload + os.urandom(padlen)
        assert c._send_encryption is not None
        data, mac = c._send_encryption.encrypt_packet(c._send_seq, UInt32(len(packet)), packet)
        c._send(data + mac)
        c._send_seq = (c._send_seq + 1) & 0xFFFFFFFF

    def send_msg(self, pkttype: int, *args: bytes, padlen: int | None = None) -> None:
        self.send(bytes([pkttype]) + b"".join(args), padlen)

    async def collect(self, wait: float = 3.0, until: int | None = None) -> tuple[list[tuple[int, bytes]], bool]:
        """Packets received since the last call (until ``until`` arrives, the peer closes, or ``wait``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while loop.time() < deadline and not self.conn.lost.is_set():
            if until is not None and any(t == until for t, _ in self.conn.received[self.seen :]):
                break
            await asyncio.sleep(0.02)
        new = self.conn.received[self.seen :]
        self.seen = len(self.conn.received)
        self.log += new
        return new, self.conn.lost.is_set()

    def close(self) -> None:
        self.conn.abort()


def string(s: bytes | str) -> bytes:
    return String(s.encode() if isinstance(s, str) else s)


def userauth(user: bytes | str, method: str, *rest: bytes, service: str = "ssh-connection") -> bytes:
    return bytes([MSG_USERAUTH_REQUEST]) + string(user) + string(service) + string(method) + b"".join(rest)


def password(user: bytes | str, pw: str, service: str = "ssh-connection") -> bytes:
    return userauth(user, "password", b"\x00", string(pw), service=service)


def parse_disconnect(payload: bytes) -> tuple[int, str]:
    (code,) = struct.unpack(">I", payload[:4])
    (n,) = struct.unpack(">I", payload[4:8])
    return code, payload[8 : 8 + n].decode("utf-8", "replace")


def parse_ext_info(payload: bytes) -> dict[str, bytes]:
    (count,) = struct.unpack(">I", payload[:4])
    off, out = 4, {}
    for _ in range(count):
        (n,) = struct.unpack(">I", payload[off : off + 4])
        name = payload[off + 4 : off + 4 + n].decode()
        off += 4 + n
        (m,) = struct.unpack(">I", payload[off : off + 4])
        out[name] = payload[off + 4 : off + 4 + m]
        off += 4 + m
    return out


async def open_probe(port: int, **options: Any) -> Probe:
    """Connect, finish the key exchange, and stop before any service request."""
    loop = asyncio.get_running_loop()
    opts = await SSHClientConnectionOptions.construct(
        None, known_hosts=None, username="probe", client_keys=None, agent_path=None, **options
    )

    opts.waiter = loop.create_future()

    def factory() -> _ProbeConn:
        return _ProbeConn(loop, opts, wait="kex")

    _, conn = await loop.create_connection(factory, "127.0.0.1", port)
    await asyncio.wait_for(opts.waiter, 20)
    return Probe(conn)
