# SPDX-License-Identifier: MIT
"""Full garbage collections when the sensor is calm, not in the middle of a flood.

CPython's cyclic collector stops the world for a full (generation 2) pass over
every tracked object. A sensor holding 2,000 flood connections tracks ~60,000
objects beyond its start-up heap, and the collector's own trigger (a quarter
more long-lived objects than after the last pass) fires exactly then — in the
middle of the burst: 120–380 ms stalls measured by :mod:`honeyfarm.sensor.looplag`,
the largest left once the DH work and the accept batches were bounded.

:class:`GCPacer` keeps the young generations automatic (cheap: at most a few
thousand objects) and takes over the full passes:

* start-up objects are collected once and frozen (``gc.freeze``), so no full
  pass walks the ~50,000 objects of modules and tables that live forever;
* a full pass is *due* after as many young collections as CPython's own
  ``threshold2`` (10); it runs at the next check (every 0.5 s) where the loop
  was not busy (``busy()``: the loop-lag ticker saw a late tick or missed
  ticks), or after ``max_defer`` seconds of continuous load regardless, which
  bounds the garbage a sustained flood can pile up.

The trade: under a flood that never pauses, one full pass every ``max_defer``
seconds instead of several smaller ones, and up to ``max_defer`` seconds of
cyclic garbage held meanwhile.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

NEVER = 1 << 30


class GCPacer:
    def __init__(self, busy: Callable[[], bool], max_defer: float = 30.0, every: int = 10) -> None:
        self.busy = busy
        self.max_defer = max_defer
        self.every = every
        self._saved: tuple[int, int, int] | None = None
        self._due_since: float | None = None
        self.stats: dict[str, Any] = {"full": 0, "deferred": 0, "forced": 0, "max_ms": 0.0, "last_ms": 0.0}

    def start(self) -> None:
        gc.collect()
        gc.freeze()
        t0, t1, t2 = gc.get_threshold()
        self._saved = (t0, t1, t2)
        self.every = self.every or t2
        gc.set_threshold(t0, t1, NEVER)  # young generations stay automatic; full passes are ours

    def stop(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            gc.unfreeze()
            self._saved = None

    def tick(self) -> None:
        """Called every ~0.5 s: run a due full collection unless the loop is busy (up to ``max_defer``)."""
        if gc.get_count()[2] < self.every:
            self._due_since = None
            return
        now = time.monotonic()
        if self._due_since is None:
            self._due_since = now
        forced = now - self._due_since >= self.max_defer
        if self.busy() and not forced:
            self.stats["deferred"] += 1
            return
        t = time.perf_counter()
        gc.collect(2)
        ms = (time.perf_counter() - t) * 1000.0
        self.stats["full"] += 1
        self.stats["forced"] += forced
        self.stats["last_ms"] = round(ms, 1)
        self.stats["max_ms"] = max(self.stats["max_ms"], round(ms, 1))
        self._due_since = None

    def report(self) -> dict[str, Any]:
        return dict(self.stats)
