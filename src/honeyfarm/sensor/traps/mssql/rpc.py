# SPDX-License-Identifier: MIT
"""SQL batch text and RPC requests ([MS-TDS] 2.2.6.6, 2.2.6.7), parsed only as far as logging needs.

An RPC names a procedure (or one of the special ids: ``sp_executesql`` = 10, ...) and carries
typed parameters; the character and binary ones are read (plain or PLP, as ``nvarchar(max)``
is sent), the fixed-size ones skipped, and parsing stops quietly at the first type it does not
know, keeping what it has. Every length is checked against the message.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from honeyfarm.sensor.traps.stream import Malformed

PROC_IDS = {
    1: "sp_cursor",
    2: "sp_cursoropen",
    3: "sp_cursorprepare",
    4: "sp_cursorexecute",
    5: "sp_cursorprepexec",
    6: "sp_cursorunprepare",
    7: "sp_cursorfetch",
    8: "sp_cursoroption",
    9: "sp_cursorclose",
    10: "sp_executesql",
    11: "sp_prepare",
    12: "sp_execute",
    13: "sp_prepexec",
    14: "sp_prepexecrpc",
    15: "sp_unprepare",
}
STATEMENT_PARAM = {"sp_executesql": 0, "sp_prepare": 2, "sp_prepexec": 2, "sp_cursorprepexec": 3, "sp_cursoropen": 1}
MAX_PARAMS = 64
MAX_VALUE = 256 * 1024  # characters of one parameter kept
FIXED_SIZES = {0x30: 1, 0x32: 1, 0x34: 2, 0x38: 4, 0x7F: 8, 0x3E: 8, 0x3B: 4, 0x3A: 4, 0x3C: 8, 0x7A: 4, 0x3D: 8}
BYTELEN_TYPES = {0x26, 0x68, 0x6D, 0x6E, 0x6F, 0x24}  # INTN, BITN, FLTN, MONEYN, DATETIMN, GUID
CHAR_TYPES = {0xE7: True, 0xEF: True, 0xA7: False, 0xAF: False}  # type -> UCS-2
BINARY_TYPES = {0xA5, 0xAD}
LONG_TYPES = {0x63: True, 0x23: False}  # NTEXT, TEXT (IMAGE 0x22 is binary)
PLP_NULL = 0xFFFFFFFFFFFFFFFF


def skip_headers(data: bytes, tds72: bool) -> bytes:
    """The request without its ALL_HEADERS (TDS 7.2+; older clients send none)."""
    if not tds72 or len(data) < 4:
        return data
    (total,) = struct.unpack_from("<I", data)
    if total < 4 or total > len(data):
        raise Malformed(f"ALL_HEADERS length {total} for a {len(data)}-byte request")
    return data[total:]


def batch_text(data: bytes, tds72: bool, limit: int) -> str:
    body = skip_headers(data, tds72)
    return body[: 2 * limit].decode("utf-16-le", "replace")


@dataclass
class RPCCall:
    proc: str
    params: list[tuple[str, str | bytes | int | None]] = field(default_factory=list)

    @property
    def statement(self) -> str | None:
        """The SQL text the call runs (``sp_executesql``'s ``@stmt``, ...), if it has one."""
        idx = STATEMENT_PARAM.get(self.proc.lower())
        if idx is None or idx >= len(self.params):
            return None
        value = self.params[idx][1]
        return value if isinstance(value, str) else None

    def render(self) -> str:
        """The call as T-SQL, for the log (``EXEC name @p = N'...', ...``)."""
        args = []
        for name, value in self.params:
            if isinstance(value, str):
                text = "N'" + value.replace("'", "''") + "'"
            elif isinstance(value, bytes):
                text = "0x" + value[:1024].hex()
            else:
                text = "NULL" if value is None else str(value)
            args.append(f"{name} = {text}" if name else text)
        return f"EXEC {self.proc} " + ", ".join(args)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise Malformed(f"RPC field of {n} bytes past the end of the request")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> int:
        size = struct.calcsize(fmt)
        (value,) = struct.unpack(fmt, self.take(size))
        return int(value)

    @property
    def left(self) -> int:
        return len(self.data) - self.pos


def parse_rpc(data: bytes, tds72: bool) -> RPCCall:
    r = _Reader(skip_headers(data, tds72))
    namelen = r.unpack("<H")
    if namelen == 0xFFFF:
        pid = r.unpack("<H")
        name = PROC_IDS.get(pid, f"procid {pid}")
    else:
        name = r.take(2 * namelen).decode("utf-16-le", "replace")[:256]
    r.unpack("<H")  # option flags
    call = RPCCall(name)
    try:
        while r.left > 0 and len(call.params) < MAX_PARAMS:
            pname = r.take(2 * r.unpack("<B")).decode("utf-16-le", "replace")
            r.unpack("<B")  # status flags
            value = _value(r, r.unpack("<B"))
            if value is _UNKNOWN:
                break
            call.params.append((pname, value))  # type: ignore[arg-type]
    except Malformed:
        if not call.params:
            raise
    return call


_UNKNOWN = object()


def _value(r: _Reader, t: int) -> object:
    if t in FIXED_SIZES:
        return int.from_bytes(r.take(FIXED_SIZES[t]), "little", signed=True)
    if t in BYTELEN_TYPES:
        r.unpack("<B")  # max length
        n = r.unpack("<B")
        fixed = r.take(n)
        return int.from_bytes(fixed, "little", signed=True) if n and t == 0x26 else (fixed.hex() if n else None)
    if t in CHAR_TYPES or t in BINARY_TYPES:
        maxlen = r.unpack("<H")
        if t in CHAR_TYPES:
            r.take(5)  # collation
        raw = _plp(r) if maxlen == 0xFFFF else _short(r)
        if raw is None:
            return None
        if t in BINARY_TYPES:
            return raw[:MAX_VALUE]
        return raw.decode("utf-16-le" if CHAR_TYPES[t] else "latin-1", "replace")[:MAX_VALUE]
    if t in LONG_TYPES or t == 0x22:
        r.unpack("<I")  # max length
        if t in LONG_TYPES:
            r.take(5)
        n = r.unpack("<I")
        if n == 0xFFFFFFFF:
            return None
        raw = r.take(n)
        if t == 0x22:
            return raw[:MAX_VALUE]
        return raw.decode("utf-16-le" if LONG_TYPES[t] else "latin-1", "replace")[:MAX_VALUE]
    return _UNKNOWN


def _short(r: _Reader) -> bytes | None:
    n = r.unpack("<H")
    return None if n == 0xFFFF else r.take(n)


def _plp(r: _Reader) -> bytes | None:
    total = r.unpack("<Q")
    if total == PLP_NULL:
        return None
    parts: list[bytes] = []
    while True:
        n = r.unpack("<I")
        if n == 0:
            return b"".join(parts)
        parts.append(r.take(n))
