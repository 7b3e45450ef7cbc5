# SPDX-License-Identifier: MIT
"""The catch-all trap: one listener for any port, the first bytes of each connection, a guess.

Honeytrap's idea in the shared :class:`~honeyfarm.sensor.traps.stream.StreamTrap` frame: accept
on every port given (directly in ``listen``, or every unused port through the nftables redirect of
``deploy/catchall-nftables.md``), find the port the client asked for (:mod:`.origdst`), send that port's
banner when its protocol has the server speak first, then read what the client says. The first
``max_first_bytes`` are kept and logged once (``catchall.payload.received``) with a protocol
guess (:mod:`.guess`), the TLS fingerprints of a ClientHello (the web trap's parser), an SSH banner
or HTTP ``User-Agent``; URLs a fetch command names are handed to the payload fetcher. Whatever
follows is read, counted and dropped until the client goes quiet or a cap is hit.

Never a relay: the trap opens no connection of its own; a ``CONNECT`` or SOCKS request gets the
same silence as anything else.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import TYPE_CHECKING, Any

from honeyfarm.sensor.capture.origin import capture_payload
from honeyfarm.sensor.traps.catchall.guess import details, escape, guess, message_complete
from honeyfarm.sensor.traps.catchall.origdst import original_dst
from honeyfarm.sensor.traps.stream import Closed, Conn, StreamTrap

if TYPE_CHECKING:
    from honeyfarm.sensor.context import SensorContext
    from honeyfarm.sensor.traps.catchall.config import CatchAllConfig

DRAIN_CHUNK = 16 * 1024


class CatchAllTrap(StreamTrap):
    protocol = "catchall"
    read_limit = 16 * 1024  # bytes buffered per connection before the kernel's window pushes back

    def __init__(self, ctx: SensorContext) -> None:
        super().__init__(ctx, ctx.cfg.catchall)
        self.cc: CatchAllConfig = ctx.cfg.catchall
        host = ctx.cfg.persona.hostname
        self.banners = {int(p): b.replace("{hostname}", host).encode("latin-1") for p, b in self.cc.banners.items()}

    def connect_fields(self, conn: Conn) -> dict[str, Any]:
        # Runs before the connect event: every event of the session then names the port the
        # client asked for, not the one the redirect delivered it to.
        orig = original_dst(conn.writer.get_extra_info("socket"))
        if orig is None or (orig[1] == conn.log.dst_port and orig[0] == conn.log.dst_ip):
            return {}
        listen_port = conn.log.dst_port
        conn.log.dst_ip, conn.log.dst_port = orig
        return {"extra": {"redirected": True, "listen_port": listen_port}}

    async def serve(self, conn: Conn) -> None:
        conn.extra["guess"] = "none"
        banner = self.banners.get(conn.log.dst_port)
        if banner:
            await conn.write(banner)
        head, ended = await self._first_bytes(conn)
        if not head:
            raise Closed("no data")
        self._log_payload(conn, head, banner)
        if ended:
            raise Closed("client closed")
        limit = self.cc.max_bytes_per_connection
        while True:  # the rest is counted (bytes_in), not kept
            await conn.read_some(DRAIN_CHUNK)
            if conn.bytes_in >= limit:
                raise Closed("byte limit")

    async def _first_bytes(self, conn: Conn) -> tuple[bytes, bool]:
        """The client's first message (capped) and whether the client hung up after it."""
        cap = self.cc.max_first_bytes
        # Its own deadline, not idle_timeout: nmap calls a port that closes a silent connection
        # within 3 s "tcpwrapped" and stops probing it, so this wait may be longer than the idle one.
        head = await _read(conn, cap, self.cc.first_bytes_timeout)
        if head is None:
            return b"", False
        if not head:
            raise Closed("client closed")
        # The message may come in several segments: collect until it is whole, the client is
        # quiet for gather_time, or the cap is reached.
        while len(head) < cap and not message_complete(head):
            more = await _read(conn, cap - len(head), self.cc.gather_time)
            if more is None:
                break
            if not more:
                return head, True
            head += more
        return head, False

    def _log_payload(self, conn: Conn, head: bytes, banner: bytes | None) -> None:
        kind = guess(head)
        conn.extra["guess"] = kind
        version, found = details(kind, head)
        extra: dict[str, Any] = {
            "guess": kind,
            "head": escape(head),
            "head_hex": head.hex(),
            "size": len(head),
            "sha256": hashlib.sha256(head).hexdigest(),
            **found,
        }
        if len(head) >= self.cc.max_first_bytes:
            extra["truncated"] = True
        if banner:
            extra["banner"] = escape(banner)
        urls = capture_payload(self.ctx, conn.log, head, trap="catchall", plain_urls=False)
        if urls:
            extra["urls"] = urls
        fields: dict[str, Any] = {"extra": extra}
        if version:
            fields["client_version"] = version
            conn.fields["client_version"] = version
        conn.log.emit("catchall.payload.received", **fields)


async def _read(conn: Conn, n: int, timeout: float) -> bytes | None:
    """Up to ``n`` bytes within ``timeout`` (None when none came; empty at end of stream)."""
    try:
        async with asyncio.timeout(timeout):
            data = await conn.reader.read(n)
    except TimeoutError:
        return None
    except (ConnectionError, OSError):
        raise Closed("connection reset") from None
    conn.bytes_in += len(data)
    return data
