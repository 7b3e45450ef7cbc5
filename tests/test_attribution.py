# SPDX-License-Identifier: MIT
"""Sensor attribution at ingest: a record's own sensor, else its file's (``[fleet]``, ``sensor=``, AWSLogs, stream).

Pure rules first (hostile names included), then real ingests: a local tree,
the real sample logs of seven formats through a ``[fleet]`` mapping, S3 keys
and CloudWatch streams on a moto server (real HTTP, real boto3 requests), as
``tests/test_ingest_remote.py`` uses for CloudWatch.
"""

from __future__ import annotations

import json
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
from honeyfarm.collect.attribution import (
    MAX_NAME,
    aws_log_sensor,
    clean_name,
    cloudwatch_sensor,
    fleet_sensor,
    local_context,
    s3_context,
    sensor_segment,
)
from honeyfarm.config import Config, ConfigError, GeoIPConfig, RemoteConfig, parse_config
from honeyfarm.formats.route53 import Route53QueryFormat, Route53ResolverFormat
from honeyfarm.formats.vpcflow import VPCFlowFormat
from honeyfarm.pipeline import ingest
from honeyfarm.views.web.settings import FleetConfig, FleetSource

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
V2_LINE = (
    "2 123456789012 eni-1235b8ca123456789 198.51.100.7 172.31.16.21 20641 22 6 20 4249 1709287200 1709287260 REJECT OK"
)
AWS_VARS = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_LOGS",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION",
)  # fmt: skip


def cfg(*sources: tuple[str, str], remote: RemoteConfig | None = None) -> Config:
    fleet = FleetConfig(sources=[FleetSource(match=m, sensor=s) for m, s in sources])
    return Config(geoip=GeoIPConfig(enabled=False), fleet=fleet, remote=remote or RemoteConfig())


def cowrie(tag: str, n: int, sensor: str | None = None) -> bytes:
    """``n`` Cowrie login records (distinct per ``tag``), each naming ``sensor`` if given."""
    out = []
    for i in range(n):
        rec: dict[str, Any] = {
            "eventid": "cowrie.login.failed", "timestamp": f"2024-03-01T10:{i % 60:02d}:00Z",
            "session": f"{tag}{i}", "src_ip": "198.51.100.7", "username": "root", "password": tag,
        }  # fmt: skip
        if sensor is not None:
            rec["sensor"] = sensor
        out.append(json.dumps(rec))
    return ("\n".join(out) + "\n").encode()


def by_sensor(lake: Path, where: str = "true") -> dict[str | None, int]:
    return dict(query(lake, f"SELECT sensor, count(*) FROM events WHERE {where} GROUP BY 1"))


@pytest.fixture(autouse=True)
def fresh_formats(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fresh AWS format instances per test (the VPC detector remembers the headers it read)."""
    for fmt in (VPCFlowFormat(), Route53QueryFormat(), Route53ResolverFormat()):
        monkeypatch.setitem(honeyfarm.formats.FORMATS, fmt.name, fmt)


# ------------------------------------------------------------------ rules (pure)


def test_sensor_segment_and_aws_keys() -> None:
    assert sensor_segment("raw/sensor=alpha/date=2024-03-01/alpha-000001.jsonl.gz") == "alpha"
    assert sensor_segment("s3://b/x/sensor=outer/sub/sensor=inner/f.gz") == "inner"  # the innermost wins
    assert sensor_segment("/srv/copy/raw/sensor=beta/date=2024-03-01/f.gz") == "beta"
    assert sensor_segment("raw/sensors=alpha/f") is None and sensor_segment("raw/sensor=/f") is None
    flow = "AWSLogs/123456789012/vpcflowlogs/eu-west-1/2024/03/01/123456789012_vpcflowlogs_eu-west-1_fl-1_x.log.gz"
    assert aws_log_sensor(flow) == "aws:123456789012:eu-west-1"
    assert aws_log_sensor("s3://b/p/" + flow) == "aws:123456789012:eu-west-1"
    hive = "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-2/year=2024/x.log"
    assert aws_log_sensor(hive) == "aws:123456789012:us-east-2"
    org = "AWSLogs/o-abc123/123456789012/vpcflowlogs/ap-south-1/2024/x"
    assert aws_log_sensor(org) == "aws:123456789012:ap-south-1"
    dns = "AWSLogs/123456789012/vpcdnsquerylogs/vpc-0a1b2c3d4e5f60718/2024/03/01/x.log.gz"
    assert aws_log_sensor(dns) == "aws:123456789012:vpc-0a1b2c3d4e5f60718"
    for bad in (
        "AWSLogs/12345/vpcflowlogs/eu-west-1/x",
        "AWSLogs/123456789012/vpcflowlogs/../../etc",
        "AWSLogs/",
        "x/y",
    ):
        assert aws_log_sensor(bad) is None, bad


def test_cloudwatch_stream_names_the_sensor() -> None:
    assert cloudwatch_sensor("/honeyfarm/cowrie", "i-0123456789abcdef0") == "i-0123456789abcdef0"
    assert cloudwatch_sensor("/honeyfarm/cowrie", "sensor-a") == "sensor-a"
    assert cloudwatch_sensor("/aws/route53/example.com", "Z123/DFW3") == "aws:route53:example.com"


def test_hostile_names_are_refused() -> None:
    assert clean_name("  ok  ") == "ok"
    for bad in ("", "   ", "a\x1b[31mred", "a\nb", "bidi\u202eevil", "x" * (MAX_NAME + 1), "nul\x00"):
        assert clean_name(bad) is None, repr(bad)
    assert sensor_segment("raw/sensor=\x1b]0;pwned\x07/f") is None
    assert sensor_segment("raw/sensor=" + "a" * 500 + "/f") is None


def test_fleet_globs_first_match_wins_and_config_is_validated(tmp_path: Path) -> None:
    sources = [FleetSource(match="s3://bucket/raw/*", sensor="s3-one"), FleetSource(match="*/logs/**", sensor="local")]
    sources.append(FleetSource(match="cloudwatch://g/sensor-*", sensor="cw"))
    assert fleet_sensor(sources, ["s3://bucket/raw/sensor=x/date=2024-01-01/f.gz"]) == "s3-one"
    assert fleet_sensor(sources, ["/var/logs/a/b/cowrie.json"]) == "local"
    assert fleet_sensor(sources, ["cloudwatch://g/sensor-b"]) == "cw"
    assert fleet_sensor(sources, ["s3://other/raw/x"]) is None
    ctx = local_context("logs/cowrie.json", None)  # relative: matched as given and absolute
    assert fleet_sensor(sources, ctx.locations) == "local" and ctx.delivered is None
    assert s3_context("b", "raw/sensor=x/f", None).sensor == "x"
    got = parse_config({"fleet": {"sources": [{"match": "/srv/a/*", "sensor": "a"}]}})
    assert got.fleet.sources == [FleetSource(match="/srv/a/*", sensor="a")]
    for bad in (
        {"match": "x", "sensor": "a", "nope": 1},
        {"match": "", "sensor": "a"},
        {"match": "x", "sensor": "a\x1b"},
    ):
        with pytest.raises(ConfigError, match=r"fleet\.sources"):
            parse_config({"fleet": {"sources": [bad]}})


# ------------------------------------------------------------------ local files


def test_local_tree_every_rule_and_own_sensor_wins(tmp_path: Path) -> None:
    root = tmp_path / "in"
    files = {
        "fleetdir/a.json": cowrie("fa", 5),
        "fleetdir/own.json": cowrie("fo", 3, sensor="mine"),
        "raw/sensor=beta/date=2024-03-01/b.json": cowrie("sb", 4),
        "AWSLogs/123456789012/vpcflowlogs/eu-west-1/2024/03/01/flow.log": (V2_LINE + "\n").encode(),
        "plain/c.json": cowrie("pc", 2) + cowrie("po", 2, sensor="  own  ") + cowrie("pb", 1, sensor=""),
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    r = ingest([str(root)], cfg((f"{root}/fleetdir/*", "fleet-a")), tmp_path / "lake")
    assert (r.errors, r.dead_letter, r.ingested) == ([], 0, 18)
    assert by_sensor(tmp_path / "lake") == {
        "fleet-a": 5, "mine": 3, "beta": 4, "aws:123456789012:eu-west-1": 1, "own": 2, None: 3,
    }  # fmt: skip


def test_samples_of_every_format_take_the_fleet_sensor(tmp_path: Path) -> None:
    dirs = {
        "suricata_eve": ("suricata", "suricata-1"),
        "dionaea_json": ("dionaea", "dionaea-1"),
        "heralding_session_json": ("heralding", "heralding-1"),
        "aws_vpc_flow": ("vpcflow", "aws-vpc"),
        "aws_route53_query_log": ("route53", "r53-public"),
        "aws_route53_resolver_query_log": ("route53resolver", "r53-resolver"),
        "tanner_report": ("tanner", "tanner-1"),
    }
    missing = [d for d in dirs if not (SAMPLES / d).is_dir()]
    if missing:
        pytest.skip(f"shared samples {missing} are absent under {SAMPLES} (samples live outside the project)")
    config = cfg(*[(f"{SAMPLES / d}/*", sensor) for d, (_, sensor) in dirs.items()])
    lake = tmp_path / "lake"
    r = ingest([str(SAMPLES / d) for d in dirs], config, lake)
    assert r.errors == [] and r.ingested > 4000
    total = query(lake, "SELECT count(*) FROM events")[0][0]
    rows = query(lake, "SELECT source_format, sensor, count(*) FROM events GROUP BY ALL ORDER BY ALL")
    assert sum(n for *_, n in rows) == total and all(s is not None for _, s, _ in rows), rows
    expected = {fmt: sensor for fmt, sensor in dirs.values()}
    assert {f for f, _, _ in rows} == set(expected)
    raw = {fmt: b"".join(p.read_bytes() for p in (SAMPLES / d).iterdir()) for d, (fmt, _) in dirs.items()}
    for fmt, sensor, n in rows:
        # The mapped name, or the record's own (Tanner's uuid, Suricata's host): it is in the sample's bytes.
        assert sensor == expected[fmt] or sensor.encode() in raw[fmt], (fmt, sensor, n)
    mapped = {f: n for f, s, n in rows if s == expected[f]}
    assert set(mapped) >= {"suricata", "dionaea", "heralding", "vpcflow", "route53", "route53resolver"}


# ------------------------------------------------------------------ S3 and CloudWatch (moto server)
# The S3 rules run against moto's S3 rather than the Ceph radosgw of test_ingest_remote.py: Ceph costs
# ~25 s to start and stop, more than this whole module, and only the keys and LastModified matter here.


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


def aws_env(monkeypatch: pytest.MonkeyPatch, **aws: str) -> None:
    for k in AWS_VARS:
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for k, v in aws.items():
        monkeypatch.setenv(k, v)


def test_s3_fleet_url_sensor_key_and_awslogs_key(
    moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws_env(monkeypatch)
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    name = f"hf-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    flow = (
        "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/03/01/"
        "123456789012_vpcflowlogs_us-east-1_fl-1_20240301T1205Z_ab.log"
    )
    objects = {
        "raw/sensor=alpha/date=2024-03-01/alpha-000001.jsonl": cowrie("s3a", 4),
        "raw/sensor=alpha/date=2024-03-01/alpha-000002.jsonl": cowrie("s3o", 2, sensor="own"),
        flow: (V2_LINE + "\n").encode(),
        "fleet/sensor=ignored/x.jsonl": cowrie("s3f", 3),  # the [fleet] mapping wins over the key
        "other/y.jsonl": cowrie("s3n", 1),  # nothing names a sensor
    }
    for key, body in objects.items():
        s3.put_object(Bucket=name, Key=key, Body=body)
    remote = RemoteConfig(s3_endpoint_url=moto_endpoint, s3_addressing_style="path")
    r = ingest([f"s3://{name}/"], cfg((f"s3://{name}/fleet/*", "fleet-s3"), remote=remote), tmp_path / "lake")
    assert (r.errors, r.dead_letter, r.ingested) == ([], 0, 11)
    assert by_sensor(tmp_path / "lake") == {
        "alpha": 4, "own": 2, "aws:123456789012:us-east-1": 1, "fleet-s3": 3, None: 1,
    }  # fmt: skip


def test_cloudwatch_stream_is_the_sensor_and_fleet_url_wins(
    moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws_env(monkeypatch, AWS_ENDPOINT_URL_LOGS=moto_endpoint)
    logs = boto3.client("logs", endpoint_url=moto_endpoint, region_name="us-east-1")
    group = f"/honeyfarm/{uuid.uuid4().hex[:8]}/cowrie"
    logs.create_log_group(logGroupName=group)
    now = int(time.time() * 1000) - 5000
    streams = {"i-0123456789abcdef0": cowrie("cwa", 3), "pinned-1": cowrie("cwp", 2), "own-x": cowrie("cwo", 1, "me")}
    for stream, body in streams.items():
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        lines = body.decode().splitlines()
        events = [{"timestamp": now + i, "message": line + "\n"} for i, line in enumerate(lines)]
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
    config = cfg((f"cloudwatch://{group}/pinned-*", "fleet-cw"))
    r = ingest([f"cloudwatch://{group}?region=us-east-1"], config, tmp_path / "lake")
    assert (r.errors, r.dead_letter, r.ingested) == ([], 0, 6)
    assert by_sensor(tmp_path / "lake") == {"i-0123456789abcdef0": 3, "fleet-cw": 2, "me": 1}
