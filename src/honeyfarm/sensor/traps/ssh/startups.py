# SPDX-License-Identifier: MIT
"""Which new SSH connections the trap takes: sshd's MaxStartups, then the sensor's caps.

sshd has no per-address cap. It counts its unauthenticated connections (its
"startups") and, past ``MaxStartups start:rate:full`` (Debian's default
10:30:100), closes a new connection unanswered with a probability that rises
linearly from ``rate``% to 100% at ``full`` (``should_drop_connection`` in
sshd.c). A hard per-address cut at 32 is a tell a scanner finds by opening
connections until one fails, so the SSH trap drops as sshd does and keeps a
per-address cap only as a flood guard set above ``full`` (``ssh.max_per_ip``).
The sensor-wide ``limits.max_connections`` still applies to all traps.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from honeyfarm.sensor.context import ConnectionLimiter


@dataclass(frozen=True)
class MaxStartups:
    begin: int
    rate: int
    full: int

    @classmethod
    def parse(cls, spec: str) -> MaxStartups:
        """``"10:30:100"``, or ``"10"`` (drop every connection past 10), as sshd's option."""
        parts = [int(p) for p in spec.split(":")]
        if len(parts) == 1:
            return cls(parts[0], 100, parts[0])
        begin, rate, full = parts
        if not (0 < rate <= 100 and begin <= full):
            raise ValueError(f"MaxStartups {spec!r}: need 0 < rate <= 100 and start <= full")
        return cls(begin, rate, full)

    def should_drop(self, startups: int, rng: random.Random | None = None) -> bool:
        """sshd.c's ``should_drop_connection`` (integer arithmetic as in C)."""
        if startups < self.begin:
            return False
        if startups >= self.full or self.rate == 100:
            return True
        p = 100 - self.rate
        p *= startups - self.begin
        p //= self.full - self.begin
        p += self.rate
        return (rng or random).randrange(100) < p


class SSHAdmission:
    """Admits SSH connections: MaxStartups on unauthenticated ones, then the flood guards."""

    def __init__(self, limiter: ConnectionLimiter, max_startups: str, max_per_ip: int) -> None:
        self.limiter = limiter
        self.startups_spec = MaxStartups.parse(max_startups)
        self.max_per_ip = max_per_ip
        self.startups = 0
        self.per_ip: Counter[str] = Counter()

    def admit(self, ip: str) -> bool:
        """Take a new connection (counted as a startup until it authenticates) or refuse it."""
        lim = self.limiter
        reason = ""
        if self.startups_spec.should_drop(self.startups):
            reason = "max_startups"
        elif lim.total >= lim.max_total:
            reason = "max_connections"
        elif self.per_ip[ip] >= self.max_per_ip:
            reason = "max_per_ip"
        if reason:
            # Counted into the sensor's periodic honeyfarm.sensor.refused report.
            lim.refused += 1
            lim.refused_reasons[reason] += 1
            if ip in lim.refused_ips or len(lim.refused_ips) < lim.MAX_REFUSED_IPS:
                lim.refused_ips[ip] += 1
            return False
        lim.total += 1
        self.per_ip[ip] += 1
        self.startups += 1
        return True

    def authenticated(self) -> None:
        """A connection logged in: no longer a startup (sshd's child closes its startup pipe)."""
        self.startups -= 1

    def release(self, ip: str, was_startup: bool) -> None:
        self.limiter.total -= 1
        if was_startup:
            self.startups -= 1
        self.per_ip[ip] -= 1
        if self.per_ip[ip] <= 0:
            del self.per_ip[ip]
