# SPDX-License-Identifier: MIT
"""How late the sensor's event loop runs: the number that says whether a probe can stall it.

Every connection of both traps shares one asyncio loop, so any step that holds
it (a big modular exponentiation, a slow write) delays every other client: an
8192-bit group exchange used to freeze SSH and Telnet for a minute. The
symptom is visible from inside: a timer due every ``interval`` seconds fires
late by as long as the loop was busy. :class:`LoopLag` keeps such a timer,
records each lateness in a fixed log-scale histogram (O(1) memory however long
the sensor runs) plus the exact worst value, and hands out a report per
interval for the ``honeyfarm.sensor.looplag`` event. A stall of ``S`` seconds
shows as a lateness between ``S - interval`` and ``S``; the default 10 ms tick
costs a few microseconds a hundred times a second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

#: Upper bounds (ms) of the histogram buckets; the last bucket is open-ended.
BUCKETS_MS: tuple[float, ...] = (
    1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000, 2000, 5000, 10000,
)  # fmt: skip


def _label(i: int) -> str:
    return f"le_{BUCKETS_MS[i]:g}" if i < len(BUCKETS_MS) else f"gt_{BUCKETS_MS[-1]:g}"


class LagStats:
    """Lateness samples of one report interval: exact max, histogram, percentiles from the histogram."""

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS_MS) + 1)
        self.samples = 0
        self.max_ms = 0.0
        self.total_ms = 0.0

    def add(self, ms: float) -> None:
        i = 0
        while i < len(BUCKETS_MS) and ms > BUCKETS_MS[i]:
            i += 1
        self.counts[i] += 1
        self.samples += 1
        self.total_ms += ms
        self.max_ms = max(self.max_ms, ms)

    def percentile(self, q: float) -> float:
        """Upper bound (ms) of the bucket holding the ``q`` quantile (conservative), capped at the max."""
        if not self.samples:
            return 0.0
        need = q * self.samples
        seen = 0
        for i, n in enumerate(self.counts):
            seen += n
            if seen >= need:
                return min(BUCKETS_MS[i], self.max_ms) if i < len(BUCKETS_MS) else self.max_ms
        return self.max_ms  # pragma: no cover

    def report(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "max_ms": round(self.max_ms, 2),
            "mean_ms": round(self.total_ms / self.samples, 3) if self.samples else 0.0,
            "p50_ms": self.percentile(0.50),
            "p99_ms": self.percentile(0.99),
            "hist_ms": {_label(i): n for i, n in enumerate(self.counts) if n},
        }


class LoopLag:
    """A ticker on the running loop that measures its own lateness.

    ``warn`` is called (at most once per ``warn_every`` seconds, with the number of
    stalls held back) when one lateness passes ``warn_ms``.
    """

    def __init__(
        self,
        interval: float = 0.01,
        warn_ms: float = 0.0,
        warn: Callable[[str], None] | None = None,
        warn_every: float = 10.0,
    ) -> None:
        self.interval = interval
        self.warn_ms = warn_ms
        self.warn = warn
        self.warn_every = warn_every
        self.current = LagStats()
        self.current_busy = LagStats()
        self.worst_ms = 0.0  # since start
        self.worst_busy_ms = 0.0
        self.stalls = 0  # latenesses over warn_ms since start
        self._held = 0
        self._last_warn = -1e18
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._due = 0.0
        self._cpu = 0.0
        self._since = time.monotonic()
        self._recent_max = 0.0  # since the last busy() call
        self._recent_n = 0
        self._recent_since = self._since

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._due = self._loop.time() + self.interval
        self._cpu = time.thread_time()
        self._handle = self._loop.call_at(self._due, self._tick)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _tick(self) -> None:
        loop = self._loop
        assert loop is not None
        now = loop.time()
        cpu = time.thread_time()
        ms = max(0.0, (now - self._due) * 1000.0)
        # The part of the lateness the loop spent working (its thread's CPU time since the last
        # tick), as opposed to waiting for a CPU the rest of the machine was using.
        busy_ms = min(ms, (cpu - self._cpu) * 1000.0)
        self._cpu = cpu
        self.current.add(ms)
        self.current_busy.add(busy_ms)
        self.worst_busy_ms = max(self.worst_busy_ms, busy_ms)
        self._recent_n += 1
        self._recent_max = max(self._recent_max, ms)
        if ms > self.worst_ms:
            self.worst_ms = ms
        if self.warn_ms and ms > self.warn_ms:
            self._stalled(ms)
        self._due = now + self.interval
        self._handle = loop.call_at(self._due, self._tick)

    def _stalled(self, ms: float) -> None:
        self.stalls += 1
        mono = time.monotonic()
        if self.warn is None or mono - self._last_warn < self.warn_every:
            self._held += 1
            return
        more = f" ({self._held} more stalls over {self.warn_ms:g} ms since the last line)" if self._held else ""
        self._last_warn, self._held = mono, 0
        self.warn(f"event loop stalled for {ms:.0f} ms{more}")

    def busy(self, late_ms: float = 10.0, min_ratio: float = 0.6) -> bool:
        """Whether, since the last call, a tick was over ``late_ms`` late or under ``min_ratio`` of the
        ticks expected ran (the loop had no idle moment): the moment to put off optional work."""
        now = time.monotonic()
        expected = (now - self._recent_since) / self.interval
        busy = self._recent_max > late_ms or self._recent_n < min_ratio * expected
        self._recent_max, self._recent_n, self._recent_since = 0.0, 0, now
        return busy

    def take(self) -> dict[str, Any]:
        """The report of the interval since the last call (then start a new one)."""
        now = time.monotonic()
        out = {
            "interval": round(now - self._since, 3),
            **self.current.report(),
            "worst_ms": round(self.worst_ms, 2),
            "stalls": self.stalls,
            "busy_max_ms": round(self.current_busy.max_ms, 2),
            "busy_p99_ms": self.current_busy.percentile(0.99),
            "busy_worst_ms": round(self.worst_busy_ms, 2),
        }
        self.current = LagStats()
        self.current_busy = LagStats()
        self._since = now
        return out
