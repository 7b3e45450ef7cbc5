# SPDX-License-Identifier: MIT
"""Quoting values into DuckDB SQL text, in one place.

Paths and constants that DuckDB takes only as literals (``read_parquet``
file lists, ``COPY ... TO``) cannot be bound as parameters; everything that
can be (panel filters) is bound, never formatted in.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def sql_str(s: str) -> str:
    """``s`` as a SQL string literal."""
    return "'" + s.replace("'", "''") + "'"


def ident(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def sql_path(p: Path) -> str:
    """A path as a SQL string literal."""
    return sql_str(str(p))


def sql_paths(paths: Iterable[Path]) -> str:
    """A SQL list literal of paths, for ``read_parquet([...])``."""
    return "[" + ", ".join(sql_path(p) for p in paths) + "]"
