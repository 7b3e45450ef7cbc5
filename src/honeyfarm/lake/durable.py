# SPDX-License-Identifier: MIT
"""Crash-safe file operations: write to a temporary name, fsync, rename.

POSIX ``rename`` within one filesystem is atomic, so a reader (or a process
restarted after SIGKILL or power loss) sees either the old file or the whole
new one, never a torn write. The directory is fsynced too, so the rename itself
survives a crash.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically and durably."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def durable_move(src: Path, dst: Path) -> None:
    """fsync ``src``, rename it to ``dst`` (same filesystem) and fsync ``dst``'s directory."""
    fsync_file(src)
    created = not dst.parent.exists()
    dst.parent.mkdir(parents=True, exist_ok=True)
    if created:
        fsync_dir(dst.parent.parent)
    os.replace(src, dst)
    fsync_dir(dst.parent)
