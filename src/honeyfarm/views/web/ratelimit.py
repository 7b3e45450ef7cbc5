# SPDX-License-Identifier: MIT
"""Failed logins per client address, so a dashboard on the network cannot be brute-forced at line rate.

Only requests that *present* credentials and get them wrong count: a browser's
first request carries none (it asks only after the 401), and that is not a
guess. After ``limit`` failures within ``window`` seconds an address gets 429
with ``Retry-After`` (whatever it sends) until the oldest of those failures
ages out; a success clears its record. Memory is bounded: at most
``max_clients`` addresses are tracked, the least recently failing forgotten
first. It runs on the event loop only (the ASGI guard), so it needs no lock.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class AuthFailures:
    def __init__(
        self,
        limit: int = 10,
        window: float = 60.0,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.max_clients = max_clients
        self.clock = clock
        self._fails: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, client: str) -> int | None:
        """Seconds until ``client`` may try again, or ``None`` when it is not locked out."""
        if not self.limit:
            return None
        q = self._fails.get(client)
        if q is None:
            return None
        now = self.clock()
        while q and q[0] <= now - self.window:
            q.popleft()
        if not q:
            del self._fails[client]
            return None
        if len(q) < self.limit:
            return None
        return max(1, math.ceil(q[0] + self.window - now))

    def failed(self, client: str) -> None:
        if not self.limit:
            return
        q = self._fails.pop(client, None) or deque(maxlen=self.limit)
        q.append(self.clock())
        self._fails[client] = q  # re-inserted last: the most recently failing are evicted last
        while len(self._fails) > self.max_clients:
            self._fails.popitem(last=False)

    def succeeded(self, client: str) -> None:
        self._fails.pop(client, None)

    def __len__(self) -> int:
        return len(self._fails)
