# SPDX-License-Identifier: MIT
"""TDS framing and the server's tokens, as [MS-TDS] lays them out (packets, PRELOGIN, token stream).

Only what SQL Server sends is built here; what clients send is parsed in :mod:`.login` and
:mod:`.rpc`. Token layouts differ between TDS 7.0/7.1 and 7.2+ (line numbers, row counts,
user types widen to 4/8 bytes), so the encoders take the version acknowledged at login.
"""

from __future__ import annotations

import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from honeyfarm.sensor.traps.stream import Malformed

HEADER = struct.Struct(">BBHHBB")  # type, status, length (incl. header), SPID, packet id, window
SQL_BATCH = 0x01
PRE_TDS7_LOGIN = 0x02  # a TDS 4.2 / DB-Library login (hydra sends one)
RPC = 0x03
REPLY = 0x04
ATTENTION = 0x06
BULK_LOAD = 0x07
FEDAUTH_TOKEN = 0x08
TRANSACTION_MANAGER = 0x0E
LOGIN7 = 0x10
SSPI = 0x11
PRELOGIN = 0x12
CLIENT_TYPES = {SQL_BATCH, PRE_TDS7_LOGIN, RPC, ATTENTION, BULK_LOAD, FEDAUTH_TOKEN, TRANSACTION_MANAGER}
CLIENT_TYPES |= {LOGIN7, SSPI, PRELOGIN}
EOM = 0x01
MAX_PACKETS = 4096  # packets in one message, whatever their size (tiny-packet floods)

# PRELOGIN options
PL_VERSION, PL_ENCRYPTION, PL_INSTOPT, PL_THREADID, PL_MARS, PL_TRACEID, PL_FEDAUTH, PL_NONCE = range(8)
PL_TERMINATOR = 0xFF
ENCRYPTION_NAMES = {0: "off", 1: "on", 2: "not-supported", 3: "required"}
ENCRYPT_OFF, ENCRYPT_ON, ENCRYPT_NOT_SUP, ENCRYPT_REQ = 0, 1, 2, 3

# tokens
TOK_ERROR, TOK_INFO, TOK_LOGINACK, TOK_FEATUREEXTACK = 0xAA, 0xAB, 0xAD, 0xAE
TOK_ENVCHANGE, TOK_SSPI, TOK_COLMETADATA, TOK_ROW, TOK_RETURNSTATUS = 0xE3, 0xED, 0x81, 0xD1, 0x79
TOK_DONE, TOK_DONEPROC, TOK_DONEINPROC = 0xFD, 0xFE, 0xFF
DONE_FINAL, DONE_MORE, DONE_ERROR, DONE_COUNT, DONE_ATTN = 0x00, 0x01, 0x02, 0x10, 0x20
CMD_SELECT, CMD_EXECUTE = 0xC1, 0xE0
ENV_DATABASE, ENV_LANGUAGE, ENV_PACKETSIZE, ENV_COLLATION = 1, 2, 4, 7
COLLATION = bytes.fromhex("0904d00034")  # SQL_Latin1_General_CP1_CI_AS, a default US install's
TDS74 = 0x74000004

ReadExactly = Callable[[int, int], Awaitable[bytes]]


@dataclass
class Message:
    type: int
    payload: bytes
    packets: int


async def read_message(read: ReadExactly, max_packet: int, max_message: int) -> Message:
    """One client message: packets of one type up to end-of-message, every length checked first."""
    parts: list[bytes] = []
    total = 0
    first: int | None = None
    while True:
        ptype, status, length, _spid, _pid, _win = HEADER.unpack(await read(HEADER.size, HEADER.size))
        if length < HEADER.size or length > max_packet:
            raise Malformed(f"TDS packet length {length} outside 8..{max_packet}")
        if first is None:
            if ptype not in CLIENT_TYPES:
                raise Malformed(f"TDS packet type 0x{ptype:02x}")
            first = ptype
        elif ptype != first:
            raise Malformed(f"TDS packet type 0x{ptype:02x} inside a 0x{first:02x} message")
        total += length - HEADER.size
        if total > max_message:
            raise Malformed(f"TDS message over {max_message} bytes")
        parts.append(await read(length - HEADER.size, max_packet))
        if status & EOM:
            return Message(first, b"".join(parts), len(parts))
        if len(parts) >= MAX_PACKETS:
            raise Malformed(f"TDS message of more than {MAX_PACKETS} packets")


def packets(payload: bytes, size: int, spid: int = 0, ptype: int = REPLY) -> bytes:
    """``payload`` cut into packets of at most ``size`` bytes, numbered from 1 as SQL Server does."""
    step = max(size, 512) - HEADER.size
    out = bytearray()
    chunks = [payload[i : i + step] for i in range(0, len(payload), step)] or [b""]
    for n, chunk in enumerate(chunks, 1):
        status = EOM if n == len(chunks) else 0
        out += HEADER.pack(ptype, status, len(chunk) + HEADER.size, spid, n % 256, 0) + chunk
    return bytes(out)


def prelogin_options(payload: bytes) -> dict[int, bytes]:
    """The option table of a PRELOGIN (each offset/length checked against the payload)."""
    opts: dict[int, bytes] = {}
    pos = 0
    while True:
        if pos >= len(payload):
            raise Malformed("PRELOGIN option table without terminator")
        token = payload[pos]
        if token == PL_TERMINATOR:
            return opts
        if pos + 5 > len(payload) or len(opts) >= 32:
            raise Malformed("PRELOGIN option table truncated")
        off, ln = struct.unpack_from(">HH", payload, pos + 1)
        if off + ln > len(payload):
            raise Malformed(f"PRELOGIN option {token} points outside the packet")
        opts[token] = payload[off : off + ln]
        pos += 5


def prelogin_reply(version: tuple[int, int, int, int], encryption: int, client: dict[int, bytes]) -> bytes:
    """SQL Server's answer: VERSION, ENCRYPTION, INSTOPT, THREADID (empty), then MARS/FEDAUTHREQUIRED
    only if the client sent them (nmap's probe sends neither, and its 2019 signature has neither)."""
    major, minor, build, _rev = version
    items: list[tuple[int, bytes]] = [
        (PL_VERSION, struct.pack(">BBHH", major, minor, build, 0)),
        (PL_ENCRYPTION, bytes([encryption])),
        (PL_INSTOPT, b"\x00" if _default_instance(client.get(PL_INSTOPT, b"")) else b"\x01"),
        (PL_THREADID, b""),
    ]
    if PL_MARS in client:
        items.append((PL_MARS, b"\x00"))
    if PL_FEDAUTH in client:
        items.append((PL_FEDAUTH, b"\x00"))
    off = 5 * len(items) + 1
    table, data = bytearray(), bytearray()
    for token, value in items:
        table += struct.pack(">BHH", token, off + len(data), len(value))
        data += value
    return bytes(table) + b"\xff" + bytes(data)


def _default_instance(raw: bytes) -> bool:
    """Whether INSTOPT names this default instance (empty, or ``MSSQLServer`` in any case); a
    named instance gets 0x01 and the client gives up, as on a real default instance."""
    name = raw.split(b"\x00", 1)[0]
    return not name or name.upper() == b"MSSQLSERVER"


def ucs2(text: str) -> bytes:
    return text.encode("utf-16-le", "surrogatepass")


def b_varchar(text: str) -> bytes:
    raw = ucs2(text[:255])
    return bytes([len(raw) // 2]) + raw


def us_varchar(text: str) -> bytes:
    raw = ucs2(text[:4000])
    return struct.pack("<H", len(raw) // 2) + raw


class Tokens:
    """The server's token encoders for one acknowledged TDS version and server name."""

    def __init__(self, server: str, tds72: bool = True) -> None:
        self.server = server
        self.tds72 = tds72

    @staticmethod
    def _token(tok: int, body: bytes) -> bytes:
        return bytes([tok]) + struct.pack("<H", len(body)) + body

    def message(self, number: int, state: int, cls: int, text: str, *, error: bool, proc: str = "") -> bytes:
        line = struct.pack("<i" if self.tds72 else "<H", 1)
        body = struct.pack("<iBB", number, state, cls) + us_varchar(text) + b_varchar(self.server)
        return self._token(TOK_ERROR if error else TOK_INFO, body + b_varchar(proc) + line)

    def error(self, number: int, state: int, cls: int, text: str, proc: str = "") -> bytes:
        return self.message(number, state, cls, text, error=True, proc=proc)

    def info(self, number: int, state: int, text: str) -> bytes:
        return self.message(number, state, 0, text, error=False)

    def done(self, status: int = DONE_FINAL, cmd: int = 0, count: int = 0, tok: int = TOK_DONE) -> bytes:
        return struct.pack("<BHHQ" if self.tds72 else "<BHHI", tok, status, cmd, count)

    def envchange(self, kind: int, new: str, old: str) -> bytes:
        return self._token(TOK_ENVCHANGE, bytes([kind]) + b_varchar(new) + b_varchar(old))

    def collation(self) -> bytes:
        return self._token(TOK_ENVCHANGE, bytes([ENV_COLLATION, len(COLLATION)]) + COLLATION + b"\x00")

    def loginack(self, tds_version: int, version: tuple[int, int, int, int]) -> bytes:
        major, minor, build, _rev = version
        body = b"\x01" + struct.pack(">I", tds_version) + b_varchar("Microsoft SQL Server")
        return self._token(TOK_LOGINACK, body + struct.pack(">BBH", major, minor, build))

    def returnstatus(self, value: int = 0) -> bytes:
        return bytes([TOK_RETURNSTATUS]) + struct.pack("<i", value)

    def sspi(self, blob: bytes) -> bytes:
        return self._token(TOK_SSPI, blob)


# --- result sets ------------------------------------------------------------------------------
NVARCHAR, INTN, BIGVARBIN = 0xE7, 0x26, 0xA5


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = "nvarchar"  # nvarchar | int
    size: int = 128  # characters, for nvarchar


Value = str | int | None


def result_set(tok: Tokens, columns: list[Column], rows: list[list[Value]]) -> bytes:
    """COLMETADATA and ROW tokens (no DONE) for nvarchar/int columns."""
    out = bytearray([TOK_COLMETADATA]) + struct.pack("<H", len(columns))
    for col in columns:
        out += struct.pack("<I" if tok.tds72 else "<H", 0)
        if col.kind == "int":
            out += struct.pack("<H", 0x0009) + bytes([INTN, 4])  # nullable
        else:
            out += struct.pack("<H", 0x0009) + bytes([NVARCHAR]) + struct.pack("<H", min(col.size, 4000) * 2)
            out += COLLATION
        out += b_varchar(col.name)
    for row in rows:
        out.append(TOK_ROW)
        for col, value in zip(columns, row, strict=True):
            if col.kind == "int":
                out += b"\x00" if value is None else b"\x04" + struct.pack("<i", int(value))
            elif value is None:
                out += b"\xff\xff"
            else:
                raw = ucs2(str(value)[: min(col.size, 4000)])
                out += struct.pack("<H", len(raw)) + raw
    return bytes(out)
