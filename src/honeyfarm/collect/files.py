# SPDX-License-Identifier: MIT
"""Reading log files: path expansion, decompression, whole-line blocks.

A file is read from its checkpoint (see :mod:`honeyfarm.collect.checkpoint`)
in blocks that always end on a line boundary, so a record is never split
between two batches. A last line without a newline is taken only when the
file is a compressed stream whose data ended cleanly or the line is complete
JSON; otherwise, in a plain file, it is left for the next run (the writer may
still be writing it) and reported as pending, never dropped. A compressed
file that stops decoding early (cut short, corrupt, garbage after its end) is
read as far as it decodes and its damage is kept in :attr:`ReadResult.damage`
(see :mod:`honeyfarm.collect.decompress`). A UTF-8 byte-order mark at the
start of a file is not part of its first record.
"""

from __future__ import annotations

import glob
import hashlib
import io
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from honeyfarm.collect.attribution import FileContext
from honeyfarm.collect.decompress import GZIP_MAGIC as GZIP_MAGIC  # re-exported: remote_s3 sniffs objects
from honeyfarm.collect.decompress import ZSTD_MAGIC as ZSTD_MAGIC
from honeyfarm.collect.decompress import Damage, DecodingStream, GzipStream, ZstdStream

#: A UTF-8 byte-order mark (Windows tools write one); stripped from the start of a file.
BOM = b"\xef\xbb\xbf"
#: Bytes of the (decompressed) head that identify a file across renames.
HEAD_BYTES = 4096
#: Bytes before the checkpoint offset that must match for a resume.
TAIL_BYTES = 256
#: Files whose names end like this are skipped when a directory is expanded.
_SKIP_SUFFIXES = (".md", ".sqlite", ".db", ".parquet", ".tmp", ".partial", ".lock")
#: Captured files shipped to the object store (``<files_prefix>/sha256/<aa>/<sha256>``, see
#: :mod:`honeyfarm.collect.ship_files`): attackers' binaries, never logs. Matched by shape, not by
#: prefix, so ingest of a store root skips them whatever ``files_prefix`` is.
_CONTENT_KEY = re.compile(r"(?:^|/)sha256/([0-9a-f]{2})/\1[0-9a-f]{62}$")


def is_content_key(key: str) -> bool:
    """Whether a path or object key is a captured file in a shipped content store (skipped by ingest)."""
    return _CONTENT_KEY.search(key.replace(os.sep, "/")) is not None


class InputError(Exception):
    """A path given to ingest does not exist or cannot be read."""


def expand_paths(args: list[str]) -> list[Path]:
    """Files named by ``args``: plain files, directories (recursively) and globs, sorted, without repeats."""
    out: dict[Path, None] = {}
    for arg in args:
        if glob.has_magic(arg):
            matches = sorted(glob.glob(arg, recursive=True))
            if not matches:
                raise InputError(f"no file matches {arg}")
            candidates = [Path(m) for m in matches if not is_content_key(m)]
        else:
            candidates = [Path(arg)]
        for p in candidates:
            if p.is_dir():
                for root, dirs, files in os.walk(p):
                    dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                    for name in sorted(files):
                        path = Path(root) / name
                        if (
                            not name.startswith(".")
                            and not name.endswith(_SKIP_SUFFIXES)
                            and not is_content_key(str(path))
                        ):
                            out[path] = None
            elif p.is_file():
                out[p] = None
            elif not p.exists():
                raise InputError(f"no such file or directory: {p}")
            else:
                raise InputError(f"not a regular file: {p}")
    return list(out)


@dataclass
class StagedSource:
    """A remote object (or a run of log events) copied into a local file, to be read like one.

    Remote sources (:mod:`honeyfarm.collect.remote_s3`,
    :mod:`honeyfarm.collect.remote_cloudwatch`) keep their own positions
    instead of the head-keyed file checkpoints: the ingest pipeline calls
    ``record`` for every block of the file once its batch is durable, and
    ``finish`` once the batch holding the file's last line is.
    """

    #: Name shown in errors and dead letters, e.g. ``s3://bucket/key``.
    label: str
    path: Path
    #: Where to resume reading: (offset, lines, digest of the bytes before offset), or None for the start.
    resume: tuple[int, int, str] | None = None
    record: Callable[[int, int, bytes], None] | None = None
    finish: Callable[[], None] | None = None
    #: Default sensor and delivery time its location states (see :mod:`honeyfarm.collect.attribution`).
    context: FileContext | None = None


def compression_of(path: Path) -> str | None:
    """``gzip``, ``zstd`` or ``None``, from the file's magic bytes (not its name)."""
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic.startswith(GZIP_MAGIC):
        return "gzip"
    if magic.startswith(ZSTD_MAGIC):
        return "zstd"
    return None


def open_stream(path: Path) -> BinaryIO:
    """Open ``path`` for reading decompressed bytes (a damaged stream ends early; see :func:`stream_damage`)."""
    kind = compression_of(path)
    if kind == "gzip":
        return io.BufferedReader(GzipStream(path), buffer_size=1 << 20)
    if kind == "zstd":
        return io.BufferedReader(ZstdStream(path), buffer_size=1 << 20)
    return open(path, "rb")


def stream_damage(f: BinaryIO) -> Damage | None:
    """Where and why a stream from :func:`open_stream` stopped early, once it has returned EOF."""
    raw = getattr(f, "raw", None)
    return raw.damage if isinstance(raw, DecodingStream) else None


def read_head(path: Path) -> bytes:
    """First :data:`HEAD_BYTES` decompressed bytes (fewer if the file is shorter or stops decoding)."""
    return read_head_damage(path)[0]


def read_head_damage(path: Path) -> tuple[bytes, Damage | None]:
    """:func:`read_head`, and the damage that ended the stream within the head, if any."""
    with open_stream(path) as f:
        head = _read_exact(f, HEAD_BYTES)
        return head, stream_damage(f)


def _read_exact(f: BinaryIO, n: int) -> bytes:
    parts: list[bytes] = []
    left = n
    while left > 0:
        chunk = f.read(left)
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def first_lines(head: bytes, n: int = 20) -> list[bytes]:
    """Up to ``n`` non-blank lines of ``head`` (the last one may be cut), without a byte-order mark."""
    return [ln for ln in head.removeprefix(BOM).splitlines() if ln.strip()][:n]


def json_complete(fragment: bytes) -> bool:
    """Whether a trailing fragment is a complete JSON value (so the writer has finished it)."""
    try:
        json.loads(fragment)
    except ValueError:
        return False
    return True


@dataclass
class Block:
    """Whole lines read from one file."""

    #: The lines, each ending in ``\n`` (a view of the read buffer, not a copy).
    data: memoryview | bytes
    #: Start offset in ``data`` of every line, plus ``len(data)``.
    offsets: np.ndarray
    #: Offset (in decompressed bytes) of ``data[0]``.
    start: int
    #: Line number (1-based) of the first line of ``data``.
    first_line: int
    #: Lines that were too long to keep: (line number, capped bytes, full size).
    oversized: list[tuple[int, bytes, int]]
    #: Offset just after the last consumed byte, and lines consumed so far.
    end: int
    end_lines: int
    #: The (up to :data:`TAIL_BYTES`) file bytes just before ``end``, for the resume check.
    tail: bytes


@dataclass
class ReadResult:
    #: Bytes of an unfinished last line of a plain file (the writer may still be writing it).
    pending_bytes: int = 0
    #: Why a compressed stream stopped decoding early, if it did.
    damage: Damage | None = None
    #: The cut-off last line of a damaged stream (not a record), and its line number.
    fragment: bytes = b""
    fragment_line: int = 0


class FileReader:
    """Reads whole-line blocks of one file from a given offset."""

    def __init__(self, path: Path, block_bytes: int, max_record_bytes: int) -> None:
        self.path = path
        self.block_bytes = block_bytes
        self.max_record_bytes = max_record_bytes
        self.compressed = compression_of(path) is not None
        self.result = ReadResult()

    def verify_resume(self, offset: int, tail_digest: str) -> bool:
        """Whether the bytes just before ``offset`` are the ones seen last time."""
        if offset == 0:
            return True
        if not self.compressed and self.path.stat().st_size < offset:
            return False
        start = max(0, offset - TAIL_BYTES)
        with open_stream(self.path) as f:
            _skip(f, start)
            got = _read_exact(f, offset - start)
        return len(got) == offset - start and digest(got) == tail_digest

    def blocks(self, offset: int, lines: int) -> Iterator[Block]:
        """Blocks from ``offset`` (which is line ``lines + 1``) to the end of the file."""
        with open_stream(self.path) as f:
            start = max(0, offset - TAIL_BYTES)
            _skip(f, start)
            prev = _read_exact(f, offset - start)
            yield from self._blocks(f, offset, lines, prev)
            self.result.damage = stream_damage(f)

    def _read(self, f: BinaryIO) -> bytes:
        return f.read(self.block_bytes)

    def _blocks(self, f: BinaryIO, pos: int, lines: int, prev: bytes) -> Iterator[Block]:
        buf: bytes | bytearray = b""  # read but not yet emitted; buf[0] is at offset `pos`
        if prev and not prev.endswith(b"\n"):
            # Last time a finished last line was taken without its newline; the
            # newline that has since been written ends that line, not a new one.
            first = self._read(f)
            for ending in (b"\r\n", b"\n"):
                if first.startswith(ending):
                    pos += len(ending)
                    prev = (prev + ending)[-TAIL_BYTES:]
                    first = first[len(ending) :]
                    break
            buf = first
        elif pos == 0:
            first = _read_exact(f, len(BOM))
            if first == BOM:  # not part of the first record; offsets stay file offsets
                pos, prev, first = len(BOM), BOM, b""
            buf = first
        oversized: list[tuple[int, bytes, int]] = []
        while True:
            buf, eof = self._read_after(f, buf)
            cut = buf.rfind(b"\n")
            if not eof and cut == -1:
                if len(buf) > self.max_record_bytes:
                    # One line longer than we keep whole: a capped copy goes to
                    # dead-letter, the rest of the line is skipped, memory stays bounded.
                    size, content, rest = self._skip_long_line(f, bytes(buf))
                    oversized.append((lines + 1, bytes(buf[: self.max_record_bytes]), content))
                    lines += 1
                    pos += size
                    buf = rest
                continue
            # Zero-copy: the block is a view of the read buffer; only the short
            # unfinished tail is copied out for the next round.
            data: memoryview | bytes = memoryview(buf)[: cut + 1]
            rest_bytes = bytes(buf[cut + 1 :])
            end = pos + len(data)
            fragment = b""
            if eof and rest_bytes:
                damage = stream_damage(f)
                if (self.compressed and (damage is None or damage.data_complete)) or json_complete(rest_bytes):
                    # A finished last line without its newline: take it; the
                    # offset stops at the file's real end.
                    end += len(rest_bytes)
                    data = bytes(data) + rest_bytes + b"\n"
                elif self.compressed:
                    fragment = rest_bytes  # cut by the damage: reported with it, never a record
                else:
                    self.result.pending_bytes = len(rest_bytes)
                rest_bytes = b""
            buf = rest_bytes
            offsets = line_offsets(data)
            n = len(offsets) - 1
            if eof:
                self.result.fragment, self.result.fragment_line = fragment, lines + n + 1
            if n or oversized:
                file_bytes = end - pos
                prev = (prev + bytes(data[max(0, file_bytes - TAIL_BYTES) : file_bytes]))[-TAIL_BYTES:]
                yield Block(data, offsets, pos, lines + 1, oversized, end, lines + n, prev)
                oversized = []
            lines += n
            pos = end
            if eof:
                return

    def _read_after(self, f: BinaryIO, head: bytes | bytearray) -> tuple[bytes | bytearray, bool]:
        """``head`` followed by the next block of the file, and whether the file ended.

        Plain files are read straight into one buffer behind ``head`` (one copy,
        the kernel's), instead of reading and then concatenating.
        """
        if self.compressed:
            chunk = self._read(f)
            return (bytes(head) + chunk if head else chunk), not chunk
        buf = bytearray(len(head) + self.block_bytes)
        buf[: len(head)] = head
        got = len(head)
        view = memoryview(buf)
        while got < len(buf):
            n = f.readinto(view[got:])  # type: ignore[attr-defined]
            if not n:
                break
            got += n
        eof = got == len(head)
        view.release()
        if got < len(buf):
            del buf[got:]  # only at the end of the file
        return buf, eof

    def _skip_long_line(self, f: BinaryIO, buf: bytes) -> tuple[int, int, bytes]:
        """Consume the rest of an over-long line.

        Returns the bytes consumed (with the line ending), the record's own size
        (without it) and the bytes read past the line.
        """
        size = len(buf)
        last = buf[-1:]
        while True:
            chunk = self._read(f)
            if not chunk:
                return size, size, b""
            nl = chunk.find(b"\n")
            if nl != -1:
                before = chunk[nl - 1 : nl] if nl else last
                ending = 2 if before == b"\r" else 1
                return size + nl + 1, size + nl + 1 - ending, chunk[nl + 1 :]
            size += len(chunk)
            last = chunk[-1:]


def line_offsets(data: memoryview | bytes) -> np.ndarray:
    """Start offsets of every line of ``data`` (which ends with ``\\n``), plus ``len(data)``."""
    arr = np.frombuffer(data, dtype=np.uint8)
    step = 1 << 24  # scan in cache-sized pieces: ~5x faster than one huge comparison
    ends = [np.flatnonzero(arr[s : s + step] == 10) + s for s in range(0, len(arr), step)]
    nl = np.concatenate(ends) if ends else np.zeros(0, np.int64)
    offsets = np.empty(len(nl) + 1, dtype=np.int64)
    offsets[0] = 0
    offsets[1:] = nl + 1
    return offsets


def _skip(f: BinaryIO, n: int) -> None:
    if n <= 0:
        return
    if isinstance(f, io.BufferedReader | io.FileIO) and not isinstance(getattr(f, "raw", None), DecodingStream):
        f.seek(n)
        return
    left = n
    while left > 0:
        chunk = f.read(min(left, 1 << 20))
        if not chunk:
            break
        left -= len(chunk)
