# SPDX-License-Identifier: MIT
"""Failed-password timing: the trap against a real Debian 12 sshd, both started by this test.

What sshd does (OpenSSH 9.2p1 ``auth2.c``, Linux-PAM 1.5.2 ``pam_delay.c``; see
``honeyfarm.sensor.authtiming``): pam_unix's 2 s failure delay is stretched to 1-3 s,
then sshd answers no sooner than ``d·2^k`` after the request, where ``d`` (5-9.3 ms) is
fixed per user name by a per-host secret. So every user's failures land on a doubling
grid of its own (e.g. 2.369 s or 4.738 s, never in between); a name that is no account
gets the same treatment with its own ``d``.

Method. Two connections per user (an account, root, and a name that is no account)
to each server, all at once, each sending six wrong passwords; asyncssh's client asks
for the next password when a failure arrives, so the interval between two requests is
one failure's delay (plus loopback round trips). The trap runs with the real 2 s PAM
delay: nothing is scaled. For every delay ``v`` the base ``b = v / 2^k`` is taken with
``k`` such that ``b`` is in [5, 10) ms. Then:

1. Grid: for each user, every ``b`` agrees with the user's median within 1% (sshd:
   ~0.1%, the rest is CPU contention) and the median lies in sshd's 5-9.3 ms; every
   delay lies in 1-6 s.
2. Told apart? The secret-free feature an attacker has is where a delay falls
   relative to the user's grid: ``phi = log2(b / median b)``, in octaves, rounded to
   1/50 (1.4%, finer than jitter across the Internet lets anyone resolve). A 1-nearest-
   neighbour classifier, leave-one-out over the pooled sshd + trap samples (ties count
   half), must be right at most 75% of the time (chance: 50%). Fed the delays of the
   model this replaced (pam ±25% plus 5-9 ms, simulated), the same classifier is right
   ~92% of the time (at least 85% is required): the check can fail.

Absolute values differ by design (another secret, so other grids), as between two real
hosts. Runtime ~25 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import random
import statistics
import time
from collections.abc import Iterator
from typing import Any

import asyncssh
import pytest
from sensorutil import RealSSHD, SensorProc, run_real_sshd, run_sensor, sshd_available

pytestmark = pytest.mark.skipif(sshd_available() is not None, reason=str(sshd_available()))

INVALID = "nosuchuser7"


class _WrongPasswords(asyncssh.SSHClient):
    """Answers every password request with a new wrong password and notes when it was asked."""

    def __init__(self, times: list[float]) -> None:
        self.times = times

    def password_auth_requested(self) -> str:
        self.times.append(time.monotonic())
        return f"wrong-{len(self.times)}-x7Q"


async def _delays(port: int, user: str) -> list[float]:
    times: list[float] = []
    with contextlib.suppress(asyncssh.Error, OSError):
        async with asyncio.timeout(60):
            conn = await asyncssh.connect(
                "127.0.0.1",
                port,
                username=user,
                known_hosts=None,
                client_keys=None,
                agent_path=None,
                preferred_auth="password",
                client_factory=lambda: _WrongPasswords(times),
            )
            conn.close()
    times.append(time.monotonic())  # the last failure: sshd hangs up after MaxAuthTries
    return [b - a for a, b in itertools.pairwise(times)]


async def _measure(targets: dict[str, tuple[int, list[str]]]) -> dict[str, dict[str, list[float]]]:
    jobs = [(name, user) for name, (_, users) in targets.items() for user in users for _ in range(2)]
    results = await asyncio.gather(*(_delays(targets[name][0], user) for name, user in jobs))
    out: dict[str, dict[str, list[float]]] = {name: {} for name in targets}
    for (name, user), delays in zip(jobs, results, strict=True):
        out[name].setdefault(user, []).extend(delays)
    return out


def base_of(v: float) -> float:
    """The grid base ``b = v / 2^k`` in [5, 10) ms."""
    b = v
    while b >= 0.010:
        b /= 2
    while b < 0.005:
        b *= 2
    return b


def features(per_user: dict[str, list[float]]) -> list[float]:
    """Where each delay falls relative to its user's grid, in octaves, rounded to 1/50."""
    out: list[float] = []
    for delays in per_user.values():
        bases = [base_of(v) for v in delays]
        med = statistics.median(bases)
        for b in bases:
            phi = math.log2(b / med)
            phi -= round(phi)  # an octave away is on the grid too
            out.append(round(phi * 50) / 50)
    return out


def nn_accuracy(a: list[float], b: list[float]) -> float:
    """Leave-one-out 1-nearest-neighbour accuracy telling sample ``a`` from ``b`` (ties count half)."""
    pooled = [(x, 0) for x in a] + [(x, 1) for x in b]
    score = 0.0
    for i, (x, label) in enumerate(pooled):
        others = [(abs(x - y), lab) for j, (y, lab) in enumerate(pooled) if j != i]
        best = min(d for d, _ in others)
        near = [lab for d, lab in others if d <= best + 1e-12]
        score += sum(1 for lab in near if lab == label) / len(near)
    return score / len(pooled)


def old_model(per_user_counts: dict[str, int], seed: int = 11) -> dict[str, list[float]]:
    """The delays of the model this replaced: ``2 s × U(0.75, 1.25) + U(5, 9) ms``."""
    rng = random.Random(seed)
    return {
        u: [2.0 * rng.uniform(0.75, 1.25) + rng.uniform(0.005, 0.009) for _ in range(n)]
        for u, n in per_user_counts.items()
    }


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RealSSHD, SensorProc]]:
    overrides: dict[str, dict[str, Any]] = {
        "sensor.ssh": {"auth_fail_delay": 2.0},
        "sensor.credentials": {"policy": "one-password"},
    }
    with (
        run_real_sshd(tmp_path_factory.mktemp("sshd")) as sshd,
        run_sensor(tmp_path_factory.mktemp("trap"), overrides) as trap,
    ):
        yield sshd, trap


@pytest.fixture(scope="module")
def measured(servers: tuple[RealSSHD, SensorProc]) -> dict[str, dict[str, list[float]]]:
    sshd, trap = servers
    return asyncio.run(
        _measure(
            {
                "sshd": (sshd.port, [sshd.user, "root", INVALID]),
                "trap": (trap.ssh_port, ["admin", "root", INVALID]),
            }
        )
    )


def test_failures_land_on_a_per_user_doubling_grid(measured: dict[str, dict[str, list[float]]]) -> None:
    for server, per_user in measured.items():
        for user, delays in per_user.items():
            assert len(delays) >= 8, (server, user, delays)
            assert all(1.0 <= v <= 6.0 for v in delays), (server, user, delays)
            bases = [base_of(v) for v in delays]
            med = statistics.median(bases)
            assert 0.0049 <= med <= 0.0094, (server, user, med)
            assert all(abs(b / med - 1) < 0.01 for b in bases), (server, user, sorted(delays))


def test_each_user_has_its_own_grid(measured: dict[str, dict[str, list[float]]]) -> None:
    for server, per_user in measured.items():
        medians = sorted(statistics.median(base_of(v) for v in d) for d in per_user.values())
        # Three 32-bit hashes: equal bases to 0.1% would be a one-in-a-thousand coincidence.
        assert all(b / a - 1 > 0.001 for a, b in itertools.pairwise(medians)), (server, medians)


def test_nearest_neighbour_cannot_tell_the_trap_from_sshd(measured: dict[str, dict[str, list[float]]]) -> None:
    real, ours = features(measured["sshd"]), features(measured["trap"])
    acc = nn_accuracy(real, ours)
    assert acc <= 0.75, (acc, sorted(real), sorted(ours))
    # The same classifier on the model this replaced (20 simulated samples of the same size): told apart.
    counts = {u: len(d) for u, d in measured["trap"].items()}
    old = statistics.mean(nn_accuracy(real, features(old_model(counts, seed))) for seed in range(20))
    assert old >= 0.85, old
