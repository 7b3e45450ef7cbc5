# SPDX-License-Identifier: MIT
"""Lake snapshots: one JSON file per version naming every live Parquet file.

Readers used to list the table directories, so a reader listing during a
compaction could see a file vanish under it, or both a compaction's inputs and
its output. A snapshot fixes the set of files a reader sees::

    <lake>/_snapshots/00000000000000000042.json

holds the relative path of every live file of every table (``events``,
``dead_letter``, ``files``, ``scans`` and each rollup, keyed
``_rollup/<name>-<hash>``), plus the files that left the lake and are waiting
out the retention period before they are deleted. The highest version present
is current. A version is written once, under a temporary name, fsynced and
renamed into place (:func:`honeyfarm.lake.durable.atomic_write_bytes`): that
rename is the commit point of every change to the lake, so a reader sees the
state before a change or after it, never between. Only the lake's single
writer (``.lock``) writes versions. docs/schema.md ("Snapshots") describes the
format for other engines.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from honeyfarm.lake.durable import atomic_write_bytes

DIR = "_snapshots"
#: The data tables (directories of ``<table>/date=YYYY-MM-DD/*.parquet``); rollups live under ``_rollup/``.
DATA_TABLES: tuple[str, ...] = ("events", "dead_letter", "files", "scans")
ROLLUP_PREFIX = "_rollup/"
#: Snapshot files kept besides the current one: history for a person inspecting the lake. Readers only
#: ever open the newest, and a snapshot lists every file, so keeping an hour of them (hundreds, when
#: ``ingest --follow`` commits every few seconds) would cost far more disk than it is worth.
KEEP = 10
FORMAT = "honeyfarm-lake-snapshot"
_NAME = re.compile(r"^(\d{20})\.json$")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Snapshot:
    """One version of the lake. Paths are relative to the lake root, with ``/`` separators."""

    version: int
    created: dt.datetime
    operation: str
    tables: Mapping[str, tuple[str, ...]]
    #: Files no longer in the lake, with when they left it; deleted once ``lake.retention_seconds`` passed.
    removed: Mapping[str, dt.datetime] = field(default_factory=dict)

    def files(self, table: str) -> tuple[str, ...]:
        return self.tables.get(table, ())

    def live(self) -> set[str]:
        return {p for paths in self.tables.values() for p in paths}

    def to_json(self) -> bytes:
        body = {
            "format": FORMAT,
            "format_version": 1,
            "version": self.version,
            "created": _iso(self.created),
            "operation": self.operation,
            "tables": {k: list(v) for k, v in sorted(self.tables.items())},
            "removed": [{"path": p, "removed_at": _iso(t)} for p, t in sorted(self.removed.items())],
        }
        return json.dumps(body, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Snapshot:
        body = json.loads(data)
        if body.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} file")

        def when(s: str) -> dt.datetime:
            return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))

        return cls(
            version=int(body["version"]),
            created=when(body["created"]),
            operation=str(body["operation"]),
            tables={str(k): tuple(str(p) for p in v) for k, v in body["tables"].items()},
            removed={str(r["path"]): when(r["removed_at"]) for r in body["removed"]},
        )

    def change(
        self, operation: str, add: Mapping[str, Iterable[str]], remove: Iterable[str], drop: Iterable[str] = ()
    ) -> Snapshot:
        """The next version: ``add`` files per table, ``remove`` files (from whichever table lists them), and
        forget ``drop`` (removed files the caller deletes now). A path both removed and added stays live: a
        rebuilt file of the same name must not be deleted later as a removed one."""
        now = _now()
        added = {p for paths in add.values() for p in paths}
        gone = set(remove) - added
        tables: dict[str, set[str]] = {k: set(v) - gone for k, v in self.tables.items()}
        for table, paths in add.items():
            tables.setdefault(table, set()).update(paths)
        live = self.live()
        removed = {p: t for p, t in self.removed.items() if p not in added}
        removed.update({p: now for p in gone if p in live})
        for p in drop:
            removed.pop(p, None)
        return Snapshot(
            version=self.version + 1,
            created=now,
            operation=operation,
            tables={k: tuple(sorted(v)) for k, v in tables.items() if v},
            removed=removed,
        )


def path_of(root: Path, version: int) -> Path:
    return root / DIR / f"{version:020d}.json"


def versions(root: Path) -> list[int]:
    """Versions present, oldest first; [] when the lake has no snapshots yet (or no directory)."""
    try:
        names = os.listdir(root / DIR)
    except FileNotFoundError:
        return []
    return sorted(int(m.group(1)) for n in names if (m := _NAME.match(n)))


def current_version(root: Path) -> int | None:
    """The current version number: one directory listing of a few names (cheap enough for every request)."""
    found = versions(root)
    return found[-1] if found else None


def current(root: Path) -> Snapshot | None:
    """The newest snapshot, or None for a lake no writer of this version has touched yet."""
    for _ in range(10):
        v = current_version(root)
        if v is None:
            return None
        try:
            return Snapshot.from_json(path_of(root, v).read_bytes())
        except FileNotFoundError:
            continue  # pruned between the listing and the read (the writer is far ahead): list again
    raise RuntimeError(f"cannot read a snapshot of {root}: versions keep disappearing")


def write(root: Path, snap: Snapshot) -> None:
    """Commit ``snap``: after this returns (durably), it is the lake's current state."""
    atomic_write_bytes(path_of(root, snap.version), snap.to_json())


def prune(root: Path, keep: int = KEEP) -> None:
    """Delete all but the newest ``keep`` snapshot files (the current one always stays)."""
    for v in versions(root)[: -max(keep, 1)]:
        path_of(root, v).unlink(missing_ok=True)


def listing(root: Path) -> dict[str, tuple[str, ...]]:
    """The tables as a plain directory listing shows them: what a lake without snapshots holds.

    Used for a lake written before snapshots existed: by readers until the first writer runs, and by that
    writer as version 1. Names starting with ``.`` or ``_`` inside partitions are not data.
    """
    out: dict[str, tuple[str, ...]] = {}
    tops = [*DATA_TABLES]
    rdir = root / ROLLUP_PREFIX.rstrip("/")
    if rdir.is_dir():
        tops += sorted(ROLLUP_PREFIX + d.name for d in rdir.iterdir() if d.is_dir())
    for top in tops:
        d = root / top
        if not d.is_dir():
            continue
        files = [
            f"{top}/{part.name}/{f.name}"
            for part in sorted(d.iterdir())
            if part.is_dir() and part.name.startswith("date=")
            for f in sorted(part.iterdir())
            if f.suffix == ".parquet" and not f.name.startswith((".", "_"))
        ]
        if files:
            out[top] = tuple(files)
    return out


def first(tables: Mapping[str, tuple[str, ...]], operation: str = "migrate") -> Snapshot:
    """Version 1 of a lake, holding ``tables``."""
    return Snapshot(version=1, created=_now(), operation=operation, tables=dict(tables), removed={})


__all__ = ["DATA_TABLES", "DIR", "KEEP", "ROLLUP_PREFIX", "Snapshot", "current", "current_version", "listing",
           "path_of", "prune", "versions", "write"]  # fmt: skip
