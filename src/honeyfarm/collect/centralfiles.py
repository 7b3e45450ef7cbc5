# SPDX-License-Identifier: MIT
"""The captured files in central storage, as the scanner reads them.

:mod:`honeyfarm.collect.ship_files` puts every file the sensors caught at
``<files_prefix>/sha256/<aa>/<sha256>`` of the ``[ship]`` store (a local
directory or an S3 bucket). :class:`CentralFiles` lists them and hands out a
local path to read one: the stored file itself in a local store; for S3 a
private temporary copy (mode 0o600, removed afterwards), downloaded with a
size cap and checked against its sha256, so a scanner never reads bytes that
are not the file it was asked about. Nothing here executes or interprets a
file: that is the scanners' business, on the path they are given.

Errors: :class:`TooLarge` (bigger than the caller's cap; nothing downloaded),
:class:`CorruptFile` (the stored bytes do not hash to the name),
:class:`MissingFile` (deleted since the listing);
:class:`~honeyfarm.collect.objectstore.TransientStoreError` for outages (retry
later) and :class:`~honeyfarm.collect.objectstore.StoreError` for permanent
ones (credentials, permissions, no such bucket).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from honeyfarm.collect.objectstore import CHUNK, LocalStore, ObjectStore, S3Store, make_store
from honeyfarm.collect.ship_config import ShipConfig
from honeyfarm.collect.ship_files import files_key

log = logging.getLogger(__name__)
__all__ = ["CentralFiles", "CentralFilesError", "CorruptFile", "MissingFile", "StoredFile", "TooLarge"]

_TAIL = re.compile(r"([0-9a-f]{2})/(\1[0-9a-f]{62})")  # after "<files_prefix>/sha256/"


class CentralFilesError(Exception):
    """A stored file cannot be handed out (see the subclasses)."""


class TooLarge(CentralFilesError):
    """The file is larger than the caller's ``max_bytes``; it was not downloaded."""


class CorruptFile(CentralFilesError):
    """The stored bytes do not hash to the file's name (or differ in size from the listing)."""


class MissingFile(CentralFilesError):
    """The object was deleted after it was listed."""


@dataclass(frozen=True)
class StoredFile:
    """One captured file in the store."""

    sha256: str
    size: int
    key: str  # relative to the store's root: <files_prefix>/sha256/<aa>/<sha256>
    stored_at: dt.datetime | None  # aware UTC: the object's LastModified (local store: mtime)


class CentralFiles:
    """Lists and opens the captured files of one store (see the module docstring)."""

    def __init__(self, store: ObjectStore, files_prefix: str = "files", tmp_dir: Path | None = None) -> None:
        if not isinstance(store, LocalStore | S3Store):
            raise TypeError(f"cannot list files in {type(store).__name__}")
        self.store = store
        self.files_prefix = files_prefix.strip("/")
        self.base = files_key(self.files_prefix, "0" * 64).rsplit("/", 2)[0] + "/"  # "<files_prefix>/sha256/"
        self.tmp_dir = tmp_dir

    @classmethod
    def from_ship_config(cls, cfg: ShipConfig, tmp_dir: Path | None = None) -> CentralFiles:
        """The store ``[ship]`` names (credentials from the standard AWS chain, as for shipping)."""
        return cls(make_store(cfg), cfg.files_prefix, tmp_dir)

    def describe(self) -> str:
        """E.g. ``s3://bucket at http://ceph:7480 files/sha256/``."""
        return f"{self.store.describe()} {self.base}"

    # --- listing --------------------------------------------------------------
    def list(self) -> Iterator[StoredFile]:
        """Every valid object under ``<files_prefix>/sha256/``; anything else is skipped with a warning."""
        if isinstance(self.store, LocalStore):
            yield from self._list_local(self.store.root)
        else:
            yield from self._list_s3(self.store)

    def _parse(self, key: str, size: int, stored_at: dt.datetime | None) -> StoredFile | None:
        m = _TAIL.fullmatch(key[len(self.base) :]) if key.startswith(self.base) else None
        if m is None:
            log.warning("%s: %r is not a captured file (<aa>/<sha256>); skipped", self.describe(), key)
            return None
        return StoredFile(m[2], size, key, stored_at)

    def _list_local(self, root: Path) -> Iterator[StoredFile]:
        top = root / self.base
        if not top.is_dir():
            return
        for dirpath, dirs, names in os.walk(top):
            dirs.sort()
            for name in sorted(names):
                if name.startswith("."):
                    continue  # a LocalStore write in progress
                p = Path(dirpath) / name
                try:
                    st = p.lstat()
                except FileNotFoundError:
                    continue
                key = p.relative_to(root).as_posix()
                if not p.is_file() or p.is_symlink():
                    log.warning("%s: %r is not a regular file; skipped", self.describe(), key)
                    continue
                when = dt.datetime.fromtimestamp(st.st_mtime, dt.UTC)
                if (f := self._parse(key, st.st_size, when)) is not None:
                    yield f

    def _list_s3(self, s3: S3Store) -> Iterator[StoredFile]:
        pages = s3.client.get_paginator("list_objects_v2").paginate(Bucket=s3.bucket, Prefix=self.base)
        try:
            for page in pages:
                for obj in page.get("Contents", []):
                    when = obj.get("LastModified")
                    stored_at = when.astimezone(dt.UTC) if isinstance(when, dt.datetime) else None
                    if (f := self._parse(str(obj["Key"]), int(obj.get("Size", 0)), stored_at)) is not None:
                        yield f
        except Exception as exc:
            raise s3._classify(exc, self.base) from exc

    # --- reading --------------------------------------------------------------
    @contextlib.contextmanager
    def open(self, f: StoredFile, max_bytes: int, *, verify: bool = True) -> Iterator[Path]:
        """A local path holding exactly ``f``'s bytes, valid inside the ``with`` block.

        ``verify=False`` skips re-hashing a local store's file, for a caller that hashes it anyway and
        compares (the scanner does: one read per file instead of two). S3 objects are always verified
        while they are downloaded.
        """
        if f.size > max_bytes:
            raise TooLarge(f"{f.key}: {f.size} bytes > {max_bytes}")
        if isinstance(self.store, LocalStore):
            path = self.store.root / f.key
            if verify:
                self._verify_local(path, f, max_bytes)
            elif path.is_symlink() or not path.is_file():
                raise MissingFile(f"{path}: not a regular file, or gone since it was listed")
            yield path
            return
        fd, name = tempfile.mkstemp(prefix="hf-file-", dir=self.tmp_dir)  # 0o600
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                self._download(self.store, f, out, max_bytes)
            yield tmp
        finally:
            tmp.unlink(missing_ok=True)

    def _verify_local(self, path: Path, f: StoredFile, max_bytes: int) -> None:
        try:
            if path.is_symlink() or not path.is_file():
                raise MissingFile(f"{path}: not a regular file")
            got = _hash(path.open("rb"), max_bytes, f)
        except FileNotFoundError:
            raise MissingFile(f"{path}: gone since it was listed") from None
        if got != f.sha256:
            raise CorruptFile(f"{path}: content hashes to {got}, not {f.sha256}")

    def _download(self, s3: S3Store, f: StoredFile, out: Any, max_bytes: int) -> None:
        from botocore.exceptions import ClientError

        try:
            body = s3.client.get_object(Bucket=s3.bucket, Key=f.key)["Body"]
            sha, n = hashlib.sha256(), 0
            for chunk in body.iter_chunks(CHUNK):
                n += len(chunk)
                if n > max(f.size, 0) or n > max_bytes:
                    body.close()
                    raise CorruptFile(f"{f.key}: more than the listed {f.size} bytes")
                sha.update(chunk)
                out.write(chunk)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404", "NotFound"):
                raise MissingFile(f"{f.key}: gone since it was listed") from None
            raise s3._classify(exc, f.key) from exc
        except CentralFilesError:
            raise
        except Exception as exc:
            raise s3._classify(exc, f.key) from exc
        if n != f.size or sha.hexdigest() != f.sha256:
            raise CorruptFile(f"{f.key}: {n} bytes hashing to {sha.hexdigest()}, not {f.size} bytes of {f.sha256}")


def _hash(fh: Any, max_bytes: int, f: StoredFile) -> str:
    """SHA-256 of an open file, reading at most ``max_bytes`` + 1 bytes (more means it is not ``f``)."""
    sha, n = hashlib.sha256(), 0
    with fh:
        while chunk := fh.read(CHUNK):
            n += len(chunk)
            if n > max_bytes:
                raise CorruptFile(f"{f.key}: larger than {max_bytes} bytes, not the listed {f.size}")
            sha.update(chunk)
    return sha.hexdigest()
