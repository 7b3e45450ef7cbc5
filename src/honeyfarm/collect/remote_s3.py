# SPDX-License-Identifier: MIT
"""``s3://bucket/prefix`` as an ingest source, incremental and loss-free.

Why this shape: honeypot logs end up in object stores (``honeyfarm ship``'s
``raw/`` area, the CloudWatch agent's or Fluent Bit's S3 outputs, a Ceph or
MinIO bucket next to the sensors), and ingesting them must behave exactly like
ingesting local files: same format detection, same dead-letter reasons, same
dedup, same crash safety. So an object is not parsed here at all: it is
streamed (never held in memory) into a temporary file under the lake's
``_staging`` and handed to the file path of :mod:`honeyfarm.pipeline`, which
decompresses ``.gz``/``.zst`` by magic bytes as it does for files.

What changes is the checkpoint. Objects are immutable, so one is identified by
``s3://bucket/key`` plus its ETag and size, and its read position (offset,
lines, digest of the bytes before the offset: the same resume check as
:mod:`honeyfarm.collect.checkpoint`) is kept in ``<lake>/_state/remote_s3.json``,
written atomically only after the batch holding those lines is durable. A
finished object is marked ``done`` and is neither downloaded nor read again; a
key whose ETag or size changed is read again from the start (event-id dedup
drops what was already in). A kill at any point can only cause a re-read.

:class:`RemoteConfig` is the ``[remote]`` table of ``honeyfarm.toml`` (also
used by :mod:`honeyfarm.collect.remote_cloudwatch`). Credentials always come
from the standard AWS chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
``AWS_PROFILE``, shared files, instance roles), never from the config.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from honeyfarm.collect.attribution import s3_context
from honeyfarm.collect.files import GZIP_MAGIC, ZSTD_MAGIC, StagedSource, digest, is_content_key
from honeyfarm.config import RemoteConfig
from honeyfarm.lake.durable import atomic_write_bytes

log = logging.getLogger(__name__)

#: Keys ending like this are not logs (or not finished): skipped, as local directory walks skip them.
SKIP_SUFFIXES = (".md", ".sqlite", ".db", ".parquet", ".tmp", ".partial", ".lock")
_AUTH_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
}


def remote_config(cfg: object) -> RemoteConfig:
    """``cfg.remote`` when the configuration has that table, else the defaults."""
    r = getattr(cfg, "remote", None)
    return r if isinstance(r, RemoteConfig) else RemoteConfig()


class RemoteError(Exception):
    """A remote source cannot be read (credentials, endpoint, missing bucket or log group)."""


# ------------------------------------------------------------------ clients
def boto_client(
    service: Literal["s3", "logs"], rcfg: RemoteConfig, region: str | None, endpoint: str | None, **extra: Any
) -> Any:
    """A boto3 client with bounded retries and timeouts; region: argument, else the AWS chain, else us-east-1."""
    import boto3
    import botocore.config
    import botocore.exceptions

    try:
        session = boto3.session.Session(profile_name=rcfg.aws_profile)
    except botocore.exceptions.ProfileNotFound as exc:
        raise RemoteError(f"AWS profile not found: {exc}") from None
    conf = botocore.config.Config(
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=rcfg.connect_timeout_seconds,
        read_timeout=rcfg.read_timeout_seconds,
        **extra,
    )
    return session.client(
        service, endpoint_url=endpoint, region_name=region or session.region_name or "us-east-1", config=conf
    )


def endpoint_from(configured: str | None, service_env: str) -> str | None:
    return configured or os.environ.get(service_env) or os.environ.get("AWS_ENDPOINT_URL") or None


def describe_error(what: str, exc: Exception) -> str:
    """A one-line reason for a failed AWS call, saying what to check."""
    import botocore.exceptions

    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return f"{what}: no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile)"
    if isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", "?"))
        msg = str(err.get("Message") or "").strip()
        detail = f"{code}: {msg}" if msg else code
        if code in _AUTH_CODES:
            return f"{what}: access denied, check the credentials ({detail})"
        return f"{what}: {detail}"
    if isinstance(exc, botocore.exceptions.EndpointConnectionError | botocore.exceptions.ConnectTimeoutError):
        return f"{what}: cannot connect to the endpoint ({exc})"
    return f"{what}: {type(exc).__name__}: {exc}"


def aws_errors() -> tuple[type[Exception], ...]:
    import botocore.exceptions

    return (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)


# ------------------------------------------------------------------ state
@dataclass
class ObjectState:
    etag: str
    size: int
    offset: int = 0
    lines: int = 0
    tail: str = ""
    done: bool = False
    updated: str = ""


class S3State:
    """Per-object read positions of one lake (``<lake>/_state/remote_s3.json``), keyed ``s3://bucket/key``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.objects: dict[str, ObjectState] = {}
        self._dirty = False
        if path.exists():
            raw = json.loads(path.read_text(encoding="utf-8"))
            for url, item in raw.get("objects", {}).items():
                self.objects[url] = ObjectState(**item)

    def get(self, url: str, etag: str, size: int) -> ObjectState | None:
        """The state of this very object (same ETag and size), if any."""
        st = self.objects.get(url)
        return st if st is not None and st.etag == etag and st.size == size else None

    def record(self, url: str, etag: str, size: int, offset: int, lines: int, tail: bytes) -> None:
        st = self.get(url, etag, size) or ObjectState(etag, size)
        st.offset, st.lines, st.tail, st.updated = offset, lines, digest(tail), _now()
        self.objects[url] = st
        self._dirty = True

    def finish(self, url: str, etag: str, size: int) -> None:
        st = self.get(url, etag, size) or ObjectState(etag, size)
        st.done, st.updated = True, _now()
        self.objects[url] = st
        self._dirty = True

    def save(self) -> None:
        if not self._dirty:
            return
        body = {"version": 1, "objects": {k: asdict(v) for k, v in sorted(self.objects.items())}}
        atomic_write_bytes(self.path, json.dumps(body, indent=1, sort_keys=True).encode())
        self._dirty = False


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


# ------------------------------------------------------------------ source
def parse_s3_url(url: str) -> tuple[str, str, str | None]:
    """``s3://bucket/prefix?region=r`` → (bucket, prefix, region). The prefix is a plain S3 key prefix."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise RemoteError(f"{url}: not an s3://bucket/prefix URL")
    query = parse_qs(parts.query)
    unknown = set(query) - {"region"}
    if unknown:
        raise RemoteError(f"{url}: unknown URL parameter(s) {', '.join(sorted(unknown))} (known: region)")
    region = query.get("region", [None])[-1]
    return parts.netloc, parts.path.lstrip("/"), region


def skipped_key(key: str) -> bool:
    """Directory markers, hidden names, non-log files and shipped captured files, like a local walk skips them."""
    name = key.rsplit("/", 1)[-1]
    return not name or name.startswith(".") or name.endswith(SKIP_SUFFIXES) or is_content_key(key)


def staged_objects(
    url: str,
    rcfg: RemoteConfig,
    state: S3State,
    workdir: Path,
    stats: dict[str, int],
    errors: list[str],
) -> Iterator[StagedSource]:
    """Every object under ``url`` not yet ingested, each downloaded into a file under ``workdir``.

    The file lives until the consumer asks for the next object (or closes the
    generator). Listing or credential failures raise :class:`RemoteError`;
    a single object that vanished or changed since the listing is left for the
    next run, any other failure on one object is added to ``errors``.
    """
    bucket, prefix, region = parse_s3_url(url)
    endpoint = endpoint_from(rcfg.s3_endpoint_url, "AWS_ENDPOINT_URL_S3")
    client = boto_client(
        "s3", rcfg, region or rcfg.s3_region, endpoint, s3={"addressing_style": rcfg.s3_addressing_style}
    )
    for key, etag, size, modified in _list(client, bucket, prefix, url):
        stats["objects_listed"] = stats.get("objects_listed", 0) + 1
        if skipped_key(key):
            continue
        label = f"s3://{bucket}/{key}"
        st = state.get(label, etag, size)
        if st is not None and st.done:
            stats["objects_skipped"] = stats.get("objects_skipped", 0) + 1
            continue
        path = workdir / f"obj-{uuid.uuid4().hex}"
        try:
            got = _download(client, bucket, key, etag, path, label, errors)
            if got is None:
                continue
            stats["objects_downloaded"] = stats.get("objects_downloaded", 0) + 1
            stats["bytes_downloaded"] = stats.get("bytes_downloaded", 0) + got
            resume = (st.offset, st.lines, st.tail) if st is not None and st.offset > 0 else None
            yield StagedSource(
                label,
                path,
                resume,
                record=functools.partial(state.record, label, etag, size),
                finish=functools.partial(state.finish, label, etag, size),
                context=s3_context(bucket, key, modified),
            )
        finally:
            path.unlink(missing_ok=True)


def _list(client: Any, bucket: str, prefix: str, url: str) -> Iterator[tuple[str, str, int, dt.datetime | None]]:
    """(key, ETag, size, LastModified) of every object under ``prefix``."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    try:
        for page in pages:
            for obj in page.get("Contents", []):
                modified = obj.get("LastModified")
                yield (
                    obj["Key"],
                    str(obj.get("ETag", "")).strip('"'),
                    int(obj.get("Size", 0)),
                    modified if isinstance(modified, dt.datetime) else None,
                )
    except aws_errors() as exc:
        raise RemoteError(describe_error(f"{url}: cannot list objects", exc)) from None


def _download(client: Any, bucket: str, key: str, etag: str, path: Path, label: str, errors: list[str]) -> int | None:
    """Stream the object into ``path`` (bytes written), or None when it is to be left for later."""
    import botocore.exceptions

    try:
        resp = (
            client.get_object(Bucket=bucket, Key=key, IfMatch=f'"{etag}"')
            if etag
            else client.get_object(Bucket=bucket, Key=key)
        )
        got = 0
        first = last = b""
        with open(path, "wb") as f:
            for chunk in resp["Body"].iter_chunks(1 << 20):
                if not first:
                    first = chunk[:4]
                f.write(chunk)
                got += len(chunk)
                last = chunk[-1:]
            if got and last != b"\n" and not first.startswith((GZIP_MAGIC, ZSTD_MAGIC)):
                # The object is complete, so its last line is too (local files wait for the writer).
                f.write(b"\n")
    except botocore.exceptions.ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("NoSuchKey", "404", "PreconditionFailed", "412"):
            log.info("%s: deleted or replaced since the listing; left for the next run", label)
            return None
        if code in _AUTH_CODES:
            raise RemoteError(describe_error(f"{label}: cannot download", exc)) from None
        errors.append(describe_error(f"{label}: cannot download", exc))
        return None
    except (botocore.exceptions.BotoCoreError, OSError) as exc:
        errors.append(describe_error(f"{label}: cannot download", exc))
        return None
    return got


__all__ = [
    "RemoteConfig",
    "RemoteError",
    "S3State",
    "StagedSource",
    "parse_s3_url",
    "remote_config",
    "staged_objects",
]
