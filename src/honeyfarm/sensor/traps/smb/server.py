# SPDX-License-Identifier: MIT
"""The SMB trap: direct SMB (445) and the NetBIOS session service (139), one coroutine per connection.

Both ports carry SMB messages behind a 4-byte length; on the NetBIOS port a SESSION REQUEST comes
first and is answered POSITIVE RESPONSE whatever name was called (``*SMBSERVER`` or the host's
name). The first message decides the dialect family: an SMB1 NEGOTIATE is answered by :mod:`.smb1`
(which switches to SMB2 when the client offers it, as Windows does), an SMB2 one by :mod:`.smb2`.
Whatever was written and not closed when the connection ends is still stored and logged.
"""

from __future__ import annotations

import asyncio
import socket
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from honeyfarm.sensor.traps.smb.rpc import preload as preload  # runtime.preload() calls it before the privilege drop
from honeyfarm.sensor.traps.smb.smb1 import SMB1
from honeyfarm.sensor.traps.smb.smb2 import SMB2
from honeyfarm.sensor.traps.smb.state import SMBState, make_persona
from honeyfarm.sensor.traps.stream import Conn, Malformed, StreamTrap

if TYPE_CHECKING:
    from honeyfarm.sensor.context import SensorContext
    from honeyfarm.sensor.traps.smb.config import SMBConfig

SESSION_MESSAGE, SESSION_REQUEST, POSITIVE_RESPONSE, KEEPALIVE = 0x00, 0x81, 0x82, 0x85
MAX_KEEPALIVES = 1000
_NETBIOS: ContextVar[bool] = ContextVar("smb_netbios", default=False)


def netbios_name(encoded: bytes) -> str:
    """A first-level encoded NetBIOS name (RFC 1001 14.1), its padding and suffix byte dropped."""
    if len(encoded) < 33 or encoded[0] != 32:
        return ""
    half = encoded[1:33]
    if any(not 0x41 <= c <= 0x50 for c in half):
        return ""
    raw = bytes(((half[i] - 0x41) << 4) | (half[i + 1] - 0x41) for i in range(0, 32, 2))
    return raw[:15].decode("latin-1").rstrip(" ").replace("\x00", "")


class SMBTrap(StreamTrap):
    protocol = "smb"

    def __init__(self, ctx: SensorContext) -> None:
        cfg: SMBConfig = ctx.cfg.smb
        super().__init__(ctx, cfg)
        self.smb_cfg = cfg
        self.persona = make_persona(cfg, ctx.cfg.identity.name, ctx.cfg.persona.hostname)

    async def start(self, socks: list[socket.socket]) -> None:
        # addresses() lists the direct ports first, then the NetBIOS ones. Each listener gets its own
        # callback rather than a lookup by the connection's local address, which for a wildcard
        # listener (0.0.0.0:139) is the interface's address, not the listener's.
        direct = len(self.smb_cfg.listen)
        for i, sock in enumerate(socks):
            cb = self._handle if i < direct else self._handle_netbios
            srv = await asyncio.start_server(cb, sock=sock, backlog=1024, limit=self.read_limit)
            self._servers.append(srv)

    async def _handle_netbios(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _NETBIOS.set(True)  # this connection's own task context: read by is_netbios()
        await self._handle(reader, writer)

    def is_netbios(self, conn: Conn) -> bool:
        return _NETBIOS.get()

    def connect_fields(self, conn: Conn) -> dict[str, Any]:
        return {"extra": {"netbios": self.is_netbios(conn)}}

    async def serve(self, conn: Conn) -> None:
        st = SMBState(self.ctx, self.smb_cfg, self.persona, conn)
        conn.state = st
        try:
            await self._serve(conn, st)
        finally:
            st.close_all()

    async def _serve(self, conn: Conn, st: SMBState) -> None:
        netbios = self.is_netbios(conn)
        smb1: SMB1 | None = None
        smb2: SMB2 | None = None
        keepalives = 0
        while True:
            head = await conn.read_exactly(4, 4)
            kind, length = head[0], int.from_bytes(head[1:], "big")
            if netbios and kind == SESSION_REQUEST:
                body = await conn.read_exactly(length, 256)
                conn.extra["called_name"] = netbios_name(body[:34])
                conn.extra["calling_name"] = netbios_name(body[34:68])
                await conn.write(bytes([POSITIVE_RESPONSE, 0, 0, 0]))
                continue
            if kind == KEEPALIVE and length == 0:
                keepalives += 1
                if keepalives > MAX_KEEPALIVES:
                    raise Malformed("keepalive flood")
                continue
            if kind != SESSION_MESSAGE:
                raise Malformed(f"NetBIOS packet type 0x{kind:02x}")
            data = await conn.read_exactly(length, self.smb_cfg.max_message_bytes)
            if data[:4] == b"\xfeSMB":
                if smb2 is None:
                    smb2 = SMB2(st)
                reply = smb2.message(data)
            elif data[:4] == b"\xffSMB" and (smb2 is None or not smb2.dialect):
                if smb1 is None:
                    smb1 = SMB1(st)
                reply = smb1.message(data)
                if smb1.switch_to_smb2 is not None:
                    smb2 = SMB2(st)
                    reply = smb2.wildcard_response(smb1.switch_to_smb2)
                    smb1.switch_to_smb2 = None
            elif data[:4] == b"\xffSMB":
                raise Malformed("SMB1 message after the SMB2 negotiation")
            elif data[:4] == b"\xfdSMB":
                raise Malformed("SMB3 encrypted message (no key was negotiated)")
            else:
                raise Malformed(f"not an SMB message: {data[:4].hex()}")
            if reply:
                await conn.write(len(reply).to_bytes(4, "big") + reply)
            if smb1 is not None and smb1.hangup:
                conn.reason = smb1.hangup
                return
