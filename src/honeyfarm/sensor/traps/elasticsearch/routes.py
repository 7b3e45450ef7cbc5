# SPDX-License-Identifier: MIT
"""Elasticsearch's routing: which handler a method and path reach, and its two ways of saying none.

As RestController: the path (raw, not decoded) is matched segment by segment against the
registered patterns, literal segments before ``{wildcards}``; a path some pattern matches but
not with this method is a 405 naming the methods allowed (in the order of a Java HashSet, which
differs from node to node: fixed per sensor here), a path nothing matches is the flat
``no handler found`` 400. ``/foo`` is a GET of index ``foo``; ``/_foo`` an invalid index name.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from honeyfarm.sensor.traps.elasticsearch import render

# (pattern, methods, handler name); handlers are looked up on the API object by name.
ROUTES: list[tuple[str, tuple[str, ...], str]] = [
    ("/", ("GET", "HEAD"), "root"),
    ("/", ("DELETE",), "delete_all"),
    ("/_cluster/health", ("GET",), "health"),
    ("/_cluster/health/{index}", ("GET",), "health"),
    ("/_cluster/settings", ("GET", "PUT"), "cluster_settings"),
    ("/_cat", ("GET",), "cat"),
    ("/_cat/indices", ("GET",), "cat_indices"),
    ("/_cat/indices/{index}", ("GET",), "cat_indices"),
    ("/_cat/nodes", ("GET",), "cat_nodes"),
    ("/_cat/health", ("GET",), "cat_health"),
    ("/_nodes", ("GET",), "nodes"),
    ("/_nodes/stats", ("GET",), "nodes_stats"),
    ("/_nodes/{node}", ("GET",), "nodes"),
    ("/_nodes/{node}/stats", ("GET",), "nodes_stats"),
    ("/_nodes/stats/{metric}", ("GET",), "nodes_stats"),
    ("/_search", ("GET", "POST"), "search"),
    ("/{index}/_search", ("GET", "POST"), "search"),
    ("/_count", ("GET", "POST"), "count"),
    ("/{index}/_count", ("GET", "POST"), "count"),
    ("/_bulk", ("POST", "PUT"), "bulk"),
    ("/{index}/_bulk", ("POST", "PUT"), "bulk"),
    ("/{index}/_doc", ("POST",), "index_doc"),
    ("/{index}/_doc/{id}", ("GET", "HEAD"), "get_doc"),
    ("/{index}/_doc/{id}", ("PUT", "POST"), "index_doc"),
    ("/{index}/_doc/{id}", ("DELETE",), "delete_doc"),
    ("/{index}/_create/{id}", ("PUT", "POST"), "index_doc"),
    ("/{index}/_source/{id}", ("GET", "HEAD"), "get_source"),
    ("/{index}", ("GET", "HEAD"), "get_index"),
    ("/{index}", ("PUT",), "create_index"),
    ("/{index}", ("DELETE",), "delete_index"),
    ("/_aliases", ("GET",), "aliases"),
    ("/_aliases", ("POST",), "acknowledged"),
    ("/_alias", ("GET",), "aliases"),
    ("/{index}/_alias", ("GET",), "aliases"),
    ("/_mapping", ("GET",), "mapping"),
    ("/{index}/_mapping", ("GET",), "mapping"),
    ("/{index}/_mapping", ("PUT", "POST"), "acknowledged"),
    ("/_settings", ("GET",), "settings"),
    ("/{index}/_settings", ("GET",), "settings"),
    ("/_security/_authenticate", ("GET",), "security"),
    ("/_security/user", ("GET",), "security"),
    ("/_security/user/{name}", ("GET", "PUT", "POST", "DELETE"), "security"),
    ("/_license", ("GET",), "license"),
    ("/_xpack", ("GET",), "xpack"),
]


@dataclass
class Request:
    method: str
    path: str  # raw path, not decoded
    uri: str  # raw path and query, as Elasticsearch prints it in errors
    query: dict[str, str]
    body: bytes
    doc: Any  # the body's JSON, or None
    params: dict[str, str] = field(default_factory=dict)
    finding: Any = None  # the request's classify.Finding

    def flag(self, name: str) -> bool:
        """A boolean parameter as Elasticsearch reads it: present and not ``false``."""
        return name in self.query and self.query[name] not in ("false", "0", "no", "off")


@dataclass
class Response:
    status: int
    doc: Any = None
    raw: bytes | None = None  # a body already rendered (text tables)
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    pretty: bool = False  # printed pretty even without ?pretty (GET /)


def error(pair: tuple[int, Any]) -> Response:
    return Response(pair[0], pair[1])


def _split(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


_COMPILED = [(_split(p), methods, name) for p, methods, name in ROUTES]


class Router:
    def __init__(self, seed: str) -> None:
        self._rng = random.Random(seed)  # the HashSet order of this "node"
        self._order = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
        self._rng.shuffle(self._order)

    def resolve(self, method: str, path: str) -> tuple[str | None, dict[str, str], list[str]]:
        """(handler name or None, wildcard values, methods the path allows)."""
        segs = _split(path)
        matched: list[tuple[tuple[int, ...], tuple[str, ...], str, dict[str, str]]] = []
        for pat, methods, name in _COMPILED:
            if len(pat) != len(segs):
                continue
            params: dict[str, str] = {}
            for p, s in zip(pat, segs, strict=True):
                if p.startswith("{"):
                    params[p[1:-1]] = s
                elif p != s:
                    break
            else:
                rank = tuple(1 if p.startswith("{") else 0 for p in pat)
                matched.append((rank, methods, name, params))
        matched.sort(key=lambda m: m[0])
        for _, methods, name, params in matched:
            if method in methods:
                return name, params, []
        allowed = {m for _, methods, _, _ in matched for m in methods}
        return None, {}, [m for m in self._order if m in allowed]

    def dispatch(self, req: Request, api: Any) -> Response:
        name, params, allowed = self.resolve(req.method, req.path)
        if name is None:
            if req.method == "OPTIONS":
                hdr = [("Allow", ",".join(allowed))] if allowed else []
                return Response(200, raw=b"", content_type=render.TEXT_TYPE, headers=hdr)
            if allowed:
                resp = error(render.wrong_method(req.uri, req.method, allowed))
                resp.headers.append(("Allow", ",".join(allowed)))
                return resp
            return error(render.no_handler(req.uri, req.method))
        req.params = params
        handler: Callable[[Request], Response] = getattr(api, name)
        return handler(req)
