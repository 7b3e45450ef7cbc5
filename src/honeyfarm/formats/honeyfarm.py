# SPDX-License-Identifier: MIT
"""honeyfarm's own event JSON lines: one event-schema record per line.

This is what ``honeyfarm sensor`` writes to its spool and what
:func:`honeyfarm.schema` documents: the keys are the column names, ``ts`` is
ISO 8601 (UTC, or with an offset), ``extra`` an object. Keys that are not
columns (sensor identity such as ``region`` or ``exposure``, say) are merged
into ``extra``, so nothing a sensor wrote is lost.
"""

from __future__ import annotations

from honeyfarm.eventids import EVENT_IDS
from honeyfarm.formats.base import (
    LINE_HASH,
    Format,
    check_cast,
    first_json_object,
    json_lines_select,
    null_patch,
    project,
)
from honeyfarm.schema import EVENT_COLUMNS

_TEXT_TYPES = {"VARCHAR"}


def _fields() -> dict[str, str]:
    # Everything as text (or JSON for extra) so bad types can be reported, not nulled.
    return {c.name: ("JSON" if c.name == "extra" else "VARCHAR") for c in EVENT_COLUMNS}


class HoneyfarmFormat(Format):
    name = "honeyfarm"
    description = "honeyfarm event JSON lines (sensor spool, exports)"
    priority = 10
    # Sensors emit ids from the whole registry.
    eventids = frozenset(EVENT_IDS)

    def detect(self, sample: list[bytes]) -> bool:
        rec = first_json_object(sample)
        return rec is not None and isinstance(rec.get("eventid"), str) and "ts" in rec and "timestamp" not in rec

    def select_sql(self, lines: str) -> str:
        patch = null_patch([c.name for c in EVENT_COLUMNS])
        exprs: dict[str, str] = {}
        checks: list[str] = []
        for c in EVENT_COLUMNS:
            ref = f"r.{c.name}"
            if c.name in ("ts", "extra"):
                continue
            if c.sql_type in _TEXT_TYPES:
                exprs[c.name] = ref
            else:
                exprs[c.name] = f"TRY_CAST({ref} AS {c.sql_type})"
                checks.append(check_cast(ref, c.name, c.sql_type))
        exprs["ts"] = "p.ts"
        exprs["event_id"] = f"coalesce(TRY_CAST(r.event_id AS BIGINT), {LINE_HASH})"
        exprs["source_format"] = "coalesce(r.source_format, 'honeyfarm')"
        # extra = the record's own `extra` object, plus any top-level key that is not a column.
        exprs["extra"] = (
            "nullif(CASE WHEN _reason IS NOT NULL THEN NULL ELSE json_merge_patch("
            "CASE WHEN json_type(r.extra) = 'OBJECT' THEN r.extra ELSE '{}'::JSON END, "
            f"json_merge_patch(line, {patch})) END::VARCHAR, '{{}}')"
        )
        cols = project(exprs)
        checks.insert(
            0, "WHEN r.extra IS NOT NULL AND json_type(r.extra) NOT IN ('OBJECT', 'NULL') THEN 'extra: not an object'"
        )
        return json_lines_select(lines, _fields(), "ts", checks, cols)
