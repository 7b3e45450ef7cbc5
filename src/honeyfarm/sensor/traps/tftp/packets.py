# SPDX-License-Identifier: MIT
"""TFTP packets (RFC 1350) and option negotiation (RFC 2347/2348/2349), as tftpd-hpa reads them.

Requests are parsed without trusting a length: a datagram is at most ``max_datagram_bytes``
(the base trap drops longer ones) and splitting it on NULs allocates nothing beyond it; options
past :data:`MAX_OPTIONS` are ignored.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

RRQ, WRQ, DATA, ACK, ERROR, OACK = 1, 2, 3, 4, 5, 6
OPCODES = {RRQ: "rrq", WRQ: "wrq", DATA: "data", ACK: "ack", ERROR: "error", OACK: "oack"}
MAX_OPTIONS = 16
MAX_NAME = 512

# tftpd-hpa's error texts (tftpd.c errmsgs[])
ENOTFOUND, EACCESS, ENOSPACE, EBADOP, EBADID, EEXISTS, EOPTNEG = 1, 2, 3, 4, 5, 6, 8
ERRORS = {
    0: "Undefined error code",
    ENOTFOUND: "File not found",
    EACCESS: "Access violation",
    ENOSPACE: "Disk full or allocation exceeded",
    EBADOP: "Illegal TFTP operation",
    EBADID: "Unknown transfer ID",
    EEXISTS: "File already exists",
    7: "No such user",
    EOPTNEG: "Failure to negotiate RFC2347 options",
}


class BadPacket(Exception):
    pass


@dataclass
class Request:
    opcode: int
    filename: str
    mode: str
    options: dict[str, str] = field(default_factory=dict)


def _text(raw: bytes) -> str:
    return raw[:MAX_NAME].decode("utf-8", "backslashreplace")


def parse_request(data: bytes) -> Request:
    """RRQ/WRQ: ``opcode filename\\0 mode\\0 [option\\0 value\\0]...``."""
    if len(data) < 4:
        raise BadPacket("short packet")
    (opcode,) = struct.unpack_from("!H", data)
    if opcode not in (RRQ, WRQ):
        raise BadPacket(f"opcode {opcode}")
    if not data.endswith(b"\0"):
        raise BadPacket("request not null-terminated")
    fields = data[2:-1].split(b"\0")
    if len(fields) < 2 or not fields[0]:
        raise BadPacket("no filename or mode")
    options: dict[str, str] = {}
    rest = fields[2:]
    for i in range(0, min(len(rest) - 1, 2 * MAX_OPTIONS), 2):
        options[_text(rest[i]).lower()[:32]] = _text(rest[i + 1])[:64]
    return Request(opcode, _text(fields[0]), _text(fields[1]).lower(), options)


def data_packet(block: int, payload: bytes) -> bytes:
    return struct.pack("!HH", DATA, block & 0xFFFF) + payload


def ack_packet(block: int) -> bytes:
    return struct.pack("!HH", ACK, block & 0xFFFF)


def error_packet(code: int, text: str | None = None) -> bytes:
    return struct.pack("!HH", ERROR, code) + (text or ERRORS.get(code, "")).encode() + b"\0"


def oack_packet(options: dict[str, str]) -> bytes:
    return struct.pack("!H", OACK) + b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in options.items())


def parse_reply(data: bytes) -> tuple[int, int, bytes]:
    """DATA/ACK/ERROR from the peer as (opcode, block or error code, payload)."""
    if len(data) < 4:
        raise BadPacket("short packet")
    opcode, block = struct.unpack_from("!HH", data)
    return opcode, block, data[4:]


def netascii(content: bytes) -> bytes:
    """RFC 1350's netascii: LF becomes CR LF and a bare CR becomes CR NUL (tftpd-hpa's RRQ in that mode)."""
    return content.replace(b"\r", b"\r\0").replace(b"\n", b"\r\n")


def negotiate(
    req: Request, size: int | None, max_blksize: int, max_upload: int
) -> tuple[dict[str, str], int, float | None, str | None]:
    """tftpd-hpa's option handling: the options to acknowledge (OACK), the block size, the
    client's timeout, and an error text when an option must fail the request."""
    acked: dict[str, str] = {}
    blksize = 512
    timeout: float | None = None
    for name, value in req.options.items():
        if not value.isdigit() or len(value) > 20:
            continue  # tftpd-hpa ignores an option it cannot parse
        n = int(value)
        if name == "blksize":
            if n < 8:
                continue
            blksize = min(n, max_blksize)
            acked[name] = str(blksize)
        elif name == "tsize":
            if req.opcode == RRQ:
                if size is not None:
                    acked[name] = str(size)
            elif n > max_upload:
                return acked, blksize, timeout, "too big"
            else:
                acked[name] = str(n)
        elif name == "timeout" and 1 <= n <= 255:
            timeout = float(n)
            acked[name] = str(n)
    return acked, blksize, timeout, None
