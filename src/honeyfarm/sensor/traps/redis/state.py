# SPDX-License-Identifier: MIT
"""What a connection sees: a :class:`Box` (the 'server': 16 databases of strings, the CONFIG
view, replication) and its own :class:`Client` state (selected db, name, counters).

A real server is one state for every client, and the classic attacks rely on it: the 2015
authorized_keys recipe and most worm scripts run each command with its own ``redis-cli``, so
CONFIG SET dir in one connection must hold for the SAVE in the next. Here connections from one
source address share a box (``state_per_address``), boxes of different addresses never meet (an
attacker never sees another's keys), and everything is capped: keys and bytes per box
(``max_keys``, ``max_keyspace_bytes``), bytes over all boxes and buffered input together
(``max_total_bytes``; past them writes answer redis' OOM error), boxes kept (``max_addresses``,
least recently used first, after ``address_ttl``), scripts, names.
"""

from __future__ import annotations

import gzip
import itertools
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from honeyfarm.sensor.traps.redis.config import RedisConfig
    from honeyfarm.sensor.traps.redis.server import RedisTrap

DATABASES = 16
OOM = "OOM command not allowed when used memory > 'maxmemory'."


def data_file(name: str) -> bytes:
    return (resources.files("honeyfarm.sensor.traps.redis") / "data" / name).read_bytes()


def load_config_defaults() -> dict[str, str]:
    """``CONFIG GET *`` of the real 7.0.15, in its order (name -> value)."""
    rows = gzip.decompress(data_file("config.tsv.gz")).decode().splitlines()
    return dict(r.split("\t", 1) for r in rows if "\t" in r)


@dataclass
class Budget:
    """Bytes held by the trap over all connections (keys kept and input buffered)."""

    limit: int
    used: int = 0


class Keyspace:
    """16 databases of ``key -> (value, expire_at or None)``, with a size budget."""

    def __init__(self, max_keys: int, max_bytes: int, budget: Budget) -> None:
        self.dbs: list[dict[bytes, tuple[bytes, float | None]]] = [{} for _ in range(DATABASES)]
        self.max_keys = max_keys
        self.max_bytes = max_bytes
        self.budget = budget
        self.bytes = 0
        self.count = 0
        self.changes = 0

    def _expire(self, db: int, key: bytes) -> None:
        item = self.dbs[db].get(key)
        if item is not None and item[1] is not None and item[1] <= time.monotonic():
            self.delete(db, key)

    def get(self, db: int, key: bytes) -> tuple[bytes, float | None] | None:
        self._expire(db, key)
        return self.dbs[db].get(key)

    def fits(self, db: int, key: bytes, value: bytes) -> bool:
        old = self.dbs[db].get(key)
        grow = len(key) + len(value) - (len(key) + len(old[0]) if old else 0)
        if self.bytes + grow > self.max_bytes or self.budget.used + grow > self.budget.limit:
            return False
        return old is not None or self.count < self.max_keys

    def set(self, db: int, key: bytes, value: bytes, expire_at: float | None) -> None:
        self.delete(db, key, count_change=False)
        self.dbs[db][key] = (value, expire_at)
        self.bytes += len(key) + len(value)
        self.budget.used += len(key) + len(value)
        self.count += 1
        self.changes += 1

    def delete(self, db: int, key: bytes, count_change: bool = True) -> bool:
        old = self.dbs[db].pop(key, None)
        if old is None:
            return False
        self.bytes -= len(key) + len(old[0])
        self.budget.used -= len(key) + len(old[0])
        self.count -= 1
        self.changes += count_change
        return True

    def keys(self, db: int) -> list[bytes]:
        for k in list(self.dbs[db]):
            self._expire(db, k)
        return list(self.dbs[db])

    def flush(self, db: int | None = None) -> None:
        for i in range(DATABASES) if db is None else [db]:
            for k in list(self.dbs[i]):
                self.delete(i, k)

    def values(self) -> list[bytes]:
        return [v for db in self.dbs for v, _e in db.values()]


@dataclass
class Box:
    """The server state of one source address (or of one connection)."""

    keys: Keyspace
    config: dict[str, str]
    last_save: float
    master: tuple[str, int] | None = None
    repl_status: str = "down"
    repl_offset: int = 0
    modules: list[str] = field(default_factory=list)
    scripts: dict[str, bytes] = field(default_factory=dict)
    pushed: set[str] = field(default_factory=set)  # dir/dbfilename a rogue master wrote a payload to
    fetched_urls: set[str] = field(default_factory=set)  # payload URLs fetched for this address
    users: int = 0  # connections using it now
    kept: bool = False  # in Boxes.by_ip (else flushed when its last connection ends)
    last_used: float = field(default_factory=time.monotonic)


@dataclass
class Client:
    """One connection's view: its box, and what redis keeps per client."""

    trap: RedisTrap
    id: int
    addr: str
    laddr: str
    local_port: int
    box: Box
    started: float = field(default_factory=time.time)
    db: int = 0
    name: bytes = b""
    authed: bool = False
    calls: dict[str, tuple[int, int]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    hits: int = 0
    misses: int = 0
    last_cmd: str = "NULL"
    quitting: bool = False

    def count(self, name: str, failed: bool) -> None:
        if name in self.calls or len(self.calls) < 300:
            calls, fails = self.calls.get(name, (0, 0))
            self.calls[name] = (calls + 1, fails + failed)

    def client_line(self) -> str:
        """One ``CLIENT LIST`` line, as 7.0 writes it."""
        age = int(time.time() - self.started)
        name = self.name.decode("latin-1")
        return (
            f"id={self.id} addr={self.addr} laddr={self.laddr} fd={7 + self.id % 40} name={name} age={age} "
            f"idle=0 flags=N db={self.db} sub=0 psub=0 ssub=0 multi=-1 qbuf=26 qbuf-free=20448 argv-mem=10 "
            f"multi-mem=0 rbs=16384 rbp=16384 obl=0 oll=0 omem=0 tot-mem=37658 events=r cmd={self.last_cmd} "
            "user=default redir=-1 resp=2\n"
        )


class Boxes:
    """The boxes of the source addresses seen lately, least recently used first."""

    SWEEP = 16  # boxes looked at per connection for expiry (bounded work)

    def __init__(self, cfg: RedisConfig, budget: Budget, defaults: dict[str, str], started: float) -> None:
        self.cfg = cfg
        self.budget = budget
        self.defaults = defaults
        self.started = started
        self.by_ip: OrderedDict[str, Box] = OrderedDict()

    def _new(self, port: int) -> Box:
        view = dict(self.defaults)
        view["port"] = str(port)
        keys = Keyspace(self.cfg.max_keys, self.cfg.max_keyspace_bytes, self.budget)
        return Box(keys, view, last_save=self.started)

    def open(self, ip: str, port: int) -> Box:
        now = time.monotonic()
        self._sweep(now)
        box = self.by_ip.get(ip) if self.cfg.state_per_address else None
        if box is None:
            box = self._new(port)
            if self.cfg.state_per_address and len(self.by_ip) < self.cfg.max_addresses:
                self.by_ip[ip] = box
                box.kept = True
        else:
            self.by_ip.move_to_end(ip)
        box.users += 1
        box.last_used = now
        return box

    def release(self, ip: str, box: Box) -> None:
        box.users -= 1
        box.last_used = time.monotonic()
        if box.kept and ip in self.by_ip:
            self.by_ip.move_to_end(ip)
        elif box.users <= 0:
            box.keys.flush()  # its bytes leave the budget with it

    def _sweep(self, now: float) -> None:
        """Forget idle boxes past their TTL, or the least recently used ones past ``max_addresses``."""
        for ip in list(itertools.islice(self.by_ip, self.SWEEP)):
            box = self.by_ip[ip]
            full = len(self.by_ip) >= self.cfg.max_addresses
            if box.users > 0 or (not full and now - box.last_used < self.cfg.address_ttl):
                continue
            del self.by_ip[ip]
            box.kept = False
            box.keys.flush()
