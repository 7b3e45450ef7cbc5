# SPDX-License-Identifier: MIT
"""honeyfarm's own event JSON lines: one event-schema record per line.

This is what ``honeyfarm sensor`` writes to its spool and what
:func:`honeyfarm.schema` documents: the keys are the column names, ``ts`` is
ISO 8601 (UTC, or with an offset), ``extra`` an object. Keys that are not
columns (sensor identity such as ``region`` or ``exposure``, say) are merged
into ``extra``, so nothing a sensor wrote is lost.
"""

from __future__ import annotations

import json

from honeyfarm.eventids import EVENT_IDS
from honeyfarm.formats.base import (
    Format,
    check_cast,
    first_json_object,
    json_lines_select,
    null_patch,
    project,
)
from honeyfarm.schema import EVENT_COLUMNS
from honeyfarm.sql import sql_str

_TEXT_TYPES = {"VARCHAR"}


def _fields() -> dict[str, str]:
    # Everything as text (or JSON for extra) so bad types can be reported, not nulled.
    fields = {c.name: ("JSON" if c.name == "extra" else "VARCHAR") for c in EVENT_COLUMNS}
    return {**fields, "event_id": "VARCHAR"}


def _cowrie_message_stored(extra: str, exprs: dict[str, str]) -> str:
    """SQL: ``extra`` of an exported Cowrie event stored as the cowrie format stores it.

    An export (the ``events`` view) shows Cowrie's ``message`` rebuilt; stored again as it is, the event
    would differ from the one it was exported from (and its ``event_id`` too). So, as
    :mod:`honeyfarm.formats.cowrie_message` does at ingest: a message equal to its template is dropped; a
    record without one, where a template applies, gets the ``"message": null`` marker.
    """
    from honeyfarm.formats.cowrie_message import COLUMNS, FIELDS, derived_message_sql

    spec = sql_str(json.dumps(FIELDS, separators=(",", ":")))
    x = f"(json_transform({extra}, {spec}))"
    tmpl = derived_message_sql(x, {c: exprs[c] for c in COLUMNS})
    drop = f"json_merge_patch({extra}, '{{\"message\":null}}')::VARCHAR"
    mark = f"CASE WHEN {extra} = '{{}}' THEN '{{\"message\":null}}' ELSE left({extra}, -1) || ',\"message\":null}}' END"
    return (
        f"CASE WHEN coalesce(r.source_format, '') <> 'cowrie' THEN {extra} "
        f"WHEN {x}.message = {tmpl} THEN {drop} "
        f"WHEN json_exists({extra}, '$.message') OR {tmpl} IS NULL THEN {extra} ELSE {mark} END"
    )


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
        patch = null_patch([c.name for c in EVENT_COLUMNS] + ["event_id"])
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
        # A given `event_id` (an export of a lake) is checked, not stored: readers derive it from the
        # stored columns (honeyfarm.schema.EVENT_ID_SQL), so an exported event re-ingests as the same id.
        checks.append(check_cast("r.event_id", "event_id", "BIGINT"))
        exprs["source_format"] = "coalesce(r.source_format, 'honeyfarm')"
        # extra = the record's own `extra` object, plus any top-level key that is not a column.
        extra = (
            "json_merge_patch(CASE WHEN json_type(r.extra) = 'OBJECT' THEN r.extra ELSE '{}'::JSON END, "
            f"json_merge_patch(line, {patch}))::VARCHAR"
        )
        exprs["extra"] = (
            f"nullif(CASE WHEN _reason IS NOT NULL THEN NULL ELSE {_cowrie_message_stored(extra, exprs)} END, '{{}}')"
        )
        cols = project(exprs)
        checks.insert(
            0, "WHEN r.extra IS NOT NULL AND json_type(r.extra) NOT IN ('OBJECT', 'NULL') THEN 'extra: not an object'"
        )
        return json_lines_select(lines, _fields(), "ts", checks, cols)
