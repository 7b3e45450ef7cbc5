# SPDX-License-Identifier: MIT
"""The node the trap claims to be: its identity, its indices and the documents it answers with.

Everything that a real node keeps from one request to the next (cluster and node ids, index
uuids, the documents) is derived from the sensor's name, so two scans of the same sensor agree
and two sensors differ. Indices an attacker creates are remembered (a bounded, shared list:
a real node would show them to the next visitor too); documents written are not.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from honeyfarm.sensor.traps.elasticsearch.config import ElasticsearchConfig, FakeIndex

MAX_CREATED_INDICES = 64
ROLES = ["data", "data_cold", "data_content", "data_frozen", "data_hot", "data_warm", "ingest", "master", "ml"]
ROLES += ["remote_cluster_client", "transform"]


def stable_id(*parts: str) -> str:
    """A 22-character base64url id like Elasticsearch's UUIDs, fixed by ``parts``."""
    digest = hashlib.sha256("\0".join(parts).encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


# Documents by the kind of index their name suggests: what a leaky real cluster holds.
_DOCS: dict[str, list[dict[str, Any]]] = {
    "customer": [
        {"name": "Maria Keller", "email": "m.keller@example.com", "country": "DE", "created_at": "2024-02-11"},
        {"name": "John Ortega", "email": "jortega@example.net", "country": "US", "created_at": "2024-03-02"},
        {"name": "Aiko Tanaka", "email": "aiko.t@example.org", "country": "JP", "created_at": "2024-03-19"},
    ],
    "order": [
        {"order_id": "SO-104211", "customer": "Maria Keller", "amount": 129.9, "status": "shipped"},
        {"order_id": "SO-104212", "customer": "John Ortega", "amount": 54.5, "status": "paid"},
        {"order_id": "SO-104213", "customer": "Aiko Tanaka", "amount": 310.0, "status": "pending"},
    ],
    "log": [
        {"@timestamp": "2024-05-02T08:14:03.112Z", "level": "INFO", "message": "user login ok uid=1042"},
        {"@timestamp": "2024-05-02T08:14:09.870Z", "level": "WARN", "message": "slow query 1840ms on /api/orders"},
        {"@timestamp": "2024-05-02T08:15:41.005Z", "level": "ERROR", "message": "payment gateway timeout"},
    ],
}
_TYPES = {str: "text", int: "long", float: "float"}


def docs_for(index: str) -> list[dict[str, Any]]:
    for key, docs in _DOCS.items():
        if key in index:
            return docs
    return []


@dataclass
class Index:
    name: str
    uuid: str
    docs: int
    store_bytes: int
    created: float  # epoch seconds


class Node:
    """One single-node cluster, security off, basic license."""

    def __init__(self, cfg: ElasticsearchConfig, sensor_name: str, hostname: str) -> None:
        self.cfg = cfg
        seed = sensor_name or "sensor"
        self.cluster_uuid = cfg.cluster_uuid or stable_id("cluster", seed, cfg.cluster_name)
        self.node_id = stable_id("node", seed)
        if cfg.node_name:
            self.name = cfg.node_name
        elif cfg.build_type == "docker":  # a container's hostname: 12 hex digits of its id
            self.name = hashlib.sha256(f"container\0{seed}".encode()).hexdigest()[:12]
        else:
            self.name = hostname
        self.ip = "172.17.0.2" if cfg.build_type == "docker" else "10.0.0.12"
        self.started = time.time() - 86400 * 17 - 3731
        self.indices: OrderedDict[str, Index] = OrderedDict()
        for i, fi in enumerate(cfg.indices):
            self._add(fi, self.started + 3600 * (i + 1))
        self._fixed = len(self.indices)

    def _add(self, fi: FakeIndex, created: float) -> Index:
        idx = Index(fi.name, stable_id("index", self.cluster_uuid, fi.name), fi.docs, fi.store_bytes, created)
        self.indices[fi.name] = idx
        return idx

    def create_index(self, name: str) -> Index:
        """Remember an index an attacker made (the oldest made one is forgotten past the cap)."""
        if len(self.indices) - self._fixed >= MAX_CREATED_INDICES:
            oldest = list(self.indices)[self._fixed]
            del self.indices[oldest]
        return self._add(FakeIndex(name=name, docs=0, store_bytes=249), time.time())

    def delete_index(self, name: str) -> bool:
        return self.indices.pop(name, None) is not None

    def match(self, expr: str) -> list[Index]:
        """Indices named by a comma list of names and ``*`` patterns (``_all`` and ``*``: all)."""
        out: list[Index] = []
        for part in expr.split(",")[:64]:
            if part in ("_all", "*", ""):
                out += self.indices.values()
            elif "*" in part:
                pre, _, post = part.partition("*")
                out += [i for i in self.indices.values() if i.name.startswith(pre) and i.name.endswith(post.strip("*"))]
            elif part in self.indices:
                out.append(self.indices[part])
        return list({i.name: i for i in out}.values())

    # --- documents -----------------------------------------------------------------------------------

    def root(self) -> dict[str, Any]:
        c = self.cfg
        return {
            "name": self.name,
            "cluster_name": c.cluster_name,
            "cluster_uuid": self.cluster_uuid,
            "version": {
                "number": c.version,
                "build_flavor": "default",
                "build_type": c.build_type,
                "build_hash": c.build_hash,
                "build_date": c.build_date,
                "build_snapshot": False,
                "lucene_version": c.lucene_version,
                "minimum_wire_compatibility_version": c.minimum_wire_compatibility_version,
                "minimum_index_compatibility_version": c.minimum_index_compatibility_version,
            },
            "tagline": "You Know, for Search",
        }

    def health(self) -> dict[str, Any]:
        n = len(self.indices)  # one primary each; its replica cannot be placed on a single node
        return {
            "cluster_name": self.cfg.cluster_name,
            "status": "yellow" if n else "green",
            "timed_out": False,
            "number_of_nodes": 1,
            "number_of_data_nodes": 1,
            "active_primary_shards": n,
            "active_shards": n,
            "relocating_shards": 0,
            "initializing_shards": 0,
            "unassigned_shards": n,
            "delayed_unassigned_shards": 0,
            "number_of_pending_tasks": 0,
            "number_of_in_flight_fetch": 0,
            "task_max_waiting_in_queue_millis": 0,
            "active_shards_percent_as_number": 50.0 if n else 100.0,
        }

    def hits(self, indices: list[Index], size: int) -> list[dict[str, Any]]:
        out = []
        for idx in indices:
            for i, src in enumerate(docs_for(idx.name)):
                out.append({"_index": idx.name, "_id": stable_id("doc", idx.uuid, str(i))[:20], "_score": 1.0})
                out[-1]["_source"] = src
        return out[: max(0, size)]

    def search(self, indices: list[Index], size: int = 10) -> dict[str, Any]:
        hits = self.hits(indices, size)
        total = sum(i.docs for i in indices if docs_for(i.name)) or len(hits)
        return {
            "took": 3 if indices else 0,
            "timed_out": False,
            "_shards": {"total": len(indices), "successful": len(indices), "skipped": 0, "failed": 0},
            "hits": {
                "total": {"value": min(total, 10000), "relation": "gte" if total > 10000 else "eq"},
                "max_score": 1.0 if hits else None,
                "hits": hits,
            },
        }

    def mapping(self, idx: Index) -> dict[str, Any]:
        props: dict[str, Any] = {}
        for doc in docs_for(idx.name)[:1]:
            for k, v in doc.items():
                t = "date" if k in ("@timestamp", "created_at") else _TYPES.get(type(v), "keyword")
                props[k] = {"type": t} if t != "text" else {"type": "text", "fields": {"keyword": {"type": "keyword"}}}
        return {"mappings": {"properties": props}} if props else {"mappings": {}}

    def index_settings(self, idx: Index) -> dict[str, Any]:
        return {
            "index": {
                "routing": {"allocation": {"include": {"_tier_preference": "data_content"}}},
                "number_of_shards": "1",
                "provided_name": idx.name,
                "creation_date": str(int(idx.created * 1000)),
                "number_of_replicas": "1",
                "uuid": idx.uuid,
                "version": {"created": "8500003"},
            }
        }

    def node_info(self) -> dict[str, Any]:
        c = self.cfg
        return {
            "name": self.name,
            "transport_address": f"{self.ip}:9300",
            "host": self.ip,
            "ip": self.ip,
            "version": c.version,
            "build_flavor": "default",
            "build_type": c.build_type,
            "build_hash": c.build_hash,
            "total_indexing_buffer": 53687091,
            "roles": ROLES,
            "attributes": {
                "ml.machine_memory": "4124966912",
                "xpack.installed": "true",
                "ml.max_jvm_size": "536870912",
            },
            "settings": {
                "cluster": {"name": c.cluster_name},
                "node": {"name": self.name},
                "path": {"logs": "/usr/share/elasticsearch/logs", "home": "/usr/share/elasticsearch"},
                "discovery": {"type": "single-node"},
                "xpack": {"security": {"enabled": "false"}},
                "network": {"host": "0.0.0.0"},
            },
            "os": {"refresh_interval_in_millis": 1000, "name": "Linux", "pretty_name": "Ubuntu 20.04.6 LTS"}
            | {
                "arch": "amd64",
                "version": "6.1.0-18-cloud-amd64",
                "available_processors": 2,
                "allocated_processors": 2,
            },
            "process": {"refresh_interval_in_millis": 1000, "id": 7, "mlockall": False},
            "jvm": {
                "pid": 7,
                "version": "21.0.1",
                "vm_name": "OpenJDK 64-Bit Server VM",
                "vm_version": "21.0.1+12-29",
                "vm_vendor": "Oracle Corporation",
                "start_time_in_millis": int(self.started * 1000),
                "mem": {"heap_init_in_bytes": 536870912, "heap_max_in_bytes": 536870912},
            },
            "http": {
                "bound_address": ["[::]:9200"],
                "publish_address": f"{self.ip}:9200",
                "max_content_length_in_bytes": 104857600,
            },
        }

    def nodes(self, stats: bool = False) -> dict[str, Any]:
        body = self.node_stats() if stats else self.node_info()
        return {
            "_nodes": {"total": 1, "successful": 1, "failed": 0},
            "cluster_name": self.cfg.cluster_name,
            "nodes": {self.node_id: body},
        }

    def node_stats(self) -> dict[str, Any]:
        now = time.time()
        docs = sum(i.docs for i in self.indices.values())
        store = sum(i.store_bytes for i in self.indices.values())
        up = int((now - self.started) * 1000)
        return {
            "timestamp": int(now * 1000),
            "name": self.name,
            "transport_address": f"{self.ip}:9300",
            "host": self.ip,
            "ip": f"{self.ip}:9300",
            "roles": ROLES,
            "attributes": {
                "ml.machine_memory": "4124966912",
                "xpack.installed": "true",
                "ml.max_jvm_size": "536870912",
            },
            "indices": {
                "docs": {"count": docs, "deleted": 0},
                "store": {"size_in_bytes": store, "total_data_set_size_in_bytes": store, "reserved_in_bytes": 0},
            },
            "os": {
                "timestamp": int(now * 1000),
                "cpu": {"percent": 3, "load_average": {"1m": 0.08, "5m": 0.12, "15m": 0.09}},
                "mem": {"total_in_bytes": 4124966912, "free_in_bytes": 1133772800, "used_in_bytes": 2991194112},
            },
            "process": {"timestamp": int(now * 1000), "open_file_descriptors": 412, "max_file_descriptors": 1048576},
            "jvm": {"timestamp": int(now * 1000), "uptime_in_millis": up, "mem": {"heap_used_percent": 41}},
        }

    def cat_nodes_row(self) -> list[str]:
        return [self.ip, "41", "73", "3", "0.08", "0.12", "0.09", "cdfhilmrstw", "*", self.name]
