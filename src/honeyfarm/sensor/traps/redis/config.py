# SPDX-License-Identifier: MIT
"""``[sensor.redis]``: the Redis trap (a Debian 12 ``redis-server`` 7.0.15 left open to the world).

Every size an attacker controls has a cap here; connections per address are capped for all
traps at once by ``[sensor.limits]`` (``max_per_ip``, ``max_connections``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from honeyfarm.sensor.trap import TrapConfig

MiB = 1024 * 1024


class RedisConfig(TrapConfig):
    listen: list[str] = Field(default_factory=lambda: ["127.0.0.1:6379"], description="`host:port` addresses.")
    requirepass: str = Field(
        "", description="As `requirepass` in redis' config file: empty = no password (what attackers look for)."
    )
    protected_configs: bool = Field(
        True,
        description="As `enable-protected-configs yes`: CONFIG SET dir/dbfilename succeed (the cron-write "
        "attack proceeds). false answers as Debian's default (`can't set protected config`).",
    )
    module_command: bool = Field(
        True,
        description="As `enable-module-command yes`: MODULE LOAD is allowed (and fails like a missing file "
        "unless a rogue master pushed it). false answers as Debian's default (`MODULE command not allowed`).",
    )
    max_bulk_bytes: Annotated[int, Field(ge=1024, le=512 * MiB)] = Field(
        1 * MiB,
        description="Longest bulk string read (the real server allows 512 MiB); longer ones get redis' "
        "`invalid bulk length` protocol error and the connection is closed.",
    )
    max_array_len: Annotated[int, Field(ge=8, le=1024 * 1024)] = Field(
        4096, description="Most arguments of one command (redis: 2^31-1)."
    )
    max_query_bytes: Annotated[int, Field(ge=64 * 1024)] = Field(
        2 * MiB, description="Unparsed input buffered per connection (redis' client-query-buffer-limit is 1 GiB)."
    )
    state_per_address: bool = Field(
        True,
        description="Connections from one source address share one server state (keys, CONFIG, replication), "
        "as all clients of a real server do: the classic attacks run each command with its own redis-cli. "
        "false: every connection starts from a fresh server.",
    )
    max_addresses: Annotated[int, Field(ge=1)] = Field(
        1024, description="Source addresses whose state is kept; the least recently used is forgotten first."
    )
    address_ttl: Annotated[float, Field(gt=0)] = Field(
        3600.0, description="Seconds an address's state is kept after its last connection ends."
    )
    max_keys: Annotated[int, Field(ge=1)] = Field(
        1000, description="Keys kept per address; past it (or `max_keyspace_bytes`) writes answer OOM."
    )
    max_keyspace_bytes: Annotated[int, Field(ge=1024)] = Field(
        1 * MiB, description="Bytes of keys and values kept per address."
    )
    max_total_bytes: Annotated[int, Field(ge=1024 * 1024)] = Field(
        32 * MiB,
        description="Keys kept and input buffered over all addresses; past it writes answer OOM and "
        "connections holding more than 64 KiB of input are closed (as redis' maxmemory-clients).",
    )
    idle_timeout: Annotated[float, Field(gt=0)] = Field(
        300.0, description="Close a connection silent this long (redis' `timeout` is 0 = never)."
    )
    max_commands: Annotated[int, Field(ge=1)] = Field(
        100_000, description="Commands per connection before it is closed (flood guard)."
    )
    max_logged_commands: Annotated[int, Field(ge=0)] = Field(
        1000, description="Commands of one connection logged as `redis.command.input` (the rest are counted)."
    )
    replication: bool = Field(
        True,
        description="On SLAVEOF/REPLICAOF connect to the named master (through the download address policy) "
        "and capture its full-resync payload (a rogue master's module) into the content store.",
    )
    max_replication_bytes: Annotated[int, Field(ge=1024)] = Field(
        16 * MiB, description="Largest replication payload kept (more is cut off, `truncated`)."
    )
    replication_connect_timeout: Annotated[float, Field(gt=0)] = Field(
        10.0, description="TCP connect time limit to a master (seconds)."
    )
    replication_timeout: Annotated[float, Field(gt=0)] = Field(
        60.0, description="Whole handshake-and-transfer time limit per master (seconds)."
    )
