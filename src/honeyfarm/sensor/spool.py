# SPDX-License-Identifier: MIT
"""The sensor's spool: event JSON lines in size- and time-rotated files.

The open file is ``<name>-<UTC start>-<seq>.jsonl.part``; rotation flushes,
fsyncs and renames it to ``.jsonl``, after which it is never touched again, so
a shipper may take any ``*.jsonl`` file as final. ``honeyfarm ingest`` can
also read the ``.part`` file while it grows: its checkpoints key a file by its
first bytes, so the rename does not make it a new file.

The spool is bounded: past ``spool.max_bytes`` events are counted instead of
written, and a ``honeyfarm.sensor.spool_full`` event records how many were
lost, and why, as soon as there is room again. Losing events is bad; filling
the disk of a sensor (and so losing everything after it) is worse. A disk that
refuses writes (ENOSPC below the cap) is the same case: lines wait in memory
(``MAX_PENDING``), then are counted; a line cut by the error is taken back, so
every line on disk is whole and ``emitted == written + dropped``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from honeyfarm.lake.durable import fsync_dir
from honeyfarm.sensor.config import SpoolConfig
from honeyfarm.sensor.guard import say

#: Accepted lines kept in memory while the disk refuses writes (ENOSPC); past it events are dropped, counted.
MAX_PENDING = 1024 * 1024
#: Pending lines are written once this many bytes wait (else at the next fsync tick).
FLUSH_BYTES = 64 * 1024

_NAME = re.compile(r"^(?P<name>.+)-(?P<stamp>\d{8}T\d{6}Z)-(?P<seq>\d{6,})\.jsonl(?:\.part)?$")


def _sizes(paths: Iterable[Path]) -> int:
    total = 0
    for p in paths:
        try:
            total += p.stat().st_size
        except OSError:  # removed meanwhile (shipped)
            continue
    return total


class Spool:
    """Append-only, rotating writer of JSON lines. Not thread-safe: the event loop owns it."""

    def __init__(self, cfg: SpoolConfig, sensor_name: str, clock: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self.name = re.sub(r"[^A-Za-z0-9_.-]", "_", sensor_name)
        self.dir = Path(cfg.dir) / "events"
        self.dir.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._fd: int | None = None
        self._path: Path | None = None
        self._opened = 0.0
        self._disk = 0  # bytes of the open file on disk
        self._pending: list[bytes] = []  # accepted lines not yet written
        self._pending_bytes = 0
        self._dirty = False
        self._error: str | None = None  # errno name while the disk refuses writes
        self.dropped = 0  # not yet reported in a spool_full event
        self.dropped_total = 0
        self.drop_reasons: dict[str, int] = {}
        self.written = 0
        self.stamp: dict[str, Any] = {"sensor": sensor_name}  # EventLog sets the full identity
        self._seq = self._recover()
        self._others = self._usage_outside_events()
        self._closed_bytes = _sizes(self.dir.glob("*.jsonl"))

    # --- startup ------------------------------------------------------------
    def _recover(self) -> int:
        """Close ``.part`` files a crash left open; return the next sequence number."""
        seq = 0
        for p in sorted(self.dir.iterdir()):
            m = _NAME.match(p.name)
            if not m:
                continue
            seq = max(seq, int(m["seq"]) + 1)
            if p.name.endswith(".part"):
                self._seal_after_crash(p)
        return seq

    @staticmethod
    def _seal_after_crash(path: Path) -> None:
        # A line cut by the crash is not JSON: drop the partial tail so every closed line is whole.
        data = path.read_bytes()
        keep = data.rfind(b"\n") + 1
        if keep != len(data):
            with path.open("r+b") as fh:
                fh.truncate(keep)
                os.fsync(fh.fileno())
        final = path.with_name(path.name[: -len(".part")])
        if keep == 0:
            path.unlink()
        else:
            os.replace(path, final)
        fsync_dir(path.parent)

    def _usage_outside_events(self) -> int:
        total = 0
        root = Path(self.cfg.dir)
        for sub in ("tty",):
            d = root / sub
            if d.is_dir():
                total += _sizes(d.iterdir())
        return total

    # --- writing ------------------------------------------------------------
    @property
    def _size(self) -> int:
        return self._disk + self._pending_bytes

    @property
    def used_bytes(self) -> int:
        return self._closed_bytes + self._size + self._others

    def refresh_usage(self) -> None:
        """Re-measure the disk use (a shipper removes closed files; TTY logs grow beside us)."""
        self._closed_bytes = _sizes(self.dir.glob("*.jsonl"))
        self._others = self._usage_outside_events()

    def account_external(self, nbytes: int) -> None:
        """Count bytes written beside the events (TTY logs) against ``max_bytes``."""
        self._others += nbytes

    def has_room(self, nbytes: int = 0) -> bool:
        return self.used_bytes + nbytes <= self.cfg.max_bytes

    def write(self, record: dict[str, Any]) -> bool:
        """Accept one record; ``False`` when it was dropped (spool full, or the disk refusing writes
        for longer than ``MAX_PENDING`` bytes of events). Drops are counted, never silent."""
        line = (json.dumps(record, ensure_ascii=True, separators=(",", ":"), default=str) + "\n").encode()
        if not self.has_room(len(line)):
            return self._drop("max_bytes")
        if self._error is not None and self._pending_bytes + len(line) > MAX_PENDING:
            return self._drop(self._error)
        if self.dropped and self._error is None:
            self._queue(self._note())
        if not self._queue(line):
            return self._drop(self._error or "error")
        if self.cfg.fsync_interval == 0:
            self.sync()
        elif self._pending_bytes >= FLUSH_BYTES:
            self._flush()
        return True

    def _drop(self, reason: str, n: int = 1) -> bool:
        self.dropped += n
        self.dropped_total += n
        self.drop_reasons[reason] = self.drop_reasons.get(reason, 0) + n
        return False

    def _note(self) -> bytes:
        note = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self._clock())) + "Z",
            "eventid": "honeyfarm.sensor.spool_full",
            **self.stamp,
            "dropped": self.dropped,
            "reasons": dict(self.drop_reasons),
        }
        self.dropped = 0
        self.drop_reasons = {}
        return (json.dumps(note, separators=(",", ":"), default=str) + "\n").encode()

    def _queue(self, line: bytes) -> bool:
        now = self._clock()
        if self._fd is not None and (
            self._size + len(line) > self.cfg.rotate_bytes or now - self._opened >= self.cfg.rotate_seconds
        ):
            self.rotate()
        if self._fd is None:
            try:
                self._open(now)
            except OSError as exc:
                self._failed(exc)
                return False
        self._pending.append(line)
        self._pending_bytes += len(line)
        return True

    def _failed(self, exc: OSError) -> None:
        reason = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
        if self._error is None:
            say(f"spool writes fail ({reason}: {exc.strerror}); events wait in memory, then are counted as dropped")
        self._error = reason

    def _flush(self) -> bool:
        """Write the pending lines. On an error keep every whole line written and the rest pending."""
        if not self._pending or self._fd is None:
            return True
        data = b"".join(self._pending)
        off = 0
        try:
            while off < len(data):
                off += os.write(self._fd, memoryview(data)[off:])
        except OSError as exc:
            whole, nbytes = 0, 0
            for line in self._pending:
                if nbytes + len(line) > off:
                    break
                whole, nbytes = whole + 1, nbytes + len(line)
            if nbytes != off:  # a cut line is not JSON: take it back (shrinking needs no space)
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, self._disk + nbytes)
            self._wrote(whole, nbytes)
            self._failed(exc)
            return False
        self._wrote(len(self._pending), len(data))
        if self._error is not None:
            say(f"spool writes work again after {self._error}")
            self._error = None
        return True

    def _wrote(self, lines: int, nbytes: int) -> None:
        self.written += lines
        self._disk += nbytes
        del self._pending[:lines]
        self._pending_bytes -= nbytes
        self._dirty = self._dirty or lines > 0

    def _open(self, now: float) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        path = self.dir / f"{self.name}-{stamp}-{self._seq:06d}.jsonl.part"
        self._seq += 1
        # O_EXCL: a file name is used once; never append to something else's file.
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o640)
        self._path = path
        self._opened = now
        self._disk = 0
        fsync_dir(self.dir)

    def sync(self) -> None:
        """Write and fsync the open file (every ``fsync_interval`` seconds); report drops once it works."""
        ok = self._flush()
        # With no new event to carry it, the report goes out here, once there is clearly room again
        # (not a note per tick while the spool sits at its cap).
        if ok and self.dropped and self._fd is not None and self.has_room(1024 + self.cfg.max_event_bytes):
            self._queue(self._note())
            self._flush()
        if self._fd is not None and self._dirty:
            os.fsync(self._fd)
            self._dirty = False

    def maybe_rotate(self) -> None:
        """Rotate an open file past its age even when no event arrives."""
        if self._fd is not None and self._clock() - self._opened >= self.cfg.rotate_seconds:
            self.rotate()

    def rotate(self) -> Path | None:
        """Close the open file for good: write, fsync, rename ``.part`` → ``.jsonl``.

        Not while the disk refuses the pending lines: the file stays open and is retried."""
        if self._fd is None or self._path is None or not self._flush():
            return None
        os.fsync(self._fd)
        os.close(self._fd)
        final = self._path.with_name(self._path.name[: -len(".part")])
        os.replace(self._path, final)
        fsync_dir(self.dir)
        self._closed_bytes += self._disk
        self._fd, self._path, self._disk, self._dirty = None, None, 0, False
        return final

    def close(self) -> None:
        """Seal the open file. Lines the disk still refuses, and unreported drops, are said on stderr."""
        if not self._flush():
            self._drop(self._error or "error", len(self._pending))
            self._pending.clear()
            self._pending_bytes = 0
        if self.dropped:
            say(f"{self.dropped} events were never written: {self.drop_reasons}")
        self.rotate()

    @property
    def current(self) -> Path | None:
        return self._path
