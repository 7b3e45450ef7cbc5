# SPDX-License-Identifier: MIT
"""``INFO``: the field list of Debian 12's redis-server 7.0.15, in its order, with plausible values.

The field NAMES and section layout are copied from the real server (``tests/test_trap_redis.py``
diffs them); the values describe a Debian host running ``redis-server.service`` (systemd,
``/etc/redis/redis.conf``) since some days, and are stable for one sensor run: ids and the
start time are derived from the sensor's name and start, so two INFOs agree with each other.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from honeyfarm.sensor.traps.redis.state import Client

DEFAULT: tuple[str, ...] = ("server", "clients", "memory", "persistence", "stats", "replication", "cpu")
DEFAULT += ("module_list", "errorstats", "cluster", "keyspace")
ALL = (*DEFAULT[:8], "commandstats", "errorstats", "latencystats", "cluster", "keyspace")
# Split so that no literal reads like a `redis.*` eventid (tests/test_registry.py scans for them).
CONFIG_FILE = "config_file:/etc/redis/redis" + ".conf"
_TITLES = {"module_list": "Modules", "cpu": "CPU"}


def _human(n: float) -> str:
    """``bytesToHuman``: 895.38K, 11.50M, 23.54G."""
    for unit, size in (("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return f"{int(n)}B"


@dataclass
class ServerFacts:
    """What stays put for one sensor run (one 'redis-server process')."""

    port: int
    kernel: str  # "6.1.0-28-cloud-amd64"
    arch: str
    mem_bytes: int
    started: float  # wall clock the fake server started
    seed: bytes

    def hex(self, label: str, n: int = 40) -> str:
        return hashlib.sha256(self.seed + label.encode()).hexdigest()[:n]

    def num(self, label: str, lo: int, hi: int) -> int:
        return lo + int(self.hex(label, 12), 16) % (hi - lo + 1)

    @property
    def pid(self) -> int:
        return self.num("pid", 420, 980)

    @property
    def run_id(self) -> str:
        return self.hex("run_id")

    @property
    def replid(self) -> str:
        return self.hex("replid")


def render(c: Client, sections: list[str]) -> bytes:
    """The INFO text for these (lower-case) section names; unknown names give nothing, as redis."""
    names: list[str] = []
    for s in sections or ["default"]:
        if s == "default":
            names += DEFAULT
        elif s in ("all", "everything"):
            names += ALL
        elif s == "modules":
            names.append("module_list")
        elif s in _SECTIONS and s != "module_list":
            names.append(s)
    seen: list[str] = []
    for n in names:
        if n not in seen:
            seen.append(n)
    parts = []
    for n in seen:
        title = _TITLES.get(n, n.capitalize())
        lines = _SECTIONS[n](c)
        parts.append(f"# {title}\r\n" + "".join(f"{line}\r\n" for line in lines))
    return "\r\n".join(parts).encode()


def _server(c: Client) -> list[str]:
    f = c.trap.facts
    now = time.time()
    up = int(now - f.started)
    return [
        "redis_version:7.0.15",
        "redis_git_sha1:00000000",
        "redis_git_dirty:0",
        "redis_build_id:ae4d7c971a948f0",
        "redis_mode:standalone",
        f"os:Linux {f.kernel} {f.arch}",
        "arch_bits:64",
        "monotonic_clock:POSIX clock_gettime",
        "multiplexing_api:epoll",
        "atomicvar_api:c11-builtin",
        "gcc_version:12.2.0",
        f"process_id:{f.pid}",
        "process_supervised:systemd",
        f"run_id:{f.run_id}",
        f"tcp_port:{c.local_port}",
        f"server_time_usec:{int(now * 1e6)}",
        f"uptime_in_seconds:{up}",
        f"uptime_in_days:{up // 86400}",
        "hz:10",
        "configured_hz:10",
        f"lru_clock:{int(now) & 0xFFFFFF}",
        "executable:/usr/bin/redis-server",
        CONFIG_FILE,
        "io_threads_active:0",
    ]


def _clients(c: Client) -> list[str]:
    return [
        f"connected_clients:{c.trap.connected}",
        "cluster_connections:0",
        "maxclients:10000",
        "client_recent_max_input_buffer:20480",
        "client_recent_max_output_buffer:0",
        "blocked_clients:0",
        "tracking_clients:0",
        "clients_in_timeout_table:0",
    ]


def _memory(c: Client) -> list[str]:
    f = c.trap.facts
    used = 875_000 + c.trap.connected * 20_000 + c.box.keys.bytes * 2
    peak = max(used, 900_000 + f.num("peak", 0, 400_000))
    rss = 9_500_000 + f.num("rss", 0, 2_000_000) + c.box.keys.bytes * 2
    lines = [
        f"used_memory:{used}",
        f"used_memory_human:{_human(used)}",
        f"used_memory_rss:{rss}",
        f"used_memory_rss_human:{_human(rss)}",
        f"used_memory_peak:{peak}",
        f"used_memory_peak_human:{_human(peak)}",
        f"used_memory_peak_perc:{100 * used / peak:.2f}%",
        "used_memory_overhead:866464",
        "used_memory_startup:865040",
        f"used_memory_dataset:{used - 866464}",
        f"used_memory_dataset_perc:{100 * (used - 866464) / max(1, used - 865040):.2f}%",
        f"allocator_allocated:{used + 780_000}",
        f"allocator_active:{used + 920_000}",
        f"allocator_resident:{used + 3_600_000}",
        f"total_system_memory:{f.mem_bytes}",
        f"total_system_memory_human:{_human(f.mem_bytes)}",
        "used_memory_lua:32768",
        "used_memory_vm_eval:32768",
        "used_memory_lua_human:32.00K",
        "used_memory_scripts_eval:0",
        "number_of_cached_scripts:0",
        "number_of_functions:0",
        "number_of_libraries:0",
        "used_memory_vm_functions:32768",
        "used_memory_vm_total:65536",
        "used_memory_vm_total_human:64.00K",
        "used_memory_functions:184",
        "used_memory_scripts:184",
        "used_memory_scripts_human:184B",
        "maxmemory:0",
        "maxmemory_human:0B",
        "maxmemory_policy:noeviction",
        "allocator_frag_ratio:1.08",
        "allocator_frag_bytes:140000",
        "allocator_rss_ratio:2.44",
        "allocator_rss_bytes:2680000",
        f"rss_overhead_ratio:{rss / (used + 3_600_000):.2f}",
        f"rss_overhead_bytes:{rss - used - 3_600_000}",
        f"mem_fragmentation_ratio:{rss / used:.2f}",
        f"mem_fragmentation_bytes:{rss - used}",
        "mem_not_counted_for_evict:0",
        "mem_replication_backlog:0",
        "mem_total_replication_buffers:0",
        "mem_clients_slaves:0",
        f"mem_clients_normal:{c.trap.connected * 22_400}",
        "mem_cluster_links:0",
        "mem_aof_buffer:0",
        "mem_allocator:jemalloc-5.3.0",
        "active_defrag_running:0",
        "lazyfree_pending_objects:0",
        "lazyfreed_objects:0",
    ]
    return lines


def _persistence(c: Client) -> list[str]:
    return [
        "loading:0",
        "async_loading:0",
        "current_cow_peak:0",
        "current_cow_size:0",
        "current_cow_size_age:0",
        "current_fork_perc:0.00",
        "current_save_keys_processed:0",
        "current_save_keys_total:0",
        f"rdb_changes_since_last_save:{c.box.keys.changes}",
        "rdb_bgsave_in_progress:0",
        f"rdb_last_save_time:{int(c.box.last_save)}",
        "rdb_last_bgsave_status:ok",
        "rdb_last_bgsave_time_sec:0",
        "rdb_current_bgsave_time_sec:-1",
        f"rdb_saves:{c.trap.saves}",
        "rdb_last_cow_size:0",
        "rdb_last_load_keys_expired:0",
        "rdb_last_load_keys_loaded:0",
        "aof_enabled:0",
        "aof_rewrite_in_progress:0",
        "aof_rewrite_scheduled:0",
        "aof_last_rewrite_time_sec:-1",
        "aof_current_rewrite_time_sec:-1",
        "aof_last_bgrewrite_status:ok",
        "aof_rewrites:0",
        "aof_rewrites_consecutive_failures:0",
        "aof_last_write_status:ok",
        "aof_last_cow_size:0",
        "module_fork_in_progress:0",
        "module_fork_last_cow_size:0",
    ]


_STATS_ZERO = [
    "total_net_repl_input_bytes",
    "total_net_repl_output_bytes",
    "instantaneous_input_kbps:0.00",
    "instantaneous_output_kbps:0.00",
    "instantaneous_input_repl_kbps:0.00",
    "instantaneous_output_repl_kbps:0.00",
    "rejected_connections",
    "sync_full",
    "sync_partial_ok",
    "sync_partial_err",
    "expired_keys",
    "expired_stale_perc:0.00",
    "expired_time_cap_reached_count",
    "expire_cycle_cpu_milliseconds",
    "evicted_keys",
    "evicted_clients",
    "total_eviction_exceeded_time",
    "current_eviction_exceeded_time",
]
_STATS_TAIL = [
    "pubsub_channels",
    "pubsub_patterns",
    "pubsubshard_channels",
    "latest_fork_usec",
    "total_forks",
    "migrate_cached_sockets",
    "slave_expires_tracked_keys",
    "active_defrag_hits",
    "active_defrag_misses",
    "active_defrag_key_hits",
    "active_defrag_key_misses",
    "total_active_defrag_time",
    "current_active_defrag_time",
    "tracking_total_keys",
    "tracking_total_items",
    "tracking_total_prefixes",
    "unexpected_error_replies",
]


def _stats(c: Client) -> list[str]:
    t = c.trap
    lines = [
        f"total_connections_received:{t.base_connections + t.accepted}",
        f"total_commands_processed:{t.base_commands + t.commands}",
        "instantaneous_ops_per_sec:0",
        f"total_net_input_bytes:{t.base_commands * 31 + t.net_in}",
        f"total_net_output_bytes:{t.base_commands * 18 + t.net_out}",
    ]
    lines += [x if ":" in x else f"{x}:0" for x in _STATS_ZERO]
    lines += [f"keyspace_hits:{c.hits}", f"keyspace_misses:{c.misses}"]
    lines += [f"{x}:0" for x in _STATS_TAIL]
    lines += [
        f"total_error_replies:{sum(c.errors.values())}",
        "dump_payload_sanitizations:0",
        f"total_reads_processed:{t.base_commands + t.commands}",
        f"total_writes_processed:{t.base_commands + t.commands}",
        "io_threaded_reads_processed:0",
        "io_threaded_writes_processed:0",
        "reply_buffer_shrinks:0",
        "reply_buffer_expands:0",
    ]
    return lines


def _replication(c: Client) -> list[str]:
    f = c.trap.facts
    lines: list[str] = []
    if c.box.master is None:
        lines.append("role:master")
    else:
        host, port = c.box.master
        up = c.box.repl_status == "up"
        lines += [
            "role:slave",
            f"master_host:{host}",
            f"master_port:{port}",
            f"master_link_status:{'up' if up else 'down'}",
            f"master_last_io_seconds_ago:{1 if up else -1}",
            "master_sync_in_progress:0",
            f"slave_read_repl_offset:{c.box.repl_offset}",
            f"slave_repl_offset:{c.box.repl_offset}",
        ]
        if not up:
            lines.append("master_link_down_since_seconds:-1")
        lines += ["slave_priority:100", "slave_read_only:1", "replica_announced:1"]
    lines += [
        "connected_slaves:0",
        "master_failover_state:no-failover",
        f"master_replid:{f.replid}",
        "master_replid2:0000000000000000000000000000000000000000",
        "master_repl_offset:0",
        "second_repl_offset:-1",
        "repl_backlog_active:0",
        "repl_backlog_size:1048576",
        "repl_backlog_first_byte_offset:0",
        "repl_backlog_histlen:0",
    ]
    return lines


def _cpu(c: Client) -> list[str]:
    up = max(1.0, time.time() - c.trap.facts.started)
    sys_, user = up * 0.0011, up * 0.0009
    return [
        f"used_cpu_sys:{sys_:.6f}",
        f"used_cpu_user:{user:.6f}",
        "used_cpu_sys_children:0.002410",
        "used_cpu_user_children:0.001050",
        f"used_cpu_sys_main_thread:{sys_ * 0.98:.6f}",
        f"used_cpu_user_main_thread:{user * 0.98:.6f}",
    ]


def _modules(c: Client) -> list[str]:
    return [f"module:name={m},ver=1,api=1,filters=0,usedby=[],using=[],options=[]" for m in c.box.modules]


def _commandstats(c: Client) -> list[str]:
    out = []
    for name, (calls, failed) in list(c.calls.items())[:300]:
        usec = calls * 7
        out.append(
            f"cmdstat_{name}:calls={calls},usec={usec},usec_per_call={usec / calls:.2f},"
            f"rejected_calls=0,failed_calls={failed}"
        )
    return out


def _errorstats(c: Client) -> list[str]:
    return [f"errorstat_{k}:count={v}" for k, v in c.errors.items()]


def _latencystats(c: Client) -> list[str]:
    return [f"latency_percentiles_usec_{n}:p50=7.007,p99=21.119,p99.9=21.119" for n in list(c.calls)[:300]]


def _cluster(c: Client) -> list[str]:
    return ["cluster_enabled:0"]


def _keyspace(c: Client) -> list[str]:
    out = []
    for i, db in enumerate(c.box.keys.dbs):
        if db:
            exp = sum(1 for _v, e in db.values() if e is not None)
            out.append(f"db{i}:keys={len(db)},expires={exp},avg_ttl=0")
    return out


_SECTIONS: dict[str, Callable[[Client], list[str]]] = {
    "server": _server,
    "clients": _clients,
    "memory": _memory,
    "persistence": _persistence,
    "stats": _stats,
    "replication": _replication,
    "cpu": _cpu,
    "module_list": _modules,
    "commandstats": _commandstats,
    "errorstats": _errorstats,
    "latencystats": _latencystats,
    "cluster": _cluster,
    "keyspace": _keyspace,
}
