# SPDX-License-Identifier: MIT
"""Dedup against event files written before lake v2 (issue 16), which stored ``event_id``.

Lake v2 stores no ``event_id``: an event is a duplicate when its stored columns equal those of one
already in its date partition (:data:`honeyfarm.schema.ROW_KEY_SQL`). Files written before that keep
what the old ingest stored: an ``event_id`` that was the hash of the raw line, and Cowrie's ``message``
inside ``extra``, in the key order of the old ``extra`` builder. Their rows never equal a v2 row, so
re-reading a log that is already in such a file would add its events a second time.

For those files only, the old identity is checked too: the batch's raw lines are hashed the old way
(:data:`LEGACY_LINE_ID`; the honeyfarm format's own ``event_id`` when the record carried one, as the old
parser took it) and a line whose id is in a legacy file of the same date, at the same ``ts``, is a
duplicate. Nothing is computed when the batch's dates hold no legacy file, which is every lake written
by this version. Heralding's old ids were per attempt, not per line: its legacy rows are matched only
where the line's first event is.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from honeyfarm.sql import sql_paths

#: The pre-v2 ``event_id`` of a raw line: DuckDB's 64-bit hash of the record without its line ending
#: (``\n`` or ``\r\n``), shifted to fit a signed BIGINT. tests/test_legacy_dedup.py pins it.
LEGACY_LINE_ID = (
    "(hash(CASE WHEN suffix(line, e'\\r\\n') THEN line[:-3] WHEN suffix(line, e'\\n') THEN line[:-2] "
    "ELSE line END) >> 1)::BIGINT"
)
#: The honeyfarm format's own id, which the old parser stored when the record had one.
_OWN_ID = "TRY_CAST(TRY(json_extract_string(line, '$.event_id')) AS BIGINT)"

# Whether a file stores `event_id` never changes (files are written once under a unique name).
_legacy: dict[Path, bool] = {}


def legacy_files(files: list[Path]) -> list[Path]:
    """The files among ``files`` that store an ``event_id`` column (written before lake v2)."""
    out = []
    for f in files:
        known = _legacy.get(f)
        if known is None:
            known = _legacy[f] = "event_id" in pq.read_schema(f).names
        if known:
            out.append(f)
    return out


def duplicate_rows_sql(legacy: list[Path], line_tables: list[str]) -> str:
    """A SELECT of the ``_row`` of every line of ``mapped`` whose old id is in ``legacy`` files.

    ``line_tables`` are the batch's raw-line tables (``_row``, ``line``). Only lines whose event's ``ts``
    is in a legacy file are hashed.
    """
    read = f"read_parquet({sql_paths(legacy)}, hive_partitioning=false, union_by_name=true)"
    lines = " UNION ALL ".join(f"SELECT _row, line FROM {t}" for t in line_tables)
    at = f"SELECT DISTINCT e.ts FROM {read} e SEMI JOIN mapped m ON m.ts = e.ts AND m._reason IS NULL"
    ids = f"SELECT event_id FROM {read} WHERE ts IN ({at})"
    return f"""SELECT l._row FROM ({lines}) l
        WHERE l._row IN (SELECT _row FROM mapped WHERE _reason IS NULL AND ts IN ({at}))
        AND ({LEGACY_LINE_ID} IN ({ids}) OR coalesce({_OWN_ID} IN ({ids}), false))"""
