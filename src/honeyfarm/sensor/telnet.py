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


class TelnetSession:
    def __init__(self, trap: TelnetTrap, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.trap = trap
        self.ctx = trap.ctx
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername") or ("?", 0)
        local = writer.get_extra_info("sockname") or ("?", 0)
        self.log = SessionLog(self.ctx.events, "telnet", (str(peer[0]), int(peer[1])), (str(local[0]), int(local[1])))
        self.parser = TelnetParser()
        self.buf = bytearray()
        self.echo = True
        self.tty: TTYLog | None = None
        self.last_cr = False

    def send(self, text: str) -> None:
        data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8", "replace").replace(b"\xff", b"\xff\xff")
        self.writer.write(data)
        if self.tty is not None:
            self.tty.output(text.replace("\r\n", "\n").replace("\n", "\r\n"))

    def _handle_events(self) -> None:
        for ev in self.parser.events:
            if ev == "naws":
                self.log.emit("cowrie.client.size", width=self.parser.width, height=self.parser.height)
            elif ev == "ttype":
                self.log.emit("cowrie.client.var", name="TERM", value=self.parser.term)
        self.parser.events.clear()

    async def _fill(self, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            chunk = await self.reader.read(4096)
        if not chunk:
            raise _Closed
        data = self.parser.feed(chunk)
        if self.parser.replies:
            self.writer.write(bytes(self.parser.replies))
            self.parser.replies.clear()
        if "interrupt" in self.parser.events:
            data += b"\x03"
        self._handle_events()
        self.buf += data

    async def readline(self, timeout: float, echo: bool) -> str:
        """One line of input with the line editing a Linux tty gives (backspace, ^C, ^U, ^D)."""
        line = bytearray()
        cap = self.ctx.cfg.limits.max_line_bytes
        while True:
            while not self.buf:
                await self._fill(timeout)
            b = self.buf.pop(0)
            if self.last_cr and b in (0, 10):
                self.last_cr = False
                continue  # CR NUL / CR LF: one line end
            self.last_cr = b == 13
            if b in (13, 10):
                if echo:
                    self.writer.write(b"\r\n")
                return line.decode("utf-8", "replace")
            if b in (8, 127):
                if line:
                    line.pop()
                    if echo:
                        self.writer.write(b"\b \b")
            elif b == 3:
                self.writer.write(b"^C\r\n")
                raise KeyboardInterrupt
            elif b == 4 and not line:
                raise EOFError
            elif b == 21:
                line.clear()
            elif (b >= 32 or b == 9) and len(line) < cap:
                line.append(b)
                if echo:
                    self.writer.write(bytes([b]).replace(b"\xff", b"\xff\xff"))

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
        deadline = asyncio.get_running_loop().time() + cfg.telnet.login_timeout
        self.send(f"Debian GNU/Linux 12\n{persona.hostname} login: ")
        for _attempt in range(cfg.telnet.max_auth_tries):
            left = deadline - asyncio.get_running_loop().time()
            try:
                username = (await self.readline(left, echo=True)).strip()
                if not username:
                    self.send(f"{persona.hostname} login: ")
                    continue
                self.send("Password: ")
                password = await self.readline(max(left, 1.0), echo=False)
            except KeyboardInterrupt:
                self.send(f"\n{persona.hostname} login: ")
                continue
            except TimeoutError:
                self.send(f"\nLogin timed out after {int(cfg.telnet.login_timeout)} seconds.\n")
                return None
            self.send("\n")
            if self.ctx.policy.check(self.log.src_ip, username, password):
                self.log.emit("cowrie.login.success", username=username, password=password)
                return SessionContext(self.ctx, self.log, self.ctx.accounts.account(username))
            await asyncio.sleep(auth_failure_delay(self.trap.fail_delay))
            self.log.emit("cowrie.login.failed", username=username, password=password)
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
                    line = await self.readline(limits.idle_timeout, echo=True)
                except KeyboardInterrupt:
                    continue
                except EOFError:
                    self.send("logout\n")
                    break
                except TimeoutError:
                    self.send("\ntimed out waiting for input: auto-logout\n")
                    break
                if self.tty is not None:
                    self.tty.input(line + "\r")
                    self.tty.output(line + "\r\n")
                result = await shell.run_line(line)
                if result.output:
                    self.send(result.output)
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

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("?", 0)
        ip = str(peer[0])
        if not self.ctx.limiter.acquire(ip):
            writer.transport.abort()
            return
        self._writers.add(writer)
        try:
            async with asyncio.timeout(self.ctx.cfg.limits.session_timeout):
                await TelnetSession(self, reader, writer).run()
        except (TimeoutError, ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            self.ctx.limiter.release(ip)
            with contextlib.suppress(Exception):
                writer.close()
                await asyncio.wait_for(writer.wait_closed(), 2)

    async def start(self, socks: list[socket.socket]) -> None:
        for sock in socks:
            self._servers.append(await asyncio.start_server(self._handle, sock=sock, backlog=1024, limit=8192))

    async def close(self) -> None:
        for srv in self._servers:
            srv.close()
        for w in list(self._writers):
            w.transport.abort()
        for srv in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(srv.wait_closed(), 2)
