# SPDX-License-Identifier: MIT
"""Finite-field Diffie-Hellman without cryptography's deprecated DH API.

cryptography 51 deprecates FFDH ("will be removed in a future release") and
DSA. The SSH trap must still offer what OpenSSH 9.2p1 offers (groups 14/16/18
and group exchange), so it computes DH with Python integers
(``honeyfarm.sensor.traps.ssh.ffdh``). These tests run the real OpenSSH client through
each of those key exchanges against a sensor started with every warning turned
into an error (``PYTHONWARNINGS=error``), so a deprecated call on the sensor's
side would fail the handshake instead of printing a warning.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sensorutil import SSH_OPTS, SensorProc, need, run_sensor

from honeyfarm.sensor.traps.ssh.ffdh import IntDH, pub_is_valid

GROUP14_P = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AACAA68FFFFFFFFFFFFFFFF",
    16,
)


def test_both_sides_agree_on_the_secret() -> None:
    a, b = IntDH(2, GROUP14_P), IntDH(2, GROUP14_P)
    assert a.get_public() != b.get_public()
    assert a.get_shared(b.get_public()) == b.get_shared(a.get_public())
    # the private exponent is OpenSSH-sized, not a full-size one (cost per handshake)
    assert a._x.bit_length() <= 1024


@pytest.mark.parametrize("bad", [0, 1, 2, GROUP14_P - 1, GROUP14_P, GROUP14_P + 5, -3])
def test_degenerate_peer_values_are_refused(bad: int) -> None:
    from asyncssh.misc import ProtocolError

    assert not pub_is_valid(bad, GROUP14_P)
    with pytest.raises(ProtocolError):
        IntDH(2, GROUP14_P).get_shared(bad)


def test_a_power_of_two_is_refused_like_openssh() -> None:
    # dh_pub_is_valid: "more than one bit set", so 2**k (a small-subgroup probe) is rejected.
    assert not pub_is_valid(2**100, GROUP14_P)
    assert pub_is_valid(2**100 + 1, GROUP14_P)


def test_importing_honeyfarm_and_asyncssh_prints_no_warning() -> None:
    # The one import-time warning (asyncssh naming cryptography's deprecated DSA classes) is
    # silenced by name in honeyfarm/__init__.py; anything else would fail here.
    r = subprocess.run(
        [
            sys.executable,
            "-W",
            "error",
            "-c",
            "import honeyfarm, asyncssh, honeyfarm.sensor.traps.ssh.server, honeyfarm.cli",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""


@pytest.fixture(scope="module")
def strict_sensor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SensorProc]:
    os.environ["PYTHONWARNINGS"] = "error"
    try:
        with run_sensor(tmp_path_factory.mktemp("ffdh")) as sp:
            yield sp
    finally:
        del os.environ["PYTHONWARNINGS"]


KEX = [
    "diffie-hellman-group14-sha256",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group-exchange-sha256",
]


@pytest.mark.skipif(need("ssh", "sshpass") is not None, reason=str(need("ssh", "sshpass")))
@pytest.mark.parametrize("kex", KEX)
def test_openssh_client_completes_each_ffdh_kex(strict_sensor: SensorProc, kex: str) -> None:
    argv = [
        "sshpass", "-p", f"ffdh-{kex}", "ssh", *SSH_OPTS, "-p", str(strict_sensor.ssh_port),
        "-o", f"KexAlgorithms={kex}", "root@127.0.0.1", "echo", "kex-ok",
    ]  # fmt: skip
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "kex-ok"
    evs = strict_sensor.wait_for(
        lambda evs: any(e.get("eventid") == "cowrie.client.kex" and kex in json.dumps(e) for e in evs)
    )
    assert evs
    log = (Path(strict_sensor.workdir) / "sensor.log").read_text(errors="replace")
    assert "Warning" not in log, log[-2000:]


# --- the DH worker process (honeyfarm.sensor.traps.ssh.dhworker) -------------------------------------


def _with_worker(coro_fn: Any, **kw: Any) -> Any:
    """Run ``coro_fn(offload)`` with a real worker process running beside it."""
    import asyncio

    from honeyfarm.sensor.traps.ssh.offload import DHOffload

    async def main() -> Any:
        off = DHOffload(**kw)
        runner = asyncio.create_task(off.run())
        try:
            return await coro_fn(off)
        finally:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
            await off.close()

    return asyncio.run(main())


def test_the_worker_computes_the_servers_half_of_the_exchange() -> None:
    client = IntDH(2, GROUP14_P)

    async def go(off: Any) -> tuple[int, int]:
        f, k = await off.server_keys(2, GROUP14_P, client.get_public())
        return int(f), int(k)

    f, k = _with_worker(go)
    assert pub_is_valid(f, GROUP14_P)
    assert client.get_shared(f) == k  # both sides hold the same secret


def test_the_worker_queue_is_bounded_and_skips_clients_that_left() -> None:
    import asyncio

    from honeyfarm.sensor.traps.ssh.offload import OffloadBusy, OffloadError

    e = IntDH(2, GROUP14_P).get_public()

    async def go(off: Any) -> tuple[list[Any], dict[str, Any]]:
        gone = asyncio.ensure_future(off.server_keys(2, GROUP14_P, e, alive=lambda: False))
        tasks = [asyncio.ensure_future(off.server_keys(2, GROUP14_P, e)) for _ in range(3)]
        results = await asyncio.gather(gone, *tasks, return_exceptions=True)
        return results, off.report()

    results, report = _with_worker(go, max_queue=2)
    busy = [r for r in results if isinstance(r, OffloadBusy)]
    assert len(busy) == 2, results  # two waited (one of them for a client already gone), two dropped
    assert isinstance(results[0], OffloadError), results
    assert report["dropped_busy"] == 2 and report["skipped_gone"] == 1 and report["jobs"] == 1, report


def test_a_worker_that_dies_mid_job_is_replaced_and_the_job_retried() -> None:
    import asyncio
    import os
    import signal

    from honeyfarm.sensor.traps.ssh.offload import DHOffload

    e = IntDH(2, GROUP14_P).get_public()

    async def main() -> dict[str, Any]:
        off = DHOffload()

        async def supervised() -> None:  # what guard.Supervisor.restart does, without the backoff
            while True:
                try:
                    await off.run()
                except Exception:
                    await asyncio.sleep(0.05)

        runner = asyncio.create_task(supervised())
        try:
            await off.server_keys(2, GROUP14_P, e)  # the worker is up
            assert off._proc is not None
            os.kill(off._proc.pid, signal.SIGKILL)
            f, _ = await off.server_keys(2, GROUP14_P, e)
            assert pub_is_valid(f, GROUP14_P)
            return off.report()
        finally:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
            await off.close()

    report = asyncio.run(main())
    assert report["worker_starts"] == 2 and report["jobs"] == 2 and report["failed"] == 0, report
