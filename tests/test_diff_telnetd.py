# SPDX-License-Identifier: MIT
"""The Telnet trap against the real daemons it imitates, byte for byte (issue 11, item 7).

Debian persona: Debian 12's ``inetutils-telnetd`` + ``/bin/login``; ``busybox`` persona: BusyBox
1.35 ``telnetd`` + BusyBox ``login``; both real daemons run on loopback (``telnetprobe``). Each
probe runs against the real daemon and the trap at once and the server byte streams are
compared after normalising the kernel release and the pty number (the trap's persona takes this
host's name, so prompts need no normalising). Delays: the real ones are checked for their order
of magnitude, the trap's are scaled down by ``sensor.telnet.fail_delay`` and checked for shape.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sensorutil import SensorProc, run_sensor
from telnetprobe import TEST_PASSWORD, TEST_USER, Daemon, Proxy, Record, Step, missing, normalise, probe, real_daemons
from test_sensor_clients import Spawn

pytestmark = pytest.mark.skipif(missing() is not None, reason=str(missing()))

HOST = socket.gethostname()
TRAP_FAIL_DELAY = 0.3
BAD = b"nosuch\r\n"  # a name that is no account on either side


def trap_overrides(flavor: str) -> dict[str, dict[str, Any]]:
    return {
        "sensor.persona": {"flavor": flavor, "hostname": HOST, "kernel_release": os.uname().release},
        "sensor.ssh": {"enabled": False},
        "sensor.telnet": {"fail_delay": TRAP_FAIL_DELAY},
    }


@pytest.fixture(scope="module")
def real() -> Iterator[tuple[Daemon, Daemon]]:
    with real_daemons() as daemons:
        yield daemons


@pytest.fixture(scope="module")
def traps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SensorProc, SensorProc]]:
    with (
        run_sensor(tmp_path_factory.mktemp("deb"), trap_overrides("debian")) as deb,
        run_sensor(tmp_path_factory.mktemp("bb"), trap_overrides("busybox")) as bb,
    ):
        yield deb, bb


def both(port_real: int, port_trap: int, mode: str, steps: list[Step], **kw: Any) -> tuple[Record, Record]:
    async def go() -> tuple[Record, Record]:
        r, t = await asyncio.gather(probe(port_real, mode, steps, **kw), probe(port_trap, mode, steps, **kw))
        return r, t

    return asyncio.run(go())


def same(r: Record, t: Record) -> bytes:
    real, trap = normalise(r.data), normalise(t.data)
    assert trap == real, f"\nreal: {real!r}\ntrap: {trap!r}"
    assert (r.eof is None) == (t.eof is None), (r.eof, t.eof)
    return real


def ports(real: tuple[Daemon, Daemon], traps: tuple[SensorProc, SensorProc], flavor: str) -> tuple[int, int]:
    i = 0 if flavor == "debian" else 1
    return real[i].port, traps[i].telnet_port


ONE_FAILURE: list[Step] = [(b"login: ", BAD), (b"Password: ", b"bad-pw\r\n"), (b"incorrect", b"")]


# --- negotiation -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("flavor", ["debian", "busybox"])
def test_a_silent_client_sees_the_same_opening(real: Any, traps: Any, flavor: str) -> None:
    r, t = both(*ports(real, traps, flavor), "silent", [], quiet=1.5, total=3)
    data = same(r, t)
    if flavor == "debian":  # inetutils waits for the answers before it says anything more
        assert data == b"\xff\xfb%\xff\xfb&\xff\xfd\x18\xff\xfd \xff\xfd#\xff\xfd'\xff\xfd$"
    else:
        assert data == b"\xff\xfd\x01\xff\xfd\x1f\xff\xfb\x01\xff\xfb\x03\r\r\n" + f"{HOST} login: ".encode()
    assert b"\xff\xfd\x1f" + b"login:" not in data  # Cowrie's preamble


@pytest.mark.parametrize("flavor", ["debian", "busybox"])
@pytest.mark.parametrize("mode", ["wont", "mirai"])
def test_bots_see_the_same_negotiation_prompts_and_failure(real: Any, traps: Any, flavor: str, mode: str) -> None:
    r, t = both(*ports(real, traps, flavor), mode, ONE_FAILURE, quiet=0.5)
    data = same(r, t)
    if flavor == "debian":
        assert b"\r\nLinux <release> (localhost) (pts/N)\r\n\r\n" in data
        assert data.endswith(b"\r\n\r\nLogin incorrect\r\n" + f"{HOST} login: ".encode())
    else:
        assert data.endswith(b"Password: \r\nLogin incorrect\r\n" + f"{HOST} login: ".encode())
    # Shape of the failure delay: the real one about 3 s, the trap's the configured one.
    real_wait = r.when(b"incorrect") - r.when(b"Password: ")
    trap_wait = t.when(b"incorrect") - t.when(b"Password: ")
    assert 1.4 < real_wait < 5.0, real_wait  # pam_faildelay's 3 s, stretched 0.5-1.5x by Linux-PAM
    assert 0.5 * TRAP_FAIL_DELAY <= trap_wait < 1.5 * TRAP_FAIL_DELAY + 0.5, trap_wait


@pytest.mark.parametrize("flavor", ["debian", "busybox"])
def test_the_telnet_client_negotiates_the_same_both_ways(real: Any, traps: Any, flavor: str) -> None:
    """telnet(1) negotiates TTYPE/TSPEED/NEW-ENVIRON/LINEMODE: both directions must match."""
    logs = []
    for port in ports(real, traps, flavor):
        logs.append(_telnet_client(port))
    (rs, rc), (ts, tc) = logs
    assert normalise(ts) == normalise(rs)
    assert tc == rc  # the client answered the trap exactly as it answered the real daemon


def _telnet_client(target: int) -> tuple[bytes, bytes]:
    loop = asyncio.new_event_loop()
    proxy = Proxy(target)
    loop.run_until_complete(proxy.__aenter__())
    th = threading.Thread(target=loop.run_forever, daemon=True)
    th.start()
    cli = Spawn(["telnet", "127.0.0.1", str(proxy.port)], winsize=(24, 80), env={"TERM": "xterm", "PATH": os.defpath})
    try:
        cli.expect("login: ")
        cli.send("nosuch\r")
        cli.expect("Password: ")
        cli.send("bad-pw\r")
        cli.expect("login: ", timeout=20)
        time.sleep(0.3)
    finally:
        cli.proc.kill()
        cli.proc.wait(5)
        time.sleep(0.2)
        loop.call_soon_threadsafe(loop.stop)
        th.join(5)
        loop.run_until_complete(proxy.__aexit__())
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0.05))
        loop.close()
    return proxy.stream("S"), proxy.stream("C")


# --- AYT, ^C, empty names, CR NUL ------------------------------------------------------------------------


@pytest.mark.parametrize("flavor", ["debian", "busybox"])
def test_are_you_there_is_answered_like_the_real_daemon(real: Any, traps: Any, flavor: str) -> None:
    steps: list[Step] = [(b"login: ", b"\xff\xf6"), (0.3, b"ad\xff\xf6"), (0.3, b"\r\n"), (b"Password: ", b"\xff\xf6")]
    r, t = both(*ports(real, traps, flavor), "mirai", steps, quiet=0.6)
    data = same(r, t)
    yes = b"\r\n[Yes]\r\n" if flavor == "debian" else b"\xff\xff\xf1"  # BusyBox's IAC NOP, its IAC escaped
    assert data.count(yes) == 3


@pytest.mark.parametrize("flavor", ["debian", "busybox"])
@pytest.mark.parametrize("keys", [b"abc\x03", b"ab\xff\xf4"], ids=["ctrl-c", "iac-ip"])
def test_ctrl_c_at_the_login_prompt(real: Any, traps: Any, flavor: str, keys: bytes) -> None:
    steps: list[Step] = [(b"login: ", keys), (0.3, b"\r\n")]
    r, t = both(*ports(real, traps, flavor), "mirai", steps, quiet=0.6)
    if flavor == "debian":
        # ^C and IAC IP alike: SIGINT kills login(1) and telnetd hangs up. Whether the echo and
        # telnetd's flush marker (``\xf2^C``) get out first is a race in the real daemon.
        prompt = f"{HOST} login: ".encode()
        assert r.eof is not None and t.eof is not None
        heads, tails = zip(*(normalise(x.data).rpartition(prompt)[::2] for x in (r, t)), strict=True)
        assert heads[0] == heads[1]
        tail_re = re.compile(rb"(ab)?(\xf2(\^C)?)?")
        assert all(tail_re.fullmatch(x) for x in tails), tails
        return
    data = same(r, t)
    if keys.endswith(b"\x03"):  # the tty echoes ^C (the unsent echo of "abc" is flushed), login dies
        assert data.endswith(f"{HOST} login: ^C".encode()) and r.eof is not None
    else:  # BusyBox telnetd ignores IAC IP
        assert data.endswith(f"{HOST} login: ab\r\nPassword: ".encode())


def test_busybox_empty_names_re_prompt(real: Any, traps: Any) -> None:
    steps: list[Step] = [(b"login: ", b"\r\n"), (0.3, b"\r\x00"), (0.3, b"xy\r\x00")]
    r, t = both(*ports(real, traps, "busybox"), "mirai", steps, quiet=0.6)
    prompt = f"{HOST} login: "
    assert same(r, t).endswith(f"{prompt}\r\n{prompt}\r\n{prompt}xy\r\nPassword: ".encode())


def test_busybox_ctrl_c_at_the_password_prompt_is_a_failed_try(real: Any, traps: Any) -> None:
    steps: list[Step] = [(b"login: ", BAD), (b"Password: ", b"x\x03"), (b"incorrect", b"")]
    r, t = both(*ports(real, traps, "busybox"), "mirai", steps, quiet=0.5)
    assert same(r, t).endswith(b"Password: \r\nLogin incorrect\r\n" + f"{HOST} login: ".encode())


def test_debian_empty_name_still_asks_for_a_password(real: Any, traps: Any) -> None:
    steps: list[Step] = [(b"login: ", b"\r\x00"), (b"Password: ", b"\r\x00"), (b"incorrect", b"")]
    r, t = both(*ports(real, traps, "debian"), "mirai", steps, quiet=0.5)
    assert same(r, t).endswith(b"\r\nPassword: \r\n\r\nLogin incorrect\r\n" + f"{HOST} login: ".encode())


# --- tries and timeout -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("flavor", "tries"), [("debian", 5), ("busybox", 3)])
def test_tries_before_hang_up(real: Any, traps: Any, flavor: str, tries: int) -> None:
    steps: list[Step] = []
    for _ in range(tries):
        steps += [(b"login: ", BAD), (b"Password: ", b"bad-pw\r\n")]
    r, t = both(*ports(real, traps, flavor), "mirai", steps, quiet=5.0, total=40)
    data = same(r, t)
    assert r.eof is not None and t.eof is not None
    assert data.count(b"Login incorrect") == tries
    if flavor == "debian":
        assert data.endswith(b"\r\nLogin incorrect\r\nMaximum number of tries exceeded (5)\r\n")
    else:
        assert data.endswith(b"Login incorrect\r\n")


def test_login_timeout_text(real: Any, tmp_path: Path) -> None:
    """login(1)'s and BusyBox login's 60 s alarm: the real ones once, the trap with a 3 s timeout."""
    over = {flavor: trap_overrides(flavor) for flavor in ("debian", "busybox")}
    for flavor, o in over.items():
        o["sensor.telnet"]["login_timeout"] = 3.0
        (tmp_path / flavor).mkdir()
    with (
        run_sensor(tmp_path / "debian", over["debian"]) as deb,
        run_sensor(tmp_path / "busybox", over["busybox"]) as bb,
    ):

        async def go() -> list[Record]:
            kw: dict[str, Any] = {"quiet": 75.0, "total": 75.0}
            return await asyncio.gather(
                probe(real[0].port, "mirai", [], **kw),
                probe(real[1].port, "mirai", [], **kw),
                probe(deb.telnet_port, "mirai", [], **kw),
                probe(bb.telnet_port, "mirai", [], **kw),
            )

        rd, rb, td, tb = asyncio.run(go())
    for r, t in ((rd, td), (rb, tb)):
        assert normalise(t.data).replace(b" 3 seconds", b" 60 seconds") == normalise(r.data)
        assert r.eof is not None and 55 < r.eof < 70
        assert t.eof is not None and 2.5 < t.eof < 6
    assert rd.data.endswith(b"\r\nLogin timed out after 60 seconds.\r\n")
    assert rb.data.endswith(b"\r\r\nLogin timed out after 60 seconds\r\r\n")


def test_debian_successful_login_prints_the_motd_then_a_prompt(real: Any, traps: Any) -> None:
    """The real account (sshtest, made by the fixture) and the trap's root: the same road to the shell."""

    async def go() -> tuple[Record, Record]:
        def steps(user: bytes, pw: bytes) -> list[Step]:
            return [(b"login: ", user + b"\r\n"), (b"Password: ", pw + b"\r\n")]

        return await asyncio.gather(
            probe(real[0].port, "mirai", steps(TEST_USER.encode(), TEST_PASSWORD.encode()), quiet=1.0),
            probe(traps[0].telnet_port, "mirai", steps(b"root", b"any-pw-1"), quiet=1.0),
        )

    r, t = asyncio.run(go())
    motd = (
        b"\r\n\r\nDebian GNU/Linux comes with ABSOLUTELY NO WARRANTY, to the extent\r\npermitted by applicable law.\r\n"
    )
    for rec, prompt in ((r, b"$ "), (t, b"# ")):
        after = rec.data.partition(b"Password: ")[2]
        assert after.startswith(b"\r\nLinux " + HOST.encode() + b" "), after
        assert motd in after and after.endswith(prompt), after
