# SPDX-License-Identifier: MIT
"""gzip and zstd decoding that keeps every byte that decodes and says where a file is damaged.

Python's :mod:`gzip` raises on a missing trailer or trailing garbage, and the
read that raises drops what it had already decoded; ``zstandard``'s stream
reader returns a silent EOF on a cut frame and raises on garbage after a good
one. Either way the last lines of a damaged file vanished. These streams
instead decode as far as the data goes (what ``zcat`` / ``zstd -d`` print),
then stop with a :class:`Damage` that names the byte offset in the compressed
file and the reason, for the ingest pipeline to report.

Input is fed in small pieces so that a decompression bomb cannot balloon one
call's output. When a piece fails to decode, the member (or frame) is decoded
again from its start, the failing piece one byte at a time, so that the bytes
decoded just before the bad one are kept too.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import zstandard

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_FEED = 4096  # compressed bytes per decompress call: bounds the output of one call


@dataclass(frozen=True)
class Damage:
    """Where a compressed file stops decoding, and why."""

    #: Byte offset in the compressed file.
    offset: int
    reason: str
    #: Whether the decoded data ended cleanly before the damage (a missing
    #: trailer, garbage after the last frame): then a last line without a
    #: newline is a whole record. False when the data itself was cut or corrupt.
    data_complete: bool

    def describe(self) -> str:
        return f"{self.reason} at byte {self.offset}"


class _Decoder(Protocol):
    @property
    def eof(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    def decompress(self, data: bytes) -> bytes: ...


class _Stopped(Exception):
    """Decoding cannot go on; carries the damage and the bytes decoded before it."""

    def __init__(self, damage: Damage, out: bytes = b"") -> None:
        super().__init__(damage.describe())
        self.damage = damage
        self.out = out


class DecodingStream(io.RawIOBase):
    """Raw stream of the decoded bytes of one compressed file; ``damage`` is set once it stops early."""

    kind = ""
    _errors: tuple[type[Exception], ...] = ()

    def __init__(self, path: Path) -> None:
        self.path = path
        self._f = open(path, "rb")  # noqa: SIM115 - closed in close()
        self._in = b""  # compressed bytes not yet consumed
        self._at = 0  # offset in the file of _in[0]
        self._read_to = 0  # offset in the file up to which bytes were read
        self._out = b""
        self._opos = 0  # bytes of _out already returned
        self._done = False
        self._d: _Decoder | None = None  # decoder of the current member/frame
        self._member_at = 0  # file offset where the current member's compressed data starts
        self._member_out = 0  # bytes the current member has decoded so far
        self._pieces: list[bytes] = []  # decoded by the current step
        self.damage: Damage | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        while self._opos >= len(self._out):
            if self._done:
                return 0
            chunk = self._f.read(_FEED)
            self._read_to += len(chunk)
            self._pieces = []
            try:
                if chunk:
                    self._in += chunk
                    self._step()
                    out = b"".join(self._pieces)
                else:
                    self._done = True
                    out = b""
                    self._at_end()
            except _Stopped as stop:
                self._done = True
                self.damage = self.damage or stop.damage
                out = b"".join(self._pieces) + stop.out  # what this step decoded before it stopped
            self._out, self._opos = out, 0
        n = min(len(b), len(self._out) - self._opos)
        b[:n] = self._out[self._opos : self._opos + n]
        self._opos += n
        return n

    def _decode(self) -> bytes:
        """Feed all of ``_in`` to the current decoder; on its end, leave the rest in ``_in``."""
        assert self._d is not None
        data, at = self._in, self._at
        try:
            out = self._d.decompress(data)
        except self._errors as exc:
            raise self._replay(at, str(exc)) from None
        self._member_out += len(out)
        if self._d.eof:
            rest = self._d.unused_data
            self._at = at + len(data) - len(rest)
            self._in = rest
        else:
            self._at, self._in = at + len(data), b""
        return out

    def _replay(self, fail_at: int, message: str) -> _Stopped:
        """Decode the current member again up to the bad byte: what came before it is kept."""
        d = self._new_decoder()
        out: list[bytes] = []
        skip = self._member_out  # decoded and given out already: dropped as it comes (memory stays bounded)

        def keep(piece: bytes) -> None:
            nonlocal skip
            if skip < len(piece):
                out.append(piece[skip:])
            skip = max(0, skip - len(piece))

        offset = self._member_at
        with open(self.path, "rb") as f:
            f.seek(offset)
            while offset < fail_at:  # these bytes decoded before: they decode again
                piece = f.read(min(_FEED, fail_at - offset))
                if not piece:
                    break
                keep(d.decompress(piece))
                offset += len(piece)
            for byte in f.read(self._read_to - fail_at):
                if d.eof:
                    break
                try:
                    keep(d.decompress(bytes((byte,))))
                except self._errors:
                    break
                offset += 1
        return _Stopped(Damage(offset, f"{self.kind} data corrupt ({message})", False), b"".join(out))

    def _new_decoder(self) -> _Decoder:
        raise NotImplementedError

    def _step(self) -> None:
        """Decode what ``_in`` holds into ``_pieces``; raise :class:`_Stopped` on damage."""
        raise NotImplementedError

    def _at_end(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._f.close()
        super().close()


class GzipStream(DecodingStream):
    """Every member of a gzip file: header, raw deflate, trailer (CRC-32 and size checked)."""

    kind = "gzip"
    _errors = (zlib.error,)

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._state = "header"
        self._crc = 0
        self._size = 0

    def _new_decoder(self) -> _Decoder:
        return zlib.decompressobj(-zlib.MAX_WBITS)

    def _step(self) -> None:
        out = self._pieces
        while self._in:
            if self._state == "header":
                # Zero padding between or after members is allowed (gzip(1) and Python's gzip skip it).
                rest = self._in.lstrip(b"\x00")
                self._at += len(self._in) - len(rest)
                self._in = rest
                if not rest or not self._header():
                    break
            elif self._state == "body":
                piece = self._decode()
                self._crc = zlib.crc32(piece, self._crc)
                self._size += len(piece)
                out.append(piece)
                assert self._d is not None
                if self._d.eof:
                    self._state = "trailer"
            else:
                if len(self._in) < 8:
                    break
                crc, size = struct.unpack("<II", self._in[:8])
                if crc != self._crc or size != self._size & 0xFFFFFFFF:
                    # The data was given out already; it is kept and the file reported. It is not
                    # trusted to end whole: an unterminated last line is a fragment, not a record.
                    self.damage = self.damage or Damage(self._at, "gzip CRC or length mismatch", False)
                self._at += 8
                self._in = self._in[8:]
                self._state = "header"

    def _header(self) -> bool:
        """Parse a member header from ``_in``; False if more bytes are needed."""
        buf = self._in
        if buf[:2] != GZIP_MAGIC[: len(buf[:2])]:
            raise _Stopped(Damage(self._at, "trailing garbage after the last gzip member", True))
        if len(buf) < 10:
            return False
        if buf[2] != 8:
            raise _Stopped(Damage(self._at, f"gzip member with unknown compression method {buf[2]}", True))
        flags, pos = buf[3], 10
        if flags & 4:  # FEXTRA
            if len(buf) < pos + 2:
                return False
            pos += 2 + int.from_bytes(buf[pos : pos + 2], "little")
        for bit in (8, 16):  # FNAME, FCOMMENT: zero-terminated
            if flags & bit:
                end = buf.find(b"\x00", pos)
                if end == -1:
                    return False
                pos = end + 1
        if flags & 2:  # FHCRC
            pos += 2
        if len(buf) < pos:
            return False
        self._at += pos
        self._in = buf[pos:]
        self._d = self._new_decoder()
        self._member_at, self._member_out = self._at, 0
        self._crc, self._size = 0, 0
        self._state = "body"
        return True

    def _at_end(self) -> None:
        if self._state == "body":
            raise _Stopped(Damage(self._read_to, "gzip stream truncated: deflate data cut short", False))
        if self._state == "trailer":
            raise _Stopped(Damage(self._read_to, "gzip stream truncated: missing trailer", True))
        if self._in:  # a next member's header cut short
            raise _Stopped(Damage(self._at, "gzip stream truncated: member header cut short", True))


class ZstdStream(DecodingStream):
    """Every frame of a zstd file (skippable frames included)."""

    kind = "zstd"
    _errors = (zstandard.ZstdError,)

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._in_frame = False

    def _new_decoder(self) -> _Decoder:
        return zstandard.ZstdDecompressor().decompressobj()

    def _step(self) -> None:
        out = self._pieces
        while self._in:
            if not self._in_frame:
                magic = self._in[:4]
                if len(magic) < 4:
                    if not _frame_magic_prefix(magic):
                        raise _Stopped(Damage(self._at, "trailing garbage after the last zstd frame", True))
                    break
                if not _frame_magic_prefix(magic):
                    raise _Stopped(Damage(self._at, "trailing garbage after the last zstd frame", True))
                self._d = self._new_decoder()
                self._member_at, self._member_out = self._at, 0
                self._in_frame = True
            out.append(self._decode())
            assert self._d is not None
            if self._d.eof:
                self._in_frame = False

    def _at_end(self) -> None:
        if self._in_frame:
            raise _Stopped(Damage(self._read_to, "zstd stream truncated: frame cut short", False))
        if self._in:
            raise _Stopped(Damage(self._at, "zstd stream truncated: frame header cut short", True))


def _frame_magic_prefix(b: bytes) -> bool:
    """Whether ``b`` starts a zstd frame or a skippable frame (magic 0x184D2A5?)."""
    if ZSTD_MAGIC.startswith(b[:4]):
        return True
    skippable = b"\x50\x2a\x4d\x18"
    return len(b) >= 1 and (b[0] & 0xF0) == 0x50 and skippable[1 : len(b)] == b[1:4]


__all__ = ["GZIP_MAGIC", "ZSTD_MAGIC", "Damage", "DecodingStream", "GzipStream", "ZstdStream"]
