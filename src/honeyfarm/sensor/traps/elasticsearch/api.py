# SPDX-License-Identifier: MIT
"""The answers of a single-node Elasticsearch 8 cluster with security off, one per route.

Each handler takes the parsed :class:`~.routes.Request` and returns a :class:`~.routes.Response`
(a document, rendered compact or pretty by the server); none does I/O. Scripts are never run:
a search carrying one fails as it fails on a real 8.x node (Painless cannot compile Java or
Groovy; ``lang`` groovy and mvel no longer exist), which is also what the attacker's scanner
expects of a patched node, while the trap has already logged the payload and fetched its URLs.
"""

from __future__ import annotations

import re
import time
from typing import Any

from honeyfarm.sensor.traps.elasticsearch import render
from honeyfarm.sensor.traps.elasticsearch.classify import Finding
from honeyfarm.sensor.traps.elasticsearch.persona import Index, Node, stable_id
from honeyfarm.sensor.traps.elasticsearch.routes import Request, Response, error

CAT_ROUTES = [
    "/_cat/allocation", "/_cat/shards", "/_cat/shards/{index}", "/_cat/master", "/_cat/nodes",
    "/_cat/tasks", "/_cat/indices", "/_cat/indices/{index}", "/_cat/segments", "/_cat/segments/{index}",
    "/_cat/count", "/_cat/count/{index}", "/_cat/recovery", "/_cat/recovery/{index}", "/_cat/health",
    "/_cat/pending_tasks", "/_cat/aliases", "/_cat/aliases/{alias}", "/_cat/thread_pool",
    "/_cat/thread_pool/{thread_pools}", "/_cat/plugins", "/_cat/fielddata", "/_cat/fielddata/{fields}",
    "/_cat/nodeattrs", "/_cat/repositories", "/_cat/snapshots/{repository}", "/_cat/templates",
    "/_cat/component_templates/_cat/ml/anomaly_detectors", "/_cat/ml/anomaly_detectors/{job_id}",
    "/_cat/ml/datafeeds", "/_cat/ml/datafeeds/{datafeed_id}", "/_cat/ml/trained_models",
    "/_cat/ml/trained_models/{model_id}", "/_cat/ml/data_frame/analytics", "/_cat/ml/data_frame/analytics/{id}",
    "/_cat/transforms", "/_cat/transforms/{transform_id}",
]  # fmt: skip
INDICES_COLUMNS = [("health", False), ("status", False), ("index", False), ("uuid", False), ("pri", True)]
INDICES_COLUMNS += [("rep", True), ("docs.count", True), ("docs.deleted", True), ("store.size", True)]
INDICES_COLUMNS += [("pri.store.size", True), ("dataset.size", True)]
NODES_COLUMNS = [("ip", False), ("heap.percent", True), ("ram.percent", True), ("cpu", True), ("load_1m", True)]
NODES_COLUMNS += [("load_5m", True), ("load_15m", True), ("node.role", False), ("master", False), ("name", False)]
HEALTH_COLUMNS = [("epoch", True), ("timestamp", False), ("cluster", False), ("status", False)]
HEALTH_COLUMNS += [(n, True) for n in ("node.total", "node.data", "shards", "pri", "relo", "init", "unassign")]
HEALTH_COLUMNS += [("pending_tasks", True), ("max_task_wait_time", True), ("active_shards_percent", True)]
SECURITY_OFF = (
    "Security must be explicitly enabled when using a [basic] license. Enable security by setting "
    "[xpack.security.enabled] to [true] in the elasticsearch.yml file and restart the node."
)
_BAD_INDEX_CHARS = re.compile(r'[\\/*?"<>| ,#:]')


class API:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.seq = 0

    # --- helpers ---------------------------------------------------------------------------------------

    def _indices(self, req: Request) -> list[Index] | Response:
        """The indices a request names; a missing concrete name is a 404 as on a real node."""
        expr = req.params.get("index", "_all")
        for part in expr.split(",")[:64]:
            if part.startswith(("_", "-", "+")) and part not in ("_all",):
                return error(render.invalid_index_name(part, "must not start with '_', '-', or '+'"))
            if "*" not in part and part not in ("_all", "") and part not in self.node.indices:
                return error(render.index_not_found(part))
        return self.node.match(expr)

    def _cat(self, req: Request, columns: list[tuple[str, bool]], rows: list[list[str]]) -> Response:
        if req.query.get("format") == "json":
            return Response(200, [dict(zip([c[0] for c in columns], r, strict=True)) for r in rows])
        return Response(200, raw=render.cat_table(columns, rows, header=req.flag("v")), content_type=render.TEXT_TYPE)

    def _size(self, req: Request, default: int = 10) -> int:
        size: Any = req.query.get("size")
        if isinstance(req.doc, dict) and "size" in req.doc:
            size = req.doc["size"]
        try:
            return max(0, min(int(size), 100)) if size is not None else default
        except (TypeError, ValueError):
            return default

    def _write_result(self, index: str, doc_id: str, result: str, status: int) -> Response:
        self.seq += 1
        return Response(
            status,
            {
                "_index": index,
                "_id": doc_id,
                "_version": 1,
                "result": result,
                "_shards": {"total": 2, "successful": 1, "failed": 0},
                "_seq_no": self.seq - 1,
                "_primary_term": 1,
            },
        )

    # --- cluster ----------------------------------------------------------------------------------------

    def root(self, req: Request) -> Response:
        return Response(200, self.node.root(), pretty="pretty" not in req.query)

    def delete_all(self, req: Request) -> Response:
        return error(
            render.exception(400, "illegal_argument_exception", "Wildcard expressions or all indices are not allowed")
        )

    def health(self, req: Request) -> Response:
        if "index" in req.params:
            found = self._indices(req)
            if isinstance(found, Response):
                return found
        return Response(200, self.node.health())

    def cluster_settings(self, req: Request) -> Response:
        if req.method == "PUT":
            return Response(200, {"acknowledged": True, "persistent": {}, "transient": {}})
        return Response(200, {"persistent": {}, "transient": {}})

    def cat(self, req: Request) -> Response:
        return Response(200, raw=("=^.^=\n" + "\n".join(CAT_ROUTES) + "\n").encode(), content_type=render.TEXT_TYPE)

    def cat_indices(self, req: Request) -> Response:
        found = self._indices(req)
        if isinstance(found, Response):
            return found
        rows = []
        for i in found:
            size = render.byte_size(i.store_bytes)
            rows.append(["yellow", "open", i.name, i.uuid, "1", "1", str(i.docs), "0", size, size, size])
        return self._cat(req, INDICES_COLUMNS, rows)

    def cat_nodes(self, req: Request) -> Response:
        return self._cat(req, NODES_COLUMNS, [self.node.cat_nodes_row()])

    def cat_health(self, req: Request) -> Response:
        h = self.node.health()
        now = time.time()
        row = [str(int(now)), time.strftime("%H:%M:%S", time.gmtime(now)), h["cluster_name"], h["status"], "1", "1"]
        n = str(h["active_shards"])
        row += [n, n, "0", "0", str(h["unassigned_shards"]), "0", "-", f"{h['active_shards_percent_as_number']:.1f}%"]
        return self._cat(req, HEALTH_COLUMNS, [row])

    def nodes(self, req: Request) -> Response:
        return Response(200, self.node.nodes())

    def nodes_stats(self, req: Request) -> Response:
        return Response(200, self.node.nodes(stats=True))

    # --- search -----------------------------------------------------------------------------------------

    def search(self, req: Request) -> Response:
        found = self._indices(req)
        if isinstance(found, Response):
            return found
        finding: Finding | None = req.finding
        if finding is not None and finding.scripts:
            return self._script_failure(found, finding)
        return Response(200, self.node.search(found, self._size(req)))

    def _script_failure(self, found: list[Index], f: Finding) -> Response:
        script = f.scripts[0]
        if f.lang and f.lang not in ("painless", "expression", "mustache"):
            cause: dict[str, Any] = {
                "type": "illegal_argument_exception",
                "reason": f"script_lang not supported [{f.lang}]",
            }
        else:
            head = script[:24]
            cause = {
                "type": "script_exception",
                "reason": "compile error",
                "script_stack": [f"{head} ...", "^---- HERE"],
                "script": script[:512],
                "lang": "painless",
                "position": {"offset": 0, "start": 0, "end": min(len(script), 24)},
            }
        index = found[0].name if found else "customers"
        failed = [{"shard": 0, "index": index, "node": self.node.node_id, "reason": cause}]
        top: dict[str, Any] = {
            "type": "search_phase_execution_exception",
            "reason": "all shards failed",
            "phase": "query",
        }
        top |= {"grouped": True, "failed_shards": failed, "caused_by": cause}
        return Response(400, {"error": {"root_cause": [cause], **top}, "status": 400})

    def count(self, req: Request) -> Response:
        found = self._indices(req)
        if isinstance(found, Response):
            return found
        shards = {"total": len(found), "successful": len(found), "skipped": 0, "failed": 0}
        return Response(200, {"count": sum(i.docs for i in found), "_shards": shards})

    def bulk(self, req: Request) -> Response:
        items = []
        for line in req.body.splitlines()[:2000:2]:
            action = line.split(b'"', 2)[1].decode("utf-8", "replace") if line.count(b'"') >= 2 else "index"
            self.seq += 1
            res: dict[str, Any] = {
                "_index": req.params.get("index", "index"),
                "_id": stable_id("bulk", str(self.seq))[:20],
            }
            res |= {"_version": 1, "result": "created", "_seq_no": self.seq, "_primary_term": 1, "status": 201}
            items.append({action[:32]: res})
        return Response(200, {"errors": False, "took": 7, "items": items})

    # --- documents and indices -----------------------------------------------------------------------------

    def get_doc(self, req: Request) -> Response:
        found = self._indices(req)
        if isinstance(found, Response):
            return found
        index, doc_id = req.params["index"], req.params["id"]
        for hit in self.node.hits(found, 100):
            if hit["_id"] == doc_id:
                src = hit["_source"]
                return Response(200, {"_index": index, "_id": doc_id, "_version": 1, "_seq_no": 0, "_primary_term": 1}
                                | {"found": True, "_source": src})  # fmt: skip
        return Response(404, {"_index": index, "_id": doc_id, "found": False})

    def get_source(self, req: Request) -> Response:
        resp = self.get_doc(req)
        if resp.status == 200:
            return Response(200, resp.doc["_source"])
        if resp.status == 404 and "found" in (resp.doc or {}):
            return error(
                render.exception(
                    404,
                    "resource_not_found_exception",
                    f"Document not found [{req.params['index']}]/[{req.params['id']}]",
                )
            )
        return resp

    def index_doc(self, req: Request) -> Response:
        index = req.params["index"]
        bad = self._bad_name(index)
        if bad:
            return bad
        if index not in self.node.indices:
            self.node.create_index(index)
        doc_id = req.params.get("id") or stable_id("auto", str(time.time_ns()))[:20]
        return self._write_result(index, doc_id, "created", 201)

    def delete_doc(self, req: Request) -> Response:
        index = req.params["index"]
        if index not in self.node.indices:
            return error(render.index_not_found(index))
        return self._write_result(index, req.params["id"], "not_found", 404)

    def _bad_name(self, name: str) -> Response | None:
        if name != name.lower():
            return error(render.invalid_index_name(name, "must be lowercase"))
        if name.startswith(("_", "-", "+")):
            return error(render.invalid_index_name(name, "must not start with '_', '-', or '+'"))
        if _BAD_INDEX_CHARS.search(name):
            why = "must not contain the following characters ['\\\\', '/', '*', '?', '\"', '<', '>', '|', ' ', ',']"
            return error(render.invalid_index_name(name, why))
        if len(name.encode()) > 255:
            return error(render.invalid_index_name(name, "index name is too long, (256 > 255)"))
        return None

    def create_index(self, req: Request) -> Response:
        name = req.params["index"]
        bad = self._bad_name(name)
        if bad:
            return bad
        if name in self.node.indices:
            idx = self.node.indices[name]
            why = f"index [{name}/{idx.uuid}] already exists"
            return error(
                render.exception(400, "resource_already_exists_exception", why, index_uuid=idx.uuid, index=name)
            )
        self.node.create_index(name)
        return Response(200, {"acknowledged": True, "shards_acknowledged": True, "index": name})

    def get_index(self, req: Request) -> Response:
        found = self._indices(req)
        if isinstance(found, Response):
            if req.method == "HEAD":
                return Response(found.status, raw=b"", content_type=render.TEXT_TYPE)
            return found
        body = {i.name: {"aliases": {}, **self.node.mapping(i), "settings": self.node.index_settings(i)} for i in found}
        return Response(200, body)

    def delete_index(self, req: Request) -> Response:
        found = self._indices(req)
        if isinstance(found, Response):
            return found
        if "*" in req.params["index"] or req.params["index"] == "_all":
            return error(
                render.exception(
                    400, "illegal_argument_exception", "Wildcard expressions or all indices are not allowed"
                )
            )
        for i in found:
            self.node.delete_index(i.name)
        return Response(200, {"acknowledged": True})

    def aliases(self, req: Request) -> Response:
        found = self._indices(req)
        if isinstance(found, Response):
            return found
        return Response(200, {i.name: {"aliases": {}} for i in found})

    def mapping(self, req: Request) -> Response:
        found = self._indices(req)
        if isinstance(found, Response):
            return found
        return Response(200, {i.name: self.node.mapping(i) for i in found})

    def settings(self, req: Request) -> Response:
        found = self._indices(req)
        if isinstance(found, Response):
            return found
        return Response(200, {i.name: {"settings": self.node.index_settings(i)} for i in found})

    def acknowledged(self, req: Request) -> Response:
        return Response(200, {"acknowledged": True})

    # --- x-pack -------------------------------------------------------------------------------------------

    def security(self, req: Request) -> Response:
        return error(render.exception(500, "exception", SECURITY_OFF))

    def license(self, req: Request) -> Response:
        issued = int(self.node.started * 1000)
        lic: dict[str, Any] = {"status": "active", "uid": stable_id("license", self.node.cluster_uuid), "type": "basic"}
        lic |= {"issue_date": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(issued / 1000))}
        lic |= {"issue_date_in_millis": issued, "max_nodes": 1000, "max_resource_units": None}
        lic |= {"issued_to": self.node.cfg.cluster_name, "issuer": "elasticsearch", "start_date_in_millis": -1}
        return Response(200, {"license": lic})

    def xpack(self, req: Request) -> Response:
        c = self.node.cfg
        build = {"hash": c.build_hash, "date": c.build_date}
        lic = {
            "uid": stable_id("license", self.node.cluster_uuid),
            "type": "basic",
            "mode": "basic",
            "status": "active",
        }
        avail = (("security", True), ("ml", False), ("watcher", False), ("monitoring", True), ("graph", False))
        features = {name: {"available": ok, "enabled": True} for name, ok in avail}
        features["security"]["enabled"] = False
        return Response(200, {"build": build, "license": lic, "features": features, "tagline": "You know, for X"})
