# SPDX-License-Identifier: MIT
"""The Telnet trap: a Debian ``login:`` prompt, the same credential policy and fake shell.

Option negotiation (RFC 854/855/857/858/1073/1091) is a byte-level state
machine that strips commands from the data stream and never drops a data byte
that arrives with them: Cowrie loses the first character of hydra's username
because it discards data received while negotiating. The server offers ECHO
and SUPPRESS-GO-AHEAD and asks for NAWS (window size) and TERMINAL-TYPE,
answers every other request with a refusal, and answers each option once
(no negotiation loops).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

from honeyfarm.sensor.context import SensorContext, SessionContext
from honeyfarm.sensor.events import SessionLog
from honeyfarm.sensor.openssh import auth_failure_delay
from honeyfarm.sensor.ttylog import TTYLog

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
IP, AO, AYT, EC, EL, NOP, GA, BRK, DM = 244, 245, 246, 247, 248, 241, 249, 243, 242
ECHO, SGA, TTYPE, NAWS = 1, 3, 24, 31
TTYPE_IS, TTYPE_SEND = 0, 1
_WE_DO = {ECHO, SGA}  # options we perform (answer DO with WILL)
_THEY_DO = {NAWS, TTYPE, SGA}  # options we accept from the client (answer WILL with DO)
MAX_SB = 512


class TelnetParser:
    """Splits a Telnet byte stream into data bytes and option events."""

    def __init__(self) -> None:
        self.state = "data"
        self.cmd = 0
        self.sb: bytearray = bytearray()
        self.replies = bytearray()
        self.answered: set[tuple[int, int]] = set()
        self.width = 0
        self.height = 0
        self.term: str | None = None
        self.events: list[str] = []  # "naws", "ttype", "interrupt"

    def _answer(self, cmd: int, opt: int) -> None:
        if cmd == DO:
            reply = WILL if opt in _WE_DO else WONT
        elif cmd == WILL:
            reply = DO if opt in _THEY_DO else DONT
            if opt == TTYPE and reply == DO:
                self.replies += bytes([IAC, SB, TTYPE, TTYPE_SEND, IAC, SE])
        elif cmd == DONT:
            reply = WONT
        else:
            reply = DONT
        key = (reply, opt)
        if key in self.answered:
            return
        self.answered.add(key)
        self.replies += bytes([IAC, reply, opt])

    def offer(self, cmd: int, opt: int) -> bytes:
        self.answered.add((cmd, opt))
        return bytes([IAC, cmd, opt])

    def _subneg(self) -> None:
        data = bytes(self.sb)
        if data[:1] == bytes([NAWS]) and len(data) >= 5:
            self.width = int.from_bytes(data[1:3], "big")
            self.height = int.from_bytes(data[3:5], "big")
            self.events.append("naws")
        elif data[:2] == bytes([TTYPE, TTYPE_IS]):
            self.term = data[2:66].decode("ascii", "replace")
            self.events.append("ttype")

    def feed(self, chunk: bytes) -> bytes:
        out = bytearray()
        for b in chunk:
            st = self.state
            if st == "data":
                if b == IAC:
                    self.state = "iac"
                else:
                    out.append(b)
            elif st == "iac":
                if b == IAC:
                    out.append(IAC)
                    self.state = "data"
                elif b in (WILL, WONT, DO, DONT):
                    self.cmd = b
                    self.state = "opt"
                elif b == SB:
                    self.sb.clear()
                    self.state = "sb"
                else:
                    if b in (IP, BRK):
                        self.events.append("interrupt")
                    self.state = "data"
            elif st == "opt":
                self._answer(self.cmd, b)
                self.state = "data"
            elif st == "sb":
                if b == IAC:
                    self.state = "sb_iac"
                elif len(self.sb) < MAX_SB:
                    self.sb.append(b)
            elif st == "sb_iac":
                if b == SE:
                    self._subneg()
                    self.state = "data"
                else:
                    if b == IAC and len(self.sb) < MAX_SB:
                        self.sb.append(IAC)
                    self.state = "sb"
        return bytes(out)


class _Closed(Exception):
    pass


#: Output queued for a client that does not read (echo of a flood) before the session waits for it.
MAX_PENDING_OUTPUT = 64 * 1024
READ_CHUNK = 4096


class TelnetSession:
    """One connection. Every read has an absolute deadline, every write stops at a closed transport."""

    def __init__(self, trap: TelnetTrap, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.trap = trap
        self.ctx = trap.ctx
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername") or ("?", 0)
        local = writer.get_extra_info("sockname") or ("?", 0)
        self.log = SessionLog(self.ctx.events, "telnet", (str(peer[0]), int(peer[1])), (str(local[0]), int(local[1])))
        self.parser = TelnetParser()
        self.buf = bytearray()  # data bytes read, not yet consumed (at most one chunk)
        self.pos = 0
        self.echo = True
        self.tty: TTYLog | None = None
        self.last_cr = False
        self.started = asyncio.get_running_loop().time()

    def _write(self, data: bytes) -> None:
        # Writing to a closed transport is what made asyncio log "socket.send() raised exception."
        # once per echoed byte of a flood: stop the session instead.
        if self.writer.transport.is_closing():
            raise _Closed
        if data:
            self.writer.write(data)

    def send(self, text: str) -> None:
        data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8", "replace").replace(b"\xff", b"\xff\xff")
        self._write(data)
        if self.tty is not None:
            self.tty.output(text.replace("\r\n", "\n").replace("\n", "\r\n"))

    def _handle_events(self) -> None:
        for ev in self.parser.events:
            if ev == "naws":
                self.log.emit("cowrie.client.size", width=self.parser.width, height=self.parser.height)
            elif ev == "ttype":
                self.log.emit("cowrie.client.var", name="TERM", value=self.parser.term)
        self.parser.events.clear()

    async def _fill(self, deadline: float) -> None:
        """Read one chunk before ``deadline`` (loop time): a byte every few seconds does not extend it."""
        transport = self.writer.transport
        if transport.is_closing():
            raise _Closed
        async with asyncio.timeout_at(deadline):
            if transport.get_write_buffer_size() > MAX_PENDING_OUTPUT:
                await self.writer.drain()  # a client that sends and never reads waits here, bounded
            chunk = await self.reader.read(READ_CHUNK)
        if not chunk:
            raise _Closed
        data = self.parser.feed(chunk)
        if self.parser.replies:
            self._write(bytes(self.parser.replies))
            self.parser.replies.clear()
        if "interrupt" in self.parser.events:
            data += b"\x03"
        self._handle_events()
        self.buf = bytearray(data)
        self.pos = 0

    async def readline(self, deadline: float, echo: bool) -> str:
        """One line of input with the line editing a Linux tty gives (backspace, ^C, ^U, ^D)."""
        line = bytearray()
        out = bytearray()  # echo, written once per chunk rather than once per byte
        cap = self.ctx.cfg.limits.max_line_bytes
        try:
            while True:
                while self.pos >= len(self.buf):
                    self._write(bytes(out))
                    out.clear()
                    await self._fill(deadline)
                b = self.buf[self.pos]
                self.pos += 1
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
                    out += b"^C\r\n"
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
            if out and not self.writer.transport.is_closing():
                self.writer.write(bytes(out))

    async def run(self) -> None:
        self.log.emit("cowrie.session.connect")
        p = self.parser
        self.writer.write(p.offer(WILL, ECHO) + p.offer(WILL, SGA) + p.offer(DO, NAWS) + p.offer(DO, TTYPE))
        try:
            session = await self._login()
            if session is not None:
                await self._shell(session)
        except (_Closed, TimeoutError, ConnectionError, EOFError, KeyboardInterrupt):
            pass
        finally:
            self.log.emit("cowrie.session.closed", duration=round(self.log.elapsed, 6))

    async def _login(self) -> SessionContext | None:
        cfg = self.ctx.cfg
        persona = self.ctx.persona
        # login(1)'s LOGIN_TIMEOUT counts from the connection, not from the last byte read.
        deadline = self.started + cfg.telnet.login_timeout
        self.send(f"Debian GNU/Linux 12\n{persona.hostname} login: ")
        for _attempt in range(cfg.telnet.max_auth_tries):
            try:
                username = (await self.readline(deadline, echo=True)).strip()
                if not username:
                    self.send(f"{persona.hostname} login: ")
                    continue
                self.send("Password: ")
                password = await self.readline(deadline, echo=False)
            except KeyboardInterrupt:
                self.send(f"\n{persona.hostname} login: ")
                continue
            except TimeoutError:
                with contextlib.suppress(_Closed):
                    self.send(f"\nLogin timed out after {int(cfg.telnet.login_timeout)} seconds.\n")
                return None
            self.send("\n")
            if self.ctx.policy.check(self.log.src_ip, username, password):
                self.log.emit("cowrie.login.success", username=username, password=password)
                return SessionContext(self.ctx, self.log, self.ctx.accounts.account(username))
            # Logged before the delay: an attempt cut off by a hang-up or a shutdown was still made.
            self.log.emit("cowrie.login.failed", username=username, password=password)
            await self.trap.pause(auth_failure_delay(self.trap.fail_delay))
            self.send(f"\nLogin incorrect\n{persona.hostname} login: ")
        return None

    async def _shell(self, session: SessionContext) -> None:
        limits = self.ctx.cfg.limits
        if self.ctx.events.spool.has_room(limits.ttylog_bytes):
            w, h = self.parser.width or 80, self.parser.height or 24
            env = {"TERM": self.parser.term} if self.parser.term else {}
            self.tty = TTYLog(self.ctx.tty_dir, self.log.session, w, h, limits.ttylog_bytes, env)
        self.log.emit("cowrie.session.params", arch=self.ctx.cfg.persona.arch)
        shell = self.ctx.new_shell(session)
        self.send(self.ctx.motd())
        try:
            while True:
                self.send(shell.prompt())
                try:
                    # The idle deadline runs from the prompt: trickling bytes without a newline ends it too.
                    deadline = asyncio.get_running_loop().time() + limits.idle_timeout
                    line = await self.readline(deadline, echo=True)
                except KeyboardInterrupt:
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
        self.fail_delay = ctx.cfg.ssh.auth_fail_delay
        self._servers: list[asyncio.AbstractServer] = []
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = asyncio.Event()

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
