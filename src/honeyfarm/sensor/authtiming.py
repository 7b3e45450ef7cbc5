# SPDX-License-Identifier: MIT
"""How long a real Debian 12 sshd takes to say "wrong password", so the trap takes as long.

Two mechanisms set the wait, both copied here:

* **Linux-PAM's failure delay.** pam_unix asks for 2 s (``pam_fail_delay``);
  libpam 1.5.2 (Debian 12, built without ``getrandom`` in ``pam_delay.c``)
  stretches it to ``base × (0.5 + mean of three draws)`` from a linear
  congruential generator seeded with ``time(NULL)`` when ``pam_authenticate``
  starts. So the delay ranges over 1–3 s, and every attempt that starts within
  the same wall-clock second gets *the same* delay — on two parallel
  connections too. :func:`pam_fail_delay` is that function, bit for bit.
* **sshd's per-user minimum time** (``auth2.c``: ``user_specific_delay`` and
  ``ensure_minimum_time_since``, OpenSSH 9.2p1). Every failed request but
  ``none`` is answered no sooner than ``d × 2^k`` seconds after it arrived, where
  ``d`` = 5 ms + (first 4 bytes of SHA-512(``"<timing_secret><user>"``)) / 10¹² s
  (5–9.3 ms) and ``k`` is the smallest power that passes the time already spent
  (PAM's delay plus the password hash). The failure therefore lands on a
  per-user grid: e.g. exactly 2.369 s or 4.738 s for one user, 1.648 s or
  3.296 s for another, never in between. Users that do not exist are treated
  the same way (their own ``d`` from their name, the same PAM delay); only the
  ~40 ms of yescrypt hashing is missing for them.

sshd's ``timing_secret`` is a hash of its host keys and config, so it survives
restarts; the trap keeps a random secret in ``<spool>/state/timing_secret`` for
the same effect (or a per-process one when it has no state directory).

Measured on Debian 12 (OpenSSH 9.2p1-2+deb12u10, libpam 1.5.2-6+deb12u1):
the delays of 36 failed passwords matched this model to within 3 ms.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import secrets
from pathlib import Path

from honeyfarm.lake.durable import atomic_write_bytes

MIN_FAIL_DELAY = 0.005  # auth2.c MIN_FAIL_DELAY_SECONDS
_LCG_A, _LCG_C = 1664525, 1013904223  # pam_delay.c N1, N2
# pam_unix verifying a yescrypt hash (Debian 12's default) took 38-41 ms on the test machine;
# a name that is no account costs ~1-2 ms (sshd feeds PAM a bad password, nothing is hashed).
HASH_SECONDS = (0.036, 0.042)
NO_HASH_SECONDS = (0.0007, 0.0025)


def pam_fail_delay(base: float, seed: int) -> float:
    """Linux-PAM 1.5.2 ``_pam_compute_delay``: ``base`` seconds stretched to 0.5–1.5×.

    ``seed`` is ``time(NULL)`` when ``pam_authenticate`` started (or any 32-bit number).
    """
    usec = int(base * 1_000_000)
    seed &= 0xFFFFFFFF
    total = 0.0
    for _ in range(3):
        seed = (_LCG_A * seed + _LCG_C) & 0xFFFFFFFF
        total += (seed // 10) % 1_000_000
    scale = total / 3.0 / 1e6 - 0.5
    return int(usec * (1.0 + scale)) / 1_000_000 if usec > 0 else 0.0


def hash_seconds(exists: bool, rng: random.Random | None = None) -> float:
    """Time pam_unix spends before it answers: hashing the password, for a real account."""
    lo, hi = HASH_SECONDS if exists else NO_HASH_SECONDS
    return (rng or random).uniform(lo, hi)


class SSHDTiming:
    """sshd's per-user failure grid for one sensor (one ``timing_secret``)."""

    FILE = "timing_secret"

    def __init__(self, secret: int) -> None:
        self.secret = secret & 0xFFFFFFFFFFFFFFFF
        self._cache: dict[str, float] = {}

    @classmethod
    def load(cls, state_dir: Path | None) -> SSHDTiming:
        """The sensor's secret from ``state_dir``, created on first use; per process without one."""
        if state_dir is None:
            return cls(secrets.randbits(64))
        path = state_dir / cls.FILE
        try:
            return cls(int(path.read_text(encoding="ascii").strip(), 16))
        except (OSError, ValueError):
            pass
        secret = secrets.randbits(64)
        with contextlib.suppress(OSError):  # read-only or full disk: the secret holds for this run
            atomic_write_bytes(path, f"{secret:016x}\n".encode())
        return cls(secret)

    def user_delay(self, user: str) -> float:
        """``user_specific_delay``: 5 ms + 0–4.3 ms, fixed per user name."""
        d = self._cache.get(user)
        if d is None:
            # snprintf("%llu%s") into a 512-byte buffer: a C string, cut at NUL and at 511 bytes.
            raw = (str(self.secret).encode() + user.encode("utf-8", "replace").split(b"\0")[0])[:511]
            peek = int.from_bytes(hashlib.sha512(raw).digest()[:4], "big")
            d = MIN_FAIL_DELAY + peek / 1e12
            if len(self._cache) < 4096:
                self._cache[user] = d
        return d

    def failure_wait(self, user: str, elapsed: float) -> float:
        """``ensure_minimum_time_since``: seconds from the request to the failure reply.

        ``elapsed`` is the time the request already took (PAM's delay and the hash).
        """
        wait = self.user_delay(user)
        for _ in range(64):  # bounded: 5 ms × 2^64 is far past any elapsed time
            if wait >= elapsed:
                break
            wait *= 2
        return wait

    def reply_after(self, user: str, exists: bool, ok: bool, pam_delay: float, spent: float = 0.0) -> float:
        """Seconds from a password request to sshd's answer.

        A success costs the hash only; a failure also PAM's ``pam_delay``, rounded up to
        the user's grid. ``spent`` is time the trap already took.
        """
        hashed = hash_seconds(exists) + spent
        return hashed if ok else self.failure_wait(user, hashed + pam_delay)
