# SPDX-License-Identifier: MIT
"""``honeyfarm ship``: move closed log files to an object store, verified, exactly once.

Why: a sensor's disk is small and can vanish with its VM; events count only
once they sit in durable storage. The shipper takes files that will never
change again, gzips them deterministically, uploads them under a key derived
from the file alone, verifies the stored copy (see
:mod:`honeyfarm.collect.objectstore`) and only then records the file in a
state file (atomic write). Hence:

* a crash at any point at worst re-uploads a file to the *same* key (nothing
  is lost, nothing is duplicated), and a restarted shipper neither re-ships
  nor skips anything;
* an outage of any length is waited out with capped exponential backoff, and
  nothing is marked shipped meanwhile; wrong credentials, missing permissions
  or a missing bucket stop the shipper with a clear error instead.

Which files are closed:

* the sensor's spool: ``<spool>/events/*.jsonl`` (``.jsonl.part`` is open;
  a ``.jsonl`` is final), key from the file name:
  ``<prefix>/sensor=<name>/date=<YYYY-MM-DD>/<name>-<stamp>-<seq>.jsonl.gz``.
  The sensor's sequence restarts at 0 once shipped files are deleted, hence
  the stamp; should a name still recur with other content, that file gets
  ``-<sha256[:16]>`` appended instead of overwriting.
* any other glob (Cowrie's rotated ``cowrie.json.1``, Dionaea logs, ...): a
  match is closed when it is **not the most recently modified match of its
  pattern** (that one is the file being written) **and** has not been
  modified for ``settle_seconds``. Its key is
  ``<prefix>/sensor=<name>/date=<mtime date>/<stem>-<sha256[:32]>.<ext>.gz``,
  the stem being the file name without rotation suffixes (``.1``,
  ``.2024-05-01``): the same content renamed by the next rotation maps to the
  same key and is recognised as shipped by its digest. Files already gzipped
  are uploaded as they are.

* the sensor's captured files (``ship_files``; its content store,
  ``<files_dir>/<aa>/<sha256>``): complete by construction, shipped raw after the
  events of each pass to ``<files_prefix>/sha256/<aa>/<sha256>``, once per content
  across all sensors; see :mod:`honeyfarm.collect.ship_files`.

One object per file, no concatenation: the sensor already batches by size and
time (``spool.rotate_bytes`` / ``rotate_seconds``), and a key that depends on
one file only stays deterministic whatever was closed when; a batch of several
files would change composition after a crash and duplicate data.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import glob as globmod
import gzip
import hashlib
import logging
import os
import random
import shutil
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from pydantic import ValidationError

from honeyfarm.collect.objectstore import (
    CHUNK,
    Blob,
    ObjectStore,
    ShipError,
    ShipState,
    StoreError,
    TransientStoreError,
    describe,
    glob_key,
    make_store,
    sha256_file,
    spool_key,
)
from honeyfarm.collect.ship_config import ShipConfig, resolve_relative
from honeyfarm.collect.ship_files import BlobCandidate, ContentShipper
from honeyfarm.lake.durable import durable_move

log = logging.getLogger(__name__)
__all__ = ["ShipConfig", "ShipError", "ShipStats", "Shipper", "load_ship_config", "resolve_relative", "run_shipper"]


@dataclass(frozen=True)
class Candidate:
    path: Path
    key: str
    kind: Literal["spool", "glob"]
    size: int
    sha256: str  # of the raw content


@dataclass
class ShipStats:
    shipped_files: int = 0
    shipped_bytes: int = 0
    pending_files: int = 0
    unshipped_bytes: int = 0
    failures: int = 0
    last_error: str | None = None
    keys: list[str] = field(default_factory=list)
    #: Captured files (the content store): uploaded, found already stored (another sensor's), waiting.
    shipped_blobs: int = 0
    shipped_blob_bytes: int = 0
    existing_blobs: int = 0
    pending_blobs: int = 0


class Shipper:
    """Scans, ships and records. Synchronous; :func:`run_shipper` drives it from an event loop."""

    def __init__(
        self,
        cfg: ShipConfig,
        *,
        spool_dir: Path | None = None,
        sensor_name: str = "sensor-1",
        store: ObjectStore | None = None,
        on_shipped: Callable[[Path], None] | None = None,
        clock: Callable[[], float] = time.time,
        files_dir: Path | None = None,
    ) -> None:
        """``files_dir``: the sensor's content store (``sensor.downloads.dir``) unless ``cfg.files_dir`` is set."""
        self.cfg = cfg
        self.spool_dir = Path(cfg.spool_dir or spool_dir or "./honeyfarm-spool")
        self.sensor_name = cfg.sensor_name or sensor_name
        self.prefix = cfg.prefix.strip("/") + "/" if cfg.prefix.strip("/") else ""
        self.state_path = Path(cfg.state_file or self.spool_dir / "ship-state.json")
        self.staging = self.state_path.parent / ".ship-staging"
        self.on_shipped = on_shipped
        self.clock = clock
        self.stats = ShipStats()
        self._digest_cache: dict[tuple[str, int, int, int], str] = {}
        self._warned_at: float | None = None
        self._lock: IO[bytes] | None = None
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        self._acquire_lock()
        self.state = ShipState(self.state_path)
        shutil.rmtree(self.staging, ignore_errors=True)  # leftovers of a killed run
        self.store = store or make_store(cfg)
        self.files_dir = Path(cfg.files_dir or files_dir or self.spool_dir / "downloads")
        self.content = (
            ContentShipper(self.files_dir, cfg.files_prefix, self.sensor_name, self.store, self.state, clock)
            if cfg.ship_files
            else None
        )

    def _acquire_lock(self) -> None:
        lock = self.state_path.with_name(self.state_path.name + ".lock").open("ab")
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            raise ShipError(f"another shipper holds {self.state_path} (lock {lock.name})") from None
        self._lock = lock

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # --- scanning -------------------------------------------------------------
    def scan(self) -> tuple[list[Candidate], int]:
        """Closed files (spool first, then globs), and the bytes of files still open in the spool."""
        out: dict[Path, Candidate] = {}
        open_bytes = 0
        events = self.spool_dir / "events"
        if self.cfg.ship_spool and events.is_dir():
            for p in sorted(events.iterdir()):
                try:
                    st = p.stat()
                except OSError:
                    continue
                if p.name.endswith(".part"):
                    open_bytes += st.st_size
                    continue
                key = spool_key(self.prefix, p)
                if key is None or st.st_size == 0 or (sha := self._digest(p, st)) is None:
                    continue
                if key in self.state.shipped and self.state.shipped[key]["sha256"] != sha:
                    # The sensor reused a name (its sequence restarts once shipped files are deleted):
                    # never overwrite other content; this file gets its own, still deterministic, key.
                    key = spool_key(self.prefix, p, f"-{sha[:16]}")
                    assert key is not None
                out[p.resolve()] = Candidate(p, key, "spool", st.st_size, sha)
        now = self.clock()
        for pattern in self.cfg.globs:
            matches: list[tuple[int, str, Path, os.stat_result]] = []
            for m in globmod.glob(os.path.expanduser(pattern), recursive=True):
                p = Path(m)
                if p.name.endswith((".part", ".tmp", ".lock")) or p.name.startswith("."):
                    continue
                with contextlib.suppress(OSError):
                    st = p.stat()
                    if p.is_file():
                        matches.append((st.st_mtime_ns, p.name, p, st))
            matches.sort()
            for _, _, p, st in matches[:-1]:  # the newest match is the one being written
                rp = p.resolve()
                if rp in out or rp == self.state_path.resolve() or st.st_size == 0:
                    continue
                if now - st.st_mtime < self.cfg.settle_seconds:
                    continue
                sha = self._digest(p, st)
                if sha is None:
                    continue
                key = glob_key(self.prefix, self.sensor_name, p, st.st_mtime, sha)
                out[rp] = Candidate(p, key, "glob", st.st_size, sha)
        return list(out.values()), open_bytes

    def _digest(self, p: Path, st: os.stat_result) -> str | None:
        ck = (str(p), st.st_ino, st.st_size, st.st_mtime_ns)
        if ck not in self._digest_cache:
            try:
                self._digest_cache[ck] = sha256_file(p)
            except OSError:
                return None
        return self._digest_cache[ck]

    def is_shipped(self, c: Candidate) -> bool:
        return c.sha256 in self.state.digests

    # --- shipping -------------------------------------------------------------
    def ship_pass(self, should_stop: Callable[[], bool] = lambda: False) -> bool:
        """Ship every closed, unshipped file; ``True`` when all were shipped. Store errors propagate."""
        cands, open_bytes = self.scan()
        pending = []
        for c in cands:
            if self.is_shipped(c):
                self._dispose(c.path)  # shipped before a crash or before delete_after_ship was set
            else:
                pending.append(c)
        self.stats.pending_files = len(pending)
        self.stats.unshipped_bytes = sum(c.size for c in pending) + open_bytes
        self._check_threshold()
        for c in pending:
            if should_stop():
                return False
            self._ship_one(c)
            self.stats.pending_files -= 1
            self.stats.unshipped_bytes -= c.size
        if self.content is not None:  # after the events: they are what the spool's quota may drop
            blobs = self.content.scan()
            self.stats.pending_blobs = len(blobs)
            if not self.content.ship_all(blobs, should_stop, self._blob_done):
                return False
            self.stats.pending_blobs = 0  # the rest were damaged or evicted: logged, not waiting
        self.state.prune(self.clock())
        return True

    def _blob_done(self, c: BlobCandidate, uploaded: bool) -> None:
        self.stats.pending_blobs -= 1
        if uploaded:
            self.stats.shipped_blobs += 1
            self.stats.shipped_blob_bytes += c.size
        else:
            self.stats.existing_blobs += 1

    def _ship_one(self, c: Candidate) -> None:
        self.staging.mkdir(parents=True, exist_ok=True)
        tmp = self.staging / f"{uuid.uuid4().hex}.gz"
        try:
            try:
                raw_sha, raw_size = self._compress(c.path, tmp)
            except FileNotFoundError:
                log.info("%s vanished before it was shipped", c.path)
                return
            if raw_sha != c.sha256:
                log.warning("%s changed while being shipped; it is not closed yet, trying again later", c.path)
                return
            size, md5, sha = describe(tmp)
            meta = {
                "sha256": sha, "source-sha256": raw_sha, "source-bytes": str(raw_size),
                "source-name": urllib.parse.quote(c.path.name), "sensor": urllib.parse.quote(self.sensor_name),
            }  # fmt: skip
            self.store.put(c.key, Blob(tmp, size, md5, sha, meta))
        finally:
            tmp.unlink(missing_ok=True)
        self.state.record(
            c.key,
            {"source": str(c.path.resolve()), "sha256": raw_sha, "bytes": raw_size, "object_sha256": sha,
             "object_bytes": size, "at": self.clock()},
        )  # fmt: skip
        self.stats.shipped_files += 1
        self.stats.shipped_bytes += raw_size
        self.stats.keys.append(c.key)
        log.info("shipped %s -> %s (%d bytes, %d compressed)", c.path, c.key, raw_size, size)
        self._dispose(c.path)

    def _compress(self, src: Path, dst: Path) -> tuple[str, int]:
        """Deterministic gzip (no name, mtime 0) of ``src``; already-gzipped files are copied as they are."""
        h, n = hashlib.sha256(), 0
        with src.open("rb") as fh, dst.open("wb") as out:
            first = fh.read(CHUNK)
            if first.startswith(b"\x1f\x8b"):
                sink: IO[bytes] | gzip.GzipFile = out
            else:
                sink = gzip.GzipFile(
                    filename="", mode="wb", fileobj=out, compresslevel=self.cfg.compression_level, mtime=0
                )
            chunk = first
            while chunk:
                h.update(chunk)
                n += len(chunk)
                sink.write(chunk)
                chunk = fh.read(CHUNK)
            if sink is not out:
                sink.close()
            out.flush()
            os.fsync(out.fileno())
        return h.hexdigest(), n

    def _dispose(self, path: Path) -> None:
        if not self.cfg.delete_after_ship:
            return
        try:
            if self.cfg.shipped_dir is not None:
                durable_move(path, Path(self.cfg.shipped_dir) / path.name)
            else:
                path.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("shipped %s but cannot remove it: %s", path, exc)
            return
        if self.on_shipped is not None:
            self.on_shipped(path)

    def _check_threshold(self) -> None:
        limit = self.cfg.warn_unshipped_bytes
        if not limit or self.stats.unshipped_bytes <= limit:
            if self._warned_at is not None:
                log.warning("unshipped bytes back under the threshold: %d", self.stats.unshipped_bytes)
            self._warned_at = None
            return
        now = self.clock()
        if self._warned_at is None or now - self._warned_at >= 600:
            self._warned_at = now
            log.warning(
                "WARNING: %d bytes in %d file(s) wait to be shipped, over warn_unshipped_bytes = %d; "
                "the store %s is unreachable or too slow, and the sensor's bounded spool will drop events "
                "once it is full (last error: %s)",
                self.stats.unshipped_bytes, self.stats.pending_files, limit, self.store.describe(),
                self.stats.last_error,
            )  # fmt: skip

    # --- driving --------------------------------------------------------------
    def step(self, should_stop: Callable[[], bool], once: bool) -> float | None:
        """One pass; the delay before the next, or ``None`` when ``once`` and everything closed is shipped.

        Raises :class:`ShipError` (permanent problems only).
        """
        try:
            try:
                done = self.ship_pass(should_stop)
            except PermissionError as exc:
                raise ShipError(f"shipping failed: {exc}") from None
            except OSError as exc:  # local disk full or I/O error: may clear up, like an outage
                raise TransientStoreError(f"local error: {exc}") from None
        except TransientStoreError as exc:
            self.stats.failures += 1
            self.stats.last_error = str(exc)
            delay = min(
                self.cfg.retry_max_seconds, self.cfg.retry_initial_seconds * 2.0 ** min(self.stats.failures - 1, 30)
            )
            delay *= 1 + random.random() * 0.1  # jitter
            log.warning(
                "upload failed (%d in a row), nothing marked shipped; retrying in %.1f s: %s",
                self.stats.failures, delay, exc,
            )  # fmt: skip
            self._check_threshold()
            return delay
        except StoreError as exc:
            raise ShipError(f"{exc}; nothing more was marked shipped") from None
        if self.stats.failures:
            log.warning("the store is back after %d failed attempt(s)", self.stats.failures)
        self.stats.failures = 0
        self.stats.last_error = None
        if once and done:
            return None
        return self.cfg.poll_seconds

    def run(self, stop: Callable[[], bool], wait: Callable[[float], object], once: bool) -> bool:
        """Until ``stop()`` (or, with ``once``, until all closed files are shipped); ``True`` if finished."""
        while not stop():
            delay = self.step(stop, once)
            if delay is None:
                return True
            wait(delay)
        return False


async def run_shipper(
    cfg: ShipConfig,
    stop_event: asyncio.Event,
    *,
    spool_dir: Path | None = None,
    sensor_name: str = "sensor-1",
    on_shipped: Callable[[Path], None] | None = None,
    files_dir: Path | None = None,
) -> None:
    """Ship from inside an event loop (e.g. the sensor's) until ``stop_event`` is set.

    Uploads run in a worker thread so traps stay responsive. ``on_shipped``
    is called (in the worker thread) for each file removed after shipping,
    e.g. to let the spool re-measure its usage. Raises :class:`ShipError` on
    a permanent problem; the caller should log it and keep trapping.
    """
    shipper = await asyncio.to_thread(
        Shipper, cfg, spool_dir=spool_dir, sensor_name=sensor_name, on_shipped=on_shipped, files_dir=files_dir
    )
    try:
        while not stop_event.is_set():
            delay = await asyncio.to_thread(shipper.step, stop_event.is_set, False)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_event.wait(), delay)
    finally:
        shipper.close()


def load_ship_config(path: Path) -> ShipConfig:
    """A TOML file's ``[ship]`` table (or its top level), relative paths resolved against the file."""
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ShipError(f"cannot read {path}: {exc}") from None
    table = data.get("ship", data)
    try:
        cfg = ShipConfig.model_validate(table)
    except ValidationError as exc:
        lines = [f"invalid ship configuration in {path}:"]
        for e in exc.errors():
            loc = ".".join(str(p) for p in e["loc"])
            lines.append(f"  {loc}: {'unknown key' if e['type'] == 'extra_forbidden' else e['msg']}")
        raise ShipError("\n".join(lines)) from None
    return resolve_relative(cfg, path.parent)
