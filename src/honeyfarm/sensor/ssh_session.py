# SPDX-License-Identifier: MIT
"""What happens after login on the SSH trap: channel requests and sessions.

:class:`ChannelRequests` answers forwarding requests (mixed into the trap's
``SSHServer``); :class:`SessionRunner` runs exec and shell channels on the fake
shell (mixed into ``SSHTrap``). Kept apart from :mod:`honeyfarm.sensor.ssh`,
which dresses the transport and authentication as OpenSSH.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import asyncssh

from honeyfarm.sensor.context import SensorContext, SessionContext
from honeyfarm.sensor.events import SessionLog
from honeyfarm.sensor.ttylog import TTYLog

if TYPE_CHECKING:
    from honeyfarm.sensor.ssh import HoneySSHServer

MAX_ENV_VARS = 32


class ChannelRequests:
    log: SessionLog | None

    def connection_requested(self, dest_host: str, dest_port: int, orig_host: str, orig_port: int) -> bool:
        assert self.log is not None
        self.log.emit(
            "cowrie.direct-tcpip.request",
            dst_ip=dest_host[:255],
            dst_port=dest_port,
            orig_host=orig_host[:255],
            orig_port=orig_port,
        )
        # Never forwarded: answer as sshd does when the target refuses.
        raise asyncssh.ChannelOpenError(asyncssh.OPEN_CONNECT_FAILED, "Connection refused")

    def server_requested(self, listen_host: str, listen_port: int) -> bool:
        return False


class SessionRunner:
    ctx: SensorContext
    servers: dict[Any, HoneySSHServer]

    async def _run_process(self, process: asyncssh.SSHServerProcess[str]) -> None:
        conn = process.get_extra_info("connection")
        server = self.servers.get(conn)
        if server is None or server.session is None:
            process.exit(1)
            return
        session = server.session
        try:
            await self._serve(process, server, session)
        except (asyncssh.Error, OSError, BrokenPipeError, ConnectionError):
            pass
        finally:
            if not process.is_closing():
                process.exit(0)

    async def _serve(
        self, process: asyncssh.SSHServerProcess[str], server: HoneySSHServer, session: SessionContext
    ) -> None:
        log = session.log
        term = process.get_terminal_type()
        width, height, _, _ = process.get_terminal_size()
        if term:
            log.emit("cowrie.client.size", width=width, height=height, term=term)
        env = dict(list(process.env.items())[:MAX_ENV_VARS]) if process.env else {}
        for name, value in env.items():
            log.emit("cowrie.client.var", name=str(name), value=str(value))
        log.emit("cowrie.session.params", arch=self.ctx.cfg.persona.arch)
        shell = self.ctx.new_shell(session)
        if process.command is not None:
            result = await shell.run_line(process.command)
            if result.output:
                process.stdout.write(result.output)
            process.exit(result.status)
            return
        await self._interactive(process, shell, session, term, width, height, env)

    async def _interactive(
        self,
        process: asyncssh.SSHServerProcess[str],
        shell: Any,
        session: SessionContext,
        term: str | None,
        width: int,
        height: int,
        env: dict[str, str],
    ) -> None:
        limits = self.ctx.cfg.limits
        tty: TTYLog | None = None
        if self.ctx.events.spool.has_room(limits.ttylog_bytes):
            tty = TTYLog(self.ctx.tty_dir, session.log.session, width or 80, height or 24, limits.ttylog_bytes, env)
        status = 0

        def out(text: str) -> None:
            process.stdout.write(text)
            if tty is not None:
                tty.output(text.replace("\n", "\r\n") if term else text)

        if term:
            out(self.ctx.motd())
        try:
            while True:
                out(shell.prompt())
                try:
                    async with asyncio.timeout(limits.idle_timeout):
                        line = await process.stdin.readline()
                except asyncssh.TerminalSizeChanged as exc:
                    session.log.emit("cowrie.client.size", width=exc.width, height=exc.height)
                    continue
                except (asyncssh.BreakReceived, asyncssh.SignalReceived):
                    out("^C\n")
                    continue
                except TimeoutError:
                    out("\ntimed out waiting for input: auto-logout\n")
                    break
                if line == "":  # ^D / EOF
                    out("logout\n")
                    break
                if tty is not None:
                    tty.input(line)
                    tty.output(line.replace("\n", "\r\n"))
                result = await shell.run_line(line.rstrip("\n"))
                status = result.status
                if result.output:
                    out(result.output)
                if result.exit:  # the shell printed "logout" itself
                    break
        finally:
            if tty is not None:
                tty.close()
                self.ctx.events.spool.account_external(tty.size)
                session.log.emit(
                    "cowrie.log.closed",
                    ttylog=f"tty/{tty.path.name}",
                    size=tty.size,
                    duration=round(tty.duration, 6),
                    truncated=tty.truncated or None,
                )
        process.exit(status)
