# SPDX-License-Identifier: MIT
"""Which sensor a file's records came from, and when they were delivered, from where the file was found.

Why: most formats carry no sensor name (Suricata's ``host`` is optional,
VPC Flow Logs and Route 53 logs have none, a Dionaea log only knows its own
config), and some records carry no time at all (a VPC Flow Logs custom format
without ``start``/``end`` is valid AWS output). What the records lack, the
place they were read from often says: the ``sensor=<name>/date=<day>/`` key
``honeyfarm ship`` writes, the ``AWSLogs/<account>/vpcflowlogs/<region>/
YYYY/MM/DD/`` key AWS writes, the CloudWatch log stream the agent names after
the instance, a ``[fleet]`` mapping of paths and URLs to sensors, the file's
modification time. This module turns a location into a :class:`FileContext`;
the ingest pipeline applies it to the file's records in one SQL step (a
record's own sensor and time always win).

Everything here is pure and takes attacker-influenced text (an object key is
chosen by whoever can write to the bucket, a stream name by whoever can write
to the log group): names are length-capped, control and format characters
make a name unusable, and nothing read here is ever used as a path.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Literal, Protocol

import numpy as np

#: Longest sensor name taken from a path, key, stream or record default; longer ones are not names.
MAX_NAME = 128
#: How a record without its own time got one (``extra.time_source``).
TimeSource = Literal["cloudwatch", "s3-key", "file-mtime"]
#: Modification times up to this are placeholders (0 or 1 from Nix, reproducible archives), not times.
_PLACEHOLDER_MTIME = 86_400.0

_ACCOUNT = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")
_VPC = re.compile(r"vpc-[0-9a-f]{8,17}")
_STAMP = re.compile(r"(?<![0-9])(\d{8})T(\d{4})Z(?![0-9A-Za-z])")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class FleetSourceLike(Protocol):
    """One ``[[fleet.sources]]`` entry (:class:`honeyfarm.views.web.settings.FleetSource`)."""

    @property
    def match(self) -> str: ...

    @property
    def sensor(self) -> str: ...


@dataclass(frozen=True)
class FileContext:
    """What a file's location says about its records: the default sensor and the delivery time."""

    #: Sensor for records that name none (a record's own non-blank ``sensor`` wins).
    sensor: str | None = None
    #: Delivery time (naive UTC) for records that carry no time of their own.
    delivered: dt.datetime | None = None
    time_source: TimeSource | None = None
    #: CloudWatch: each event's timestamp (ms), line ``n`` of the staged file at index ``n - 1``.
    line_times_ms: np.ndarray | None = field(default=None, compare=False, repr=False)
    #: Names a ``[fleet]`` mapping is matched against (a path as given and absolute, or a URL).
    locations: tuple[str, ...] = ()


def clean_name(raw: str | None) -> str | None:
    """``raw`` trimmed, if it can serve as a sensor name: non-empty, at most :data:`MAX_NAME`
    characters, no control or format characters (a terminal escape, a bidi override); else None."""
    if raw is None:
        return None
    name = raw.strip()
    if not name or len(name) > MAX_NAME:
        return None
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in name):
        return None
    return name


def _parts(location: str) -> list[str]:
    """The ``/``-separated parts of a path or key (and ``\\`` on Windows), without the scheme and bucket."""
    loc = location.split("://", 1)[1] if "://" in location else location
    if os.sep != "/":
        loc = loc.replace(os.sep, "/")
    return [p for p in loc.split("/") if p]


def sensor_segment(location: str) -> str | None:
    """The ``<name>`` of the innermost ``sensor=<name>`` part of a path or key (``honeyfarm ship``'s layout)."""
    for part in reversed(_parts(location)):
        if part.startswith("sensor="):
            return clean_name(part.removeprefix("sensor="))
    return None


def _hive(part: str, key: str) -> str | None:
    return part.removeprefix(key + "=") if part.startswith(key + "=") else None


def aws_log_sensor(location: str) -> str | None:
    """The sensor of an AWS log delivered to S3, from its ``AWSLogs/...`` key; None for other keys.

    * VPC Flow Logs, ``AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/...`` (or the Hive-style
      ``AWSLogs/aws-account-id=<account>/aws-service=vpcflowlogs/aws-region=<region>/...``):
      ``aws:<account>:<region>`` — one account and region is one sensor;
    * Route 53 Resolver query logs, ``AWSLogs/<account>/vpcdnsquerylogs/<vpc-id>/YYYY/MM/DD/...``:
      ``aws:<account>:<vpc-id>`` (their keys name the VPC, not the region);
    * another service whose key has ``<account>/<service>/<region>/``: ``aws:<account>:<region>``.

    An organisation id before the account (``AWSLogs/o-xxxx/<account>/...``) is skipped.
    """
    parts = _parts(location)
    try:
        i = parts.index("AWSLogs")
    except ValueError:
        return None
    rest = parts[i + 1 : i + 4]
    if rest and rest[0].startswith("o-") and not _ACCOUNT.fullmatch(rest[0]):
        rest = parts[i + 2 : i + 5]
    if len(rest) < 3:
        return None
    account = _hive(rest[0], "aws-account-id") or rest[0]
    service = _hive(rest[1], "aws-service") or rest[1]
    where = _hive(rest[2], "aws-region") or rest[2]
    if not _ACCOUNT.fullmatch(account):
        return None
    if service == "vpcdnsquerylogs" and _VPC.fullmatch(where):
        return f"aws:{account}:{where}"
    if _REGION.fullmatch(where):
        return f"aws:{account}:{where}"
    return None


def cloudwatch_sensor(group: str, stream: str) -> str | None:
    """The sensor of a CloudWatch log stream: the stream's name.

    The CloudWatch agent names a stream after the instance (``{instance_id}``
    or ``{hostname}``) while one log group holds the same log of every sensor
    (``/honeyfarm/cowrie``), so the stream is what tells sensors apart, and
    ``{hostname}`` is also the name Cowrie's own records carry. Route 53
    public DNS query logs are the exception: their group is
    ``/aws/route53/<zone>`` and their streams are per edge location, so the
    zone is the sensor (``aws:route53:<zone>``).
    """
    if group.startswith("/aws/route53/"):
        zone = clean_name(group.removeprefix("/aws/route53/"))
        return clean_name(f"aws:route53:{zone}") if zone else None
    return clean_name(stream)


def key_time(location: str) -> dt.datetime | None:
    """The delivery time an object key (or path) states, naive UTC; None if it states none.

    The most precise wins: AWS's ``YYYYMMDDTHHMMZ`` stamp in the file name,
    then the last date path (``date=YYYY-MM-DD``, ``year=/month=/day=[/hour=]``,
    or ``YYYY/MM/DD``) at midnight UTC (or the stated hour).
    """
    parts = _parts(location)
    if not parts:
        return None
    m = _STAMP.search(parts[-1])
    if m:
        got = _time(m[1][:4], m[1][4:6], m[1][6:8], m[2][:2], m[2][2:])
        if got is not None:
            return got
    for i in range(len(parts) - 1, -1, -1):
        day = _hive(parts[i], "date")
        if day is not None and _DAY.fullmatch(day):
            got = _time(day[:4], day[5:7], day[8:10])
            if got is not None:
                return got
        if i >= 2:
            y, mo, d = (_hive(parts[j], k) for j, k in zip(range(i - 2, i + 1), ("year", "month", "day"), strict=True))
            if y and mo and d:
                hour = _hive(parts[i + 1], "hour") if i + 1 < len(parts) else None
                got = _time(y, mo, d, hour or "0")
                if got is not None:
                    return got
            a, b, c = parts[i - 2 : i + 1]
            if len(a) == 4 and len(b) == 2 and len(c) == 2:
                got = _time(a, b, c)
                if got is not None:
                    return got
    return None


def _time(y: str, mo: str, d: str, h: str = "0", mi: str = "0") -> dt.datetime | None:
    if not all(s.isdigit() and s.isascii() for s in (y, mo, d, h, mi)):
        return None
    try:
        return dt.datetime(int(y), int(mo), int(d), int(h), int(mi))
    except ValueError:
        return None


def mtime_time(mtime: float | None) -> dt.datetime | None:
    """A modification time (Unix seconds) as naive UTC; None for a placeholder (epoch) or unusable one."""
    if mtime is None or not mtime > _PLACEHOLDER_MTIME:
        return None
    try:
        return dt.datetime.fromtimestamp(mtime, dt.UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return None


def file_mtime(path: os.PathLike[str] | str) -> float | None:
    """The modification time of ``path`` (Unix seconds), or None if it cannot be read."""
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def _from_location(location: str) -> str | None:
    return sensor_segment(location) or aws_log_sensor(location)


def local_context(name: str, mtime: float | None) -> FileContext:
    """A local file: ``sensor=`` or ``AWSLogs`` parts of its path; its modification time."""
    delivered = mtime_time(mtime)
    locations = tuple(dict.fromkeys((name, os.path.abspath(name))))
    return FileContext(
        sensor=_from_location(name),
        delivered=delivered,
        time_source="file-mtime" if delivered is not None else None,
        locations=locations,
    )


def s3_context(bucket: str, key: str, last_modified: dt.datetime | None) -> FileContext:
    """An S3 object: ``sensor=`` or ``AWSLogs`` parts of its key; the key's date, else its LastModified."""
    url = f"s3://{bucket}/{key}"
    stated = key_time(key)
    if stated is not None:
        return FileContext(_from_location(key), stated, "s3-key", locations=(url,))
    lm = mtime_time(last_modified.timestamp()) if last_modified is not None else None
    return FileContext(_from_location(key), lm, "file-mtime" if lm is not None else None, locations=(url,))


def cloudwatch_context(group: str, stream: str, line_times_ms: Sequence[int] | np.ndarray) -> FileContext:
    """A run of CloudWatch events: the stream's sensor; each event's own timestamp."""
    times = np.asarray(line_times_ms, dtype=np.int64)
    return FileContext(
        cloudwatch_sensor(group, stream), None, "cloudwatch", times, locations=(f"cloudwatch://{group}/{stream}",)
    )


def fleet_sensor(sources: Iterable[FleetSourceLike], locations: Iterable[str]) -> str | None:
    """The sensor of the first ``[[fleet.sources]]`` entry whose glob matches one of ``locations``.

    Matching is :func:`fnmatch.fnmatchcase` over the whole string: ``*`` (and ``**``) also cross
    ``/``, so ``s3://bucket/raw/*`` covers every key under ``raw/``.
    """
    locs = list(locations)
    for src in sources:
        if any(fnmatchcase(loc, src.match) for loc in locs):
            return src.sensor
    return None


def with_fleet(ctx: FileContext, sources: Sequence[FleetSourceLike]) -> FileContext:
    """``ctx`` with the ``[fleet]`` mapping applied: a match wins over what the location says."""
    if not sources:
        return ctx
    got = fleet_sensor(sources, ctx.locations)
    return ctx if got is None else replace(ctx, sensor=got)


# ------------------------------------------------------------------ applied in SQL by the pipeline
#: Dead-letter reason of a record without a time when its file gives no delivery time either.
NO_TIME = (
    "no time: the record carries none and no delivery time is known "
    "(CloudWatch event time, S3 key date, file modification time)"
)
#: How many mapped records lack a time (formats leave ``ts`` NULL with ``_reason`` NULL for them).
MISSING_TIME_SQL = "SELECT count(*) FROM mapped WHERE ts IS NULL AND _reason IS NULL"


def mapped_sql(union: str, window_reason: str, with_defaults: bool, row_bits: int) -> str:
    """``CREATE TABLE mapped`` from the formats' ``union`` (aliased ``u``): the window check and the sensor.

    A record's own sensor is trimmed (blank is none); with ``with_defaults``, a record with none takes
    its file's from ``ctx_segs`` (one row per batch segment, ``_seg = _row >> row_bits``): a hash
    join on a table of a few rows, which costs next to nothing, unlike a range join on row ids.
    """
    sensor, join = "nullif(trim(u.sensor), '')", ""
    if with_defaults:
        sensor = f"coalesce({sensor}, c._sensor)"
        join = f"LEFT JOIN ctx_segs c ON c._seg = u._row >> {row_bits}"
    return (
        f"CREATE OR REPLACE TABLE mapped AS SELECT u.* REPLACE ({sensor} AS sensor, "
        f"coalesce(u._reason, {window_reason}) AS _reason) FROM ({union}) u {join}"
    )


def delivery_time_sqls(window_reason: str, with_lines: bool, row_bits: int) -> list[str]:
    """Statements giving records without a time their delivery time, ``extra.time_source`` saying which.

    The CloudWatch event's time (``ctx_lines``, by ``_row``), else the file's (``ctx_segs``); with
    none, the record becomes a dead letter (:data:`NO_TIME`); a delivery time outside the accepted
    window does too (``window_reason`` over ``f.delivered``).
    """
    line_ts, join = "NULL::TIMESTAMP", ""
    if with_lines:
        line_ts, join = "t._delivered", "LEFT JOIN ctx_lines t ON t._row = m._row"
    reason = "'" + NO_TIME.replace("'", "''") + "'"
    return [
        f"""CREATE OR REPLACE TABLE filled AS
        SELECT m._row, coalesce({line_ts}, c._delivered) AS delivered,
          CASE WHEN {line_ts} IS NOT NULL THEN 'cloudwatch' ELSE c._time_source END AS source
        FROM mapped m LEFT JOIN ctx_segs c ON c._seg = m._row >> {row_bits} {join}
        WHERE m.ts IS NULL AND m._reason IS NULL""",
        f"""UPDATE mapped SET ts = f.delivered,
          extra = CASE WHEN f.delivered IS NULL THEN mapped.extra ELSE json_merge_patch(
            coalesce(mapped.extra, '{{}}'), json_object('time_source', f.source))::VARCHAR END,
          _reason = CASE WHEN f.delivered IS NULL THEN {reason} ELSE {window_reason} END
        FROM filled f WHERE mapped._row = f._row""",
    ]


__all__ = [
    "MAX_NAME",
    "MISSING_TIME_SQL",
    "NO_TIME",
    "FileContext",
    "TimeSource",
    "aws_log_sensor",
    "clean_name",
    "cloudwatch_context",
    "cloudwatch_sensor",
    "delivery_time_sqls",
    "file_mtime",
    "fleet_sensor",
    "key_time",
    "local_context",
    "mapped_sql",
    "mtime_time",
    "s3_context",
    "sensor_segment",
    "with_fleet",
]
