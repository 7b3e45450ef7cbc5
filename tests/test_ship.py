# SPDX-License-Identifier: MIT
"""``honeyfarm ship``: closed spool/log files to a local directory or a real S3 (Ceph radosgw), exactly once.

The S3 tests run against a single-node Ceph started once per module (about
20 s; skipped with the reason when Ceph or root is missing): keys and content,
multipart, idempotent reruns, an outage of the endpoint, SIGKILL at random
points, wrong credentials and a missing bucket.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cephutil import RGW, ceph_unavailable, run_ceph_rgw
from lakeutil import cli_env, query
from pydantic import ValidationError
from sensorutil import sensor_toml

from honeyfarm.collect.ship import ShipConfig, ShipError, Shipper, run_shipper
from honeyfarm.sensor.config import SpoolConfig
from honeyfarm.sensor.spool import Spool

SENSOR = "test-sensor"
HONEYFARM = [sys.executable, "-m", "honeyfarm.cli"]
_counter = iter(range(10**9))


# --- helpers -------------------------------------------------------------------
def write_spool(spool: Path, files: int, lines: int, pad: int = 0) -> dict[str, bytes]:
    """``files`` closed spool files written by the real :class:`Spool`; name -> content. Events are unique."""
    sp = Spool(SpoolConfig(dir=spool, rotate_bytes=1 << 30, max_bytes=1 << 34), SENSOR)
    out: dict[str, bytes] = {}
    for _ in range(files):
        for _ in range(lines):
            n = next(_counter)
            sp.write({
                "ts": f"2024-05-01T10:{n // 60 % 60:02d}:{n % 60:02d}.{n % 1000000:06d}Z",
                "eventid": "cowrie.session.connect", "session": f"{n:012x}", "src_ip": "198.51.100.7",
                "src_port": 40000 + n % 20000, "dst_port": 22, "protocol": "ssh", "sensor": SENSOR,
                "pad": os.urandom(pad).hex() if pad else "",
            })  # fmt: skip
        path = sp.rotate()
        assert path is not None
        out[path.name] = path.read_bytes()
    return out


def open_part(spool: Path) -> Path:
    """A file the sensor still writes (as a crash-free ``Spool`` leaves it open)."""
    p = spool / "events" / f"{SENSOR}-20990101T000000Z-999999.jsonl.part"
    p.write_bytes(b'{"ts":"2024-05-01T10:00:00Z","eventid":"cowrie.session.connect","session":"ffffffffffff"}\n')
    return p


def local_cfg(tmp: Path, **kw: Any) -> ShipConfig:
    base: dict[str, Any] = {"store": "local", "local_dir": tmp / "objects", "spool_dir": tmp / "spool"}
    return ShipConfig.model_validate({**base, **kw})


def ship_once(cfg: ShipConfig) -> Shipper:
    sh = Shipper(cfg, sensor_name=SENSOR)
    try:
        assert sh.run(lambda: False, lambda d: None, once=True)
    finally:
        sh.close()
    return sh


def local_objects(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): gzip.decompress(p.read_bytes()) for p in root.rglob("*.gz")}


def expected_spool_key(name: str) -> str:
    stem = name[: -len(".jsonl")]
    stamp = stem.split("-")[-2]
    return f"raw/sensor={SENSOR}/date={stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}/{stem}.jsonl.gz"


def state_of(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    shipped: dict[str, Any] = json.loads(path.read_bytes())["shipped"]
    return shipped


# --- local directory store ---------------------------------------------------------
def test_local_keys_content_part_never_shipped(tmp_path: Path) -> None:
    files = write_spool(tmp_path / "spool", 3, 50)
    part = open_part(tmp_path / "spool")
    sh = ship_once(local_cfg(tmp_path))
    objs = local_objects(tmp_path / "objects")
    assert objs == {expected_spool_key(n): data for n, data in files.items()}
    assert part.exists() and not any(".part" in k for k in objs)
    state = state_of(tmp_path / "spool" / "ship-state.json")
    assert set(state) == set(objs) and sh.stats.shipped_files == 3
    # gzip is deterministic (no name, mtime 0): a retry uploads the very same bytes.
    p = tmp_path / "objects" / next(iter(objs))
    assert p.read_bytes()[4:8] == b"\0\0\0\0"


def test_rerun_ships_nothing_new_then_only_new(tmp_path: Path) -> None:
    write_spool(tmp_path / "spool", 2, 10)
    ship_once(local_cfg(tmp_path))
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "objects").rglob("*.gz")}
    assert ship_once(local_cfg(tmp_path)).stats.shipped_files == 0
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "objects").rglob("*.gz")} == before
    new = write_spool(tmp_path / "spool", 1, 10)
    sh = ship_once(local_cfg(tmp_path))
    assert sh.stats.keys == [expected_spool_key(next(iter(new)))]


def test_retry_overwrites_same_key(tmp_path: Path) -> None:
    files = write_spool(tmp_path / "spool", 2, 10)
    ship_once(local_cfg(tmp_path))
    # A crash after the upload but before the state write: the state does not know the file.
    (tmp_path / "spool" / "ship-state.json").unlink()
    sh = ship_once(local_cfg(tmp_path))
    assert sh.stats.shipped_files == 2
    assert local_objects(tmp_path / "objects") == {expected_spool_key(n): d for n, d in files.items()}


def test_delete_and_move_after_ship(tmp_path: Path) -> None:
    files = write_spool(tmp_path / "spool", 2, 10)
    ship_once(local_cfg(tmp_path, delete_after_ship=True))
    assert list((tmp_path / "spool" / "events").iterdir()) == []
    assert len(local_objects(tmp_path / "objects")) == 2
    # The spool is empty, so a restarted sensor starts again at sequence 0, maybe in the same second:
    # the shipper must not overwrite the earlier object with the same name.
    more = write_spool(tmp_path / "spool", 1, 10)
    sh = ship_once(local_cfg(tmp_path, delete_after_ship=True, shipped_dir=tmp_path / "done"))
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == sorted(more)
    objs = local_objects(tmp_path / "objects")
    assert sorted(objs.values()) == sorted([*files.values(), *more.values()])
    (name,) = more
    if name in files:
        assert sh.stats.keys[0] != expected_spool_key(name)


def _age(p: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(p, (t, t))


def test_glob_rotation_only_closed_and_settled(tmp_path: Path) -> None:
    logs = tmp_path / "cowrie"
    logs.mkdir()
    content = {i: f'{{"eventid":"cowrie.session.connect","n":{i}}}\n'.encode() * (i + 3) for i in range(5)}
    for i, suffix in ((2, ".2"), (1, ".1"), (0, "")):
        (logs / f"cowrie.json{suffix}").write_bytes(content[i])
        _age(logs / f"cowrie.json{suffix}", 3600 - i * 600)
    _age(logs / "cowrie.json.1", 5)  # closed by name but modified 5 s ago: not settled yet
    (logs / "cowrie.json").write_bytes(content[0] + content[0])  # the live file: newest, never shipped
    cfg = local_cfg(tmp_path, ship_spool=False, globs=[str(logs / "cowrie.json*")], settle_seconds=60)
    sh = ship_once(cfg)
    assert len(sh.stats.keys) == 1 and sh.stats.keys[0].startswith(f"raw/sensor={SENSOR}/date=")
    assert sh.stats.keys[0].endswith(".json.gz") and "/cowrie-" in sh.stats.keys[0]
    assert list(local_objects(tmp_path / "objects").values()) == [content[2]]
    _age(logs / "cowrie.json.1", 120)
    assert ship_once(cfg).stats.shipped_files == 1
    # Rotation renames .1 -> .2 -> .3 and the live file -> .1: only the former live file is new.
    for a, b in ((".2", ".3"), (".1", ".2"), ("", ".1")):
        os.replace(logs / f"cowrie.json{a}", logs / f"cowrie.json{b}")
    (logs / "cowrie.json").write_bytes(content[4])
    _age(logs / "cowrie.json.1", 120)
    sh = ship_once(cfg)
    assert sh.stats.shipped_files == 1
    objs = local_objects(tmp_path / "objects")
    assert sorted(objs.values()) == sorted([content[2], content[1], content[0] + content[0]])


def test_glob_gzipped_file_shipped_verbatim(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    blob = gzip.compress(b'{"a":1}\n' * 100)
    (logs / "dionaea.json.1.gz").write_bytes(blob)
    _age(logs / "dionaea.json.1.gz", 600)
    (logs / "dionaea.json").write_bytes(b"live\n")
    ship_once(local_cfg(tmp_path, ship_spool=False, globs=[str(logs / "dionaea.json*")]))
    (obj,) = list((tmp_path / "objects").rglob("*.gz"))
    assert obj.read_bytes() == blob and obj.name.startswith("dionaea-")


def test_store_failure_warns_and_marks_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_spool(tmp_path / "spool", 2, 20)
    blocker = tmp_path / "objects"
    blocker.write_text("not a directory")  # every put fails like an unreachable store
    cfg = local_cfg(tmp_path, warn_unshipped_bytes=100, retry_initial_seconds=0.01)
    sh = Shipper(cfg, sensor_name=SENSOR)
    try:
        with caplog.at_level(logging.INFO, logger="honeyfarm.collect.ship"):
            delays = [sh.step(lambda: False, once=True) for _ in range(3)]
        assert all(d is not None for d in delays) and delays[0] < delays[2]  # type: ignore[operator]
        assert "wait to be shipped, over warn_unshipped_bytes = 100" in caplog.text
        assert "nothing marked shipped" in caplog.text
        assert state_of(sh.state_path) == {}
        blocker.unlink()
        assert sh.step(lambda: False, once=True) is None
        assert len(state_of(sh.state_path)) == 2
    finally:
        sh.close()


def test_second_shipper_is_refused_and_config_is_strict(tmp_path: Path) -> None:
    sh = Shipper(local_cfg(tmp_path), sensor_name=SENSOR)
    try:
        with pytest.raises(ShipError, match="another shipper"):
            Shipper(local_cfg(tmp_path), sensor_name=SENSOR)
    finally:
        sh.close()
    with pytest.raises(ValidationError, match="needs a bucket"):
        ShipConfig(store="s3")
    with pytest.raises(ValidationError):
        ShipConfig.model_validate({"bucket_name": "x"})
    with pytest.raises(ValidationError):
        ShipConfig.model_validate({"poll_seconds": "5"})


def test_run_shipper_in_an_event_loop(tmp_path: Path) -> None:
    files = write_spool(tmp_path / "spool", 2, 5)
    cfg = local_cfg(tmp_path, poll_seconds=0.05, delete_after_ship=True)
    removed: list[Path] = []

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_shipper(cfg, stop, sensor_name=SENSOR, on_shipped=removed.append))
        for _ in range(200):
            if len(removed) == 2:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(main())
    assert sorted(p.name for p in removed) == sorted(files)
    assert len(local_objects(tmp_path / "objects")) == 2


def write_configs(tmp: Path, ship: dict[str, Any]) -> tuple[Path, Path]:
    main = tmp / "honeyfarm.toml"
    main.write_text(
        sensor_toml(
            {
                "geoip": {"enabled": False},
                "sensor.identity": {"name": SENSOR},
                "sensor.spool": {"dir": str(tmp / "spool")},
            }
        ),
        encoding="utf-8",
    )
    shipf = tmp / "ship.toml"
    shipf.write_text(sensor_toml({"ship": ship}), encoding="utf-8")
    return main, shipf


def run_cli(
    args: list[str], env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HONEYFARM, *args], env=env or cli_env(), capture_output=True, text=True, timeout=timeout, check=False
    )


def test_cli_local_end_to_end_ingest(tmp_path: Path) -> None:
    files = write_spool(tmp_path / "spool", 4, 25)
    main, shipf = write_configs(tmp_path, {"local_dir": str(tmp_path / "objects")})
    r = run_cli(["ship", "--once", "-c", str(main), "--ship-config", str(shipf)])
    assert r.returncode == 0, r.stderr
    assert "shipped 4 file(s)" in r.stderr
    r = run_cli(["ingest", str(tmp_path / "objects"), "--lake", str(tmp_path / "lake"), "-c", str(main), "--json"])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["ingested"] == 100 == sum(d.count(b"\n") for d in files.values())
    assert query(tmp_path / "lake", "select count(*), count(distinct session) from events") == [(100, 100)]


def test_cli_daemon_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    write_spool(tmp_path / "spool", 1, 5)
    main, shipf = write_configs(tmp_path, {"local_dir": str(tmp_path / "objects"), "poll_seconds": 0.1})
    proc = subprocess.Popen([*HONEYFARM, "ship", "-c", str(main), "--ship-config", str(shipf)], env=cli_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while len(state_of(tmp_path / "spool" / "ship-state.json")) < 1:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        write_spool(tmp_path / "spool", 1, 5)  # picked up by the next poll
        while len(state_of(tmp_path / "spool" / "ship-state.json")) < 2:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert "shipped 2 file(s)" in stderr


# --- S3: a real Ceph radosgw ----------------------------------------------------------
@pytest.fixture(scope="module")
def rgw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RGW]:
    reason = ceph_unavailable()
    if reason:
        pytest.skip(reason)
    with run_ceph_rgw(tmp_path_factory.mktemp("ceph")) as r:
        yield r


def s3_client(rgw: RGW, secret: str | None = None) -> Any:
    import boto3
    from botocore.config import Config as BotoConfig

    return boto3.client(
        "s3", endpoint_url=rgw.endpoint, region_name="us-east-1", aws_access_key_id=rgw.access_key,
        aws_secret_access_key=secret or rgw.secret_key, config=BotoConfig(s3={"addressing_style": "path"}),
    )  # fmt: skip


@pytest.fixture
def bucket(rgw: RGW) -> str:
    name = f"ship-{uuid.uuid4().hex[:12]}"
    s3_client(rgw).create_bucket(Bucket=name)
    return name


def s3_ship(rgw: RGW, bucket: str, tmp: Path, **kw: Any) -> dict[str, Any]:
    return {
        "store": "s3", "bucket": bucket, "endpoint_url": rgw.endpoint, "region": "us-east-1",
        "addressing_style": "path", "spool_dir": str(tmp / "spool"), "retry_initial_seconds": 0.2,
        "retry_max_seconds": 1.0, "timeout_seconds": 10.0, **kw,
    }  # fmt: skip


def s3_env(rgw: RGW, secret: str | None = None) -> dict[str, str]:
    env = cli_env(AWS_ACCESS_KEY_ID=rgw.access_key, AWS_SECRET_ACCESS_KEY=secret or rgw.secret_key)
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        env.pop(k, None)
    return env


def s3_objects(rgw: RGW, bucket: str) -> dict[str, bytes]:
    c = s3_client(rgw)
    out: dict[str, bytes] = {}
    for page in c.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            out[o["Key"]] = gzip.decompress(c.get_object(Bucket=bucket, Key=o["Key"])["Body"].read())
    return out


@pytest.fixture
def aws_env(rgw: RGW, monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in s3_env(rgw).items():
        if k.startswith("AWS_"):
            monkeypatch.setenv(k, v)
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(k, raising=False)


@pytest.mark.slow
@pytest.mark.usefixtures("aws_env")
def test_s3_keys_content_multipart_idempotent(rgw: RGW, bucket: str, tmp_path: Path) -> None:
    files = write_spool(tmp_path / "spool", 3, 40)
    open_part(tmp_path / "spool")
    logs = tmp_path / "logs"
    logs.mkdir()
    big = b"".join(b'{"n":%d,"x":"%s"}\n' % (i, os.urandom(3000).hex().encode()) for i in range(2200))  # ~13 MB
    (logs / "cowrie.json.1").write_bytes(big)
    _age(logs / "cowrie.json.1", 600)
    (logs / "cowrie.json").write_bytes(b"live\n")
    extra = {"globs": [str(logs / "cowrie.json*")], "multipart_threshold": 5 << 20, "part_size": 5 << 20}
    cfg = ShipConfig.model_validate(s3_ship(rgw, bucket, tmp_path, **extra))
    sh = ship_once(cfg)
    objs = s3_objects(rgw, bucket)
    spool_keys = {expected_spool_key(n): d for n, d in files.items()}
    (big_key,) = set(objs) - set(spool_keys)
    assert {k: objs[k] for k in spool_keys} == spool_keys and objs[big_key] == big
    head = s3_client(rgw).head_object(Bucket=bucket, Key=big_key)
    assert head["ETag"].strip('"').endswith("-2") and head["Metadata"]["sha256"]  # multipart, verified
    assert set(state_of(sh.state_path)) == set(objs)
    assert ship_once(cfg).stats.shipped_files == 0
    sh.state_path.unlink()  # retry after "crash": same keys overwritten, nothing new
    assert ship_once(cfg).stats.shipped_files == 4
    assert s3_objects(rgw, bucket) == objs


@pytest.mark.slow
def test_s3_outage_then_recovery(rgw: RGW, bucket: str, tmp_path: Path) -> None:
    files = write_spool(tmp_path / "spool", 5, 30)
    main, shipf = write_configs(tmp_path, s3_ship(rgw, bucket, tmp_path, warn_unshipped_bytes=1000))
    rgw.stop_rgw()
    log = (tmp_path / "ship.log").open("w")
    proc = subprocess.Popen([*HONEYFARM, "ship", "--once", "-c", str(main), "--ship-config", str(shipf)],
                            env=s3_env(rgw), stdout=log, stderr=log, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while (tmp_path / "ship.log").read_text().count("retrying in") < 4:
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "ship.log").read_text()
            time.sleep(0.2)
        text = (tmp_path / "ship.log").read_text()
        assert "nothing marked shipped" in text and "wait to be shipped" in text
        assert state_of(tmp_path / "spool" / "ship-state.json") == {}
    finally:
        rgw.start_rgw()
    try:
        assert proc.wait(90) == 0, (tmp_path / "ship.log").read_text()
    finally:
        proc.kill()
        log.close()
    assert s3_objects(rgw, bucket) == {expected_spool_key(n): d for n, d in files.items()}
    assert "the store is back" in (tmp_path / "ship.log").read_text()


@pytest.mark.slow
def test_s3_sigkill_at_random_points_then_rerun(rgw: RGW, bucket: str, tmp_path: Path) -> None:
    rnd = random.Random(int(os.environ.get("SHIP_KILL_SEED", "0")) or None)
    main, shipf = write_configs(tmp_path, s3_ship(rgw, bucket, tmp_path, delete_after_ship=True))
    written: dict[str, bytes] = {}
    killed_with_left: list[tuple[int, int]] = []
    for trial in range(4):
        written.update(write_spool(tmp_path / "spool", 30, 40, pad=2000))  # 30 files x 160 KB
        before = len(state_of(tmp_path / "spool" / "ship-state.json"))
        pending = len(list((tmp_path / "spool" / "events").iterdir()))
        proc = subprocess.Popen([*HONEYFARM, "ship", "--once", "-c", str(main), "--ship-config", str(shipf)],
                                env=s3_env(rgw), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        if trial % 2 == 0:  # anywhere, startup included
            time.sleep(rnd.uniform(0.2, 1.5))
        else:  # once uploads are under way
            deadline = time.monotonic() + 30
            while len(state_of(tmp_path / "spool" / "ship-state.json")) == before and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rnd.uniform(0, 0.08))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        state = state_of(tmp_path / "spool" / "ship-state.json")
        left = {p.name for p in (tmp_path / "spool" / "events").iterdir()}
        # Consistent: a file gone from the spool is recorded as shipped.
        assert {expected_spool_key(n) for n in set(written) - left} <= set(state), trial
        assert all(Path(e["source"]).name not in left or Path(e["source"]).name in written for e in state.values())
        killed_with_left.append((pending, len(left)))
    r = run_cli(["ship", "--once", "-c", str(main), "--ship-config", str(shipf)], env=s3_env(rgw))
    assert r.returncode == 0, r.stderr
    assert list((tmp_path / "spool" / "events").iterdir()) == []
    expected = {expected_spool_key(n): d for n, d in written.items()}
    assert s3_objects(rgw, bucket) == expected  # every file once, under its own key, nothing else
    state = state_of(tmp_path / "spool" / "ship-state.json")
    assert set(state) == set(expected)
    staging = tmp_path / "spool" / ".ship-staging"
    assert not staging.exists() or not list(staging.iterdir())
    assert any(0 < left < pending for pending, left in killed_with_left), killed_with_left  # some kill landed mid-run


@pytest.mark.slow
def test_s3_wrong_secret_and_missing_bucket(rgw: RGW, bucket: str, tmp_path: Path) -> None:
    files = write_spool(tmp_path / "spool", 2, 10)
    main, shipf = write_configs(tmp_path, s3_ship(rgw, bucket, tmp_path))
    r = run_cli(["ship", "--once", "-c", str(main), "--ship-config", str(shipf)], env=s3_env(rgw, "wrong-secret"))
    assert r.returncode == 1
    assert "secret key is wrong" in r.stderr and "SignatureDoesNotMatch" in r.stderr
    assert state_of(tmp_path / "spool" / "ship-state.json") == {}
    assert sorted(p.name for p in (tmp_path / "spool" / "events").iterdir()) == sorted(files)
    main, shipf = write_configs(tmp_path, s3_ship(rgw, "no-such-bucket-here", tmp_path))
    r = run_cli(["ship", "--once", "-c", str(main), "--ship-config", str(shipf)], env=s3_env(rgw))
    assert r.returncode == 1 and "bucket does not exist" in r.stderr, r.stderr
    assert state_of(tmp_path / "spool" / "ship-state.json") == {}
    assert s3_objects(rgw, bucket) == {}


@pytest.mark.slow
def test_s3_end_to_end_ingest(rgw: RGW, bucket: str, tmp_path: Path) -> None:
    files = write_spool(tmp_path / "spool", 3, 70)
    main, shipf = write_configs(tmp_path, s3_ship(rgw, bucket, tmp_path))
    r = run_cli(["ship", "--once", "-c", str(main), "--ship-config", str(shipf)], env=s3_env(rgw))
    assert r.returncode == 0, r.stderr
    c = s3_client(rgw)
    down = tmp_path / "download"
    for key in sorted(s3_objects(rgw, bucket)):
        (down / key).parent.mkdir(parents=True, exist_ok=True)
        (down / key).write_bytes(c.get_object(Bucket=bucket, Key=key)["Body"].read())
    r = run_cli(["ingest", str(down), "--lake", str(tmp_path / "lake"), "-c", str(main), "--json"])
    assert r.returncode == 0, r.stderr
    n = sum(d.count(b"\n") for d in files.values())
    assert json.loads(r.stdout)["ingested"] == n == 210
    assert query(tmp_path / "lake", "select count(*), count(distinct session) from events") == [(n, n)]
