# SPDX-License-Identifier: MIT
"""``honeyfarm ingest`` from remote sources: ``s3://`` (real Ceph radosgw), ``cloudwatch://`` (moto), ``--follow``.

S3 runs against a real single-node Ceph radosgw (``tests/cephutil.py``; the
tests skip with the reason when Ceph is not installed or not root).

No real CloudWatch Logs can run here, so CloudWatch runs against moto's
standalone server (a real HTTP endpoint, real boto3 requests and pagination).
moto's ``filter_log_events`` filter patterns match everything, which is fine:
the source never sends a pattern. Its event ids are a process-wide counter,
where AWS's are long opaque strings; the source treats them as opaque.

Every end-to-end check runs the real CLI as a subprocess and reads the lake
back with DuckDB (``tests/lakeutil.py``).
"""

from __future__ import annotations

import gzip
import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import zstandard
from cephutil import RGW, ceph_unavailable, run_ceph_rgw
from fixture_events import EVENTS, to_line
from lakeutil import cli_env, query
from sensorutil import free_port

from honeyfarm.collect.remote_cloudwatch import parse_cloudwatch_url
from honeyfarm.collect.remote_s3 import RemoteConfig, RemoteError, parse_s3_url, remote_config, skipped_key


def session_lines(session: str, sensor: str | None = None, fmt: str = "cowrie") -> list[str]:
    return [
        to_line(e)
        for e in EVENTS
        if e.get("session") == session and e["_fmt"] == fmt and (sensor is None or e.get("sensor") == sensor)
    ]


S1 = session_lines("aaaa0001", "alpha")  # 11 cowrie events
S2 = session_lines("bbbb0002")  # 6
S3 = session_lines("aaaa0001", "beta")  # 8
S4 = session_lines("dddd0004")  # 6
S5 = session_lines("eeee0005")  # 4
H = session_lines("h-1", fmt="honeyfarm")  # 4, honeyfarm's own format
assert (len(S1), len(S2), len(S3), len(S4), len(S5), len(H)) == (11, 6, 8, 6, 4, 4)

AWS_VARS = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_LOGS",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION",
)  # fmt: skip


def env_with(**aws: str) -> dict[str, str]:
    env = cli_env()
    for k in AWS_VARS:
        env.pop(k, None)
    env["AWS_EC2_METADATA_DISABLED"] = "true"  # no instance-metadata probing for credentials
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent"
    env.update(aws)
    return env


def hf(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "honeyfarm.cli", "ingest", *args],
        cwd=cwd, env=env, capture_output=True, text=True, encoding="utf-8", timeout=180,
    )  # fmt: skip


def ok_json(p: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert p.returncode == 0, f"exit {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
    assert "Traceback" not in p.stderr, p.stderr
    out: dict[str, Any] = json.loads(p.stdout)
    return out


def count(lake: Path, sql: str = "SELECT count(*) FROM events") -> int:
    if not (lake / "events").exists():
        return 0
    return int(query(lake, sql)[0][0])


def wait_for(pred: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except Exception:  # the lake can be mid-compaction: ask again
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def stop(p: subprocess.Popen[str]) -> tuple[str, str]:
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, f"exit {p.returncode}\nstdout: {out}\nstderr: {err}"
    assert "Traceback" not in err, err
    return out, err


# ------------------------------------------------------------------ units (no server)


def test_url_parsing_and_config_defaults() -> None:
    assert parse_s3_url("s3://b/raw/sensor=a/") == ("b", "raw/sensor=a/", None)
    assert parse_s3_url("s3://b?region=eu-west-1") == ("b", "", "eu-west-1")
    with pytest.raises(RemoteError, match="unknown URL parameter"):
        parse_s3_url("s3://b/x?endpoint=y")
    assert parse_cloudwatch_url("cloudwatch:///var/log/cowrie?region=us-east-1") == (
        "/var/log/cowrie", "us-east-1", None,
    )  # fmt: skip
    assert parse_cloudwatch_url("cloudwatch://g?stream_prefix=a/b") == ("g", None, "a/b")
    assert skipped_key("raw/") and skipped_key("raw/x.parquet") and skipped_key("raw/.hidden")
    assert not skipped_key("raw/sensor=a/date=2024-03-01/a-000001.jsonl.gz")
    rc = remote_config(object())
    assert rc == RemoteConfig() and rc.follow_interval_seconds == 30.0 and rc.s3_endpoint_url is None
    assert RemoteConfig.model_validate({"follow_interval_seconds": 5}).follow_interval_seconds == 5.0
    with pytest.raises(ValueError, match="extra"):
        RemoteConfig.model_validate({"s3_endpoit_url": "x"})


def test_file_url_reads_a_local_store(tmp_path: Path) -> None:
    """``file://`` (what ``honeyfarm ship`` writes to a local directory store) reads like a plain path."""
    raw = tmp_path / "store" / "raw" / "sensor=alpha" / "date=2024-03-01"
    raw.mkdir(parents=True)
    (raw / "alpha-000001.jsonl.gz").write_bytes(gzip.compress(("\n".join(S1) + "\n").encode()))
    out = ok_json(hf(f"file://{tmp_path / 'store' / 'raw'}", "--lake", "L", "--json", cwd=tmp_path, env=env_with()))
    assert (out["ingested"], out["files"], out["errors"]) == (11, 1, [])
    assert "remote" not in out


# ------------------------------------------------------------------ S3 (real Ceph radosgw)


@pytest.fixture(scope="module")
def rgw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RGW]:
    reason = ceph_unavailable()
    if reason:
        pytest.skip(reason)
    with run_ceph_rgw(tmp_path_factory.mktemp("ceph")) as server:
        yield server


def s3_env(rgw: RGW, secret: str | None = None) -> dict[str, str]:
    return env_with(
        AWS_ENDPOINT_URL=rgw.endpoint,
        AWS_ACCESS_KEY_ID=rgw.access_key,
        AWS_SECRET_ACCESS_KEY=secret or rgw.secret_key,
    )


@pytest.fixture
def bucket(rgw: RGW) -> tuple[Any, str]:
    s3 = boto3.client(
        "s3", endpoint_url=rgw.endpoint, region_name="us-east-1",
        aws_access_key_id=rgw.access_key, aws_secret_access_key=rgw.secret_key,
    )  # fmt: skip
    name = f"hf-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return s3, name


def raw_key(sensor: str, seq: int, suffix: str = ".jsonl.gz") -> str:
    """Where ``honeyfarm ship`` puts a spool segment."""
    return f"raw/sensor={sensor}/date=2024-03-01/{sensor}-{seq:06d}{suffix}"


def remote_state(lake: Path) -> dict[str, Any]:
    state: dict[str, Any] = json.loads((lake / "_state" / "remote_s3.json").read_text())["objects"]
    return state


def test_s3_objects_ingest_once_incrementally(rgw: RGW, bucket: tuple[Any, str], tmp_path: Path) -> None:
    s3, name = bucket
    env = s3_env(rgw)
    s3.put_object(Bucket=name, Key=raw_key("alpha", 1), Body=gzip.compress(("\n".join(S1) + "\n").encode()))
    s3.put_object(Bucket=name, Key=raw_key("alpha", 2, ".jsonl"), Body="\n".join(S2).encode())  # no final newline
    s3.put_object(Bucket=name, Key=raw_key("gamma", 1, ".jsonl.zst"), Body=zstandard.compress("\n".join(H).encode()))
    s3.put_object(Bucket=name, Key="raw/", Body=b"")  # a directory marker
    s3.put_object(Bucket=name, Key="raw/sensor=alpha/notes.parquet", Body=b"PAR1 not a log")
    s3.put_object(Bucket=name, Key="other/ignored.jsonl", Body=("\n".join(S3) + "\n").encode())  # outside the prefix
    url = f"s3://{name}/raw/"

    out = ok_json(hf(url, "--lake", "L", "--json", cwd=tmp_path, env=env))
    assert (out["ingested"], out["duplicates"], out["dead_letter"], out["errors"]) == (21, 0, 0, [])
    assert out["by_format"] == {
        "cowrie": {"ingested": 17, "duplicates": 0, "dead_letter": 0},
        "honeyfarm": {"ingested": 4, "duplicates": 0, "dead_letter": 0},
    }
    assert out["files"] == 3
    assert out["remote"]["objects_downloaded"] == 3 and out["remote"]["objects_listed"] == 5
    lake = tmp_path / "L"
    assert count(lake) == 21
    state = remote_state(lake)
    assert sorted(state) == [f"s3://{name}/{raw_key('alpha', 1)}", f"s3://{name}/{raw_key('alpha', 2, '.jsonl')}",
                             f"s3://{name}/{raw_key('gamma', 1, '.jsonl.zst')}"]  # fmt: skip
    head = s3.head_object(Bucket=name, Key=raw_key("alpha", 1))
    entry = state[f"s3://{name}/{raw_key('alpha', 1)}"]
    assert entry["done"] and entry["etag"] == head["ETag"].strip('"') and entry["size"] == head["ContentLength"]

    # A rerun downloads nothing and adds nothing.
    again = ok_json(hf(url, "--lake", "L", "--json", cwd=tmp_path, env=env))
    assert (again["ingested"], again["duplicates"], again["dead_letter"], again["files"]) == (0, 0, 0, 0)
    assert again["remote"].get("objects_downloaded", 0) == 0 and again["remote"]["objects_skipped"] == 3

    # New objects later: only they are read.
    s3.put_object(Bucket=name, Key=raw_key("beta", 1), Body=gzip.compress(("\n".join(S5) + "\n").encode()))
    later = ok_json(hf(url, "--lake", "L", "--json", cwd=tmp_path, env=env))
    assert (later["ingested"], later["duplicates"], later["files"]) == (4, 0, 1)
    assert later["remote"]["objects_downloaded"] == 1
    assert count(lake) == 25

    # A key rewritten with new content (new ETag) is read again; what was in already is a duplicate.
    s3.put_object(Bucket=name, Key=raw_key("alpha", 2, ".jsonl"), Body=("\n".join(S2 + S4) + "\n").encode())
    rewritten = ok_json(hf(url, "--lake", "L", "--json", cwd=tmp_path, env=env))
    assert (rewritten["ingested"], rewritten["duplicates"]) == (6, 6)
    assert count(lake) == 31


def test_s3_object_larger_than_a_batch_is_read_over_several_commits(
    rgw: RGW, bucket: tuple[Any, str], tmp_path: Path
) -> None:
    """ingest.batch_bytes = 4096: one object spans several commits; its position moves with each."""
    s3, name = bucket
    lines = S1 + S2 + S3 + S4 + S5  # 35 cowrie events, ~12 KB
    s3.put_object(Bucket=name, Key=raw_key("alpha", 1, ".jsonl"), Body=("\n".join(lines) + "\n").encode())
    (tmp_path / "small.toml").write_text("[ingest]\nbatch_bytes = 4096\n", encoding="utf-8")
    args = (f"s3://{name}/raw/", "--lake", "L", "--json", "--config", "small.toml")
    out = ok_json(hf(*args, cwd=tmp_path, env=s3_env(rgw)))
    assert (out["ingested"], out["duplicates"], out["files"]) == (35, 0, 1)
    (entry,) = remote_state(tmp_path / "L").values()
    assert entry["done"] and entry["lines"] == 35 and entry["offset"] == entry["size"]
    assert ok_json(hf(*args, cwd=tmp_path, env=s3_env(rgw)))["files"] == 0


def test_s3_bad_line_goes_to_dead_letter_with_reason(rgw: RGW, bucket: tuple[Any, str], tmp_path: Path) -> None:
    s3, name = bucket
    key = raw_key("beta", 7)
    lines = [*S4[:3], '{"eventid": "cowrie.login.failed", "timestamp": "not json', *S4[3:]]
    s3.put_object(Bucket=name, Key=key, Body=gzip.compress(("\n".join(lines) + "\n").encode()))
    out = ok_json(hf(f"s3://{name}/raw", "--lake", "L", "--json", cwd=tmp_path, env=s3_env(rgw)))
    assert (out["ingested"], out["dead_letter"], out["errors"]) == (6, 1, [])
    rows = query(tmp_path / "L", "SELECT file, line, source_format, reason, raw FROM dead_letter")
    assert len(rows) == 1
    file, line, fmt, reason, raw = rows[0]
    assert (file, line, fmt) == (f"s3://{name}/{key}", 4, "cowrie")
    assert reason and bytes(raw) == lines[3].encode()
    again = ok_json(hf(f"s3://{name}/raw", "--lake", "L", "--json", cwd=tmp_path, env=s3_env(rgw)))
    assert (again["ingested"], again["dead_letter"], again["files"]) == (0, 0, 0)


def test_s3_wrong_credentials_fail_clearly_and_mark_nothing(rgw: RGW, bucket: tuple[Any, str], tmp_path: Path) -> None:
    s3, name = bucket
    s3.put_object(Bucket=name, Key=raw_key("alpha", 1), Body=gzip.compress(("\n".join(S1) + "\n").encode()))
    p = hf(f"s3://{name}/raw/", "--lake", "L", "--json", cwd=tmp_path, env=s3_env(rgw, secret="wrong-secret-0000"))
    assert p.returncode == 1, p.stderr
    assert "Traceback" not in p.stderr
    out = json.loads(p.stdout)
    assert out["ingested"] == 0 and len(out["errors"]) == 1
    assert "access denied, check the credentials" in out["errors"][0] and name in out["errors"][0]
    assert "SignatureDoesNotMatch" in out["errors"][0] or "AccessDenied" in out["errors"][0]
    assert not (tmp_path / "L" / "_state" / "remote_s3.json").exists()
    assert count(tmp_path / "L") == 0
    # Text mode says the same on stderr; and the right key then ingests everything.
    p = hf(f"s3://{name}/raw/", "--lake", "L", cwd=tmp_path, env=s3_env(rgw, secret="wrong-secret-0000"))
    assert p.returncode == 1 and "error: s3://" in p.stderr and "access denied" in p.stderr
    assert ok_json(hf(f"s3://{name}/raw/", "--lake", "L", "--json", cwd=tmp_path, env=s3_env(rgw)))["ingested"] == 11


def test_s3_missing_bucket_is_an_error(rgw: RGW, tmp_path: Path) -> None:
    p = hf("s3://no-such-bucket-hf/raw/", "--lake", "L", "--json", cwd=tmp_path, env=s3_env(rgw))
    assert p.returncode == 1 and "NoSuchBucket" in json.loads(p.stdout)["errors"][0]


def test_s3_follow_picks_up_a_new_object_and_stops_on_sigterm(
    rgw: RGW, bucket: tuple[Any, str], tmp_path: Path
) -> None:
    s3, name = bucket
    s3.put_object(Bucket=name, Key=raw_key("alpha", 1), Body=gzip.compress(("\n".join(S1) + "\n").encode()))
    lake = tmp_path / "L"
    p = subprocess.Popen(
        [sys.executable, "-m", "honeyfarm.cli", "ingest", f"s3://{name}/raw/", "--lake", str(lake),
         "--follow", "--interval", "0.5"],
        cwd=tmp_path, env=s3_env(rgw), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: count(lake) == 11, 60, "the first object")
        s3.put_object(Bucket=name, Key=raw_key("alpha", 2), Body=gzip.compress(("\n".join(S2) + "\n").encode()))
        t0 = time.monotonic()
        wait_for(lambda: count(lake) == 17, 30, "the object put while following")
        assert time.monotonic() - t0 < 30
    finally:
        out, _ = stop(p)
    assert "ingested 11 events" in out and "ingested 6 events" in out
    assert "stopped; in total ingested 17 events" in out
    assert all(v["done"] for v in remote_state(lake).values()) and len(remote_state(lake)) == 2


# ------------------------------------------------------------------ CloudWatch Logs (moto server)


@pytest.fixture(scope="module")
def moto_logs() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def logs(moto_logs: str) -> tuple[Any, str]:
    client = boto3.client(
        "logs", endpoint_url=moto_logs, region_name="us-east-1", aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )  # fmt: skip
    group = f"/honeyfarm/{uuid.uuid4().hex[:8]}/cowrie"
    client.create_log_group(logGroupName=group)
    for stream in ("sensor-a", "sensor-b", "other-x"):
        client.create_log_stream(logGroupName=group, logStreamName=stream)
    return client, group


def cw_env(endpoint: str) -> dict[str, str]:
    return env_with(AWS_ENDPOINT_URL_LOGS=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")


def put(client: Any, group: str, stream: str, lines: list[str], ts: int | list[int] | None = None) -> None:
    """Put ``lines`` as events (all at ``ts`` ms, or one timestamp each); the agent's trailing newline included."""
    now = int(time.time() * 1000)
    stamps = ts if isinstance(ts, list) else [ts if ts is not None else now] * len(lines)
    events = [{"timestamp": t, "message": line + "\n"} for t, line in zip(stamps, lines, strict=True)]
    client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def cw_state(lake: Path) -> dict[str, Any]:
    items = json.loads((lake / "_state" / "remote_cloudwatch.json").read_text())["streams"]
    return {s["stream"]: s for s in items}


def test_cloudwatch_two_streams_exactly_once_with_prefix(moto_logs: str, logs: tuple[Any, str], tmp_path: Path) -> None:
    client, group = logs
    t = int(time.time() * 1000) - 60_000
    put(client, group, "sensor-a", S1[:8], [t + i for i in range(7)] + [t + 6])  # the last two share a millisecond
    put(client, group, "sensor-b", S2, t + 100)  # all at one millisecond
    put(client, group, "other-x", S3, t)  # not under the prefix
    env = cw_env(moto_logs)
    url = f"cloudwatch://{group}/sensor-?region=us-east-1"
    out = ok_json(hf(url, "--lake", "L", "--json", cwd=tmp_path, env=env))
    assert (out["ingested"], out["duplicates"], out["dead_letter"], out["errors"]) == (14, 0, 0, [])
    assert out["remote"] == {"events_read": 14, "streams": 2}
    lake = tmp_path / "L"
    state = cw_state(lake)
    assert sorted(state) == ["sensor-a", "sensor-b"]
    assert (state["sensor-a"]["events"], state["sensor-a"]["last_ts"]) == (8, t + 6)
    assert (state["sensor-b"]["events"], state["sensor-b"]["last_ts"]) == (6, t + 100)
    assert state["sensor-a"]["group"] == group and state["sensor-a"]["region"] == "us-east-1"

    # A rerun reads no event again (not even as a duplicate).
    again = ok_json(hf(url, "--lake", "L", "--json", cwd=tmp_path, env=env))
    assert (again["ingested"], again["duplicates"], again.get("remote", {}).get("events_read", 0)) == (0, 0, 0)

    # Appends: one at the very millisecond of the last event read, one earlier (late delivery), the rest later.
    put(client, group, "sensor-a", S1[8:9], t + 6)
    put(client, group, "sensor-a", S1[9:10], t + 3)
    put(client, group, "sensor-a", S1[10:11], t + 50)
    put(client, group, "sensor-b", S4, t + 200)
    more = ok_json(hf(url, "--lake", "L", "--json", cwd=tmp_path, env=env))
    assert (more["ingested"], more["duplicates"], more["remote"]["events_read"]) == (9, 0, 9)
    assert count(lake) == 23
    state = cw_state(lake)
    assert (state["sensor-a"]["events"], state["sensor-b"]["events"]) == (11, 12)
    assert count(lake, "SELECT count(DISTINCT event_id) FROM events") == 23

    # Without the stream prefix the third stream comes in too, and nothing else again.
    whole = ok_json(hf(f"cloudwatch://{group}?region=us-east-1", "--lake", "L", "--json", cwd=tmp_path, env=env))
    assert (whole["ingested"], whole["duplicates"], whole["remote"]["streams"]) == (8, 0, 3)


def test_cloudwatch_bad_message_dead_letter_and_unknown_group(
    moto_logs: str, logs: tuple[Any, str], tmp_path: Path
) -> None:
    client, group = logs
    put(client, group, "sensor-a", [*S5[:2], "{broken", *S5[2:]])
    env = cw_env(moto_logs)
    out = ok_json(hf(f"cloudwatch://{group}/sensor-a?region=us-east-1", "--lake", "L", "--json", cwd=tmp_path, env=env))
    assert (out["ingested"], out["dead_letter"]) == (4, 1)
    (file, line, reason), = query(tmp_path / "L", "SELECT file, line, reason FROM dead_letter")  # fmt: skip
    assert file.startswith(f"cloudwatch://{group}/sensor-a?start=") and line == 3 and reason
    p = hf("cloudwatch:///no/such/group?region=us-east-1", "--lake", "L", "--json", cwd=tmp_path, env=env)
    assert p.returncode == 1 and "no log group named" in json.loads(p.stdout)["errors"][0]


def test_cloudwatch_follow_picks_up_new_events_and_stops_on_sigterm(
    moto_logs: str, logs: tuple[Any, str], tmp_path: Path
) -> None:
    client, group = logs
    put(client, group, "sensor-a", S1)
    lake = tmp_path / "L"
    p = subprocess.Popen(
        [sys.executable, "-m", "honeyfarm.cli", "ingest", f"cloudwatch://{group}?region=us-east-1",
         "--lake", str(lake), "--follow", "--interval", "0.3", "--json"],
        cwd=tmp_path, env=cw_env(moto_logs), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: count(lake) == 11, 60, "the first events")
        put(client, group, "sensor-b", S2)
        wait_for(lambda: count(lake) == 17, 30, "events put while following")
    finally:
        out, _ = stop(p)
    total = json.loads(out)
    assert (total["ingested"], total["duplicates"], total["errors"]) == (17, 0, [])
