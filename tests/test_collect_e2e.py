# SPDX-License-Identifier: MIT
"""A sensor's events travel spool → S3 (real Ceph radosgw) → lake: nothing lost, nothing twice.

The sensor ships its own closed spool files while it runs (``[ship] enabled``);
``honeyfarm ship --once`` takes what was still open at shutdown (same state
file, so nothing is shipped twice); ``honeyfarm ingest s3://…`` reads the
objects; a second ingest adds nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from cephutil import RGW, ceph_unavailable, run_ceph_rgw
from lakeutil import query
from sensorutil import run_sensor

pytestmark = pytest.mark.skipif(ceph_unavailable() is not None, reason=str(ceph_unavailable()))
BUCKET = "sensor-logs"


@pytest.fixture(scope="module")
def rgw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RGW]:
    with run_ceph_rgw(tmp_path_factory.mktemp("ceph")) as r:
        import boto3

        s3 = boto3.client(
            "s3", endpoint_url=r.endpoint, aws_access_key_id=r.access_key, aws_secret_access_key=r.secret_key,
            region_name="us-east-1",
        )  # fmt: skip
        s3.create_bucket(Bucket=BUCKET)
        yield r


def _env(rgw: RGW) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HONEYFARM_"))}
    env.update(AWS_ACCESS_KEY_ID=rgw.access_key, AWS_SECRET_ACCESS_KEY=rgw.secret_key, AWS_DEFAULT_REGION="us-east-1")
    return env


def hf(args: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    p = subprocess.run(
        [sys.executable, "-m", "honeyfarm.cli", *args], env=env, cwd=cwd, capture_output=True, timeout=300
    )
    assert p.returncode == 0, p.stderr.decode()[-3000:]
    return json.loads(p.stdout) if "--json" in args else {}


async def _sessions(port: int, n: int) -> None:
    for i in range(n):
        async with asyncssh.connect(
            "127.0.0.1", port, username="root", password=f"e2e-{i}", known_hosts=None, client_keys=None,
            preferred_auth="password", connect_timeout=10,
        ) as conn:  # fmt: skip
            await conn.run(f"echo {i}; uname -a", check=False, timeout=10)
        await asyncio.sleep(0.05)


def test_sensor_events_reach_the_lake_through_s3_exactly_once(
    tmp_path: Path, rgw: RGW, monkeypatch: pytest.MonkeyPatch
) -> None:
    for k, v in _env(rgw).items():
        monkeypatch.setenv(k, v)
    s3 = {"store": "s3", "bucket": BUCKET, "endpoint_url": rgw.endpoint, "addressing_style": "path"}
    overrides: dict[str, dict[str, Any]] = {
        "sensor.spool": {"rotate_seconds": 0.5},
        "ship": {"enabled": True, "poll_seconds": 0.3, **s3},
        "remote": {"s3_endpoint_url": rgw.endpoint, "s3_addressing_style": "path"},
    }
    with run_sensor(tmp_path, overrides) as sensor:
        asyncio.run(_sessions(sensor.ssh_port, 12))
        config = sensor.config
    # What the sensor wrote, every line of every spool file (closed for good at shutdown).
    spooled = [
        json.loads(line)
        for p in sorted((tmp_path / "spool" / "events").glob("*.jsonl"))
        for line in p.read_bytes().splitlines()
        if line.strip()
    ]
    assert sum(e["eventid"] == "cowrie.login.success" for e in spooled) == 12
    env = _env(rgw)
    hf(["ship", "-c", str(config), "--once"], env, tmp_path)  # what was still open when the sensor stopped
    out = hf(["ingest", f"s3://{BUCKET}/raw", "-c", str(config), "--lake", "lake", "--json"], env, tmp_path)
    assert out["dead_letter"] == 0
    assert out["ingested"] == len(spooled), (out, len(spooled))
    n, distinct, creds = query(
        tmp_path / "lake",
        "SELECT count(*), count(DISTINCT event_id), count(*) FILTER (WHERE password LIKE 'e2e-%') FROM events",
    )[0]
    assert (n, distinct) == (len(spooled), len(spooled))
    assert creds == 12
    regions = query(tmp_path / "lake", "SELECT DISTINCT extra->>'region' FROM events")
    assert regions == [("test-region-1",)]
    again = hf(["ingest", f"s3://{BUCKET}/raw", "-c", str(config), "--lake", "lake", "--json"], env, tmp_path)
    assert again["ingested"] == 0
    # shipping again finds nothing new either
    hf(["ship", "-c", str(config), "--once"], env, tmp_path)
    third = hf(["ingest", f"s3://{BUCKET}/raw", "-c", str(config), "--lake", "lake", "--json"], env, tmp_path)
    assert third["ingested"] == 0


def test_sigkill_of_s3_ingest_at_random_points_then_rerun_gives_exact_counts(
    tmp_path: Path, rgw: RGW, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gzip
    import random
    import signal
    import time

    import boto3

    env = _env(rgw)
    env["AWS_ENDPOINT_URL"] = rgw.endpoint
    s3 = boto3.client(
        "s3", endpoint_url=rgw.endpoint, aws_access_key_id=rgw.access_key, aws_secret_access_key=rgw.secret_key,
        region_name="us-east-1",
    )  # fmt: skip
    prefix = f"kill-{random.randrange(1 << 30):x}"
    total = 0
    for f in range(12):
        lines = [
            json.dumps(
                {
                    "eventid": "cowrie.login.failed",
                    "timestamp": f"2026-11-{1 + f % 3:02d}T00:00:00.{i:06d}Z",
                    "session": f"k{f}-{i}",
                    "src_ip": "198.51.100.1",
                    "username": "u",
                    "password": f"{f}-{i}",
                }
            )
            for i in range(3000)
        ]
        total += len(lines)
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}/obj-{f:02d}.json.gz", Body=gzip.compress("\n".join(lines).encode()))
    toml = tmp_path / "hf.toml"
    toml.write_text("[geoip]\nenabled = false\n[ingest]\nbatch_bytes = 262144\n", encoding="utf-8")
    cmd = [
        sys.executable,
        "-m",
        "honeyfarm.cli",
        "ingest",
        f"s3://{BUCKET}/{prefix}",
        "-c",
        str(toml),
        "--lake",
        "lake",
    ]
    rng = random.Random(7)
    for _trial in range(4):
        p = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.8, 3.0))
        p.send_signal(signal.SIGKILL)
        p.wait(30)
    hf(["ingest", f"s3://{BUCKET}/{prefix}", "-c", str(toml), "--lake", "lake", "--json"], env, tmp_path)
    n, distinct = query(tmp_path / "lake", "SELECT count(*), count(DISTINCT password) FROM events")[0]
    assert (n, distinct) == (total, total)
