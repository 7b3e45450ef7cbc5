# SPDX-License-Identifier: MIT
"""The sensor's own responsiveness: the DH worker and the loop-lag report, started and stopped together.

Kept out of ``runtime.py`` so the runtime only says *when* (start, stop) and
this module says *what*: the supervised worker of :mod:`honeyfarm.sensor.traps.ssh.offload`
attached to the SSH trap's finite-field key exchanges, the ticker of
:mod:`honeyfarm.sensor.looplag`, and the ``honeyfarm.sensor.looplag`` event
every ``limits.loop_lag_report_interval`` seconds and once more at stop.
"""

from __future__ import annotations

from honeyfarm.sensor.context import SensorContext
from honeyfarm.sensor.gcpace import GCPacer
from honeyfarm.sensor.guard import Supervisor, say
from honeyfarm.sensor.looplag import LoopLag
from honeyfarm.sensor.traps.ssh import ffdh
from honeyfarm.sensor.traps.ssh.offload import DHOffload

EVENT = "honeyfarm.sensor.looplag"


class Health:
    def __init__(self, ctx: SensorContext, supervisor: Supervisor) -> None:
        limits = ctx.cfg.limits
        self.ctx = ctx
        self.supervisor = supervisor
        self.interval = limits.loop_lag_report_interval
        self.lag = LoopLag(warn_ms=limits.loop_lag_warn_ms, warn=say)
        self.gc = GCPacer(self.lag.busy)
        offload = ctx.cfg.ssh.enabled and limits.kex_offload_queue > 0
        self.offload: DHOffload | None = DHOffload(max_queue=limits.kex_offload_queue) if offload else None

    def start(self) -> None:
        """Before the traps accept: the DH worker (a handshake never waits for it to exist)."""
        ffdh.use_offload(self.offload)
        if self.offload is not None:
            # A worker that keeps dying within a minute of its start stops the sensor loudly.
            self.supervisor.restart("DH worker", self.offload.run)

    def serving(self) -> None:
        """Once the traps accept: the ticker (start-up work such as host-key generation is not a stall).

        The GC pacer (:mod:`honeyfarm.sensor.gcpace`) freezes the start-up heap and puts full
        collections off while the ticker sees the loop busy.
        """
        self.lag.start()
        self.lag.take()
        self.gc.start()
        self.supervisor.every("loop lag report", self.interval, self.report)
        self.supervisor.every("gc pacer", 0.5, self.gc.tick)

    def report(self) -> None:
        extra = self.lag.take()
        if self.offload is not None:
            extra["kex_offload"] = self.offload.report()
        extra["gc"] = self.gc.report()
        self.ctx.events.emit(EVENT, **extra)

    async def close(self) -> None:
        """After the traps closed and the supervised tasks were cancelled: last report, worker gone."""
        if self.offload is not None:
            await self.offload.close()
            ffdh.use_offload(None)
        self.lag.stop()
        self.gc.stop()
        self.report()
