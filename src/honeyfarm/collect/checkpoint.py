# SPDX-License-Identifier: MIT
"""Per-file read positions (a "sincedb") that survive rotation and truncation.

A file is identified by the digest of its first bytes (decompressed), not by
its name or inode, so:

* ``cowrie.json`` renamed to ``cowrie.json.1`` (and later gzipped) resumes
  where the old name stopped;
* a copy made by ``copytruncate`` resumes too, while the truncated original
  (new head) starts again from zero;
* a file that was truncated or rewritten with the same head is caught by a
  second check: the bytes just before the saved offset must be unchanged.

A wrong guess can only cause a re-read, which event-id dedup absorbs; it can
never skip data. The store is one JSON file written atomically after the data
of a batch is durable in the lake.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from honeyfarm.collect.files import HEAD_BYTES, digest
from honeyfarm.lake.durable import atomic_write_bytes


@dataclass
class FileCheckpoint:
    head_len: int
    head: str
    offset: int
    lines: int
    tail: str
    path: str
    updated: str

    @property
    def key(self) -> str:
        return f"{self.head_len}:{self.head}"


class CheckpointStore:
    """All file checkpoints of one lake (``<lake>/_state/checkpoints.json``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, FileCheckpoint] = {}
        if path.exists():
            raw = json.loads(path.read_text(encoding="utf-8"))
            for item in raw.get("files", []):
                cp = FileCheckpoint(**item)
                self.entries[cp.key] = cp

    def find(self, head: bytes) -> FileCheckpoint | None:
        """The checkpoint of the file whose first bytes are ``head``, if any.

        Entries saved when the file was shorter than :data:`HEAD_BYTES` keep the
        length they saw; the longest matching head wins.
        """
        best: FileCheckpoint | None = None
        by_len: dict[int, str] = {}
        for cp in self.entries.values():
            if cp.head_len > len(head):
                continue
            h = by_len.get(cp.head_len)
            if h is None:
                h = by_len[cp.head_len] = digest(head[: cp.head_len])
            if h == cp.head and (best is None or cp.head_len > best.head_len):
                best = cp
        return best

    def update(self, head: bytes, offset: int, lines: int, tail: bytes, path: str, now: str) -> None:
        """Record that ``path`` (identified by ``head``) is consumed up to ``offset``."""
        if offset <= 0:
            return  # nothing consumed: an empty head would match every file
        head = head[:HEAD_BYTES][: max(offset, 0)] if offset < len(head) else head[:HEAD_BYTES]
        old = self.find(head)
        if old is not None and old.head_len < len(head):
            del self.entries[old.key]
        cp = FileCheckpoint(len(head), digest(head), offset, lines, digest(tail), path, now)
        self.entries[cp.key] = cp

    def save(self) -> None:
        body = {"version": 1, "files": [asdict(cp) for cp in self.entries.values()]}
        atomic_write_bytes(self.path, json.dumps(body, indent=1, sort_keys=True).encode())
