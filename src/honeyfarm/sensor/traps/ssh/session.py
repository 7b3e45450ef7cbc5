# SPDX-License-Identifier: MIT
"""What happens after login on the SSH trap: channel requests and sessions.

:class:`ChannelRequests` answers session, forwarding and subsystem requests (mixed into the
trap's ``SSHServer``); :class:`SessionRunner` runs exec and shell channels on the fake shell
(mixed into ``SSHTrap``). Kept apart from :mod:`honeyfarm.sensor.traps.ssh.server`, which dresses the
transport and authentication as OpenSSH. Exec channels are in :mod:`honeyfarm.sensor.traps.ssh.execchan`,
pty sessions in :mod:`honeyfarm.sensor.traps.ssh.ptychan`, the environment in :mod:`honeyfarm.sensor.traps.ssh.env`.

Forwarding never opens a connection or a listening socket. ``-L``/``-W`` (direct-tcpip) are
logged and answered as ``ssh.forward_answer`` says, worded as sshd words it; ``-R``
(tcpip-forward) is logged and, as Debian's stock sshd binds the port, acknowledged (with a port
number for port 0) by a listener that listens nowhere — or refused, per ``ssh.remote_forward``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import asyncssh
from asyncssh.sftp import MIN_SFTP_VERSION

from honeyfarm.sensor.capture.ttylog import TTYLog
from honeyfarm.sensor.context import SensorContext, SessionContext
from honeyfarm.sensor.events import SessionLog
from honeyfarm.sensor.traps.ssh.env import ssh_env
from honeyfarm.sensor.traps.ssh.execchan import run_exec_channel
from honeyfarm.sensor.traps.ssh.ptychan import run_pty_session
from honeyfarm.sensor.traps.ssh.sftp import make_sftp_factory

if TYPE_CHECKING:
    from honeyfarm.sensor.traps.ssh.server import HoneySSHServer, SSHTrap

MAX_ENV_VARS = 32
MAX_REMOTE_FORWARDS = 64
MAX_SESSIONS = 10  # sshd's MaxSessions
# Ports the emulated host already listens on (sshd), so binding them fails as on the real one.
_BUSY_PORTS = frozenset({22})
_NO_SUCH_NAME = "Name or service not known"
_ANSWERS = {
    "refused": (asyncssh.OPEN_CONNECT_FAILED, "Connection refused"),
    "unreachable": (asyncssh.OPEN_CONNECT_FAILED, "No route to host"),
    "prohibited": (asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, "open failed"),
}


def _unresolvable(host: str) -> bool:
    """Names no resolver answers (no dot, or a reserved TLD): sshd says so, whatever the policy."""
    try:
        ipaddress.ip_address(host)
        return False
    except ValueError:
        pass
    name = host.rstrip(".").lower()
    return "." not in name or name.rsplit(".", 1)[1] in ("invalid", "test", "example", "local", "internal")


class _NowhereListener(asyncssh.SSHListener):
    """What sshd's bound ``-R`` port looks like to the client, with no socket behind it."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self._port = port

    def get_port(self) -> int:
        return self._port

    def close(self) -> None:
        return None

    async def wait_closed(self) -> None:
        return None


class TrapProcess(asyncssh.SSHServerProcess[str]):
    """A session channel: subsystems other than those in Debian's sshd_config fail as on sshd."""

    def __init__(self, trap: SSHTrap, on_close: Callable[[TrapProcess], None] | None = None) -> None:
        sftp = trap.ctx.cfg.ssh.sftp
        factory: Any = (
            make_sftp_factory(trap.ctx, trap.session_of) if sftp else None
        )  # asyncssh types it on SSHChannel, not the server's
        super().__init__(trap._run_process, factory, MIN_SFTP_VERSION, sftp)
        self._sftp_on = sftp
        self._on_close = on_close

    def connection_lost(self, exc: Exception | None) -> None:
        if self._on_close is not None:
            self._on_close(self)
        super().connection_lost(exc)

    def connection_made(self, chan: Any) -> None:
        self._honey_chan = chan
        # Invalid UTF-8 typed or pasted stays what it was (lone surrogates), set before any data arrives.
        chan.set_encoding("utf-8", "surrogateescape")
        super().connection_made(chan)

    def exec_requested(self, command: str) -> bool:
        # An exec channel carries bytes (a binary piped into `cat > f`): one character per byte, so
        # no decoder holds back or drops a split sequence; sshexec converts at the edges. Set here,
        # before the reply that lets the client send.
        self._honey_chan.set_encoding("latin-1")
        return super().exec_requested(command)

    def subsystem_requested(self, subsystem: str) -> bool:
        # sshd: "subsystem request for foo by user root failed, subsystem not found"
        return subsystem == "sftp" and self._sftp_on


class ChannelRequests:
    log: SessionLog | None
    trap: SSHTrap
    ctx: SensorContext
    session: SessionContext | None

    def session_requested(self) -> TrapProcess:
        """A new session channel (used when the connection options name no process factory).

        sshd's MaxSessions (10): past it the open fails as sshd's does, so a client cannot make
        one connection run shells without bound."""
        open_now: set[TrapProcess] = getattr(self, "_honey_sessions", set())
        self._honey_sessions = open_now
        if len(open_now) >= MAX_SESSIONS:  # sshd: SSH2_OPEN_CONNECT_FAILED, "open failed"
            raise asyncssh.ChannelOpenError(asyncssh.OPEN_CONNECT_FAILED, "open failed")
        proc = TrapProcess(self.trap, on_close=open_now.discard)
        open_now.add(proc)
        return proc

    def connection_requested(self, dest_host: str, dest_port: int, orig_host: str, orig_port: int) -> bool:
        assert self.log is not None
        answer = self.ctx.cfg.ssh.forward_answer
        self.log.emit(
            "cowrie.direct-tcpip.request",
            dst_ip=dest_host[:255],
            dst_port=dest_port,
            orig_host=orig_host[:255],
            orig_port=orig_port,
            answer=answer,
        )
        if answer != "prohibited" and _unresolvable(dest_host):
            raise asyncssh.ChannelOpenError(asyncssh.OPEN_CONNECT_FAILED, _NO_SUCH_NAME)
        code, reason = _ANSWERS[answer]
        raise asyncssh.ChannelOpenError(code, reason)

    def server_requested(self, listen_host: str, listen_port: int) -> asyncssh.SSHListener | bool:
        assert self.log is not None
        uid = self.session.account.uid if self.session is not None else 0
        count = getattr(self, "_honey_forwards", 0) + 1
        self._honey_forwards = count
        accept = self.ctx.cfg.ssh.remote_forward == "accept" and count <= MAX_REMOTE_FORWARDS
        # sshd: only root binds ports below 1024; a port in use fails.
        if 0 < listen_port < 1024 and (uid != 0 or listen_port in _BUSY_PORTS):
            accept = False
        port = listen_port or random.randint(32768, 60999)
        self.log.emit(
            "cowrie.tcpip-forward.request",
            listen_host=listen_host[:255],
            listen_port=listen_port,
            allocated_port=port if accept and not listen_port else None,
            accepted=accept,
        )
        return _NowhereListener(port) if accept else False


class SessionRunner:
    ctx: SensorContext
    servers: dict[Any, HoneySSHServer]

    async def _run_process(self, process: asyncssh.SSHServerProcess[str]) -> None:
        if not isinstance(process, TrapProcess):  # opened by asyncssh's own factory: as early as we can
            with contextlib.suppress(Exception):
                process.channel.set_encoding("utf-8", "surrogateescape")
        conn = process.get_extra_info("connection")
        server = self.servers.get(conn)
        if server is None or server.session is None:
            process.exit(1)
            return
        session = server.session
        try:
            await self._serve(process, session)
        except (asyncssh.Error, OSError, BrokenPipeError, ConnectionError):
            pass
        finally:
            if not process.is_closing():
                process.exit(0)

    def _pts(self) -> int:
        used: set[int] = getattr(self, "_honey_pts", set())
        self._honey_pts = used
        n = 0
        while n in used:
            n += 1
        used.add(n)
        return n

    async def _serve(self, process: asyncssh.SSHServerProcess[str], session: SessionContext) -> None:
        log = session.log
        term = process.get_terminal_type()
        width, height, _, _ = process.get_terminal_size()
        if term:
            log.emit("cowrie.client.size", width=width, height=height, term=term)
        env = dict(list(process.env.items())[:MAX_ENV_VARS]) if process.env else {}
        client_env = {str(k): str(v) for k, v in env.items()}
        for name, value in client_env.items():
            log.emit("cowrie.client.var", name=name, value=value)
        log.emit("cowrie.session.params", arch=self.ctx.cfg.persona.arch)
        shell = self.ctx.new_shell(session)
        pts = self._pts() if term else None
        try:
            tty = f"/dev/pts/{pts}" if pts is not None else None
            if tty is not None and hasattr(shell, "tty"):
                shell.tty = tty[len("/dev/") :]
            shell.env = ssh_env(
                shell.env,
                uid=session.account.uid,
                src=(log.src_ip, log.src_port),
                dst=(log.dst_ip, log.dst_port),
                term=term,
                tty=tty,
                login=process.command is None,
                client_env=client_env,
            )
            if process.command is not None:
                status = await run_exec_channel(process, shell, session, process.command, pty=bool(term))
            else:
                status = await self._interactive(process, shell, session, term, width, height, client_env)
        finally:
            if pts is not None:
                self._honey_pts.discard(pts)
            await self.ctx.flush_overlay(session)
        process.exit(status)

    async def _interactive(
        self,
        process: asyncssh.SSHServerProcess[str],
        shell: Any,
        session: SessionContext,
        term: str | None,
        width: int,
        height: int,
        env: dict[str, str],
    ) -> int:
        limits = self.ctx.cfg.limits
        tty: TTYLog | None = None
        if self.ctx.events.spool.has_room(limits.ttylog_bytes):
            tty = TTYLog(self.ctx.tty_dir, session.log.session, width or 80, height or 24, limits.ttylog_bytes, env)
        try:
            if not term:  # `ssh -T host`: bash without a terminal reads commands line by line
                return await self._no_pty_shell(process, shell)
            return await run_pty_session(process, shell, session, width=width, tty=tty, motd=self.ctx.motd())
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

    async def _no_pty_shell(self, process: asyncssh.SSHServerProcess[str], shell: Any) -> int:
        """A shell channel without a pty (``ssh -T host < script``): the motd, then bash reading a pipe —
        no prompt, no echo, stderr apart, each line run as it arrives."""
        import asyncio

        process.stdout.write(self.ctx.motd())  # pam_motd prints it for any session with a shell
        by_line = getattr(shell, "run_script_line", None)
        status = 0
        while True:
            try:
                async with asyncio.timeout(self.ctx.cfg.limits.idle_timeout):
                    line = await process.stdin.readline()
            except (asyncssh.BreakReceived, asyncssh.SignalReceived, asyncssh.TerminalSizeChanged):
                continue
            except TimeoutError:
                break
            if line == "":
                end = getattr(shell, "end_script", None)
                if end is not None:
                    status = self._write_result(process, await end())
                break
            result = await (by_line(line) if by_line is not None else shell.run_line(line.rstrip("\n")))
            status = self._write_result(process, result)
            if result.exit:
                break
        return status

    @staticmethod
    def _write_result(process: asyncssh.SSHServerProcess[str], result: Any) -> int:
        chunks = getattr(result, "chunks", None) or [(1, result.output)]
        for fd, text in chunks:
            if text:
                (process.stderr if fd == 2 else process.stdout).write(text)
        return int(result.status)
