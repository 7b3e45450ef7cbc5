# SPDX-License-Identifier: MIT
"""Finite-field Diffie-Hellman off the event loop, in one small worker process.

An 8192-bit group exchange (what OpenSSH's client asks for with chacha20 or
aes256) costs two modular exponentiations of ~120 ms each in Python; on the
sensor's single event loop that froze every SSH and Telnet client for a quarter
of a second per handshake, and a few clients asking for it in a row kept the
sensor deaf. sshd never has this problem: each connection has its own process.

So the exponentiations run in a worker process (Python's ``pow`` holds the GIL
for the whole call, so a thread would not help). The design is deliberately
plain:

* one worker, ``python -I .../ssh/dhworker.py`` (a stdlib-only script), started with the sensor
  (after the privilege drop, so it never runs as root) and talking over its
  stdin/stdout in lines of hex: no pickling, no executor threads, and it reads
  nothing an attacker sends except the one integer ``e``, already range-checked;
* one job in flight at a time, in arrival order; a job whose connection went
  away while it waited is dropped before it costs the worker anything;
* a bounded queue (``limits.kex_offload_queue``): past it a handshake is
  dropped the way sshd's MaxStartups drops a connection (closed, no message),
  so a flood of group-exchange requests cannot grow memory or the wait;
* the worker is supervised: if it dies the job in flight is retried once on its
  successor, and the runner raises so :class:`honeyfarm.sensor.guard.Supervisor`
  restarts it (and stops the sensor loudly if it keeps dying);
* on shutdown its stdin is closed (it exits after its current job) and it is
  killed if it has not exited two seconds later.

Precomputing the server's key pair would halve the wait of one handshake but
not the worker's load, and a pair must never be used twice (a scanner that asks
twice would see the same ``f``); it is not done.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from honeyfarm.sensor.traps.ssh import dhworker
from honeyfarm.sensor.traps.ssh.dhworker import EXPONENT_BITS, private_exponent, server_keys

__all__ = ["EXPONENT_BITS", "DHOffload", "OffloadBusy", "OffloadError", "private_exponent", "server_keys"]


class OffloadBusy(Exception):
    """The worker's queue is full: drop this handshake (as sshd's MaxStartups would)."""


class OffloadError(Exception):
    """The worker could not answer in time (stopped, dying, or overloaded for too long)."""


@dataclass
class _Job:
    g: int
    p: int
    e: int
    fut: asyncio.Future[tuple[int, int]]
    alive: Callable[[], bool]
    queued: float = field(default_factory=time.monotonic)
    tries: int = 0


class DHOffload:
    """The sensor side of the worker: a bounded FIFO of DH jobs and the process that runs them."""

    def __init__(self, max_queue: int = 64, timeout: float = 60.0, argv: list[str] | None = None) -> None:
        self.max_queue = max_queue
        self.timeout = timeout
        # The worker runs as a plain script (-I: stdlib only, no site packages): importing it as
        # honeyfarm.sensor.traps.ssh.offload would import the package, pydantic with it (35 MB vs ~10 MB).
        self.argv = argv or [sys.executable, "-I", dhworker.__file__]
        self._jobs: deque[_Job] = deque()
        self._inflight: _Job | None = None
        self._wake = asyncio.Event()
        self._proc: asyncio.subprocess.Process | None = None
        self._seq = 0
        self.closed = False
        self.stats: dict[str, Any] = {
            "jobs": 0,  # answered
            "dropped_busy": 0,  # refused: queue full
            "skipped_gone": 0,  # connection closed before its turn
            "failed": 0,  # timed out or lost with a dying worker
            "worker_starts": 0,
            "max_queue": 0,
            "max_wait_ms": 0.0,
        }

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    def pending(self) -> int:
        return len(self._jobs) + (self._inflight is not None)

    async def server_keys(self, g: int, p: int, e: int, alive: Callable[[], bool] = lambda: True) -> tuple[int, int]:
        """``(f, K)`` computed by the worker; :class:`OffloadBusy` when the queue is full."""
        if self.closed:
            raise OffloadError("the DH worker is stopped")
        if self.pending() >= self.max_queue:
            self.stats["dropped_busy"] += 1
            raise OffloadBusy(f"{self.pending()} handshakes already wait for the DH worker")
        fut: asyncio.Future[tuple[int, int]] = asyncio.get_running_loop().create_future()
        self._jobs.append(_Job(g, p, e, fut, alive))
        self.stats["max_queue"] = max(self.stats["max_queue"], self.pending())
        self._wake.set()
        try:
            return await asyncio.wait_for(fut, self.timeout)
        except TimeoutError:
            self.stats["failed"] += 1
            raise OffloadError(f"no answer from the DH worker in {self.timeout:g} s") from None

    def report(self) -> dict[str, Any]:
        """Counters for the periodic health event (``queued`` is a snapshot)."""
        return {**self.stats, "queued": self.pending(), "max_wait_ms": round(self.stats["max_wait_ms"], 1)}

    async def _next(self) -> _Job:
        while True:
            while self._jobs:
                job = self._jobs.popleft()
                if job.fut.done():
                    continue
                if not job.alive():
                    job.fut.set_exception(OffloadError("the client left before its turn"))
                    self.stats["skipped_gone"] += 1
                    continue
                return job
            self._wake.clear()
            await self._wake.wait()

    async def run(self) -> None:
        """Start one worker and feed it until cancelled; raise when it dies (the supervisor restarts)."""
        proc = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=1 << 20
        )
        self._proc = proc
        self.stats["worker_starts"] += 1
        assert proc.stdin is not None and proc.stdout is not None
        exited = asyncio.ensure_future(proc.wait())  # noticed while idle too, not at the next job
        nxt: asyncio.Future[_Job] | None = None
        try:
            while True:
                nxt = asyncio.ensure_future(self._next())
                await asyncio.wait({nxt, exited}, return_when=asyncio.FIRST_COMPLETED)
                if not nxt.done():
                    nxt.cancel()
                    raise OffloadError(f"the DH worker exited (status {proc.returncode})")
                job = self._inflight = nxt.result()
                nxt = None
                self._seq += 1
                try:
                    proc.stdin.write(b"%d %x %x %x\n" % (self._seq, job.g, job.p, job.e))
                    await proc.stdin.drain()
                    reply = await proc.stdout.readline()
                except OSError:
                    reply = b""
                if not reply.endswith(b"\n"):
                    rc = await _reap(proc)
                    raise OffloadError(f"the DH worker exited (status {rc})")
                self._inflight = None
                self._answer(job, reply)
        finally:
            if nxt is not None and not nxt.cancel() and not nxt.cancelled() and nxt.exception() is None:
                self._jobs.appendleft(nxt.result())  # taken from the queue just as we were stopped
            if self._inflight is not None:
                self._lost(self._inflight)
            exited.cancel()
            await _reap(proc)

    def _lost(self, job: _Job) -> None:
        """The worker died with ``job`` in flight: retry it once on the next worker."""
        self._inflight = None
        job.tries += 1
        if job.tries < 2 and not job.fut.done():
            self._jobs.appendleft(job)
        elif not job.fut.done():
            self.stats["failed"] += 1
            job.fut.set_exception(OffloadError("the DH worker died twice on this job"))

    def _answer(self, job: _Job, reply: bytes) -> None:
        parts = reply.split()
        wait_ms = (time.monotonic() - job.queued) * 1000.0
        self.stats["max_wait_ms"] = max(self.stats["max_wait_ms"], wait_ms)
        if job.fut.done():
            return
        if len(parts) != 3 or parts[0] != b"%d" % self._seq:
            self.stats["failed"] += 1
            job.fut.set_exception(OffloadError(f"bad answer from the DH worker: {reply[:80]!r}"))
            return
        self.stats["jobs"] += 1
        job.fut.set_result((int(parts[1], 16), int(parts[2], 16)))

    async def close(self) -> None:
        """Refuse new jobs, fail the waiting ones, let the worker finish and exit."""
        self.closed = True
        while self._jobs:
            job = self._jobs.popleft()
            if not job.fut.done():
                job.fut.set_exception(OffloadError("the sensor is stopping"))
        if self._proc is not None:
            await _reap(self._proc)


async def _reap(proc: asyncio.subprocess.Process, grace: float = 2.0) -> int:
    """Close the worker's stdin (it exits after its current job); kill it after ``grace`` seconds."""
    if proc.returncode is None:
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    return proc.returncode if proc.returncode is not None else -1
