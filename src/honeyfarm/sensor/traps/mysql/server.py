# SPDX-License-Identifier: MIT
"""The MySQL trap: Debian 12's MariaDB 10.11 greeting, the login, and the commands after it.

Per connection (:class:`MySQLSession`): the greeting (:func:`.packets.greeting`, a fresh
printable scramble, an increasing thread id), the client's HandshakeResponse, an optional
AuthSwitchRequest (to ``mysql_native_password`` for clients that began with another plugin, as
MariaDB does; or to ``mysql_clear_password`` when ``clear_password_switch`` is set, to learn the
plaintext), then ``mysql.login.success``/``.failed`` and MariaDB's OK or error 1045. After a
login every command is logged (``mysql.command.input``) and answered by :mod:`.queries`;
``INTO DUMPFILE/OUTFILE`` blobs go to the content store (``mysql.session.file_upload``) and URLs in
queries to the payload downloader.
"""

from __future__ import annotations

import hashlib
import ipaddress
import posixpath
import random
import time
import zlib

from honeyfarm.sensor.capture.origin import capture_payload
from honeyfarm.sensor.context import SensorContext
from honeyfarm.sensor.traps.mysql import packets as P
from honeyfarm.sensor.traps.mysql import queries
from honeyfarm.sensor.traps.mysql.config import MySQLConfig
from honeyfarm.sensor.traps.mysql.sqlexpr import evaluate, split_top
from honeyfarm.sensor.traps.stream import Closed, Conn, Malformed, StreamTrap

COMMANDS = {
    0x01: "COM_QUIT",
    0x02: "COM_INIT_DB",
    0x03: "COM_QUERY",
    0x04: "COM_FIELD_LIST",
    0x09: "COM_STATISTICS",
    0x0E: "COM_PING",
    0x11: "COM_CHANGE_USER",
    0x16: "COM_STMT_PREPARE",
    0x17: "COM_STMT_EXECUTE",
    0x1F: "COM_RESET_CONNECTION",
}
BAD_HANDSHAKE = P.err(1043, "08S01", "Bad handshake")
OLD_CLIENT = (  # error 1251 without a sqlstate: a pre-4.1 client knows none
    b"\xff\xe3\x04Client does not support authentication protocol requested by server; "
    b"consider upgrading MariaDB client"
)
MAX_TABLES = 32  # tables remembered per connection (INSERTed rows a SELECT ... INTO DUMPFILE may read)
MAX_PLUGINS = 64  # library names written per connection (CREATE FUNCTION ... SONAME finds them)


def _text(raw: bytes, limit: int = 256) -> str:
    return raw[:limit].decode("utf-8", "backslashreplace")


class MySQLSession:
    """One connection's login and server state (user variables, tables, UDFs it made)."""

    def __init__(self, trap: MySQLTrap, conn: Conn) -> None:
        self.trap = trap
        self.conn = conn
        self.cfg = trap.cfg
        ip = conn.log.src_ip
        try:
            loopback = ipaddress.ip_address(ip).is_loopback
        except ValueError:
            loopback = False
        self.host = "localhost" if loopback else ip  # MariaDB names a loopback client 'localhost'
        self.caps = P.SERVER_CAPS
        self.ext_caps = 0
        self.user = ""
        self.db: str | None = None
        self.status = P.STATUS_AUTOCOMMIT
        self.charset = P.CHARSET_UTF8MB4_GENERAL_CI  # character_set_results: result columns' charset
        self.variables: dict[str, bytes] = {}
        self.var_bytes = 0
        self.tables: dict[str, bytes] = {}
        self.functions: dict[str, str] = {}
        self.plugins: set[str] = set()
        self.written: set[str] = set()
        self.created_dbs: set[str] = set()
        self.uploads = 0
        self.logins = 0
        self.queries = 0
        self.seq = 0
        self.compress = False  # CLIENT_COMPRESS agreed: packets travel inside compressed packets
        self.cseq = 0
        self.inflated = bytearray()

    # --- packets ------------------------------------------------------------------------------

    async def read(self) -> tuple[int, bytes]:
        head = await self._stream(4)
        n = int.from_bytes(head[:3], "little")
        if n > self.cfg.max_packet_bytes:
            await self.send(P.err(1153, "08S01", "Got a packet bigger than 'max_allowed_packet' bytes"), head[3] + 1)
            raise Malformed(f"packet of {n} bytes over max_packet_bytes")
        return head[3], await self._stream(n)

    async def _stream(self, n: int) -> bytes:
        """``n`` bytes of the packet stream: the socket's, or inflated from compressed packets."""
        limit = self.cfg.max_packet_bytes + 4
        if not self.compress:
            return await self.conn.read_exactly(n, limit)
        while len(self.inflated) < n:
            head = await self.conn.read_exactly(7, 7)
            size, self.cseq, plain = int.from_bytes(head[:3], "little"), head[3] + 1, int.from_bytes(head[4:], "little")
            payload = await self.conn.read_exactly(size, limit)
            if plain:
                if plain > limit:
                    raise Malformed(f"compressed packet of {plain} bytes over max_packet_bytes")
                try:
                    payload = zlib.decompressobj().decompress(payload, plain)  # never inflates past `plain`
                except zlib.error:
                    raise Malformed("bad zlib data") from None
                if len(payload) != plain:
                    raise Malformed("compressed packet shorter than announced")
            self.inflated += payload
            if len(self.inflated) > 2 * limit:
                raise Malformed("compressed stream ahead of its packets")
        out = bytes(self.inflated[:n])
        del self.inflated[:n]
        return out

    async def send(self, body: bytes, seq: int | None = None) -> None:
        await self.send_all([body], seq)

    async def send_all(self, bodies: list[bytes], seq: int | None = None) -> None:
        if seq is not None:
            self.seq = seq
        out = bytearray()
        for b in bodies:
            out += P.frame(self.seq, b)
            self.seq = (self.seq + 1) & 0xFF
        if self.compress:  # one compressed packet; small ones sent as they are (MIN_COMPRESS_LENGTH 50)
            plain = len(out)
            payload = zlib.compress(out) if plain >= 50 else bytes(out)
            head = len(payload).to_bytes(3, "little") + bytes([self.cseq & 0xFF])
            out = bytearray(head + (plain if plain >= 50 else 0).to_bytes(3, "little") + payload)
            self.cseq += 1
        await self.conn.write(bytes(out))

    # --- login --------------------------------------------------------------------------------

    async def handshake(self) -> bool:
        salt = P.scramble()
        await self.send(P.greeting(self.cfg.version, self.trap.next_thread_id(), salt), 0)
        seq, body = await self.read()
        if seq != 1:
            await self.send(P.err(1156, "08S01", "Got packets out of order"), 1)
            raise Malformed(f"handshake response with sequence id {seq}")
        try:
            hs = P.parse_handshake(body)
        except Malformed:
            await self.send(BAD_HANDSHAKE, 2)
            raise
        if hs.ssl_request:
            await self.send(BAD_HANDSHAKE, 2)  # what mariadbd without TLS answers an SSLRequest
            raise Closed("ssl request (tls not offered)")
        self.caps = hs.caps & P.SERVER_CAPS
        self.ext_caps = hs.ext_caps & P.SERVER_EXT_CAPS
        if P.known_charset(hs.charset):  # the client's charset is the session's (else the server's)
            self.charset = hs.charset
        if hs.protocol == 320:
            self._log_login(hs, salt, None, False, error=1251)
            await self.send(OLD_CLIENT, 2)  # MariaDB 10.11 refuses pre-4.1 clients (no sqlstate: they know none)
            raise Closed("pre-4.1 client refused")
        return await self.authenticate(hs, salt, 2)

    async def authenticate(self, hs: P.Handshake, salt: bytes, seq: int, change_user: bool = False) -> bool:
        """Switch plugins if needed, decide, answer OK or 1045; True when the login was accepted.

        COM_CHANGE_USER always gets a switch with a fresh scramble (mariadbd's answer to it)."""
        self.logins += 1
        self.user = _text(hs.user, 64)
        plugin = hs.plugin or P.NATIVE
        password: str | None = None
        switched = ""
        try:
            if self.cfg.clear_password_switch and hs.auth:
                switched = P.CLEAR
                await self.send(P.auth_switch(P.CLEAR, b""), seq)
                _, reply = await self.read()
                password = reply.split(b"\0", 1)[0].decode("utf-8", "backslashreplace")[:256]
                seq += 2
            elif plugin != P.NATIVE or change_user:
                switched = P.NATIVE
                salt = P.scramble()
                await self.send(P.auth_switch(P.NATIVE, salt + b"\0"), seq)
                _, hs.auth = await self.read()
                hs.auth = hs.auth[:256]
                seq += 2
        except Closed as e:
            self._log_login(hs, salt, None, False, switched=switched, reason=f"switch: {e.reason}")
            raise
        if not hs.auth:
            password = ""  # an empty password is the one plaintext every client sends
        if password is not None:
            accepted = self.trap.ctx.policy.check(self.conn.log.src_ip, self.user, password)
        else:
            accepted = self.cfg.accept_logins
        self._log_login(hs, salt, password, accepted, switched=switched)
        if not accepted:
            using = "YES" if hs.auth else "NO"
            msg = f"Access denied for user '{self.user}'@'{self.host}' (using password: {using})"
            await self.send(P.err(1045, "28000", msg), seq)
            return False
        self.conn.fields["username"] = self.user
        answer = self.use(_text(hs.database, 64)) if hs.database else P.ok(status=self.status)
        await self.send(answer, seq)
        if answer[:1] == b"\xff":
            return False
        self.compress = bool(self.caps & P.CLIENT_COMPRESS)
        return True

    def _log_login(
        self,
        hs: P.Handshake,
        salt: bytes,
        password: str | None,
        ok: bool,
        *,
        switched: str = "",
        error: int | None = None,
        reason: str | None = None,
    ) -> None:
        attrs = hs.attrs
        client = " ".join(x for x in (attrs.get("_client_name"), attrs.get("_client_version")) if x) or None
        if client:
            self.conn.fields["client_version"] = client
        self.conn.log.emit(
            "mysql.login.success" if ok else "mysql.login.failed",
            username=_text(hs.user, 256),
            password=password,
            client_version=client,
            extra={
                "auth_plugin": hs.plugin or None,
                "auth_switch": switched or None,
                "auth_response": hs.auth.hex() if hs.auth else None,
                "salt": salt.hex(),
                "database": _text(hs.database, 256) if hs.database else None,
                "capabilities": f"0x{hs.caps:08x}",
                "ext_capabilities": f"0x{hs.ext_caps:08x}" if hs.ext_caps else None,
                "protocol": hs.protocol,
                "attrs": attrs or None,
                "error": error if error is not None else (None if ok else 1045),
                "reason": reason,
            },
        )

    # --- commands -----------------------------------------------------------------------------

    async def commands(self) -> None:
        while True:
            _seq, body = await self.read()
            if not body:
                raise Malformed("empty command packet")
            self.queries += 1
            self.conn.extra["queries"] = self.queries
            if self.queries > self.cfg.max_queries:
                raise Closed("max_queries")
            code = body[0]
            name = COMMANDS.get(code, f"0x{code:02x}")
            arg = body[1:]
            if code not in (0x01, 0x11):  # COM_CHANGE_USER is logged as a login, COM_QUIT by session.closed
                self._log_command(name, arg)
            if code == 0x01:
                raise Closed("quit")
            if code == 0x03:
                sql = arg.decode("utf-8", "surrogateescape")
                await self.send_all(queries.answer(self, sql), 1)
            elif code == 0x02:
                await self.send(self.use(_text(arg, 64)), 1)
            elif code in (0x0E, 0x1F):
                await self.send(P.ok(status=self.status), 1)
            elif code == 0x04:  # COM_FIELD_LIST of a table that has no columns here
                deprecate_eof = self.caps & P.CLIENT_DEPRECATE_EOF
                await self.send(P.ok(status=self.status, eof=True) if deprecate_eof else P.eof(self.status), 1)
            elif code == 0x09:
                up = int(time.time() - self.trap.started)
                stats = (
                    f"Uptime: {up}  Threads: 1  Questions: {self.trap.questions}  Slow queries: 0  "
                    "Opens: 33  Open tables: 26  Queries per second avg: 0.000"
                )
                await self.send(stats.encode(), 1)
            elif code == 0x11:
                if self.logins >= self.cfg.max_login_attempts:
                    raise Closed("max_login_attempts")  # hung up: no MariaDB message would say why
                try:
                    hs = P.parse_change_user(arg, self.caps)
                except Malformed:
                    await self.send(P.err(1047, "08S01", "Unknown command"), 1)
                    continue
                await self.authenticate(hs, P.scramble(), 1, change_user=True)  # refused: the old login stays
            elif code in (0x16, 0x17):
                await self.send(
                    P.err(1295, "HY000", "This command is not supported in the prepared statement protocol yet"), 1
                )
            else:
                await self.send(P.err(1047, "08S01", "Unknown command"), 1)

    def _log_command(self, name: str, arg: bytes) -> None:
        self.trap.questions += 1
        text = arg[: self.cfg.max_logged_query_bytes].decode("utf-8", "backslashreplace")
        urls = capture_payload(self.trap.ctx, self.conn.log, arg, trap="mysql") if len(arg) > 8 else []
        self.conn.log.emit("mysql.command.input", command=text, extra={"command": name, "urls": urls or None})

    # --- server state the queries change ------------------------------------------------------

    def databases(self) -> list[str]:
        return sorted({*queries.DATABASES, *self.created_dbs})

    def use(self, name: str) -> bytes:
        if name not in self.databases():
            return P.err(1049, "42000", f"Unknown database '{name}'")
        self.db = name
        return self.ok([P.track_schema(name)])

    def ok(self, changes: list[bytes]) -> bytes:
        """OK, with the session state changes when the client tracks them."""
        if changes and self.caps & P.CLIENT_SESSION_TRACK:
            return P.ok_tracked(self.status, changes)
        return P.ok(status=self.status)

    def evaluate(self, expr: str) -> bytes | None:
        return evaluate(expr, self.variables, self.cfg.max_upload_bytes)

    def set_variable(self, name: str, expr: str) -> None:
        value = self.evaluate(expr) or b""
        old = self.variables.pop(name.lower(), b"")
        self.var_bytes -= len(old)
        if self.var_bytes + len(value) <= self.cfg.max_variable_bytes and len(self.variables) < 256:
            self.variables[name.lower()] = value
            self.var_bytes += len(value)

    def remember_row(self, table: str, values: str) -> None:
        """``INSERT INTO t VALUES (0x...)``: the first value, for a later ``SELECT ... FROM t INTO DUMPFILE``."""
        first = split_top(values, max_parts=2)[0]
        value = self.evaluate(first)
        if value is not None and (table in self.tables or len(self.tables) < MAX_TABLES):
            self.var_bytes -= len(self.tables.get(table, b""))
            if self.var_bytes + len(value) <= self.cfg.max_variable_bytes:
                self.tables[table] = value
                self.var_bytes += len(value)

    def on_file(self, path: str, blob: bytes | None, how: str) -> None:
        """A query wrote a file: store the blob, log ``mysql.session.file_upload``."""
        base = posixpath.basename(path)[:255]
        if base and len(self.plugins) < MAX_PLUGINS:
            self.plugins.add(base)
        kind = _kind(path, blob)
        stored = None
        ctx = self.trap.ctx
        if blob is not None and ctx.store is not None and self.uploads < self.cfg.max_uploads:
            self.uploads += 1
            stored = ctx.store.put(blob, max_bytes=self.cfg.max_upload_bytes)
        sha = stored.sha256 if stored is not None else (hashlib.sha256(blob).hexdigest() if blob is not None else None)
        if blob is not None and kind != "udf":
            capture_payload(ctx, self.conn.log, blob, trap="mysql", request=f"INTO {how.upper()}")
        self.conn.log.emit(
            "mysql.session.file_upload",
            sha256=sha,
            extra={
                "path": path[:1024].encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace"),
                "size": len(blob) if blob is not None else None,
                "kind": kind,
                "via": how,
                "stored": stored is not None and stored.kept,
                "truncated": stored.truncated if stored is not None else None,
            },
        )

    def on_udf_call(self, name: str, args: str) -> None:
        capture_payload(
            self.trap.ctx, self.conn.log, args.encode("utf-8", "surrogateescape"), trap="mysql", request=name[:64]
        )


def _kind(path: str, blob: bytes | None) -> str:
    head = blob[:4] if blob else b""
    low = path.lower()
    if head.startswith((b"\x7fELF", b"MZ")) or low.endswith((".so", ".dll")):
        return "udf"
    text = (blob or b"")[:65536].lower()
    if low.endswith((".php", ".phtml", ".jsp", ".asp", ".aspx")) or b"<?php" in text or b"<%" in text:
        return "webshell"
    return "other"


class MySQLTrap(StreamTrap):
    protocol = "mysql"

    def __init__(self, ctx: SensorContext) -> None:
        cfg: MySQLConfig = ctx.cfg.mysql
        super().__init__(ctx, cfg)
        self.cfg: MySQLConfig = cfg
        persona = ctx.cfg.persona
        self.hostname = persona.hostname
        rng = random.Random(hashlib.sha256(f"{ctx.cfg.identity.name}|mysql".encode()).digest())
        # A server up for weeks has served many connections (monitoring, the web application).
        uptime = persona.uptime_days * 86400 * rng.uniform(0.5, 0.95)
        self.started = time.time() - uptime
        self.per_hour = rng.randint(20, 120)  # connections of the server's own clients (the web application)
        self.thread_id = int(uptime / 3600 * self.per_hour) + rng.randint(10, 99)
        self.questions = self.thread_id * rng.randint(3, 9)
        self._base = (time.monotonic(), self.thread_id)

    def next_thread_id(self) -> int:
        """One more than the last, and growing with time as a server with other clients does."""
        since, base = self._base
        self.thread_id = max(self.thread_id + 1, base + int((time.monotonic() - since) / 3600 * self.per_hour))
        return self.thread_id

    async def serve(self, conn: Conn) -> None:
        s = MySQLSession(self, conn)
        if not await s.handshake():
            raise Closed("login refused")
        await s.commands()
