# SPDX-License-Identifier: MIT
"""RESP2 as redis-server 7.0 reads it: multibulk arrays, inline (telnet) lines, and its errors.

:class:`RequestParser` follows ``processInlineBuffer`` / ``processMultibulkBuffer`` of
``networking.c`` byte for byte where a client can see it: which input is an error (and its
text), that a bulk's trailing CRLF is skipped unchecked, that ``*0`` and ``*-1`` are no
command, that inline lines are split as ``sdssplitargs`` splits them (quotes, ``\\xHH``
escapes, text after a NUL ignored). RESP2 requests are flat arrays of bulk strings, so nesting
depth is 1 by construction (a nested ``*`` is redis' ``expected '$'`` error).

Everything is bounded: a line without its newline is an error past 64 KiB (as redis), a bulk
longer than the configured cap is ``invalid bulk length`` (redis: 512 MiB), an array longer than
its cap is ``invalid multibulk length`` (redis: INT_MAX), before AUTH on a server with a
password redis' own ``unauthenticated`` limits apply (10 arguments, 16 KiB bulks), and the
caller caps the unparsed buffer. Bytes are never decoded to text here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

INLINE_MAX = 64 * 1024  # PROTO_INLINE_MAX_SIZE
INT_MAX = 2**31 - 1
PROTO_MAX_BULK = 512 * 1024 * 1024
UNAUTH_BULK = 16 * 1024  # before AUTH, when a password is set (CVE-2021-32675)
_SPACE = b" \t\n\r\v\f"
_HEX = b"0123456789abcdefABCDEF"
_ESC = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}


class ProtocolError(Exception):
    """Bad input: redis answers ``-ERR Protocol error: <text>`` and closes the connection."""


def _int(raw: bytes | bytearray) -> int | None:
    """``string2ll``: an optional '-' and digits, nothing else (no '+', spaces or leading zeros)."""
    s = bytes(raw)
    neg = s.startswith(b"-")
    digits = s[1:] if neg else s
    if s == b"0":
        return 0
    if not digits or not digits.isdigit() or len(digits) > 19 or digits[0] == 48:
        return None
    value = int(digits)
    return -value if neg else value


def split_args(line: bytes) -> list[bytes] | None:
    """``sdssplitargs``: arguments of an inline command line, or None for unbalanced quotes."""
    out: list[bytes] = []
    n = len(line)
    i = 0
    while True:
        while i < n and line[i] in _SPACE:
            i += 1
        if i >= n or line[i] == 0:
            return out
        cur = bytearray()
        inq = insq = False
        while True:
            c = line[i] if i < n else 0
            if inq:
                if c == 92 and i + 3 < n and line[i + 1] == 120 and line[i + 2] in _HEX and line[i + 3] in _HEX:
                    cur.append(int(line[i + 2 : i + 4], 16))
                    i += 3
                elif c == 92 and i + 1 < n and line[i + 1] != 0:
                    i += 1
                    cur.append(_ESC.get(line[i], line[i]))
                elif c == 34:
                    if i + 1 < n and line[i + 1] != 0 and line[i + 1] not in _SPACE:
                        return None
                    i += 1
                    break
                elif c == 0:
                    return None
                else:
                    cur.append(c)
            elif insq:
                if c == 92 and i + 1 < n and line[i + 1] == 39:
                    i += 1
                    cur.append(39)
                elif c == 39:
                    if i + 1 < n and line[i + 1] != 0 and line[i + 1] not in _SPACE:
                        return None
                    i += 1
                    break
                elif c == 0:
                    return None
                else:
                    cur.append(c)
            elif c in b" \n\r\t\x00":
                break
            elif c == 34:
                inq = True
            elif c == 39:
                insq = True
            else:
                cur.append(c)
            i += 1
        out.append(bytes(cur))


@dataclass
class Request:
    args: list[bytes]
    inline: bool
    size: int  # bytes of input it took


class RequestParser:
    """Incremental: :meth:`feed` bytes, then :meth:`take` complete requests until it returns None."""

    def __init__(self, max_bulk: int, max_array: int) -> None:
        self.max_bulk = max_bulk
        self.max_array = max_array
        self.unauth = False  # a password is set and not given yet: redis' tighter limits
        self.buf = bytearray()
        self.pos = 0
        self._left = 0  # bulks still to read of the current multibulk
        self._bulk = -1  # length of the bulk being read, -1 before its header
        self._args: list[bytes] = []
        self._start = 0

    def feed(self, data: bytes) -> None:
        if self.pos:
            del self.buf[: self.pos]
            self._start -= self.pos
            self.pos = 0
        self.buf += data

    @property
    def pending(self) -> int:
        """Bytes buffered and not yet consumed (what the caller caps)."""
        return len(self.buf) - self.pos

    def take(self) -> Request | None:
        """The next complete request; None when more input is needed. Raises :class:`ProtocolError`."""
        while self.pos < len(self.buf):
            if self._left == 0 and self._bulk == -1 and not self._args:
                self._start = self.pos
                if self.buf[self.pos] != 42:  # '*'
                    req = self._inline()
                    if req is None:
                        return None
                    if req.args:
                        return req
                    continue
                if not self._header():
                    return None
                if self._left <= 0:
                    self._left = 0
                    continue  # *0, *-1: nothing to run
            req = self._multibulk()
            if req is None:
                return None
            return req
        return None

    def _inline(self) -> Request | None:
        nl = self.buf.find(b"\n", self.pos)
        if nl < 0:
            if len(self.buf) - self.pos > INLINE_MAX:
                raise ProtocolError("too big inline request")
            return None
        end = nl - 1 if nl > self.pos and self.buf[nl - 1] == 13 else nl
        line = bytes(self.buf[self.pos : end])
        size = nl + 1 - self.pos
        self.pos = nl + 1
        args = split_args(line)
        if args is None:
            raise ProtocolError("unbalanced quotes in request")
        return Request(args, True, size)

    def _line(self, what: str) -> bytes | None:
        cr = self.buf.find(b"\r", self.pos)
        if cr < 0:
            if len(self.buf) - self.pos > INLINE_MAX:
                raise ProtocolError(f"too big {what} string")
            return None
        if cr + 1 >= len(self.buf):  # the '\n' after it not here yet
            return None
        raw = bytes(self.buf[self.pos + 1 : cr])
        self.pos = cr + 2
        return raw

    def _header(self) -> bool:
        raw = self._line("mbulk count")
        if raw is None:
            return False
        n = _int(raw)
        if n is None or n > INT_MAX:
            raise ProtocolError("invalid multibulk length")
        if self.unauth and n > 10:
            raise ProtocolError("unauthenticated multibulk length")
        if n > self.max_array:  # the trap's cap (redis: INT_MAX)
            raise ProtocolError("invalid multibulk length")
        self._left = n
        return True

    def _multibulk(self) -> Request | None:
        while self._left > 0:
            if self._bulk == -1:
                if self.pos >= len(self.buf):
                    return None
                start = self.pos
                raw = self._line("bulk count")
                if raw is None:
                    return None
                if self.buf[start] != 36:  # '$', checked once the whole line is in, as redis does
                    raise ProtocolError(f"expected '$', got '{chr(self.buf[start])}'")
                n = _int(raw)
                if n is None or n < 0 or n > PROTO_MAX_BULK:
                    raise ProtocolError("invalid bulk length")
                if self.unauth and n > UNAUTH_BULK:
                    raise ProtocolError("unauthenticated bulk length")
                if n > self.max_bulk:  # the trap's cap (redis: proto-max-bulk-len, 512 MiB)
                    raise ProtocolError("invalid bulk length")
                self._bulk = n
            if len(self.buf) - self.pos < self._bulk + 2:
                return None
            self._args.append(bytes(self.buf[self.pos : self.pos + self._bulk]))
            self.pos += self._bulk + 2  # the CRLF is skipped, not checked, as redis does
            self._bulk = -1
            self._left -= 1
        args, self._args = self._args, []
        return Request(args, False, self.pos - self._start)


# --- replies -----------------------------------------------------------------------------------


def simple(text: str) -> bytes:
    return b"+" + text.encode() + b"\r\n"


def error(text: str) -> bytes:
    """An error reply; CR and LF become spaces, as ``addReplyErrorLength`` makes them."""
    return b"-" + text.encode("utf-8", "surrogateescape").replace(b"\r", b" ").replace(b"\n", b" ") + b"\r\n"


def integer(n: int) -> bytes:
    return b":%d\r\n" % n


def bulk(data: bytes | str | None) -> bytes:
    if data is None:
        return b"$-1\r\n"
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    return b"$%d\r\n%s\r\n" % (len(raw), raw)


def array(items: Iterable[bytes] | None) -> bytes:
    """An array of already encoded replies (None: the null array)."""
    if items is None:
        return b"*-1\r\n"
    parts = list(items)
    return b"*%d\r\n" % len(parts) + b"".join(parts)


def bulks(items: Iterable[bytes | str]) -> bytes:
    return array(bulk(x) for x in items)


OK = simple("OK")
NULL = bulk(None)
