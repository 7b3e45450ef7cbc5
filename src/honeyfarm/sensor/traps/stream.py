# SPDX-License-Identifier: MIT
"""What the connection-per-coroutine traps share: accept, caps, deadlines, the session's events.

The Dionaea-class traps (SMB, FTP, MSSQL, MySQL, SIP over TCP, the catch-all) each subclass
:class:`StreamTrap` and write one ``serve(conn)`` coroutine; this module does the rest the same
way for all of them, so that a flood, a slow client or a parser bug is handled once:

- the sensor's :class:`~honeyfarm.sensor.context.ConnectionLimiter` is asked before any protocol
  work (a refused connection is aborted, counted by the limiter, never logged per connection);
- ``<trap>.session.connect`` and ``<trap>.session.closed`` (``duration``, ``extra.reason``,
  ``extra.bytes_in``/``bytes_out``) frame every accepted connection;
- reads have an idle deadline, the connection a lifetime (``idle_timeout``, ``max_connection_time``);
  every read is bounded by the caller (:meth:`Conn.read_exactly` refuses lengths past ``limit``);
- :class:`Malformed` raised by a parser closes the connection with ``malformed: <why>`` as its
  reason; any other exception is logged once with its traceback and closes only that connection.

:class:`DatagramTrap` is the UDP counterpart (TFTP, SIP over UDP): one handler call per datagram,
a per-peer packet budget per second, datagrams past ``max_datagram_bytes`` dropped and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from typing import TYPE_CHECKING, Any, cast

from honeyfarm.sensor.events import SessionLog
from honeyfarm.sensor.trap import DatagramConfig, StreamConfig

if TYPE_CHECKING:
    from honeyfarm.sensor.context import SensorContext

log = logging.getLogger(__name__)
READ_CHUNK = 64 * 1024


class Malformed(Exception):
    """The peer sent something the protocol does not allow: close, log why, never crash."""


class Closed(Exception):
    """The peer hung up or a deadline passed (``reason`` says which)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Conn:
    """One accepted connection as a trap's ``serve()`` sees it."""

    def __init__(
        self, trap: StreamTrap, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, log: SessionLog
    ) -> None:
        self.trap = trap
        self.reader = reader
        self.writer = writer
        self.log = log
        self.bytes_in = 0
        self.bytes_out = 0
        self.reason = "client closed"
        self.fields: dict[str, Any] = {}  # added to the session.closed event (e.g. username, client_version)
        self.extra: dict[str, Any] = {}  # added to that event's extra
        self.state: Any = None  # the trap's own per-connection state

    @property
    def idle_timeout(self) -> float:
        return self.trap.cfg.idle_timeout

    async def _read(self, op: Any) -> bytes:
        try:
            async with asyncio.timeout(self.idle_timeout):
                data: bytes = await op
        except TimeoutError:
            raise Closed("idle timeout") from None
        except asyncio.IncompleteReadError as e:
            self.bytes_in += len(e.partial)
            raise Closed("client closed" if not e.partial else "client closed mid-message") from None
        except asyncio.LimitOverrunError:
            raise Malformed("line too long") from None
        except (ConnectionError, OSError):
            raise Closed("connection reset") from None
        self.bytes_in += len(data)
        return data

    async def read_exactly(self, n: int, limit: int) -> bytes:
        """``n`` bytes, or :class:`Malformed` when ``n`` exceeds ``limit`` (checked before reading)."""
        if n < 0 or n > limit:
            raise Malformed(f"length {n} over the limit of {limit}")
        if n == 0:
            return b""
        return await self._read(self.reader.readexactly(n))

    async def read_some(self, n: int = READ_CHUNK) -> bytes:
        """Up to ``n`` bytes (at least one); :class:`Closed` at end of stream."""
        data = await self._read(self.reader.read(n))
        if not data:
            raise Closed("client closed")
        return data

    async def read_line(self, limit: int) -> bytes:
        """One line with its terminator (``\\n``), at most ``limit`` bytes; :class:`Closed` at end of stream."""
        try:
            async with asyncio.timeout(self.idle_timeout):
                data = await self.reader.readuntil(b"\n")
        except TimeoutError:
            raise Closed("idle timeout") from None
        except asyncio.IncompleteReadError as e:
            self.bytes_in += len(e.partial)
            raise Closed("client closed") from None
        except asyncio.LimitOverrunError:
            raise Malformed("line too long") from None
        except (ConnectionError, OSError):
            raise Closed("connection reset") from None
        self.bytes_in += len(data)
        if len(data) > limit:
            raise Malformed(f"line of {len(data)} bytes over the limit of {limit}")
        return data

    async def write(self, data: bytes) -> None:
        if self.writer.is_closing():
            raise Closed("connection reset")
        self.bytes_out += len(data)
        self.writer.write(data)
        try:
            async with asyncio.timeout(self.idle_timeout):
                await self.writer.drain()
        except TimeoutError:
            raise Closed("write timeout") from None
        except (ConnectionError, OSError):
            raise Closed("connection reset") from None


class StreamTrap:
    """Base of a TCP trap: subclasses set ``protocol`` and implement :meth:`serve`."""

    protocol = "tcp"
    read_limit = READ_CHUNK  # StreamReader buffer limit (read_line's hard ceiling)

    def __init__(self, ctx: SensorContext, cfg: StreamConfig) -> None:
        self.ctx = ctx
        self.cfg = cfg
        self.conns: set[Conn] = set()
        self.accepted = 0
        self.errors = 0
        self._servers: list[asyncio.AbstractServer] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False

    async def serve(self, conn: Conn) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def connect_fields(self, conn: Conn) -> dict[str, Any]:
        """Fields of the ``session.connect`` event (e.g. which port's role: NetBIOS vs direct SMB)."""
        return {}

    async def start(self, socks: list[socket.socket]) -> None:
        for sock in socks:
            srv = await asyncio.start_server(self._handle, sock=sock, backlog=1024, limit=self.read_limit)
            self._servers.append(srv)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("?", 0)
        local = writer.get_extra_info("sockname") or ("?", 0)
        ip = str(peer[0])
        if self._closing or not self.ctx.limiter.acquire(ip):
            writer.transport.abort()
            return
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        slog = SessionLog(self.ctx.events, self.protocol, (ip, int(peer[1])), (str(local[0]), int(local[1])))
        conn = Conn(self, reader, writer, slog)
        self.conns.add(conn)
        self.accepted += 1
        started = time.monotonic()
        try:
            slog.emit(f"{self.protocol}.session.connect", **self.connect_fields(conn))
            async with asyncio.timeout(self.cfg.max_connection_time):
                await self.serve(conn)
        except TimeoutError:
            conn.reason = "connection time limit"
        except Closed as e:
            conn.reason = e.reason
        except Malformed as e:
            conn.reason = f"malformed: {e}"[:200]
        except (ConnectionError, OSError):
            conn.reason = "connection reset"
        except asyncio.CancelledError:
            conn.reason = "sensor shutdown"
            if not self._closing:
                raise
        except Exception as e:  # a bug in a parser: this connection ends, the sensor does not
            self.errors += 1
            conn.reason = f"error: {type(e).__name__}"
            log.exception("%s trap: connection from %s failed", self.protocol, ip)
        finally:
            self.conns.discard(conn)
            self.ctx.limiter.release(ip)
            if task is not None:
                self._tasks.discard(task)
            extra = {"reason": conn.reason, "bytes_in": conn.bytes_in, "bytes_out": conn.bytes_out, **conn.extra}
            slog.emit(
                f"{self.protocol}.session.closed",
                duration=round(time.monotonic() - started, 3),
                **conn.fields,
                extra=extra,
            )
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 2)
            if not writer.transport.is_closing():
                writer.transport.abort()

    async def close(self) -> None:
        """Stop accepting, hang up every connection (each still logs its ``session.closed``)."""
        self._closing = True
        for srv in self._servers:
            srv.close()
        for c in list(self.conns):
            c.writer.transport.abort()
        if self._tasks:
            _done, still = await asyncio.wait(list(self._tasks), timeout=1.0)
            for t in still:
                t.cancel()
            if still:
                await asyncio.gather(*still, return_exceptions=True)
        for srv in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(srv.wait_closed(), 2)


class DatagramTrap(asyncio.DatagramProtocol):
    """Base of a UDP trap: subclasses set ``protocol`` and implement :meth:`datagram`."""

    protocol = "udp"
    MAX_TRACKED = 10_000  # source addresses whose packet budget is tracked at once

    def __init__(self, ctx: SensorContext, cfg: DatagramConfig) -> None:
        self.ctx = ctx
        self.cfg = cfg
        self.transports: list[asyncio.DatagramTransport] = []
        self.dropped = 0
        self.errors = 0
        self._budget: dict[str, tuple[int, int]] = {}  # ip -> (second, packets in it)

    def datagram(self, data: bytes, addr: tuple[Any, ...], transport: asyncio.DatagramTransport) -> None:
        raise NotImplementedError  # pragma: no cover - abstract

    def session_log(self, addr: tuple[Any, ...], transport: asyncio.DatagramTransport) -> SessionLog:
        local = transport.get_extra_info("sockname") or ("?", 0)
        slog = SessionLog(self.ctx.events, self.protocol, (str(addr[0]), int(addr[1])), (str(local[0]), int(local[1])))
        slog.transport = "udp"
        return slog

    def _allow(self, ip: str) -> bool:
        now = int(time.monotonic())
        second, n = self._budget.get(ip, (now, 0))
        if second != now:
            n = 0
        if n >= self.cfg.max_packets_per_second:
            return False
        if len(self._budget) >= self.MAX_TRACKED and ip not in self._budget:
            self._budget = {k: v for k, v in self._budget.items() if v[0] == now}
            if len(self._budget) >= self.MAX_TRACKED:
                return False
        self._budget[ip] = (now, n + 1)
        return True

    async def start(self, socks: list[socket.socket]) -> None:
        loop = asyncio.get_running_loop()
        for sock in socks:
            transport, _ = await loop.create_datagram_endpoint(lambda: _Endpoint(self), sock=sock)
            self.transports.append(transport)

    async def close(self) -> None:
        for t in self.transports:
            t.close()


class _Endpoint(asyncio.DatagramProtocol):
    def __init__(self, trap: DatagramTrap) -> None:
        self.trap = trap
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # CPython 3.11's selector datagram transport is no asyncio.DatagramTransport subclass
        # (it has sendto() all the same), so this is a cast, not an isinstance() check.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        trap = self.trap
        if self.transport is None:
            return
        if len(data) > trap.cfg.max_datagram_bytes or not trap._allow(str(addr[0])):
            trap.dropped += 1
            return
        try:
            trap.datagram(data, addr, self.transport)
        except Exception:  # a parser bug drops this datagram, not the sensor
            trap.errors += 1
            log.exception("%s trap: datagram from %s failed", trap.protocol, addr[0])
