# SPDX-License-Identifier: MIT
"""Records that carry no time take their delivery time (``extra.time_source``); none at all → dead letter.

A VPC Flow Logs custom format without ``start``/``end`` is valid AWS output,
and a JSON record may lack its time field: such records take the CloudWatch
event's timestamp, else the S3 key's date (AWS's ``YYYYMMDDTHHMMZ`` stamp
first), else the file's (or object's) modification time. A time present but
unparseable is still bad data. S3 and CloudWatch run on a moto server (real
HTTP, real boto3 requests), as ``tests/test_ingest_remote.py`` does for
CloudWatch.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from lakeutil import query
from sensorutil import free_port

import honeyfarm.formats
from honeyfarm.collect.attribution import NO_TIME, key_time, mtime_time
from honeyfarm.config import Config, GeoIPConfig, RemoteConfig
from honeyfarm.formats.vpcflow import VPCFlowFormat
from honeyfarm.pipeline import ingest

NO_GEO = Config(geoip=GeoIPConfig(enabled=False))
OWN = "2024-03-01T10:00:00Z"
#: Where AWS delivers a flow log file, with its ``YYYYMMDDTHHMMZ`` stamp.
STAMPED = (
    "AWSLogs/123456789012/vpcflowlogs/eu-west-1/2024/03/01/"
    "123456789012_vpcflowlogs_eu-west-1_fl-1_20240301T1205Z_ab.log"
)
#: A custom VPC Flow Logs format without start/end: nothing in a record says when.
HEADER = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes action log-status"
AWS_VARS = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_LOGS",
    "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION",
)  # fmt: skip


def flows(n: int, tag: int = 0) -> str:
    """A header and ``n`` distinct timeless records."""
    rows = [f"2 123456789012 eni-0a1b2c3d 198.51.100.{tag} 10.0.0.5 {40000 + i} 22 6 3 180 REJECT OK" for i in range(n)]
    return "\n".join([HEADER, *rows]) + "\n"


def cowrie(tag: str, n: int, timestamp: str | None = None) -> list[str]:
    recs: list[dict[str, Any]] = [
        {"eventid": "cowrie.session.connect", "session": f"{tag}{i}", "src_ip": "198.51.100.9"} for i in range(n)
    ]
    if timestamp is not None:
        for r in recs:
            r["timestamp"] = timestamp
    return [json.dumps(r) for r in recs]


def rows(lake: Path, where: str = "true") -> list[tuple[dt.datetime, str | None, str]]:
    """(ts, extra.time_source, source_format) per event, in time order."""
    sql = f"SELECT ts, extra->>'time_source', source_format FROM events WHERE {where} ORDER BY ts, event_id"
    return [(r[0], r[1], r[2]) for r in query(lake, sql)]


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, s)  # naive UTC, as the lake stores ts


@pytest.fixture(autouse=True)
def fresh_vpcflow(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh VPC Flow Logs format per test (its detector remembers the headers it read)."""
    monkeypatch.setitem(honeyfarm.formats.FORMATS, "vpcflow", VPCFlowFormat())


# ------------------------------------------------------------------ local files: the modification time


def test_vpc_custom_format_without_start_takes_the_file_mtime(tmp_path: Path) -> None:
    src = tmp_path / "flows.log"
    src.write_text(flows(3))
    when = utc(2024, 3, 2, 3, 4, 5)
    os.utime(src, (when.replace(tzinfo=dt.UTC).timestamp(),) * 2)
    lake = tmp_path / "lake"
    r = ingest([str(src)], NO_GEO, lake)
    assert (r.errors, r.ingested, r.dead_letter) == ([], 3, 0)
    assert rows(lake) == [(when, "file-mtime", "vpcflow")] * 3
    assert query(lake, "SELECT count(DISTINCT event_id), min(duration) FROM events") == [(3, None)]
    # Read again (no checkpoint: a copy with another name and head): the same events, all duplicates.
    copy = tmp_path / "copy.log"
    copy.write_text("\n" + flows(3))
    os.utime(copy, (when.replace(tzinfo=dt.UTC).timestamp(),) * 2)
    again = ingest([str(copy)], NO_GEO, lake)
    assert (again.ingested, again.duplicates) == (0, 3)


def test_json_records_own_time_wins_missing_takes_mtime_bad_is_dead(tmp_path: Path) -> None:
    src = tmp_path / "cowrie.json"
    lines = cowrie("own", 2, OWN) + cowrie("none", 3) + cowrie("bad", 1, "yesterday")
    lines.append(json.dumps({"eventid": "cowrie.session.connect", "session": "nul", "timestamp": None}))
    src.write_text("\n".join(lines) + "\n")
    when = utc(2024, 3, 4, 0, 30)
    os.utime(src, (when.replace(tzinfo=dt.UTC).timestamp(),) * 2)
    lake = tmp_path / "lake"
    r = ingest([str(src)], NO_GEO, lake)
    assert (r.errors, r.ingested, r.dead_letter) == ([], 6, 1)
    assert rows(lake) == [(utc(2024, 3, 1, 10), None, "cowrie")] * 2 + [(when, "file-mtime", "cowrie")] * 4
    assert query(lake, "SELECT reason FROM dead_letter") == [("unparseable timestamp: yesterday",)]


def test_no_time_and_no_delivery_time_is_a_dead_letter_saying_so(tmp_path: Path) -> None:
    src = tmp_path / "flows.log"
    src.write_text(flows(2))
    os.utime(src, (0, 0))  # the epoch: what archives and Nix set when they do not know
    lake = tmp_path / "lake"
    r = ingest([str(src)], NO_GEO, lake)
    assert (r.errors, r.ingested, r.dead_letter) == ([], 0, 2)
    assert query(lake, "SELECT DISTINCT reason, source_format FROM dead_letter") == [(NO_TIME, "vpcflow")]
    assert NO_TIME.startswith("no time")


def test_delivery_time_parsing_rules() -> None:
    assert key_time(STAMPED + ".gz") == utc(2024, 3, 1, 12, 5)
    assert key_time("AWSLogs/1/vpcflowlogs/eu-west-1/2024/03/01/x.log.gz") == utc(2024, 3, 1)
    assert key_time("raw/sensor=a/date=2024-03-05/a-000001.jsonl.gz") == utc(2024, 3, 5)
    assert key_time("AWSLogs/aws-account-id=1/year=2024/month=03/day=07/hour=13/x.log") == utc(2024, 3, 7, 13)
    for bad in ("raw/x.jsonl", "a/2024/13/45/x", "date=2024-02-30/x", "x_20241301T9999Z_y", "", "a/９９９９/01/01/x"):
        assert key_time(bad) is None, bad
    assert mtime_time(0) is None and mtime_time(1.0) is None and mtime_time(float("nan")) is None
    assert mtime_time(1709251200.0) == utc(2024, 3, 1)


# ------------------------------------------------------------------ S3 and CloudWatch (moto server)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str) -> str:
    for k in AWS_VARS:
        monkeypatch.delenv(k, raising=False)
    for k, v in {
        "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_ENDPOINT_URL_LOGS": moto_endpoint,
    }.items():  # fmt: skip
        monkeypatch.setenv(k, v)
    return moto_endpoint


def test_s3_key_date_then_object_mtime(aws: str, tmp_path: Path) -> None:
    s3 = boto3.client("s3", endpoint_url=aws, region_name="us-east-1")
    name = f"hf-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    objects = {
        STAMPED: flows(2, tag=1),
        "AWSLogs/123456789012/vpcflowlogs/eu-west-1/2024/03/02/no-stamp.log": flows(1, tag=2),
        # Detection needs one timed record first (Cowrie's detector looks for `timestamp`).
        "raw/sensor=a/date=2024-03-05/a-000001.jsonl": "\n".join(cowrie("s3t", 1, OWN) + cowrie("s3", 2)) + "\n",
        "loose/flows.log": flows(1, tag=3),  # no date in the key: the object's LastModified
    }
    for key, body in objects.items():
        s3.put_object(Bucket=name, Key=key, Body=body.encode())
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0) - dt.timedelta(minutes=5)
    remote = RemoteConfig(s3_endpoint_url=aws, s3_addressing_style="path")
    lake = tmp_path / "lake"
    r = ingest([f"s3://{name}/"], Config(geoip=GeoIPConfig(enabled=False), remote=remote), lake)
    assert (r.errors, r.ingested, r.dead_letter) == ([], 7, 0)
    got = rows(lake)
    assert got[:6] == [
        (utc(2024, 3, 1, 10), None, "cowrie"),
        *[(utc(2024, 3, 1, 12, 5), "s3-key", "vpcflow")] * 2,
        (utc(2024, 3, 2), "s3-key", "vpcflow"),
        *[(utc(2024, 3, 5), "s3-key", "cowrie")] * 2,
    ]
    assert got[6][1:] == ("file-mtime", "vpcflow") and got[6][0] >= before
    assert query(lake, "SELECT sensor, count(*) FROM events GROUP BY 1 ORDER BY 1") == [
        ("a", 3), ("aws:123456789012:eu-west-1", 3), (None, 1),
    ]  # fmt: skip


def test_cloudwatch_records_take_their_own_event_time(aws: str, tmp_path: Path) -> None:
    logs = boto3.client("logs", endpoint_url=aws, region_name="us-east-1")
    group = f"/honeyfarm/{uuid.uuid4().hex[:8]}/cowrie"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="sensor-a")
    t0 = (int(time.time()) - 3600) * 1000
    timeless = cowrie("cw", 3)
    # A timed record first (Cowrie's detector looks for `timestamp`); one timeless message delivered twice.
    messages = [*cowrie("cwown", 1, OWN), *timeless, timeless[0]]
    events = [{"timestamp": t0 + 1000 * i, "message": m + "\n"} for i, m in enumerate(messages)]
    logs.put_log_events(logGroupName=group, logStreamName="sensor-a", logEvents=events)
    lake = tmp_path / "lake"
    r = ingest([f"cloudwatch://{group}?region=us-east-1"], NO_GEO, lake)
    assert (r.errors, r.ingested, r.duplicates, r.dead_letter) == ([], 4, 1, 0)
    stamp = [dt.datetime.fromtimestamp((t0 + 1000 * i) / 1000, dt.UTC).replace(tzinfo=None) for i in (1, 2, 3)]
    assert rows(lake) == [(utc(2024, 3, 1, 10), None, "cowrie")] + [(t, "cloudwatch", "cowrie") for t in stamp]
    assert query(lake, "SELECT DISTINCT sensor FROM events") == [("sensor-a",)]
