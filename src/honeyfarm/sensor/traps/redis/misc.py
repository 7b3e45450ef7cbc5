# SPDX-License-Identifier: MIT
"""Read-only commands scanners run to size a server up (nmap's redis-info, recon scripts).

Each answers as an idle 7.0.15 standalone server without cluster, pub/sub or ACL users
(the real answers, measured by ``tests/test_trap_redis.py``).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from honeyfarm.sensor.traps.redis import resp
from honeyfarm.sensor.traps.redis.commands import command, err

if TYPE_CHECKING:
    from honeyfarm.sensor.traps.redis.server import RedisSession

NO_CLUSTER = "ERR This instance has cluster support disabled"


@command("pubsub|channels", "pubsub|shardchannels", "slowlog|get", "latency|latest", "function|list")
def _empty(s: RedisSession, args: list[bytes]) -> bytes:
    return resp.array([])


@command("pubsub|numpat", "slowlog|len", "wait")
def _zero(s: RedisSession, args: list[bytes]) -> bytes:
    return resp.integer(0)


@command("pubsub|numsub", "pubsub|shardnumsub")
def _numsub(s: RedisSession, args: list[bytes]) -> bytes:
    return resp.array(x for a in args[2:] for x in (resp.bulk(a), resp.integer(0)))


@command("readonly", "readwrite", "asking")
def _no_cluster(s: RedisSession, args: list[bytes]) -> bytes:
    return err(NO_CLUSTER)


@command("reset")
def _reset(s: RedisSession, args: list[bytes]) -> bytes:
    s.c.db = 0
    s.c.name = b""
    s.monitoring = False
    s.channels.clear()
    return resp.simple("RESET")


@command("subscribe", "psubscribe", "ssubscribe")
def _subscribe(s: RedisSession, args: list[bytes]) -> bytes:
    kind = args[0].decode("latin-1").lower()
    out = []
    for ch in args[1:65]:
        if ch not in s.channels and len(s.channels) < 64:
            s.channels.add(ch)
        out.append(resp.array([resp.bulk(kind), resp.bulk(ch), resp.integer(len(s.channels))]))
    return b"".join(out)


@command("unsubscribe", "punsubscribe", "sunsubscribe")
def _unsubscribe(s: RedisSession, args: list[bytes]) -> bytes:
    kind = args[0].decode("latin-1").lower()
    chans = args[1:65] or sorted(s.channels)
    if not chans:
        return resp.array([resp.bulk(kind), resp.NULL, resp.integer(0)])
    out = []
    for ch in chans:
        s.channels.discard(ch)
        out.append(resp.array([resp.bulk(kind), resp.bulk(ch), resp.integer(len(s.channels))]))
    return b"".join(out)


SUBSCRIBED_OK = frozenset(
    ["subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "ping", "quit", "reset"]
)


def subscribed_check(s: RedisSession, name: str) -> bytes | None:
    """In RESP2 a subscribed connection runs only the pub/sub commands (PING answers differently)."""
    if not s.channels:
        return None
    if name == "ping":
        return resp.array([resp.bulk("pong"), resp.bulk(b"")])
    if name not in SUBSCRIBED_OK:
        return err(
            f"ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
            "are allowed in this context"
        )
    return None


@command("acl|users")
def _acl_users(s: RedisSession, args: list[bytes]) -> bytes:
    return resp.bulks(["default"])


@command("acl|list")
def _acl_list(s: RedisSession, args: list[bytes]) -> bytes:
    need = s.c.box.config.get("requirepass", "")
    secret = f"#{hashlib.sha256(need.encode('utf-8', 'surrogateescape')).hexdigest()}" if need else "nopass"
    return resp.bulks([f"user default on {secret} ~* &* +@all"])


def cluster_command(name: str) -> bytes | None:
    """Every CLUSTER subcommand but HELP fails the same way on a standalone server."""
    if name.startswith("cluster|") and name != "cluster|help":
        return err(NO_CLUSTER)
    return None
