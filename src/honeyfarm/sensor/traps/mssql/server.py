# SPDX-License-Identifier: MIT
"""The MSSQL trap: a SQL Server 2019 default instance over TDS, as clients and scanners see it.

One :class:`Session` per connection: PRELOGIN (answered like 2019: VERSION, ENCRYPTION =
not supported, INSTOPT, THREADID), then a LOGIN7 (or a TDS 4.2 login, or an NTLM exchange)
whose credentials are logged and, by default, refused with error 18456. With
``accept_logins = "policy"`` an accepted client may send SQL batches and RPCs: each is logged
(``mssql.command.input``), answered by :mod:`.answers`, and the ``xp_cmdshell``/``sp_OAMethod``
command lines in it handed to the payload extractor (URLs are fetched into the content store).
"""

from __future__ import annotations

import asyncio
import random
import ssl
import struct
from collections.abc import Awaitable, Callable
from typing import Any

from honeyfarm.sensor.capture.origin import capture_payload
from honeyfarm.sensor.context import SensorContext
from honeyfarm.sensor.traps.mssql import ntlm
from honeyfarm.sensor.traps.mssql.answers import DATABASES, Facts, Server
from honeyfarm.sensor.traps.mssql.config import MSSQLConfig
from honeyfarm.sensor.traps.mssql.login import Login, parse_legacy_login, parse_login7
from honeyfarm.sensor.traps.mssql.rpc import batch_text, parse_rpc, skip_headers
from honeyfarm.sensor.traps.mssql.tds import (
    ATTENTION,
    DONE_ATTN,
    DONE_ERROR,
    ENCRYPT_NOT_SUP,
    ENCRYPT_OFF,
    ENCRYPT_ON,
    ENCRYPTION_NAMES,
    ENV_LANGUAGE,
    ENV_PACKETSIZE,
    LOGIN7,
    PL_ENCRYPTION,
    PL_INSTOPT,
    PL_MARS,
    PL_THREADID,
    PL_VERSION,
    PRE_TDS7_LOGIN,
    PRELOGIN,
    RPC,
    SQL_BATCH,
    SSPI,
    TOK_ENVCHANGE,
    TOK_FEATUREEXTACK,
    TRANSACTION_MANAGER,
    Message,
    ReadExactly,
    Tokens,
    packets,
    prelogin_options,
    prelogin_reply,
    read_message,
)
from honeyfarm.sensor.traps.mssql.tls import TLSChannel, make_context
from honeyfarm.sensor.traps.stream import Closed, Conn, Malformed, StreamTrap

MAX_ENGINE_CHARS = 32 * 1024  # of a batch interpreted for answers and command lines (~0.1 s worst case)
DEFAULT_PACKET = 4096
FEATURE_UTF8 = 0x0A


def ack_version(tds: int) -> int:
    """The TDS version SQL Server 2019 acknowledges for a client's LOGIN7 TDSVersion."""
    high = tds >> 24
    if high >= 0x74 or tds == 0x08000000:
        return 0x74000004
    if high == 0x73:
        return tds if tds in (0x730A0003, 0x730B0003) else 0x730B0003
    if high == 0x72:
        return 0x72090002
    if high == 0x71:
        return 0x71000001
    return 0x07000000


def answer_encryption(setting: str, client: int) -> int:
    """PRELOGIN ENCRYPTION answer ([MS-TDS] 2.2.6.5): a server with a certificate that does not
    force encryption answers OFF to OFF, ON to ON or REQ, NOT_SUP to NOT_SUP."""
    if setting != "supported" or client == ENCRYPT_NOT_SUP or client > 3:
        return ENCRYPT_NOT_SUP
    return ENCRYPT_OFF if client == ENCRYPT_OFF else ENCRYPT_ON


class MSSQLTrap(StreamTrap):
    protocol = "mssql"

    def __init__(self, ctx: SensorContext) -> None:
        cfg: MSSQLConfig = ctx.cfg.mssql
        super().__init__(ctx, cfg)
        self.mcfg = cfg
        major, minor, build, rev = (int(x) for x in cfg.version.split("."))
        self.version = (major, minor, build, rev)
        self.server = (cfg.server_name or ctx.cfg.persona.hostname.split(".")[0]).upper()[:15]
        self.banner = (
            f"Microsoft SQL Server 2019 ({cfg.product_level}) - {cfg.version} (X64) \n\t{cfg.build_date} \n\t"
            f"Copyright (C) 2019 Microsoft Corporation\n\t{cfg.edition} on {cfg.os_banner}\n"
        )
        self._tls: ssl.SSLContext | None = None
        self._tls_lock = asyncio.Lock()

    async def serve(self, conn: Conn) -> None:
        await Session(self, conn).run()

    async def tls_context(self) -> ssl.SSLContext:
        """The fallback certificate, made when the first client asks for TLS (RSA key generation
        in a worker thread, once)."""
        async with self._tls_lock:
            if self._tls is None:
                self._tls = await asyncio.to_thread(make_context, self.ctx.spool_dir / "state" / "mssql")
            return self._tls


class Session:
    def __init__(self, trap: MSSQLTrap, conn: Conn) -> None:
        self.trap = trap
        self.cfg = trap.mcfg
        self.conn = conn
        self.spid = random.randint(51, 120)  # user sessions start at 51
        self.packet_size = DEFAULT_PACKET
        self.batches = 0
        self.tds72 = True
        self.encryption = ENCRYPT_NOT_SUP  # what the PRELOGIN answer said
        self.tls: TLSChannel | None = None
        self.reader: ReadExactly = conn.read_exactly
        self.writer: Callable[[bytes], Awaitable[None]] = conn.write

    async def read(self) -> Message:
        return await read_message(self.reader, self.cfg.max_packet_bytes, self.cfg.max_message_bytes)

    async def send(self, payload: bytes, spid: int | None = None) -> None:
        await self.writer(packets(payload, self.packet_size, self.spid if spid is None else spid))

    async def run(self) -> None:
        try:
            async with asyncio.timeout(self.cfg.login_timeout):
                login = await self.handshake()
        except TimeoutError:
            raise Closed("login timeout") from None
        if login is None:
            return
        self.conn.reason = "client closed"
        await self.commands(login)

    # --- before login ---------------------------------------------------------------------------
    async def handshake(self) -> Login | None:
        prelogin_seen = False
        while True:
            msg = await self.read()
            if msg.type == PRELOGIN and not prelogin_seen:
                prelogin_seen = True
                await self.prelogin(msg.payload)
            elif msg.type == PRELOGIN and self.tls is None and self.encryption in (ENCRYPT_OFF, ENCRYPT_ON):
                await self.start_tls(msg.payload)
            elif msg.type == LOGIN7:
                if self.tls is not None and self.encryption == ENCRYPT_OFF:
                    self.reader, self.writer = self.conn.read_exactly, self.conn.write  # login-only encryption
                login = parse_login7(msg.payload)
                if login.integrated and ntlm.is_ntlm(login.sspi, 1):
                    await self.integrated(login)
                    return None
                return await self.decide(login)
            elif msg.type == PRE_TDS7_LOGIN:
                self.tds72 = False
                return await self.decide(parse_legacy_login(msg.payload))
            elif msg.type == ATTENTION:
                continue
            else:
                raise Malformed(f"TDS message 0x{msg.type:02x} before login")

    async def prelogin(self, payload: bytes) -> None:
        opts = prelogin_options(payload)
        extra: dict[str, Any] = {}
        version = opts.get(PL_VERSION, b"")
        if len(version) >= 6:
            major, minor, build, sub = struct.unpack_from(">BBHH", version)
            extra["client_version"] = f"{major}.{minor}.{build}.{sub}"
        if opts.get(PL_ENCRYPTION):
            enc = opts[PL_ENCRYPTION][0]
            extra["encryption"] = ENCRYPTION_NAMES.get(enc, str(enc))
        if PL_INSTOPT in opts:
            extra["instance"] = opts[PL_INSTOPT].split(b"\x00", 1)[0][:64].decode("latin-1")
        if len(opts.get(PL_THREADID, b"")) == 4:
            extra["thread_id"] = struct.unpack("<I", opts[PL_THREADID])[0]
        if opts.get(PL_MARS):
            extra["mars"] = bool(opts[PL_MARS][0])
        extra["options"] = sorted(opts)
        self.conn.log.emit("mssql.prelogin.received", extra=extra)
        # the high bit is ENCRYPT_CLIENT_CERT, a flag on top of the value
        client = opts[PL_ENCRYPTION][0] & 0x7F if opts.get(PL_ENCRYPTION) else ENCRYPT_NOT_SUP
        self.encryption = answer_encryption(self.cfg.encryption, client)
        reply = prelogin_reply(self.trap.version, self.encryption, opts)
        await self.send(reply, spid=0)

    async def start_tls(self, first: bytes) -> None:
        """The TLS handshake in PRELOGIN packets; then the LOGIN7 (and, with ENCRYPT_ON, all else)
        comes as TLS records. A client that skips it and sends a plain LOGIN7 is still read (a
        real server would fail on it): the credentials are the point."""
        if not first or first[0] != 0x16:  # a TLS handshake record
            raise Malformed("second PRELOGIN is not a TLS handshake")
        self.tls = TLSChannel(await self.trap.tls_context(), self.conn)
        await self.tls.handshake(self.conn.read_exactly, self.cfg.max_packet_bytes, first)
        self.conn.extra["tls"] = self.tls.version
        self.reader = self.tls.read_exactly
        if self.encryption == ENCRYPT_ON:
            self.writer = self.tls.write

    def facts(self, login: Login) -> Facts:
        cfg = self.cfg
        return Facts(
            cfg.version,
            cfg.product_level,
            cfg.edition,
            self.trap.server,
            self.trap.banner,
            user=login.username,
            client_host=login.hostname,
            spid=self.spid,
        )

    async def decide(self, login: Login) -> Login | None:
        self.conn.fields["username"] = login.username
        if not login.legacy and 512 <= login.packet_size <= 32767:
            self.packet_size = login.packet_size
        ack = 0 if login.legacy else ack_version(login.tds_version)
        self.tds72 = ack >= 0x72000000
        tok = Tokens(self.trap.server, self.tds72)
        ok = self.cfg.accept_logins == "policy" and bool(login.username)
        ok = ok and self.trap.ctx.policy.check(self.conn.log.src_ip, login.username, login.password)
        db = login.database or "master"
        known_db = next((d for d in DATABASES if d.lower() == db.lower()), None)
        failure = b""
        if ok and known_db is None:
            ok = False
            text = f'Cannot open database "{db[:128]}" requested by the login. The login failed.'
            failure = tok.error(4060, 1, 11, text)
        extra = login.fields()
        if self.tls is not None:
            extra["tls"] = {"version": self.tls.version, "cipher": self.tls.cipher}
        fields = {"username": login.username, "password": login.password, "client_version": login.app_name}
        if not ok:
            self.conn.log.emit("mssql.login.failed", **fields, extra=extra)
            failure += tok.error(18456, 1, 14, f"Login failed for user '{login.username}'.")
            await self.send(failure + tok.done(DONE_ERROR))
            self.conn.reason = "login failed"
            return None
        self.conn.log.emit("mssql.login.success", **fields, extra=extra)
        assert known_db is not None
        out = tok.envchange(1, known_db, "master")
        out += tok.info(5701, 2, f"Changed database context to '{known_db}'.")
        if ack >= 0x71000000:
            out += tok.collation()
        out += tok.envchange(ENV_LANGUAGE, "us_english", "")
        out += tok.info(5703, 1, "Changed language setting to us_english.")
        out += tok.loginack(ack if not login.legacy else 0x74000004, self.trap.version)
        if login.features and ack >= 0x74000004:
            ack_body = bytes([FEATURE_UTF8]) + struct.pack("<I", 1) + b"\x01" if FEATURE_UTF8 in login.features else b""
            out += bytes([TOK_FEATUREEXTACK]) + ack_body + b"\xff"
        size = str(self.packet_size)
        out += tok.envchange(ENV_PACKETSIZE, size, size) + tok.done()
        await self.send(out)
        login.database = known_db
        return login

    async def integrated(self, login: Login) -> None:
        """NTLM: the CHALLENGE in an SSPI token, the AUTHENTICATE logged, then error 18452."""
        message, server_challenge = ntlm.challenge(self.trap.server)
        tok = Tokens(self.trap.server, True)
        await self.send(tok.sspi(message))
        try:
            msg = await self.read()
        except Closed as e:  # nmap's ms-sql-ntlm-info reads the challenge and leaves
            raise Closed(f"ntlm challenge sent; {e.reason}") from None
        if msg.type != SSPI:
            raise Malformed(f"TDS message 0x{msg.type:02x} instead of SSPI")
        auth = ntlm.parse_authenticate(msg.payload)
        extra = {**login.fields(), **auth.fields(server_challenge)}
        self.conn.fields["username"] = auth.user
        self.conn.log.emit("mssql.login.failed", username=auth.user, client_version=login.app_name, extra=extra)
        text = "Login failed. The login is from an untrusted domain and cannot be used with Integrated authentication."
        await self.send(tok.error(18452, 1, 14, text) + tok.done(DONE_ERROR))
        self.conn.reason = "login failed"

    # --- after login ----------------------------------------------------------------------------
    async def commands(self, login: Login) -> None:
        tok = Tokens(self.trap.server, self.tds72)
        server = Server(self.facts(login), tok, self.cfg.xp_cmdshell)
        server.database = login.database
        while True:
            msg = await self.read()
            if msg.type == ATTENTION:
                await self.send(tok.done(DONE_ATTN))
                continue
            if msg.type == TRANSACTION_MANAGER:
                await self.send(self.transaction(msg.payload, tok))
                continue
            if msg.type not in (SQL_BATCH, RPC):
                if msg.type in (LOGIN7, PRELOGIN, PRE_TDS7_LOGIN):
                    raise Malformed(f"TDS message 0x{msg.type:02x} after login")
                await self.send(tok.done())
                continue
            self.batches += 1
            self.conn.extra["batches"] = self.batches
            if self.batches > self.cfg.max_batches:
                raise Closed("batch limit")
            if msg.type == SQL_BATCH:
                text = batch_text(msg.payload, self.tds72, MAX_ENGINE_CHARS)
                logged, kind, sql, rpc = text, "batch", text, False
                params: dict[str, str] = {}
            else:
                call = parse_rpc(msg.payload, self.tds72)
                logged, kind, rpc = call.render(), "rpc", True
                params = {n: str(v) for n, v in call.params if n.startswith("@") and isinstance(v, str | int)}
                sql = call.statement or (logged if call.proc.startswith(("xp_", "sp_o", "sp_configure")) else "")
            result = server.run(sql, params)
            await self.send(server.tokens(result, rpc=rpc))
            self.log_command(logged, kind, result.shell)

    def log_command(self, text: str, kind: str, shell: list[str]) -> None:
        ctx, log = self.trap.ctx, self.conn.log
        urls: list[str] = []
        for line in shell:
            urls += [u for u in capture_payload(ctx, log, line, trap="mssql", request="xp_cmdshell") if u not in urls]
        urls += [u for u in capture_payload(ctx, log, text, trap="mssql", plain_urls=False) if u not in urls]
        extra: dict[str, Any] = {"kind": kind}
        if shell:
            extra["shell"] = shell
        if urls:
            extra["urls"] = urls
        log.emit("mssql.command.input", command=text[: self.cfg.max_logged_sql], extra=extra)

    def transaction(self, payload: bytes, tok: Tokens) -> bytes:
        """Transaction manager requests (python-tds sends BEGIN without autocommit): begin, commit,
        rollback acknowledged with the ENVCHANGE a real server sends."""
        body = skip_headers(payload, self.tds72)
        kind = struct.unpack_from("<H", body)[0] if len(body) >= 2 else 0
        descriptor = struct.pack("<Q", self.spid << 32 | self.batches + 1)
        env = {5: (8, descriptor, b""), 7: (9, b"", descriptor), 8: (10, b"", descriptor)}.get(kind)
        if env is None:
            return tok.done()
        code, new, old = env
        body_env = bytes([code, len(new)]) + new + bytes([len(old)]) + old
        return bytes([TOK_ENVCHANGE]) + struct.pack("<H", len(body_env)) + body_env + tok.done()
