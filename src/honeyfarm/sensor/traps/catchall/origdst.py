# SPDX-License-Identifier: MIT
"""The port a client asked for, behind an nftables/iptables ``redirect``.

A ``redirect`` rewrites the destination of each new connection to the catch-all's own port;
conntrack keeps the original, and Linux hands it back through ``getsockopt(SOL_IP,
SO_ORIGINAL_DST)`` (a ``struct sockaddr_in``) or, for IPv6, ``getsockopt(SOL_IPV6,
IP6T_SO_ORIGINAL_DST)`` (a ``struct sockaddr_in6``); both options are number 80
(``linux/netfilter_ipv4.h``, ``linux/netfilter_ipv6/ip6_tables.h``). Without a conntrack entry
(no redirect, no NAT module) the call fails with ``ENOENT``: the connection then went to the port
it names itself.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from typing import Any

SO_ORIGINAL_DST = 80
IP6T_SO_ORIGINAL_DST = 80
SOL_IPV6 = getattr(socket, "SOL_IPV6", 41)
_SOCKADDR_IN = 16
_SOCKADDR_IN6 = 28


def parse_sockaddr(raw: bytes) -> tuple[str, int] | None:
    """``(address, port)`` of a ``struct sockaddr_in``/``sockaddr_in6`` as the kernel returns it."""
    if len(raw) < 4:
        return None
    family = int.from_bytes(raw[:2], "little" if struct.pack("=H", 1) == b"\x01\x00" else "big")
    port = int.from_bytes(raw[2:4], "big")
    if family == socket.AF_INET and len(raw) >= 8:
        return socket.inet_ntop(socket.AF_INET, raw[4:8]), port
    if family == socket.AF_INET6 and len(raw) >= 24:
        addr = socket.inet_ntop(socket.AF_INET6, raw[8:24])
        if addr.startswith("::ffff:") and "." in addr:
            addr = addr[7:]
        return addr, port
    return None


def original_dst(sock: Any) -> tuple[str, int] | None:
    """Where the client's SYN was going before a redirect, or None (no redirect, or not Linux)."""
    if sock is None:
        return None
    tries = [(socket.SOL_IP, SO_ORIGINAL_DST, _SOCKADDR_IN)]
    if sock.family == socket.AF_INET6:
        # A v6 socket: native IPv6 clients are in ip6 conntrack; v4-mapped ones in ip conntrack.
        tries.insert(0, (SOL_IPV6, IP6T_SO_ORIGINAL_DST, _SOCKADDR_IN6))
    for level, opt, size in tries:
        with contextlib.suppress(OSError):
            return parse_sockaddr(sock.getsockopt(level, opt, size))
    return None
