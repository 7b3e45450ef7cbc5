# SPDX-License-Identifier: MIT
"""Shipping the sensor's captured files (its content store) to central storage.

Why: the scanner (YARA, ClamAV, VirusTotal) runs centrally, on the files every
sensor caught, so those files must reach the same object store as the events
that mention them. The sensor keeps them in
:class:`~honeyfarm.sensor.capture.store.ContentStore`, at
``<dir>/<aa>/<sha256>``; each goes up as it is, raw (scanners read the bytes
as the attacker served them), to ``<files_prefix>/sha256/<aa>/<sha256>`` at the
store's root, **not** under the events' ``prefix``: ``ingest s3://bucket/raw/``
never meets a binary, and a file caught by fifty sensors, whatever their
configuration, is one object.

Exactly once, cheaply: a file is hashed and must hash to its own name (a
damaged or partial file is logged and skipped, never stored under a wrong
name); then the store is asked whether the object is already there with that
sha256 (another sensor shipped it) and only otherwise uploaded, with the same
verification as event files (Content-MD5, HEAD, ``sha256`` metadata). Either
way the sha256 is recorded in the ship state, so a restart neither re-uploads
nor re-asks. The sensor's files are never deleted or changed here: its store
evicts by its own quota, and ``delete_after_ship`` does not apply (see
:meth:`ContentShipper.ship`).
"""

from __future__ import annotations

import logging
import os
import re
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from honeyfarm.collect.objectstore import Blob, ObjectStore, ShipState, describe

log = logging.getLogger(__name__)
__all__ = ["BlobCandidate", "ContentShipper", "files_key"]

_SHA = re.compile(r"[0-9a-f]{64}")
_FANOUT = re.compile(r"[0-9a-f]{2}")
_SAVE_EVERY = 2.0  # seconds between state writes while a large store is shipped (one write per file is O(n^2))


def files_key(files_prefix: str, sha256: str) -> str:
    """``<files_prefix>/sha256/<aa>/<sha256>`` (no leading slash; an empty prefix puts ``sha256/`` at the root)."""
    base = files_prefix.strip("/")
    return f"{base + '/' if base else ''}sha256/{sha256[:2]}/{sha256}"


@dataclass(frozen=True)
class BlobCandidate:
    """A file of the content store not yet known to be in the object store."""

    path: Path
    sha256: str  # its name; checked against its content before upload
    size: int


class ContentShipper:
    """The content-store half of a :class:`~honeyfarm.collect.ship.Shipper` pass."""

    def __init__(
        self,
        root: Path,
        files_prefix: str,
        sensor_name: str,
        store: ObjectStore,
        state: ShipState,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = root
        self.files_prefix = files_prefix
        self.sensor_name = sensor_name
        self.store = store
        self.state = state
        self.clock = clock
        # (sha256, size, mtime_ns) of files that do not hash to their name: warned once, not re-hashed.
        self._bad: set[tuple[str, int, int]] = set()

    def scan(self) -> list[BlobCandidate]:
        """Files named like content (``<aa>/<64 hex starting with aa>``) whose sha256 the state does not know."""
        out: list[BlobCandidate] = []
        for sha, path in self._walk():
            if sha in self.state.files:
                continue
            try:
                st = path.stat(follow_symlinks=False)
            except OSError:
                continue  # evicted by the sensor meanwhile
            if (sha, st.st_size, st.st_mtime_ns) not in self._bad:
                out.append(BlobCandidate(path, sha, st.st_size))
        return out

    def _walk(self) -> Iterator[tuple[str, Path]]:
        """Temp files (``.tmp-*``) and anything not shaped like the sensor's store are ignored."""
        try:
            top = sorted(os.scandir(self.root), key=lambda e: e.name)
        except FileNotFoundError:
            return  # the sensor never caught a file
        for d in top:
            if not (_FANOUT.fullmatch(d.name) and d.is_dir(follow_symlinks=False)):
                continue
            try:
                names = sorted(e.name for e in os.scandir(d.path) if e.is_file(follow_symlinks=False))
            except OSError:
                continue
            for name in names:
                if _SHA.fullmatch(name) and name.startswith(d.name):
                    yield name, Path(d.path) / name

    def ship(self, c: BlobCandidate) -> bool:
        """Put one file in the store unless it is there already; ``True`` once it is.

        Never deletes or modifies the sensor's file, whatever ``delete_after_ship`` says: the
        sensor's store is its own (quota eviction, dedup of later downloads by name), a
        deleted file would be fetched and shipped again the next time an attacker serves it,
        and it is the only local copy the sensor's own events point to.
        Store errors propagate (the caller backs off or stops).
        """
        key = files_key(self.files_prefix, c.sha256)
        try:
            size, md5, sha = describe(c.path)
            st = c.path.stat(follow_symlinks=False)
        except FileNotFoundError:
            log.info("%s was evicted by the sensor before it was shipped", c.path)
            return False
        if sha != c.sha256:
            self._bad.add((c.sha256, st.st_size, st.st_mtime_ns))
            log.warning("%s does not hash to its name (sha256 %s): damaged or partial; not shipped", c.path, sha)
            return False
        existing = self.store.stat(key)
        existed = existing is not None and existing.get("sha256") == sha and existing.get("size") == size
        if not existed:
            meta = {"sha256": sha, "sensor": urllib.parse.quote(self.sensor_name)}
            # The file itself is uploaded (no staging copy): the sensor only ever renames complete
            # files into place, and the store re-checks size and sha256 of what it stored.
            self.store.put(key, Blob(c.path, size, md5, sha, meta, content_type="application/octet-stream"))
            log.info("shipped captured file %s -> %s (%d bytes)", c.path, key, size)
        else:
            log.info("captured file %s is already stored as %s", c.sha256, key)
        entry = {"key": key, "source": str(c.path.resolve()), "bytes": size, "at": self.clock(), "existed": existed}
        self.state.record_file(sha, entry)
        return True

    def ship_all(
        self,
        cands: list[BlobCandidate],
        should_stop: Callable[[], bool],
        on_done: Callable[[BlobCandidate, bool], None],
    ) -> bool:
        """Ship ``cands`` in order, saving the state every few seconds and at the end; ``False`` if stopped."""
        last_save = self.clock()
        dirty = False
        try:
            for c in cands:
                if should_stop():
                    return False
                if self.ship(c):
                    dirty = True
                    on_done(c, not self.state.files[c.sha256]["existed"])  # (candidate, uploaded)
                if dirty and self.clock() - last_save >= _SAVE_EVERY:
                    self.state.save()
                    last_save, dirty = self.clock(), False
            return True
        finally:
            if dirty:
                self.state.save()
