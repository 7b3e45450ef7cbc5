# SPDX-License-Identifier: MIT
"""The Telnet trap: the real daemon of the persona on the wire, then the same fake shell as SSH.

What goes on the wire before the shell (option negotiation, banner, prompts, AYT answer,
failure texts, delays, tries) is the business of a ``TelnetDaemon``: Debian's
``inetutils-telnetd`` + ``/bin/login`` (``telnet_inetutils``) for the ``debian`` persona,
BusyBox ``telnetd`` + ``login`` (``telnet_busybox``) for ``busybox``. Cowrie's preamble
(``IAC DO NAWS`` then ``login:``, AYT unanswered) is a listed honeypot fingerprint; these are
checked byte for byte against the real daemons by ``tests/test_diff_telnetd.py``.

This module does the I/O: every read has an absolute deadline, writes stop at a closed
transport, and the session logs what happened. Nagle's algorithm is turned back on (asyncio turns
it off): the real daemons leave it on, and most of the ~40 ms they take before a prompt is Nagle
waiting for the client's delayed ACK of the previous write (a client that answers at once, as
telnet(1) does after the banner, gets the prompt at once), so the trap's timing follows the
client's ACKs the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from typing import Any

from honeyfarm.sensor.capture.ttylog import TTYLog
from honeyfarm.sensor.context import SensorContext, SessionContext
from honeyfarm.sensor.events import SessionLog
from honeyfarm.sensor.traps.telnet.busybox import BusyBox
from honeyfarm.sensor.traps.telnet.daemon import Interrupted, Intr, Settings, TelnetDaemon
from honeyfarm.sensor.traps.telnet.inetutils import Inetutils
from honeyfarm.sensor.traps.telnet.proto import IAC, IP, TelnetParser, naws, ttype

#: Output queued for a client that does not read (echo of a flood) before the session waits for it.
MAX_PENDING_OUTPUT = 64 * 1024
READ_CHUNK = 4096


class _Closed(Exception):
    pass


def make_daemon(ctx: SensorContext) -> TelnetDaemon:
    """The daemon the persona's flavour claims."""
    t = ctx.cfg.telnet
    settings = Settings(max_tries=t.max_auth_tries, fail_delay=t.fail_delay)
    if getattr(ctx.cfg.persona, "flavor", "debian") == "busybox":
        return BusyBox(settings)
    return Inetutils(settings)


def peer_name(ip: str) -> str:
    """The client as inetutils-telnetd prints it: its reverse name (the trap resolves only loopback)."""
    return "localhost" if ip in ("127.0.0.1", "::1") else ip


class TelnetSession:
    """One connection: the daemon's dialogue, then the shell."""

    def __init__(self, trap: TelnetTrap, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.trap = trap
        self.ctx = trap.ctx
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername") or ("?", 0)
        local = writer.get_extra_info("sockname") or ("?", 0)
        self.log = SessionLog(self.ctx.events, "telnet", (str(peer[0]), int(peer[1])), (str(local[0]), int(local[1])))
        self.parser = TelnetParser()
        self.daemon = make_daemon(self.ctx)
        self.buf = bytearray()  # data bytes read, not yet consumed
        self.pos = 0
        self.tty: TTYLog | None = None
        self.last_cr = False
        self.ips = 0  # IAC IPs turned into ^C, not yet read
        self.replies = b""  # answers to the client's commands, not yet written
        self.width = self.height = 0
        self.term: str | None = None
        self.started = asyncio.get_running_loop().time()
        # LoginIO
        persona = self.ctx.cfg.persona
        self.host = persona.hostname
        self.kernel_release = persona.kernel_release
        self.peer_name = peer_name(str(peer[0]))
        self.pts = trap.alloc_pts()
        self.pty = f"pts/{self.pts}"
        self.login_deadline = self.started + self.ctx.cfg.telnet.login_timeout

    # --- output ------------------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        # Writing to a closed transport is what made asyncio log "socket.send() raised exception."
        # once per echoed byte of a flood: stop the session instead.
        if self.writer.transport.is_closing():
            raise _Closed
        data, self.replies = self.replies + data, b""
        if data:
            self.writer.write(data)

    def send(self, text: str) -> None:
        crlf = text.replace("\r\n", "\n").replace("\n", "\r\n")
        self.write(crlf.encode("utf-8", "replace").replace(b"\xff", b"\xff\xff"))
        if self.tty is not None:
            self.tty.output(crlf)

    # --- input -------------------------------------------------------------------------------------

    async def _fill(self, deadline: float) -> None:
        """Read one chunk before ``deadline`` (loop time): a byte every few seconds does not extend it."""
        transport = self.writer.transport
        if transport.is_closing():
            raise _Closed
        self.write(b"")  # answers not yet sent (telnetd flushes its buffer before it waits)
        async with asyncio.timeout_at(deadline):
            if transport.get_write_buffer_size() > MAX_PENDING_OUTPUT:
                await self.writer.drain()  # a client that sends and never reads waits here, bounded
            chunk = await self.reader.read(READ_CHUNK)
        if not chunk:
            raise _Closed
        data = self.parser.feed(chunk)
        for ev in self.parser.take():
            for reply in self.daemon.on_event(ev):
                # Sent with the next write: as telnetd, whose answers and next offers share a segment.
                # A daemon that answers in separate writes (BusyBox's AYT) gets them one by one.
                if self.daemon.separate_writes:
                    self.write(reply)
                else:
                    self.replies += reply
            if (size := naws(ev)) is not None:
                self.width, self.height = size
                self.log.emit("cowrie.client.size", width=size[0], height=size[1])
            elif (term := ttype(ev)) is not None:
                self.term = term
                self.log.emit("cowrie.client.var", name="TERM", value=term)
            elif ev.kind == "cmd" and ev.verb == IP and self.daemon.ip_is_interrupt:
                data += b"\x03"
                self.ips += 1
        del self.buf[: self.pos]
        self.buf += data
        self.pos = 0

    def _typeahead_cap(self) -> int:
        return 2 * READ_CHUNK + self.ctx.cfg.limits.max_line_bytes

    async def wait(self, done: Callable[[], bool], deadline: float) -> None:
        """Read (keeping data for later) until the daemon's condition holds.

        A client that sends more than a line's worth before it answers is a flood: from then on
        its bytes are read and dropped unparsed (no per-byte work, no memory) until it hangs up or
        the deadline passes.
        """
        while not done():
            if len(self.buf) - self.pos > self._typeahead_cap():
                async with asyncio.timeout_at(deadline):
                    while await self.reader.read(65536):
                        pass
                raise _Closed
            await self._fill(deadline)

    async def readline(self, deadline: float, echo: bool | None, intr: Intr = "raise") -> str:
        """One line of input with the line editing a Linux tty gives (backspace, ^C, ^U, ^D).

        ``echo=None``: echo as the daemon's option state says at each byte (a client's DO ECHO
        can arrive while the user types, as with a real pty's ECHO flag).
        """
        fixed = echo
        line = bytearray()
        out = bytearray()  # echo, written once per chunk rather than once per byte
        cap = self.ctx.cfg.limits.max_line_bytes
        try:
            while True:
                while self.pos >= len(self.buf):
                    self.write(bytes(out))
                    out.clear()
                    await self._fill(deadline)
                b = self.buf[self.pos]
                self.pos += 1
                echo = self.daemon.echo if fixed is None else fixed
                if self.last_cr and b in (0, 10):
                    self.last_cr = False
                    continue  # CR NUL / CR LF: one line end
                self.last_cr = b == 13
                if b in (13, 10):
                    if echo:
                        out += b"\r\n"
                    return line.decode("utf-8", "replace")
                if b in (8, 127):
                    if line:
                        line.pop()
                        if echo:
                            out += b"\b \b"
                elif b == 3:
                    if self.ips:  # telnetd flushes what came before IAC IP to the pty first: echoed
                        self.ips -= 1
                    else:  # ISIG flushes the pty: the echo not yet sent (this chunk's) is lost
                        out.clear()
                    if intr == "clear":
                        out += b"^C"
                        line.clear()
                        continue
                    if intr == "end":
                        raise Interrupted
                    raise KeyboardInterrupt
                elif b == 4 and not line:
                    raise EOFError
                elif b == 21:
                    line.clear()
                elif (b >= 32 or b == 9) and len(line) < cap:
                    line.append(b)
                    if echo:
                        out.append(b)
                        if b == IAC:
                            out.append(IAC)
        finally:
            if not self.writer.transport.is_closing():
                self.write(bytes(out))

    # --- LoginIO -------------------------------------------------------------------------------------

    async def pause(self, seconds: float) -> None:
        self.write(b"")
        await self.trap.pause(seconds)

    async def sleep(self, seconds: float) -> None:
        self.write(b"")
        await asyncio.sleep(seconds)

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def attempt(self, username: str, password: str) -> SessionContext | None:
        if self.ctx.policy.check(self.log.src_ip, username, password):
            self.log.emit("cowrie.login.success", username=username, password=password)
            return SessionContext(self.ctx, self.log, self.ctx.accounts.account(username))
        # Logged before the delay: an attempt cut off by a hang-up or a shutdown was still made.
        self.log.emit("cowrie.login.failed", username=username, password=password)
        return None

    # --- the session ---------------------------------------------------------------------------------

    async def run(self) -> None:
        self.log.emit("cowrie.session.connect")
        try:
            session = await self._login()
            if session is not None:
                await self._shell(session)
        except (_Closed, TimeoutError, ConnectionError, EOFError, KeyboardInterrupt, Interrupted):
            pass
        finally:
            self.trap.free_pts(self.pts)
            self.log.emit("cowrie.session.closed", duration=round(self.log.elapsed, 6))

    async def _login(self) -> SessionContext | None:
        negotiated = False
        try:
            await self.daemon.negotiate(self)
            negotiated = True
            return await self.daemon.login(self)
        except TimeoutError:
            if negotiated:  # login's alarm; a client that never answered the options gets nothing
                with contextlib.suppress(_Closed):
                    self.write(self.daemon.timeout_text(int(self.ctx.cfg.telnet.login_timeout)))
            return None

    async def _shell(self, session: SessionContext) -> None:
        limits = self.ctx.cfg.limits
        if self.ctx.events.spool.has_room(limits.ttylog_bytes):
            w, h = self.width or 80, self.height or 24
            env = {"TERM": self.term} if self.term else {}
            self.tty = TTYLog(self.ctx.tty_dir, self.log.session, w, h, limits.ttylog_bytes, env)
        self.log.emit("cowrie.session.params", arch=self.ctx.cfg.persona.arch)
        shell = self.ctx.new_shell(session)
        self.write(self.daemon.after_login())
        if not isinstance(self.daemon, BusyBox):  # a router has no /etc/motd
            self.send(self.ctx.motd())
        try:
            while True:
                self.send(shell.prompt())
                try:
                    # The idle deadline runs from the prompt: trickling bytes without a newline ends it too.
                    deadline = asyncio.get_running_loop().time() + limits.idle_timeout
                    line = await self.readline(deadline, echo=True)
                except KeyboardInterrupt:
                    self.write(b"^C\r\n")
                    continue
                except EOFError:
                    self.send("logout\n")
                    break
                except TimeoutError:
                    with contextlib.suppress(_Closed):
                        self.send("\ntimed out waiting for input: auto-logout\n")
                    break
                if self.tty is not None:
                    self.tty.input(line + "\r")
                    self.tty.output(line + "\r\n")
                result = await shell.run_line(line)
                if result.output:
                    self.send(result.output)
                async with asyncio.timeout(limits.idle_timeout):  # a client that never reads
                    await self.writer.drain()
                if result.exit:  # the shell printed "logout" itself
                    break
        finally:
            if self.tty is not None:
                self.tty.close()
                self.ctx.events.spool.account_external(self.tty.size)
                self.log.emit(
                    "cowrie.log.closed",
                    ttylog=f"tty/{self.tty.path.name}",
                    size=self.tty.size,
                    duration=round(self.tty.duration, 6),
                    truncated=self.tty.truncated or None,
                )


class TelnetTrap:
    def __init__(self, ctx: SensorContext) -> None:
        self.ctx = ctx
        self._servers: list[asyncio.AbstractServer] = []
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = asyncio.Event()
        self._pts: set[int] = set()

    def alloc_pts(self) -> int:
        """The lowest free pty number, as the kernel hands them out."""
        n = 0
        while n in self._pts:
            n += 1
        self._pts.add(n)
        return n

    def free_pts(self, n: int) -> None:
        self._pts.discard(n)

    async def pause(self, seconds: float) -> None:
        """Sleep, unless the sensor is stopping (then end the session at once)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)
            raise _Closed

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("?", 0)
        ip = str(peer[0])
        if not self.ctx.limiter.acquire(ip):
            writer.transport.abort()
            return
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._writers.add(writer)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)
        try:
            async with asyncio.timeout(self.ctx.cfg.limits.session_timeout):
                await TelnetSession(self, reader, writer).run()
        except (TimeoutError, ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            # Only close() cancels a session (one stuck past its grace period). End quietly: Python
            # 3.11's start_server callback prints a traceback for a handler task that ends cancelled.
            if not self._closing.is_set():
                raise
        finally:
            self._writers.discard(writer)
            self.ctx.limiter.release(ip)
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), 2)
            except (TimeoutError, OSError):
                writer.transport.abort()  # a peer that never reads what is left

    async def start(self, socks: list[socket.socket]) -> None:
        for sock in socks:
            self._servers.append(await asyncio.start_server(self._handle, sock=sock, backlog=1024, limit=8192))

    async def close(self) -> None:
        """Stop accepting, hang up every session and wait for their handlers (no task left to cancel)."""
        self._closing.set()
        for srv in self._servers:
            srv.close()
        for w in list(self._writers):
            w.transport.abort()
        pending = list(self._tasks)
        if pending:  # aborted sessions end at their next read; one in a failure delay is cancelled
            _done, still = await asyncio.wait(pending, timeout=0.5)
            for t in still:
                t.cancel()
            if still:
                await asyncio.gather(*still, return_exceptions=True)
        for srv in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(srv.wait_closed(), 2)
