# SPDX-License-Identifier: MIT
"""The SSH trap: asyncssh dressed as Debian 12's OpenSSH 9.2p1.

Events (Cowrie's ids): ``session.connect``, ``client.version``, ``client.kex``
(with HASSH computed as Cowrie does: md5 of the client's
``kex;ciphers;macs;compression`` lists), ``login.success``/``login.failed``,
``client.fingerprint`` (public keys offered), ``client.size``, ``client.var``,
``session.params``, ``command.input``, ``direct-tcpip.request`` (logged,
refused as sshd refuses an unreachable target), ``session.file_upload``
(SFTP/SCP, captured by :mod:`honeyfarm.sensor.traps.ssh.sftp`), ``log.closed`` and
``session.closed`` with the duration.

Caps are checked in ``connection_made`` before asyncssh does any work, so a
flood costs a socket accept and a close per connection, not a key exchange:
sshd's MaxStartups early drop, then the flood guards
(:mod:`honeyfarm.sensor.traps.ssh.startups`). What the connection says on the wire is
sshd's (:mod:`honeyfarm.sensor.traps.ssh.wire`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
import struct
from typing import Any, cast

import asyncssh
from asyncssh.connection import SSHServerConnection, SSHServerConnectionOptions
from asyncssh.constants import MSG_KEXINIT, MSG_USERAUTH_REQUEST
from asyncssh.packet import PacketDecodeError, SSHPacket

from honeyfarm.sensor.context import SensorContext, SessionContext
from honeyfarm.sensor.events import SessionLog
from honeyfarm.sensor.traps.ssh.openssh import (
    PROFILES,
    ProfiledServerConnection,
    auth_failure_delay,
    banner_delay,
    options_kwargs,
)
from honeyfarm.sensor.traps.ssh.session import ChannelRequests, SessionRunner
from honeyfarm.sensor.traps.ssh.startups import SSHAdmission
from honeyfarm.sensor.traps.ssh.wire import SshdWireConnection


def hassh_from_kexinit(payload: bytes) -> tuple[str, dict[str, str]] | None:
    """HASSH and the client's lists from its raw KEXINIT payload (``None`` if malformed)."""
    try:
        off = 1 + 16 if payload[:1] == b"\x14" else 16
        names: list[str] = []
        for _ in range(10):
            (n,) = struct.unpack_from(">I", payload, off)
            off += 4
            if n > 65536 or off + n > len(payload):
                return None
            names.append(payload[off : off + n].decode("ascii", "replace"))
            off += n
    except struct.error:
        return None
    kex, hostkey, enc, _, mac, _, comp, _, lang, _ = names
    hassh = hashlib.md5(f"{kex};{enc};{mac};{comp}".encode(), usedforsecurity=False).hexdigest()
    return hassh, {"kex_algs": kex, "key_algs": hostkey, "enc_cs": enc, "mac_cs": mac, "comp_cs": comp, "lang_cs": lang}


def _password_request(payload: bytes) -> tuple[str, str] | None:
    """(username, password) of a USERAUTH_REQUEST for the password method, else None."""
    try:
        pkt = SSHPacket(payload)
        user = pkt.get_string()
        pkt.get_string()  # service
        if pkt.get_string() != b"password" or pkt.get_boolean():  # password change: not a plain attempt
            return None
        password = pkt.get_string()
    except PacketDecodeError:
        return None
    return user.decode("utf-8", "backslashreplace"), password.decode("utf-8", "backslashreplace")


class TrapConnection(ProfiledServerConnection):
    """One TCP connection: caps first, then the profiled SSH server."""

    trap: SSHTrap

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername") or ("?", 0)
        self._honey_ip = str(peer[0])
        self._honey_started = False
        self._honey_startup = True  # unauthenticated: counts toward MaxStartups
        self._honey_admitted = self.trap.admission.admit(self._honey_ip)
        tr = cast(asyncio.Transport, transport)
        if not self._honey_admitted:
            # sshd's MaxStartups drop: closed before the banner, without a word.
            tr.abort()
            return
        # sshd forks and re-executes itself before it says a word (~8 ms here); an instant
        # banner is a timing tell. Reading waits too, so nothing arrives before the SSH layer exists.
        tr.pause_reading()
        self._honey_start = self._loop.call_later(banner_delay(self.trap.banner_delay), self._honey_begin, tr)

    def _honey_begin(self, transport: asyncio.Transport) -> None:
        if transport.is_closing():
            return
        self._honey_started = True
        super().connection_made(transport)
        transport.resume_reading()

    def connection_lost(self, exc: Exception | None = None) -> None:
        if not getattr(self, "_honey_admitted", False):
            return
        self._honey_admitted = False
        self.trap.admission.release(self._honey_ip, self._honey_startup)
        if not self._honey_started:  # gone before the banner: no SSH state to tear down
            self._honey_start.cancel()
            return
        super().connection_lost(exc)

    async def _honey_kexinit(self, pkttype: int, pktid: int, packet: Any) -> None:
        first = not getattr(self, "_honey_kex_seen", False)
        await SSHServerConnection._process_kexinit(self, pkttype, pktid, packet)
        if first:
            self._honey_kex_seen = True
            owner = self._owner
            if isinstance(owner, HoneySSHServer):
                owner.on_kexinit(self._client_kexinit or b"")

    def _honey_userauth(self, pkttype: int, pktid: int, packet: Any) -> Any:
        # asyncssh checks a password in a task that is cancelled if the client hangs up first
        # (hydra does, mid-attempt, once it has a hit). Note the attempt when it arrives, so
        # connection_lost can still log one that was never answered.
        owner = self._owner
        if isinstance(owner, HoneySSHServer):
            owner.note_password(_password_request(packet.get_remaining_payload()))
        return SshdWireConnection._process_userauth_request(self, pkttype, pktid, packet)

    def sshd_count_failure(self) -> bool:
        owner = self._owner
        if not isinstance(owner, HoneySSHServer):
            return False
        owner._count_failure()
        return owner.failures >= self.trap.max_auth_tries

    def honey_authenticated(self) -> None:
        if self._honey_startup and self._honey_admitted:
            self._honey_startup = False
            self.trap.admission.authenticated()

    # asyncssh dispatches packets through a class-level table, not by method lookup.
    _packet_handlers = {  # noqa: RUF012
        **SshdWireConnection._packet_handlers,
        MSG_KEXINIT: _honey_kexinit,
        MSG_USERAUTH_REQUEST: _honey_userauth,
    }


class HoneySSHServer(ChannelRequests, asyncssh.SSHServer):
    def __init__(self, trap: SSHTrap) -> None:
        self.trap = trap
        self.ctx = trap.ctx
        self.conn: SSHServerConnection | None = None
        self.log: SessionLog | None = None
        self.version_logged = False
        self.failures = 0
        self.session: SessionContext | None = None
        self._username = ""
        self._password: str | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._pending: tuple[str, str] | None = None  # password attempt received, not yet logged

    # --- connection ---------------------------------------------------------
    def connection_made(self, conn: SSHServerConnection) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername") or ("?", 0)
        local = conn.get_extra_info("sockname") or ("?", 0)
        self.log = SessionLog(self.ctx.events, "ssh", (str(peer[0]), int(peer[1])), (str(local[0]), int(local[1])))
        self.log.emit("cowrie.session.connect")
        self.trap.servers[conn] = self
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.ctx.cfg.limits.session_timeout, conn.close)

    def _log_version(self) -> None:
        if self.version_logged or self.conn is None or self.log is None:
            return
        version = self.conn.get_extra_info("client_version")
        if version:
            self.version_logged = True
            self.log.emit("cowrie.client.version", client_version=str(version))

    def on_kexinit(self, payload: bytes) -> None:
        self._log_version()
        parsed = hassh_from_kexinit(payload)
        if parsed and self.log is not None:
            hassh, lists = parsed
            self.log.emit("cowrie.client.kex", hassh=hassh, **lists)

    def note_password(self, attempt: tuple[str, str] | None) -> None:
        self._flush_pending()
        self._pending = attempt

    def _flush_pending(self, **extra: Any) -> None:
        if self._pending is not None and self.log is not None:
            username, password = self._pending
            self.log.emit("cowrie.login.failed", username=username, password=password, **extra)
        self._pending = None

    def connection_lost(self, exc: Exception | None) -> None:
        self._log_version()
        # An attempt the client did not wait for: it was made, so it is logged.
        self._flush_pending(interrupted=True)
        if self._timer is not None:
            self._timer.cancel()
        if self.conn is not None:
            self.trap.servers.pop(self.conn, None)
        if self.log is not None:
            self.log.emit("cowrie.session.closed", duration=round(self.log.elapsed, 6))

    # --- authentication -----------------------------------------------------
    def begin_auth(self, username: str) -> bool:
        self._log_version()
        return True

    def password_auth_supported(self) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def kbdint_auth_supported(self) -> bool:
        return False  # Debian's sshd_config: KbdInteractiveAuthentication no

    def _count_failure(self) -> None:
        self.failures += 1
        if self.failures >= self.trap.max_auth_tries and self.conn is not None:
            self.conn.disconnect(asyncssh.DISC_PROTOCOL_ERROR, "Too many authentication failures")

    async def validate_password(self, username: str, password: str) -> bool:
        assert self.log is not None
        self._pending = None  # logged here, with its outcome
        loop, policy = asyncio.get_running_loop(), self.ctx.policy
        start = loop.time()
        ok = policy.check(self.log.src_ip, username, password)
        # As sshd + pam_unix: the hash (~40 ms for an account), and for a failure PAM's delay rounded
        # up to the user's own grid (honeyfarm.sensor.authtiming), counted from the request.
        pam = 0.0 if ok else auth_failure_delay(self.trap.fail_delay)
        reply_at = start + policy.timing.reply_after(username, policy.exists(username), ok, pam, loop.time() - start)
        if ok:
            self.log.emit("cowrie.login.success", username=username, password=password)
            self._username, self._password = username, password
            await asyncio.sleep(max(0.0, reply_at - loop.time()))
            return True
        # Logged before the delay: a client that hangs up while waiting (hydra after a hit) still tried it.
        self.log.emit("cowrie.login.failed", username=username, password=password)
        await asyncio.sleep(max(0.0, reply_at - loop.time()))
        self._count_failure()
        return False

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        assert self.log is not None
        start = asyncio.get_running_loop().time()
        self.log.emit(
            "cowrie.client.fingerprint",
            username=username,
            fingerprint=key.get_fingerprint("sha256"),
            key_type=key.get_algorithm(),
            md5=key.get_fingerprint("md5"),
        )
        # sshd holds every failed method but `none` to the user's minimum (auth2.c ensure_minimum_time_since).
        elapsed = asyncio.get_running_loop().time() - start
        await asyncio.sleep(max(0.0, self.ctx.policy.timing.failure_wait(username, elapsed) - elapsed))
        self._count_failure()
        return False

    def auth_completed(self) -> None:
        assert self.log is not None
        account = self.ctx.accounts.account(self._username)
        self.session = SessionContext(self.ctx, self.log, account)
        if isinstance(self.conn, TrapConnection):
            self.conn.honey_authenticated()


class SSHTrap(SessionRunner):
    def __init__(self, ctx: SensorContext, host_keys: list[asyncssh.SSHKey]) -> None:
        self.ctx = ctx
        cfg = ctx.cfg.ssh
        self.profile = PROFILES[cfg.profile]
        self.host_keys = host_keys
        self.fail_delay = cfg.auth_fail_delay
        self.banner_delay = cfg.banner_delay
        self.max_auth_tries = cfg.max_auth_tries
        self.admission = SSHAdmission(ctx.limiter, cfg.max_startups, cfg.max_per_ip)
        self.servers: dict[SSHServerConnection, HoneySSHServer] = {}
        self._servers: list[asyncio.AbstractServer] = []
        self.options: SSHServerConnectionOptions | None = None

    def session_of(self, conn: SSHServerConnection) -> SessionContext | None:
        """The logged-in session of a connection (for SFTP, which knows only its channel)."""
        server = self.servers.get(conn)
        return server.session if server is not None else None

    async def _options(self) -> SSHServerConnectionOptions:
        cfg = self.ctx.cfg
        kwargs: dict[str, Any] = dict(
            server_factory=lambda: HoneySSHServer(self),
            server_host_keys=self.host_keys,
            server_version=cfg.ssh.version[len("SSH-2.0-") :],
            login_timeout=cfg.ssh.login_grace_time,
            encoding="utf-8",
            errors="replace",
            max_line_length=cfg.limits.max_line_bytes,
            agent_forwarding=False,
            x11_forwarding=False,
            allow_pty=True,
            keepalive_interval=0,
            send_server_host_keys=True,  # sshd sends hostkeys-00@openssh.com after login
            **options_kwargs(self.profile),
        )
        # Sessions open through ChannelRequests.session_requested (ssh_session.py), which runs exec, shell,
        # SFTP and SCP itself: asyncssh's process_factory would decode stdin and accept any subsystem.
        options: SSHServerConnectionOptions = await SSHServerConnectionOptions.construct(None, **kwargs)
        return options

    async def start(self, socks: list[socket.socket]) -> None:
        loop = asyncio.get_running_loop()
        self.options = options = await self._options()
        trap = self

        class _Conn(TrapConnection):
            pass

        _Conn.trap = trap
        _Conn.profile = self.profile

        def factory() -> _Conn:
            return _Conn(loop, options, None, None, None)

        for sock in socks:
            self._servers.append(await loop.create_server(factory, sock=sock, backlog=1024))

    async def close(self) -> None:
        for srv in self._servers:
            srv.close()
        for conn in list(self.servers):
            conn.close()
        for srv in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(srv.wait_closed(), 2)
