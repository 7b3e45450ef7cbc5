# SPDX-License-Identifier: MIT
"""The TFTP trap: tftpd-hpa's answers, WRQ uploads captured, RRQ served from a small persona.

Like a real TFTP server, every request is answered from a new UDP port (the server's transfer
ID): a per-transfer endpoint bound to the listening address, port 0, *connected* to the
requester's address and port, so the kernel drops datagrams from anyone else (tftpd-hpa does
the same). Blocks are sent again after ``timeout``; a transfer ends after ``retries`` silent
timeouts (one while the peer has not yet answered: a forged source gets two datagrams at most),
after ``max_transfer_time`` or at ``max_upload_bytes``. Transfers at once are capped per address
and in all. File names are only looked up in the configured persona, never in a host path.
"""

from __future__ import annotations

import asyncio
import posixpath
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from honeyfarm.sensor.events import SessionLog
from honeyfarm.sensor.traps.stream import DatagramTrap
from honeyfarm.sensor.traps.tftp.packets import (
    ACK,
    DATA,
    EACCESS,
    EBADOP,
    ENOSPACE,
    ENOTFOUND,
    ERROR,
    ERRORS,
    OPCODES,
    RRQ,
    WRQ,
    BadPacket,
    Request,
    ack_packet,
    data_packet,
    error_packet,
    negotiate,
    netascii,
    oack_packet,
    parse_reply,
    parse_request,
)

if TYPE_CHECKING:
    from honeyfarm.sensor.context import SensorContext
    from honeyfarm.sensor.traps.tftp.config import TFTPConfig

BADOP_REPLY = error_packet(EBADOP)
QUEUE = 8  # datagrams from the peer waiting to be handled by its transfer


class _PeerEndpoint(asyncio.DatagramProtocol):
    """The transfer's own port: hands the peer's datagrams to the transfer coroutine."""

    def __init__(self, queue: asyncio.Queue[bytes], limit: int) -> None:
        self.queue = queue
        self.limit = limit

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if len(data) <= self.limit and not self.queue.full():
            self.queue.put_nowait(data)

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable: the peer went away
        if not self.queue.full():
            self.queue.put_nowait(b"")


class TFTPTrap(DatagramTrap):
    protocol = "tftp"

    def __init__(self, ctx: SensorContext) -> None:
        cfg: TFTPConfig = ctx.cfg.tftp
        super().__init__(ctx, cfg)
        self.tftp = cfg
        self.files = {posixpath.normpath("/" + k).lstrip("/"): v.encode() for k, v in cfg.files.items()}
        self.active = 0
        self.per_ip: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # --- requests on the well-known port --------------------------------------------------------

    def datagram(self, data: bytes, addr: tuple[Any, ...], transport: asyncio.DatagramTransport) -> None:
        slog = self.session_log(addr, transport)
        try:
            req = parse_request(data)
        except BadPacket as e:
            opcode = int.from_bytes(data[:2], "big") if len(data) >= 2 else -1
            kind = OPCODES.get(opcode, "other") if opcode not in (RRQ, WRQ) else OPCODES[opcode]
            # tftpd-hpa answers a non-request with "Illegal TFTP operation"; only requests that are
            # at least as long as the answer are answered, so a forged source gains nothing.
            answer = f"error: {ERRORS[EBADOP]}" if len(data) >= len(BADOP_REPLY) else "dropped"
            slog.emit("tftp.request.received", extra={"opcode": kind, "malformed": str(e), "answer": answer})
            if answer != "dropped":
                self._spawn(self._reply_error(transport, addr, EBADOP, None))
            return
        name = req.filename.lstrip("/")
        answer, error = self._decide(req, name, addr)
        if error is None and answer != "dropped: busy":
            content = self._content(req, name)
            size = len(content) if req.opcode == RRQ else None
            tftp = self.tftp
            acked, blksize, timeout, fail = negotiate(req, size, tftp.max_blksize, tftp.max_upload_bytes)
            if fail is not None:
                answer, error = f"error: {ERRORS[ENOSPACE]}", (ENOSPACE, None)
            elif acked:
                answer = "oack"
        slog.emit(
            "tftp.request.received",
            extra={
                "opcode": OPCODES[req.opcode],
                "filename": req.filename,
                "mode": req.mode,
                "options": req.options,
                "answer": answer,
            },
        )
        if error is not None:
            self._spawn(self._reply_error(transport, addr, error[0], error[1]))
        elif answer != "dropped: busy":
            ip = str(addr[0])
            self.active += 1
            self.per_ip[ip] = self.per_ip.get(ip, 0) + 1
            plan = _Plan(content, blksize, timeout or tftp.timeout, oack_packet(acked) if acked else None)
            self._spawn(self._transfer(req, plan, addr, transport, slog))

    def _decide(self, req: Request, name: str, addr: tuple[Any, ...]) -> tuple[str, tuple[int, str | None] | None]:
        """The answer to log, and the error to send instead of a transfer (if any)."""
        if req.mode not in ("octet", "netascii"):
            return "error: Unknown mode", (EBADOP, "Unknown mode")
        parts = name.split("/")
        if ".." in parts or not name:
            return f"error: {ERRORS[EACCESS]}", (EACCESS, None)
        if req.opcode == RRQ and name not in self.files:
            return f"error: {ERRORS[ENOTFOUND]}", (ENOTFOUND, None)
        if req.opcode == WRQ and not self.tftp.allow_upload:
            return f"error: {ERRORS[ENOTFOUND]}", (ENOTFOUND, None)
        ip = str(addr[0])
        if self.active >= self.tftp.max_transfers or self.per_ip.get(ip, 0) >= self.tftp.max_transfers_per_ip:
            return "dropped: busy", None
        return ("data" if req.opcode == RRQ else "ack"), None

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _endpoint(
        self, transport: asyncio.DatagramTransport, addr: tuple[Any, ...], limit: int
    ) -> tuple[asyncio.DatagramTransport, asyncio.Queue[bytes]]:
        local = transport.get_extra_info("sockname") or ("0.0.0.0", 0)
        queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE)
        loop = asyncio.get_running_loop()
        t, _ = await loop.create_datagram_endpoint(
            lambda: _PeerEndpoint(queue, limit), local_addr=(local[0], 0), remote_addr=tuple(addr[:2])
        )
        return t, queue

    async def _reply_error(
        self, transport: asyncio.DatagramTransport, addr: tuple[Any, ...], code: int, text: str | None
    ) -> None:
        try:
            t, _ = await self._endpoint(transport, addr, 0)
        except OSError:  # no port left, or an address we cannot send to: the error goes unsent
            return
        try:
            t.sendto(error_packet(code, text))
        finally:
            t.close()

    # --- one transfer ---------------------------------------------------------------------------

    def _content(self, req: Request, name: str) -> bytes:
        content = self.files.get(name, b"") if req.opcode == RRQ else b""
        return netascii(content) if req.mode == "netascii" else content

    async def _transfer(
        self, req: Request, plan: _Plan, addr: tuple[Any, ...], transport: asyncio.DatagramTransport, slog: SessionLog
    ) -> None:
        try:
            try:
                t, queue = await self._endpoint(transport, addr, plan.blksize + 4)
            except OSError:  # no ephemeral port left: the request goes unanswered
                return
            try:
                xfer = _Transfer(self.tftp, t, queue, plan.timeout)
                if req.opcode == RRQ:
                    async with asyncio.timeout(self.tftp.max_transfer_time):
                        await xfer.send_file(plan.content, plan.blksize, plan.oack)
                else:
                    await self._receive(xfer, req, plan, slog)  # takes the time limit itself
            except TimeoutError:
                pass
            finally:
                t.close()
        finally:
            ip = str(addr[0])
            self.active -= 1
            left = self.per_ip.get(ip, 1) - 1
            if left > 0:
                self.per_ip[ip] = left
            else:
                self.per_ip.pop(ip, None)

    async def _receive(self, xfer: _Transfer, req: Request, plan: _Plan, slog: SessionLog) -> None:
        store = self.ctx.store
        if store is None:
            xfer.t.sendto(error_packet(EACCESS))
            return
        blob = store.open_writer(max_bytes=self.tftp.max_upload_bytes)
        started = time.monotonic()
        try:
            # the time limit is taken here, so that a transfer cut off still keeps and logs its bytes
            async with asyncio.timeout(self.tftp.max_transfer_time):
                await xfer.receive_file(blob, plan.blksize, plan.oack or ack_packet(0))
        except TimeoutError:
            pass
        except BaseException:  # sensor shutdown: no temp file left behind
            blob.abort()
            raise
        if xfer.blocks == 0:
            blob.abort()  # nothing came (a scan, or a forged source): no empty blob in the store
            return
        try:
            stored = await asyncio.to_thread(blob.commit)
        finally:
            blob.abort()
        slog.emit(
            "tftp.session.file_upload",
            sha256=stored.sha256,
            duration=round(time.monotonic() - started, 3),
            extra={
                "filename": req.filename,
                "size": stored.size,
                "blocks": xfer.blocks,
                "complete": xfer.complete,
                "truncated": stored.truncated,
                "mode": req.mode,
            },
        )

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await super().close()


@dataclass
class _Plan:
    """What was negotiated for one transfer."""

    content: bytes  # RRQ: the bytes to send (netascii already applied)
    blksize: int
    timeout: float
    oack: bytes | None  # the OACK to send first, if options were acknowledged


class _Transfer:
    """Lock-step blocks with retransmission (RFC 1350), from the transfer's own port."""

    def __init__(self, cfg: TFTPConfig, t: asyncio.DatagramTransport, queue: asyncio.Queue[bytes], timeout: float):
        self.cfg = cfg
        self.t = t
        self.queue = queue
        self.timeout = timeout
        self.verified = False  # the peer answered from its port: not a forged source
        self.blocks = 0
        self.complete = False

    async def exchange(self, packet: bytes, want: int, expect: int) -> tuple[int, bytes] | None:
        """Send ``packet`` until the peer answers with opcode ``want`` and block ``expect``
        (a duplicate of the previous block is answered with ``packet`` again for WRQ)."""
        tries = 0
        self.t.sendto(packet)
        while True:
            try:
                async with asyncio.timeout(self.timeout):
                    data = await self.queue.get()
            except TimeoutError:
                tries += 1
                if tries > (self.cfg.retries if self.verified else 1):
                    return None
                self.t.sendto(packet)
                continue
            if not data:
                return None  # ICMP unreachable
            try:
                opcode, block, payload = parse_reply(data)
            except BadPacket:
                continue
            if opcode == ERROR:
                return None
            if opcode == want and block == expect & 0xFFFF:
                self.verified = True
                return block, payload
            if opcode == DATA and want == DATA and block == (expect - 1) & 0xFFFF:
                self.t.sendto(packet)  # our ACK was lost: say it again
            # anything else (a duplicate ACK, a stray opcode) is ignored: no Sorcerer's Apprentice

    async def send_file(self, content: bytes, blksize: int, oack: bytes | None) -> None:
        if oack is not None and await self.exchange(oack, ACK, 0) is None:
            return
        block = 1
        while True:
            chunk = content[(block - 1) * blksize : block * blksize]
            if await self.exchange(data_packet(block, chunk), ACK, block) is None:
                return
            self.blocks = block
            if len(chunk) < blksize:
                self.complete = True
                return
            block += 1

    async def receive_file(self, blob: Any, blksize: int, first: bytes) -> None:
        packet, block = first, 1
        while True:
            got = await self.exchange(packet, DATA, block)
            if got is None:
                return
            payload = got[1]
            if len(payload) > blksize:
                self.t.sendto(error_packet(EBADOP))
                return
            self.blocks = block
            if not blob.write(payload):
                self.t.sendto(error_packet(ENOSPACE))
                return
            packet = ack_packet(block)
            if len(payload) < blksize:
                self.t.sendto(packet)
                self.complete = True
                return
            block += 1
