# SPDX-License-Identifier: MIT
"""Collection benchmark (not a test): ``honeyfarm ship`` and ``honeyfarm ingest s3://`` against plain boto3/gzip.

    .venv/bin/python bench/collect.py                # 1M events, local store + a Ceph radosgw it starts (root)
    .venv/bin/python bench/collect.py --quick        # 100k events, one round: a smoke run
    .venv/bin/python bench/collect.py --skip-s3 --json
    AWS_ACCESS_KEY_ID=.. AWS_SECRET_ACCESS_KEY=.. .venv/bin/python bench/collect.py --s3-endpoint http://127.0.0.1:7480

The spool is written by the sensor's own :class:`honeyfarm.sensor.spool.Spool`
(closed ``<sensor>-<stamp>-<seq>.jsonl`` files of ``--rotate-mb``): N events
of ``honeyfarm.demo.synthetic`` (Cowrie-like sessions over ``--days``)
converted to the records ``honeyfarm sensor`` writes (schema column names,
``client_version``, the KEXINIT lists, the sensor identity stamp). Then, all in
one run, alternating each honeyfarm measurement with its baseline
``--repeat`` times after ``sync`` (medians shown):

* **ship → local directory**: ``Shipper(...).run(once=True)`` with a fresh
  state file (digest, deterministic gzip level 6, fsync, write, fsync, re-read
  and compare) against the baseline *gzip (Python's gzip, level 6) to a
  staging file + copy into the store directory*;
* **ship → S3**: the same ``Shipper`` with ``store = "s3"`` (Content-MD5 on
  each PUT, HEAD to verify size/ETag/sha256) against the baseline *boto3
  ``upload_file`` of the same, already gzipped, objects* (the bytes honeyfarm
  produced; nothing to compress) and, for context, *gzip + ``upload_file``*.
  S3 is a single-node Ceph (Debian's Pacific, memstore OSD, radosgw on
  127.0.0.1) started here through ``tests/cephutil.py`` (needs root and
  ``scripts/install-system-deps.sh``), or ``--s3-endpoint`` (credentials from
  the environment; a bucket is created and removed);
* **ingest ← S3**: ``honeyfarm.pipeline.ingest(["s3://bucket/raw/"])`` into
  a fresh lake (``AWS_ENDPOINT_URL`` + credentials in the environment, as for
  the CLI) against a plain boto3 ``download_file`` of every object, and
  against ``ingest`` of the very same ``.gz`` objects from the local
  directory store (so the S3 part of the cost is visible).

events/s and MB/s count the uncompressed spool bytes, for every row (a
baseline that only moves compressed bytes is measured per event it carries).
Ceph's daemons run on the same two cores as this process: S3 figures include
the server's CPU competing with the client's. Every process started here is
stopped by its PID, every temporary directory removed (``--keep`` keeps the
work directory, and the bucket of an ``--s3-endpoint``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import json
import logging
import os
import resource
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from honeyfarm.collect.ship import ShipConfig, Shipper
from honeyfarm.config import Config, IngestConfig
from honeyfarm.demo.synthetic import Generator
from honeyfarm.pipeline import ingest
from honeyfarm.sensor.config import SpoolConfig
from honeyfarm.sensor.spool import Spool

TESTS = Path(__file__).resolve().parent.parent / "tests"
SENSOR = "bench-sensor-1"
SENSOR_ADDR = "10.20.1.5"
IDENTITY = {"sensor": SENSOR, "region": "eu-west-1", "provider": "aws", "instance_type": "t3.nano",
            "hourly_cost": 0.0052}  # fmt: skip
KEX_LISTS = {"kexAlgs": "kex_algs", "keyAlgs": "key_algs", "encCS": "enc_cs", "macCS": "mac_cs",
             "compCS": "comp_cs", "langCS": "lang_cs"}  # fmt: skip
SHIP_TIMEOUT = 1800.0  # seconds one ship pass may take before the bench gives up
MB = 1e6


def note(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- the spool ---------------------------------------------------------------------
def to_sensor_record(r: dict[str, Any]) -> dict[str, Any]:
    """A synthetic Cowrie record as ``honeyfarm sensor`` would have written it (see sensor/events.py)."""
    eid = r["eventid"]
    out: dict[str, Any] = {
        "ts": r["timestamp"], "eventid": eid, "session": r["session"], "src_ip": r["src_ip"],
        "src_port": r["src_port"], "dst_ip": r["dst_ip"], "dst_port": r["dst_port"], "transport": "tcp",
        "protocol": r["protocol"],
    }  # fmt: skip
    if eid == "cowrie.client.version":
        out["client_version"] = r["version"]
    elif eid == "cowrie.client.kex":
        out["hassh"] = r["hassh"]
        out.update({ours: r[theirs] for theirs, ours in KEX_LISTS.items()})
    elif eid.startswith("cowrie.login."):
        out["username"], out["password"] = r["username"], r["password"]
    elif eid == "cowrie.command.input":
        out["command"] = r["input"]
    elif eid == "cowrie.session.file_download":
        out.update(url=r["url"], sha256=r["shasum"], size=len(r["url"]) * 4099, content_type="application/x-executable")
    elif eid == "cowrie.session.closed":
        out["duration"] = float(r["duration"])
    out.update(IDENTITY)
    return out


def write_spool(spool: Path, events: int, rotate_bytes: int, days: float, seed: int) -> list[Path]:
    """Closed spool files holding ``events`` events, written by the sensor's Spool; names follow event time."""
    start = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=days)
    gen = Generator(seed=seed, days=days, start=start)
    now = [start.timestamp()]
    cfg = SpoolConfig(dir=spool, rotate_bytes=rotate_bytes, rotate_seconds=1e9, max_bytes=1 << 50)
    sp = Spool(cfg, SENSOR, clock=lambda: now[0])
    for _, lines in gen.sessions(events, sensors=((SENSOR, SENSOR_ADDR, 1.0),)):
        for line in lines:
            rec = to_sensor_record(json.loads(line))
            now[0] = dt.datetime.strptime(rec["ts"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
            sp.write(rec)
    sp.close()
    return sorted((spool / "events").glob("*.jsonl"))


# --- measuring ----------------------------------------------------------------------
@dataclass
class Run:
    seconds: float
    cpu: float  # user+system of this process (boto3's threads included; not the S3 server's)
    out_bytes: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def cpu_now() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def timed(fn: Callable[[], tuple[int, dict[str, Any]]]) -> Run:
    os.sync()
    c, t = cpu_now(), time.perf_counter()
    out_bytes, extra = fn()
    return Run(time.perf_counter() - t, cpu_now() - c, out_bytes, extra)


def du(root: Path, pattern: str = "*.gz") -> int:
    return sum(p.stat().st_size for p in root.rglob(pattern) if p.is_file())


def ship(cfg: ShipConfig, spool: Path, nfiles: int) -> Run:
    """One full ``honeyfarm ship --once`` pass (the Shipper and its store client built before the clock starts)."""
    sh = Shipper(cfg, spool_dir=spool, sensor_name=SENSOR)
    deadline = time.monotonic() + SHIP_TIMEOUT

    def go() -> tuple[int, dict[str, Any]]:
        done = sh.run(lambda: time.monotonic() > deadline, lambda d: time.sleep(min(d, 5.0)), once=True)
        if not done or sh.stats.shipped_files != nfiles:
            raise RuntimeError(f"shipper stopped: {sh.stats}")
        state = json.loads(Path(sh.state_path).read_bytes())["shipped"]
        return sum(e["object_bytes"] for e in state.values()), {"failures": sh.stats.failures}

    try:
        return timed(go)
    finally:
        sh.close()


def gzip_file(src: Path, dst: Path, level: int = 6) -> None:
    with (
        src.open("rb") as fh,
        dst.open("wb") as out,
        gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=level, mtime=0) as gz,
    ):
        shutil.copyfileobj(fh, gz, 1 << 20)


def baseline_local(files: list[Path], staging: Path, store: Path) -> Run:
    def go() -> tuple[int, dict[str, Any]]:
        staging.mkdir(parents=True, exist_ok=True)
        store.mkdir(parents=True, exist_ok=True)
        total = 0
        for f in files:
            tmp = staging / (f.name + ".gz")
            gzip_file(f, tmp)
            shutil.copyfile(tmp, store / tmp.name)
            total += tmp.stat().st_size
            tmp.unlink()
        return total, {}

    return timed(go)


def ingest_run(source: str, lake: Path, threads: int, events: int) -> Run:
    shutil.rmtree(lake, ignore_errors=True)
    cfg = Config(ingest=IngestConfig(threads=threads))

    def go() -> tuple[int, dict[str, Any]]:
        res = ingest([source], cfg, lake)
        if res.errors or res.ingested + res.duplicates != events or res.dead_letter:
            raise RuntimeError(f"ingest of {source}: {json.dumps(res.to_dict())[:2000]}")
        return 0, {"ingested": res.ingested, "duplicates": res.duplicates, **res.remote}

    try:
        return timed(go)
    finally:
        shutil.rmtree(lake, ignore_errors=True)


# --- S3 ---------------------------------------------------------------------------
@dataclass
class S3Target:
    endpoint: str
    bucket: str
    addressing: str


def s3_client(target: S3Target) -> Any:
    import boto3
    from botocore.config import Config as BotoConfig

    # Checksums "when_required": recent botocore otherwise adds CRC32 trailers that Ceph Pacific rejects.
    return boto3.client(
        "s3", endpoint_url=target.endpoint, region_name="us-east-1",
        config=BotoConfig(s3={"addressing_style": target.addressing}, request_checksum_calculation="when_required",
                          response_checksum_validation="when_required", retries={"max_attempts": 3}),
    )  # fmt: skip


def s3_keys(client: Any, bucket: str, prefix: str) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out += [(o["Key"], int(o["Size"])) for o in page.get("Contents", [])]
    return out


def s3_empty(client: Any, bucket: str, prefix: str = "") -> None:
    keys = [k for k, _ in s3_keys(client, bucket, prefix)]
    for i in range(0, len(keys), 1000):
        client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[i : i + 1000]]})


def baseline_upload(client: Any, bucket: str, objects: list[Path], prefix: str) -> Run:
    """boto3 ``upload_file`` (its defaults: multipart over 8 MB, 10 threads) of already-gzipped files."""

    def go() -> tuple[int, dict[str, Any]]:
        for p in objects:
            client.upload_file(str(p), bucket, f"{prefix}/{p.name}")
        return sum(p.stat().st_size for p in objects), {}

    return timed(go)


def baseline_gzip_upload(client: Any, bucket: str, files: list[Path], staging: Path, prefix: str) -> Run:
    def go() -> tuple[int, dict[str, Any]]:
        staging.mkdir(parents=True, exist_ok=True)
        total = 0
        for f in files:
            tmp = staging / (f.name + ".gz")
            gzip_file(f, tmp)
            client.upload_file(str(tmp), bucket, f"{prefix}/{tmp.name}")
            total += tmp.stat().st_size
            tmp.unlink()
        return total, {}

    return timed(go)


def baseline_download(client: Any, bucket: str, prefix: str, dest: Path) -> Run:
    def go() -> tuple[int, dict[str, Any]]:
        total = 0
        for key, size in s3_keys(client, bucket, prefix):
            p = dest / key
            p.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(bucket, key, str(p))
            total += size
        return total, {}

    shutil.rmtree(dest, ignore_errors=True)
    try:
        return timed(go)
    finally:
        shutil.rmtree(dest, ignore_errors=True)


@contextlib.contextmanager
def aws_env(endpoint: str, creds: tuple[str, str] | None) -> Iterator[None]:
    """The environment ``honeyfarm ingest s3://`` and the shipper read (restored afterwards)."""
    saved = dict(os.environ)
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        os.environ.pop(k, None)
    os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_EC2_METADATA_DISABLED="true")
    os.environ.setdefault("AWS_REGION", "us-east-1")
    if creds is not None:
        os.environ.update(AWS_ACCESS_KEY_ID=creds[0], AWS_SECRET_ACCESS_KEY=creds[1])
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def s3_target(args: argparse.Namespace, work: Path) -> Iterator[tuple[S3Target | None, str]]:
    """A bucket on the given endpoint or on a Ceph started here; ``(None, reason)`` when S3 is not available."""
    if args.skip_s3:
        yield None, "--skip-s3"
        return
    bucket = f"hf-bench-{uuid.uuid4().hex[:10]}"
    if args.s3_endpoint:
        if not (os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY")):
            yield None, "--s3-endpoint needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment"
            return
        target = S3Target(args.s3_endpoint, bucket, args.s3_addressing)
        with aws_env(args.s3_endpoint, None):
            client = s3_client(target)
            client.create_bucket(Bucket=bucket)
            try:
                yield target, f"S3 at {args.s3_endpoint}"
            finally:
                if not args.keep:
                    with contextlib.suppress(Exception):
                        s3_empty(client, bucket)
                        client.delete_bucket(Bucket=bucket)
        return
    sys.path.insert(0, str(TESTS))
    from cephutil import ceph_unavailable, run_ceph_rgw

    reason = ceph_unavailable()
    if reason:
        yield None, reason
        return
    note("starting single-node Ceph radosgw on 127.0.0.1 (~20-30 s)")
    t = time.perf_counter()
    with run_ceph_rgw(work / "ceph") as rgw:
        note(f"radosgw up at {rgw.endpoint} after {time.perf_counter() - t:.0f} s")
        target = S3Target(rgw.endpoint, bucket, "path")
        with aws_env(rgw.endpoint, (rgw.access_key, rgw.secret_key)):
            s3_client(target).create_bucket(Bucket=bucket)
            yield target, f"Ceph radosgw (memstore OSD) at {rgw.endpoint}, started by the bench"
    note("Ceph stopped")


# --- the run -----------------------------------------------------------------------
def med(runs: list[Run]) -> Run:
    """The run of median wall time (its CPU and byte counts with it)."""
    return sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]


def alternate(repeat: int, *fns: Callable[[], Run]) -> list[Run]:
    got: list[list[Run]] = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            got[i].append(fn())
    for runs in got:
        if len(runs) > 1:
            note("  runs (s): " + ", ".join(f"{r.seconds:.2f}" for r in runs))
    return [med(r) for r in got]


def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    spool = work / "spool"
    t = time.perf_counter()
    files = write_spool(spool, args.events, int(args.rotate_mb * 1024 * 1024), args.days, seed=1)
    raw = sum(f.stat().st_size for f in files)
    note(f"spool: {args.events:,} events, {raw / MB:.1f} MB in {len(files)} files, {time.perf_counter() - t:.1f} s")
    n, nfiles = args.events, len(files)
    res: dict[str, Any] = {
        "events": n, "raw_bytes": raw, "files": nfiles, "rotate_mb": args.rotate_mb, "repeat": args.repeat,
        "threads": args.threads, "cpus": os.cpu_count(), "python": sys.version.split()[0], "rows": {},
    }  # fmt: skip
    rows: dict[str, dict[str, Any]] = res["rows"]

    def row(name: str, r: Run) -> None:
        rows[name] = {"seconds": r.seconds, "cpu_seconds": r.cpu, "events_per_s": n / r.seconds,
                      "raw_mb_per_s": raw / MB / r.seconds, "out_bytes": r.out_bytes,
                      "out_bytes_per_event": r.out_bytes / n if r.out_bytes else None, **r.extra}  # fmt: skip

    objects = work / "objects"  # the honeyfarm-shipped local store, kept for the S3 baselines and local ingest
    runs_dir = work / "runs"

    def local_hf() -> Run:
        shutil.rmtree(objects, ignore_errors=True)
        shutil.rmtree(runs_dir, ignore_errors=True)
        cfg = ShipConfig(store="local", local_dir=objects, spool_dir=spool, state_file=runs_dir / "state.json",
                         warn_unshipped_bytes=0)  # fmt: skip
        return ship(cfg, spool, nfiles)

    def local_base() -> Run:
        store = work / "baseline-objects"
        shutil.rmtree(store, ignore_errors=True)
        try:
            return baseline_local(files, work / "baseline-staging", store)
        finally:
            shutil.rmtree(store, ignore_errors=True)

    note("ship → local directory: honeyfarm vs gzip + copy")
    hf, base = alternate(args.repeat, local_hf, local_base)
    row("ship_local_honeyfarm", hf)
    row("ship_local_baseline_gzip_copy", base)
    gz_objects = sorted(objects.rglob("*.gz"))
    assert len(gz_objects) == nfiles, gz_objects

    note("ingest ← local .gz objects")
    row("ingest_local", med([ingest_run(str(objects), work / "lake", args.threads, n) for _ in range(args.repeat)]))

    with s3_target(args, work) as (target, why):
        res["s3"] = why
        if target is None:
            note(f"S3 not measured: {why}")
            return res
        client = s3_client(target)
        # Warm-up: radosgw creates its data pools on a bucket's first writes (~2 s), which is no shipping cost.
        for i, p in enumerate(gz_objects[:2]):
            client.upload_file(str(p), target.bucket, f"warmup/{i}.gz")
        s3_empty(client, target.bucket, "warmup/")

        def s3_hf() -> Run:
            s3_empty(client, target.bucket, "raw/")
            shutil.rmtree(runs_dir, ignore_errors=True)
            cfg = ShipConfig(store="s3", bucket=target.bucket, endpoint_url=target.endpoint, region="us-east-1",
                             addressing_style=target.addressing, spool_dir=spool, state_file=runs_dir / "state.json",
                             warn_unshipped_bytes=0, retry_initial_seconds=0.5, retry_max_seconds=5.0)  # fmt: skip
            return ship(cfg, spool, nfiles)

        def s3_upload() -> Run:
            s3_empty(client, target.bucket, "baseline/")
            return baseline_upload(client, target.bucket, gz_objects, "baseline")

        def s3_gzip_upload() -> Run:
            s3_empty(client, target.bucket, "baseline/")
            return baseline_gzip_upload(client, target.bucket, files, work / "baseline-staging", "baseline")

        note("ship → S3: honeyfarm vs upload_file of the gzipped objects vs gzip + upload_file")
        hf, up, gzup = alternate(args.repeat, s3_hf, s3_upload, s3_gzip_upload)
        s3_empty(client, target.bucket, "baseline/")
        row("ship_s3_honeyfarm", hf)
        row("ship_s3_baseline_upload_file", up)
        row("ship_s3_context_gzip_upload_file", gzup)
        listed = s3_keys(client, target.bucket, "raw/")
        assert len(listed) == nfiles and sum(s for _, s in listed) == hf.out_bytes, listed

        note("ingest ← S3 vs boto3 download_file")
        url = f"s3://{target.bucket}/raw/"
        ing, dl = alternate(
            args.repeat,
            lambda: ingest_run(url, work / "lake", args.threads, n),
            lambda: baseline_download(client, target.bucket, "raw/", work / "download"),
        )
        row("ingest_s3", ing)
        row("ingest_s3_baseline_download_file", dl)
        if not args.keep:
            s3_empty(client, target.bucket)
    return res


def ratio(rows: dict[str, dict[str, Any]], a: str, b: str) -> float | None:
    if a in rows and b in rows:
        return float(rows[b]["seconds"] / rows[a]["seconds"])  # throughput ratio a / b
    return None


def table(res: dict[str, Any], command: str) -> None:
    rows = res["rows"]
    n, raw = res["events"], res["raw_bytes"]
    head = f"| {n:,} sensor events ({raw / MB:.0f} MB raw JSON, {res['files']} spool files of {res['rotate_mb']:g} MiB)"
    print(head + f", {res['cpus']} CPUs | s | events/s | MB/s (raw) | gz bytes / event |")
    print("|---|---:|---:|---:|---:|")

    def line(label: str, key: str) -> None:
        if key not in rows:
            return
        r = rows[key]
        per = f"{r['out_bytes_per_event']:.1f}" if r.get("out_bytes_per_event") else ""
        print(f"| {label} | {r['seconds']:.2f} | {r['events_per_s']:,.0f} | {r['raw_mb_per_s']:.0f} | {per} |")

    def rat(label: str, a: str, b: str) -> None:
        q = ratio(rows, a, b)
        if q is not None:
            print(f"| **{label}** | | **{q:.2f}** | | |")

    line("honeyfarm ship → local dir (sha256, gzip -6, fsync, re-read verify)", "ship_local_honeyfarm")
    line("baseline: Python gzip -6 to staging + copy into the dir", "ship_local_baseline_gzip_copy")
    rat("ratio honeyfarm / baseline (local)", "ship_local_honeyfarm", "ship_local_baseline_gzip_copy")
    line("honeyfarm ship → S3 (gzip -6, Content-MD5 PUT, HEAD verify)", "ship_s3_honeyfarm")
    line("baseline: boto3 upload_file of the already-gzipped objects", "ship_s3_baseline_upload_file")
    rat("ratio honeyfarm / upload_file of gzipped objects", "ship_s3_honeyfarm", "ship_s3_baseline_upload_file")
    line("context: Python gzip -6 + boto3 upload_file", "ship_s3_context_gzip_upload_file")
    rat("ratio honeyfarm / gzip + upload_file", "ship_s3_honeyfarm", "ship_s3_context_gzip_upload_file")
    line("honeyfarm ingest s3://bucket/raw/ (download, parse, map, GeoIP, dedup, lake)", "ingest_s3")
    line("baseline: boto3 download_file of the same objects", "ingest_s3_baseline_download_file")
    rat("ratio ingest from S3 / download_file", "ingest_s3", "ingest_s3_baseline_download_file")
    line("honeyfarm ingest of the same .gz objects from local disk", "ingest_local")
    rat("ratio ingest from S3 / ingest from local disk", "ingest_s3", "ingest_local")
    print()
    print(f"S3: {res['s3']}. Medians of {res['repeat']} alternating run(s); {res['threads']} ingest threads; "
          f"python {res['python']}. Ratios are of throughput (>1: honeyfarm faster).")  # fmt: skip
    if "ship_s3_honeyfarm" in rows:
        cpu = rows["ship_s3_honeyfarm"]["cpu_seconds"]
        print(f"Client CPU during honeyfarm ship → S3: {cpu:.2f} s (radosgw's own CPU not included).")
    print(f"\nReproduce: `{command}`")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=None, help="events in the spool (default 1,000,000; quick 100,000)")
    ap.add_argument("--quick", action="store_true", help="100,000 events, one round: a smoke run (~1 minute)")
    ap.add_argument("--repeat", type=int, default=None, help="alternating rounds, medians shown (default 3; quick 1)")
    ap.add_argument("--rotate-mb", type=float, default=16.0, help="spool rotate size in MiB (the sensor's default: 64)")
    ap.add_argument("--days", type=float, default=1.0, help="days the events span")
    ap.add_argument("--threads", type=int, default=2, help="ingest threads")
    ap.add_argument("--skip-s3", action="store_true", help="local store and local ingest only")
    ap.add_argument("--s3-endpoint", default=None, help="use this running S3 endpoint (credentials: AWS_* env)")
    ap.add_argument("--s3-addressing", default="path", choices=["auto", "path", "virtual"])
    ap.add_argument("--workdir", type=Path, default=None, help="parent of the work directory (default: $TMPDIR)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON instead of the table")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (and an --s3-endpoint's bucket)")
    args = ap.parse_args()
    args.events = args.events or (100_000 if args.quick else 1_000_000)
    args.repeat = args.repeat or (1 if args.quick else 3)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    command = ".venv/bin/python bench/collect.py " + " ".join(sys.argv[1:])
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="honeyfarm-bench-collect-", dir=args.workdir))
    t = time.perf_counter()
    try:
        res = measure(args, work)
    finally:
        if args.keep:
            note(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    res["wall_seconds"] = time.perf_counter() - t
    res["command"] = command.strip()
    if args.json:
        print(json.dumps(res, indent=2, default=str))
    else:
        print()
        table(res, command.strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
