# SPDX-License-Identifier: MIT
"""The ``[ship]`` table of honeyfarm.toml (:class:`ShipConfig`).

Its own module so :mod:`honeyfarm.config` can validate it without importing the
shipper (and boto3) into every process that reads a config, the sensor included.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MIB = 1024 * 1024


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


FilePath = Annotated[Path, Field(strict=False)]


class ShipConfig(_Strict):
    """The ``[ship]`` table: where closed logs go and how hard the shipper tries."""

    enabled: bool = Field(
        False, description="Run the shipper inside `honeyfarm sensor` (`honeyfarm ship` always runs)."
    )
    store: Literal["local", "s3"] = Field("local", description="Object store: a local directory or S3(-compatible).")
    local_dir: FilePath = Field(Path("./honeyfarm-objects"), description="Directory of the `local` store.")
    bucket: str = Field("", description='S3 bucket (required for `store = "s3"`); it must exist.')
    prefix: str = Field("raw", description="Key prefix; keys are `<prefix>/sensor=<name>/date=<day>/<file>.gz`.")
    endpoint_url: str | None = Field(None, description="S3-compatible endpoint, e.g. `http://ceph:7480` (default AWS).")
    region: str | None = Field(None, description="S3 region (default: the AWS chain's, e.g. $AWS_REGION).")
    addressing_style: Literal["auto", "path", "virtual"] = Field(
        "auto", description="S3 addressing; `path` for Ceph radosgw / MinIO without wildcard DNS."
    )
    profile: str | None = Field(None, description="AWS profile; credentials otherwise come from the standard chain.")
    ship_spool: bool = Field(True, description="Ship the sensor spool's closed `events/*.jsonl` files.")
    spool_dir: FilePath | None = Field(None, description="Spool directory (default: `sensor.spool.dir`).")
    ship_files: bool = Field(
        True,
        description="Ship the sensor's captured files (its content store) too, raw, to "
        "`<files_prefix>/sha256/<aa>/<sha256>`: once per content, whichever sensor caught it.",
    )
    files_dir: FilePath | None = Field(
        None, description="The sensor's content store (default: `sensor.downloads.dir`, else `<spool_dir>/downloads`)."
    )
    files_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.=/-]*$")] = Field(
        "files",
        description="Key prefix of captured files, at the store's root, not under `prefix` (ingest never reads "
        "binaries, and one file caught by many sensors is one object).",
    )
    globs: list[str] = Field(
        default_factory=list,
        description="Other logs to ship, e.g. `/var/log/cowrie/cowrie.json*`. A match is closed when it is not "
        "the newest match of its pattern and unmodified for `settle_seconds`.",
    )
    settle_seconds: Annotated[float, Field(ge=0)] = Field(
        60.0, description="A glob match must be unmodified this long before it is shipped."
    )
    sensor_name: str | None = Field(
        None, description="`sensor=` in keys of glob files (default: `sensor.identity.name`)."
    )
    state_file: FilePath | None = Field(
        None, description="Shipped-state file, written atomically (default: `<spool_dir>/ship-state.json`)."
    )
    delete_after_ship: bool = Field(False, description="Remove a source file once its upload is verified.")
    shipped_dir: FilePath | None = Field(
        None, description="With `delete_after_ship`, move shipped files here instead of deleting them."
    )
    poll_seconds: Annotated[float, Field(gt=0)] = Field(30.0, description="Seconds between scans for closed files.")
    retry_initial_seconds: Annotated[float, Field(gt=0)] = Field(
        1.0, description="First retry delay after a failed upload; doubles per failure."
    )
    retry_max_seconds: Annotated[float, Field(gt=0)] = Field(300.0, description="Cap of the retry delay.")
    warn_unshipped_bytes: Annotated[int, Field(ge=0)] = Field(
        1024**3, description="Warn (stderr log) while more than this many bytes wait to be shipped (0 = never)."
    )
    compression_level: Annotated[int, Field(ge=1, le=9)] = Field(6, description="gzip level of shipped objects.")
    multipart_threshold: Annotated[int, Field(ge=5 * MIB)] = Field(
        64 * MIB, description="Compressed objects larger than this are uploaded in parts."
    )
    part_size: Annotated[int, Field(ge=5 * MIB)] = Field(16 * MIB, description="Multipart part size.")
    verify_etag: bool = Field(
        True,
        description="Compare the stored ETag with the MD5 we computed; turn off for SSE-KMS/SSE-C buckets, "
        "whose ETag is not an MD5 (Content-MD5 and the sha256 metadata are still checked).",
    )
    timeout_seconds: Annotated[float, Field(gt=0)] = Field(60.0, description="S3 read timeout per request.")

    @model_validator(mode="after")
    def _check(self) -> ShipConfig:
        if self.store == "s3" and not self.bucket:
            raise ValueError("store = 's3' needs a bucket")
        if ".." in self.files_prefix.split("/"):
            raise ValueError("files_prefix must not contain '..'")
        return self


def resolve_relative(cfg: ShipConfig, base: Path) -> ShipConfig:
    """Paths written in a config file are relative to that file (defaults stay relative to the cwd)."""

    def fix(p: Path) -> Path:
        return p if p.is_absolute() else base / p

    upd: dict[str, Any] = {}
    for name in ("local_dir", "spool_dir", "state_file", "shipped_dir", "files_dir"):
        v = getattr(cfg, name)
        if name in cfg.model_fields_set and v is not None:
            upd[name] = fix(v)
    if cfg.globs:
        upd["globs"] = [g if os.path.isabs(os.path.expanduser(g)) else str(base / g) for g in cfg.globs]
    return cfg.model_copy(update=upd)
