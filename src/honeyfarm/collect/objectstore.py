# SPDX-License-Identifier: MIT
"""Object stores for ``honeyfarm ship``: a local directory or S3 (any S3-compatible endpoint).

Why a tiny interface of our own instead of ``boto3.upload_file``: shipping is
only loss-free if every upload is *verified* before the local file counts as
shipped, and if failures are sorted into "retry later" (the store is down,
slow or returned garbage) and "stop now" (wrong credentials, no such bucket),
so an outage of any length is waited out while a misconfiguration fails
loudly. Each ``put`` therefore sends checksums the server must check
(Content-MD5 on a single PUT and on every multipart part), then HEADs the
object and compares size, ETag (the MD5, or the multipart MD5-of-MD5s) and
the ``sha256`` metadata we set; a local put re-reads what it wrote.

The key layout and the shipped-state file live here too, beside the stores
they describe; :mod:`honeyfarm.collect.ship` explains both.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from honeyfarm.lake.durable import atomic_write_bytes, fsync_dir

if TYPE_CHECKING:
    from honeyfarm.collect.ship import ShipConfig

CHUNK = 1024 * 1024
_SPOOL_NAME = re.compile(r"^(?P<name>.+)-(?P<stamp>\d{8}T\d{6}Z)-(?P<seq>\d{6,})\.jsonl$")
_ROTATION = re.compile(r"(?:[.-](?:\d{1,4}|\d{4}-?\d{2}-?\d{2}(?:[T_-]?\d{2,6}Z?)?))+$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.=-]")
_PRUNE_AFTER = 24 * 3600.0  # keep a record of a vanished source this long (renames during rotation)


class ShipError(Exception):
    """The shipper cannot go on: bad configuration, credentials, permissions, or another shipper runs."""


class StoreError(Exception):
    """A permanent failure (credentials, permissions, missing bucket): retrying will not help."""


class TransientStoreError(Exception):
    """The store is unreachable, overloaded or returned a bad copy: retry later."""


@dataclass(frozen=True)
class Blob:
    """A finished (gzip) file to upload and what it must look like once stored."""

    path: Path
    size: int
    md5: str
    sha256: str
    metadata: dict[str, str]
    #: Raw captured files (:mod:`honeyfarm.collect.ship_files`) go up as ``application/octet-stream``.
    content_type: str = "application/gzip"


def describe(path: Path) -> tuple[int, str, str]:
    """Size, MD5 hex and SHA-256 hex of a file."""
    md5, sha, n = hashlib.md5(usedforsecurity=False), hashlib.sha256(), 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            md5.update(chunk)
            sha.update(chunk)
            n += len(chunk)
    return n, md5.hexdigest(), sha.hexdigest()


def sha256_file(path: Path) -> str:
    """SHA-256 hex of a file (what identifies a source file; its MD5 is never needed)."""
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


class ObjectStore(Protocol):
    """Where shipped objects go."""

    def put(self, key: str, blob: Blob) -> None:
        """Store ``blob`` under ``key`` (overwriting) and verify it; raise on any doubt."""
        ...

    def describe(self) -> str:
        """Human-readable location, e.g. ``s3://bucket/prefix``."""
        ...

    def stat(self, key: str) -> dict[str, Any] | None:
        """``{"size": int, "sha256": str | None}`` of the object at ``key``, or ``None`` if there is none."""
        ...


class LocalStore:
    """A directory: ``<root>/<key>``, written to a temporary name, fsynced, renamed, re-read."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return str(self.root)

    def put(self, key: str, blob: Blob) -> None:
        dst = self.root / key
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
            tmp = dst.parent / f".{dst.name}.{uuid.uuid4().hex}.tmp"
            # 0o644 at most (umask may tighten it): stored objects include captured malware, never executable.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
            with blob.path.open("rb") as src, os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(src, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, dst)
            fsync_dir(dst.parent)
            size, _, sha = describe(dst)
        except PermissionError as exc:
            raise StoreError(f"cannot write to the local object store {self.root}: {exc}") from None
        except OSError as exc:  # disk full, I/O error: may clear up
            raise TransientStoreError(f"local object store {self.root}: {exc}") from None
        if size != blob.size or sha != blob.sha256:
            raise TransientStoreError(f"{dst}: stored copy differs from the source (size {size} != {blob.size})")

    def stat(self, key: str) -> dict[str, Any] | None:
        """A directory keeps no metadata, so the sha256 is that of the stored bytes (re-hashed)."""
        path = self.root / key
        try:
            if not path.is_file() or path.is_symlink():
                return None
            size, _, sha = describe(path)
        except FileNotFoundError:
            return None
        except PermissionError as exc:
            raise StoreError(f"cannot read the local object store {self.root}: {exc}") from None
        except OSError as exc:
            raise TransientStoreError(f"local object store {self.root}: {exc}") from None
        return {"size": size, "sha256": sha}


# S3 error codes that no retry will fix. Everything else (5xx, SlowDown, RequestTimeout,
# BadDigest: the bytes were damaged on the way) is retried.
_FATAL = {
    "InvalidAccessKeyId": "the access key is not known to the server (check the AWS credentials)",
    "SignatureDoesNotMatch": "the secret key is wrong (the request signature does not match)",
    "AccessDenied": "access denied: the credentials lack permission (s3:PutObject and s3:GetObject are needed)",
    "AllAccessDisabled": "all access to this bucket has been disabled",
    "AccountProblem": "the account has a problem that prevents the upload",
    "InvalidToken": "the session token is invalid",
    "ExpiredToken": "the session token has expired",
    "NoSuchBucket": "the bucket does not exist",
    "InvalidBucketName": "the bucket name is not valid",
    "PermanentRedirect": "the bucket is in another region or needs another endpoint (set region/endpoint_url)",
    "AuthorizationHeaderMalformed": "the request was signed for the wrong region (set region)",
}


class S3Store:
    """S3 or S3-compatible (Ceph radosgw, MinIO, ...). Credentials: the standard AWS chain."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        addressing_style: str = "auto",
        profile: str | None = None,
        multipart_threshold: int = 64 * 1024 * 1024,
        part_size: int = 16 * 1024 * 1024,
        verify_etag: bool = True,
        timeout: float = 60.0,
    ) -> None:
        import boto3
        from botocore.config import Config as BotoConfig

        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        self.verify_etag = verify_etag
        session = boto3.session.Session(profile_name=profile, region_name=region)
        self.client: Any = session.client(
            "s3",
            endpoint_url=endpoint_url,
            config=BotoConfig(
                s3={"addressing_style": addressing_style},
                connect_timeout=min(timeout, 10.0),
                read_timeout=timeout,
                # One quick retry inside botocore; the shipper's own backoff handles outages.
                retries={"max_attempts": 2, "mode": "standard"},
                # Content-MD5 is ours; newer botocore would add CRC32 trailers some servers reject.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    def describe(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"s3://{self.bucket}{where}"

    # --- errors ---------------------------------------------------------------
    def _classify(self, exc: Exception, key: str) -> Exception:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError

        if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
            return StoreError(f"S3 {self.describe()}: no usable AWS credentials found ({exc})")
        if isinstance(exc, ClientError):
            err = exc.response.get("Error", {})
            code = str(err.get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            if code in _FATAL:
                return StoreError(f"S3 {self.describe()} refused {key!r}: {_FATAL[code]} ({code})")
            if code in ("403", "Forbidden"):  # a HEAD has no body, hence no error code
                return StoreError(f"S3 {self.describe()}: access denied to {key!r} (credentials or permissions)")
            if code in ("404", "NoSuchKey", "NotFound") or status == 404:
                return TransientStoreError(f"S3 {self.describe()}: {key!r} not found right after upload")
            if 400 <= status < 500 and status not in (400, 408, 409, 429):
                return StoreError(f"S3 {self.describe()} refused {key!r}: {code or status} {err.get('Message', '')}")
            return TransientStoreError(f"S3 {self.describe()}: {code or status} {err.get('Message', '')}".rstrip())
        if isinstance(exc, (BotoCoreError, OSError)):
            return TransientStoreError(f"S3 {self.describe()} unreachable: {exc}")
        return exc

    # --- upload ---------------------------------------------------------------
    def put(self, key: str, blob: Blob) -> None:
        try:
            if blob.size > self.multipart_threshold:
                etag = self._put_multipart(key, blob)
            else:
                with blob.path.open("rb") as body:
                    self.client.put_object(
                        Bucket=self.bucket, Key=key, Body=body, ContentLength=blob.size,
                        ContentMD5=base64.b64encode(bytes.fromhex(blob.md5)).decode(),
                        ContentType=blob.content_type, Metadata=blob.metadata,
                    )  # fmt: skip
                etag = blob.md5
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            raise self._classify(exc, key) from exc
        got_etag = str(head.get("ETag", "")).strip('"')
        meta = {k.lower(): v for k, v in head.get("Metadata", {}).items()}
        if int(head.get("ContentLength", -1)) != blob.size:
            raise TransientStoreError(f"{key}: stored size {head.get('ContentLength')} != {blob.size}")
        if meta.get("sha256") != blob.sha256:
            raise TransientStoreError(f"{key}: stored sha256 metadata {meta.get('sha256')!r} != {blob.sha256}")
        if self.verify_etag and got_etag != etag:
            raise TransientStoreError(f"{key}: stored ETag {got_etag!r} != expected {etag!r}")

    def stat(self, key: str) -> dict[str, Any] | None:
        """HEAD: size and our ``sha256`` metadata (``None`` when the object was not stored by us)."""
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            if code in ("404", "NoSuchKey", "NotFound") or status == 404:
                return None
            raise self._classify(exc, key) from exc
        except Exception as exc:
            raise self._classify(exc, key) from exc
        meta = {k.lower(): v for k, v in head.get("Metadata", {}).items()}
        return {"size": int(head.get("ContentLength", -1)), "sha256": meta.get("sha256")}

    def _put_multipart(self, key: str, blob: Blob) -> str:
        """Parts with Content-MD5 each; returns the ETag S3 computes (MD5 of the part MD5s, ``-N``)."""
        up = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=key, ContentType=blob.content_type, Metadata=blob.metadata
        )
        upload_id = up["UploadId"]
        digests: list[bytes] = []
        parts: list[dict[str, Any]] = []
        try:
            with blob.path.open("rb") as fh:
                while chunk := fh.read(self.part_size):
                    md5 = hashlib.md5(chunk, usedforsecurity=False).digest()
                    n = len(digests) + 1
                    r = self.client.upload_part(
                        Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=n, Body=chunk,
                        ContentMD5=base64.b64encode(md5).decode(),
                    )  # fmt: skip
                    if str(r.get("ETag", "")).strip('"') != md5.hex():
                        raise TransientStoreError(f"{key}: part {n} stored with a different MD5")
                    digests.append(md5)
                    parts.append({"PartNumber": n, "ETag": r["ETag"]})
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            # Best effort; a bucket lifecycle rule (AbortIncompleteMultipartUpload) cleans up the rest.
            with contextlib.suppress(Exception):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise
        return hashlib.md5(b"".join(digests), usedforsecurity=False).hexdigest() + f"-{len(digests)}"


def make_store(cfg: ShipConfig) -> ObjectStore:
    """The store ``cfg`` names."""
    if cfg.store == "local":
        return LocalStore(cfg.local_dir)
    return S3Store(
        cfg.bucket, endpoint_url=cfg.endpoint_url, region=cfg.region, addressing_style=cfg.addressing_style,
        profile=cfg.profile, multipart_threshold=cfg.multipart_threshold, part_size=cfg.part_size,
        verify_etag=cfg.verify_etag, timeout=cfg.timeout_seconds,
    )  # fmt: skip


# --- key layout and shipped state (see honeyfarm.collect.ship) -------------------------
def _safe(s: str) -> str:
    return _UNSAFE.sub("_", s) or "_"


def glob_key(prefix: str, sensor: str, path: Path, mtime: float, sha256: str) -> str:
    name = path.name
    gz = name.endswith(".gz")
    if gz:
        name = name[:-3]
    stem = _ROTATION.sub("", name) or name
    base, dot, ext = stem.rpartition(".")
    if not dot or not base:
        base, ext = stem, ""
    day = dt.datetime.fromtimestamp(mtime, dt.UTC).strftime("%Y-%m-%d")
    fname = f"{_safe(base)}-{sha256[:32]}" + (f".{_safe(ext)}" if ext else "") + ".gz"
    return f"{prefix}sensor={_safe(sensor)}/date={day}/{fname}"


def spool_key(prefix: str, path: Path, suffix: str = "") -> str | None:
    """Key of a closed spool file; ``suffix`` (a digest) only when the plain key is taken by other content."""
    m = _SPOOL_NAME.match(path.name)
    if not m:
        return None
    s = m["stamp"]
    day = f"{s[0:4]}-{s[4:6]}-{s[6:8]}"
    name = _safe(m["name"])
    return f"{prefix}sensor={name}/date={day}/{name}-{s}-{m['seq']}{suffix}.jsonl.gz"


class ShipState:
    """``{"version": 1, "shipped": {key: {source, sha256, bytes, object_sha256, at}}, "files": {...}}``.

    Replaced atomically. ``files`` (sha256 -> {key, source, bytes, at, existed}) lists the captured
    files of the sensor's content store already in the store (:mod:`honeyfarm.collect.ship_files`);
    it is kept apart from ``shipped`` so a log file never counts as shipped because a captured file
    had the same bytes. Older state files simply have no ``files``.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.shipped: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        if path.exists():
            try:
                data = json.loads(path.read_bytes())
                self.shipped = dict(data["shipped"])
                self.files = dict(data.get("files", {}))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise ShipError(f"shipped-state file {path} is unreadable ({exc}); move it aside to re-ship") from None
        self.digests = {e["sha256"] for e in self.shipped.values()}

    def record(self, key: str, entry: dict[str, Any]) -> None:
        self.shipped[key] = entry
        self.digests.add(entry["sha256"])
        self.save()

    def record_file(self, sha256: str, entry: dict[str, Any]) -> None:
        """A captured file is in the store; not saved yet (the caller batches :meth:`save`)."""
        self.files[sha256] = entry

    def prune(self, now: float) -> None:
        """Forget entries whose source is gone for a day (the state file stays small).

        A captured file the sensor evicted and later catches again costs one ``stat`` of the
        store, not an upload.
        """
        drop = [
            k
            for k, e in self.shipped.items()
            if now - e.get("at", now) > _PRUNE_AFTER and not Path(e["source"]).exists()
        ]
        for k in drop:
            del self.shipped[k]
        gone = [
            k for k, e in self.files.items() if now - e.get("at", now) > _PRUNE_AFTER and not Path(e["source"]).exists()
        ]
        for k in gone:
            del self.files[k]
        if drop:
            self.digests = {e["sha256"] for e in self.shipped.values()}
        if drop or gone:
            self.save()

    def save(self) -> None:
        data = {"version": 1, "shipped": self.shipped, "files": self.files}
        body = json.dumps(data, indent=0, sort_keys=True).encode()
        atomic_write_bytes(self.path, body)
