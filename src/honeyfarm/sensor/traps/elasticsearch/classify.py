# SPDX-License-Identifier: MIT
"""What an Elasticsearch request attempts: the query, the scripts it carries, the CVE it exploits.

Elasticsearch malware spreads through scripts: MVEL in ``script_fields`` on 1.x
(CVE-2014-3120), the Groovy sandbox escape ``java.lang.Math.class.forName(...)`` on 1.4
(CVE-2015-1427), both still sprayed at every port 9200; path traversal through site plugins
(CVE-2015-3337) and snapshot repositories (CVE-2015-5531). The body is parsed as data only
(a bounded walk over :func:`json.loads` output); nothing in it is ever run.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

MAX_NODES = 20_000  # JSON values visited per body
MAX_DEPTH = 64
MAX_SCRIPTS = 16

_GROOVY = re.compile(r"\.class\.forName\s*\(|groovy|\.execute\(\s*\)|java\.lang\.Math\.class", re.I)
_MVEL = re.compile(r"import\s+java\.|Runtime\s*\.\s*getRuntime\s*\(|new\s+java\.util\.Scanner|ProcessBuilder", re.I)
_EXEC = re.compile(r"""exec\s*\(\s*\\*["']((?:[^"'\\]|\\.){1,4096}?)\\*["']\s*\)""")
_TRAVERSAL = re.compile(r"\.\.(?:/|%2f|\\)|%2e%2e", re.I)


@dataclass
class Finding:
    """The attack a request carries, if any; ``scripts`` are the script sources (at most 16)."""

    attack: str | None = None  # "script-rce", "script", "path-traversal"
    cve: str | None = None
    lang: str | None = None
    scripts: list[str] = field(default_factory=list)
    command: str | None = None  # the first exec("...") argument in a script
    strings: list[str] = field(default_factory=list)  # every string in the body, for URL extraction


def parse_body(body: bytes) -> Any:
    """The JSON document of a body, or None (invalid JSON or UTF-8, or nested past MAX_DEPTH)."""
    if not body.strip():
        return None
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return doc if _depth_ok(doc) else None


def _depth_ok(doc: Any) -> bool:
    stack: list[tuple[Any, int]] = [(doc, 0)]
    seen = 0
    while stack:
        v, d = stack.pop()
        seen += 1
        if d > MAX_DEPTH or seen > MAX_NODES:
            return False
        if isinstance(v, dict):
            stack += [(x, d + 1) for x in v.values()]
        elif isinstance(v, list):
            stack += [(x, d + 1) for x in v]
    return True


def _walk(doc: Any, f: Finding) -> None:
    """Collect script sources and strings (iterative, bounded)."""
    stack: list[tuple[str, Any]] = [("", doc)]
    seen = 0
    while stack and seen < MAX_NODES:
        key, v = stack.pop()
        seen += 1
        if isinstance(v, dict):
            stack += [(str(k), x) for k, x in reversed(list(v.items()))]
        elif isinstance(v, list):
            stack += [(key, x) for x in reversed(v)]
        elif isinstance(v, str):
            if key in ("script", "source", "inline") and len(f.scripts) < MAX_SCRIPTS and v not in f.scripts:
                f.scripts.append(v)
            if len(f.strings) < MAX_NODES:
                f.strings.append(v)
        if key == "lang" and isinstance(v, str) and f.lang is None:
            f.lang = v.lower()[:32]


def classify(method: str, path: str, query: dict[str, str], doc: Any) -> Finding:
    """The finding of one request; ``doc`` is the parsed body (or None)."""
    f = Finding()
    if doc is not None:
        _walk(doc, f)
    for name in ("source", "script"):  # ES 1.x took the search body in ?source=
        if name in query:
            sub = parse_body(query[name].encode("utf-8", "surrogatepass"))
            if sub is not None:
                _walk(sub, f)
            elif name == "script" and len(f.scripts) < MAX_SCRIPTS:
                f.scripts.append(query[name])
    text = "\n".join(f.scripts)
    if f.scripts:
        f.attack = "script"
        if f.lang == "groovy" or _GROOVY.search(text):
            f.attack, f.cve = "script-rce", "CVE-2015-1427"
        elif f.lang == "mvel" or _MVEL.search(text):
            f.attack, f.cve = "script-rce", "CVE-2014-3120"
        m = _EXEC.search(text)
        if m:
            f.command = m.group(1).replace('\\"', '"').replace("\\\\", "\\")
            f.attack = "script-rce"
    raw = urllib.parse.unquote(path)
    if f.attack is None and _TRAVERSAL.search(path + "/" + raw):
        f.attack = "path-traversal"
        if path.startswith("/_plugin/"):
            f.cve = "CVE-2015-3337"
        elif path.startswith("/_snapshot"):
            f.cve = "CVE-2015-5531"
    return f


def is_search(path: str) -> bool:
    return path.rstrip("/").endswith(("/_search", "/_count", "/_msearch", "/_search/template", "/_update_by_query"))


def query_text(doc: Any, query: dict[str, str]) -> str | None:
    """What the request asks for, as compact JSON (the body's ``query``, else the whole body, else ``q=``)."""
    if isinstance(doc, dict):
        part = doc.get("query", doc)
        return json.dumps(part, separators=(",", ":"), ensure_ascii=False)[:16384]
    if doc is not None:
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)[:16384]
    for name in ("q", "source"):
        if name in query:
            return query[name][:16384]
    return None
