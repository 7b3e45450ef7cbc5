# SPDX-License-Identifier: MIT
"""The sensor under abuse and on a full disk (issue 11, item 10).

Floods of random bytes, slow-loris clients, SIGTERM with sessions open, connections
refused by the caps, and a spool whose filesystem fills up: CPU, memory and stderr stay
bounded, deadlines are absolute, refusals and lost events are counted and reported, and
background tasks never die in silence. Real ``honeyfarm sensor`` processes on 127.0.0.1;
the full-disk test mounts a 1 MiB tmpfs (root only).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from lakeutil import small_tmpfs
from sensorutil import SensorProc, run_sensor
from telnetprobe import refusals

from honeyfarm.sensor.config import SpoolConfig
from honeyfarm.sensor.guard import QuietLog, Supervisor
from honeyfarm.sensor.spool import Spool

# --- a raw Telnet client ----------------------------------------------------------------------------------------


async def read_until(r: asyncio.StreamReader, token: bytes, timeout: float = 10) -> bytes:
    buf = b""
    async with asyncio.timeout(timeout):
        while token not in buf:
            chunk = await r.read(4096)
            if not chunk:
                raise EOFError(buf)
            buf += chunk
    return buf


async def open_telnet(port: int, timeout: float = 10) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect and refuse every option (as a careful scanner does) until the ``login:`` prompt:
    the trap's inetutils-telnetd, as the real one, says nothing more to a client that never answers."""
    r, w = await asyncio.open_connection("127.0.0.1", port)
    buf = b""
    try:
        async with asyncio.timeout(timeout):
            while b"login: " not in buf:
                chunk = await r.read(4096)
                if not chunk:
                    raise EOFError(buf)
                buf += chunk
                w.write(refusals(chunk))
    except BaseException:
        w.transport.abort()
        raise
    return r, w


async def telnet_shell(port: int, password: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A root shell over Telnet (the test userdb takes any root password but 'root' and '123456')."""
    r, w = await open_telnet(port)
    w.write(b"root\r\n")
    await read_until(r, b"Password: ")
    w.write(password.encode() + b"\r\n")
    await read_until(r, b"# ")
    return r, w


async def telnet_id(port: int) -> bytes:
    r, w = await telnet_shell(port, "abuse-ok-1")
    try:
        w.write(b"id\r\n")
        return await read_until(r, b"# ")
    finally:
        w.transport.abort()


def stderr_of(sp: SensorProc) -> str:
    return (sp.workdir / "sensor.log").read_text(errors="replace")


def cpu_seconds(p: psutil.Process) -> float:
    t = p.cpu_times()
    return float(t.user + t.system)


def rss_mb(p: psutil.Process) -> float:
    return float(p.memory_info().rss) / 2**20


# --- 1. random bytes from 50 clients ----------------------------------------------------------------------------


async def _random_client(port: int, stop: float, sent: list[int]) -> None:
    """Connect, send up to 1 MiB of random bytes, close (FIN, as a script does), again until ``stop``."""
    while time.monotonic() < stop:
        try:
            async with asyncio.timeout(5):
                _r, w = await asyncio.open_connection("127.0.0.1", port)
        except (OSError, TimeoutError):
            await asyncio.sleep(0.05)
            continue
        try:
            for _ in range(16):
                if time.monotonic() >= stop:
                    break
                w.write(os.urandom(65536))
                sent[0] += 65536
                async with asyncio.timeout(2):
                    await w.drain()
        except (OSError, TimeoutError):
            pass
        finally:
            w.close()
        await asyncio.sleep(0.1)


async def _flood(ports: list[int], clients: int, seconds: float) -> int:
    stop = time.monotonic() + seconds
    sent = [0]
    await asyncio.gather(*(_random_client(ports[i % len(ports)], stop, sent) for i in range(clients)))
    return sent[0]


@pytest.fixture(scope="module")
def flood_sensor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SensorProc]:
    overrides: dict[str, dict[str, Any]] = {
        "sensor.limits": {"max_per_ip": 10000},
        "sensor.telnet": {"login_timeout": 10.0},
    }
    with run_sensor(tmp_path_factory.mktemp("abuse-flood"), overrides) as s:
        yield s


def test_random_byte_flood_keeps_cpu_memory_and_log_bounded(flood_sensor: SensorProc) -> None:
    sp = flood_sensor
    assert sp.proc is not None
    proc = psutil.Process(sp.proc.pid)
    sp.wait_for(lambda evs: any(e["eventid"] == "honeyfarm.sensor.start" for e in evs))
    rss0, cpu0, t0 = rss_mb(proc), cpu_seconds(proc), time.monotonic()
    # 40 clients on Telnet, 10 on SSH: random bytes on every port.
    sent = asyncio.run(_flood([sp.telnet_port] * 4 + [sp.ssh_port], 50, 6.0))
    wall, cpu_flood = time.monotonic() - t0, cpu_seconds(proc) - cpu0
    time.sleep(3)
    cpu_idle = cpu_seconds(proc) - cpu0 - cpu_flood
    rss_after = rss_mb(proc)
    lines = stderr_of(sp).splitlines()
    print(f"sent {sent / 2**20:.0f} MiB; cpu {cpu_flood:.2f} s in {wall:.1f} s, {cpu_idle:.2f} s in the 3 s after;")
    print(f"rss {rss0:.0f} -> {rss_after:.0f} MiB; stderr {len(lines)} lines")
    assert sp.proc.poll() is None
    assert sent > 50 * 2**20
    assert len(lines) < 100, lines[:20]
    assert not any("socket.send() raised exception" in ln for ln in lines)
    assert cpu_flood < 0.9 * wall  # not a pegged core
    assert cpu_idle < 0.5  # and quiet once the flood stops: no session left spinning
    assert rss_after < rss0 + 64
    assert b"uid=0(root)" in asyncio.run(telnet_id(sp.telnet_port))


# --- 2. slow clients: absolute deadlines ------------------------------------------------------------------------


async def _trickle(port: int, login_first: bool, limit: float) -> tuple[float, bytes]:
    """Send one byte a second (never a newline); how long until the sensor hangs up, and its last words."""
    if login_first:
        r, w = await telnet_shell(port, "abuse-slow-1")
    else:
        r, w = await open_telnet(port)
    t0 = time.monotonic()
    seen = b""
    try:
        async with asyncio.timeout(limit):
            while True:
                w.write(b"x")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        chunk = await r.read(4096)
                        if not chunk:
                            return time.monotonic() - t0, seen
                        seen += chunk
    except (ConnectionError, OSError):
        return time.monotonic() - t0, seen
    finally:
        w.transport.abort()


@pytest.fixture(scope="module")
def slow_sensor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SensorProc]:
    overrides: dict[str, dict[str, Any]] = {
        "sensor.telnet": {"login_timeout": 3.0},
        "sensor.limits": {"idle_timeout": 3.0, "max_per_ip": 3, "refused_report_interval": 1.0},
    }
    with run_sensor(tmp_path_factory.mktemp("abuse-slow"), overrides) as s:
        yield s


def test_login_deadline_counts_from_the_connection_not_the_last_byte(slow_sensor: SensorProc) -> None:
    took, seen = asyncio.run(_trickle(slow_sensor.telnet_port, login_first=False, limit=15))
    assert 2.0 <= took <= 5.0, took
    assert b"Login timed out after 3 seconds." in seen


def test_idle_deadline_counts_from_the_prompt(slow_sensor: SensorProc) -> None:
    took, seen = asyncio.run(_trickle(slow_sensor.telnet_port, login_first=True, limit=15))
    assert 2.0 <= took <= 5.0, took
    assert b"auto-logout" in seen


def test_refused_connections_are_counted_in_a_periodic_event(slow_sensor: SensorProc) -> None:
    sp = slow_sensor
    # run_sensor's port probes are gone once their sessions closed; then 3 slots are free.
    sp.wait_for(lambda evs: sum(e["eventid"] == "cowrie.session.closed" for e in evs) >= 2)
    before = len(sp.events())

    async def main() -> None:
        held = [await open_telnet(sp.telnet_port) for _ in range(3)]
        for _ in range(12):
            r, w = await asyncio.open_connection("127.0.0.1", sp.telnet_port)
            with contextlib.suppress(ConnectionError, OSError, TimeoutError):
                async with asyncio.timeout(2):
                    assert await r.read(100) == b""  # closed before a word
            w.transport.abort()
        for _r, w in held:
            w.transport.abort()

    asyncio.run(main())
    evs = sp.wait_for(
        lambda evs: sum(e.get("refused", 0) for e in evs[before:] if e["eventid"] == "honeyfarm.sensor.refused") >= 12
    )
    reports = [e for e in evs[before:] if e["eventid"] == "honeyfarm.sensor.refused"]
    assert sum(e["refused"] for e in reports) == 12
    assert sum(e["reasons"].get("max_per_ip", 0) for e in reports) == 12
    assert reports[0]["top_src_ips"][0][0] == "127.0.0.1" and reports[0]["sensor"] == "test-sensor"
    time.sleep(2.5)  # no refusals, no report
    assert [e for e in sp.events()[before:] if e["eventid"] == "honeyfarm.sensor.refused"] == reports


# --- 3. SIGTERM with sessions open ------------------------------------------------------------------------------


def test_sigterm_with_open_sessions_prints_no_traceback(tmp_path: Path) -> None:
    import asyncssh

    # A long failure delay: the sessions that sent a wrong password are in it when SIGTERM comes.
    with run_sensor(tmp_path, {"sensor.ssh": {"auth_fail_delay": 5.0}, "sensor.telnet": {"fail_delay": 5.0}}) as sp:

        async def open_many() -> list[Any]:
            keep: list[Any] = []
            for i in range(8):  # logged in, at a shell prompt
                keep.append(await telnet_shell(sp.telnet_port, f"abuse-term-{i}"))
            for _ in range(8):  # a wrong password: in the failure delay
                r, w = await open_telnet(sp.telnet_port)
                w.write(b"root\r\nroot\r\n")
                keep.append((r, w))
            for i in range(4):  # SSH: logged in with a shell
                conn = await asyncssh.connect(
                    "127.0.0.1",
                    sp.ssh_port,
                    username="root",
                    password=f"abuse-ssh-{i}",
                    known_hosts=None,
                )
                proc = await conn.create_process(term_type="xterm")
                keep.append((conn, proc))
            await asyncio.sleep(0.3)
            return keep

        async def scenario() -> None:
            keep = await open_many()
            assert sp.proc is not None
            sp.proc.terminate()
            await asyncio.get_running_loop().run_in_executor(None, sp.proc.wait, 20)
            for item in keep:
                if isinstance(item[0], asyncssh.SSHClientConnection):
                    item[0].abort()
                else:
                    item[1].transport.abort()

        asyncio.run(scenario())
        assert sp.proc is not None and sp.proc.returncode in (0, -15)
    err = stderr_of(sp)
    for bad in ("Traceback", "CancelledError", "Task exception", "Exception in callback", "Error"):
        assert bad not in err, err[-3000:]
    evs = sp.events()
    assert evs[-1]["eventid"] == "honeyfarm.sensor.stop"
    ids = [e["eventid"] for e in evs]
    assert ids.count("cowrie.session.connect") == ids.count("cowrie.session.closed")
    # The attempts cut off by the shutdown were made, so they are logged.
    assert sum(e["eventid"] == "cowrie.login.failed" and e["password"] == "root" for e in evs) == 8


# --- 4. a full disk under the spool -----------------------------------------------------------------------------


def fill(path: Path) -> None:
    with path.open("wb", buffering=0) as fh, contextlib.suppress(OSError):
        while True:
            fh.write(b"\0" * 4096)


async def _failed_logins(port: int, sessions: int, attempts: int) -> None:
    async def one(i: int) -> None:
        with contextlib.suppress(OSError, EOFError, TimeoutError):
            r, w = await open_telnet(port)
            try:
                w.write(b"".join(b"user%d-%d\r\nbad-%d\r\n" % (i, k, k) for k in range(attempts)))
                async with asyncio.timeout(20):
                    while await r.read(65536):
                        pass
            finally:
                w.transport.abort()

    await asyncio.gather(*(one(i) for i in range(sessions)))


def test_full_disk_drops_are_counted_reported_and_nothing_is_lost_in_silence(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "spool", "4m") as disk:  # the spool itself is the small filesystem
        overrides: dict[str, dict[str, Any]] = {
            "sensor.ssh": {"enabled": False, "auth_fail_delay": 0.0},
            "sensor.telnet": {"max_auth_tries": 100, "fail_delay": 0.0},
            "sensor.downloads": {"dir": str(tmp_path / "dl")},
        }
        with run_sensor(tmp_path, overrides) as sp:
            sp.wait_for(lambda evs: any(e["eventid"] == "honeyfarm.sensor.start" for e in evs))
            filler = disk / "filler"
            fill(filler)
            # ~4000 failed logins of ~450 bytes each: more than the 1 MiB the sensor keeps in memory.
            asyncio.run(_failed_logins(sp.telnet_port, 40, 100))
            time.sleep(1.0)
            assert sp.proc is not None and sp.proc.poll() is None
            filler.unlink()
            evs = sp.wait_for(lambda evs: any(e["eventid"] == "honeyfarm.sensor.spool_full" for e in evs))
            note = next(e for e in evs if e["eventid"] == "honeyfarm.sensor.spool_full")
            assert note["dropped"] > 0 and set(note["reasons"]) == {"ENOSPC"}
            assert note["region"] == "test-region-1"
            # Later events are written again.
            assert b"uid=0(root)" in asyncio.run(telnet_id(sp.telnet_port))
            sp.wait_for(lambda evs: any(e.get("password") == "abuse-ok-1" for e in evs))
            rc = sp.stop()
            assert rc in (0, -15)
        evs = sp.events()
    err = stderr_of(sp)
    assert "spool writes fail (ENOSPC" in err and "spool writes work again" in err
    assert "Task exception was never retrieved" not in err and "Traceback" not in err, err[-3000:]
    stop = evs[-1]
    assert stop["eventid"] == "honeyfarm.sensor.stop"
    emitted = sum(stop["counts"].values())
    notes = [e for e in evs if e["eventid"] == "honeyfarm.sensor.spool_full"]
    written = len(evs) - len(notes) - 1  # the stop event is not in its own counts
    dropped = sum(n["dropped"] for n in notes)
    assert emitted == written + dropped, (emitted, written, dropped)
    assert dropped > 0 and written > 2500


# --- units: the spool's error path, the supervisor, the quiet log -----------------------------------------------


def test_spool_keeps_whole_lines_when_the_disk_fails_mid_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = SpoolConfig(dir=tmp_path, fsync_interval=1.0)
    sp = Spool(cfg, "s1")
    real_write = os.write
    budget = [300]  # bytes the "disk" still takes

    def tight(fd: int, data: Any) -> int:
        if budget[0] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = real_write(fd, bytes(data)[: budget[0]])
        budget[0] -= n
        return n

    monkeypatch.setattr("honeyfarm.sensor.spool.os.write", tight)
    for i in range(4000):  # 2 MiB: past what the spool keeps in memory while the disk refuses
        sp.write({"i": i, "pad": "p" * 500})
    assert sp.dropped > 0 and sp.drop_reasons == {"ENOSPC": sp.dropped}
    part = sp.current
    assert part is not None
    assert all(json.loads(x) for x in part.read_bytes().splitlines())  # the cut line was taken back
    budget[0] = 10**9
    sp.sync()
    sp.close()
    recs = [json.loads(x) for p in sorted((tmp_path / "events").iterdir()) for x in p.read_bytes().splitlines()]
    notes = [r for r in recs if r.get("eventid") == "honeyfarm.sensor.spool_full"]
    assert len(notes) == 1 and notes[0]["reasons"] == {"ENOSPC": notes[0]["dropped"]}
    kept = [r["i"] for r in recs if "i" in r]
    assert kept == sorted(kept) and len(kept) + notes[0]["dropped"] == 4000


def test_supervised_periodic_task_survives_errors_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[int] = []
    fatal: list[str] = []

    def flaky() -> None:
        calls.append(1)
        if len(calls) <= 2:
            raise OSError(errno.ENOSPC, "No space left on device")

    async def main() -> None:
        tasks: set[asyncio.Task[Any]] = set()
        sup = Supervisor(tasks, fatal.append, max_backoff=0.05)
        task = sup.every("spool fsync", 0.01, flaky)
        await asyncio.sleep(0.5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    assert len(calls) > 5 and not fatal
    err = capsys.readouterr().err
    assert "spool fsync failed (OSError" in err and "spool fsync works again" in err


def test_a_task_that_keeps_failing_stops_the_sensor_loudly(capsys: pytest.CaptureFixture[str]) -> None:
    fatal: list[str] = []

    async def broken() -> None:
        raise RuntimeError("boom")

    async def main() -> None:
        tasks: set[asyncio.Task[Any]] = set()
        sup = Supervisor(tasks, fatal.append, max_backoff=0.01)
        task = sup.restart("shipper", broken, max_restarts=2)
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.sleep(0)

    asyncio.run(main())
    assert fatal == ["shipper stopped: RuntimeError: boom"]
    assert capsys.readouterr().err.count("shipper failed") == 3


def test_quiet_log_passes_a_burst_then_counts(capsys: pytest.CaptureFixture[str]) -> None:
    now = [0.0]
    flt = QuietLog(burst=5, window=10.0, clock=lambda: now[0])
    rec = logging.LogRecord("asyncio", logging.WARNING, __file__, 1, "socket.send() raised exception.", None, None)
    passed = sum(flt.filter(rec) for _ in range(10_000))
    assert passed == 5 and flt.suppressed == 9995
    now[0] = 11.0
    assert flt.filter(rec)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "9995 more log records held back" in err


def test_sensor_exits_1_when_a_background_task_cannot_recover(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from honeyfarm.sensor.config import SensorConfig, SSHConfig, TelnetConfig
    from honeyfarm.sensor.runtime import Sensor, run

    cfg = SensorConfig(
        spool=SpoolConfig(dir=tmp_path / "spool"),
        ssh=SSHConfig(enabled=False),
        telnet=TelnetConfig(listen=["127.0.0.1:0"]),
    )

    async def broken() -> None:
        raise RuntimeError("boom")

    def ready(s: Sensor) -> None:
        assert s.supervisor is not None
        s.supervisor.restart("test task", broken, max_restarts=0)

    with pytest.raises(SystemExit) as exc:
        run(cfg, ready)
    assert exc.value.code == 1
    assert "stopping: test task stopped: RuntimeError: boom" in capsys.readouterr().err
    recs = [json.loads(x) for p in (tmp_path / "spool" / "events").iterdir() for x in p.read_bytes().splitlines()]
    assert recs[-1]["eventid"] == "honeyfarm.sensor.stop" and "boom" in recs[-1]["error"]
