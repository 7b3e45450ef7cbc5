# SPDX-License-Identifier: MIT
"""Re-reading logs already in a lake written before lake v2 adds nothing (honeyfarm.lake.legacy).

Such a lake's event files store ``event_id`` (the hash of the raw line) and Cowrie's ``message`` inside
``extra``: their rows never equal what v2 ingest stores for the same line, so the natural-key dedup
alone would add every re-read event a second time. The test makes a real v2 lake, rewrites its files
into the pre-v2 shape (the old id, the message back in ``extra``), checks that the natural keys then
differ, and re-reads the log.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
import pyarrow as pa

from honeyfarm.config import Config
from honeyfarm.demo.synthetic import write_cowrie_log
from honeyfarm.formats.cowrie_message import message_in_extra_sql
from honeyfarm.lake.legacy import LEGACY_LINE_ID
from honeyfarm.lake.store import Lake
from honeyfarm.pipeline import ingest
from honeyfarm.schema import EVENT_COLUMN_NAMES, ROW_KEY_SQL
from honeyfarm.sql import sql_path

# The id the pre-v2 ingest stored for this line (pinned with duckdb 2.0.0 in the old tests/test_event_id.py).
COWRIE_LINE = (
    '{"eventid":"cowrie.session.connect","timestamp":"2024-03-01T10:00:00.000000Z","src_ip":"8.8.8.8",'
    '"src_port":40001,"dst_ip":"10.9.0.1","dst_port":22,"session":"aaaa0001","sensor":"alpha","protocol":"ssh",'
    '"message":"New connection: 8.8.8.8:40001 (10.9.0.1:22) [session: aaaa0001]"}'
)
PINNED_OLD_COWRIE_ID = 1131823479789497694


def test_the_old_line_id_is_the_one_old_lakes_stored() -> None:
    con = duckdb.connect()
    con.register("t", pa.table({"line": [COWRIE_LINE + "\n", COWRIE_LINE + "\r\n", COWRIE_LINE]}))
    assert {r[0] for r in con.execute(f"SELECT {LEGACY_LINE_ID} FROM t").fetchall()} == {PINNED_OLD_COWRIE_ID}


def _make_legacy(lake: Path, raw: Path) -> None:
    """Rewrite every event file as the pre-v2 ingest wrote it: ``event_id`` stored, ``message`` in ``extra``."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    lines = raw.read_text().splitlines()
    con.register("lines", pa.table({"line": lines}))
    con.execute(
        f"""CREATE TABLE ids AS SELECT TRY_CAST(line->>'$.timestamp' AS TIMESTAMPTZ)::TIMESTAMP AS ts,
        {LEGACY_LINE_ID} AS event_id FROM lines"""
    )
    assert con.execute("SELECT count(DISTINCT ts) = count(*) FROM ids").fetchone() == (True,)
    rest = ", ".join(f'f."{c}"' for c in EVENT_COLUMN_NAMES if c not in ("ts", "extra"))
    for f in Lake(lake).all_files("events"):
        tmp = f.with_name(".legacy.tmp")
        con.execute(
            f"""COPY (SELECT f.ts, i.event_id, {rest}, {message_in_extra_sql("f.extra")} AS extra
            FROM read_parquet({sql_path(f)}) f JOIN ids i USING (ts)) TO {sql_path(tmp)} (FORMAT parquet)"""
        )
        os.replace(tmp, f)


def test_reingest_into_a_pre_v2_lake_adds_nothing(tmp_path: Path) -> None:
    raw = tmp_path / "cowrie.json"
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=3)
    write_cowrie_log(raw, 400, seed=5, days=1, start=start)
    lake = tmp_path / "lake"
    first = ingest([str(raw)], Config(), lake)
    assert first.ingested == 400 and first.errors == [], first.to_dict()
    _make_legacy(lake, raw)

    con = Lake(lake).connect()
    # The legacy rows carry their message, so no natural key matches what v2 ingest makes of the same lines:
    # without the legacy check every line would come back as new.
    with_message = con.execute("SELECT count(*) FROM events_stored WHERE extra LIKE '%\"message\"%'").fetchone()
    assert with_message is not None and with_message[0] == 400
    stored = {r[0] for r in con.execute(f"SELECT {ROW_KEY_SQL} FROM events_stored").fetchall()}
    con.close()

    (lake / "_state" / "checkpoints.json").unlink()  # the log is read again from its first line
    again = ingest([str(raw)], Config(), lake)
    assert again.ingested == 0 and again.duplicates == 400, again.to_dict()
    con = Lake(lake).connect()
    assert con.execute("SELECT count(*) FROM events").fetchone() == (400,)
    con.close()

    # A new line next to the legacy rows is still new.
    extra_log = tmp_path / "more.json"
    write_cowrie_log(extra_log, 20, seed=6, days=1, start=start)
    more = ingest([str(extra_log)], Config(), lake)
    assert more.ingested == 20 and more.duplicates == 0, more.to_dict()
    con = Lake(lake).connect()
    now = {r[0] for r in con.execute(f"SELECT {ROW_KEY_SQL} FROM events_stored").fetchall()}
    assert stored < now
    con.close()

    # Compacting a day that mixes legacy and v2 files keeps the legacy rows' old ids: still no duplicates.
    lk = Lake(lake)
    with lk.writer():
        wcon = lk.connect()
        done = [lk.compact(wcon, "events", d, min_files=2) for d in lk.partitions("events")]
        wcon.close()
    assert any(done)
    (lake / "_state" / "checkpoints.json").unlink()
    last = ingest([str(raw), str(extra_log)], Config(), lake)
    assert last.ingested == 0 and last.duplicates == 420, last.to_dict()
    con = Lake(lake).connect()
    assert con.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchone() == (420, 420)
