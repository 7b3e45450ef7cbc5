# SPDX-License-Identifier: MIT
"""The sensor's spool: event JSON lines in size- and time-rotated files.

The open file is ``<name>-<UTC start>-<seq>.jsonl.part``; rotation flushes,
fsyncs and renames it to ``.jsonl``, after which it is never touched again, so
a shipper may take any ``*.jsonl`` file as final. ``honeyfarm ingest`` can
also read the ``.part`` file while it grows: its checkpoints key a file by its
first bytes, so the rename does not make it a new file.

The spool is bounded: past ``spool.max_bytes`` events are counted instead of
written, and a ``honeyfarm.sensor.spool_full`` event records how many were
lost as soon as there is room again. Losing events is bad; filling the disk of
a sensor (and so losing everything after it) is worse.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

from honeyfarm.lake.durable import fsync_dir
from honeyfarm.sensor.config import SpoolConfig

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
        self._fh: BinaryIO | None = None
        self._path: Path | None = None
        self._opened = 0.0
        self._size = 0
        self._dirty = False
        self.dropped = 0
        self.written = 0
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
        """Append one record; ``False`` when it was dropped because the spool is full."""
        line = (json.dumps(record, ensure_ascii=True, separators=(",", ":"), default=str) + "\n").encode()
        if not self.has_room(len(line)):
            self.dropped += 1
            return False
        if self.dropped:
            note = {
                "ts": record.get("ts"),
                "eventid": "honeyfarm.sensor.spool_full",
                "sensor": record.get("sensor"),
                "dropped": self.dropped,
            }
            self.dropped = 0
            self._append((json.dumps(note, separators=(",", ":")) + "\n").encode())
        self._append(line)
        return True

    def _append(self, line: bytes) -> None:
        now = self._clock()
        if self._fh is not None and (
            self._size + len(line) > self.cfg.rotate_bytes or now - self._opened >= self.cfg.rotate_seconds
        ):
            self.rotate()
        if self._fh is None:
            self._open(now)
        assert self._fh is not None
        self._fh.write(line)
        self._size += len(line)
        self.written += 1
        self._dirty = True
        if self.cfg.fsync_interval == 0:
            self.sync()

    def _open(self, now: float) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        self._path = self.dir / f"{self.name}-{stamp}-{self._seq:06d}.jsonl.part"
        self._seq += 1
        # O_EXCL: a file name is used once; never append to something else's file.
        fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        self._fh = os.fdopen(fd, "wb", buffering=64 * 1024)
        self._opened = now
        self._size = 0
        fsync_dir(self.dir)

    def sync(self) -> None:
        """Flush and fsync the open file (called every ``fsync_interval`` seconds)."""
        if self._fh is not None and self._dirty:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._dirty = False

    def maybe_rotate(self) -> None:
        """Rotate an open file past its age even when no event arrives."""
        if self._fh is not None and self._clock() - self._opened >= self.cfg.rotate_seconds:
            self.rotate()

    def rotate(self) -> Path | None:
        """Close the open file for good: flush, fsync, rename ``.part`` → ``.jsonl``."""
        if self._fh is None or self._path is None:
            return None
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        final = self._path.with_name(self._path.name[: -len(".part")])
        os.replace(self._path, final)
        fsync_dir(self.dir)
        self._closed_bytes += self._size
        self._fh, self._path, self._size, self._dirty = None, None, 0, False
        return final

    def close(self) -> None:
        self.rotate()

    @property
    def current(self) -> Path | None:
        return self._path
