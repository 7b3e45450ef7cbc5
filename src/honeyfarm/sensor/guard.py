# SPDX-License-Identifier: MIT
"""Keeping the sensor alive and its log quiet under abuse.

A sensor runs for months unattended, so two things must never happen: a
background task (fsync, usage refresh, refused-connection report, shipper)
dying silently — asyncio's "Task exception was never retrieved" shows up only
when the task is garbage-collected, if ever — and an attacker turning the
sensor's own stderr into a flood (one asyncio warning per write to a closed
socket filled 273 MB in 100 s). :class:`Supervisor` restarts failing tasks with
a backoff and a logged line, or stops the sensor loudly; :class:`QuietLog`
rate-limits library warnings and says how many it held back.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TextIO


def say(msg: str, stream: TextIO | None = None) -> None:
    """One line on stderr, prefixed like every other line the sensor prints."""
    print(f"honeyfarm sensor: {msg}", file=stream or sys.stderr, flush=True)


class QuietLog(logging.Filter):
    """At most ``burst`` records per ``window`` seconds per message; the rest are counted, then summarised."""

    def __init__(self, burst: int = 5, window: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.burst = burst
        self.window = window
        self._clock = clock
        self._start = clock()
        self._seen: dict[str, int] = {}
        self.suppressed = 0

    def _roll(self) -> None:
        if self._clock() - self._start < self.window:
            return
        if self.suppressed:
            top = max(self._seen.items(), key=lambda kv: kv[1])[0]
            say(f"{self.suppressed} more log records held back in {self.window:g} s (most: {top[:120]!r})")
        self._start = self._clock()
        self._seen.clear()
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        self._roll()
        key = str(record.msg)
        n = self._seen[key] = self._seen.get(key, 0) + 1
        if n > self.burst:
            self.suppressed += 1
            return False
        return True

    def flush(self) -> None:
        self._clock = _far_future(self._clock)
        self._roll()


def _far_future(clock: Callable[[], float]) -> Callable[[], float]:
    return lambda: clock() + 1e9


def quiet_library_logs(burst: int = 5, window: float = 10.0) -> QuietLog:
    """Rate-limit the loggers an attacker can make chatty (asyncio's transport warnings, asyncssh)."""
    flt = QuietLog(burst, window)
    for name in ("asyncio", "asyncssh"):
        logging.getLogger(name).addFilter(flt)
    return flt


def unquiet_library_logs(flt: QuietLog) -> None:
    flt.flush()
    for name in ("asyncio", "asyncssh"):
        logging.getLogger(name).removeFilter(flt)


class Supervisor:
    """Background tasks that are restarted on error (with a logged line) or stop the sensor loudly."""

    def __init__(self, tasks: set[asyncio.Task[Any]], on_fatal: Callable[[str], None], max_backoff: float = 60.0):
        self.tasks = tasks
        self.on_fatal = on_fatal
        self.max_backoff = max_backoff
        self.failures: dict[str, int] = {}

    def _failed(self, name: str, exc: BaseException) -> float:
        n = self.failures[name] = self.failures.get(name, 0) + 1
        delay: float = min(self.max_backoff, 0.5 * 2.0 ** min(n - 1, 10))
        if n <= 3 or n % 100 == 0:  # the first failures, then one line in a hundred
            say(f"{name} failed ({type(exc).__name__}: {exc}); retry {n} in {delay:g} s")
        return delay

    def every(self, name: str, seconds: float, fn: Callable[[], Any]) -> asyncio.Task[None]:
        """Call ``fn`` every ``seconds``; on error retry with a doubling delay, never give up."""

        async def loop() -> None:
            delay = seconds
            while True:
                await asyncio.sleep(delay)
                try:
                    fn()
                except Exception as exc:
                    delay = max(seconds, self._failed(name, exc))
                    continue
                if self.failures.pop(name, 0):
                    say(f"{name} works again")
                delay = seconds

        return self.spawn(name, loop())

    def restart(self, name: str, factory: Callable[[], Awaitable[None]], max_restarts: int = 5) -> asyncio.Task[None]:
        """Run ``factory()``; restart it when it raises, stop the sensor after ``max_restarts`` failures in a row."""

        async def loop() -> None:
            while True:
                started = time.monotonic()
                try:
                    await factory()
                    return
                except Exception as exc:
                    if time.monotonic() - started > 60.0:  # it ran a while: not a failure "in a row"
                        self.failures.pop(name, None)
                    delay = self._failed(name, exc)
                    if self.failures[name] > max_restarts:
                        raise
                    await asyncio.sleep(delay)

        return self.spawn(name, loop())

    def spawn(self, name: str, coro: Awaitable[None]) -> asyncio.Task[None]:
        """A task whose unexpected end (an exception) stops the sensor with a message, never in silence."""

        async def wrap() -> None:
            await coro

        task = asyncio.create_task(wrap(), name=f"honeyfarm-{name}")
        self.tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self.tasks.discard(t)
            if t.cancelled():
                return
            exc = t.exception()
            if exc is not None:
                self.on_fatal(f"{name} stopped: {type(exc).__name__}: {exc}")

        task.add_done_callback(done)
        return task
