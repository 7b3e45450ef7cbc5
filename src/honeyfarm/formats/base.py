# SPDX-License-Identifier: MIT
"""The parser interface: a format turns a table of raw lines into events.

Parsing is done in DuckDB SQL over an Arrow table of raw lines, not in Python
per record: one vectorised, multi-threaded pass parses every JSON line once,
maps the fields into the event schema and says, per line, why it was rejected
(``_reason``). That is what lets ingest keep pace with DuckDB's own bare
``read_ndjson`` (see ``bench/ingest.py``).

A format's SELECT reads the table named by ``lines`` with columns
``_row`` (BIGINT, orders the batch's lines; not dense) and ``line``
(VARCHAR, one record, may end in ``\\n``), and returns ``_row``, ``_reason``
and every column of :data:`honeyfarm.schema.EVENT_COLUMNS` (geo columns may
be NULL: enrichment fills them later).

A record that carries no time at all gets ``ts`` NULL and ``_reason`` NULL
(not a dead letter): the pipeline gives it its delivery time (the CloudWatch
event's, the S3 key's date, the file's modification time) and records which
in ``extra.time_source``, or dead-letters it when there is none. A time that
is present but does not parse is bad data: a ``_reason``. Likewise a record's
``sensor`` may be NULL: the pipeline fills in its file's default sensor.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any

from honeyfarm.schema import EVENT_COLUMN_NAMES, EVENT_COLUMNS
from honeyfarm.sql import ident, sql_str


class Format(ABC):
    """One input format. Subclasses are registered in :mod:`honeyfarm.formats`."""

    #: Value of ``source_format`` and of ``--format``.
    name: str
    #: One line for ``honeyfarm formats``.
    description: str
    #: Every eventid this format can produce (checked against the registry by tests).
    eventids: frozenset[str] = frozenset()
    #: Detection order: lower runs first (more specific formats first).
    priority: int = 100

    @abstractmethod
    def detect(self, sample: list[bytes]) -> bool:
        """Whether the first non-blank lines of a file look like this format."""

    @abstractmethod
    def select_sql(self, lines: str) -> str:
        """SQL SELECT mapping the raw-lines table ``lines`` into events (see module doc)."""


#: SQL template: an address with an IPv4-mapped IPv6 prefix (``::ffff:1.2.3.4``) as plain IPv4. ``{e}``: the expression.
IPV4_MAPPED = "CASE WHEN lower({e}) LIKE '::ffff:%.%' THEN substr({e}, 8) ELSE {e} END"


def first_json_object(sample: list[bytes], lines: int = 20) -> dict[str, Any] | None:
    """The first line of ``sample`` (up to ``lines``) that parses as a JSON object, for ``detect()``."""
    for raw in sample[:lines]:
        try:
            rec = json.loads(raw)
        except ValueError:
            continue
        if isinstance(rec, dict):
            return rec
    return None


def struct_spec(fields: Mapping[str, str]) -> str:
    """A ``json_transform`` structure literal, SQL-quoted."""
    return sql_str(json.dumps(dict(fields), separators=(",", ":")))


def null_patch(keys: Iterable[str]) -> str:
    """A JSON merge patch (RFC 7396) that deletes ``keys``, SQL-quoted.

    ``json_merge_patch(record, patch)`` then keeps only the fields *not*
    mapped to a column, which is what ``extra`` stores.
    """
    return sql_str(json.dumps({k: None for k in keys}, separators=(",", ":")))


#: Key under which the original record starts: used to reject non-objects cheaply.
OBJECT_CHECK = "starts_with(ltrim(line), '{')"


def check_cast(expr: str, field: str, sql_type: str = "INTEGER") -> str:
    """A ``CASE`` branch rejecting a present value that does not cast to ``sql_type``.

    For integer types a fraction is rejected too (DuckDB's cast would round 1.5 to 2).
    """
    bad = f"TRY_CAST({expr} AS {sql_type}) IS NULL"
    if "INT" in sql_type:
        bad += f" OR TRY_CAST({expr} AS DOUBLE) <> TRY_CAST({expr} AS {sql_type})"
    return f"WHEN {expr} IS NOT NULL AND ({bad}) THEN '{field}: not {sql_type}'"


def project(columns: Mapping[str, str]) -> str:
    """``CAST(expr AS type) AS col`` for every schema column, in schema order; missing ones are NULL.

    The casts make every format's SELECT union-compatible.
    """
    unknown = set(columns) - set(EVENT_COLUMN_NAMES)
    if unknown:
        raise ValueError(f"not schema columns: {sorted(unknown)}")
    return ",\n  ".join(
        f"CAST({columns.get(c.name, 'NULL')} AS {c.sql_type}) AS {ident(c.name)}" for c in EVENT_COLUMNS
    )


def json_lines_select(
    lines: str,
    fields: Mapping[str, str],
    ts_field: str,
    checks: list[str],
    cols: str,
    derived: Mapping[str, str] | None = None,
    pre: Mapping[str, str] | None = None,
) -> str:
    """The common SELECT of a JSON-lines format.

    Parses each line once (``json_transform`` to ``fields``), converts
    ``ts_field`` to a UTC ``TIMESTAMP``, sets ``_reason`` for lines that are not
    JSON objects, lack an ``eventid``, have a time that does not parse, or fail
    one of ``checks`` (extra ``WHEN ... THEN 'reason'`` branches), and projects
    ``cols`` (see :func:`project`, which may use ``r``, ``p.ts``, ``line`` and
    ``_reason``). A record without ``ts_field`` keeps ``ts`` NULL and no
    reason: the pipeline gives it its delivery time (see the module doc).
    ``derived`` (name -> SQL over ``r`` and ``p.ts``) are computed once per line
    before ``cols``, which may read them as ``p.<name>``: DuckDB does not share
    a subexpression between branches of different ``CASE`` expressions.
    ``pre`` (name -> SQL over ``r``) are computed a stage earlier, so ``derived``
    may read them by name.
    """
    branches = "\n    ".join(checks)
    more = "".join(f", {sql} AS {name}" for name, sql in (derived or {}).items())
    first = "".join(f", {sql} AS {name}" for name, sql in (pre or {}).items())
    return f"""
WITH parsed AS (
  SELECT _row, line, {OBJECT_CHECK} AS is_object, try(json_transform(line, {struct_spec(fields)})) AS r
  FROM {lines}
), p AS (
  SELECT *, TRY_CAST(r.{ts_field} AS TIMESTAMPTZ)::TIMESTAMP AS ts{first} FROM parsed
), checked AS (
  SELECT *, CASE
    WHEN r IS NULL THEN 'invalid JSON'
    WHEN NOT is_object THEN 'not a JSON object'
    WHEN r.eventid IS NULL THEN 'missing eventid'
    WHEN r.{ts_field} IS NOT NULL AND ts IS NULL THEN 'unparseable {ts_field}: ' || left(r.{ts_field}, 64)
    {branches}
  END AS _reason{more} FROM p
)
SELECT _row, _reason,
  {cols}
FROM checked p
"""
