# SPDX-License-Identifier: MIT
"""What an attacker wrote, kept for the next login from the same address.

Botnets plant a key in ``~/.ssh/authorized_keys`` and come back to check it is there; a trap that
forgets it between sessions gives itself away. So every session from one source address shares one
:class:`~honeyfarm.sensor.shell.fs.vfs.Overlay` (as the sessions of a real host share its disk), and that
overlay is written to ``<dir>/<sha256 of the address>.json`` shortly after each change and restored
at the next login from that address, for ``ttl`` seconds after its last write.

Why this shape:

* File names are a hash of the normalised address, never anything the attacker typed.
* The overlay is already capped (``limits.session_output_bytes``); a snapshot keeps at most
  ``ADDRESS_BYTES`` of contents in ``ADDRESS_ENTRIES`` entries (the first written), so restoring it
  costs a few ms; the directory is capped too, in bytes and in files, evicting the oldest
  snapshots first as the download store does (:mod:`honeyfarm.sensor.capture.store`): an in-memory index
  built by one scan at start, a heap by mtime.
* Snapshots are JSON (base64 for file contents) and are validated field by field when read back.
* Writes are coalesced (one per ``delay`` per address) and land by fsync + rename, so a crash
  leaves the old snapshot or the new one; SSH exec channels flush before their exit status, so a
  client that reconnects at once already sees its files.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import heapq
import ipaddress
import json
import os
import re
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from honeyfarm.sensor.shell.fs.node import Node
from honeyfarm.sensor.shell.fs.vfs import MAX_PATH, Overlay

__all__ = ["OverlayStore", "address_key"]

FORMAT = 1
# What one address keeps: enough for keys, scripts and the heads of downloads, small enough that
# restoring it at login (on the event loop: the shell needs it at once) stays under ~10 ms.
ADDRESS_BYTES = 1024 * 1024
ADDRESS_ENTRIES = 2000
_NAME_RE = re.compile(r"[0-9a-f]{64}\.json")
_KINDS = frozenset("dflc")


def address_key(ip: str) -> str:
    """Stable file stem for a source address: sha256 of its canonical text."""
    try:
        text = ipaddress.ip_address(ip.split("%", 1)[0]).compressed
    except ValueError:
        text = ip[:255]
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


def encode(nodes: dict[str, Node | None], used: int) -> bytes:
    """A snapshot of an overlay's nodes, in the order they were first written, up to
    ``ADDRESS_ENTRIES``/``ADDRESS_BYTES`` (what comes later is not kept; nodes whose contents are
    computed, e.g. ``/proc``, are left out). Nodes are frozen, so this may run in a worker thread."""
    items: list[list[Any]] = []
    total = 0
    for path, node in nodes.items():
        if len(items) >= ADDRESS_ENTRIES:
            break
        if node is None:
            items.append([path])
        elif isinstance(node.data, bytes):
            total += len(path) + len(node.data)
            if total > ADDRESS_BYTES:
                continue
            data = base64.b64encode(node.data).decode("ascii")
            items.append([path, node.kind, node.mode, node.uid, node.gid, node.mtime, data, node.size, node.target])
    return json.dumps({"v": FORMAT, "used": used, "nodes": items}, separators=(",", ":")).encode()


def decode(raw: bytes, max_bytes: int) -> tuple[dict[str, Node | None], int] | None:
    """Nodes of a snapshot, or ``None`` if it is not one this version wrote (checked field by field)."""
    try:
        doc = json.loads(raw)
        if not isinstance(doc, dict) or doc.get("v") != FORMAT or not isinstance(doc.get("nodes"), list):
            return None
        nodes: dict[str, Node | None] = {}
        total = 0
        for item in doc["nodes"][:ADDRESS_ENTRIES]:
            path = item[0]
            if not isinstance(path, str) or not path.startswith("/") or len(path) > MAX_PATH:
                return None
            if len(item) == 1:
                nodes[path] = None
                continue
            _, kind, mode, uid, gid, mtime, data, size, target = item
            if kind not in _KINDS or not all(isinstance(v, int) for v in (mode, uid, gid)):
                return None
            if not isinstance(mtime, int | float) or not isinstance(target, str) or len(target) > MAX_PATH:
                return None
            if size is not None and not isinstance(size, int):
                return None
            body = base64.b64decode(data, validate=True)
            total += len(path) + len(body)
            if total > max_bytes:
                return None
            nodes[path] = Node(kind, mode & 0o7777, uid, gid, float(mtime), body, size, target)
        used = doc.get("used")
        return nodes, used if isinstance(used, int) and 0 <= used <= max_bytes else total
    except (ValueError, TypeError, KeyError):
        return None


class OverlayStore:
    """Snapshots of the overlays, one per source address (see the module docstring)."""

    def __init__(
        self,
        root: Path,
        *,
        ttl: float,
        max_bytes: int,
        max_files: int,
        overlay_bytes: int,
        delay: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = Path(root)
        self.ttl = ttl
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.overlay_bytes = overlay_bytes
        self.delay = delay
        self.clock = clock
        self._live: weakref.WeakValueDictionary[str, Overlay] = weakref.WeakValueDictionary()
        self._pending: dict[str, tuple[asyncio.TimerHandle, Overlay]] = {}
        self._index: dict[str, tuple[int, float]] = {}  # key -> (size, mtime)
        self._heap: list[tuple[float, str]] = []
        self._total = 0
        self.root.mkdir(parents=True, exist_ok=True)
        self._scan()

    # --- public API ----------------------------------------------------------------------------------------------

    def open(self, ip: str) -> Overlay:
        """The overlay of ``ip``: the live one if a session of it is open, else the kept snapshot, else empty."""
        key = address_key(ip)
        overlay = self._live.get(key)
        if overlay is not None:
            return overlay
        overlay = Overlay(self.overlay_bytes)
        restored = self._load(key)
        if restored is not None:
            overlay.load(*restored)
        overlay.on_change = lambda: self._schedule(key, overlay)
        self._live[key] = overlay
        return overlay

    async def flush(self, ip: str) -> None:
        """Write ``ip``'s pending changes now (before an exec channel reports its exit status)."""
        key = address_key(ip)
        pending = self._pending.pop(key, None)
        if pending is not None:
            pending[0].cancel()
            await self._save(key, pending[1])

    async def flush_all(self) -> None:
        """Write every pending change (at shutdown: a Telnet session has no end hook of its own)."""
        pending, self._pending = self._pending, {}
        for key, (handle, overlay) in pending.items():
            handle.cancel()
            await self._save(key, overlay)

    def __len__(self) -> int:
        return len(self._index)

    @property
    def total_bytes(self) -> int:
        return self._total

    def path_of(self, ip: str) -> Path:
        return self.root / f"{address_key(ip)}.json"

    # --- internals -----------------------------------------------------------------------------------------------

    def _scan(self) -> None:
        now = self.clock()
        for entry in os.scandir(self.root):
            if entry.name.startswith(".tmp-"):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                continue
            if not _NAME_RE.fullmatch(entry.name) or not entry.is_file(follow_symlinks=False):
                continue
            st = entry.stat(follow_symlinks=False)
            if st.st_mtime + self.ttl < now:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                continue
            self._note(entry.name[:-5], st.st_size, st.st_mtime)
        self._evict()

    def _note(self, key: str, size: int, mtime: float) -> None:
        old = self._index.get(key)
        if old is not None:
            self._total -= old[0]
        self._index[key] = (size, mtime)
        self._total += size
        heapq.heappush(self._heap, (mtime, key))

    def _drop(self, key: str) -> None:
        old = self._index.pop(key, None)
        if old is not None:
            self._total -= old[0]
        with contextlib.suppress(OSError):
            (self.root / f"{key}.json").unlink()

    def _evict(self, keep: str | None = None) -> None:
        """Drop expired snapshots, then the oldest while over a cap (``keep``, just written, goes last)."""
        expired = self.clock() - self.ttl
        kept: tuple[float, str] | None = None
        while self._heap:
            mtime, key = self._heap[0]
            entry = self._index.get(key)
            if entry is None or entry[1] != mtime:
                heapq.heappop(self._heap)  # stale heap entry
                continue
            over = self._total > self.max_bytes or len(self._index) > self.max_files
            if not over and mtime >= expired:
                break
            heapq.heappop(self._heap)
            if key == keep and mtime >= expired and len(self._index) > 1:
                kept = (mtime, key)
                continue
            self._drop(key)
        if kept is not None:
            heapq.heappush(self._heap, kept)

    def _load(self, key: str) -> tuple[dict[str, Node | None], int] | None:
        entry = self._index.get(key)
        if entry is None:
            return None
        if entry[1] + self.ttl < self.clock():
            self._drop(key)
            return None
        try:
            raw = (self.root / f"{key}.json").read_bytes()
        except OSError:
            self._drop(key)
            return None
        restored = decode(raw[: 2 * ADDRESS_BYTES + 64 * ADDRESS_ENTRIES + 65536], self.overlay_bytes)
        if restored is None:
            self._drop(key)
        return restored

    def _schedule(self, key: str, overlay: Overlay) -> None:
        if key in self._pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        # The timer keeps the overlay alive until it is written, even if every session has ended.
        handle = loop.call_later(self.delay, self._fire, key)
        self._pending[key] = (handle, overlay)

    def _fire(self, key: str) -> None:
        pending = self._pending.pop(key, None)
        if pending is not None:
            task = asyncio.get_running_loop().create_task(self._save(key, pending[1]))
            task.add_done_callback(_quiet)

    async def _save(self, key: str, overlay: Overlay) -> None:
        path = self.root / f"{key}.json"
        if not overlay.nodes:
            self._drop(key)
            return
        nodes = dict(overlay.nodes)  # a consistent copy; encoding and writing happen off the loop
        raw = await asyncio.to_thread(encode, nodes, overlay.used)
        mtime = await asyncio.to_thread(_write_atomic, self.root, path, raw, self.clock())
        if mtime is None:
            return
        self._note(key, len(raw), mtime)
        self._evict(keep=key)


def _write_atomic(root: Path, path: Path, raw: bytes, mtime: float) -> float | None:
    tmp = root / f".tmp-{os.urandom(8).hex()}"
    try:
        with open(tmp, "xb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.utime(tmp, (mtime, mtime))  # the store's clock, so expiry and eviction agree after a restart
        os.replace(tmp, path)
        return path.stat().st_mtime
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        return None


def _quiet(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()  # a failed write (disk full) loses this snapshot, never the session
