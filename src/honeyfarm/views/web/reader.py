# SPDX-License-Identifier: MIT
"""One DuckDB connection over the lake, shared by the dashboard's requests.

Requests run in FastAPI's thread pool; DuckDB already spreads one query over
every configured thread, so queries run one at a time under a lock rather
than on competing connections. Before each query the reader compares the
lake's current snapshot version (:mod:`honeyfarm.lake.snapshot`) with the one
its views were built on and rebuilds them when a writer committed, so answers
are never stale, and every view reads one snapshot's files, which stay on disk
for ``lake.retention_seconds`` after a newer version drops them. Answers are
cached per lake version: a new commit empties the cache instead of aging
entries out.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from honeyfarm.config import LakeConfig
from honeyfarm.lake import snapshot
from honeyfarm.lake.store import Lake

T = TypeVar("T")

Version = tuple[str, ...]


class LakeReader:
    def __init__(
        self,
        root: Path,
        threads: int = 2,
        memory_limit: str | None = "2GB",
        cache_entries: int = 256,
        lake_cfg: LakeConfig | None = None,
    ):
        self.lake = Lake(root, lake_cfg)
        self.root = root
        self._lock = threading.Lock()
        self._con = duckdb.connect(config={"threads": threads})
        self._con.execute("SET TimeZone = 'UTC'")
        if memory_limit:
            self._con.execute(f"SET memory_limit = '{memory_limit}'")
        self._con.execute("SET parquet_metadata_cache = true")
        self._version: Version | None = None
        self._cache: OrderedDict[Hashable, Any] = OrderedDict()
        self._cache_entries = cache_entries
        # Small facts every request needs (the sensor catalog): kept per lake version even with the cache off.
        self._memo: dict[Hashable, Any] = {}

    def version(self) -> Version:
        """The lake's current snapshot version (one listing of ``_snapshots/``, a few names: cheap enough to run
        before every request); for a lake no writer of this version has touched yet, the names of its files.

        Names suffice there: files are written once under a fresh uuid name and renamed into place, never
        rewritten. Listing names without a stat per file keeps this at ~1 ms for thousands of files.
        """
        v = snapshot.current_version(self.root)
        if v is not None:
            return (f"v{v}",)
        out: list[str] = []
        stack = [self.root / top for top in ("events", "dead_letter", "files", "scans", "_rollup")]
        while stack:
            d = stack.pop()
            try:
                with os.scandir(d) as it:
                    for e in it:
                        if e.is_dir(follow_symlinks=False):
                            stack.append(Path(e.path))
                        elif e.name.endswith(".parquet"):
                            out.append(e.path)
            except FileNotFoundError:
                continue  # not created yet, or compacted away while listing
        return tuple(sorted(out))

    def _refresh(self) -> None:
        v = self.version()
        if v != self._version:
            self.lake.create_views(self._con)
            self._version = v
            self._cache.clear()
            self._memo.clear()

    def run(self, fn: Callable[[duckdb.DuckDBPyConnection], T], key: Hashable | None = None, memo: bool = False) -> T:
        """``fn(con)`` on a connection whose views match the lake now; cached under ``key`` if given.

        ``memo``: keep the answer for this lake version whatever ``cache_entries`` says (small metadata only).
        """
        with self._lock:
            self._refresh()
            if memo and key in self._memo:
                return self._memo[key]  # type: ignore[no-any-return]
            if key is not None and key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]  # type: ignore[no-any-return]
            try:
                result = fn(self._con)
            except duckdb.IOException:
                # Only a lake without snapshots (no writer of this version yet) can swap files between our
                # listing and the read, or a query outliving the retention period: list again, once.
                time.sleep(0.05)
                self._version = None
                self._refresh()
                result = fn(self._con)
            if memo:
                self._memo[key] = result
            elif key is not None and self._cache_entries:
                self._cache[key] = result
                while len(self._cache) > self._cache_entries:
                    self._cache.popitem(last=False)
            return result

    def close(self) -> None:
        with self._lock:
            self._con.close()
