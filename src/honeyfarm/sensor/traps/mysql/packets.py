# SPDX-License-Identifier: MIT
"""The MySQL wire protocol as MariaDB 10.11 speaks it: greeting, handshake response, OK/ERR, result sets.

Byte layouts were read from a real Debian 12 ``mariadbd`` 10.11 (``tests/test_trap_mysql.py``
compares the greeting and the error packets field by field with one started on loopback).
Parsing functions raise :class:`~honeyfarm.sensor.traps.stream.Malformed` on anything short or
inconsistent; every length field is checked against what is left of the packet before use.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field

from honeyfarm.sensor.traps.stream import Malformed

# Capability bits (include/mysql_com.h).
CLIENT_MYSQL = 1  # MariaDB: a MySQL client; when clear, the extended capabilities are in the filler
CLIENT_CONNECT_WITH_DB = 8
CLIENT_COMPRESS = 0x20
CLIENT_PROTOCOL_41 = 0x200
CLIENT_SSL = 0x800
CLIENT_SECURE_CONNECTION = 0x8000
CLIENT_PLUGIN_AUTH = 0x80000
CLIENT_CONNECT_ATTRS = 0x100000
CLIENT_PLUGIN_AUTH_LENENC = 0x200000
CLIENT_SESSION_TRACK = 0x800000
CLIENT_DEPRECATE_EOF = 0x1000000
MARIADB_CLIENT_EXTENDED_METADATA = 8
MARIADB_CLIENT_CACHE_METADATA = 16

# What Debian 12's mariadbd 10.11 offers without TLS configured (CLIENT_SSL clear, as in its
# default config): lower 0xf7fe, upper 0x81ff, MariaDB extended 0x1d.
SERVER_CAPS = 0x81FFF7FE
SERVER_EXT_CAPS = 0x1D
CHARSET_UTF8MB4_GENERAL_CI = 45  # character-set-server / collation-server of Debian's 50-server.cnf
CHARSET_UTF8MB3_GENERAL_CI = 33
CHARSET_BINARY = 63
# Default collation ids of the character sets clients name (SET NAMES), and bytes per character.
CHARSET_IDS = {"latin1": 8, "ascii": 11, "utf8mb3": 33, "utf8mb4": 45, "binary": 63, "latin2": 9, "cp1251": 51}
_MBMAX = {8: 1, 9: 1, 11: 1, 51: 1, 63: 1, 33: 3, 83: 3, 192: 3, 223: 3, 45: 4, 46: 4, 224: 4, 255: 4}
STATUS_AUTOCOMMIT = 0x0002
STATUS_IN_TRANS = 0x0001
STATUS_NO_INDEX_USED = 0x0020
STATUS_SESSION_STATE_CHANGED = 0x4000  # set by SHOW (a table scan), as the real answers show
NATIVE = "mysql_native_password"
CLEAR = "mysql_clear_password"
MAX_ATTRS = 32

_rng = random.SystemRandom()


def scramble() -> bytes:
    """20 bytes as MariaDB's ``create_random_string`` draws them: printable, '!' to '~'."""
    return bytes(_rng.randint(33, 126) for _ in range(20))


def wire(text: str) -> bytes:
    """Text as it goes on the wire: attacker bytes kept in a str (surrogate escapes) sent back unchanged."""
    return text.encode("utf-8", "surrogateescape")


def frame(seq: int, body: bytes) -> bytes:
    return len(body).to_bytes(3, "little") + bytes([seq & 0xFF]) + body


def lenenc_int(n: int) -> bytes:
    if n < 0xFB:
        return bytes([n])
    if n < 1 << 16:
        return b"\xfc" + n.to_bytes(2, "little")
    if n < 1 << 24:
        return b"\xfd" + n.to_bytes(3, "little")
    return b"\xfe" + n.to_bytes(8, "little")


def lenenc_str(s: bytes) -> bytes:
    return lenenc_int(len(s)) + s


def greeting(version: str, thread_id: int, salt: bytes) -> bytes:
    """Protocol::HandshakeV10 as mariadbd sends it (the ``5.5.5-`` prefix tells clients it is MariaDB)."""
    return (
        b"\x0a"
        + b"5.5.5-"
        + version.encode()
        + b"\0"
        + struct.pack("<I", thread_id & 0xFFFFFFFF)
        + salt[:8]
        + b"\0"
        + struct.pack(
            "<HBHHB", SERVER_CAPS & 0xFFFF, CHARSET_UTF8MB4_GENERAL_CI, STATUS_AUTOCOMMIT, SERVER_CAPS >> 16, 21
        )
        + b"\0" * 6
        + struct.pack("<I", SERVER_EXT_CAPS)
        + salt[8:]
        + b"\0"
        + NATIVE.encode()
        + b"\0"
    )


def ok(
    affected: int = 0, insert_id: int = 0, status: int = STATUS_AUTOCOMMIT, warnings: int = 0, eof: bool = False
) -> bytes:
    head = b"\xfe" if eof else b"\x00"
    return head + lenenc_int(affected) + lenenc_int(insert_id) + struct.pack("<HH", status, warnings)


def ok_tracked(status: int, changes: list[bytes]) -> bytes:
    """An OK that reports session state changes (CLIENT_SESSION_TRACK): ``changes`` from :func:`track_var`."""
    state = b"".join(changes)
    return b"\x00\x00\x00" + struct.pack("<HH", status | STATUS_SESSION_STATE_CHANGED, 0) + b"\x00" + lenenc_str(state)


def track_var(name: str, value: str) -> bytes:
    """SESSION_TRACK_SYSTEM_VARIABLES: one changed variable."""
    return b"\x00" + lenenc_str(lenenc_str(wire(name)) + lenenc_str(wire(value)))


def track_schema(name: str) -> bytes:
    """SESSION_TRACK_SCHEMA: the new default database."""
    return b"\x01" + lenenc_str(lenenc_str(wire(name)))


def err(code: int, state: str, message: str) -> bytes:
    return b"\xff" + struct.pack("<H", code) + b"#" + state.encode() + wire(message)


def eof(status: int = STATUS_AUTOCOMMIT) -> bytes:
    return b"\xfe" + struct.pack("<HH", 0, status)


def auth_switch(plugin: str, data: bytes) -> bytes:
    return b"\xfe" + plugin.encode() + b"\0" + data


@dataclass
class Handshake:
    """What a client's HandshakeResponse said (``protocol`` 41, or 320 for a pre-4.1 client)."""

    protocol: int
    caps: int
    ext_caps: int = 0
    charset: int = 0
    user: bytes = b""
    auth: bytes = b""
    database: bytes | None = None
    plugin: str = ""
    attrs: dict[str, str] = field(default_factory=dict)
    ssl_request: bool = False


class Reader:
    """A cursor over one packet body; every read is bounded by what is left."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    @property
    def left(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        if n < 0 or n > self.left:
            raise Malformed(f"field of {n} bytes past the end of a {len(self.data)}-byte packet")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def uint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "little")

    def cstr(self, limit: int = 4096) -> bytes:
        end = self.data.find(b"\0", self.pos, self.pos + limit + 1)
        if end < 0:
            if self.left <= limit:  # the last field may end with the packet instead of a NUL
                return self.take(self.left)
            raise Malformed("string without its terminator")
        out = self.data[self.pos : end]
        self.pos = end + 1
        return out

    def lenenc(self) -> int:
        first = self.uint(1)
        if first < 0xFB:
            return first
        if first == 0xFC:
            return self.uint(2)
        if first == 0xFD:
            return self.uint(3)
        if first == 0xFE:
            return self.uint(8)
        raise Malformed(f"bad length-encoded integer 0x{first:02x}")

    def lenenc_bytes(self) -> bytes:
        return self.take(self.lenenc())


def _text(raw: bytes, limit: int = 256) -> str:
    return raw[:limit].decode("utf-8", "backslashreplace")


def parse_handshake(body: bytes) -> Handshake:
    """Protocol::HandshakeResponse41 / 320, or an SSLRequest (only the fixed 32 bytes)."""
    r = Reader(body)
    if len(body) < 4:
        raise Malformed("handshake response shorter than its capability flags")
    caps16 = int.from_bytes(body[:2], "little")
    if not caps16 & CLIENT_PROTOCOL_41:
        r.take(2)
        r.take(3)  # max packet size
        hs = Handshake(protocol=320, caps=caps16)
        hs.user = r.cstr(256)
        hs.auth = r.take(min(r.left, 256)).rstrip(b"\0")
        return hs
    if len(body) < 32:
        raise Malformed("handshake response shorter than 32 bytes")
    caps = r.uint(4)
    r.uint(4)  # max packet size
    hs = Handshake(protocol=41, caps=caps, charset=r.uint(1))
    r.take(19)
    ext = r.uint(4)
    hs.ext_caps = ext if not caps & CLIENT_MYSQL else 0
    if r.left == 0 and caps & CLIENT_SSL:
        hs.ssl_request = True
        return hs
    hs.user = r.cstr(256)
    if caps & CLIENT_PLUGIN_AUTH_LENENC:
        n = r.lenenc()
        if n > 4096:
            raise Malformed(f"auth response of {n} bytes")
        hs.auth = r.take(n)
    elif caps & CLIENT_SECURE_CONNECTION:
        hs.auth = r.take(r.uint(1))
    else:
        hs.auth = r.cstr(256)
    if caps & CLIENT_CONNECT_WITH_DB and r.left:
        hs.database = r.cstr(256)
    if caps & CLIENT_PLUGIN_AUTH and r.left:
        hs.plugin = _text(r.cstr(128), 128)
    if caps & CLIENT_CONNECT_ATTRS and r.left:
        hs.attrs = parse_attrs(r)
    return hs


def parse_attrs(r: Reader) -> dict[str, str]:
    """Connection attributes (``_client_name``, ``_client_version``, ``_os``, ...): the first ones, capped."""
    total = r.lenenc()
    sub = Reader(r.take(min(total, r.left)))
    out: dict[str, str] = {}
    while sub.left and len(out) < MAX_ATTRS:
        key = sub.lenenc_bytes()
        value = sub.lenenc_bytes()
        out[_text(key, 64)] = _text(value, 256)
    return out


def parse_change_user(body: bytes, caps: int) -> Handshake:
    """COM_CHANGE_USER's payload (after the command byte): user, auth, database, charset, plugin, attrs."""
    r = Reader(body)
    hs = Handshake(protocol=41, caps=caps)
    hs.user = r.cstr(256)
    hs.auth = r.take(r.uint(1)) if caps & CLIENT_SECURE_CONNECTION else r.cstr(256)
    hs.database = r.cstr(256) or None
    if r.left >= 2:
        hs.charset = r.uint(2)
    if caps & CLIENT_PLUGIN_AUTH:
        if not r.left:
            raise Malformed("COM_CHANGE_USER without its plugin name")
        hs.plugin = _text(r.cstr(128), 128)
    if caps & CLIENT_CONNECT_ATTRS and r.left:
        hs.attrs = parse_attrs(r)
    return hs


# --- result sets --------------------------------------------------------------------------------

TYPE_LONGLONG = 0x08
TYPE_VAR_STRING = 0xFD
TYPE_NULL = 0x06


@dataclass(frozen=True)
class Column:
    name: str
    length: int = 0
    type: int = TYPE_VAR_STRING
    flags: int = 0
    decimals: int = 0x27  # MariaDB's "not fixed" decimals for a string expression
    charset: int | None = None  # None: the session's character_set_results, `length` then in characters
    schema: str = ""
    table: str = ""
    org_name: str = ""


def known_charset(cid: int) -> bool:
    return cid in _MBMAX


def column_def(c: Column, extended: bool, session_charset: int) -> bytes:
    out = b"".join(lenenc_str(wire(x)) for x in ("def", c.schema, c.table, c.table, c.name, c.org_name))
    if extended:
        out += b"\x00"  # no extended type info
    charset, length = c.charset, c.length
    if charset is None:
        charset, length = session_charset, min(c.length * _MBMAX.get(session_charset, 4), 0xFFFFFFFF)
    return out + b"\x0c" + struct.pack("<HIBHBxx", charset, length, c.type, c.flags, c.decimals)


def result_set(
    columns: list[Column],
    rows: list[list[str | None]],
    caps: int,
    ext_caps: int,
    status: int = STATUS_AUTOCOMMIT,
    charset: int = CHARSET_UTF8MB4_GENERAL_CI,
) -> list[bytes]:
    """The packet bodies of a text result set, shaped by what the client and server agreed on."""
    count = lenenc_int(len(columns))
    if ext_caps & MARIADB_CLIENT_CACHE_METADATA:
        count += b"\x01"  # metadata follows
    out = [count]
    out += [column_def(c, bool(ext_caps & MARIADB_CLIENT_EXTENDED_METADATA), charset) for c in columns]
    deprecate_eof = bool(caps & CLIENT_DEPRECATE_EOF)
    if not deprecate_eof:
        out.append(eof(status))
    for row in rows:
        out.append(b"".join(b"\xfb" if v is None else lenenc_str(wire(v)) for v in row))
    out.append(ok(status=status, eof=True) if deprecate_eof else eof(status))
    return out
