# SPDX-License-Identifier: MIT
"""Content-addressed store for files the sensor downloads on an attacker's behalf.

Layout: ``root/<first two hex digits>/<sha256 hex>`` (a 256-way fan-out so no
directory grows huge). Files in progress are ``root/.tmp-<random>.part``,
created with ``O_EXCL``, hashed while written, fsync'd and then renamed
atomically to their content name; a temp file never carries a content name, so
a crash leaves only ``.tmp-*`` files, which the next start removes.

The store keeps the total size of its files under ``quota_bytes``, evicting the
least recently stored or re-seen (oldest mtime) first. The directory is
scanned once when the store is opened; after that an in-memory index (size and
mtime per file, plus a heap ordered by mtime) makes every put O(log n).

A :class:`ContentStore` is safe to use from several threads (the downloader
writes FTP data from a worker thread and commits off the event loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import os
import re
import secrets
import threading
import time
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HEAD_BYTES", "BlobWriter", "ContentStore", "StoreClosed", "StoredBlob"]

HEAD_BYTES = 64 * 1024  # kept in memory for FetchResult.head
TEMP_PREFIX = ".tmp-"
TEMP_SUFFIX = ".part"
_SHA_RE = re.compile(r"[0-9a-f]{64}")
_FANOUT_RE = re.compile(r"[0-9a-f]{2}")


class StoreClosed(Exception):
    """Written to a :class:`BlobWriter` that was already committed or aborted."""


@dataclass(frozen=True)
class StoredBlob:
    """What :meth:`BlobWriter.commit` (or :meth:`ContentStore.put`) did with a file."""

    sha256: str
    size: int
    path: Path | None  # None when not kept (larger than the whole quota)
    deduplicated: bool = False  # the same content was already stored
    head: bytes = b""  # first HEAD_BYTES bytes
    truncated: bool = False  # writes stopped at the writer's max_bytes

    @property
    def kept(self) -> bool:
        return self.path is not None


class ContentStore:
    """Files named by their sha256 under ``root`` (see the module docstring)."""

    def __init__(self, root: Path, quota_bytes: int) -> None:
        if quota_bytes < 0:
            raise ValueError("quota_bytes must be >= 0")
        self.root = Path(root)
        self.quota_bytes = quota_bytes
        self._lock = threading.Lock()
        self._index: dict[str, tuple[int, int]] = {}  # sha256 -> (size, mtime_ns)
        self._heap: list[tuple[int, int, str]] = []  # (mtime_ns, seq, sha256); stale entries skipped
        self._seq = 0
        self._total = 0
        self.root.mkdir(parents=True, exist_ok=True)
        self._scan()
        with self._lock:
            self._evict_locked(keep=None)

    # -- public API -----------------------------------------------------------

    def path_of(self, sha256: str) -> Path:
        """Where the file with this sha256 is (or would be) stored."""
        sha = sha256.lower()
        if not _SHA_RE.fullmatch(sha):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / sha[:2] / sha

    def __contains__(self, sha256: object) -> bool:
        if not isinstance(sha256, str):
            return False
        with self._lock:
            return sha256.lower() in self._index

    def __len__(self) -> int:
        with self._lock:
            return len(self._index)

    @property
    def total_bytes(self) -> int:
        """Sum of the sizes of the stored files (temp files in progress not included)."""
        with self._lock:
            return self._total

    def open_writer(self, max_bytes: int | None = None) -> BlobWriter:
        """Start a new file; write to it, then :meth:`BlobWriter.commit` or :meth:`BlobWriter.abort`."""
        return BlobWriter(self, max_bytes)

    def put(self, data: bytes | Iterable[bytes], max_bytes: int | None = None) -> StoredBlob:
        """Store ``data`` (bytes or an iterable of chunks), streaming it to disk."""
        with self.open_writer(max_bytes) as w:
            for chunk in [data] if isinstance(data, bytes | bytearray | memoryview) else data:
                if not w.write(chunk):
                    break
            return w.commit()

    async def put_stream(self, chunks: AsyncIterable[bytes], max_bytes: int | None = None) -> StoredBlob:
        """Like :meth:`put` for an async iterable of chunks (commit runs in a worker thread)."""
        w = self.open_writer(max_bytes)
        try:
            async for chunk in chunks:
                if not w.write(chunk):
                    break
            return await asyncio.to_thread(w.commit)
        finally:
            w.abort()

    # -- internals ------------------------------------------------------------

    def _scan(self) -> None:
        """Index existing files and delete temp files left by a crash (once, at start)."""
        found: list[tuple[int, str, int]] = []
        with os.scandir(self.root) as top:
            for entry in top:
                if entry.name.startswith(TEMP_PREFIX):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                    continue
                if not (_FANOUT_RE.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False)):
                    continue
                with os.scandir(entry.path) as sub:
                    for f in sub:
                        if not (_SHA_RE.fullmatch(f.name) and f.name.startswith(entry.name)):
                            continue
                        if not f.is_file(follow_symlinks=False):
                            continue
                        try:
                            st = f.stat(follow_symlinks=False)
                        except OSError:
                            continue
                        found.append((st.st_mtime_ns, f.name, st.st_size))
        found.sort()
        with self._lock:
            for mtime_ns, sha, size in found:
                self._add_locked(sha, size, mtime_ns)

    def _add_locked(self, sha: str, size: int, mtime_ns: int) -> None:
        old = self._index.get(sha)
        if old is not None:
            self._total -= old[0]
        self._index[sha] = (size, mtime_ns)
        self._total += size
        self._seq += 1
        heapq.heappush(self._heap, (mtime_ns, self._seq, sha))
        if len(self._heap) > 2 * len(self._index) + 64:
            self._compact_locked()

    def _compact_locked(self) -> None:
        live = {sha: m for sha, (_, m) in self._index.items()}
        self._heap = [e for e in self._heap if live.get(e[2]) == e[0]]
        heapq.heapify(self._heap)

    def _evict_locked(self, keep: str | None) -> None:
        """Delete oldest files until the total is within quota, never ``keep``."""
        skipped: list[tuple[int, int, str]] = []
        while self._total > self.quota_bytes and self._heap:
            entry = heapq.heappop(self._heap)
            mtime_ns, _, sha = entry
            cur = self._index.get(sha)
            if cur is None or cur[1] != mtime_ns:
                continue  # stale heap entry
            if sha == keep:
                skipped.append(entry)
                continue
            del self._index[sha]
            self._total -= cur[0]
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path_of(sha))
        for entry in skipped:
            heapq.heappush(self._heap, entry)

    def _new_temp(self) -> tuple[int, Path]:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
        while True:
            path = self.root / f"{TEMP_PREFIX}{secrets.token_hex(12)}{TEMP_SUFFIX}"
            try:
                return os.open(path, flags, 0o600), path
            except FileExistsError:
                continue

    def _finish(self, tmp: Path, sha: str, size: int) -> tuple[Path | None, bool]:
        """Move a complete, fsync'd temp file into place; returns (path or None, deduplicated)."""
        if size > self.quota_bytes:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            return None, False
        final = self.path_of(sha)
        with self._lock:
            dedup = sha in self._index and final.exists()
            if dedup:
                os.unlink(tmp)
            else:
                final.parent.mkdir(exist_ok=True)
                os.replace(tmp, final)
                _fsync_dir(final.parent)
            # A precise clock, not the filesystem's coarse one, orders the files for eviction.
            now = time.time_ns()
            with contextlib.suppress(OSError):
                os.utime(final, ns=(now, now))
            self._add_locked(sha, size, now)
            self._evict_locked(keep=sha)
        return final, dedup


class BlobWriter:
    """One file being written to a :class:`ContentStore`.

    ``write`` hashes and appends; with ``max_bytes`` it keeps at most that many
    bytes, and once bytes beyond the cap are offered it sets ``truncated`` and
    returns False (so content of exactly ``max_bytes`` is not truncated). Thread-safe: ``abort`` from another
    thread makes later ``write`` calls raise :class:`StoreClosed`. Usable as a
    context manager that aborts unless committed.
    """

    def __init__(self, store: ContentStore, max_bytes: int | None = None) -> None:
        self._store = store
        self._max = max_bytes
        self._lock = threading.Lock()
        self._fd, self._tmp = store._new_temp()
        self._hash = hashlib.sha256()
        self._head = bytearray()
        self.size = 0
        self.truncated = False
        self._done = False

    @property
    def head(self) -> bytes:
        return bytes(self._head)

    @property
    def full(self) -> bool:
        """True once ``max_bytes`` bytes were written."""
        return self._max is not None and self.size >= self._max

    def write(self, data: bytes | bytearray | memoryview) -> bool:
        """Append ``data``; False once bytes beyond ``max_bytes`` were offered (stop reading)."""
        with self._lock:
            if self._done:
                raise StoreClosed("writer is closed")
            view = memoryview(data)
            if self._max is not None:
                room = self._max - self.size
                if len(view) > room:
                    view = view[:room]
                    self.truncated = True
            if view:
                if len(self._head) < HEAD_BYTES:
                    self._head += view[: HEAD_BYTES - len(self._head)]
                self._hash.update(view)
                while view:
                    n = os.write(self._fd, view)
                    view = view[n:]
                    self.size += n
            return not self.truncated

    def commit(self) -> StoredBlob:
        """fsync, rename to the content name (or dedup), enforce the quota."""
        with self._lock:
            if self._done:
                raise StoreClosed("writer is closed")
            self._done = True
            try:
                os.fsync(self._fd)
            finally:
                os.close(self._fd)
            sha = self._hash.hexdigest()
            try:
                path, dedup = self._store._finish(self._tmp, sha, self.size)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(self._tmp)
                raise
            return StoredBlob(sha, self.size, path, dedup, bytes(self._head), self.truncated)

    def abort(self) -> None:
        """Discard the temp file (no-op after commit or a previous abort)."""
        with self._lock:
            if self._done:
                return
            self._done = True
            with contextlib.suppress(OSError):
                os.close(self._fd)
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
