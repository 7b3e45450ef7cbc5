# SPDX-License-Identifier: MIT
"""One inode of the fake filesystem, shared by the Debian tree and the BusyBox router's.

Its own module so that :mod:`~honeyfarm.sensor.shell.fs.busybox` (which cuts the Debian tree
down to a router's) and :mod:`~honeyfarm.sensor.shell.fs.tree` (which calls it) do not import
each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

IMAGE_TIME = 1731974400.0  # 2024-11-19: when the cloud image was built


@dataclass(frozen=True, slots=True)
class Node:
    """One inode. ``kind``: ``d`` directory, ``f`` regular file, ``l`` symlink, ``c`` character device."""

    kind: str
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    mtime: float = 0.0
    data: bytes | Callable[[], str] = b""
    size: int | None = None  # reported size when only the head of the file is kept (downloads, binaries)
    target: str = ""

    def content(self) -> bytes:
        if callable(self.data):
            return self.data().encode()
        return self.data

    def st_size(self) -> int:
        if self.kind == "d":
            return 4096
        if self.kind == "l":
            return len(self.target)
        if self.kind == "c" or callable(self.data):
            return 0
        return self.size if self.size is not None else len(self.data)
