# SPDX-License-Identifier: MIT
"""Passive-mode data connections of the FTP trap: the only data channel it ever opens.

PORT/EPRT are answered as vsftpd does but never acted on (the trap never connects out, so
it cannot be used for an FTP bounce). A PASV/EPSV opens one listening socket on the control
connection's local address (a port from ``pasv_min_port``..``pasv_max_port``, else one the
kernel picks); it accepts one connection, and only from the control connection's client
address, as vsftpd with ``pasv_promiscuous=NO`` ("425 Security: Bad IP connecting."). The
number of listeners and data connections open at once is capped trap-wide.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from dataclasses import dataclass

PORT_TRIES = 32  # ports of the configured range tried before PASV fails


class DataRefused(Exception):
    """No usable data connection; ``reply`` is vsftpd's answer."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


@dataclass
class DataSlots:
    """Trap-wide count of passive listeners (each turns into at most one data connection)."""

    limit: int
    used: int = 0


class Passive:
    """One PASV/EPSV listener, bound to the control connection's local address."""

    def __init__(self, sock: socket.socket, client_ip: str, slots: DataSlots) -> None:
        self.sock = sock
        self.client_ip = client_ip
        self.slots = slots
        self.port = int(sock.getsockname()[1])
        self.refused: list[str] = []  # addresses whose connection was closed (not the client)
        self._closed = False

    @classmethod
    def open(cls, local_ip: str, client_ip: str, slots: DataSlots, lo: int, hi: int) -> Passive:
        if slots.used >= slots.limit:
            raise DataRefused("425 Failed to establish connection.")
        family = socket.AF_INET6 if ":" in local_ip else socket.AF_INET
        ports = [0]
        if lo and hi and lo <= hi:
            ports = [random.randint(lo, hi) for _ in range(PORT_TRIES)]
        for port in ports:
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((local_ip, port))
                sock.listen(1)
                sock.setblocking(False)
            except OSError:
                sock.close()
                continue
            slots.used += 1
            return cls(sock, client_ip, slots)
        raise DataRefused("425 Failed to establish connection.")

    async def accept(self, timeout: float) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """The client's data connection; connections from any other address are closed."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                conn, peer = await loop.sock_accept(self.sock)
        except (TimeoutError, OSError):
            raise DataRefused("425 Failed to establish connection.") from None
        finally:
            with contextlib.suppress(OSError):
                self.sock.close()
        ip = str(peer[0])
        if ip.startswith("::ffff:") and "." in ip:
            ip = ip[7:]
        if ip != self.client_ip:
            # vsftpd fails the transfer rather than waiting for the right peer: so do we.
            self.refused.append(ip)
            conn.close()
            raise DataRefused("425 Security: Bad IP connecting.")
        conn.setblocking(False)
        return await asyncio.open_connection(sock=conn, limit=64 * 1024)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.slots.used -= 1
            with contextlib.suppress(OSError):
                self.sock.close()


def pasv_reply(ip: str, port: int) -> str:
    return f"227 Entering Passive Mode ({ip.replace('.', ',')},{port >> 8},{port & 255})."


def parse_port(arg: str) -> tuple[str, int] | None:
    """PORT's ``h1,h2,h3,h4,p1,p2``; None when vsftpd would call it illegal."""
    parts = arg.split(",")
    if len(parts) != 6 or not all(p.strip().isdigit() and len(p.strip()) <= 3 for p in parts):
        return None
    nums = [int(p) for p in parts]
    if any(n > 255 for n in nums):
        return None
    return ".".join(str(n) for n in nums[:4]), nums[4] * 256 + nums[5]


def parse_eprt(arg: str) -> tuple[str, str, int] | None:
    """EPRT's ``|proto|addr|port|`` as (proto, addr, port); None when malformed."""
    if len(arg) < 7:
        return None
    delim = arg[0]
    parts = arg.split(delim)
    if len(parts) != 5 or parts[0] or parts[4] or not parts[3].isdigit() or len(parts[3]) > 5:
        return None
    port = int(parts[3])
    if port > 65535:
        return None
    return parts[1], parts[2], port
