# SPDX-License-Identifier: MIT
"""The sensor's event loop: asyncio's, with the work of one iteration bounded.

asyncio runs, in one iteration, *every* callback that became ready: every
connection the listening socket accepts (up to the ``backlog`` passed to
``create_server``, 1024 here, per wake-up) and every socket that ``epoll``
reports readable. A flood of 2,000 connections opened — or closed — at once is
then one iteration of 2,000 × ~0.2 ms of asyncssh set-up or tear-down: the loop
(and every other client) stalled for 300–500 ms at a time, measured by
:mod:`honeyfarm.sensor.looplag`. Nothing is slow per connection; the batch is.

Two small, documented adapters over the stock ``SelectorEventLoop`` bound the
batch; neither changes what is done, only how much per iteration:

* :class:`FairEpollSelector` asks ``epoll_wait`` for at most ``max_events``
  events. epoll is level-triggered here, so the sockets it did not report stay
  ready and come first in the next iteration (the kernel moves reported ones to
  the back of its ready list): no event is lost, none starves.
* :class:`SensorEventLoop` accepts at most ``accept_batch`` connections per
  wake-up of a listening socket (asyncio's ``_accept_connection`` loops
  ``backlog`` times); the kernel's listen queue (``listen(1024)`` in
  ``runtime.bind``) holds the rest until the next iteration.

And a closed connection should be freed by reference counting, not left for
the cyclic GC, whose full passes walk every object (40–70 ms of CPU for one
flood's garbage). Three cycles made every flood connection such garbage; the
loop breaks them when the connection is gone: asyncio's transport keeping a
bound method of itself (``_read_ready_cb``), a timer handle kept by the object
it calls back (cleared once the timer has run), and asyncssh's connection
keeping its packet parser (``SELF_REFS``).

``_accept_connection`` is a private method of ``asyncio.selector_events`` (the
same signature in 3.11–3.13); the override only lowers its ``backlog``
argument, and a test checks the loop still accepts a full flood.
"""

from __future__ import annotations

import asyncio
import math
import select as _select
import selectors
from asyncio.selector_events import _SelectorSocketTransport  # type: ignore[attr-defined]
from collections.abc import Callable
from typing import Any

MAX_EVENTS = 32
ACCEPT_BATCH = 8
#: Attributes in which a protocol keeps a bound method of itself, dropped once its connection is
#: lost so reference counting frees it: asyncssh's ``SSHConnection`` keeps its packet parser there
#: (and sets it afresh before any later use, in ``_finish_recv_packet``).
SELF_REFS = ("_recv_handler",)


if hasattr(selectors, "EpollSelector"):

    class FairEpollSelector(selectors.EpollSelector):
        """``EpollSelector`` reporting at most ``max_events`` ready file descriptors per call."""

        def __init__(self, max_events: int = MAX_EVENTS) -> None:
            super().__init__()
            self.max_events = max_events

        def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
            # CPython's EpollSelector.select, with maxevents capped.
            if timeout is None:
                wait = -1.0
            elif timeout <= 0:
                wait = 0.0
            else:
                wait = math.ceil(timeout * 1e3) * 1e-3  # epoll_wait's 1 ms resolution, rounded up
            max_ev = min(max(len(self.get_map()), 1), self.max_events)
            ready: list[tuple[selectors.SelectorKey, int]] = []
            try:
                fd_events = self._selector.poll(wait, max_ev)  # type: ignore[attr-defined]
            except InterruptedError:
                return ready
            for fd, event in fd_events:
                events = 0
                if event & ~_select.EPOLLIN:
                    events |= selectors.EVENT_WRITE
                if event & ~_select.EPOLLOUT:
                    events |= selectors.EVENT_READ
                key = self._key_from_fd(fd)  # type: ignore[attr-defined]
                if key:
                    ready.append((key, events & key.events))
            return ready


class _SocketTransport(_SelectorSocketTransport):  # type: ignore[misc]
    """asyncio's socket transport without its reference cycle.

    ``_SelectorSocketTransport`` keeps a bound method of itself (``_read_ready_cb``)
    and never drops it, so every closed connection is cyclic garbage that only the
    GC's full collections free; with thousands of connections those collections
    walk the whole heap (~120 ms at 2,000 connections, measured). Dropping the
    method once the connection is lost lets reference counting free it at once.
    """

    def _call_connection_lost(self, exc: BaseException | None) -> None:
        protocol = self._protocol
        try:
            super()._call_connection_lost(exc)
        finally:
            self._read_ready_cb = None
            for name in SELF_REFS:
                method = getattr(protocol, name, None)
                if getattr(method, "__self__", None) is protocol:
                    setattr(protocol, name, None)


class _RunOnceTimerHandle(asyncio.TimerHandle):
    """A timer that lets go of its callback once it has run (asyncio never runs a handle twice).

    An object that keeps its own timer (``self._t = loop.call_later(d, self._m)``, as the SSH
    trap's banner delay does) is otherwise a cycle through the handle for as long as it lives.
    """

    __slots__ = ()  # the layout of TimerHandle, so that call_at's handle can take this class

    def _run(self) -> None:
        try:
            super()._run()
        finally:
            self._callback = None
            self._args = None  # type: ignore[assignment]


class SensorEventLoop(asyncio.SelectorEventLoop):
    """``SelectorEventLoop`` whose iterations handle at most ``max_events`` I/O events and
    ``accept_batch`` new connections per listening socket."""

    def __init__(self, max_events: int = MAX_EVENTS, accept_batch: int = ACCEPT_BATCH) -> None:
        selector = FairEpollSelector(max_events) if hasattr(selectors, "EpollSelector") else None
        super().__init__(selector)
        self.accept_batch = accept_batch

    def _accept_connection(
        self, protocol_factory: Any, sock: Any, sslcontext: Any = None, server: Any = None, backlog: int = 100,
        *args: Any, **kwargs: Any,
    ) -> None:  # fmt: skip
        super()._accept_connection(  # type: ignore[misc]
            protocol_factory, sock, sslcontext, server, min(backlog, self.accept_batch), *args, **kwargs
        )

    def call_at(  # type: ignore[override]
        self, when: float, callback: Any, *args: Any, context: Any = None
    ) -> asyncio.TimerHandle:
        timer = super().call_at(when, callback, *args, context=context)
        timer.__class__ = _RunOnceTimerHandle
        return timer

    def _make_socket_transport(
        self, sock: Any, protocol: Any, waiter: Any = None, *, extra: Any = None, server: Any = None
    ) -> Any:
        return _SocketTransport(self, sock, protocol, waiter, extra, server)


def loop_factory(batch: int = MAX_EVENTS) -> Callable[[], asyncio.AbstractEventLoop]:
    """What ``honeyfarm sensor`` runs on: ``batch`` I/O events and ``batch // 4`` accepts per
    iteration (``limits.loop_batch``); 0 = asyncio's stock loop, only to measure the difference."""
    if batch <= 0:
        return asyncio.new_event_loop
    return lambda: SensorEventLoop(batch, max(1, batch // 4))
