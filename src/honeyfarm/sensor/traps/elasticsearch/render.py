# SPDX-License-Identifier: MIT
"""Elasticsearch's output formats, byte for byte: compact and ``?pretty`` JSON, ``_cat`` tables,
byte sizes, and the three shapes its errors take.

A scanner that has seen a real node notices ``"key": value`` where Elasticsearch's Jackson
printer writes ``"key" : value``, or ``[]`` where it writes ``[ ]``; so the JSON is printed here
rather than by :func:`json.dumps` with an indent.
"""

from __future__ import annotations

import json
from typing import Any

JSON_TYPE = "application/json"
COMPAT_TYPE = "application/vnd.elasticsearch+json;compatible-with=8"
TEXT_TYPE = "text/plain; charset=UTF-8"


def compact(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")


def pretty(doc: Any) -> bytes:
    """Jackson's DefaultPrettyPrinter as Elasticsearch sets it up, with the final newline it adds."""
    out: list[str] = []
    _pretty(doc, 0, out)
    out.append("\n")
    return "".join(out).encode("utf-8", "surrogatepass")


def _pretty(doc: Any, depth: int, out: list[str]) -> None:
    pad = "  " * (depth + 1)
    if isinstance(doc, dict):
        if not doc:
            out.append("{ }")
            return
        out.append("{\n")
        for i, (k, v) in enumerate(doc.items()):
            out.append(f"{pad}{json.dumps(str(k), ensure_ascii=False)} : ")
            _pretty(v, depth + 1, out)
            out.append(",\n" if i < len(doc) - 1 else "\n")
        out.append("  " * depth + "}")
    elif isinstance(doc, (list, tuple)):
        if not doc:
            out.append("[ ]")
            return
        out.append("[\n")
        for i, v in enumerate(doc):
            out.append(pad)
            _pretty(v, depth + 1, out)
            out.append(",\n" if i < len(doc) - 1 else "\n")
        out.append("  " * depth + "]")
    else:
        out.append(json.dumps(doc, ensure_ascii=False))


def byte_size(n: int) -> str:
    """ByteSizeValue.toString(): the largest unit, one decimal dropped when it is zero (``6.3kb``, ``5mb``)."""
    for unit, size in (("pb", 1 << 50), ("tb", 1 << 40), ("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10)):
        if n >= size:
            value = f"{n / size:.1f}"
            return (value[:-2] if value.endswith(".0") else value) + unit
    return f"{n}b"


def cat_table(columns: list[tuple[str, bool]], rows: list[list[str]], *, header: bool) -> bytes:
    """A ``_cat`` text table: one space between columns, numbers right-aligned (their headers too),
    no trailing spaces after a left-aligned last column."""
    widths = [max([len(name) if header else 0] + [len(r[i]) for r in rows]) for i, (name, _) in enumerate(columns)]
    lines = ([[c[0] for c in columns]] if header else []) + rows
    out = []
    for line in lines:
        cells = []
        for i, (cell, (_, right)) in enumerate(zip(line, columns, strict=True)):
            last = i == len(columns) - 1
            cells.append(cell.rjust(widths[i]) if right else (cell if last else cell.ljust(widths[i])))
        out.append(" ".join(cells) + "\n")
    return "".join(out).encode("utf-8")


# --- errors ------------------------------------------------------------------------------------------


def exception(status: int, etype: str, reason: str, **fields: Any) -> tuple[int, dict[str, Any]]:
    """An ElasticsearchException: the cause in ``root_cause`` and again at the top, then ``status``."""
    cause = {"type": etype, "reason": reason, **fields}
    return status, {"error": {"root_cause": [cause], **cause}, "status": status}


def index_not_found(index: str) -> tuple[int, dict[str, Any]]:
    return exception(
        404,
        "index_not_found_exception",
        f"no such index [{index}]",
        **{"resource.type": "index_or_alias", "resource.id": index, "index_uuid": "_na_", "index": index},
    )


def invalid_index_name(index: str, why: str) -> tuple[int, dict[str, Any]]:
    return exception(
        400, "invalid_index_name_exception", f"Invalid index name [{index}], {why}", index_uuid="_na_", index=index
    )


def simple(status: int, message: str) -> tuple[int, dict[str, Any]]:
    """BytesRestResponse.createSimpleErrorResponse: a string ``error`` and ``status``."""
    return status, {"error": message, "status": status}


def no_handler(uri: str, method: str) -> tuple[int, dict[str, Any]]:
    """RestController.handleBadRequest: no route has this path (a flat ``error`` string, no ``status``)."""
    return 400, {"error": f"no handler found for uri [{uri}] and method [{method}]"}


def wrong_method(uri: str, method: str, allowed: list[str]) -> tuple[int, dict[str, Any]]:
    return simple(405, f"Incorrect HTTP method for uri [{uri}] and method [{method}], allowed: [{', '.join(allowed)}]")
