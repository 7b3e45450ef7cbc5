# SPDX-License-Identifier: MIT
"""Command dispatch as ``processCommand`` does it, and the string commands on the keyspace.

The command table (names, arities, flags, first key) is the real 7.0.15's ``COMMAND`` output,
so every one of its 240 commands and 126 subcommands is known, checked for arity and answered
with the real error texts; the commands attackers and scanners use are implemented, the others
answer as they would on an empty database. Nothing is ever run: a value is only stored.
"""

from __future__ import annotations

import gzip
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import translate
from typing import TYPE_CHECKING

from honeyfarm.sensor.traps.redis import resp
from honeyfarm.sensor.traps.redis.state import OOM, data_file

if TYPE_CHECKING:
    from honeyfarm.sensor.traps.redis.server import RedisSession

Handler = Callable[["RedisSession", list[bytes]], bytes]
HANDLERS: dict[str, Handler] = {}

NOT_INT = "ERR value is not an integer or out of range"
SYNTAX = "ERR syntax error"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
MAX_PATTERN = 256


@dataclass(frozen=True)
class Spec:
    arity: int
    flags: frozenset[str]
    first_key: int


def _load_table() -> dict[str, Spec]:
    table: dict[str, Spec] = {}
    for row in gzip.decompress(data_file("commands.tsv.gz")).decode().splitlines():
        name, arity, flags, first = row.split("\t")
        table[name] = Spec(int(arity), frozenset(f for f in flags.split(",") if f), int(first))
    return table


TABLE = _load_table()
CONTAINERS = frozenset(n.split("|")[0] for n in TABLE if "|" in n)


def command(*names: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        for n in names:
            HANDLERS[n] = fn
        return fn

    return deco


def err(text: str) -> bytes:
    return resp.error(text)


def to_int(raw: bytes) -> int | None:
    try:
        s = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    if not s or s != s.strip() or s.startswith("+") or (s.lstrip("-").startswith("0") and s not in ("0",)):
        return None
    try:
        v = int(s)
    except ValueError:
        return None
    return v if -(2**63) <= v < 2**63 else None


def show(raw: bytes, limit: int = 128) -> str:
    """An argument as redis prints it with ``%.128s`` (bytes kept, text cut)."""
    return raw[:limit].split(b"\x00", 1)[0].decode("utf-8", "surrogateescape")


def unknown_command(args: list[bytes]) -> str:
    shown = ""
    for a in args[1:]:
        if len(shown.encode("utf-8", "surrogateescape")) >= 128:
            break
        room = 128 - len(shown.encode("utf-8", "surrogateescape"))
        shown += f"'{show(a, room)}' "
    return f"ERR unknown command '{show(args[0])}', with args beginning with: {shown}"


def resolve(args: list[bytes]) -> tuple[str, Spec] | str:
    """The command's full name and spec, or the error text redis answers instead of running it."""
    name = args[0].decode("latin-1").lower()
    spec = TABLE.get(name)
    if spec is None:
        return unknown_command(args)
    if name in CONTAINERS and len(args) >= 2:
        sub = f"{name}|{args[1].decode('latin-1').lower()}"
        sub_spec = TABLE.get(sub)
        if sub_spec is None:
            return f"ERR unknown subcommand '{show(args[1])}'. Try {name.upper()} HELP."
        name, spec = sub, sub_spec
    n = len(args)
    if (spec.arity > 0 and spec.arity != n) or n < -spec.arity:
        return f"ERR wrong number of arguments for '{name}' command"
    return name, spec


def fallback(s: RedisSession, name: str, spec: Spec, args: list[bytes]) -> bytes:
    """A real command not emulated: what it answers on a database without such keys."""
    c = s.c
    if spec.first_key > 0 and len(args) > spec.first_key and c.box.keys.get(c.db, args[spec.first_key]) is not None:
        return err(WRONGTYPE)
    if "write" in spec.flags:
        return resp.integer(1 if "denyoom" in spec.flags else 0)
    base = name.split("|")[0]
    if base.endswith(("range", "members", "getall", "keys", "vals", "inter", "union", "diff", "randmember")):
        return resp.array([])
    if base.startswith(("s", "h", "z", "l", "x", "pf", "bit", "geo")) and "fast" in spec.flags:
        return resp.integer(0)
    return resp.NULL


# --- keyspace ----------------------------------------------------------------------------------


def _store(s: RedisSession, key: bytes, value: bytes, expire_at: float | None) -> bytes | None:
    """Store a string (an OOM error when the connection's budget is spent)."""
    c = s.c
    if not c.box.keys.fits(c.db, key, value):
        return err(OOM)
    c.box.keys.set(c.db, key, value, expire_at)
    return None


def _string(s: RedisSession, key: bytes) -> bytes | None:
    item = s.c.box.keys.get(s.c.db, key)
    if item is None:
        s.c.misses += 1
        return None
    s.c.hits += 1
    return item[0]


@command("ping")
def _ping(s: RedisSession, args: list[bytes]) -> bytes:
    if len(args) > 2:
        return err("ERR wrong number of arguments for 'ping' command")
    return resp.bulk(args[1]) if len(args) == 2 else resp.simple("PONG")


@command("echo")
def _echo(s: RedisSession, args: list[bytes]) -> bytes:
    return resp.bulk(args[1])


@command("select")
def _select(s: RedisSession, args: list[bytes]) -> bytes:
    n = to_int(args[1])
    if n is None:
        return err(NOT_INT)
    if not 0 <= n < 16:
        return err("ERR DB index is out of range")
    s.c.db = n
    return resp.OK


@command("set")
def _set(s: RedisSession, args: list[bytes]) -> bytes:
    key, value = args[1], args[2]
    opts = [a.lower() for a in args[3:]]
    expire_at: float | None = None
    nx = xx = get = keepttl = False
    i = 0
    while i < len(opts):
        o = opts[i]
        if o in (b"ex", b"px", b"exat", b"pxat") and i + 1 < len(opts) and expire_at is None and not keepttl:
            n = to_int(args[3 + i + 1])
            if n is None:
                return err(NOT_INT)
            if n <= 0:
                return err("ERR invalid expire time in 'set' command")
            now = time.monotonic()
            wall = time.time()
            secs = {b"ex": n, b"px": n / 1000, b"exat": n - wall, b"pxat": n / 1000 - wall}[o]
            expire_at = now + secs
            i += 2
            continue
        if o == b"nx" and not xx:
            nx = True
        elif o == b"xx" and not nx:
            xx = True
        elif o == b"get":
            get = True
        elif o == b"keepttl" and expire_at is None:
            keepttl = True
        else:
            return err(SYNTAX)
        i += 1
    old = s.c.box.keys.get(s.c.db, key)
    if (nx and old is not None) or (xx and old is None):
        return resp.bulk(old[0] if old else None) if get else resp.NULL
    if keepttl and old is not None:
        expire_at = old[1]
    failed = _store(s, key, value, expire_at)
    if failed:
        return failed
    return resp.bulk(old[0] if old else None) if get else resp.OK


@command("setnx", "setex", "psetex", "getset")
def _set_variants(s: RedisSession, args: list[bytes]) -> bytes:
    name = args[0].lower()
    c = s.c
    if name == b"setnx":
        if c.box.keys.get(c.db, args[1]) is not None:
            return resp.integer(0)
        return _store(s, args[1], args[2], None) or resp.integer(1)
    if name == b"getset":
        old = _string(s, args[1])
        return _store(s, args[1], args[2], None) or resp.bulk(old)
    n = to_int(args[2])
    if n is None:
        return err(NOT_INT)
    if n <= 0:
        return err(f"ERR invalid expire time in '{name.decode()}' command")
    secs = n if name == b"setex" else n / 1000
    return _store(s, args[1], args[3], time.monotonic() + secs) or resp.OK


@command("get")
def _get(s: RedisSession, args: list[bytes]) -> bytes:
    return resp.bulk(_string(s, args[1]))


@command("getdel")
def _getdel(s: RedisSession, args: list[bytes]) -> bytes:
    v = _string(s, args[1])
    s.c.box.keys.delete(s.c.db, args[1])
    return resp.bulk(v)


@command("mget")
def _mget(s: RedisSession, args: list[bytes]) -> bytes:
    return resp.array(resp.bulk(_string(s, k)) for k in args[1:])


@command("mset", "msetnx")
def _mset(s: RedisSession, args: list[bytes]) -> bytes:
    if len(args) % 2 == 0:
        return err(f"ERR wrong number of arguments for '{args[0].decode('latin-1').lower()}' command")
    nx = args[0].lower() == b"msetnx"
    if nx and any(s.c.box.keys.get(s.c.db, k) is not None for k in args[1::2]):
        return resp.integer(0)
    for k, v in zip(args[1::2], args[2::2], strict=True):
        failed = _store(s, k, v, None)
        if failed:
            return failed
    return resp.integer(1) if nx else resp.OK


@command("append")
def _append(s: RedisSession, args: list[bytes]) -> bytes:
    item = s.c.box.keys.get(s.c.db, args[1])
    value = (item[0] if item else b"") + args[2]
    return _store(s, args[1], value, item[1] if item else None) or resp.integer(len(value))


@command("strlen")
def _strlen(s: RedisSession, args: list[bytes]) -> bytes:
    return resp.integer(len(_string(s, args[1]) or b""))


@command("incr", "decr", "incrby", "decrby")
def _incr(s: RedisSession, args: list[bytes]) -> bytes:
    name = args[0].lower()
    by = 1
    if name.endswith(b"by"):
        step = to_int(args[2])
        if step is None:
            return err(NOT_INT)
        by = step
    if name.startswith(b"decr"):
        by = -by
    item = s.c.box.keys.get(s.c.db, args[1])
    cur = to_int(item[0]) if item else 0
    if cur is None:
        return err(NOT_INT)
    new = cur + by
    if not -(2**63) <= new < 2**63:
        return err("ERR increment or decrement would overflow")
    return _store(s, args[1], str(new).encode(), item[1] if item else None) or resp.integer(new)


@command("del", "unlink")
def _del(s: RedisSession, args: list[bytes]) -> bytes:
    return resp.integer(sum(s.c.box.keys.delete(s.c.db, k) for k in args[1:]))


@command("exists")
def _exists(s: RedisSession, args: list[bytes]) -> bytes:
    return resp.integer(sum(s.c.box.keys.get(s.c.db, k) is not None for k in args[1:]))


@command("type")
def _type(s: RedisSession, args: list[bytes]) -> bytes:
    return resp.simple("string" if s.c.box.keys.get(s.c.db, args[1]) is not None else "none")


@command("ttl", "pttl")
def _ttl(s: RedisSession, args: list[bytes]) -> bytes:
    item = s.c.box.keys.get(s.c.db, args[1])
    if item is None:
        return resp.integer(-2)
    if item[1] is None:
        return resp.integer(-1)
    left = max(0.0, item[1] - time.monotonic())
    return resp.integer(round(left * 1000) if args[0].lower() == b"pttl" else round(left))


@command("expire", "pexpire")
def _expire(s: RedisSession, args: list[bytes]) -> bytes:
    n = to_int(args[2])
    if n is None:
        return err(NOT_INT)
    item = s.c.box.keys.get(s.c.db, args[1])
    if item is None:
        return resp.integer(0)
    secs = n if args[0].lower() == b"expire" else n / 1000
    if secs <= 0:
        s.c.box.keys.delete(s.c.db, args[1])
    else:
        s.c.box.keys.set(s.c.db, args[1], item[0], time.monotonic() + secs)
    return resp.integer(1)


@command("persist")
def _persist(s: RedisSession, args: list[bytes]) -> bytes:
    item = s.c.box.keys.get(s.c.db, args[1])
    if item is None or item[1] is None:
        return resp.integer(0)
    s.c.box.keys.set(s.c.db, args[1], item[0], None)
    return resp.integer(1)


@command("rename", "renamenx")
def _rename(s: RedisSession, args: list[bytes]) -> bytes:
    c = s.c
    item = c.box.keys.get(c.db, args[1])
    if item is None:
        return err("ERR no such key")
    if args[0].lower() == b"renamenx" and c.box.keys.get(c.db, args[2]) is not None:
        return resp.integer(0)
    c.box.keys.delete(c.db, args[1])
    c.box.keys.set(c.db, args[2], item[0], item[1])
    return resp.integer(1) if args[0].lower() == b"renamenx" else resp.OK


def glob(pattern: str) -> Callable[[str], bool]:
    """A redis glob as a matcher. Compiled through ``re``'s bounded cache, not fnmatch's 32768-entry
    one (an attacker's distinct patterns must not pile up); longer patterns only match themselves."""
    if pattern == "*":
        return lambda _s: True
    if len(pattern) > MAX_PATTERN:
        return lambda s: s == pattern
    rx = re.compile(translate(pattern), re.S)
    return lambda s: rx.match(s) is not None


def _match(pattern: bytes, key: bytes) -> bool:
    return glob(pattern.decode("latin-1"))(key.decode("latin-1"))


@command("keys")
def _keys(s: RedisSession, args: list[bytes]) -> bytes:
    return resp.bulks(k for k in s.c.box.keys.keys(s.c.db) if _match(args[1], k))


@command("scan")
def _scan(s: RedisSession, args: list[bytes]) -> bytes:
    if to_int(args[1]) is None or (to_int(args[1]) or 0) < 0:
        return err("ERR invalid cursor")
    pattern = b"*"
    rest = args[2:]
    for i in range(0, len(rest), 2):
        opt = rest[i].lower()
        if i + 1 >= len(rest) or opt not in (b"match", b"count", b"type"):
            return err(SYNTAX)
        if opt == b"match":
            pattern = rest[i + 1]
    keys = [k for k in s.c.box.keys.keys(s.c.db) if _match(pattern, k)]
    return resp.array([resp.bulk(b"0"), resp.bulks(keys)])


@command("randomkey")
def _randomkey(s: RedisSession, args: list[bytes]) -> bytes:
    keys = s.c.box.keys.keys(s.c.db)
    return resp.bulk(keys[0] if keys else None)


@command("dbsize")
def _dbsize(s: RedisSession, args: list[bytes]) -> bytes:
    return resp.integer(len(s.c.box.keys.keys(s.c.db)))


@command("flushall", "flushdb")
def _flush(s: RedisSession, args: list[bytes]) -> bytes:
    if len(args) > 2 or (len(args) == 2 and args[1].lower() not in (b"async", b"sync")):
        return err(SYNTAX)
    s.c.box.keys.flush(None if args[0].lower() == b"flushall" else s.c.db)
    return resp.OK


@command("time")
def _time(s: RedisSession, args: list[bytes]) -> bytes:
    now = time.time()
    return resp.bulks([str(int(now)), str(int(now % 1 * 1e6))])


@command("lastsave")
def _lastsave(s: RedisSession, args: list[bytes]) -> bytes:
    return resp.integer(int(s.c.box.last_save))


@command("monitor")
def _monitor(s: RedisSession, args: list[bytes]) -> bytes:
    return resp.OK


@command("debug")
def _debug(s: RedisSession, args: list[bytes]) -> bytes:
    return err(
        'ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run '
        "it from a local connection, otherwise you need to set this option in the configuration file, and "
        "then restart the server."
    )


@command("acl|whoami")
def _whoami(s: RedisSession, args: list[bytes]) -> bytes:
    return resp.bulk(b"default")
