# SPDX-License-Identifier: MIT
"""``ingest NAME --follow``: a followed file name keeps its old file until that file is read to its end.

Each pass of ``--follow`` reads the sources again. When logrotate renames
``cowrie.json`` to ``cowrie.json.1``, the writer goes on appending to the old
file until it reopens the name, and the follower may not have read the old
file's last lines yet. Following a glob (``cowrie.json*``) still reaches the
renamed file; following the bare name did not, and those lines were lost.

So each file named on the command line (not a directory or a glob) is held
open between passes and read through that descriptor (``/proc/self/fd/N``).
When the name comes to point at another file (another inode), or at nothing,
the held file is read to its end first, then closed, and the new file is
opened. Checkpoints are keyed by a file's first bytes, so the old file
resumes exactly where the last pass stopped.
"""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from honeyfarm.collect.files import InputError, expand_paths

_FD_DIR = Path("/proc/self/fd") if Path("/proc/self/fd").is_dir() else Path("/dev/fd")


def _fd_path(f: BinaryIO) -> Path:
    """A path that opens the very file ``f`` has open, even if it was renamed or deleted since."""
    return _FD_DIR / str(f.fileno())


class FollowedFiles:
    """The files named on the command line, held open across ``--follow`` passes."""

    def __init__(self) -> None:
        self._held: dict[str, BinaryIO] = {}
        self._retired: list[BinaryIO] = []  # renamed away: read to the end this pass, then closed

    def expand(self, args: list[str]) -> list[tuple[Path, str]]:
        """(path to read, name to report) for one pass, an old file always before its name's new one."""
        out: list[tuple[Path, str]] = []
        for arg in args:
            named = not glob.has_magic(arg) and not Path(arg).is_dir()
            if not named:
                out.extend((p, str(p)) for p in expand_paths([arg]))
                continue
            path = Path(arg)
            key = str(path)
            try:
                st: os.stat_result | None = path.stat()
            except FileNotFoundError:
                st = None  # between logrotate's rename and the writer's reopen
            held = self._held.get(key)
            if held is not None:
                old = os.fstat(held.fileno())
                if st is None or (old.st_dev, old.st_ino) != (st.st_dev, st.st_ino):
                    out.append((_fd_path(held), key))  # drain the old file first
                    self._retired.append(self._held.pop(key))
                    held = None
            if st is None:
                if not out or out[-1][1] != key:
                    raise InputError(f"no such file or directory: {path}")
                continue
            if held is None:
                [checked] = expand_paths([arg])  # a regular file, or the usual error
                try:
                    held = self._held[key] = open(checked, "rb")  # noqa: SIM115 - closed in end_pass/close
                except OSError:
                    out.append((checked, key))
                    continue
            out.append((_fd_path(held), key))
        return out

    def end_pass(self) -> None:
        """Close the files read to their end in this pass."""
        for f in self._retired:
            f.close()
        self._retired = []

    def close(self) -> None:
        self.end_pass()
        for f in self._held.values():
            f.close()
        self._held = {}


def sleep_unless_stopped(seconds: float, stop: Callable[[], bool] | None) -> bool:
    """Wait ``seconds``, waking early when ``stop`` says yes; returns whether it did."""
    deadline = time.monotonic() + seconds
    while True:
        if stop is not None and stop():
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(left, 0.1))


__all__ = ["FollowedFiles", "sleep_unless_stopped"]
